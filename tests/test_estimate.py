"""The cost estimate learns from finished runs: a run's seconds per pass, its waits for the model's lock left out,
become the method's estimate on that model (workbench.service.PassRates)."""

from __future__ import annotations

import statistics
import threading
import time

import numpy as np

from workbench.methods import METHODS
from workbench.models import predict
from workbench.service import RATES, PassRates, explain_request, explain_with_progress, pass_seconds, target_for


def test_a_running_mean_per_model_and_method_bounded():
    rates = PassRates()
    assert rates.seconds_per_pass("m", "ig", timed=5.0) == 5.0, "before a run: the timed pass"
    rates.observe("m", "ig", seconds=2.0, passes=100)  # 20 ms a pass
    assert rates.seconds_per_pass("m", "ig", timed=5.0) == 0.02
    rates.observe("m", "ig", seconds=4.0, passes=100)  # 40 ms: the newest counts half
    assert rates.seconds_per_pass("m", "ig", timed=5.0) == 0.03
    assert rates.seconds_per_pass("m", "gradcam", timed=5.0) == 5.0, "per method"
    rates.observe("m", "ig", seconds=0.0, passes=0)  # a run that did nothing teaches nothing
    assert rates.seconds_per_pass("m", "ig", timed=5.0) == 0.03
    rates.most = 2
    rates.observe("m", "a", 1.0, 1)
    rates.observe("m", "b", 1.0, 1)
    assert rates.seconds_per_pass("m", "ig", timed=5.0) == 5.0, "the oldest pair forgotten first"


def test_a_wait_for_the_model_lock_is_not_learned_as_work(bundled):
    """Another session holds the model for 0.6 s as the run starts: the run's record includes the wait, the learned
    estimate does not."""
    x = np.random.default_rng(0).random((1, 1, 128, 128), dtype=np.float32)
    target = target_for(bundled, predict(bundled, x))
    request = explain_request(bundled, x, "saliency", target, {}, 0)
    RATES.forget()
    held = threading.Event()

    def other_session() -> None:
        with bundled.lock:
            held.set()
            time.sleep(0.6)

    thread = threading.Thread(target=other_session)
    thread.start()
    held.wait()
    e = explain_with_progress(bundled, x, request, target, None)
    thread.join()
    learned = RATES.seconds_per_pass(bundled.key, "saliency", timed=1.0) * e.passes
    assert e.seconds >= 0.55, "the record's time includes the wait"
    assert learned <= e.seconds - 0.5, (learned, e.seconds)


def test_after_a_deliberately_slow_first_timing_a_repeat_is_estimated_within_half(bundled):
    """The first estimate comes from a timing ten times too slow (an error near 900%); after one run, each next run
    (a new seed, so computed) is estimated from the runs before it: the median error is within 50% of the time it
    took. On an idle machine it is within 30%; 50% because the suite's other worker changes this one's speed from
    run to run (0.35-0.42 measured once under it), which no estimate can foresee."""
    x = np.random.default_rng(1).random((1, 1, 128, 128), dtype=np.float32)
    target = target_for(bundled, predict(bundled, x))
    RATES.forget()
    timed = 10 * pass_seconds(bundled, x)  # ten times a pass of this model, timed here
    errors, first = [], None
    for seed in range(5):
        request = explain_request(bundled, x, "smoothgrad", target, {"samples": 64}, seed)
        passes = METHODS["smoothgrad"].cost(bundled, x, METHODS["smoothgrad"].resolve_params(bundled,
                                                                                              {"samples": 64})).passes
        estimate = passes * RATES.seconds_per_pass(bundled.key, "smoothgrad", timed)
        e = explain_with_progress(bundled, x, request, target, None)
        if first is None:
            first = abs(estimate - e.seconds) / e.seconds
        else:
            errors.append(abs(estimate - e.seconds) / e.seconds)
    assert first > 3, "the deliberately slow timing misjudged the first run"
    assert statistics.median(errors) <= 0.5, (first, errors)
