"""How long an uncached Hub repo takes to fail when the Hub cannot be reached. Target: within 5 s.

  python benchmarks/bench_hub.py [--out FILE] [--quick]

Four ways of having no Hub, each with an empty cache: HF_HUB_OFFLINE set; the default endpoint, on a machine with
no internet (elsewhere this row measures a 404 from the real Hub); an endpoint whose port is closed
(connection refused); and an endpoint that accepts the connection and never answers (a listening socket nobody
serves, the worst case: only the listing call's timeout ends it). Prints a table, writes JSON (default
benchmarks/results/hub.json; --quick: the same four cases, written to the temporary folder). The Hub settings it
changes are restored at the end.
"""

import argparse
import json
import socket
import tempfile
import time

import huggingface_hub.constants as hub
from outputs import output_path

from workbench.errors import ModelError
from workbench.models import load_model

TARGET_SECONDS = 5.0


def seconds_to_fail(repo: str) -> tuple[float, str]:
    start = time.perf_counter()
    try:
        load_model(repo)
    except ModelError as err:
        return time.perf_counter() - start, str(err)
    raise SystemExit(f"{repo} loaded; expected a failure")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None, help="default benchmarks/results/hub.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run (the same cases: each fails within seconds)")
    args = parser.parse_args(argv)
    rows = []
    saved = hub.HF_HUB_CACHE, hub.HF_HUB_OFFLINE, hub.ENDPOINT
    with tempfile.TemporaryDirectory() as cache, socket.socket() as silent, socket.socket() as closed:
        hub.HF_HUB_CACHE = cache
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nothing ever reads or answers
        closed.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        cases = {"HF_HUB_OFFLINE=1": (True, hub.ENDPOINT),
                 "default endpoint": (False, hub.ENDPOINT),  # huggingface.co: unreachable on a machine offline
                 "connection refused": (False, f"http://127.0.0.1:{closed.getsockname()[1]}"),
                 "Hub never answers": (False, f"http://127.0.0.1:{silent.getsockname()[1]}")}
        for name, (offline, endpoint) in cases.items():
            hub.HF_HUB_OFFLINE, hub.ENDPOINT = offline, endpoint
            seconds, message = seconds_to_fail("hub:someone/uncached-model")
            rows.append({"case": name, "seconds": round(seconds, 3), "within_target": seconds <= TARGET_SECONDS,
                         "message": message})
    hub.HF_HUB_CACHE, hub.HF_HUB_OFFLINE, hub.ENDPOINT = saved
    print(f"{'case':<22}{'seconds':>9}  message")
    for row in rows:
        print(f"{row['case']:<22}{row['seconds']:>9.3f}  {row['message'][:90]}")
    output_path(args.out, "hub.json", args.quick).write_text(json.dumps({"target_seconds": TARGET_SECONDS,
                                                                         "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
