"""The command lines work as the README writes them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import xai_models
from workbench.methods import BASELINE_METHODS, METHODS
from workbench.metrics import METRICS
from workbench.models import Target, list_models, load_model
from workbench.tasks import TASKS

from .conftest import BUNDLED, BURST, ROOT, burst_clip, model_input, needs_speech


def run(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_list_json_names_every_registered_task_model_and_method(tmp_path):
    listing = json.loads(run(str(ROOT / "inference.py"), "--list", "--json", cwd=tmp_path).stdout)
    assert [t["id"] for t in listing["tasks"]] == TASKS.ids()
    assert {m["id"] for m in listing["models"]} == {m.id for m in list_models()}
    models = {m["id"]: m for m in listing["models"]}
    assert models[BUNDLED]["task"] == "lung_xray" and models[BUNDLED]["framework"] == "pytorch"
    methods = {m["id"]: m for m in listing["methods"]}
    assert list(methods) == METHODS.ids()
    for m in methods.values():
        assert set(m["tasks"]) == {t.id for t in TASKS.values() if METHODS[m["id"]].supports_task(t)}
        assert "pytorch" in m["frameworks"]


def test_predict_json_with_the_in_distribution_field(samples_dir, tmp_path):
    out = json.loads(run(str(ROOT / "inference.py"), "--task", "lung_xray", "--model", BUNDLED,
                         "--input", str(samples_dir / "affected_01.png"), "--json", cwd=tmp_path).stdout)
    assert out["label"] == "affected"
    assert set(out["probabilities"]) == {"normal", "affected"}
    assert abs(sum(out["probabilities"].values()) - 1) < 1e-5
    assert out["in_distribution"] is True and 0 < out["ood_score"] <= 1


def test_predict_warns_about_an_input_unlike_the_training_data(samples_dir, tmp_path, capsys):
    import inference

    inverted = 255 - np.asarray(Image.open(samples_dir / "normal_01.png"))
    path = tmp_path / "inverted.png"
    Image.fromarray(inverted).save(path)
    assert inference.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["in_distribution"] is False and out["ood_score"] > 1
    assert inference.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(path)]) == 0
    assert "unlike the data the model was trained on" in capsys.readouterr().out


def test_explain_cli_writes_raw_maps_overlays_and_records(tmp_path, samples_dir, bundled, lung_task, capsys):
    sample = samples_dir / "affected_01.png"
    methods = ["gradcam", "integrated_gradients", "occlusion"]
    assert xai_models.main(["--task", "lung_xray", "--model", BUNDLED, "--input", str(sample), "--methods",
                            ",".join(methods), "--param", "occlusion.window_width=16", "--out", str(tmp_path / "maps"),
                            "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in rows] == methods
    x = model_input(lung_task, bundled, sample.read_bytes())
    records = {r["method"]: r for r in json.loads((tmp_path / "maps" / "explanations.json").read_text())}
    for row in rows:
        raw = np.load(tmp_path / "maps" / f"{row['method']}.npy")
        assert raw.dtype == np.float32 and raw.shape == (128, 128)
        # The raw map, not a normalised picture: it equals the method's own output.
        params = records[row["method"]]["params"]
        direct = METHODS[row["method"]].explain(bundled, x, Target(1), params)
        np.testing.assert_allclose(raw, direct.map, rtol=1e-4, atol=1e-6)
        assert row["passes"] == direct.passes
        png = Image.open(tmp_path / "maps" / f"{row['method']}.png")
        assert png.size == (128, 128) and png.mode == "RGB"
    assert records["occlusion"]["params"]["window_width"] == 16 and records["occlusion"]["passes"] == 31 * 29 + 1
    assert records["gradcam"]["target"] == {"class_index": 1, "label": "affected", "region": None,
                                            "region_pixels": None}


def test_benchmark_writes_json_for_every_compatible_method(tmp_path):
    """On a classifier and a segmenter (every model is the default; all eleven take minutes, not a test's time)."""
    out = tmp_path / "bench.json"
    models = [BUNDLED, "iqa_segmentation-deeplabv3plus-compact"]
    run(str(ROOT / "benchmarks" / "bench_methods.py"), "--repeats", "1", "--quick", "--model", *models,
        "--out", str(out), cwd=tmp_path)
    results = json.loads(out.read_text())
    assert [r["model"] for r in results] == models
    for result in results:
        model = load_model(result["model"])
        task = TASKS[model.info.task]
        assert [r["method"] for r in result["methods"]] == [m.id for m in METHODS.values()
                                                            if m.is_compatible(task, model) and m.family != "baseline"]
        assert all(r["passes"] > 0 and isinstance(r["params"], dict) for r in result["methods"])


def test_explain_cli_can_explain_a_chosen_class(tmp_path, samples_dir, bundled, lung_task, capsys):
    sample = samples_dir / "affected_01.png"
    args = ["--task", "lung_xray", "--model", BUNDLED, "--input", str(sample), "--methods", "gradcam",
            "--out", str(tmp_path), "--target", "normal", "--json"]
    assert xai_models.main(args) == 0
    x = model_input(lung_task, bundled, sample.read_bytes())
    want = METHODS["gradcam"].explain(bundled, x, Target(0)).map
    np.testing.assert_allclose(np.load(tmp_path / "gradcam.npy"), want, rtol=1e-4, atol=1e-6)
    capsys.readouterr()
    assert xai_models.main([a if a != "normal" else "cat" for a in args]) == 2
    assert "the target must be one of" in capsys.readouterr().err


IQA = "iqa_segmentation-deeplabv3plus-compact"
CHEST = ROOT / "sample_files" / "iqa_segmentation" / "chest_04.png"


def test_predict_gives_the_quality_score_and_grade_of_its_own_mask(capsys):
    """The read-outs are those of the predicted label map, recomputed here by hand."""
    import inference

    assert inference.main(["--task", "iqa_segmentation", "--model", IQA, "--input", str(CHEST), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    model = load_model(IQA)
    labels = model.info.labels
    mask = model.predict(model_input(TASKS["iqa_segmentation"], model, CHEST.read_bytes()))[0].argmax(0)
    covered = (mask == labels.index("object_over_lungs")).sum()
    lungs = covered + (mask == labels.index("lung_field")).sum()
    assert out["quality score"] == round(100 * (1 - covered / lungs), 1)
    assert out["grade"] == ("good" if out["quality score"] >= 98 else
                            "acceptable" if out["quality score"] >= 90 else "poor")
    assert out["label"] == "object_over_lungs", "the first class of interest the model predicts"


def test_explain_one_connected_region_or_refuse_a_missing_one(tmp_path, capsys):
    from workbench.masks import components

    args = ["--task", "iqa_segmentation", "--model", IQA, "--input", str(CHEST), "--methods", "gradcam",
            "--out", str(tmp_path), "--json"]
    assert xai_models.main([*args, "--component", "0"]) == 0
    record = json.loads((tmp_path / "explanations.json").read_text())[0]["target"]
    model = load_model(IQA)
    mask = model.predict(model_input(TASKS["iqa_segmentation"], model, CHEST.read_bytes()))[0].argmax(0)
    parts = components(mask == 1)
    assert record["label"] == "object_over_lungs" and record["region_pixels"] == int(parts[0].sum())
    capsys.readouterr()
    assert xai_models.main([*args, "--component", str(len(parts))]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the model predicts") and "does not exist" in err and "Traceback" not in err


@pytest.mark.parametrize("args,message", [
    (["--model", "lung_xray-resnet-compact"], "is for task 'lung_xray'"),
    (["--model", "audio_deepfake-resnet-compact", "--methods", "step_scores,nope"], "unknown method"),
])
def test_span_localisation_refuses_a_wrong_model_or_method_with_one_line(args, message, monkeypatch, capsys):
    from workbench.training.__main__ import main

    monkeypatch.setattr(sys, "argv", ["workbench.training", "spans", *args, "--n", "2"])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_explain_scores_each_map_against_a_given_truth(tmp_path, samples_dir, capsys):
    """By hand from the saved map and mask: the pointing game (peak within 4 px of the lesion) and the
    rank accuracy (share of the top-K pixels on the lesion, K its size)."""
    from scipy import ndimage

    mask_file = samples_dir / "affected_01_mask.png"
    args = ["--task", "lung_xray", "--model", BUNDLED, "--input", str(samples_dir / "affected_01.png"),
            "--methods", "gradcam", "--truth", str(mask_file), "--out", str(tmp_path), "--json"]
    assert xai_models.main(args) == 0
    scores = json.loads(capsys.readouterr().out)[0]["scores"]
    assert json.loads((tmp_path / "explanations.json").read_text())[0]["scores"] == scores
    heatmap = np.load(tmp_path / "gradcam.npy")
    truth = np.asarray(Image.open(mask_file).convert("L")) > 127
    peak = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    assert scores["pointing_game"] == float(ndimage.binary_dilation(truth, iterations=4)[peak])
    top = np.argsort(-heatmap.ravel(), kind="stable")[: truth.sum()]
    assert scores["rank_accuracy"] == pytest.approx(truth.ravel()[top].mean())
    assert xai_models.main([a for a in args if a not in ("--truth", str(mask_file))]) == 0
    without_truth = {"deletion_auc", "insertion_auc", "sparseness"}  # what needs only the model, or nothing
    assert set(json.loads(capsys.readouterr().out)[0]["scores"]) == without_truth, "no truth, no localisation"
    Image.fromarray(np.zeros((128, 128), np.uint8)).save(tmp_path / "empty_mask.png")
    assert xai_models.main([a if a != str(mask_file) else str(tmp_path / "empty_mask.png") for a in args]) == 0
    assert set(json.loads(capsys.readouterr().out)[0]["scores"]) == without_truth, "an empty truth has nowhere to point"
    assert set(scores) == {m.id for m in METRICS.values() if not m.on_request}, "stability reruns: on request only"


@needs_speech
def test_explain_scores_a_partial_spoof_against_its_span(tmp_path, capsys):
    """A held-out partial spoof written as a WAV with its span as JSON: the bundled ResNet's own step
    scores point into the span."""
    import soundfile

    from workbench.data import speech

    window, span = (made := speech.make_window(0, "test", 1, "partial")).window, made.span
    soundfile.write(tmp_path / "partial.wav", window, speech.RATE, subtype="FLOAT")
    (tmp_path / "partial.json").write_text(json.dumps({"span": list(span)}))
    args = ["--task", "audio_deepfake", "--model", "audio_deepfake-resnet-compact", "--input",
            str(tmp_path / "partial.wav"), "--methods", "step_scores", "--truth", str(tmp_path / "partial.json"),
            "--out", str(tmp_path / "maps"), "--json"]
    assert xai_models.main(args) == 0
    assert json.loads(capsys.readouterr().out)[0]["scores"]["pointing_game"] == 1.0


@pytest.mark.parametrize("window", [0, 1])
def test_a_span_is_moved_into_the_explained_window_or_noted_and_left_out(window, tmp_path, capsys, audio_model_dir):
    """docs/inputs.md's rule: a span (seconds from the clip's start) is scored in the explained window's time;
    one that misses the window gets one note on stderr and the maps are scored without it. The input-intensity
    map peaks on the clip's burst (5-5.5 s, window 1), so a hit there needs the span moved by the window's start."""
    (tmp_path / "clip.wav").write_bytes(burst_clip())
    (tmp_path / "span.json").write_text(json.dumps({"span": list(BURST)}))
    args = ["--task", "audio_deepfake", "--model", str(audio_model_dir), "--input", str(tmp_path / "clip.wav"),
            "--window", str(window), "--methods", "baseline_intensity", "--truth", str(tmp_path / "span.json"),
            "--out", str(tmp_path / "maps"), "--json"]
    assert xai_models.main(args) == 0
    out, err = capsys.readouterr()
    scores = json.loads(out)[0]["scores"]
    localisation = {m.id for m in METRICS.values() if "ground_truth" in m.needs}
    if window == 1:
        assert "ground truth" not in err and localisation <= set(scores)
        assert scores["pointing_game"] == 1.0 and scores["rank_accuracy"] > 0.7, scores
    else:
        notes = [line for line in err.splitlines() if "ground truth" in line]
        assert notes == ["note: The ground-truth span 5-5.5 s lies outside the explained window 0 (0-4 s of the "
                         "clip), so the maps are scored without ground truth."]
        assert not localisation & set(scores) and "deletion_auc" in scores, scores


# every method offered on both frameworks (the Captum ones run on PyTorch only: tests/test_captum_methods.py)
ALL_METHODS = ("gradcam,gradcam_pp,normgrad_o0,normgrad_o1,saliency,integrated_gradients,smoothgrad,occlusion,lime,"
               "kernel_shap,input_x_gradient,gradient_shap,feature_ablation")
CHEAP = ["integrated_gradients.steps=4", "smoothgrad.samples=3", "occlusion.window_height=64",
         "occlusion.window_width=64", "occlusion.stride_height=64", "occlusion.stride_width=64", "lime.samples=24",
         "lime.superpixel_size=32", "kernel_shap.samples=24", "kernel_shap.superpixel_size=32",
         "gradient_shap.samples=3", "feature_ablation.superpixels=grid", "feature_ablation.superpixel_size=32"]


@pytest.mark.parametrize("kind", ["lung", "audio"])
def test_every_method_runs_from_the_cli_and_a_seed_repeats_its_maps(kind, tmp_path, samples_dir, audio_model_dir):
    """The issue's 'done when', with cheap settings: every map finite and not constant; the same seed, the same maps;
    NormGrad over two layers joined by '+'."""
    if kind == "lung":
        args = ["--task", "lung_xray", "--model", BUNDLED, "--input", str(samples_dir / "affected_01.png"),
                "--param", "normgrad_o1.layers=layer3+layer4"]
    else:
        args = ["--task", "audio_deepfake", "--model", str(audio_model_dir), "--window", "0",
                "--input", str(ROOT / "sample_files" / "audio_deepfake" / "spoof_tts_01.wav"),
                "--param", "normgrad_o1.layers=layer3+layer4"]
    for param in CHEAP:
        args += ["--param", param]
    outs = [tmp_path / "first", tmp_path / "second"]
    for out in outs:
        assert xai_models.main([*args, "--methods", ALL_METHODS, "--seed", "4", "--out", str(out), "--json"]) == 0
    for method in ALL_METHODS.split(","):
        first, second = (np.load(out / f"{method}.npy") for out in outs)
        assert np.isfinite(first).all() and first.std() > 0, method
        np.testing.assert_array_equal(first, second)
    records = {r["method"]: r for r in json.loads((outs[0] / "explanations.json").read_text())}
    assert records["normgrad_o1"]["params"]["layers"] == ["layer3", "layer4"]
    assert records["lime"]["seed"] == 4 and records["kernel_shap"]["superpixels"] > 1


def test_explain_runs_the_randomisation_check_on_request(tmp_path, samples_dir, capsys):
    """The check the app runs, seeded as the app seeds it: by the map's own seed (Grad-CAM draws none, so 0 whatever
    --seed says), so the CLI and the app give one verdict for one map."""
    args = ["--task", "lung_xray", "--model", BUNDLED, "--input", str(samples_dir / "affected_01.png"),
            "--methods", "gradcam", "--sanity", "--seed", "5", "--out", str(tmp_path), "--json"]
    assert xai_models.main(args) == 0
    row = json.loads(capsys.readouterr().out)[0]
    record = json.loads((tmp_path / "explanations.json").read_text())[0]
    assert row["sanity_passed"] is record["sanity"]["passed"]
    steps = record["sanity"]["steps"]
    assert steps[-1]["layers_randomised"] == record["sanity"]["layers"] == len(load_model(BUNDLED).weighted_layers())
    assert record["sanity"]["passed"] == (abs(steps[-1]["spearman"]) < 0.5)
    assert record["sanity"]["check"] == "mprt" and record["sanity"]["seed"] == record["seed"] == 0


def test_evaluate_scores_methods_x_models_on_generated_cases_and_resumes(tmp_path, capsys):
    """Rows by hand for case 0; the shortcut model (which ignores the lesion) has every case excluded from
    localisation; a stopped run resumes from its stored rows instead of recomputing them."""
    from workbench.data import phantoms

    out = tmp_path / "eval.csv"
    args = ["evaluate", "--task", "lung_xray", "--model", f"{BUNDLED},lung_xray-resnet-shortcut", "--methods",
            "gradcam", "--n", "3", "--csv", str(out), "--json", "--no-baselines"]
    assert xai_models.main(args) == 0
    table = json.loads(capsys.readouterr().out)
    honest, shortcut = table
    assert (honest["model"], shortcut["model"]) == (BUNDLED, "lung_xray-resnet-shortcut")
    assert shortcut["excluded"] == shortcut["cases"] == 3 and shortcut["pointing_game"] is None
    assert shortcut["deletion_auc"] is not None, "faithfulness does not need the model to rely on the lesion"
    stored = tmp_path / "eval.csv.rows.jsonl"
    rows = [json.loads(line) for line in stored.read_text().splitlines()]
    assert len(rows) == 6
    model = load_model(BUNDLED)
    case = phantoms.make_phantom(0, "test", 0, label=1)
    x = model.info.input.normalize(case.image[None])[None]
    e = METHODS["gradcam"].explain(model, x, Target(1))
    first = next(r for r in rows if r["model"] == BUNDLED and r["case"] == 0)
    for metric in ("pointing_game", "rank_accuracy", "iou", "deletion_auc"):
        assert first[metric] == pytest.approx(METRICS[metric].score(e, truth=case.mask, model=model, x=x)), metric
    header = out.read_text().splitlines()[0].split(",")
    assert header[:2] == ["model", "method"] and header[-4:] == ["cases", "excluded", "seconds_per_case", "resamples"]
    assert {"pointing_game", "iou", "hd95", "deletion_auc", "insertion_auc"} <= set(header)

    # A stopped run: keep two rows, one of them altered; the rerun reads them and computes only the rest.
    rows[0]["sparseness"] = 123.0
    stored.write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    assert xai_models.main(args) == 0
    again = json.loads(capsys.readouterr().out)
    assert len(stored.read_text().splitlines()) == 6
    mine = [r for r in rows if r["model"] == rows[0]["model"]]
    assert again[0 if rows[0]["model"] == BUNDLED else 1]["sparseness"] == pytest.approx(
        np.mean([123.0, *[r["sparseness"] for r in mine[1:]]]), abs=1e-4)


def test_evaluate_sanity_names_its_check_and_gives_that_checks_verdict(tmp_path, capsys):
    """`--sanity emprt`: the table's sanity column is the efficient check's verdict on the first case, run
    directly; `--sanity` alone stays the cascading check, and an unknown check is refused."""
    from workbench.evaluation.batch import prepare
    from workbench.evaluation.cases import generated
    from workbench.metrics.sanity import efficient_model_randomisation

    args = ["evaluate", "--task", "lung_xray", "--model", BUNDLED, "--methods", "saliency", "--n", "1", "--csv",
            str(tmp_path / "s.csv"), "--json", "--no-baselines", "--sanity"]
    assert xai_models.main([*args, "emprt"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    model = load_model(BUNDLED)
    ready = prepare(model, next(generated("lung_xray", 1, 0).cases()))
    e = METHODS["saliency"].explain(model, ready.x, ready.target, None, 0)
    assert row["sanity"] is efficient_model_randomisation(model, ready.x, e, seed=0)["passed"]
    with pytest.raises(SystemExit):
        xai_models.main([*args, "nope"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [
    (["--task", "lung_xray", "--model", "histopathology-resnet18-compact"], "is for task 'histopathology'"),
    (["--task", "lung_xray", "--model", "lung_xray-resnet-compact", "--methods", "nope"], "unknown method"),
    (["--task", "lung_xray", "--model", "lung_xray-resnet-compact", "--n", "0"], "--n must be at least 1"),
    (["--task", "lung_xray", "--model", "lung_xray-resnet-compact", "--folder", "/nonexistent"], "folder not found"),
    (["--task", "lung_xray", "--model", "lung_xray-resnet-compact", "--folder",
      str(ROOT / "sample_files" / "lung_xray"), "--baseline", "twin"],
     "the twin baseline needs cases with counterfactual twins"),
    (["--task", "lung_xray", "--model", "lung_xray-resnet-compact", "--stability", "1"], "K must be 2 or more")])
def test_evaluate_refuses_bad_requests_with_one_line(tmp_path, capsys, args, message):
    assert xai_models.main(["evaluate", *args, "--csv", str(tmp_path / "t.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_evaluate_with_stability_adds_the_mean_spearman_over_seeds_of_each_method(tmp_path, capsys):
    """`--stability 3`: LIME's column is the mean over the cases of scipy's Spearman between its maps with the seeds
    0, 1, 2, made here directly; Grad-CAM draws no random numbers, so it is 1 without a rerun. Without the option
    the column is empty."""
    from scipy.stats import spearmanr

    from workbench.evaluation.batch import prepare
    from workbench.evaluation.cases import generated

    lime = {"samples": 20, "superpixels": "grid", "superpixel_size": 32}
    args = ["evaluate", "--task", "lung_xray", "--model", BUNDLED, "--methods", "gradcam,lime", "--n", "2",
            *(a for k, v in lime.items() for a in ("--param", f"lime.{k}={v}")), "--json"]
    assert xai_models.main([*args, "--stability", "3", "--csv", str(tmp_path / "s.csv")]) == 0
    table = {r["method"]: r for r in json.loads(capsys.readouterr().out)}
    model = load_model(BUNDLED)
    by_case = []
    for case in generated("lung_xray", 2, 0).cases():
        ready = prepare(model, case)
        maps = [METHODS["lime"].explain(model, ready.x, ready.target, lime, s).map.ravel() for s in (0, 1, 2)]
        by_case.append(np.mean([spearmanr(maps[i], maps[j]).statistic for i, j in ((0, 1), (0, 2), (1, 2))]))
    assert table["lime"]["stability"] == pytest.approx(np.mean(by_case), abs=1e-4)
    assert table["gradcam"]["stability"] == 1.0
    assert "stability" in (tmp_path / "s.csv").read_text().splitlines()[0].split(",")
    assert xai_models.main([*args, "--csv", str(tmp_path / "plain.csv")]) == 0
    assert all(r["stability"] is None for r in json.loads(capsys.readouterr().out)), "not computed unless asked"


def test_the_twin_baseline_takes_deleted_points_from_the_counterfactual_twin(tmp_path, capsys):
    """Deletion with `--baseline twin` on generated cases: the curve runs from the model's probability on the case
    to its probability on the twin (all points deleted), each read from the model directly; the row records the
    baseline, so twin and black rows never mix."""
    from workbench.data import phantoms
    from workbench.metrics.faithfulness import perturbation_curve

    out = tmp_path / "twin.csv"
    assert xai_models.main(["evaluate", "--task", "lung_xray", "--model", BUNDLED, "--methods", "gradcam", "--n", "1",
                            "--baseline", "twin", "--csv", str(out), "--no-baselines"]) == 0
    (row,) = [json.loads(line) for line in (tmp_path / "twin.csv.rows.jsonl").read_text().splitlines()]
    assert row["baseline"] == "twin"
    model = load_model(BUNDLED)
    x, twin = (model.info.input.normalize(phantoms.make_phantom(0, "test", 0, label=1, twin=t).image[None])[None]
               for t in (False, True))
    e = METHODS["gradcam"].explain(model, x, Target(1))
    shares, curve = perturbation_curve(model, x, e.map, Target(1), "deletion", baseline=twin)
    p_case, p_twin = model.predict(np.concatenate([x, twin]))[:, 1]
    assert (curve[0], curve[-1]) == (pytest.approx(p_case, abs=1e-5), pytest.approx(p_twin, abs=1e-5))
    assert row["deletion_auc"] == pytest.approx(float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(shares))))


def test_with_the_twin_baseline_deletion_and_insertion_are_averaged_over_the_cases_the_model_relies_on():
    """By hand: two cases, the model relies on the first only. With black every case counts for deletion and
    insertion; with the twin, the second (whose twin leaves the answer as it was) is excluded as from
    localisation."""
    from workbench.evaluation.batch import summarise

    def row(case: int, relies: bool, baseline: str) -> dict:
        return {"model": "m", "method": "gradcam", "case": case, "seed": 0, "relies": relies, "baseline": baseline,
                "seconds": 1.0, "pointing_game": float(relies), "rank_accuracy": 0.5, "energy_pointing_game": 0.5,
                "iou": 0.5, "dice": 0.5, "hd95": 1.0, "deletion_auc": 0.1 if relies else 0.9,
                "insertion_auc": 0.8 if relies else 0.4, "sparseness": 0.2 if relies else 0.6}

    (black,) = summarise([row(0, True, "black"), row(1, False, "black")])
    (twin,) = summarise([row(0, True, "twin"), row(1, False, "twin")])
    assert (black["deletion_auc"], black["insertion_auc"]) == (0.5, 0.6)
    assert (twin["deletion_auc"], twin["insertion_auc"]) == (0.1, 0.8)
    assert black["pointing_game"] == twin["pointing_game"] == 1.0 and black["excluded"] == twin["excluded"] == 1
    assert black["sparseness"] == twin["sparseness"] == 0.4, "a property of the map alone: every case"


def test_evaluate_on_a_folder_with_masks_and_on_a_medmnist_file(tmp_path, capsys):
    """The lung samples folder: files with a mask are scored for localisation, none is excluded (no twins);
    a pneumoniamnist-layout file (labels, no masks) gets faithfulness and complexity only."""
    import io as _io

    from workbench.data import phantoms

    out = tmp_path / "folder.csv"
    assert xai_models.main(["evaluate", "--task", "lung_xray", "--model", BUNDLED, "--methods", "gradcam",
                            "--folder", str(ROOT / "sample_files" / "lung_xray"), "--n", "20", "--csv", str(out),
                            "--json"]) == 0
    row, *baselines = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in baselines] == list(BASELINE_METHODS), "added unless --no-baselines"
    best = max(r["pointing_game"] for r in baselines)
    assert row["pointing_game_lift"] == pytest.approx(row["pointing_game"] - best, abs=1e-4)
    assert row["pointing_game_lo"] <= row["pointing_game"] <= row["pointing_game_hi"]
    files = [p for p in (ROOT / "sample_files" / "lung_xray").glob("*.png") if not p.stem.endswith("_mask")]
    assert row["cases"] == len(files) and row["excluded"] == 0 and row["pointing_game"] is not None
    rows = [json.loads(line) for line in (tmp_path / "folder.csv.rows.jsonl").read_text().splitlines()]
    with_mask = {p.stem for p in files if p.with_name(f"{p.stem}_mask.png").exists()}
    assert sum(r["iou"] is not None for r in rows if r["method"] == "gradcam") == len(with_mask) > 0

    images, _, labels = phantoms.make_dataset(6, seed=3, split="test")
    buf = _io.BytesIO()
    np.savez(buf, test_images=(images * 255).astype(np.uint8), test_labels=labels[:, None])
    (tmp_path / "pneumoniamnist_128.npz").write_bytes(buf.getvalue())
    assert xai_models.main(["evaluate", "--task", "lung_xray", "--model", BUNDLED, "--methods", "gradcam", "--npz",
                            str(tmp_path / "pneumoniamnist_128.npz"), "--csv", str(tmp_path / "npz.csv"),
                            "--json", "--no-baselines"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["cases"] == 6 and row["pointing_game"] is None and row["deletion_auc"] is not None
    rows = [json.loads(line) for line in (tmp_path / "npz.csv.rows.jsonl").read_text().splitlines()]
    assert [r["label"] for r in rows] == [phantoms.LABELS[k] for k in labels]


def test_an_evaluation_killed_halfway_resumes_with_the_rows_of_an_uninterrupted_run(tmp_path, capsys):
    """SIGKILL while rows are being written, a torn last line on top (what a kill inside a write leaves), then the
    same command again: the table, and every row but its timing, equal those of a run never stopped."""
    import os
    import signal
    import time

    def command(folder):
        return ["evaluate", "--task", "lung_xray", "--model", BUNDLED, "--methods", "gradcam,saliency", "--n", "8",
                "--csv", str(folder / "eval.csv"), "--json", "--no-baselines"]

    def untimed(row: dict) -> dict:
        return {k: v for k, v in row.items() if "seconds" not in k}

    def rows(folder) -> dict:
        lines = (folder / "eval.csv.rows.jsonl").read_text().splitlines()
        return {(r["case"], r["method"]): untimed(r) for r in map(json.loads, lines)}

    whole, killed = tmp_path / "whole", tmp_path / "killed"
    whole.mkdir(), killed.mkdir()
    assert xai_models.main(command(whole)) == 0
    expected = json.loads(capsys.readouterr().out)
    stored = killed / "eval.csv.rows.jsonl"
    # at the lowest priority, so the rows come slower than this loop looks at them even on a busy machine
    process = subprocess.Popen([sys.executable, str(ROOT / "xai_models.py"), *command(killed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=lambda: os.nice(19))
    while process.poll() is None and (not stored.exists() or stored.read_text().count("\n") < 4):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    written = stored.read_text().count("\n")
    assert 4 <= written < 16, "killed halfway"
    with stored.open("a") as f:
        f.write('{"model": "lung_xray-res')
    assert xai_models.main(command(killed)) == 0
    resumed = json.loads(capsys.readouterr().out)
    assert rows(killed) == rows(whole) and len(rows(whole)) == 16
    assert [untimed(r) for r in resumed] == [untimed(r) for r in expected]


def test_evaluate_resumes_from_rows_kept_in_memory_and_counts_each_models_reliance(monkeypatch):
    """The app keeps the rows in its session (`done`): a second call with more cases scores only the new ones
    and serves the old ones as they are. Each model's excluded cases are those `reliance_counts` gives a reason
    for. Two tiny random models on the 32 px grid: fast, and their reliance is whatever it happens to be."""
    from workbench.evaluation import batch
    from workbench.evaluation.batch import COLUMNS, evaluate, reliance_counts, summarise, table_csv
    from workbench.evaluation.cases import generated

    from .conftest import tiny_adapter

    models = [tiny_adapter(0), tiny_adapter(1, id="tiny-b")]
    done: dict = {}
    first = evaluate(models, ["gradcam"], generated("lung_xray", 1), done=done)
    scored = []
    real = batch.evaluate_case
    monkeypatch.setattr(batch, "evaluate_case", lambda model, case, *a: scored.append(case.index) or
                        real(model, case, *a))
    rows = evaluate(models, ["gradcam"], generated("lung_xray", 2), done=done)
    assert scored == [1, 1] and len(done) == 4
    assert [r for r in rows if r["case"] == 0] == first and rows[0] is first[0], "served, not recomputed"
    counts = reliance_counts(rows)
    assert list(counts) == ["tiny", "tiny-b"]
    assert all(sum(c[k] for k in ("relies", "not_detected", "not_flipped", "unknown")) == c["cases"] == 2
               for c in counts.values())
    table = summarise(rows)
    assert [r["excluded"] for r in table] == [c["not_detected"] + c["not_flipped"] for c in counts.values()]
    assert table_csv(table).splitlines()[0] == ",".join(COLUMNS)
