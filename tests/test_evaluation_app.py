"""The Evaluation and Model performance tabs of the real app (AppTest), each against the library called directly.

Kept fast: the compact lung model and the shortcut model, Grad-CAM (one pass), two cases.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import workbench.evaluation.batch as batch
import workbench.evaluation.cases as cases
import workbench.training.performance as performance
from workbench.evaluation.batch import COLUMNS, evaluate, summarise
from workbench.evaluation.cases import generated
from workbench.evaluation.classification import classification_report, expected_calibration_error
from workbench.methods import BASELINE_METHODS
from workbench.models import load_model
from workbench.training.classifier import HELD_OUT
from workbench.training.recipes import RECIPES

from .conftest import BUNDLED, ROOT
from .test_app import new_app, tab

SHORTCUT = "lung_xray-resnet-shortcut"
METHODS = ["gradcam"]  # one run of each model on each case; the tab's default adds Saliency
RUN = [*METHODS, *BASELINE_METHODS]  # what the tab runs: the trivial baselines are on by default (no model pass)


def widget(block, kind: str, label: str):
    return next(w for w in getattr(block, kind) if w.label == label)


def click(at, label: str):
    widget(tab(at, "Evaluation"), "button", label).click().run()
    assert not at.exception, at.exception
    return at


def same(a, b) -> bool:
    """Equal, a missing value (None or NaN) counting as equal to another missing one."""
    missing = [v is None or (isinstance(v, float) and math.isnan(v)) for v in (a, b)]
    if any(missing):
        return all(missing)
    return a == b if isinstance(b, str | bool) else a == pytest.approx(b, abs=1e-6)


def shown_table(at) -> list[dict]:
    frame = tab(at, "Evaluation").dataframe[0].value
    assert list(frame.columns) == list(COLUMNS), "the CLI's columns, in its order"
    return frame.to_dict("records")


def assert_tables_equal(shown: list[dict], expected: list[dict]) -> None:
    assert [(r["model"], r["method"]) for r in shown] == [(r["model"], r["method"]) for r in expected]
    for got, want in zip(shown, expected):
        for column in COLUMNS:
            if column != "seconds_per_case":  # a timing: never the same twice
                assert same(got[column], want[column]), (got["model"], got["method"], column, got[column], want[column])


@pytest.fixture(scope="module")
def evaluated():
    """Both lung models with Grad-CAM: N = 1, then N = 2 in the same session (a run stopped after one case and
    started again), counting the cases the library scores each time."""
    scored = []
    real = batch.evaluate_case

    def counting(model, case, *args, **kwargs):
        scored.append((model.info.id, case.index))
        return real(model, case, *args, **kwargs)

    at = new_app()
    next(s for s in at.sidebar.selectbox if s.label == "Model").set_value(BUNDLED).run()
    ev = tab(at, "Evaluation")
    assert widget(ev, "multiselect", "Models").value == [BUNDLED], "the sidebar's model"
    assert widget(ev, "multiselect", "Methods").value == ["gradcam", "saliency"], "the cheap ones"
    assert widget(ev, "checkbox", "With the trivial baselines").value, "on by default"
    assert not set(BASELINE_METHODS) & set(widget(ev, "multiselect", "Methods").options), "a switch of their own"
    widget(ev, "multiselect", "Models").set_value([BUNDLED, SHORTCUT]).run()
    widget(tab(at, "Evaluation"), "multiselect", "Methods").set_value(METHODS).run()
    batch.evaluate_case = counting
    try:
        widget(tab(at, "Evaluation"), "number_input", "Number of cases (N)").set_value(1).run()
        click(at, "Run evaluation")
        first, scored[:] = sorted(scored), []
        table_1 = shown_table(at)
        kept = {k: r["seconds"] for k, r in at.session_state["evaluation:rows"].items()}
        widget(tab(at, "Evaluation"), "number_input", "Number of cases (N)").set_value(2).run()
        click(at, "Run evaluation")
        second = sorted(scored)
    finally:
        batch.evaluate_case = real
    return at, first, second, table_1, kept


def test_the_table_is_the_librarys_summary_for_the_same_settings(evaluated):
    """The library called directly on the same two cases; the first run's table is its summary of case 0 (the
    cases are made one by one from their index, so the first of two is the one of one)."""
    at, _, _, table_1, _ = evaluated
    rows = evaluate([load_model(BUNDLED), load_model(SHORTCUT)], RUN, generated("lung_xray", 2, 0), 0)
    assert_tables_equal(shown_table(at), summarise(rows))
    assert_tables_equal(table_1, summarise([r for r in rows if r["case"] == 0]))
    assert any(b.label == "Table (.csv)" for b in tab(at, "Evaluation").get("download_button"))


def test_a_second_run_with_more_cases_scores_only_the_missing_ones(evaluated):
    at, first, second, _, kept = evaluated
    assert first == [(BUNDLED, 0), (SHORTCUT, 0)]
    assert second == [(BUNDLED, 1), (SHORTCUT, 1)], "case 0 comes from the session"
    rows = at.session_state["evaluation:rows"]
    assert len(rows) == 2 * 2 * len(RUN)
    assert all(rows[k]["seconds"] == s for k, s in kept.items()), "the first run's rows, untouched"


def test_the_model_that_reads_a_tag_has_every_case_excluded_and_the_tab_says_why(evaluated):
    at, *_ = evaluated
    shortcut = [r for r in shown_table(at) if r["model"] == SHORTCUT]
    assert all(r["excluded"] == r["cases"] == 2 for r in shortcut)
    assert all(same(r["pointing_game"], None) and not same(r["deletion_auc"], None) for r in shortcut)
    warnings = [w.value for w in tab(at, "Evaluation").warning]
    assert any(f"`{SHORTCUT}` does not rely on the object" in w and "on all 2 cases" in w for w in warnings)
    assert not any(BUNDLED in w for w in warnings)


def test_the_sanity_column_is_the_chosen_checks_verdict(evaluated):
    """The sanity switch with the efficient check chosen beside it: the table's sanity column is `sanity_verdicts`
    with that check, called directly on the same cases (the rows themselves come from the session)."""
    at, *_ = evaluated
    ev = tab(at, "Evaluation")
    widget(ev, "checkbox", "Sanity check").check().run()
    try:
        choice = widget(tab(at, "Evaluation"), "selectbox", "Which randomisation check")
        assert choice.value == "mprt", "the cascading check by default"
        choice.set_value("emprt").run()
        click(at, "Run evaluation")
        want = batch.sanity_verdicts([load_model(BUNDLED), load_model(SHORTCUT)], RUN,
                                     generated("lung_xray", 2, 0), 0, check="emprt")
        assert {(r["model"], r["method"]): r["sanity"] for r in shown_table(at)} == want
    finally:
        widget(tab(at, "Evaluation"), "checkbox", "Sanity check").uncheck().run()


def test_the_stability_column_is_the_librarys_when_asked_for(evaluated):
    """Off by default (the column empty); switched on, it is `stability_scores` called directly on the same cases:
    Grad-CAM draws no random numbers (1, no rerun), the random baseline changes with every seed (near 0)."""
    at, *_ = evaluated
    assert all(same(r["stability"], None) for r in shown_table(at))
    widget(tab(at, "Evaluation"), "checkbox", "Stability over 5 seeds").check().run()
    try:
        click(at, "Run evaluation")
        want = batch.stability_scores([load_model(BUNDLED), load_model(SHORTCUT)], RUN, generated("lung_xray", 2, 0),
                                      5, 0)
        shown = {(r["model"], r["method"]): r["stability"] for r in shown_table(at)}
        assert shown == pytest.approx(want)
        assert shown[BUNDLED, "gradcam"] == 1.0 and abs(shown[BUNDLED, "baseline_random"]) < 0.1
    finally:
        widget(tab(at, "Evaluation"), "checkbox", "Stability over 5 seeds").uncheck().run()


def test_no_method_and_a_bad_upload_get_a_message_and_a_medmnist_upload_is_scored(evaluated):
    """On the same session: no method chosen (Run disabled), a file that is not an npz, then a pneumoniamnist
    file held in memory (labels, no masks, no twins)."""
    from .test_histology import _npz

    at, *_ = evaluated
    ev = tab(at, "Evaluation")
    widget(ev, "multiselect", "Models").set_value([BUNDLED]).run()
    widget(tab(at, "Evaluation"), "multiselect", "Methods").set_value([]).run()
    assert any("Choose at least one method" in i.value for i in tab(at, "Evaluation").info)
    assert widget(tab(at, "Evaluation"), "button", "Run evaluation").disabled
    widget(tab(at, "Evaluation"), "multiselect", "Methods").set_value(["gradcam"]).run()
    widget(tab(at, "Evaluation"), "radio", "Cases").set_value("MedMNIST .npz file").run()
    widget(tab(at, "Evaluation"), "number_input", "Number of cases (N)").set_value(3).run()
    uploader = next(u for u in at.file_uploader if u.label == "MedMNIST file (.npz)")
    uploader.set_value(("pneumoniamnist_64.npz", b"not an npz", "application/octet-stream")).run()
    click(at, "Run evaluation")
    assert any("Cannot use this file" in e.value for e in tab(at, "Evaluation").error)

    from workbench.data import phantoms

    images, _, labels = phantoms.make_dataset(3, seed=3, split="test")
    data = _npz(test_images=(images * 255).astype(np.uint8), test_labels=labels[:, None])
    uploader = next(u for u in at.file_uploader if u.label == "MedMNIST file (.npz)")
    uploader.set_value(("pneumoniamnist_64.npz", data, "application/octet-stream")).run()
    click(at, "Run evaluation")
    assert not tab(at, "Evaluation").error
    row, *baselines = shown_table(at)
    assert [r["method"] for r in baselines] == list(BASELINE_METHODS)
    assert row["cases"] == 3 and row["excluded"] == 0 and same(row["pointing_game"], None)
    assert any("no counterfactual twins" in c.value for c in tab(at, "Evaluation").caption)


def perf_run(at, n: int):
    widget(tab(at, "Model performance"), "number_input", "Held-out cases (N)").set_value(n).run()
    widget(tab(at, "Model performance"), "button", "Evaluate on held-out data").click().run()
    assert not at.exception, at.exception
    return tab(at, "Model performance")


def test_the_performance_tab_shows_classification_report_of_the_same_predictions_and_the_card(evaluated):
    """Held-out phantoms as the card's were made; the model's answers scored by the library directly. Asked again
    for the same N, nothing is recomputed."""
    at, *_ = evaluated
    calls = []
    real = performance.held_out_report
    performance.held_out_report = lambda *args: calls.append(args) or real(*args)
    try:
        perf = perf_run(at, 12)
        perf_run(at, 12)
    finally:
        performance.held_out_report = real
    recipe, model = RECIPES[BUNDLED], load_model(BUNDLED)
    images, _, truth = recipe.make_dataset(12, seed=HELD_OUT["seed"], split=HELD_OUT["split"])
    probabilities = model.predict(recipe.model_input(images, model.info.input))
    report = classification_report(truth, probabilities.argmax(1), recipe.labels)
    assert len(calls) == 1, "the same model revision and N come from the cache"
    metrics = {m.proto.label: m.proto.body for m in perf.get("metric")}
    from sklearn.metrics import roc_auc_score

    assert metrics == {"Accuracy": f"{report['accuracy']:.3f}",
                       "Balanced accuracy": f"{report['balanced_accuracy']:.3f}",
                       "ROC AUC": f"{roc_auc_score(truth, probabilities[:, 1]):.3f}",
                       "ECE": f"{expected_calibration_error(probabilities, truth):.3f}"}
    per_class, confusion = perf.dataframe[0].value, perf.dataframe[1].value
    assert list(per_class["class"]) == list(recipe.labels)
    for row in per_class.to_dict("records"):
        label = row.pop("class")
        assert row == pytest.approx(report["per_class"][label]), label
    assert confusion.to_numpy().tolist() == report["confusion"]
    assert list(confusion.index) == [f"true {label}" for label in recipe.labels]
    assert performance.card_section(model.info.card) in [m.value for m in perf.markdown], "the card's section beside"


def test_a_model_without_a_recipe_says_what_is_and_is_not_available(server_env):
    """A bundled model's folder typed as a path loads as a local model: no recipe is known for it, its card is."""
    server_env(WORKBENCH_LOCAL_MODELS="1")
    at = new_app()
    next(r for r in at.sidebar.radio if r.label == "Model source").set_value("Hugging Face Hub").run()
    next(t for t in at.sidebar.text_input if t.label == "Hub repo id").input(str(ROOT / "models" / BUNDLED)).run()
    assert not at.exception and not at.error
    perf = tab(at, "Model performance")
    assert any("is not a bundled model" in i.value and "Evaluation tab" in i.value for i in perf.info)
    assert not [b for b in perf.button if b.label == "Evaluate on held-out data"]
    assert performance.card_section(load_model(BUNDLED).info.card) in [m.value for m in perf.markdown]


def test_generated_cases_offer_the_twin_baseline_and_score_with_it_as_the_library_does(evaluated):
    """Only generated cases have counterfactual twins: the twin baseline is offered for them, not for a MedMNIST
    file, and the table it gives is the library's for the same settings."""
    at, *_ = evaluated
    ev = tab(at, "Evaluation")
    widget(ev, "radio", "Cases").set_value("Generated cases (known truth, counterfactual twins)").run()
    widget(tab(at, "Evaluation"), "multiselect", "Models").set_value([BUNDLED]).run()
    widget(tab(at, "Evaluation"), "multiselect", "Methods").set_value(METHODS).run()
    widget(tab(at, "Evaluation"), "number_input", "Number of cases (N)").set_value(2).run()
    baseline = widget(tab(at, "Evaluation"), "selectbox", "Deletion/insertion baseline")
    assert list(baseline.options) == ["black", "mean", "blur", "twin"]
    baseline.set_value("twin").run()
    click(at, "Run evaluation")
    expected = summarise(evaluate([load_model(BUNDLED)], RUN, generated("lung_xray", 2), 0, baseline="twin"))
    assert_tables_equal(shown_table(at), expected)
    widget(tab(at, "Evaluation"), "radio", "Cases").set_value("MedMNIST .npz file").run()
    assert list(widget(tab(at, "Evaluation"), "selectbox", "Deletion/insertion baseline").options) == [
        "black", "mean", "blur"]


@pytest.mark.skipif(cases.real_folder("lung_xray") is None, reason="no shared chest X-ray folder here")
def test_real_radiographs_of_held_out_patients_are_scored_without_localisation_at_the_chosen_baseline(evaluated):
    """The shared folder's held-out films as cases, the mean baseline chosen: the library's table for the same
    settings, no localisation (no masks), and a caption that says so."""
    at, *_ = evaluated
    widget(tab(at, "Evaluation"), "multiselect", "Models").set_value([BUNDLED]).run()
    widget(tab(at, "Evaluation"), "multiselect", "Methods").set_value(METHODS).run()
    widget(tab(at, "Evaluation"), "radio", "Cases").set_value(
        "Real radiographs of held-out patients (no masks)").run()
    widget(tab(at, "Evaluation"), "number_input", "Number of cases (N)").set_value(2).run()
    widget(tab(at, "Evaluation"), "selectbox", "Deletion/insertion baseline").set_value("mean").run()
    click(at, "Run evaluation")
    source = cases.from_folder("lung_xray", str(cases.real_folder("lung_xray")), 2)
    expected = summarise(evaluate([load_model(BUNDLED)], RUN, source, 0, baseline="mean"))
    shown = shown_table(at)
    assert_tables_equal(shown, expected)
    assert shown[0]["cases"] == 2 and same(shown[0]["pointing_game"], None) and shown[0]["deletion_auc"] is not None
    assert any("No case has a ground-truth mask" in c.value for c in tab(at, "Evaluation").caption)
