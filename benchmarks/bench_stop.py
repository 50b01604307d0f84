"""How soon the app's Stop, or a closed tab, ends a long explanation, and whether the next session's run works.

  python benchmarks/bench_stop.py [--repeats 5] [--out FILE]

Starts `streamlit run` on a free loopback port, opens one headless Debian Chromium page, chooses Occlusion at
stride 1 on the lung task's default sample (some 14,600 passes: minutes here), and repeats: press Run, wait for
the progress bar and a few seconds more, press Stop. Two times per repeat, from the press: until the page says
"Stopped." (the rerun that dropped the request has drawn it), and until the server's CPU falls under a fifth of
a core over 0.2 s (the computation has ended). Then the same run once more, and the tab is closed in the middle
of it: the time until the server is idle. Last, a new session runs the task's default methods. Prints the
times, writes JSON (default benchmarks/results/stop.json); tests/test_browser.py runs it with one repeat.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_startup import APP, CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy
from playwright.sync_api import sync_playwright

from workbench.paths import ROOT


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seconds_until_idle(pid: int, since: float, limit: float = 60.0) -> float:
    """Seconds from `since` to the end of the first 0.2 s window in which the server used under 0.04 CPU s."""
    while time.perf_counter() - since < limit:
        before = cpu_seconds(pid)
        time.sleep(0.2)
        if cpu_seconds(pid) - before < 0.04:
            return time.perf_counter() - since
    return float("inf")


def choose_slow_occlusion(page) -> None:
    """Add Occlusion to the chosen methods, at stride 1."""
    sidebar = page.get_by_test_id("stSidebar")
    methods = sidebar.get_by_test_id("stMultiSelect").filter(has_text="XAI methods").locator("input")
    methods.click()
    methods.fill("Occlusion")
    page.get_by_role("option", name="Occlusion").click()
    page.keyboard.press("Escape")
    sidebar.get_by_text("Occlusion settings").click()
    for name in ("stride_height", "stride_width"):
        field = sidebar.get_by_test_id("stNumberInput").filter(has_text=name).locator("input")
        field.fill("1")
        field.press("Enter")
        page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "stop.json")
    args = parser.parse_args()
    port, folder = free_port(), Path(tempfile.mkdtemp())
    log = folder / "streamlit.log"
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
                             "--server.address", "127.0.0.1"], cwd=folder, stdout=log.open("w"),
                            stderr=subprocess.STDOUT,
                            # Occlusion at stride 1 is ~16,000 passes: over the default budget, allowed here
                            env={**os.environ, "WORKBENCH_MAX_PASSES": "100000"})
    shown, idle = [], []
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, proc, log)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.set_default_timeout(120_000)
            page.goto(url)
            choose_slow_occlusion(page)
            for k in range(args.repeats):
                page.get_by_test_id("stSidebar").get_by_role("button", name="Run").click()
                page.get_by_test_id("stProgress").filter(has_text="Occlusion").wait_for()
                time.sleep(2 + k % 3)
                stop = page.get_by_role("button", name="Stop", exact=True)
                start = time.perf_counter()
                stop.click()
                page.get_by_text("Stopped.", exact=False).wait_for()
                shown.append(time.perf_counter() - start)
                idle.append(seconds_until_idle(proc.pid, start))
                print(f"stop {k + 1}: page says stopped after {shown[-1]:.2f} s, server idle after {idle[-1]:.2f} s")
            page.get_by_test_id("stSidebar").get_by_role("button", name="Run").click()
            page.get_by_test_id("stProgress").filter(has_text="Occlusion").wait_for()
            start = time.perf_counter()
            page.context.close()  # the tab closes in the middle of the run
            closed_idle = seconds_until_idle(proc.pid, start)
            print(f"tab closed: server idle after {closed_idle:.2f} s")
            other = browser.new_page(viewport={"width": 1500, "height": 1100})  # another session, its defaults
            other.set_default_timeout(120_000)
            other.goto(url)
            start = time.perf_counter()
            other.get_by_test_id("stSidebar").get_by_role("button", name="Run").click()
            other.get_by_text("3 explanation(s) ready").wait_for()
            next_run = time.perf_counter() - start
            print(f"the next session's run: {next_run:.2f} s")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    result = {"repeats": args.repeats, "stopped_shown_seconds": shown, "server_idle_seconds": idle,
              "median_shown": statistics.median(shown), "max_shown": max(shown),
              "median_idle": statistics.median(idle), "max_idle": max(idle),
              "closed_tab_idle_seconds": closed_idle, "next_session_run_seconds": next_run,
              "tracebacks_in_server_log": log.read_text().count("Traceback")}
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, list)}, indent=1))
    args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
