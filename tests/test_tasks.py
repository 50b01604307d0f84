"""Tasks by contract: every registered task decodes, preprocesses and pictures its samples for each of
its models; an audio task gives frequency x time inputs with Hz and seconds axes and a time-span truth."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile
import torch
from torch import nn

from workbench.errors import InputError
from workbench.methods import METHODS
from workbench.models import ModelInfo, Target, TorchAdapter, list_models, load_model
from workbench.specs import GENERIC_TASK, InputSpec, SignalSpec
from workbench.tasks import MODALITIES, OUTPUT_KINDS, TASKS, AudioTask, GroundTruth, Sample
from workbench.tasks.spectrogram import log_mel


@pytest.mark.parametrize("task_id", TASKS.ids())
def test_registered_task_contract(task_id):
    task = TASKS[task_id]
    generic = task_id == GENERIC_TASK  # labels and input spec are the Hub model's own; samples are unlabelled photos
    assert task.modality in MODALITIES and task.output_kind in OUTPUT_KINDS and task.description and task.file_types
    assert generic or len(set(task.labels)) == len(task.labels) >= 2
    samples = task.samples()
    assert samples, f"{task_id} has sample files"
    models = [load_model(m.id) for m in list_models(task_id)]
    assert models or generic, f"{task_id} has a bundled model"
    specs = [InputSpec(48, 40, 3, (0.5,) * 3, (0.25,) * 3)] if generic else [m.info.input for m in models]
    for sample in samples:
        assert sample.path.suffix.lstrip(".") in task.file_types
        # a classification sample is named by its class; a segmentation sample's truth is its mask
        if generic:
            assert sample.label is None
        else:
            assert sample.label in task.labels if task.output_kind == "classification" else sample.label is None
        raw = task.decode(sample.path.read_bytes(), sample.path.name)
        truth = task.ground_truth(sample)
        for spec in specs:
            x = task.preprocess(raw, spec)
            assert x.shape == (1, spec.channels, spec.height, spec.width) and x.dtype == np.float32
            picture = task.picture(raw, spec)
            assert picture.rgb.shape == (*spec.size, 3) and 0 <= picture.rgb.min() <= picture.rgb.max() <= 1
            if truth is not None:
                assert truth.as_mask(spec.size, picture.axes).any()


def test_sample_truth_can_be_a_mask_or_a_time_span(tmp_path):
    audio = AudioTask(id="t", name="t", output_kind="classification", labels=("bonafide", "spoof"),
                      description="d", file_types=("wav",))
    (tmp_path / "spoof_01.json").write_text(json.dumps({"span": [1.0, 2.0]}))
    truth = audio.ground_truth(Sample("spoof_01", tmp_path / "spoof_01.wav", "spoof", tmp_path / "spoof_01.json"))
    assert truth == GroundTruth(span=(1.0, 2.0))


def _wav(seconds: float, rate: int, channels: int = 1) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t) * (t > 1.0) * (t < 2.0)  # a 440 Hz tone from 1 s to 2 s
    signal = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    buf = io.BytesIO()
    soundfile.write(buf, signal.astype(np.float32), rate, format="WAV", subtype="FLOAT")
    return buf.getvalue()


AUDIO_SPEC = InputSpec(128, 251, 1, (0.5,), (0.25,), SignalSpec())
AUDIO = AudioTask(id="tiny_audio", name="Audio (test)", output_kind="classification", labels=("bonafide", "spoof"),
                  description="built inside the tests", file_types=("wav",))


def test_log_mel_matches_librosa():
    import librosa

    signal = np.random.default_rng(0).normal(0, 0.1, 64000).astype(np.float32)
    power = np.abs(librosa.stft(signal, n_fft=1024, hop_length=256, pad_mode="constant")) ** 2
    mel = librosa.feature.melspectrogram(S=power, sr=16000, n_mels=128, fmin=0, fmax=8000)
    want = 1 + librosa.power_to_db(mel, ref=np.max, top_db=80) / 80
    np.testing.assert_allclose(log_mel(signal, SignalSpec()), want, atol=1e-5)


@pytest.mark.parametrize("rate,channels", [(16000, 1), (44100, 2), (48000, 1)])
def test_audio_becomes_a_frequency_by_time_input_with_real_axes(rate, channels):
    raw = AUDIO.decode(_wav(5.0, rate, channels), "clip.wav")
    assert raw.ndim == 1 and abs(len(raw) - 5 * 16000) <= 1
    x = AUDIO.preprocess(raw, AUDIO_SPEC)
    assert x.shape == (1, 1, 128, 251)
    picture = AUDIO.picture(raw, AUDIO_SPEC)
    axes = picture.axes
    assert (axes.x_unit, axes.x_range, axes.y_unit, axes.y_range) == ("s", (0.0, 4.0), "Hz", (0.0, 8000.0))
    assert axes.origin == "lower"
    # the tone is where the axes say it is: frames between 1 s and 2 s, the mel band around 440 Hz
    import librosa

    band = int(np.argmin(np.abs(librosa.mel_frequencies(n_mels=130, fmin=0, fmax=8000)[1:-1] - 440)))
    spectrum = x[0, 0]
    loud = np.flatnonzero(spectrum[band] > spectrum[band].min() + 1.0)
    assert 1.0 <= loud.min() * 256 / 16000 + 0.05 and loud.max() * 256 / 16000 <= 2.05
    span_mask = GroundTruth(span=(1.0, 2.0)).as_mask((128, 251), axes)
    assert span_mask.all(axis=0).sum() == span_mask.any(axis=0).sum() == pytest.approx(62, abs=2)


def test_bad_audio_gets_a_message():
    with pytest.raises(InputError, match="empty"):
        AUDIO.decode(b"", "a.wav")
    with pytest.raises(InputError, match="not a readable audio file"):
        AUDIO.decode(b"RIFF....WAVEfmt nonsense", "a.wav")


class TinySpectrogramNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, 2, 1), nn.ReLU(), nn.Conv2d(4, 8, 3, 2, 1), nn.ReLU())
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc(self.features(x).mean((2, 3)))


def test_methods_explain_an_audio_model_on_frequency_by_time():
    torch.manual_seed(0)
    info = ModelInfo(id="tiny-audio", task=AUDIO.id, framework="pytorch", architecture="test", arch_params={},
                     labels=AUDIO.labels, input=AUDIO_SPEC, target_layer="features", revision="t", path=None)
    model = TorchAdapter(TinySpectrogramNet(), info)
    x = AUDIO.preprocess(AUDIO.decode(_wav(4.0, 16000)), AUDIO_SPEC)
    for method in METHODS.values():  # all but the model's own step scores, which this model lacks, and LRP, whose
        # probe finds a computation between layers (the mean over the map) that Captum's rules do not cover
        assert method.is_compatible(AUDIO, model) == (method.family != "intrinsic" and method.id != "lrp")
    occlusion = METHODS["occlusion"].explain(model, x, Target(1), {"window_height": 16, "window_width": 8,
                                                                   "stride_height": 16, "stride_width": 8})
    assert occlusion.map.shape == (128, 251)
    assert occlusion.passes == 8 * 32 + 1  # 128/16 bands x ceil((251-8)/8)+1 frames, plus the reference
    assert METHODS["gradcam"].explain(model, x, Target(1)).map.shape == (128, 251)
