"""Smoke tests of the benchmark scripts whose numbers docs/benchmarks.md quotes: each runs here in its `--quick` mode
(one repeat, tiny N; `main(argv)` in this process, so torch is imported once), and the table it prints and the JSON it
writes must have a full run's columns and keys, with the numbers that can be checked checked. A quick run writes its
JSON to the temporary folder (here tmp_path), never over benchmarks/results/. bench_methods, bench_stop and bench_load
are run by test_cli.py and test_browser.py; bench_ray and bench_rerun start Ray or a server and Chromium (30 s and
more here), so they run only when WORKBENCH_SLOW_BENCHMARKS=1."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import huggingface_hub.constants as hub
import numpy as np
import pytest

import workbench.service as service
from workbench.evaluation.batch import COLUMNS, read_rows
from workbench.evaluation.cases import BASELINES, EVAL_BASELINES

from .conftest import BUNDLED, ROOT, needs_speech

BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
SLOW = os.environ.get("WORKBENCH_SLOW_BENCHMARKS") == "1"
slow = pytest.mark.skipif(not SLOW, reason="starts Ray or a server and Chromium (30 s and more on 2 cores); set "
                                           "WORKBENCH_SLOW_BENCHMARKS=1 to run it")
ROWS_FILE = RESULTS / "evaluation_baselines_histo.csv.rows.jsonl"


def load(script: str) -> ModuleType:
    """The script as a fresh module (benchmarks/ is not a package; its scripts import each other by name)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{script}", BENCH / f"{script}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table(lines: list[str], header: tuple[str, ...]) -> list[str]:
    """The printed table's rows: the lines after the one holding every header word."""
    start = next(k for k, line in enumerate(lines) if all(h in line for h in header))
    return [line for line in lines[start + 1:] if line.strip() and not line.startswith(("->", "wrote", "{"))]


def check_device(lines: list[str], result: dict) -> None:
    assert set(result) == {"devices", "torch", "rows"} and "cpu" in result["devices"]
    rows = table(lines, ("model", "device", "method", "passes", "seconds"))
    assert [(r["model"], r["device"], r["method"]) for r in result["rows"]] == [
        ("lung_xray-resnet34-compact", d, m) for d in result["devices"] for m in ("gradcam", "saliency")]
    assert len(rows) == len(result["rows"]) and all(r["passes"] == 2 for r in result["rows"]), "one forward, one back"


def check_estimate(lines: list[str], result: dict) -> None:
    rows = result["rows"]
    assert [r["method"] for r in rows] == ["gradcam", "saliency"] and set(rows[0]) == {
        "model", "method", "passes", "estimate_timed_s", "first_run_s", "error_timed", "estimate_learned_s",
        "repeat_run_s", "error_learned"}
    for r in rows:  # after one run the rate learned is that run's: the estimate is its seconds
        assert r["estimate_learned_s"] == pytest.approx(r["first_run_s"], abs=2e-3)
    s = result["summary"]
    assert s["runs"] == 2 and s["median_error_timed"] == pytest.approx(np.median([r["error_timed"] for r in rows]))
    assert s["within_30_percent"] == sum(r["error_learned"] <= 0.3 for r in rows)
    assert len(table(lines, ("model", "method", "passes", "timed", "learned"))) >= 2


def check_evaluation(lines: list[str], result: dict) -> None:
    assert (result["model"], result["method"], result["n"]) == (BUNDLED, "gradcam", 3)
    assert result["meets_target"] is (result["evaluate_seconds"] <= result["target_seconds"] == 60)
    printed = dict(line.split(None, 1) for line in lines if line and not line.startswith("wrote"))
    assert printed.keys() == result.keys() and printed["n"] == "3"


def check_hub(lines: list[str], result: dict) -> None:
    rows = result["rows"]
    assert [r["case"] for r in rows] == ["HF_HUB_OFFLINE=1", "default endpoint", "connection refused",
                                         "Hub never answers"]
    assert all("someone/uncached-model" in r["message"] and "is not in the local Hub cache" in r["message"]
               and r["within_target"] is (r["seconds"] <= result["target_seconds"]) for r in rows)
    assert len(table(lines, ("case", "seconds", "message"))) == 4


def check_libraries(lines: list[str], result: dict) -> None:
    rows = {r["method"]: r for r in result["rows"]}
    assert list(rows) == ["lime", "kernel_shap", "occlusion", "integrated_gradients", "smoothgrad", "normgrad_o0",
                          "normgrad_o1"]
    assert rows["occlusion"]["params"]["window_width"] == 32 and rows["lime"]["params"]["samples"] == 30, "QUICK"
    for r in rows.values():
        assert ("library" in r) is (r["method"] not in ("normgrad_o0", "normgrad_o1"))
        if "library" in r:
            assert r["meets_target"] is (r["speedup"] >= r["target_speedup"])
    assert result["quick"] and result["repeats"] == 1
    assert len(table(lines, ("method", "ours s", "library s", "speed-up"))) == len(rows) + 1, "+ the normgrad line"


def check_memory(lines: list[str], result: dict) -> None:
    (run,) = result["runs"]
    assert result["method"] == "occlusion 8x8 / 16x16" and run["budget_mb"] == 64
    assert run["patches"] == 15 * 15 and run["passes"] == run["patches"] + 1, "windows at 0, 16, ..., 224 - 8"
    assert len(table(lines, ("budget MB", "chunk", "added MB"))) == 1


def check_report(lines: list[str], result: dict) -> None:
    assert (result["model"], result["methods"], result["repeats"]) == (BUNDLED, ["gradcam", "saliency"], 1)
    assert result["met"] is (result["total_seconds"] <= result["target_seconds"] == 3.0)
    assert result["pdf_bytes"] > 10_000 and result["zip_bytes"] > 10_000, "a page of maps, and its files"
    assert [line.split(":")[0].strip() for line in lines[:4]] == ["content_seconds", "pdf_seconds", "zip_seconds",
                                                                   "total_seconds"]


def check_startup(lines: list[str], result: dict) -> None:
    assert result["repeats"] == 1 and result["launch"] is None, "--no-browser"
    imports = result["imports"]
    assert imports["median_total_seconds"] == imports["runs"][0]["total_seconds"], "the median of one run"
    assert "torch" in imports["median_watched_seconds"] and "tensorflow" in imports["absent"], "the app starts lazy"
    assert lines[0] == "app imports, median of 1 fresh processes (python -X importtime, cumulative):"


def check_per_baseline(keys: tuple[str, ...], baselines: tuple[str, ...]) -> Callable[[list[str], list], None]:
    def check(lines: list[str], result: list) -> None:
        (r,) = result
        assert r["model"] == BUNDLED and r["n"] == 6 and 1 <= r["relied_on"] <= 6
        assert list(r["baselines"]) == list(baselines)
        assert all(set(v) == set(keys) and all(0 <= p <= 1 for p in v.values()) for v in r["baselines"].values())
        assert [line.split()[:2] for line in table(lines, ("model", "baseline"))] == [[BUNDLED, b] for b in baselines]
    return check


def check_stability(lines: list[str], result: dict) -> None:
    (r,) = result["models"]
    assert result["quick"] and (result["budgets"], result["seeds"]) == ([10, 20], 2)
    assert list(r["curves"]) == ["lime", "lime_paired", "lime_orthogonal", "kernel_shap", "lime_image",
                                 "lime_image_slic", "shap_partition"]
    assert all([row["samples"] for row in rows] == [10, 20] for rows in r["curves"].values())
    assert [row["agreement_with_largest"] for row in r["curves"]["shap_partition"]][-1] == 1.0, "itself"
    assert len(r["comparisons"]) == 8 and any(line.startswith("design") for line in lines)


QUICK = [
    ("bench_device", [], check_device),
    ("bench_estimate", [], check_estimate),
    ("bench_evaluation", [], check_evaluation),
    ("bench_hub", [], check_hub),
    ("bench_libraries", [], check_libraries),
    ("bench_memory", [], check_memory),
    ("bench_report", [], check_report),
    ("bench_startup", ["--no-browser"], check_startup),
    ("deletion_baselines", [], check_per_baseline(("oracle_deletion_auc", "p_object_removed", "still_detected"),
                                                  EVAL_BASELINES)),
    ("scattered_edits", ["--task", "lung_xray", "--model", BUNDLED],
     check_per_baseline(("p_object_replaced", "p_object_and_rest_scattered_replaced",
                         "p_object_and_rest_tiles_replaced"), BASELINES)),
    ("stability", ["--model", BUNDLED, "--samples", "10,20", "--seeds", "2"], check_stability),
]
NAMES = {"bench_device": "device", "bench_estimate": "estimate", "bench_evaluation": "evaluation", "bench_hub": "hub",
         "bench_libraries": "libraries", "bench_memory": "memory", "bench_report": "report", "bench_startup": "startup",
         "bench_ray": "ray", "bench_rerun": "rerun"}


@pytest.fixture
def isolated(tmp_path, monkeypatch) -> Path:
    """The temporary folder in tmp_path, the scripts importable by name, and what a script changes in this process
    (the learned pass rates, the Hub settings) put back afterwards; yields the quick runs' folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(service, "RATES", service.PassRates())
    for name in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "ENDPOINT"):
        monkeypatch.setattr(hub, name, getattr(hub, name))
    monkeypatch.syspath_prepend(str(BENCH))
    before = {p.name: p.stat().st_mtime_ns for p in RESULTS.iterdir()}
    yield tmp_path
    assert {p.name: p.stat().st_mtime_ns for p in RESULTS.iterdir()} == before, "a smoke run wrote in results/"


@pytest.mark.parametrize("script,argv,check", QUICK, ids=[q[0] for q in QUICK])
def test_quick_mode_prints_its_table_and_writes_its_json_to_the_temporary_folder(script, argv, check, isolated,
                                                                                  capsys):
    load(script).main(["--quick", *argv])
    lines = capsys.readouterr().out.splitlines()
    written = isolated / f"{NAMES.get(script, script)}_quick.json"
    check(lines, json.loads(written.read_text()))


@slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian chromium (make browser)")
def test_rerun_benchmark_quick_mode(isolated, capsys):
    load("bench_rerun").main(["--quick"])
    result = json.loads((isolated / "rerun_quick.json").read_text())
    assert result["repeats"] == 1 and result["server_tracebacks"] == 0
    for name, interactions in (("display change", 2), ("tab switch", 1)):
        assert result[name]["interactions"] == interactions and {"seconds_median", "passes_max", "met"} <= set(
            result[name])
    assert len(table(capsys.readouterr().out.splitlines(), ("interaction", "runs", "median s"))) == 2


@slow
def test_ray_benchmark_quick_mode(isolated, capsys):
    pytest.importorskip("ray")
    load("bench_ray").main(["--quick"])
    result = json.loads((isolated / "ray_quick.json").read_text())
    assert (result["n"], result["methods"]) == (2, "gradcam")
    assert [r["runner"] for r in result["rows"]] == ["local", "ray, 1 worker(s)"]
    assert all(r["cases_per_second"] == pytest.approx(2 / r["seconds"], abs=0.01) for r in result["rows"])
    assert len(capsys.readouterr().out.splitlines()) == 2


@needs_speech
def test_formats_quick_mode_decodes_each_format_and_a_16k_wav_keeps_the_verdicts_of_the_samples(isolated, capsys):
    """Four held-out real recordings saved in every format a user uploads: a row per format, and the 16 kHz WAV's
    share called bona fide equals that of the recordings' own samples, never saved (scored as the card scores
    them, `workbench.training.audio_report`)."""
    from workbench.io.audio import AUDIO_FILE_TYPES

    module = load("formats")
    module.main(["--quick"])
    result = json.loads((isolated / "formats_quick.json").read_text())
    [row] = result["models"]
    assert list(row["formats"]) == list(module.FORMATS) and (row["n_real"], row["n_spoof"]) == (4, 0)
    assert {"m4a", "webm", "mp3", "wav"} <= set(AUDIO_FILE_TYPES), "every format measured is one the app takes"
    assert row["formats"]["wav 16 kHz"]["real_called_bonafide"] == row["formats"]["no file"]["real_called_bonafide"]
    assert len(table(capsys.readouterr().out.splitlines(), ("model", "format", "real called bona fide"))) == 6


def test_summarise_rows_gives_each_model_and_method_its_cases(isolated, capsys):
    """Stored rows summarised again (no quick mode: it scores nothing): one table row per model x method of the
    file, each counting the file's cases for it, and one printed line each."""
    out = isolated / "summary.json"
    load("summarise_rows").main([str(ROWS_FILE), "--out", str(out)])
    result = json.loads(out.read_text())
    rows = list(read_rows(ROWS_FILE).values())
    pairs = list(dict.fromkeys((r["model"], r["method"]) for r in rows))
    assert result["rows"] == [str(ROWS_FILE)] and [(t["model"], t["method"]) for t in result["table"]] == pairs
    for t in result["table"]:
        assert set(t) == set(COLUMNS)
        assert t["cases"] == len({r["case"] for r in rows if (r["model"], r["method"]) == (t["model"], t["method"])})
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("->")]
    assert [line.split()[:2] for line in lines] == [list(p) for p in pairs]


def test_baseline_table_aligns_each_value_under_its_header(tmp_path, capsys):
    """The per-baseline scripts' one printer: a header, a row per model x baseline, each value formatted by its
    column's spec and right-aligned under it; the results written unchanged."""
    report = load("baseline_table").report
    results = [{"model": "m", "relied_on": 3, "baselines": {"black": {"p": 0.51234}, "mean": {"p": 1.0}}}]
    report(results, [("relied on", "relied_on", "d"), ("p, object removed", "p", ".3f")], str(tmp_path / "t.json"))
    header, *rows, written = capsys.readouterr().out.splitlines()
    assert header.endswith("relied on p, object removed") and written == f"-> {tmp_path / 't.json'}"
    assert [row.split() for row in rows] == [["m", "black", "3", "0.512"], ["m", "mean", "3", "1.000"]]
    assert {len(row) for row in rows} == {len(header)}, "right-aligned under the header"
    assert json.loads((tmp_path / "t.json").read_text()) == results
