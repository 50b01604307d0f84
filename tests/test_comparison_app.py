"""The Comparison tab's grid of methods x models in the real app (AppTest), checked against the library run
directly on the same input: the maps, the metrics, the one colour scale, the cache, an incompatible method.

Two cheap lung models (the sidebar's default, the compact ResNet-34, compared with the compact ResNet) and two
one-pass methods keep it to seconds."""

from __future__ import annotations

import csv
import io
import re
import sys
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

from workbench.methods import METHODS
from workbench.metrics import METRICS
from workbench.models import load_model, predict
from workbench.service import prepare_input, target_for
from workbench.tasks import TASKS

from .test_app import images, new_app, press_run, tab

MAIN, OTHER = "lung_xray-resnet34-compact", "lung_xray-resnet-compact"
CHOSEN = ("gradcam", "saliency")
SAMPLE = "affected_01"
REASON = "needs what this model does not have (a test's reason)."


@pytest.fixture(scope="module")
def downloads():
    """The bytes of every download button the app draws, by file name (the latest run's)."""
    files = {}
    record = MemoryMediaFileStorage.load_and_get_id

    def recording(self, path_or_data, mimetype, kind, filename=None):
        if filename is not None:
            files[filename] = path_or_data
        return record(self, path_or_data, mimetype, kind, filename)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording)
        yield files


@pytest.fixture(scope="module")
def grid(downloads):
    at = new_app()
    assert next(s for s in at.sidebar.selectbox if s.label == "Model").value == MAIN
    next(s for s in at.sidebar.selectbox if s.label == "Sample").set_value(SAMPLE).run()
    next(m for m in at.sidebar.multiselect if m.label == "XAI methods").set_value(list(CHOSEN)).run()
    compare = next(m for m in at.sidebar.multiselect if m.label == "Compare with")
    assert MAIN not in compare.options and OTHER in compare.options
    compare.set_value([OTHER]).run()
    return press_run(at)


@pytest.fixture(scope="module")
def library():
    """What the library computes on the sample without the app: per model its prediction, and per model x
    method the map and every metric by the metric's own `score`."""
    task = TASKS["lung_xray"]
    sample = next(s for s in task.samples() if s.name == SAMPLE)
    raw, _ = task.read(sample.path.read_bytes(), sample.path.name)
    truth = task.ground_truth(sample)
    out = {}
    for model_id in (MAIN, OTHER):
        model = load_model(model_id)
        _, x, _ = prepare_input(task, model, raw)
        prediction = predict(model, x)
        mask = truth.as_mask(model.info.input.size, task.picture(raw, model.info.input).axes)
        out[model_id] = prediction
        for method in CHOSEN:
            e = METHODS[method].explain(model, x, target_for(model, prediction), None, 0)
            out[model_id, method] = e.map, {m.id: m.score(e, truth=mask, model=model, x=x) for m in METRICS.values()
                                            if not m.on_request}
    return out


def _fresh(at, scale: str = "One scale for all maps"):
    """The app redrawn with the colour scale asked for (tests may run in any order on the one app)."""
    next(r for r in at.radio if r.label == "Colour scale").set_value(scale).run()
    assert not at.exception, at.exception
    return tab(at, "Comparison")


def test_one_column_per_model_one_row_per_method_each_headed_by_its_prediction(grid, library):
    cmp = _fresh(grid)
    names = [METHODS[m].name for m in CHOSEN]
    cells = [c.split(" · ")[:2] for c in images(cmp) if c.split(" · ")[0] in names]
    assert cells == [[name, model] for name in names for model in (MAIN, OTHER)], "row by row, a cell per model"
    assert images(cmp)[:2] == ["Input + ground truth"] * 2, "each model's input, with the truth on its grid"
    text = [m.value for m in cmp.markdown]
    for model in (MAIN, OTHER):
        prediction = library[model]
        assert f"**{model}**" in text
        assert f"Predicts **{prediction.label}**, p = {prediction.probabilities[prediction.label]:.3f}" in text
    rows = [block for block in cmp.columns if any(c.split(" · ")[0] in names for c in images(block))]
    assert len(rows) == len(CHOSEN) * 2, "one place per model in each method's row"


def test_the_downloads_hold_the_library_maps_and_metrics_and_the_scale_is_the_largest_value(grid, downloads,
                                                                                            library):
    cmp = _fresh(grid)
    with np.load(io.BytesIO(downloads[f"{SAMPLE}_maps.npz"])) as npz:
        maps = {name: npz[name] for name in npz}
    assert set(maps) == {f"{model}__{method}" for model in (MAIN, OTHER) for method in CHOSEN}
    for (model, method) in ((m, k) for m in (MAIN, OTHER) for k in CHOSEN):
        np.testing.assert_array_equal(maps[f"{model}__{method}"], library[model, method][0])

    rows = list(csv.DictReader(io.StringIO(downloads[f"{SAMPLE}_metrics.csv"].decode())))
    assert [(r["model"], r["method"]) for r in rows] == [(m, k) for m in (MAIN, OTHER) for k in CHOSEN]
    assert list(rows[0]) == ["model", "method", "seconds", *(m for m in METRICS.ids() if not METRICS[m].on_request)], \
        "with the truth, every metric but those computed on request"
    for row in rows:
        cell = next(c for c in images(cmp) if c.startswith(f"{METHODS[row['method']].name} · {row['model']} · "))
        assert f" · {float(row['seconds']):.2f} s" in cell, "the CSV's seconds are the cell's"
        want = library[row["model"], row["method"]][1]
        for metric, value in want.items():
            assert float(row[metric]) == pytest.approx(value, rel=1e-9, abs=1e-12), (row["model"], row["method"],
                                                                                       metric)

    with zipfile.ZipFile(io.BytesIO(downloads[f"{SAMPLE}_overlays.zip"])) as archive:
        assert sorted(archive.namelist()) == sorted(f"{name}.png" for name in maps)
        assert Image.open(io.BytesIO(archive.read(f"{OTHER}__gradcam.png"))).size == (128, 128)

    largest = max(float(np.abs(m).max()) for m in maps.values())
    assert _ranges(cmp) == {name: f"{largest:.3g}" for name in maps}, "one scale: every map's range the largest"


def _ranges(cmp) -> dict[str, str]:
    """Each map's colour range as its caption gives it (`± r`), by model__method."""
    by_name = {METHODS[m].name: m for m in CHOSEN}
    return {f"{parts[1]}__{by_name[parts[0]]}": parts[3].lstrip("±") for c in images(cmp)
            if (parts := c.split(" · "))[0] in by_name}


def test_each_method_shares_the_largest_value_of_its_maps_when_asked(grid, downloads):
    """One method's values are in one unit on one model's maps: per method, its maps share their largest |value|."""
    cmp = _fresh(grid, "One scale per method")
    with np.load(io.BytesIO(downloads[f"{SAMPLE}_maps.npz"])) as npz:
        maps = {name: npz[name] for name in npz}
    per_method = {m: max(float(np.abs(maps[f"{model}__{m}"]).max()) for model in (MAIN, OTHER)) for m in CHOSEN}
    assert _ranges(cmp) == {f"{model}__{m}": f"{per_method[m]:.3g}" for model in (MAIN, OTHER) for m in CHOSEN}
    assert any("only where they are in one unit" in c for c in images(cmp)), "the legend says when scales compare"


def test_by_default_every_map_has_its_own_scale_so_each_shows(grid, downloads):
    """Grad-CAM's values differ by orders of magnitude between networks: by default each map fills the colours,
    its range (the 99.5th percentile of its |values|, by hand) under it."""
    default = next(r for r in grid.radio if r.label == "Colour scale")
    assert default.options[0] == "Each map its own scale"
    cmp = _fresh(grid, default.options[0])
    with np.load(io.BytesIO(downloads[f"{SAMPLE}_maps.npz"])) as npz:
        want = {name: f"{np.sort(np.abs(npz[name]).ravel())[int(0.995 * (npz[name].size - 1))]:.3g}"
                for name in npz}
    got = _ranges(cmp)
    assert got.keys() == want.keys()
    for name in want:  # numpy's percentile interpolates between the two neighbours: 3 significant digits agree
        assert float(got[name]) == pytest.approx(float(want[name]), rel=0.02), name


def test_one_table_holds_every_metric_with_each_columns_best_marked(grid, library):
    """The metrics table: a row per model x method, each value the metric's own `score` on the library's map, the
    best of each column (in its direction) highlighted."""
    cmp = _fresh(grid)
    table = next(d for d in cmp.dataframe if "model" in d.value.columns and "pointing_game" in d.value.columns)
    frame = table.value
    names = {METHODS[m].name: m for m in CHOSEN}
    assert [(r["model"], names[r["method"]]) for _, r in frame.iterrows()] == [(m, k) for m in (MAIN, OTHER)
                                                                                for k in CHOSEN]
    for _, row in frame.iterrows():
        want = library[row["model"], names[row["method"]]][1]
        for metric, value in want.items():
            assert row[metric] == pytest.approx(value, rel=1e-9, abs=1e-12), (row["model"], row["method"], metric)
    # the Styler's CSS: the marked cells, then the mark
    selectors, css = table.proto.arrow_data.styler.styles.split("{")
    assert "background-color" in css
    marked = {(int(r), int(c)) for r, c in re.findall(r"_row(\d+)_col(\d+)", selectors)}
    keys = [(m, k) for m in (MAIN, OTHER) for k in CHOSEN]
    for metric in library[keys[0]][1]:
        values = [library[key][1][metric] for key in keys]
        best = max(values) if METRICS[metric].higher_is_better else min(values)
        col = list(frame.columns).index(metric)
        assert {r for r, c in marked if c == col} == {r for r, v in enumerate(values) if v == best}, metric
    for caption in (c for c in images(cmp) if c.split(" · ")[0] in names):
        extra = caption.split(" · ")[4:]
        assert [e.rsplit(" ", 1)[0] for e in extra] == ["Pointing game ↑", "Best IoU (sweep) ↑"], caption


def test_the_curve_chart_holds_the_library_curves(grid):
    """The interactive deletion and insertion chart's data: every point of every map's curves as the library
    computes them on the same map (`faithfulness_curves`, black baseline), the numbers the PDF's figure draws
    (both from `comparison.curve_series`)."""
    import pyarrow

    from workbench.service import faithfulness_curves

    chart = next(c for c in _fresh(grid).get("vega_lite_chart") if "facet" in c.proto.spec)
    shown = pyarrow.ipc.open_stream(chart.proto.data.data).read_pandas()
    task = TASKS["lung_xray"]
    sample = next(s for s in task.samples() if s.name == SAMPLE)
    raw, _ = task.read(sample.path.read_bytes(), sample.path.name)
    want = []
    for model_id in (MAIN, OTHER):
        model = load_model(model_id)
        _, x, _ = prepare_input(task, model, raw)
        for method in CHOSEN:
            e = METHODS[method].explain(model, x, target_for(model, predict(model, x)), None, 0)
            for metric, (xs, ys) in faithfulness_curves(e, model, x).items():
                want += [(f"{METHODS[method].name} ({model_id})", METRICS[metric].label, float(a), float(b))
                         for a, b in zip(xs, ys)]
    got = list(shown[["map", "curve", "x", "y"]].itertuples(index=False, name=None))
    assert [g[:3] for g in got] == [w[:3] for w in want]
    np.testing.assert_allclose([g[3] for g in got], [w[3] for w in want], rtol=0, atol=1e-6)


def test_methods_on_columns_puts_a_row_per_model(grid):
    next(t for t in grid.toggle if t.label == "Methods on columns").set_value(True).run()
    try:
        cmp = tab(grid, "Comparison")
        captions = [c.split(" · ")[:2] for c in images(cmp) if " · " in c]
        names = [METHODS[m].name for m in CHOSEN]
        assert [c for c in captions if c[0] in names] == [[n, model] for model in (MAIN, OTHER) for n in names]
    finally:
        next(t for t in grid.toggle if t.label == "Methods on columns").set_value(False).run()


def test_changing_the_scale_outline_or_opacity_computes_nothing(grid):
    """The display controls and a repeated Run: no explanation, prediction, score or curve computed again, and
    (counted where they happen) no input decoded, no model pass, no matplotlib figure."""
    from workbench import events

    caches = sys.modules["views.caches"]
    before, counted = dict(caches.COMPUTED), events.snapshot()
    _fresh(grid, "Each map its own scale")
    next(s for s in grid.slider if s.label == "Overlay opacity").set_value(0.3).run()
    next(s for s in grid.slider if s.label == "Each map's top … %").set_value(20).run()
    assert any("Yellow outline: each map's top 20%" in c.value for c in tab(grid, "Comparison").caption)
    next(c for c in grid.checkbox if c.label == "Outline them on the maps").uncheck().run()
    assert not any("Yellow outline" in c.value for c in tab(grid, "Comparison").caption)
    press_run(grid)
    assert caches.COMPUTED == before, "explanations, predictions, curves and scores all from the caches"
    happened = events.since(counted)
    assert (happened["decodes"], happened["passes"], happened["figures"]) == (0, 0, 0), happened


def test_a_method_another_model_cannot_run_leaves_a_cell_that_says_why(grid, downloads, monkeypatch):
    saliency = type(METHODS["saliency"])
    usual = saliency.incompatibility
    monkeypatch.setattr(saliency, "incompatibility",
                        lambda self, task, model: REASON if model.info.id == OTHER else usual(self, task, model))
    cmp = _fresh(grid)
    assert [i.value for i in cmp.info] == [f"**Saliency** does not run on `{OTHER}`: {REASON}"]
    assert not any(c.startswith(f"Saliency · {OTHER}") for c in images(cmp))
    rows = {(r["model"], r["method"]): r for r in csv.DictReader(io.StringIO(downloads[f"{SAMPLE}_metrics.csv"]
                                                                             .decode()))}
    assert set(rows[OTHER, "saliency"].values()) == {OTHER, "saliency", ""}, "a row of blanks"
    main = rows[MAIN, "saliency"]
    assert float(main["seconds"]) > 0 and 0 <= float(main["deletion_auc"]) <= 1, "the model that ran it keeps its row"



def shown_sanity(grid, downloads) -> tuple[list[str], dict]:
    """The grid's captions and its metrics CSV's rows by (model, method), as the page shows them now."""
    rows = {(r["model"], r["method"]): r for r in csv.DictReader(io.StringIO(
        downloads[f"{SAMPLE}_metrics.csv"].decode()))}
    return images(tab(grid, "Comparison")), rows


def explained(model, x) -> dict:
    """Each chosen method's map of the predicted class, made directly with the grid's seed."""
    return {m: METHODS[m].explain(model, x, target_for(model, predict(model, x)), None, 0) for m in CHOSEN}

def test_the_sanity_check_badges_each_map_with_the_library_verdict(grid, downloads):
    """Each cell's badge and the CSV's sanity column are model_randomisation's verdict on the same map, run
    directly; the shared model keeps its weights."""
    from workbench.metrics.sanity import model_randomisation

    caches = sys.modules["views.caches"]
    task, model = TASKS["lung_xray"], load_model(MAIN)
    sample = next(s for s in task.samples() if s.name == SAMPLE)
    _, x, _ = prepare_input(task, model, task.read(sample.path.read_bytes(), sample.path.name)[0])
    before = {k: v.clone() for k, v in caches.get_model(MAIN, None).module.state_dict().items()}
    try:
        next(c for c in grid.checkbox if c.label.startswith("Sanity check each map")).check().run()
        assert not grid.exception, grid.exception
        captions, rows = shown_sanity(grid, downloads)
        for method, e in explained(model, x).items():
            want = model_randomisation(model, x, e, steps=4, seed=0)  # the README's 4 depths
            badge = "✅ passes" if want["passed"] else "⚠️ fails"
            caption = next(c for c in captions if c.startswith(f"{METHODS[method].name} · {MAIN}"))
            assert f"Sanity {badge} (|Spearman| {want['final_abs_spearman']:.2f} " in caption
            assert rows[MAIN, method]["sanity"] == str(want["passed"])
            assert rows[OTHER, method]["sanity"] in ("True", "False")
        after = caches.get_model(MAIN, None).module.state_dict()
        assert all(torch.equal(before[k], after[k]) for k in before), "the shared model's weights are untouched"
    finally:
        next(c for c in grid.checkbox if c.label.startswith("Sanity check each map")).uncheck().run()


def test_the_sanity_switch_runs_the_check_chosen_beside_it(grid, downloads):
    """The cascading check is the default; choosing the efficient one (eMPRT) badges each map and fills the CSV's
    sanity column with `efficient_model_randomisation`'s verdict on the same map, run directly (the cache keys on
    the check: the cascading results are not served for it)."""
    from workbench.metrics.sanity import efficient_model_randomisation

    task, model = TASKS["lung_xray"], load_model(MAIN)
    sample = next(s for s in task.samples() if s.name == SAMPLE)
    _, x, _ = prepare_input(task, model, task.read(sample.path.read_bytes(), sample.path.name)[0])
    try:
        next(c for c in grid.checkbox if c.label.startswith("Sanity check each map")).check().run()
        choice = next(s for s in grid.selectbox if s.label == "Which randomisation check")
        assert choice.value == "mprt" and choice.options == ["Cascading randomisation (MPRT)", "Smooth MPRT (sMPRT)",
                                                             "Efficient MPRT (eMPRT)"]
        choice.set_value("emprt").run()
        assert not grid.exception, grid.exception
        captions, rows = shown_sanity(grid, downloads)
        for method, e in explained(model, x).items():
            want = efficient_model_randomisation(model, x, e, seed=0)
            badge = "✅ passes" if want["passed"] else "⚠️ fails"
            caption = next(c for c in captions if c.startswith(f"{METHODS[method].name} · {MAIN}"))
            assert f"Sanity {badge} ({want['summary']})" in caption
            assert rows[MAIN, method]["sanity"] == str(want["passed"])
    finally:
        next(c for c in grid.checkbox if c.label.startswith("Sanity check each map")).uncheck().run()


def test_stability_is_computed_only_when_asked_and_a_deterministic_method_needs_no_rerun(grid, downloads):
    """Grad-CAM and Saliency draw no random numbers: the checkbox says they cost no rerun, and checked, the table
    and the CSV give each cell a stability of 1 (by definition) with no explanation made again."""
    caches = sys.modules["views.caches"]
    box = next(c for c in grid.checkbox if c.label.startswith("Stability over 5 seeds"))
    assert box.label.endswith("(no rerun)") and not box.value
    assert "stability" not in downloads[f"{SAMPLE}_metrics.csv"].decode().splitlines()[0].split(",")
    from workbench import events

    made, counted = caches.COMPUTED["explanations"], events.snapshot()
    try:
        box.check().run()
        assert not grid.exception, grid.exception
        rows = list(csv.DictReader(io.StringIO(downloads[f"{SAMPLE}_metrics.csv"].decode())))
        assert [float(r["stability"]) for r in rows] == [1.0] * len(rows) == [1.0] * 4
        assert caches.COMPUTED["explanations"] == made, "no method ran again through the cache"
        assert events.since(counted)["passes"] == 0, "nor outside it: no model pass at all"
    finally:
        next(c for c in grid.checkbox if c.label.startswith("Stability over 5 seeds")).uncheck().run()


@pytest.mark.skipif(not any(s.name.startswith("real: ") for s in TASKS["lung_xray"].samples()),
                    reason="the shared chest X-ray folder is not on this machine")
def test_a_real_film_beside_a_phantom_model_each_column_with_its_own_verdict():
    """A held-out real film: the default phantom model calls it unlike its training data (and the Prediction tab
    names the bundled model that does not), the real-film model in the next column does not."""
    real_model = "lung_xray-resnet-real"
    at = new_app()
    sample = next(s.name for s in TASKS["lung_xray"].samples() if s.name.startswith("real: "))
    next(s for s in at.sidebar.selectbox if s.label == "Sample").set_value(sample).run()
    assert any("unlike the data the model was trained on" in w.value for w in tab(at, "Prediction").warning)
    assert any(f"`{real_model}` finds this input like its training data" in i.value
               for i in tab(at, "Prediction").info)
    next(m for m in at.sidebar.multiselect if m.label == "XAI methods").set_value(["gradcam"]).run()
    next(m for m in at.sidebar.multiselect if m.label == "Compare with").set_value([real_model]).run()
    grid = tab(press_run(at), "Comparison")
    heads = [m.value for m in grid.markdown if m.value.startswith("Predicts")]
    assert len(heads) == 2, heads
    verdicts = [c.value for c in grid.caption if "Unlike its training data" in c.value]
    assert len(verdicts) == 1, "only the phantom model's column"
    task = TASKS["lung_xray"]
    film = next(s for s in task.samples() if s.name == sample)
    raw, _ = task.read(film.path.read_bytes(), film.path.name)
    for model_id, out in ((MAIN, True), (real_model, False)):
        model = load_model(model_id)
        assert (predict(model, prepare_input(task, model, raw)[1]).in_distribution is False) == out, model_id


def test_the_report_holds_the_grids_maps_and_reproduces_them(grid, downloads, tmp_path, capsys):
    """Build the report of the grid (two models x two methods): the PDF draws the grid, the ZIP's maps are the
    grid's downloads, bit for bit, and `xai_models.py reproduce` makes each again with no difference."""
    import json

    import xai_models

    block = tab(grid, "Comparison")
    next(b for b in block.button if b.label == "Build the report").click().run()
    assert not grid.exception, grid.exception
    name = next(n for n in downloads if n.endswith("_report.zip"))
    files = zipfile.ZipFile(io.BytesIO(downloads[name]))
    manifest = json.loads(files.read("manifest.json"))
    assert [m["id"] for m in manifest["models"]] == [MAIN, OTHER] and len(manifest["maps"]) == 4
    maps = np.load(io.BytesIO(downloads[next(n for n in downloads if n.endswith("_maps.npz"))]))
    for entry in manifest["maps"]:
        np.testing.assert_array_equal(np.load(io.BytesIO(files.read(entry["file"]))),
                                      maps[f"{entry['model']}__{entry['method']}"])
    import subprocess

    pdf = downloads[next(n for n in downloads if n.endswith("_report.pdf"))]
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, check=True, capture_output=True).stdout.decode()
    assert "Maps (methods x models)" in text and MAIN in text and OTHER in text
    (tmp_path / "report.zip").write_bytes(downloads[name])
    sample = next(s for s in TASKS["lung_xray"].samples() if s.name == SAMPLE)
    assert xai_models.main(["reproduce", str(tmp_path / "report.zip"), "--input", str(sample.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_difference"] == 0.0
