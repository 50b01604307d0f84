"""What a display control and a tab switch cost on a real server: seconds and counted events per interaction.

  python benchmarks/bench_rerun.py [--repeats 5] [--out FILE] [--quick]

Starts `streamlit run` with the server's DEBUG log (each script run and each run of the Comparison tab's display
fragment logs its seconds and its counts of decodes, model passes, PNG encodes and matplotlib figures:
`workbench/events.py`). One headless Chromium session opens a link to a 3 models x 4 methods grid on a lung sample
(`run=1`: it runs at once), waits for its maps, then `--repeats` times: moves the overlay opacity slider one step,
changes the colour scale, switches from the Comparison tab to the Prediction tab and back. An interaction's server
time and counts are those of the runs the server logged for it (none: the browser alone answered). Targets: a
display change at most 0.3 s with 0 decodes, 0 passes and 0 figures; a tab switch at most 0.5 s. Prints a table,
writes JSON (default benchmarks/results/rerun.json; --quick: one repeat on a 2 models x 2 methods grid of compact
models, written to the temporary folder).
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from bench_startup import APP, CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy
from outputs import output_path

from workbench.methods import METHODS

VIEW = {"task": "lung_xray", "model": "lung_xray-resnet34-compact",
        "compare": "lung_xray-resnet-compact,lung_xray-alexnet-compact", "sample": "affected_01",
        "methods": "gradcam,integrated_gradients,saliency,smoothgrad", "run": "1"}
QUICK_VIEW = {"task": "lung_xray", "model": "lung_xray-resnet-compact", "compare": "lung_xray-alexnet-compact",
              "sample": "affected_01", "methods": "gradcam,saliency", "run": "1"}
RUN_LINE = re.compile(r"workbench\.app: (?P<what>rerun|grid): (?P<seconds>[\d.]+) s, decodes (?P<decodes>\d+), "
                      r"passes (?P<passes>\d+), pngs (?P<pngs>\d+), figures (?P<figures>\d+)")
TARGETS = {"display change": 0.3, "tab switch": 0.5}
QUIET = 1.5  # seconds without a new log line: the interaction's runs are over


def logged_runs(log: Path) -> list[dict]:
    return [m.groupdict() for m in RUN_LINE.finditer(log.read_text(errors="replace"))]


def settle(log: Path, seen: int) -> list[dict]:
    """The runs logged after the first `seen`, once the log has been quiet for QUIET seconds."""
    last, count = time.perf_counter(), seen
    while time.perf_counter() - last < QUIET:
        time.sleep(0.1)
        now = len(logged_runs(log))
        if now != count:
            last, count = time.perf_counter(), now
    return logged_runs(log)[seen:]


def last_cell(view: dict) -> str:
    """The caption of the grid's last map (the last method on the last model), drawn when the grid is done."""
    model = [view["model"], *(m for m in view.get("compare", "").split(",") if m)][-1]
    return f"{METHODS[view['methods'].split(',')[-1]].name} · {model}"


def measure(repeats: int, view: dict = VIEW) -> dict:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "streamlit.log"
        log = open(log_path, "w")
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
                                   "--server.fileWatcherType", "none", "--server.port", str(port),
                                   "--server.address", "127.0.0.1"], cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "WORKBENCH_LOG_LEVEL": "DEBUG"})
        interactions: dict[str, list[list[dict]]] = {"display change": [], "tab switch": []}
        try:
            wait_until_healthy(url, server, log_path)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 1000})
                page.set_default_timeout(300_000)
                page.goto(f"{url}/?{urlencode(view, safe=',')}")
                page.get_by_role("tab", name="Comparison").click()
                panel = page.locator('[role="tabpanel"]:visible')
                panel.get_by_test_id("stImage").filter(has_text=last_cell(view)).wait_for()
                settle(log_path, 0)
                thumb = panel.get_by_test_id("stSlider").filter(has_text="Overlay opacity").get_by_role("slider")
                scale = panel.get_by_test_id("stRadio").filter(has_text="Colour scale")
                choices = ["One scale per method", "Each map its own scale"]
                for k in range(repeats):
                    seen = len(logged_runs(log_path))
                    thumb.press("ArrowLeft" if k % 2 == 0 else "ArrowRight")
                    interactions["display change"].append(settle(log_path, seen))
                    seen = len(logged_runs(log_path))
                    scale.get_by_text(choices[k % 2], exact=True).click()
                    interactions["display change"].append(settle(log_path, seen))
                    seen = len(logged_runs(log_path))
                    page.get_by_role("tab", name="Prediction").click()
                    page.get_by_role("tab", name="Comparison").click()
                    interactions["tab switch"].append(settle(log_path, seen))
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
            tracebacks = log_path.read_text(errors="replace").count("Traceback")
    result = {"repeats": repeats, "view": view, "server_tracebacks": tracebacks}
    for name, runs in interactions.items():
        seconds = [sum(float(r["seconds"]) for r in rs) for rs in runs]
        result[name] = {
            "interactions": len(runs), "server_runs": sum(len(rs) for rs in runs),
            "kinds": sorted({r["what"] for rs in runs for r in rs}),
            "seconds_median": round(statistics.median(seconds), 3), "seconds_max": round(max(seconds), 3),
            **{f"{e}_max": max(sum(int(r[e]) for r in rs) for rs in runs)
               for e in ("decodes", "passes", "pngs", "figures")},
            "target_seconds": TARGETS[name], "met": max(seconds) <= TARGETS[name] and (
                name != "display change" or all(sum(int(r[e]) for r in rs) == 0 for rs in runs
                                                 for e in ("decodes", "passes", "figures")))}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=None, help="default 5 (--quick: 1)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/rerun.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: one repeat on a smaller grid")
    args = parser.parse_args(argv)
    result = measure(args.repeats or (1 if args.quick else 5), QUICK_VIEW if args.quick else VIEW)
    print(f"{'interaction':<16}{'runs':>6}{'median s':>10}{'max s':>8}{'decodes':>9}{'passes':>8}{'pngs':>6}"
          f"{'figures':>9}{'target s':>10}  met")
    for name in TARGETS:
        r = result[name]
        print(f"{name:<16}{r['server_runs']:>6}{r['seconds_median']:>10}{r['seconds_max']:>8}{r['decodes_max']:>9}"
              f"{r['passes_max']:>8}{r['pngs_max']:>6}{r['figures_max']:>9}{r['target_seconds']:>10}  {r['met']}")
    output_path(args.out, "rerun.json", args.quick).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
