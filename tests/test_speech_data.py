"""The audio task's data from outside the project: the spoof engines, long recordings, and the held-out report's
arithmetic (equal error rate, the clip rule's calibration), each against a hand computation."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from workbench.data import speech, spoof_engines
from workbench.paths import ROOT
from workbench.training.audio_report import equal_error_rate, fit_clip_rule, lowest_probability

from .conftest import needs_speech


def test_equal_error_rate_by_hand():
    """Bona fide 0.1, 0.35, 0.4; spoofs 0.3, 0.8, 0.9. At 0.4 one bona fide of three reaches it and one spoof of
    three falls below: EER 1/3 there (at 0.35 the rates are 2/3 and 1/3)."""
    eer, threshold = equal_error_rate(np.array([0, 0, 0, 1, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8, 0.3, 0.9]))
    assert eer == pytest.approx(1 / 3) and threshold == pytest.approx(0.4)
    assert equal_error_rate(np.array([0, 1]), np.array([0.2, 0.7]))[0] == 0.0


def test_clip_rule_calibration_allows_the_share_and_never_goes_below_one_half():
    maxima = np.array([0.2, 0.95, 0.6, 0.7])
    p = lowest_probability(maxima, 0.25)  # one of four may reach it: just above the second largest
    assert 0.7 < p < 0.7 + 1e-9 and (maxima >= p).mean() == 0.25
    assert lowest_probability(maxima, 0.0) > 0.95
    assert lowest_probability(np.array([0.1, 0.2, 0.1]), 0.34) == 0.5
    assert lowest_probability(np.array([1.0, 1.0]), 0.0) == 0.999999


def test_the_clip_rule_is_fitted_so_the_allowed_share_of_real_recordings_and_no_more_is_called_spoof():
    """Four real recordings, by hand: pooled p (logistic of the mean log-odds) of [0.5, 0.9] is 0.75, of [0.2]
    0.2, of [0.5, 0.5, 0.99] is 0.8222, of [0.1, 0.3] is 0.1791. A share of 1/4 lets the highest (0.8222) be called
    spoof, so the pooled value sits just above 0.75; the single-window value sits just above 0.9, the largest
    window of the three left bona fide, so it calls none of them spoof."""
    from workbench.tasks import TASKS

    real = [np.array([0.5, 0.9]), np.array([0.2]), np.array([0.5, 0.5, 0.99]), np.array([0.1, 0.3])]
    pooled = [1 / (1 + np.exp(-np.mean(np.log(r / (1 - r))))) for r in real]
    assert pooled == pytest.approx([0.75, 0.2, 1 / (1 + 99 ** (-1 / 3)), 1 / (1 + np.sqrt(9 * 7 / 3))])
    rule = fit_clip_rule(real, 0.25)
    assert 0.75 < rule.pooled < 0.75 + 1e-9 and 0.9 < rule.probability < 0.9 + 1e-9
    called = [TASKS["audio_deepfake"].verdict(np.stack([1 - r, r], axis=1), rule).label for r in real]
    assert called == ["bonafide", "bonafide", "spoof", "bonafide"]


@pytest.mark.parametrize("engine", ["flite", "festival_diphone", "festival_hts", "piper"])
def test_every_text_to_speech_engine_speaks_offline_and_piper_stays_in_its_own_process(engine):
    label, utterance = spoof_engines.tts_utterance(engine, "sample", 0)
    assert label.startswith(engine) and utterance.dtype == np.float32
    assert len(utterance) > 2 * speech.RATE and np.sqrt(np.mean(utterance**2)) > 1e-3  # two sentences, not silence
    assert "piper" not in sys.modules, "piper-tts (GPL-3.0) runs as a separate process, never imported"


def test_no_module_of_the_app_or_library_imports_piper():
    sources = [*(ROOT / "workbench").rglob("*.py"), *(ROOT / "Streamlit").rglob("*.py")]
    assert not [p for p in sources if "import piper" in p.read_text() or "from piper" in p.read_text()]


@pytest.mark.parametrize("engine,setting", [("griffin_lim", (80, 512, 160, 32)), ("world", ("dio", 5.0, 1.0))])
def test_vocoders_keep_length_and_voice(engine, setting):
    """A re-synthesised harmonic voice keeps its length and its spectral envelope (correlation of the energies in
    100 Hz bands)."""
    t = np.arange(2 * speech.RATE) / speech.RATE
    voice = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 12)).astype(np.float32) * 0.1
    out = spoof_engines.vocode(engine, voice, setting)
    assert len(out) == len(voice)
    spectra = [(np.abs(np.fft.rfft(x)) ** 2)[:16000].reshape(80, -1).sum(1) for x in (voice, out)]
    assert np.corrcoef(*spectra)[0, 1] > 0.8


@needs_speech
def test_a_long_recording_is_long_and_its_spliced_twin_differs_only_around_the_span():
    from workbench.data.long_speech import long_clip

    real, none, _ = long_clip(0, "test", 0, False)
    spliced, span, engine = long_clip(0, "test", 0, True)
    assert none is None and engine in speech.VOCODER_ENGINES and len(real) == len(spliced) >= 30 * speech.RATE
    t = np.arange(len(real)) / speech.RATE
    difference = np.abs(real - spliced)
    inside = (t > span[0] + 0.02) & (t < span[1] - 0.02)
    outside = (t < span[0] - 0.1) | (t > span[1] + 0.6)
    assert 1.0 <= span[1] - span[0] <= 3.0
    assert difference[outside].mean() < 0.1 * difference[inside].mean()
