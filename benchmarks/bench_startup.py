"""How soon the app is ready: the import cost of its modules, and seconds from `streamlit run` to a
drawn sidebar in a real browser.

  python benchmarks/bench_startup.py [--repeats N] [--out FILE] [--no-browser] [--quick]

Each repeat is a fresh process. Imports: app.py's own import lines run under `python -X importtime`
(each module's cumulative time, what it pulls in included; `absent` lists watched modules not loaded). Launch:
`streamlit run Streamlit/app.py --server.headless true --server.fileWatcherType none` on a free port,
with headless Debian chromium (Playwright, no browser download) opening the page as soon as the server
answers; the clock starts just before the process is spawned and stops when the sidebar's Run button
(its last widget) is drawn, again when the Prediction tab shows the predicted class, and when the
sidebar shows the chosen methods' cost in seconds (it times a model pass, last). Prints medians
(this machine is shared, so single runs vary) and writes JSON (default benchmarks/results/startup.json; --quick:
one repeat, written to the temporary folder).
"""

import argparse
import ast
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from outputs import output_path

from workbench.paths import ROOT

APP = ROOT / "Streamlit" / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LAUNCH = ("server_seconds", "sidebar_seconds", "prediction_seconds", "costs_seconds")
WATCHED = ("workbench", "torch", "torch._dynamo", "triton", "torchvision", "tensorflow", "keras", "transformers",
           "streamlit", "pandas", "matplotlib", "sklearn", "librosa", "workbench.methods", "workbench.metrics",
           "workbench.render", "views.sidebar", "views.caches", "views.comparison", "views.prediction")


def app_imports() -> str:
    """app.py's top-level import lines, so the measurement follows the app as it changes."""
    tree = ast.parse(APP.read_text())
    return "\n".join(ast.unparse(n) for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom))


def parse_importtime(stderr: str) -> list[tuple[int, str, float]]:
    """(depth, module, cumulative seconds) per line of `-X importtime` output, in its order."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((depth, name.strip(), int(cumulative) / 1e6))
    return rows


def measure_imports() -> dict:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", app_imports()], cwd=APP.parent,
                          capture_output=True, text=True, check=True)
    rows = parse_importtime(proc.stderr)
    seconds = {name: s for _, name, s in rows}
    top = sorted(((name, s) for depth, name, s in rows if depth == 0), key=lambda r: -r[1])
    return {"total_seconds": round(sum(s for depth, _, s in rows if depth == 0), 3),
            "watched": {m: round(seconds[m], 3) for m in WATCHED if m in seconds},
            "absent": [m for m in WATCHED if m not in seconds],
            "top_level": {name: round(s, 3) for name, s in top[:12]}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, proc: subprocess.Popen, log: Path, limit: float = 180) -> None:
    """Poll the server's health endpoint until it answers; its log in the error if it stops or takes too long."""
    start = time.perf_counter()
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return
        except OSError:
            if proc.poll() is not None or time.perf_counter() - start > limit:
                raise RuntimeError(f"streamlit did not start: {log.read_text()}") from None
            time.sleep(0.02)


def measure_launch(browser, workdir: Path) -> dict:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(workdir / f"streamlit-{port}.log", "w")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
                             "--server.fileWatcherType", "none", "--server.port", str(port),
                             "--server.address", "127.0.0.1"], cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    context = browser.new_context(viewport={"width": 1500, "height": 1100})  # a first visit: nothing cached
    try:
        wait_until_healthy(url, proc, workdir / f"streamlit-{port}.log")
        server = time.perf_counter() - start
        page = context.new_page()
        page.set_default_timeout(180_000)
        page.goto(url)
        page.get_by_test_id("stSidebar").get_by_role("button", name="Run").wait_for()
        sidebar = time.perf_counter() - start
        page.get_by_test_id("stMetric").filter(has_text="Predicted class").wait_for()
        prediction = time.perf_counter() - start
        page.get_by_test_id("stSidebar").get_by_text("Together:").wait_for()
        costs = time.perf_counter() - start
    finally:
        context.close()
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    return {"server_seconds": round(server, 3), "sidebar_seconds": round(sidebar, 3),
            "prediction_seconds": round(prediction, 3), "costs_seconds": round(costs, 3)}


def median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=None, help="default 5 (--quick: 1)")
    parser.add_argument("--no-browser", action="store_true", help="import cost only")
    parser.add_argument("--out", default=None, help="default benchmarks/results/startup.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: one repeat")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (1 if args.quick else 5)

    imports = [measure_imports() for _ in range(args.repeats)]
    launches = []
    if not args.no_browser:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            launches = [measure_launch(browser, Path(tmp)) for _ in range(args.repeats)]
            browser.close()

    watched = {m: round(statistics.median(r["watched"][m] for r in imports), 3)
               for m in WATCHED if all(m in r["watched"] for r in imports)}
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
                         f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} at the end",
              "repeats": args.repeats, "app_imports": app_imports().splitlines(),
              "imports": {"median_total_seconds": round(statistics.median(r["total_seconds"] for r in imports), 3),
                          "median_watched_seconds": watched, "absent": imports[0]["absent"], "runs": imports},
              "launch": {k: median(launches, k) for k in LAUNCH} | {"runs": launches} if launches else None}
    out = output_path(args.out, "startup.json", args.quick)
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"app imports, median of {args.repeats} fresh processes (python -X importtime, cumulative):")
    print(f"{'module':24s} {'seconds':>8s}")
    print(f"{'(all app imports)':24s} {result['imports']['median_total_seconds']:8.2f}")
    for module, seconds in watched.items():
        print(f"{module:24s} {seconds:8.2f}")
    print(f"not imported: {', '.join(result['imports']['absent']) or '-'}")
    if launches:
        print(f"\nstreamlit run -> ready, seconds from process start ({args.repeats} runs):")
        print(f"{'run':>4s} {'server up':>10s} {'sidebar':>8s} {'prediction':>11s} {'costs':>6s}")
        for k, r in [*enumerate(launches, 1), ("med", result["launch"])]:
            print(f"{k:>4} " + " ".join(f"{r[key]:{w}.2f}" for key, w in zip(LAUNCH, (10, 8, 11, 6))))
    print(f"{result['machine']}\nwrote {out}")


if __name__ == "__main__":
    main()
