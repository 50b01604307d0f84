"""Audio end to end: decoding every format and every kind of bad audio, windows and the clip verdict,
listening to an explanation, the spoof generator's ground truth, the CLI on audio."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile

import inference
import xai_models
from workbench.data import speech
from workbench.errors import InputError
from workbench.io.audio import AUDIO_FILE_TYPES, decode_audio, encode_ffmpeg
from workbench.render import with_axes
from workbench.specs import InputSpec, SignalSpec
from workbench.tasks import TASKS, Axes, GroundTruth
from workbench.tasks.listening import listen
from workbench.tasks.spectrogram import istft, stft
from workbench.training.recipes import AUDIO_SPEC

from .bad_corpus import BAD_AUDIO, PLAYLIST, encode, tone
from .conftest import ROOT, needs_speech

TASK = TASKS["audio_deepfake"]
SPEC = InputSpec(128, 251, 1, (0.5,), (0.25,), SignalSpec())
# Occlusion with 32-bin patches: 32 perturbed copies of a window instead of the default's 1,922.
OCCLUSION_32 = [arg for key in ("window_height", "window_width", "stride_height", "stride_width")
                for arg in ("--param", f"occlusion.{key}=32")]


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2])
def test_wav_of_any_usual_rate_and_channels_becomes_16k_mono(rate, channels):
    decoded = decode_audio(encode(tone(2.0, rate, channels=channels), rate, subtype="PCM_16"), "a.wav")
    assert abs(len(decoded.signal) - 32000) <= 2 and decoded.signal.dtype == np.float32
    # the 440 Hz tone is still at 440 Hz after resampling
    spectrum = np.abs(np.fft.rfft(decoded.signal))
    assert abs(np.argmax(spectrum) * 16000 / len(decoded.signal) - 440) < 2
    assert ("mixed down to mono" in " ".join(decoded.notes)) == (channels > 1)
    assert ("resampled from" in " ".join(decoded.notes)) == (rate != 16000)
    assert ("nothing above 4,000 Hz" in " ".join(decoded.notes)) == (rate == 8000)


@pytest.mark.parametrize("fmt,subtype", [("FLAC", "PCM_16"), ("OGG", "VORBIS"), ("MP3", "MPEG_LAYER_III"),
                                         ("WAV", "FLOAT")])
def test_flac_ogg_mp3_and_float_wav_decode(fmt, subtype):
    decoded = decode_audio(encode(tone(1.5, 44100, channels=2), 44100, fmt, subtype), f"a.{fmt.lower()}")
    assert abs(len(decoded.signal) / 16000 - 1.5) < 0.08  # MP3 adds encoder padding
    assert 0.2 < np.abs(decoded.signal).max() <= 1.0


@pytest.mark.parametrize("container,codec,rate", [("ipod", "aac", 44100), ("adts", "aac", 44100),
                                                   ("webm", "libopus", 48000), ("ogg", "libopus", 48000)])
def test_phone_and_browser_recordings_decode_to_the_tone_they_hold(container, codec, rate):
    """A voice memo (M4A or raw AAC) and a browser recording (Opus in WebM or Ogg): each listed type decodes to
    the 440 Hz tone FFmpeg encoded, its length (within the codec's priming frames), level and the notes of a WAV."""
    original = tone(2.0, rate, channels=2)
    name = f"memo.{ {'ipod': 'm4a', 'adts': 'aac', 'webm': 'webm', 'ogg': 'opus'}[container]}"
    assert name.rsplit(".", 1)[1] in AUDIO_FILE_TYPES
    decoded = decode_audio(encode_ffmpeg(original, rate, container, codec), name)
    assert abs(len(decoded.signal) / 16000 - 2.0) < 0.1 and decoded.signal.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(decoded.signal))
    assert abs(np.argmax(spectrum) * 16000 / len(decoded.signal) - 440) < 2
    rms = np.sqrt(np.mean(decoded.signal[1600:-1600] ** 2))
    assert abs(rms - 0.3 / np.sqrt(2)) < 0.03, "the level survives the codec"
    assert (decoded.source_rate, decoded.channels) == (rate, 2)
    assert decoded.notes == ["2 channels mixed down to mono.", f"resampled from {rate:,} Hz to 16,000 Hz."]


@pytest.mark.parametrize("container,codec,rate", [("ipod", "aac", 44100), ("webm", "libopus", 48000)])
def test_a_phone_or_browser_recording_past_the_cap_is_cut_at_it_with_a_note(container, codec, rate, monkeypatch):
    """The cap holds on the FFmpeg path too (lowered to 1.5 s here, so that the file stays small): decoding stops
    there and the note gives the container's own length."""
    import workbench.io.audio as audio

    monkeypatch.setattr(audio, "MAX_SECONDS", 1.5)
    decoded = decode_audio(encode_ffmpeg(tone(6.0, rate), rate, container, codec), "memo")
    assert len(decoded.signal) == 1.5 * 16000
    assert any(note.startswith("memo is 0.1 minutes long; only the first") for note in decoded.notes)


def test_ffmpeg_opens_only_the_demuxer_the_first_bytes_call_for_and_never_a_playlist(monkeypatch):
    """Counted at PyAV's door (the real `av.open` runs): a playlist that names a local file never reaches FFmpeg,
    a WAV stays with libsndfile, and a voice memo is opened once, by the MP4 demuxer alone."""
    import av

    opened = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: opened.append(k.get("format")) or real_open(*a, **k))
    with pytest.raises(InputError, match="not a readable audio file"):
        decode_audio(PLAYLIST, "playlist.m4a")
    decode_audio(encode(tone(1.0, 16000), 16000), "a.wav")
    assert opened == []
    memo = encode_ffmpeg(tone(1.0, 44100), 44100, "ipod", "aac")
    opened.clear()  # the encoder's own opening
    decode_audio(memo, "memo.m4a")
    assert opened == ["mov"]


@pytest.mark.parametrize("name", list(BAD_AUDIO))
def test_bad_audio_gets_a_clear_message(name):
    make, message = BAD_AUDIO[name]
    with pytest.raises(InputError, match=re.escape(message)):
        decode_audio(make(), name)


def test_clipped_and_over_range_audio_is_used_with_a_note():
    clipped = np.clip(tone(1.0, 16000, level=3.0), -1, 1)
    assert "clipped" in " ".join(decode_audio(encode(clipped, 16000, subtype="PCM_16"), "c.wav").notes)
    loud = tone(1.0, 16000, level=2.0)
    decoded = decode_audio(encode(loud, 16000, subtype="FLOAT"), "l.wav")
    assert np.abs(decoded.signal).max() <= 1.0 and "clipped to ±1" in " ".join(decoded.notes)


def test_a_recording_over_ten_minutes_is_capped_with_a_note():
    rate = 8000
    long = (0.1 * np.sin(np.arange(int(601 * rate)) * 0.3)).astype(np.float32)
    decoded = decode_audio(encode(long, rate, subtype="PCM_16"), "long.wav")
    assert len(decoded.signal) == 600 * 16000
    assert any("10.0 minutes long; only the first 10 minutes" in note for note in decoded.notes)


def test_stft_round_trip_is_exact():
    signal = np.random.default_rng(0).normal(0, 0.2, 64000).astype(np.float32)
    np.testing.assert_allclose(istft(stft(signal, SPEC.signal), SPEC.signal, len(signal)), signal, atol=1e-5)


def test_listening_splits_the_window_into_relevant_and_rest():
    """Top and rest sum to the window; a map that marks only the low bands keeps only low frequencies."""
    rng = np.random.default_rng(1)
    window = (tone(4.0, 16000, freq=300) + tone(4.0, 16000, freq=3000)).astype(np.float32)
    heatmap = rng.normal(0, 0.01, (128, 251)).astype(np.float32)
    heatmap[:40] += 1.0  # mel bands below ~900 Hz
    top, rest = listen(window, heatmap, SPEC, fraction=40 * 251 / heatmap.size)
    np.testing.assert_allclose(top + rest, window, atol=1e-5)

    def energy(signal, lo, hi):
        spectrum = np.abs(np.fft.rfft(signal)) ** 2
        freqs = np.fft.rfftfreq(len(signal), 1 / 16000)
        return spectrum[(freqs >= lo) & (freqs < hi)].sum()

    assert energy(top, 250, 350) > 0.95 * energy(window, 250, 350)
    assert energy(top, 2900, 3100) < 0.01 * energy(window, 2900, 3100)
    assert energy(rest, 2900, 3100) > 0.95 * energy(window, 2900, 3100)
    everything, nothing = listen(window, heatmap, SPEC, fraction=1.0)
    np.testing.assert_allclose(everything, window, atol=1e-5)
    assert np.abs(nothing).max() < 1e-5


def test_a_long_clip_is_scored_window_by_window_and_its_rule_decides():
    """Without a clip rule any spoofed window decides; with one, the most spoof-like window decides and the clip
    is spoof only when that window reaches the rule's probability."""
    from workbench.specs import ClipRule

    raw = tone(10.0, 16000)
    assert TASK.windows(raw, SPEC) == [(0.0, 4.0), (4.0, 8.0), (8.0, 10.0)]
    assert TASK.preprocess_windows(raw, SPEC).shape == (3, 1, 128, 251)
    assert TASK.verdict(np.array([[0.9, 0.1], [0.8, 0.2], [0.95, 0.05]]))[:2] == ("bonafide", 1)
    assert TASK.verdict(np.array([[0.9, 0.1], [0.3, 0.7], [0.95, 0.05]]))[:2] == ("spoof", 1)
    rule = ClipRule("spoof", 0.9)
    windows = np.array([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8], [0.95, 0.05]])
    assert TASK.verdict(windows, rule)[:2] == ("bonafide", 2)  # 0.8 < 0.9: bona fide, window 2 came closest
    assert TASK.verdict(np.array([[0.9, 0.1], [0.05, 0.95]]), rule)[:2] == ("spoof", 1)
    assert TASK.verdict(np.array([[0.1, 0.9]]), rule)[:2] == ("spoof", 0)  # exactly at the rule's probability
    assert "≥ 0.9 " in TASK.rule_text(rule) and "every window" in TASK.rule_text(None)


def test_the_pooled_clip_rule_averages_log_odds_so_length_neither_hides_nor_punishes():
    """Pooled p = logistic(mean log-odds), by hand: windows at 0.8 and 0.5 have log-odds ln 4 and 0, mean ln 2,
    pooled 2/3. A long clip of many mildly suspect real windows stays bona fide under the pooled part (where "any
    window" would call it spoof), a clip spoofed throughout is caught without a near-certain window, and one
    near-certain window still decides on its own."""
    from workbench.specs import ClipRule

    assert ClipRule.pooled_probability(np.array([0.8, 0.5])) == pytest.approx(2 / 3)
    rule = ClipRule("spoof", 0.999, pooled=0.7)
    mild = np.array([[0.8, 0.2]] * 30 + [[0.35, 0.65]])  # 31 windows, one at 0.65
    label, k, reason = TASK.verdict(mild, rule)
    assert (label, k) == ("bonafide", 30) and "pooled p(spoof) 0.2" in reason
    spoofed = np.array([[0.25, 0.75], [0.3, 0.7], [0.2, 0.8]])  # pooled 0.751 >= 0.7, no window >= 0.999
    label, k, reason = TASK.verdict(spoofed, rule)
    assert (label, k) == ("spoof", 2) and reason.startswith("pooled p(spoof) 0.75")
    assert ClipRule.pooled_probability(spoofed[:, 1]) == pytest.approx(
        1 / (1 + np.exp(-np.mean(np.log(spoofed[:, 1] / spoofed[:, 0])))))
    one = np.array([[0.9, 0.1]] * 10 + [[0.0005, 0.9995]])
    label, k, reason = TASK.verdict(one, rule)
    assert (label, k) == ("spoof", 10) and reason.startswith("window 10's p(spoof) 0.9995")
    assert "pooled p(spoof)" in TASK.rule_text(rule) and "0.999" in TASK.rule_text(rule)


def test_spectrogram_pictures_get_axes_in_hertz_and_seconds_and_images_do_not():
    picture = TASK.picture(tone(4.0, 16000), SPEC)
    drawn = with_axes((255 * picture.rgb).astype(np.uint8), picture.axes)
    assert drawn.shape[0] > 128 and drawn.shape[1] > 251 and drawn.dtype == np.uint8
    image = np.zeros((32, 32, 3), np.uint8)
    assert with_axes(image, Axes.pixels(32, 32)) is image


@needs_speech
def test_partial_spoof_and_its_twin_differ_only_around_the_spoofed_span():
    """Outside the span (beyond its cross-fades, the room's reverberation and a codec frame) a partial spoof is its
    real twin to within the codec's noise; inside they differ."""
    clips = speech.make_clips(16, seed=0, split="sample")
    partial = np.flatnonzero(clips.kinds == speech.KINDS.index("partial"))
    assert len(partial) >= 1
    for i in partial:
        start, end = clips.spans[i]
        t = np.arange(clips.waves.shape[1]) / speech.RATE
        difference = np.abs(clips.waves[i] - clips.twins[i])
        outside = (t < start - 0.1) | (t > end + 0.6)
        inside = (t > start + 0.011) & (t < end - 0.011)
        assert difference[inside].mean() > 1e-3
        if outside.any():
            assert difference[outside].mean() < 0.1 * difference[inside].mean()
    for i in np.flatnonzero(clips.kinds != speech.KINDS.index("partial")):
        assert np.isnan(clips.spans[i]).all()
        if clips.kinds[i] != speech.KINDS.index("vocoder"):
            np.testing.assert_array_equal(clips.waves[i], clips.twins[i])


@needs_speech
def test_a_resynthesised_spoof_follows_its_real_twin_so_only_the_vocoder_differs():
    """Bona fide window 2k is the twin of spoof 2k+1 when that spoof is vocoded or spliced: the same
    recording, crop and recording chain, so a model cannot tell them apart by the speaker or the channel."""
    clips = speech.make_clips(16, seed=0, split="sample")
    resynthesised = [speech.KINDS.index("vocoder"), speech.KINDS.index("partial")]
    pairs = [i for i in range(1, 16, 2) if clips.kinds[i] in resynthesised]
    assert len(pairs) == 3  # eight pairs: five text-to-speech engines, Griffin-Lim, WORLD, partial
    assert {clips.engines[i] for i in range(1, 16, 2)} == set(speech.ENGINES)
    for i in pairs:
        assert clips.labels[i - 1] == 0 and clips.sources[i - 1] == clips.sources[i]
        np.testing.assert_array_equal(clips.waves[i - 1], clips.twins[i])
        spectra = [np.abs(np.fft.rfft(w)) for w in (clips.waves[i - 1], clips.waves[i])]
        assert np.corrcoef(*spectra)[0, 1] > 0.5  # the same speech, re-synthesised
        assert np.abs(clips.waves[i - 1] - clips.waves[i]).mean() > 1e-3


def test_recording_chain_telephone_band_and_codecs_by_hand():
    """A telephone band leaves white noise little above 3.4 kHz; an MP3 or Ogg round trip keeps the length and
    the signal (correlation > 0.9); the same draw gives the same chain."""
    from workbench.data.augment import Augmentation

    noise = np.random.default_rng(0).standard_normal(speech.RATE * 4).astype(np.float32) * 0.1
    plain = Augmentation(0.0, None, None, False, None, None, 0.0, 0.5, 80.0, False, None)
    phone = Augmentation(0.0, None, None, True, None, None, 0.0, 0.5, 80.0, False, None)
    out = phone(noise, np.random.default_rng(1))
    power = np.abs(np.fft.rfft(out)) ** 2
    hz = np.fft.rfftfreq(len(out), 1 / speech.RATE)
    assert 10 * np.log10(power[hz > 6000].mean() / power[(hz > 800) & (hz < 2500)].mean()) < -20
    voice = tone(4.0, 16000, freq=300.0)
    for codec in (("mp3", 64), ("ogg", 5)):
        coded = Augmentation(**{**plain.__dict__, "codec": codec})(voice, np.random.default_rng(2))
        reference = plain(voice, np.random.default_rng(2))
        assert len(coded) == len(reference) == 64000 and np.corrcoef(coded, reference)[0, 1] > 0.9
    chain = Augmentation.draw(np.random.default_rng(5))
    np.testing.assert_array_equal(chain(voice, np.random.default_rng(3)), chain(voice, np.random.default_rng(3)))


@needs_speech
def test_held_out_split_shares_no_speaker_voice_setting_or_text_with_training():
    from workbench.data import spoof_engines

    splits = {s: set(speech.librispeech_speakers(s)) for s in ("train", "val", "test")}
    assert [len(splits[s]) for s in ("train", "val", "test")] == [175, 25, 51]
    assert not splits["train"] & splits["test"] and not splits["val"] & splits["test"]
    assert not splits["train"] & splits["val"]
    assert not set(speech.VOICES["train"]) & set(speech.VOICES["test"])
    assert not set(speech.CLIPS["train"]) & set(speech.CLIPS["test"])
    for engine, settings in spoof_engines.SETTINGS.items():
        assert not set(settings["train"]) & set(settings["test"]), engine
    assert not set(spoof_engines.TEXTS["train"]) & set(spoof_engines.TEXTS["test"])
    clips = speech.make_clips(32, seed=0, split="test")
    assert list(clips.labels) == [0, 1] * 16  # balanced, alternating
    held_out = {f"ls{r}" for r in splits["test"]} | {f"{lang}_2" for lang in speech.LANGUAGES}
    for kind, source, engine in zip(clips.kinds, clips.sources, clips.engines):
        if kind == speech.KINDS.index("tts") and engine == "espeak":
            assert source.split("+")[1] in speech.VOICES["test"]
        elif kind == speech.KINDS.index("tts"):
            assert source in {f"{engine}/{s}" for s in spoof_engines.SETTINGS[engine]["test"]}
        else:
            assert source in held_out


def test_sample_span_truth_marks_the_frames_inside_the_span():
    truth = GroundTruth(span=(1.0, 2.0)).as_mask((128, 251), TASK.picture(tone(4.0, 16000), SPEC).axes)
    frames = np.flatnonzero(truth[0])
    assert truth.all(axis=0).sum() == len(frames)
    assert frames.min() * 4 / 251 >= 0.99 and (frames.max() + 1) * 4 / 251 <= 2.01


def test_frame_targets_mark_the_spoofed_steps_and_skip_the_padding():
    """A 2 s window, frames every 0.1 s, four to a model step: a bona fide window is 0 throughout, a whole spoof 1
    except its zero-padded tail (-1, not scored), a partial spoof 1 only over its span."""
    from workbench.training.audio import frame_targets

    spectrograms = np.full((3, 4, 20), 0.5, np.float32)
    spectrograms[1, :, 12:] = 0  # the last 1.2 s of a short window, zero-padded
    spans = np.array([[np.nan, np.nan], [np.nan, np.nan], [0.4, 1.2]], np.float32)  # frames 4..11
    targets = frame_targets(spectrograms, spans, np.array([0, 1, 1]), 5, SignalSpec(seconds=2.0, hop_length=1600))
    np.testing.assert_array_equal(targets, [[0, 0, 0, 0, 0], [1, 1, 1, -1, -1], [0, 1, 1, 0, 0]])


@needs_speech
def test_generated_cases_are_held_out_partial_spoofs_with_their_span_and_their_real_twins():
    """Made in memory on request (nothing saved): spoof k is window 2k+1 of the sample split made as a
    partial spoof, with that window's span as its truth; its twin is the same window left real."""
    from workbench.data import generated_cases

    cases = generated_cases("audio_deepfake")
    assert [c.label for c in cases] == ["spoof", "bonafide"] * 4
    assert all(c.name.startswith(c.label) for c in cases) and generated_cases("lung_xray") == []
    (spoof, truth), (twin, none) = cases[2].make(), cases[3].make()
    window, real, kind, source, span, engine = speech.make_window(0, "sample", 3, "partial")
    np.testing.assert_array_equal(spoof, window)
    np.testing.assert_array_equal(twin, real)
    assert truth.span == span and none is None and source in speech.bonafide_clips("sample")
    assert kind == speech.KINDS.index("partial") and 0 < span[0] < span[1] <= speech.SECONDS
    assert engine in speech.VOCODER_ENGINES
    assert len(spoof) == speech.RATE * speech.SECONDS and spoof.dtype == np.float32


def test_every_sample_file_decodes_and_is_made_by_the_project():
    own = [s for s in TASK.samples() if s.path.is_relative_to(ROOT)]
    assert {s.path.suffix for s in own} == {".wav", ".flac", ".ogg", ".mp3"}
    for sample in own:
        raw, _notes = TASK.read(sample.path.read_bytes(), sample.path.name)
        assert len(raw) > 16000 and sample.label == "spoof"
    assert not any(p.name.startswith(speech.LANGUAGES) for p in TASK.sample_dir.iterdir()), \
        "shared recordings are never copied into the repository"


def test_predict_cli_scores_every_window_of_a_long_clip(audio_model_dir, capsys):
    sample = TASK.sample_dir / "spoof_tts_long_04.mp3"
    assert inference.main(["--task", "audio_deepfake", "--model", str(audio_model_dir), "--input", str(sample),
                           "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(w["start"], w["end"]) for w in out["windows"]] == [(0, 4), (4, 8), (8, 12), (12, 15.72)]
    spoof = [w["probabilities"]["spoof"] for w in out["windows"]]
    assert out["deciding_window"] == int(np.argmax(spoof))
    assert out["verdict"] == ("spoof" if max(spoof) > 0.5 else "bonafide")
    assert out["rule"] == "a clip is bona fide only if every window is", "a model without a clip rule: any window"
    assert out["probabilities"]["spoof"] == pytest.approx(max(spoof), abs=1e-6), "the deciding window is shown"


@needs_speech
def test_a_real_recording_the_project_never_saw_decodes_scores_and_explains(audio_model_dir, tmp_path, capsys):
    """A held-out CC0 recording, re-encoded as 44.1 kHz stereo FLAC (written to a temporary folder)."""
    signal, rate = soundfile.read(speech.SPEECH_DIR / "french_2.wav", dtype="float32")
    from workbench.io.audio import resample

    clip = tmp_path / "recording.flac"
    soundfile.write(clip, np.stack([resample(signal, rate, 44100)] * 2, axis=1), 44100)
    model = str(audio_model_dir)
    assert inference.main(["--task", "audio_deepfake", "--model", model, "--input", str(clip), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["label"] in ("bonafide", "spoof")
    assert "mixed down to mono" in captured.err and "resampled from 44,100 Hz" in captured.err
    out = tmp_path / "maps"
    assert xai_models.main(["--task", "audio_deepfake", "--model", model, "--input", str(clip),
                            "--methods", "gradcam,integrated_gradients,occlusion", "--out", str(out),
                            "--param", "integrated_gradients.steps=8", *OCCLUSION_32, "--window", "0"]) == 0
    for method in ("gradcam", "integrated_gradients", "occlusion"):
        heatmap = np.load(out / f"{method}.npy")
        assert heatmap.shape == (AUDIO_SPEC.height, AUDIO_SPEC.width)  # mel bands x frames, as the model's config
        assert np.isfinite(heatmap).all()
        assert (out / f"{method}.png").stat().st_size > 0
    assert xai_models.main(["--task", "audio_deepfake", "--model", model, "--input", str(clip),
                            "--out", str(out), "--window", "5"]) == 2
    assert "window 5 does not exist" in capsys.readouterr().err


def test_a_window_is_refused_for_an_image_task(bundled, samples_dir):
    from workbench.service import prepare_input

    task = TASKS["lung_xray"]
    raw = task.decode((samples_dir / "affected_01.png").read_bytes())
    with pytest.raises(InputError, match="a window applies to audio only"):
        prepare_input(task, bundled, raw, window=0)




@needs_speech
def test_held_out_report_counts_every_language_and_engine(audio_model_dir):
    """Windows: each held-out language and each engine gets its windows, and together they are all the windows;
    whole recordings: one verdict each by the clip rule; long recordings: the share reaching the rule."""
    from workbench.training.audio import evaluate_audio
    from workbench.training.recipes import RECIPES

    result = evaluate_audio(str(audio_model_dir), RECIPES["audio_deepfake-resnet-compact"], n=32, n_long=1,
                            n_whole=1)
    clips = speech.make_clips(32, seed=result["seed"], split=result["split"])
    languages = {speech.language_of(s) for s, y in zip(clips.sources, clips.labels) if y == 0}
    assert set(result["window_bonafide_by_language"]) == languages
    assert sum(v["n"] for v in result["window_bonafide_by_language"].values()) == 16
    assert sum(v["n"] for v in result["window_spoof_by_engine"].values()) == 16
    assert set(result["window_spoof_by_engine"]) == set(speech.ENGINES) | {"partial"}
    assert result["clip_bonafide"]["n"] == 1 and set(result["clip_spoof_by_engine"]) == set(speech.ENGINES)
    assert 0 <= result["eer"] <= 1 and result["long"]["n"] == 1
