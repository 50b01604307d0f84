"""A shared server, safe by default (issue 35): the operator's settings, where `make run` listens, a repo's labels
shown as text, the per-request budget, and the job queue's order, positions and Stop.

Oracles: the listening sockets the kernel reports (psutil), counted model passes, the order in which real
explanation jobs ran, and literal expected text.
"""

from __future__ import annotations

import json
import logging
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time

import huggingface_hub.constants
import numpy as np
import psutil
import pytest
from streamlit.testing.v1 import AppTest

from workbench.interrupt import interruptible
from workbench.jobs import JobQueue
from workbench.methods import METHODS
from workbench.models import Target
from workbench.settings import DEFAULT_MAX_PASSES, SETTINGS, ServerSettings, read_settings

from . import hub_repos
from .conftest import BUNDLED, ROOT, tiny_adapter

APP = str(ROOT / "Streamlit" / "app.py")
SEGMENTER = "iqa_segmentation-deeplabv3plus-compact"
HOSTILE = ("<img src=x onerror=alert(1)>", "<b>bold</b>")


def widget(block, kind: str, label: str):
    return next(w for w in getattr(block, kind) if w.label == label)


# Settings -----------------------------------------------------------------------------------------------------

def test_settings_parse_and_a_bad_value_logs_a_warning_and_keeps_the_default(caplog):
    assert read_settings({}) == ServerSettings(trust_pickle=False, local_models=False, hub=True,
                                               max_passes=DEFAULT_MAX_PASSES)
    good = read_settings({"WORKBENCH_TRUST_PICKLE": "1", "WORKBENCH_LOCAL_MODELS": "yes", "WORKBENCH_HUB": "0",
                          "WORKBENCH_MAX_PASSES": "900", "WORKBENCH_WORKERS": "3", "WORKBENCH_LOG_LEVEL": "debug"})
    assert (good.trust_pickle, good.local_models, good.hub, good.max_passes, good.job_slots, good.log_level) == \
        (True, True, False, 900, 3, "DEBUG")
    with caplog.at_level(logging.WARNING, logger="workbench"):
        bad = read_settings({"WORKBENCH_TRUST_PICKLE": "sure", "WORKBENCH_HUB_MAX_BYTES": "2GB",
                             "WORKBENCH_MAX_PASSES": "-5"})
    assert bad == ServerSettings(), "a typo never widens what a session may do"
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3 and all("is not a valid value; using the default" in m for m in warned)
    assert any("WORKBENCH_HUB_MAX_BYTES='2GB'" in m for m in warned)


def test_make_serve_prints_every_setting_and_who_can_reach_it_before_starting():
    shown = subprocess.run([sys.executable, "-m", "workbench.settings", "--serving"], capture_output=True,
                           text=True, check=True, env={"PATH": "/usr/bin:/bin", "WORKBENCH_MAX_PASSES": "777"}).stdout
    assert all(s.env in shown for s in SETTINGS.values())
    assert re.search(r"WORKBENCH_MAX_PASSES +=  *777 ", shown) and re.search(r"WORKBENCH_TRUST_PICKLE +=  *0 ", shown)
    assert "anyone who can reach port" in shown
    recipe = subprocess.run(["make", "-n", "serve", "PORT=8765"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    assert recipe.index("workbench.settings --serving") < recipe.index("--server.address 0.0.0.0")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_run_listens_on_the_loopback_interface_only(tmp_path):
    """The Makefile's own `run` command (as `make -n` prints it), started, and its listening sockets read."""
    port = free_port()
    recipe = subprocess.run(["make", "-n", "run", f"PORT={port}"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    command = next(line for line in recipe.splitlines() if "streamlit run" in line)
    log = open(tmp_path / "streamlit.log", "w")
    server = subprocess.Popen(shlex.split(command), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline, listening = time.monotonic() + 120, []
        while not listening and time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "streamlit.log").read_text()
            time.sleep(0.5)
            listening = [c.laddr for c in psutil.Process(server.pid).net_connections("inet")
                         if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert listening, "the server never listened on its port"
        time.sleep(1)  # every socket it opens for the port is open by now
        listening = [c.laddr for c in psutil.Process(server.pid).net_connections("inet")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        assert {a.ip for a in listening} == {"127.0.0.1"}, listening
    finally:
        server.terminate()
        server.wait(30)


# The sidebar under the default settings -------------------------------------------------------------------------

@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A pickle-only repo (org/pickled) and the bundled segmenter with hostile labels (org/labels) in an offline
    Hub cache."""
    labels = tmp_path / "labels"
    shutil.copytree(ROOT / "models" / SEGMENTER, labels)
    config = json.loads((labels / "config.json").read_text())
    config["labels"] = [config["labels"][0], *HOSTILE, config["labels"][3]]
    (labels / "config.json").write_text(json.dumps(config))
    hub_repos.cache_repo(tmp_path / "hub", "org/labels", labels)
    hub_repos.cache_repo(tmp_path / "hub", "org/pickled", hub_repos.pickle_only(tmp_path / "pickled"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    return tmp_path / "hub"


def hub_app(task: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    widget(at.sidebar, "selectbox", "Task").set_value(task).run()
    if task != "hub_image":
        widget(at.sidebar, "radio", "Model source").set_value("Hugging Face Hub").run()
    assert not at.exception
    return at


def test_by_default_no_trust_switch_no_server_paths_and_a_repos_labels_are_text(cache, server_env):
    server_env()  # the defaults, whatever this machine's environment holds
    at = hub_app("hub_image")
    server = widget(at.sidebar, "expander", "This server")
    assert any("`WORKBENCH_TRUST_PICKLE` = `0`" in c.value for c in server.caption)
    widget(at.sidebar, "text_input", "Hub repo id").input("hub:org/pickled").run()
    assert not at.exception and not [c for c in at.sidebar.checkbox if c.label.startswith("Trust pickled")]
    assert any("this server does not load pickled weights" in e.value and "WORKBENCH_TRUST_PICKLE=1" in e.value
               for e in at.error), [e.value for e in at.error]

    widget(at.sidebar, "text_input", "Hub repo id").input(str(ROOT / "models" / BUNDLED)).run()
    assert not at.exception
    assert any("does not load models from its own folders" in e.value for e in at.error), [e.value for e in at.error]

    at = hub_app("iqa_segmentation")
    widget(at.sidebar, "text_input", "Hub repo id").input("hub:org/labels").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    legend = next(m for m in at.markdown if "■" in m.value)
    assert "&lt;img src=x onerror=alert(1)&gt;" in legend.value and "&lt;b&gt;bold&lt;/b&gt;" in legend.value
    assert "<img" not in legend.value and "<b>" not in legend.value


def test_the_operator_can_offer_the_trust_switch_and_model_folders(cache, server_env):
    server_env(WORKBENCH_TRUST_PICKLE="1", WORKBENCH_LOCAL_MODELS="1")
    at = hub_app("hub_image")
    widget(at.sidebar, "text_input", "Hub repo id").input("hub:org/pickled").run()
    widget(at.sidebar, "checkbox", "Trust pickled weights from this repo").check().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at = hub_app("lung_xray")
    widget(at.sidebar, "text_input", "Hub repo id").input(str(ROOT / "models" / BUNDLED)).run()
    assert not at.exception and not at.error, [e.value for e in at.error]


def test_without_the_hub_only_bundled_models_are_offered(server_env):
    server_env(WORKBENCH_HUB="0")
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    assert widget(at.sidebar, "radio", "Model source").options == ["Bundled"]


# The budget --------------------------------------------------------------------------------------------------

def test_a_run_over_the_budget_is_refused_before_any_pass(server_env):
    """LIME at its default samples on the bundled model, against a budget of 50 passes: one line naming the cost
    and the budget, and not one pass run (the cached adapter's own count, across every thread)."""
    server_env(WORKBENCH_MAX_PASSES="50")
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    widget(at.sidebar, "selectbox", "Model").set_value(BUNDLED).run()
    widget(at.sidebar, "multiselect", "XAI methods").set_value(["lime"]).run()
    model = sys.modules["views.caches"].get_model(BUNDLED, None)  # the app's cached adapter
    before = model.total.passes
    widget(at.sidebar, "button", "Run").click().run()
    assert not at.exception
    refused = [e.value for e in at.sidebar.error if e.value.startswith("Not run: ")]
    assert len(refused) == 1 and "over this server's budget of 50 (WORKBENCH_MAX_PASSES)" in refused[0], refused
    needs = int(re.search(r"needs ([\d,]+) model passes", refused[0])[1].replace(",", ""))
    assert needs >= METHODS["lime"].resolve_params(model, None)["samples"], "LIME scores each of its samples"
    assert model.total.passes == before, "no pass was run"


# The queue ---------------------------------------------------------------------------------------------------

class Stopped(Exception):
    pass


def wait_until(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_one_worker_serves_in_arrival_order_tells_positions_and_stop_leaves_the_queue():
    """Real Grad-CAM jobs on a tiny model through a 1-slot queue: the first holds the slot until told to go on;
    the others wait, hear how many runs are ahead, and run in the order they came. One is stopped while waiting."""
    model = tiny_adapter()
    x = np.random.default_rng(0).normal(size=(1, 1, 32, 32)).astype(np.float32)
    jobs, ran, heard = JobQueue(1), [], {}
    go_on, stop = threading.Event(), threading.Event()

    def job(name: str, hold: bool = False, stoppable: bool = False) -> None:
        def check() -> None:
            if stoppable and stop.is_set():
                raise Stopped
        heard[name] = []
        with interruptible(check):
            try:
                with jobs.slot(slow=False, on_wait=heard[name].append):
                    METHODS["gradcam"].explain(model, x, Target(1), {}, 0)
                    ran.append(name)
                    if hold:
                        go_on.wait(30)
            except Stopped:
                ran.append(f"{name} stopped")

    threads = []
    for name, kwargs in [("a", {"hold": True}), ("b", {}), ("c", {"stoppable": True}), ("d", {})]:
        threads.append(threading.Thread(target=job, args=(name,), kwargs=kwargs))
        threads[-1].start()  # each one in the queue before the next arrives:
        wait_until(lambda name=name: ran == ["a"] if name == "a" else bool(heard.get(name)))
    assert ran == ["a"] and jobs.state() == (1, 3)
    assert heard["b"] == [1] and heard["c"] == [2] and heard["d"] == [3], heard
    stop.set()
    wait_until(lambda: jobs.state() == (1, 2))
    assert ran == ["a", "c stopped"], "Stop while waiting leaves the queue"
    go_on.set()
    for t in threads:
        t.join(30)
    assert ran == ["a", "c stopped", "b", "d"] and jobs.state() == (0, 0)
    assert heard["d"][:2] == [3, 2], "d heard its place move up when c left"


def test_a_cheap_job_is_not_starved_by_slow_ones():
    """Two slots: a slow job runs, a second slow one waits (slow jobs hold at most one of two slots), and a cheap
    job that arrives after it starts at once on the free slot."""
    jobs, started = JobQueue(2), []
    release = threading.Event()

    def job(name: str, slow: bool) -> None:
        with jobs.slot(slow):
            started.append(name)
            if name == "slow-1":
                release.wait(30)

    first = threading.Thread(target=job, args=("slow-1", True))
    first.start()
    wait_until(lambda: started == ["slow-1"])
    second = threading.Thread(target=job, args=("slow-2", True))
    second.start()
    wait_until(lambda: jobs.state() == (1, 1))
    cheap = threading.Thread(target=job, args=("cheap", False))
    cheap.start()
    cheap.join(10)
    assert started == ["slow-1", "cheap"], "the cheap job went ahead of the waiting slow one"
    release.set()
    for t in (first, second):
        t.join(30)
    assert started == ["slow-1", "cheap", "slow-2"]


def test_a_running_slow_job_gives_way_to_a_cheap_one_at_its_batch_boundaries_within_its_share():
    """A slow job doing 10 ms batches (each ending in the adapter's checkpoint) beside a cheap job of 0.3 s on two
    slots: the slow one stops at its next boundary while the cheap one runs, and goes on after it. Counted batches."""
    from workbench.interrupt import checkpoint

    jobs, batches = JobQueue(2), []
    cheap_running, cheap_done, stop = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        with jobs.slot(slow=True):
            while not stop.is_set():
                time.sleep(0.01)
                batches.append(time.perf_counter())
                checkpoint()

    def cheap() -> None:
        with jobs.slot(slow=False):
            cheap_running.set()
            time.sleep(0.3)
        cheap_done.set()

    worker = threading.Thread(target=slow)
    worker.start()
    time.sleep(0.5)  # it has run 0.5 s: it may give way for up to 1 s
    helper = threading.Thread(target=cheap)
    helper.start()
    cheap_running.wait(5)
    start = time.perf_counter()
    cheap_done.wait(5)
    end = time.perf_counter()
    time.sleep(0.3)
    stop.set()
    worker.join(5)
    helper.join(5)
    during = [t for t in batches if start + 0.05 < t < end]
    after = [t for t in batches if t > end + 0.05]
    assert len(during) <= 1, f"{len(during)} batches while the cheap job ran"
    assert len(after) >= 10, "the slow job went on once the cheap one ended"
