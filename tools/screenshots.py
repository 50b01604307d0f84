"""Remake the README's picture, docs/comparison.png, from the real app: `streamlit run` on a free port, headless
Debian Chromium (Playwright, no browser download) opening the README's view by its link (the lung task, the ResNet-34
model, four methods on affected_01, run at once), a screenshot of the Comparison tab once every map is drawn.

  make screenshots                      (= python tools/screenshots.py --out docs/comparison.png)
  python tools/screenshots.py --out /tmp/comparison.png

Not run by the tests (a server and a browser, about a minute here); run it after changing what the tab shows.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the benchmarks' server and browser helpers, one copy of them

from bench_rerun import last_cell  # noqa: E402
from bench_startup import APP, CHROMIUM, CHROMIUM_ARGS, free_port, wait_until_healthy  # noqa: E402

VIEW = {"task": "lung_xray", "model": "lung_xray-resnet34-compact", "sample": "affected_01",
        "methods": "gradcam,integrated_gradients,saliency,smoothgrad", "run": "1"}
VIEWPORT = {"width": 1440, "height": 1250}  # the picture's size: the sidebar, the tab's controls and the grid


def screenshot(out: Path, view: dict = VIEW) -> None:
    """The Comparison tab of `view`, drawn by a fresh server, saved as a PNG at `out`."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "streamlit.log"
        with open(log_path, "w") as log:
            server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
                                       "--server.fileWatcherType", "none", "--server.port", str(port),
                                       "--server.address", "127.0.0.1"], cwd=tmp, stdout=log,
                                      stderr=subprocess.STDOUT)
            try:
                wait_until_healthy(url, server, log_path)
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    page = browser.new_page(viewport=VIEWPORT)
                    page.set_default_timeout(300_000)
                    page.goto(f"{url}/?{urlencode(view, safe=',')}")
                    page.get_by_role("tab", name="Comparison").click()
                    panel = page.locator('[role="tabpanel"]:visible')
                    panel.get_by_test_id("stImage").filter(has_text=last_cell(view)).locator("img").wait_for()
                    page.wait_for_function("[...document.images].every(img => img.complete && img.naturalWidth)")
                    page.wait_for_timeout(1500)  # the last rerun's fade-in and the colour bar
                    out.parent.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(out))
                    browser.close()
            finally:
                server.terminate()
                server.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "comparison.png")
    args = parser.parse_args(argv)
    screenshot(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
