"""End to end in a real browser: `streamlit run`, pick a sample, run the task's default methods, and find
their pictures in the Comparison tab; a slow method shows its progress while it runs. Debian's chromium
driven by Playwright (no browser download)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

from .conftest import ROOT

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server_process(tmp_path_factory):
    """The URL of a `streamlit run` server, its process and its log."""
    tmp_path = tmp_path_factory.mktemp("server")
    port = free_port()
    log = open(tmp_path / "streamlit.log", "w")
    proc = subprocess.Popen(
        # no other flags: Streamlit/.streamlit/config.toml makes a plain run headless, without
        # usage statistics, file watcher or Deploy button
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "Streamlit" / "app.py"),
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
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
        yield url, proc, tmp_path / "streamlit.log"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def server(server_process) -> str:
    return server_process[0]


@pytest.fixture
def page(server):
    chromium = shutil.which("chromium")
    assert chromium, "Debian chromium is missing: `make test` installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.set_default_timeout(120_000)
        page.goto(server)
        yield page
        browser.close()


def test_the_default_methods_side_by_side_in_a_real_browser(page, tmp_path):
    try:
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_test_id("stSelectbox").filter(has_text="Sample").click()
        page.get_by_role("option", name="affected_02").click()
        for name in ("Grad-CAM", "Integrated Gradients", "Saliency"):
            sidebar.get_by_text(name, exact=True).wait_for()
        page.get_by_test_id("stStatusWidget").wait_for(state="hidden")  # the rerun is over
        sidebar.get_by_role("button", name="Run").click()
        page.get_by_text("3 explanation(s) ready").wait_for()
        assert page.get_by_role("button", name="Deploy").count() == 0
        page.get_by_role("tab", name="Comparison").click()
        panel = page.get_by_role("tabpanel").filter(has_text="One scale per method")
        for name in ("Grad-CAM ·", "Integrated Gradients ·", "Saliency ·"):
            img = panel.get_by_test_id("stImage").filter(has_text=name).locator("img")
            img.wait_for()
            assert img.evaluate("img => img.complete && img.naturalWidth") >= 128
    finally:
        page.screenshot(path=str(tmp_path / "comparison.png"), full_page=True)


def add_occlusion(page, stride: int) -> None:
    """Add Occlusion to the chosen methods, at `stride` rows and columns."""
    sidebar = page.get_by_test_id("stSidebar")
    methods = sidebar.get_by_test_id("stMultiSelect").filter(has_text="XAI methods").locator("input")
    methods.click()
    methods.fill("Occlusion")
    page.get_by_role("option", name="Occlusion").click()
    page.keyboard.press("Escape")
    sidebar.get_by_text("Occlusion settings").click()
    for name in ("stride_height", "stride_width"):
        field = sidebar.get_by_test_id("stNumberInput").filter(has_text=name).locator("input")
        field.fill(str(stride))
        field.press("Enter")
        page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def test_a_slow_method_shows_its_progress_while_it_runs(page, tmp_path):
    """Occlusion at stride 3 (41 x 41 positions, estimated at seconds): a progress bar while it runs, gone
    when it is done."""
    try:
        add_occlusion(page, 3)
        page.get_by_test_id("stSidebar").get_by_role("button", name="Run").click()
        page.get_by_test_id("stProgress").filter(has_text="Occlusion").wait_for()
        page.get_by_text("4 explanation(s) ready").wait_for()
        assert page.get_by_test_id("stProgress").count() == 0
    finally:
        page.screenshot(path=str(tmp_path / "progress.png"), full_page=True)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process, all its threads (/proc/PID/stat)."""
    fields = open(f"/proc/{pid}/stat").read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def goes_idle(pid: int, within: float = 20.0) -> bool:
    """Whether the server spends under a fifth of a core in some one-second window before `within` seconds.
    Occlusion at stride 1 keeps it above one core for minutes."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < 0.2:
            return True
    return False


def start_a_long_run(page, add: bool = True) -> None:
    """Occlusion at stride 1 (121 x 121 positions, minutes here), started, its progress bar shown."""
    if add:
        add_occlusion(page, 1)
    page.get_by_test_id("stSidebar").get_by_role("button", name="Run").click()
    page.get_by_test_id("stProgress").filter(has_text="Occlusion").wait_for()


def test_stop_and_a_closed_tab_end_a_long_run_and_the_next_run_works(server_process, page, tmp_path):
    url, proc, log = server_process
    try:
        start_a_long_run(page)
        page.get_by_role("button", name="Stop", exact=True).click()
        page.get_by_text("Stopped. The maps finished before the stop are kept").wait_for(timeout=20_000)
        assert goes_idle(proc.pid), "the stopped run goes on computing"
        start_a_long_run(page, add=False)  # the choices were kept
        browser = page.context.browser
        page.context.close()  # the tab closes in the middle of the run
        assert goes_idle(proc.pid), "the closed session's run goes on computing"
        other = browser.new_page(viewport={"width": 1500, "height": 1100})  # another session
        other.set_default_timeout(120_000)
        other.goto(url)
        other.get_by_test_id("stSidebar").get_by_role("button", name="Run").click()
        other.get_by_text("3 explanation(s) ready").wait_for()
    finally:
        if not page.is_closed():
            page.screenshot(path=str(tmp_path / "stop.png"), full_page=True)
    assert "Traceback" not in log.read_text()


def test_two_sessions_for_30_seconds_without_an_error(tmp_path):
    """The load benchmark's short version: two browser sessions on one server, each pressing Run with a new seed
    and opening the Comparison tab, for 30 s (benchmarks/bench_load.py runs ten for five minutes)."""
    out = tmp_path / "load.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_load.py"), "--sessions", "2", "--seconds", "30",
                    "--out", str(out)], cwd=ROOT, check=True, capture_output=True, timeout=600)
    result = json.loads(out.read_text())
    assert result["errors"] == 0, result["error_examples"]
    assert result["runs"] >= 4, "each session ran several times"
