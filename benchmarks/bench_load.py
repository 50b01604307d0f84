"""Many browser sessions on one app server: runs, errors, latency percentiles, queue waits and the server's memory.

  python benchmarks/bench_load.py [--sessions 10] [--slow-sessions 3] [--seconds 300] [--step-seconds 90]
                                  [--slow-step-seconds 300] [--out FILE] [--py-spy PATH]

Starts `streamlit run` on a free loopback port (the server's job log on, WORKBENCH_LOG_LEVEL=INFO) and warms it
with one fast session alone: three runs, the last one's latency the single-session time. Then N sessions, each its
own context of headless Debian Chromium (Playwright, no browser download), repeat until the time is up: type a new
seed, press Run, wait for the run to end, open the Comparison tab and wait for its maps. A fast session asks for the
task's default methods and SmoothGrad (seeded: each new seed is computed, the deterministic maps come from the cache
after the first run); the first `--slow-sessions` of them ask for LIME and Kernel SHAP at their default 1,000
samples instead, computed afresh at every seed. A run's latency is from the Run press to the Comparison maps shown.
Each job (one explanation) logs how many runs were ahead of it when it arrived, how long it waited and how long it
ran (workbench/jobs.py): no job should wait longer than its place in the queue times the longest job. An error is
a page showing an exception, or a step not done within the step timeout (`--step-seconds`, 90 s; a slow session's
run may wait behind every other session's, so it gets `--slow-step-seconds`, 300 s). The server's
resident memory is sampled each second; its growth is from the end of the warm-up (every session has finished a run)
to the end. The server's CPU time beside the machine's (the browsers take the rest) says who the cores were busy
for. It stops by itself: the sessions finish their runs, then the browser and the server are closed. Prints a table,
writes JSON (default benchmarks/results/load.json).
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from bench_startup import APP, CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy

from workbench.paths import ROOT

STEP_SECONDS = 90
SLOW_STEP_SECONDS = 300  # ten runs ahead of a slow one, each up to half a minute on a busy machine
FAST_EXTRA = ("SmoothGrad",)  # added to the task's defaults: a seeded method, so every run computes
SLOW_METHODS = ("LIME", "Kernel SHAP")  # instead of the defaults, at their default 1,000 samples
JOB_LINE = re.compile(r"job (?P<kind>slow|cheap): waited (?P<waited>[\d.]+) s behind (?P<ahead>\d+) run\(s\), "
                      r"ran (?P<ran>[\d.]+) s")
POLL_SLACK = 0.5  # a queued job looks for its turn at least every 0.2 s (JobQueue.poll_seconds); slack for that


class Memory(threading.Thread):
    """The server's resident set size (its children's too), sampled every second until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process, self.samples, self.stopped = psutil.Process(pid), [], threading.Event()

    def rss_mb(self) -> float:
        processes = [self.process, *self.process.children(recursive=True)]
        return sum(p.memory_info().rss for p in processes) / 2**20

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            try:
                self.samples.append((time.perf_counter(), self.rss_mb()))
            except psutil.Error:
                return


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its children, so far."""
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def busy_seconds() -> float:
    """CPU time the whole machine has spent busy (every core; idle and I/O wait left out), so far."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


async def one_run(page, seed: int, step_ms: float) -> float:
    """Type a seed, press Run, wait for the Comparison tab's maps: seconds from the press to the maps. The run's
    end is the page's script state back at `notRunning` (after it was seen `running`, or 2 s without seeing it)."""
    sidebar = page.get_by_test_id("stSidebar")
    step = "seed"
    try:
        seed_box = sidebar.get_by_role("spinbutton", name="Seed", exact=True)
        await seed_box.fill(str(seed))
        await seed_box.press("Enter")
        await page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=step_ms)
        step = "run"
        start = time.perf_counter()
        await sidebar.get_by_role("button", name="Run").click()
        try:
            await page.wait_for_selector('[data-test-script-state="running"]', timeout=2_000)
        except Exception:  # noqa: BLE001 - a run can end before its running state is seen
            pass
        await page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=step_ms)
        if await page.get_by_test_id("stException").count():
            raise RuntimeError("the page shows an exception")
        step = "comparison maps"
        await page.get_by_role("tab", name="Comparison").click()
        panel = page.locator('[role="tabpanel"]:visible')
        await panel.get_by_test_id("stImage").first.wait_for(state="visible", timeout=step_ms)
        seconds = time.perf_counter() - start
        step = "back"
        await page.get_by_role("tab", name="Prediction").click()
        return seconds
    except Exception as err:
        raise RuntimeError(f"step '{step}': {type(err).__name__}: {str(err).splitlines()[0]}") from None


async def choose_methods(page, slow: bool, step_ms: float) -> None:
    """A fast session adds SmoothGrad to the defaults; a slow one replaces them by LIME and Kernel SHAP."""
    box = page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="XAI methods")
    field = box.locator("input")
    if slow:
        for _ in range(6):  # Backspace in the empty field removes the last chosen method
            await field.click()
            await field.press("Backspace")
            await page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=step_ms)
    from playwright.async_api import expect

    for name in SLOW_METHODS if slow else FAST_EXTRA:
        await field.click()
        await field.fill(name)
        await field.press("Enter")
        await page.keyboard.press("Escape")
        try:  # a busy server may start the rerun after the page looked idle: wait for the choice itself
            await expect(box).to_contain_text(name, timeout=step_ms)
        except AssertionError:
            raise RuntimeError(f"could not choose {name}: the field shows {await box.inner_text()!r}") from None
        await page.wait_for_selector('[data-test-script-state="notRunning"]', timeout=step_ms)


async def session(browser, url: str, index: int, deadline: float, results: list, errors: list,
                  step_ms: float, max_runs: int | None = None, on_error=None, slow: bool = False) -> None:
    context = await browser.new_context(viewport={"width": 1500, "height": 1100})
    page = await context.new_page()
    page.set_default_timeout(step_ms)
    seed = 1000 * (index + 1)
    fresh = True  # the page is to be (re)opened
    try:
        while time.perf_counter() < deadline and (max_runs is None or len(results) + len(errors) < max_runs):
            seed += 1
            try:
                if fresh:
                    await page.goto(url)
                    await page.get_by_test_id("stSidebar").get_by_role("button", name="Run").wait_for()
                    await choose_methods(page, slow, step_ms)
                    fresh = False
                results.append((index, time.perf_counter(), await one_run(page, seed, step_ms), slow))
            except Exception as err:  # noqa: BLE001 - every failure is counted, then the session goes on afresh
                errors.append(f"session {index}, seed {seed}: {str(err).splitlines()[0]}")
                if on_error is not None:
                    await asyncio.to_thread(on_error)
                fresh = True
    finally:
        await context.close()


async def load(url: str, sessions: int, seconds: float, step_ms: float, on_error=None,
               slow_sessions: int = 0, slow_step_ms: float = SLOW_STEP_SECONDS * 1000
               ) -> tuple[float, float, list, list]:
    """(single-session seconds, the time every session had finished a run, each run's (latency, slow), each error).
    `on_error` is called (in a thread) after each error, while the other sessions go on."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            warm, warm_errors = [], []
            alone = time.perf_counter() + 600
            await session(browser, url, 99, alone, warm, warm_errors, step_ms, max_runs=3)  # one fast, alone
            if warm_errors:
                raise RuntimeError(f"the warm-up run failed: {warm_errors[0]}")
            warmed = time.perf_counter()
            results, errors = [], []
            deadline = time.perf_counter() + seconds
            await asyncio.gather(*(session(browser, url, k, deadline, results, errors,
                                           slow_step_ms if k < slow_sessions else step_ms, on_error=on_error,
                                           slow=k < slow_sessions) for k in range(sessions)))
        finally:
            await browser.close()
    firsts = {}
    for index, finished, _, _ in results:
        firsts.setdefault(index, finished)
    # warm once every session has run: each has its thread (and malloc arena) and the caches hold a run of each
    warmed = max([warmed, *firsts.values()])
    return warm[-1][2], warmed, [(latency, slow) for _, _, latency, slow in results], errors


def percentile(values: list[float], q: float) -> float | None:
    return round(statistics.quantiles(values, n=100)[q - 1], 2) if len(values) >= 2 else None


def queue_report(server_log: str) -> dict:
    """The jobs the server logged: how many, the longest, the longest wait, and the waits longer than the job's place
    in the queue on arrival times the longest job (plus the polling slack)."""
    jobs = [m.groupdict() for m in JOB_LINE.finditer(server_log)]
    if not jobs:
        return {"jobs": 0}
    longest = max(float(j["ran"]) for j in jobs)
    over = [j for j in jobs if float(j["waited"]) > int(j["ahead"]) * longest + POLL_SLACK]
    by_kind = {kind: [j for j in jobs if j["kind"] == kind] for kind in ("cheap", "slow")}
    return {"jobs": len(jobs), "slow_jobs": len(by_kind["slow"]),
            "longest_job_seconds": round(longest, 2),
            "longest_wait_seconds": round(max(float(j["waited"]) for j in jobs), 2),
            **{f"{kind}_{what}_p95": percentile([float(j[what]) for j in some], 95)
               for kind, some in by_kind.items() for what in ("waited", "ran")},
            "most_runs_ahead": max(int(j["ahead"]) for j in jobs),
            "waits_over_place_times_longest_job": len(over)}


def measure(sessions: int, seconds: float, py_spy: str | None = None, step_seconds: float = STEP_SECONDS,
            slow_sessions: int = 0, slow_step_seconds: float = SLOW_STEP_SECONDS) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "streamlit.log", "w")
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
                                   "--server.fileWatcherType", "none", "--server.port", str(port),
                                   "--server.address", "127.0.0.1"], cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "WORKBENCH_LOG_LEVEL": "INFO"})
        memory = Memory(server.pid)
        dumps: list[str] = []

        def dump_threads() -> None:
            """What every server thread is doing right after an error (`py-spy dump`), for the first three."""
            if py_spy and len(dumps) < 3:
                done = subprocess.run([py_spy, "dump", "--pid", str(server.pid)], capture_output=True, text=True)
                dumps.append(done.stdout + done.stderr)

        try:
            wait_until_healthy(url, server, Path(tmp) / "streamlit.log")
            memory.start()
            server_cpu, machine_cpu = cpu_seconds(server.pid), busy_seconds()
            single, warmed, results, errors = asyncio.run(load(url, sessions, seconds, step_seconds * 1000,
                                                               dump_threads, slow_sessions,
                                                               slow_step_seconds * 1000))
            server_cpu, machine_cpu = cpu_seconds(server.pid) - server_cpu, busy_seconds() - machine_cpu
            warm_rss = next((mb for t, mb in memory.samples if t >= warmed), memory.rss_mb())
            end_rss = memory.rss_mb()
        finally:
            memory.stopped.set()
            server.terminate()
            server.wait(timeout=30)
            log.close()
            server_log = (Path(tmp) / "streamlit.log").read_text(errors="replace")
    fast = [latency for latency, slow in results if not slow]
    slow = [latency for latency, is_slow in results if is_slow]
    return {"server_tracebacks": server_log.count("Traceback"),
            "server_log_tail": [line for line in server_log.splitlines() if not JOB_LINE.search(line)][-5:],
            "sessions": sessions, "slow_sessions": slow_sessions, "seconds": seconds, "runs": len(results),
            "errors": len(errors), "error_examples": errors[:10], "single_session_seconds": round(single, 2),
            "latency_p50": percentile(fast, 50), "latency_p95": percentile(fast, 95),
            "p95_over_single": round(percentile(fast, 95) / single, 2) if len(fast) >= 2 else None,
            "slow_runs": len(slow), "slow_latency_p50": percentile(slow, 50),
            "slow_latency_p95": percentile(slow, 95), **queue_report(server_log),
            "rss_mb_after_warm_up": round(warm_rss), "rss_mb_end": round(end_rss),
            "rss_growth": round(end_rss / warm_rss - 1, 3), "server_cpu_seconds": round(server_cpu),
            "machine_busy_cpu_seconds": round(machine_cpu), "thread_dumps_at_errors": dumps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--slow-sessions", type=int, default=0, help="of the sessions, how many ask for LIME and "
                        "Kernel SHAP at 1,000 samples")
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--step-seconds", type=float, default=STEP_SECONDS, help="how long a step may take "
                        "before it counts as an error")
    parser.add_argument("--slow-step-seconds", type=float, default=SLOW_STEP_SECONDS)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "load.json"))
    parser.add_argument("--py-spy", metavar="PATH", help="a py-spy executable: dump the server's threads after "
                        "each of the first three errors (into the JSON)")
    args = parser.parse_args()
    result = measure(args.sessions, args.seconds, args.py_spy, args.step_seconds, args.slow_sessions,
                     args.slow_step_seconds)
    for key, value in result.items():
        if key == "thread_dumps_at_errors":
            continue
        print(f"{key:>24}: {value}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
