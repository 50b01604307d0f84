"""Issue 38: calibrated probabilities and an operating point, fitted on validation data and used by every caller.

Oracles: a temperature solved by hand (one logit gap, one accuracy: sigmoid(gap / T) = accuracy), sklearn's
log_loss and roc_auc_score, an ECE and a threshold counted by hand, and a real bundled model whose config's
threshold is set on either side of its own probability for a sample film."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from workbench.evaluation.classification import expected_calibration_error, roc_auc
from workbench.training.calibration import choose_threshold, fit_temperature, nll

from .conftest import ROOT


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_temperature_scaling_finds_the_hand_solved_temperature_and_lowers_the_nll():
    """Ten cases, every logit gap 4 (overconfident: sigmoid(4) = 0.982), eight right. The NLL is lowest where
    sigmoid(4 / T) = 0.8, i.e. T = 4 / ln(0.8 / 0.2) = 2.885."""
    logits = np.array([[4.0, 0.0]] * 10)
    labels = np.array([0] * 8 + [1] * 2)
    t = fit_temperature(logits, labels)
    assert t == pytest.approx(4 / math.log(4), abs=1e-3)
    assert nll(logits, labels, t) == pytest.approx(log_loss(labels, softmax(logits / t), labels=[0, 1]), abs=1e-9)
    assert nll(logits, labels, 1.0) == pytest.approx(log_loss(labels, softmax(logits), labels=[0, 1]), abs=1e-9)
    assert nll(logits, labels, t) < nll(logits, labels, 1.0) - 0.2
    assert expected_calibration_error(softmax(logits / t), labels) == pytest.approx(0.0, abs=1e-3), \
        "one bin, confidence 0.8, accuracy 0.8"


def test_ece_counts_bins_by_hand():
    """Four cases: top probabilities 0.95 (right), 0.95 (wrong) share bin 14 of 15 (accuracy 0.5: gap 0.45);
    0.6 (right) and 0.55 (right) fall in bins 9 and 8 (gaps 0.4 and 0.45). ECE = (2 x 0.45 + 0.4 + 0.45) / 4."""
    probs = np.array([[0.95, 0.05], [0.05, 0.95], [0.6, 0.4], [0.45, 0.55]])
    truth = np.array([0, 0, 0, 1])
    assert expected_calibration_error(probs, truth) == pytest.approx((2 * 0.45 + 0.4 + 0.45) / 4)


def test_roc_auc_equals_sklearn_with_ties():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) + 0.3 * truth, 1)  # rounded: many ties
    assert roc_auc(truth, scores) == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)


def test_the_threshold_maximises_balanced_accuracy_on_a_hand_made_example():
    """Normal cases score 0.1, 0.3, 0.6; pneumonia 0.5, 0.7, 0.9, 0.95, 0.97. At 0.5 (argmax) the normal 0.6 is
    called pneumonia: balanced accuracy (2/3 + 1) / 2 = 0.83, as anywhere from 0.3 to 0.5. Between 0.6 and 0.7
    every normal case is right and one pneumonia (0.5) missed: (1 + 4/5) / 2 = 0.9, the best; above 0.7 worse.
    The threshold is the midpoint of that gap, 0.65."""
    positive = np.array([0.1, 0.3, 0.6, 0.5, 0.7, 0.9, 0.95, 0.97])
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    assert choose_threshold(positive, labels) == pytest.approx(0.65)


@pytest.mark.parametrize("model_id", ["lung_xray-resnet-real", "lung_xray-densenet-real"])
def test_the_configs_threshold_decides_the_label_of_a_real_prediction_in_the_app_path_and_the_cli(
        model_id, tmp_path, capsys):
    """The bundled model's folder copied and its threshold set just below, then just above, its calibrated
    probability of `affected` for a sample film: the label follows the threshold, not the argmax."""
    import inference
    from workbench.models import load_model, predict
    from workbench.tasks import TASKS

    bundled = load_model(model_id)
    assert bundled.info.threshold is not None and bundled.info.threshold.label == "affected"
    assert bundled.info.temperature != 1.0
    film = sorted((ROOT / "sample_files" / "lung_xray").glob("*.png"))[0]
    task = TASKS["lung_xray"]
    x = task.preprocess(task.read(film.read_bytes(), film.name)[0], bundled.info.input)
    p = predict(bundled, x).probabilities["affected"]
    assert p == pytest.approx(softmax(bundled.outputs(x) / bundled.info.temperature)[0, 1], abs=1e-6), \
        "the probabilities are the logits divided by the config's temperature, then softmax"
    for threshold, label in ((p / 2, "affected"), ((1 + p) / 2, "normal")):
        folder = tmp_path / f"{label}"
        shutil.copytree(ROOT / "models" / model_id, folder)
        config = json.loads((folder / "config.json").read_text())
        config["threshold"]["probability"] = threshold
        (folder / "config.json").write_text(json.dumps(config))
        prediction = predict(load_model(str(folder)), x)
        assert prediction.probabilities["affected"] == pytest.approx(p, abs=1e-6) and prediction.label == label
        assert inference.main(["--task", "lung_xray", "--model", str(folder), "--input", str(film), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["label"] == label


@pytest.mark.parametrize("change, message", [
    ({"threshold": {"label": "pneumonia", "probability": 0.3}}, "threshold needs a label of"),
    ({"threshold": {"label": "affected", "probability": 1.2}}, "threshold needs a label of"),
    ({"threshold": {"label": "affected"}}, "config.json is invalid"),
    ({"temperature": 0}, "temperature must be positive"),
    ({"temperature": 2.0, "output": "softmax"}, "applies to logits only"),
])
def test_a_bad_temperature_or_threshold_in_a_config_is_refused_with_a_reason(change, message, tmp_path):
    from workbench.errors import ModelError
    from workbench.models import load_model

    folder = tmp_path / "m"
    shutil.copytree(ROOT / "models" / "lung_xray-resnet-real", folder)
    config = json.loads((folder / "config.json").read_text()) | change
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match=message):
        load_model(str(folder))
