"""Smoke tests of `python -m workbench.training`'s subcommands that only the Makefile ran: each runs for real, with a
small N, on a bundled model (a copy in tmp when it writes), and is checked against what it writes and against the
numbers made here directly. `train` and `spans` are tested in test_real_xray.py and test_cli.py; `calibrate-audio`,
`prepare-speech` and `loeo` synthesise hundreds of utterances and train models, minutes, not a test's time."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from workbench.models import FeatureStats, load_model
from workbench.tasks import TASKS
from workbench.training.__main__ import main
from workbench.training.classifier import HELD_OUT
from workbench.training.recipes import RECIPES

from .conftest import BUNDLED, ROOT
from .test_histology import _npz

RECIPE = RECIPES[BUNDLED]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the bundled lung model's folder: the subcommands that write never touch models/."""
    return Path(shutil.copytree(ROOT / "models" / BUNDLED, tmp_path / BUNDLED))


def run(argv: list[str], capsys: pytest.CaptureFixture) -> dict:
    """The subcommand as `python -m workbench.training ARGV` runs it; its printed JSON."""
    main(argv)
    return json.loads(capsys.readouterr().out)


def held_out_accuracy(model_ref: str, n: int) -> float:
    """The model's own labels (the config's operating point) on the recipe's first n held-out phantoms, counted."""
    images, _, labels = RECIPE.make_dataset(n, seed=HELD_OUT["seed"], split=HELD_OUT["split"])
    model = load_model(model_ref)
    return float(np.mean(model.info.decide(model.predict(RECIPE.model_input(images, model.info.input))) == labels))


def test_evaluate_prints_the_held_out_report_of_n_cases(capsys):
    """`evaluate --n 20` on the bundled model: 20 held-out phantoms, both classes, accuracy counted here."""
    result = run(["evaluate", "--recipe", RECIPE.id, "--model", BUNDLED, "--n", "20"], capsys)
    assert (result["model"], result["n"], result["split"]) == (BUNDLED, 20, HELD_OUT["split"])
    assert result["accuracy"] == pytest.approx(held_out_accuracy(BUNDLED, 20))
    assert set(result["per_class"]) == {"normal", "affected"} and {"roc_auc", "ece"} <= set(result)


def test_reliance_says_the_lung_model_relies_on_the_lesion(capsys):
    """`reliance --n 12`: the bundled model finds the affected phantoms and calls most of their lesion-free twins
    normal, the probability dropping (what docs/known_truth.md builds on)."""
    result = run(["reliance", "--model", BUNDLED, "--n", "12"], capsys)
    assert (result["model"], result["n"]) == (BUNDLED, 12)
    assert result["detected"] >= 0.75 and result["twin_negative_when_detected"] >= 0.75
    assert result["mean_probability_drop"] > 0.5


def test_card_rewrites_the_card_with_the_held_out_numbers_it_prints(folder, capsys):
    """`card --n 40`: the printed evaluation is 40 held-out phantoms, its accuracy is the model's own labels against
    the truth counted here, and the rewritten README carries those numbers, the command and the training summary."""
    (folder / "README.md").unlink()
    result = run(["card", "--recipe", RECIPE.id, "--model", str(folder), "--n", "40"], capsys)
    assert result["n"] == 40 and result["split"] == HELD_OUT["split"]
    assert result["accuracy"] == pytest.approx(held_out_accuracy(str(folder), 40))
    assert np.array(result["confusion"]).sum() == 40
    card = (folder / "README.md").read_text()
    training = json.loads((folder / "training.json").read_text())
    for phrase in (f"**accuracy {result['accuracy']:.3f}**", f"40 {RECIPE.case_word} never trained on",
                   f"--model {RECIPE.id} --n 40", f"{training['n_train']} generated {RECIPE.case_word}",
                   "Not a medical device and not for diagnosis"):
        assert phrase in card, phrase


def test_ood_writes_statistics_whose_threshold_is_the_held_out_quantile(folder, capsys):
    """`ood --n-fit 48 --n-held-out 24`: ood.safetensors is replaced by statistics of the recipe's layers over the
    48 training phantoms and their flips, and its threshold is the 99% quantile of the distances of the 24
    validation phantoms (and flips), recomputed here from the saved file."""
    before = FeatureStats.load(folder)
    result = run(["ood", "--recipe", RECIPE.id, "--model", str(folder), "--n-fit", "48", "--n-held-out", "24"],
                 capsys)
    stats = FeatureStats.load(folder)
    assert (stats.n_fit, stats.n_held_out) == (96, 48) == (result["n_fit"], result["n_held_out"]), "flips doubled"
    assert stats.layers == RECIPE.feature_layers == tuple(result["layers"])
    assert stats.threshold == pytest.approx(result["threshold"]) and stats.threshold != before.threshold
    model = load_model(str(folder))
    val = RECIPE.model_input(RECIPE.make_dataset(24, seed=0, split="val")[0], model.info.input)
    distances = stats.distance(model.features(np.concatenate([val, val[..., ::-1]]), stats.layers))
    assert stats.threshold == pytest.approx(float(np.quantile(distances, 0.99)), rel=1e-5)


def test_ood_evaluate_calls_held_out_phantoms_in_and_every_probe_out(capsys):
    """`ood-evaluate --n 16` on the bundled model (read only): the share called in is that of the scores at most 1,
    recomputed here; the bundled model's statistics call every kind of probe out."""
    from workbench.data import probes

    result = run(["ood-evaluate", "--recipe", RECIPE.id, "--model", BUNDLED, "--n", "16"], capsys)
    model = load_model(BUNDLED)
    images = RECIPE.make_dataset(16, seed=result["seed"], split="test")[0]
    scores = model.feature_stats.scores(model.features(RECIPE.model_input(images, model.info.input),
                                                       model.feature_stats.layers))
    assert result["n"] == 16
    assert result["held_out_in"] == pytest.approx(float(np.mean(scores <= 1)))
    assert result["held_out_in"] >= 0.9
    assert {k: result[k]["out"] for k in probes.KINDS} == dict.fromkeys(probes.KINDS, 1.0)


def test_evaluate_npz_scores_the_models_own_labels_on_the_file(tmp_path, capsys):
    """`evaluate-npz` on a pneumoniamnist-layout file of 24 phantoms: the confusion matrix is the model's labels
    (task preprocessing, the config's operating point) against the file's, counted here."""
    from workbench.data import phantoms

    images, _, labels = phantoms.make_dataset(24, seed=5, split="test")
    u8 = (images * 255).astype(np.uint8)
    path = tmp_path / "pneumoniamnist_128.npz"
    path.write_bytes(_npz(test_images=u8, test_labels=labels[:, None]))
    result = run(["evaluate-npz", "--model", BUNDLED, "--npz", str(path)], capsys)
    model, task = load_model(BUNDLED), TASKS["lung_xray"]
    x = np.concatenate([task.preprocess(im.astype(np.float32) / 255, model.info.input) for im in u8])
    decided = model.info.decide(model.predict(x))
    confusion = [[int(np.sum((labels == t) & (decided == p))) for p in (0, 1)] for t in (0, 1)]
    assert (result["dataset"], result["split"], result["n"]) == ("pneumoniamnist", "test", 24)
    assert result["confusion"] == confusion
    assert result["accuracy"] == pytest.approx(float(np.mean(decided == labels)))


def test_layers_write_records_the_best_layer_in_the_config_and_the_card(folder, capsys):
    """`layers --n 6 --write` on a copy whose configured layer is `layer1`: the printed best is the layer with the
    highest pointing game (rank accuracy breaking ties), and the folder now loads with it as Grad-CAM's default,
    its card saying so with the command."""
    config = json.loads((folder / "config.json").read_text())
    config["target_layer"] = "layer1"
    (folder / "config.json").write_text(json.dumps(config))
    result = run(["layers", "--model", str(folder), "--n", "6", "--write"], capsys)
    scored = {la: v for la, v in result["layers"].items() if v["pointing_game"] is not None}
    assert result["configured"] == "layer1" and result["relied_on"] >= 1 and len(scored) > 1
    assert result["best"] == max(scored, key=lambda la: (scored[la]["pointing_game"], scored[la]["rank_accuracy"]))
    assert load_model(str(folder)).info.target_layer == result["best"]
    card = (folder / "README.md").read_text()
    assert f"Default Grad-CAM layer: `{result['best']}` (measured, below)" in card
    assert f"layers --model {folder} --n 6 --write" in card and card.count("## Default Grad-CAM layer, measured") == 1
    assert json.loads((ROOT / "models" / BUNDLED / "config.json").read_text())["target_layer"] == "layer4"


@pytest.mark.parametrize("argv,message", [
    (["card", "--model", "/nonexistent"], "unknown model '/nonexistent'"),
    (["card", "--model", str(ROOT / "sample_files")], "has no model weights the workbench can read"),
    (["ood", "--model", "nope"], "unknown model 'nope'"),
    (["ood-evaluate", "--model", "histopathology-resnet18-compact", "--n", "4"], "is for task 'histopathology'"),
    (["evaluate", "--model", "nope", "--n", "4"], "unknown model 'nope'"),
    (["layers", "--model", "/nonexistent", "--n", "2"], "unknown model '/nonexistent'"),
    (["evaluate-npz", "--model", BUNDLED, "--npz", "/tmp/organamnist.npz"], "not a MedMNIST file"),
    (["evaluate-npz", "--model", "histopathology-resnet18-compact", "--npz", "/tmp/pneumoniamnist_64.npz"],
     "pneumoniamnist is for task 'lung_xray'"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err, err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_a_trained_folder_without_its_training_summary_gets_a_message(folder, capsys):
    (folder / "training.json").unlink()
    with pytest.raises(SystemExit) as exit_:
        main(["card", "--model", str(folder)])
    assert exit_.value.code == 2 and "has no training.json" in capsys.readouterr().err
    assert (folder / "README.md").read_text() == (ROOT / "models" / BUNDLED / "README.md").read_text()


def test_the_module_runs_as_a_command_and_exits_2_on_bad_input():
    """`python -m workbench.training`, a process of its own: the argv reaches the subcommand, the error its exit."""
    proc = subprocess.run([sys.executable, "-m", "workbench.training", "evaluate", "--model", "nope", "--n", "2"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith("error: unknown model 'nope'"), proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
