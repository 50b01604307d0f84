"""End to end in a real browser: `streamlit run`, pick a sample, run the task's default methods, and find
their pictures in the Comparison tab; a slow run shows its progress and ends when stopped or when its tab closes;
several sessions at once. Debian's chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import ROOT

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Server:
    url: str
    log: Path  # its output: at DEBUG, a line per script run with what it cost (views/caches.py, `logged`)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("server")
    port = free_port()
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        # no other flags: Streamlit/.streamlit/config.toml makes a plain run headless, without
        # usage statistics, file watcher or Deploy button
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "Streamlit" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "WORKBENCH_LOG_LEVEL": "DEBUG"})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start: " + (tmp_path / "streamlit.log").read_text())
        yield Server(url, tmp_path / "streamlit.log")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture
def page(server):
    chromium = shutil.which("chromium")
    assert chromium, "Debian chromium is missing: `make test` installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.set_default_timeout(120_000)
        yield page
        browser.close()


GRID_RUN = re.compile(r"grid: [\d.]+ s, decodes (\d+), passes (\d+), pngs \d+, figures (\d+)")


def test_four_methods_of_one_model_share_a_row_and_a_slider_computes_nothing(page, server, tmp_path):
    """A link runs four methods on one model: at 1440 px their maps stand in one row, each at least 240 px wide.
    Moving the opacity slider reruns the display fragment only: no decode, no model pass, no figure (the server's
    own counts)."""
    methods = ("Grad-CAM", "Integrated Gradients", "Saliency", "SmoothGrad")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(f"{server.url}/?task=lung_xray&sample=affected_02&methods=gradcam,integrated_gradients,saliency,"
              "smoothgrad&run=1")
    try:
        page.get_by_role("tab", name="Comparison").click()
        panel = page.locator('[role="tabpanel"]:visible')
        boxes = []
        for name in methods:
            img = panel.get_by_test_id("stImage").filter(has_text=f"{name} ·").locator("img")
            img.wait_for()
            boxes.append(img.bounding_box())
        assert max(b["y"] for b in boxes) - min(b["y"] for b in boxes) < 2, f"one row: {boxes}"
        assert [b["x"] for b in boxes] == sorted(b["x"] for b in boxes), "in the sidebar's order"
        assert min(b["width"] for b in boxes) >= 240, boxes
        assert page.get_by_role("button", name="Deploy").count() == 0
        deadline = time.monotonic() + 300
        while " rerun: " not in server.log.read_text() and time.monotonic() < deadline:  # the link's run is over
            time.sleep(0.2)
        before, reruns = len(GRID_RUN.findall(server.log.read_text())), server.log.read_text().count(" rerun: ")
        panel.get_by_test_id("stSlider").filter(has_text="Overlay opacity").get_by_role("slider").press("ArrowLeft")
        deadline = time.monotonic() + 60
        while len(runs := GRID_RUN.findall(server.log.read_text())) == before and time.monotonic() < deadline:
            time.sleep(0.1)
        assert runs[before:], "the slider reran the display fragment"
        assert all(r == ("0", "0", "0") for r in runs[before:]), runs[before:]
        time.sleep(1)
        assert server.log.read_text().count(" rerun: ") == reruns, "the fragment reran, not the whole page"
    finally:
        page.screenshot(path=str(tmp_path / "comparison.png"), full_page=True)


def test_a_link_opens_its_task_and_methods_and_shows_their_maps(page, server):
    page.goto(f"{server.url}/?task=histopathology&methods=gradcam,saliency&run=1")
    task = page.get_by_test_id("stSidebar").get_by_role("combobox", name="Task")
    expect(task).to_have_value(re.compile("^Histopathology"), timeout=120_000)
    page.get_by_role("tab", name="Comparison").click()
    panel = page.locator('[role="tabpanel"]:visible')
    for name in ("Grad-CAM ·", "Saliency ·"):
        img = panel.get_by_test_id("stImage").filter(has_text=name).locator("img")
        img.wait_for()
        assert img.evaluate("img => img.complete && img.naturalWidth") >= 64
    page.get_by_text("Copy a link to this view").click()
    offered = page.get_by_test_id("stCode").first.inner_text().strip()
    assert offered.startswith(f"{server.url}/?task=histopathology&model=histopathology-resnet18-compact&sample=")
    assert offered.endswith("&methods=gradcam,saliency&run=1"), offered


def test_stop_and_a_closed_tab_end_a_long_run_and_the_next_session_runs(tmp_path):
    """benchmarks/bench_stop.py with one repeat: Occlusion at stride 1 (minutes of passes here) shows its progress
    bar, is stopped, started again and its tab closed; each time the server goes idle (the computation ended),
    and a new session's run gets its three maps."""
    out = tmp_path / "stop.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_stop.py"), "--repeats", "1", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True, timeout=600)
    result = json.loads(out.read_text())
    # Five times what the benchmark measured (benchmarks/results/stop.json, five repeats: "Stopped." shown within
    # 0.92 s, the server idle within 2.4 s, a closed tab's run ended within 0.9 s): slack for a loaded two-core
    # machine, yet a run that ends seconds late, not at its next batch, fails. The run stopped would go on for
    # minutes, so an ended run is told from it whatever the load.
    measured = json.loads((ROOT / "benchmarks" / "results" / "stop.json").read_text())
    assert result["max_shown"] < 5 * measured["max_shown"], (result, "the page showed the stop late")
    assert result["max_idle"] < 5 * measured["max_idle"], (result, "the stopped run went on")
    assert result["closed_tab_idle_seconds"] < 5 * measured["closed_tab_idle_seconds"], (
        result, "the closed session's run went on")
    assert result["tracebacks_in_server_log"] == 0


def test_two_sessions_for_30_seconds_without_an_error(tmp_path):
    """The load benchmark's short version: two browser sessions on one server, each pressing Run with a new seed
    and opening the Comparison tab, for 30 s (benchmarks/bench_load.py runs ten for five minutes). A step may take
    up to 300 s, not the benchmark's 90: here the suite's other workers share the two cores (a step once took
    over 90 s in CI), and this test asserts no error, not speed."""
    out = tmp_path / "load.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_load.py"), "--sessions", "2", "--seconds", "30",
                    "--step-seconds", "300", "--out", str(out)], cwd=ROOT, check=True, capture_output=True,
                   timeout=900)
    result = json.loads(out.read_text())
    assert result["errors"] == 0, result["error_examples"]
    assert result["runs"] >= 4, "each session ran several times"
