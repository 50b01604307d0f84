"""Batch evaluation on a small local Ray: the rows of a local run, bit for bit, from a pool of actors."""

from __future__ import annotations

import json
import subprocess
import sys

import xai_models

from .conftest import BUNDLED, ROOT

COMMAND = ["evaluate", "--task", "lung_xray", "--model", f"{BUNDLED},lung_xray-resnet-shortcut", "--methods",
           "gradcam,saliency", "--n", "3", "--json", "--no-baselines"]


def untimed(row: dict) -> dict:
    """A row without its measured time (seconds, seconds_per_case): everything else is computed."""
    return {k: v for k, v in row.items() if not k.startswith("seconds")}


def rows(csv) -> list[dict]:
    """The stored rows in their order, untimed."""
    return [untimed(json.loads(line)) for line in csv.with_name(csv.name + ".rows.jsonl").read_text().splitlines()]


def test_ray_gives_the_rows_of_a_local_run_bit_for_bit(tmp_path, capsys):
    here, there = tmp_path / "here.csv", tmp_path / "ray.csv"
    assert xai_models.main([*COMMAND, "--csv", str(here)]) == 0
    local_table = json.loads(capsys.readouterr().out)
    on_ray = subprocess.run([sys.executable, str(ROOT / "xai_models.py"), *COMMAND, "--csv", str(there), "--ray",
                             "--workers", "2"], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert on_ray.returncode == 0, on_ray.stderr[-2000:]
    assert rows(there) == rows(here) and len(rows(here)) == 2 * 3 * 2, "every model x case x method, in order"
    assert [untimed(r) for r in json.loads(on_ray.stdout)] == [untimed(r) for r in local_table], "the same table"


def test_a_ray_address_that_answers_nothing_is_one_clear_error(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "xai_models.py"), *COMMAND, "--csv", str(tmp_path / "x.csv"),
                          "--ray", "127.0.0.1:9"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "cannot start or reach Ray at 127.0.0.1:9" in out.stderr
