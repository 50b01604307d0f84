"""Real chest radiographs (issue 17): patients from file names, duplicates, a split by patient, the loader,
the samples and one smoke run of the recipe. The oracles are written here: hand-read names and counts,
md5 groups of the files' bytes, and the split rule of docs/real_xray.md computed again with hashlib."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.data import real_xray
from workbench.errors import InputError
from workbench.io import xray_folder
from workbench.io.xray_folder import patient_of, read_folder
from workbench.paths import XRAY_DIR
from workbench.tasks import TASKS, ImageTask
from workbench.training.recipes import LUNG_SPEC, RECIPES

RECIPE = "lung_xray-resnet-real"
needs_folder = pytest.mark.skipif(not (XRAY_DIR / "train").is_dir(),
                                  reason=f"the shared chest X-ray folder is not on this machine ({XRAY_DIR})")


def oracle_patient(name: str) -> str:
    """The patient as docs/real_xray.md states it: `personN` before the first underscore; for normal films,
    the first two dash fields (`IM-NNNN`), three with the second batch's prefix (`NORMAL2-IM-NNNN`)."""
    if name.startswith("person"):
        return name.split("_")[0]
    fields = name.split(".")[0].split("-")
    return "-".join(fields[:3] if fields[0].startswith("NORMAL") else fields[:2])


BATCH_BELOW = {"person": 300, "IM": 250, "NORMAL2": 550}  # the thresholds docs/real_xray.md gives, by hand


def oracle_number(name: str) -> tuple[str, int]:
    """The series (`person`, `IM`, `NORMAL2`) and the patient number written in a film's name."""
    if name.startswith("person"):
        return "person", int(name.split("_")[0][len("person"):])
    fields = name.split("-")
    return fields[0], int(fields[2] if fields[0] == "NORMAL2" else fields[1])


def oracle_split(patient: str) -> str:
    """batch when the patient's number is below its series' threshold; else the first 8 bytes of sha256(patient
    id), big-endian, mod 100: below 80 train, below 90 val, else test."""
    series, number = oracle_number(patient + "-0001" if "IM" in patient else patient + "_")
    if number < BATCH_BELOW[series]:
        return "batch"
    bucket = int(hashlib.sha256(patient.encode()).hexdigest()[:16], 16) % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


@pytest.mark.parametrize("name, patient", [
    ("person1_bacteria_1.jpeg", "person1"), ("person447_virus_921_1.jpeg", "person447"),
    ("person1000_bacteria_2931.jpeg", "person1000"), ("person1000_virus_1681.jpeg", "person1000"),
    ("IM-0115-0001.jpeg", "IM-0115"), ("IM-0429-0001-0002.jpeg", "IM-0429"),
    ("NORMAL2-IM-0383-0001.jpeg", "NORMAL2-IM-0383"), ("NORMAL2-IM-0651-0004.jpeg", "NORMAL2-IM-0651"),
])
def test_the_patient_is_read_from_real_file_names(name, patient):
    assert patient_of(name) == patient


@pytest.mark.parametrize("name", ["scan.jpeg", "person_bacteria_1.jpeg", "IM-0115.jpeg", "person3_fungus_1.jpeg"])
def test_a_name_without_a_patient_is_refused_not_guessed(name):
    with pytest.raises(InputError, match=f"cannot tell the patient of '{name}'"):
        patient_of(name)


@needs_folder
def test_the_shared_folder_every_name_its_patient_and_the_24_duplicate_groups():
    names = {c: sorted(os.listdir(XRAY_DIR / "train" / c)) for c in ("NORMAL", "PNEUMONIA")}
    assert (len(names["NORMAL"]), len(names["PNEUMONIA"])) == (1341, 3875), "the counts its README gives"
    md5 = defaultdict(list)
    for c, files in names.items():
        for n in files:
            md5[hashlib.md5((XRAY_DIR / "train" / c / n).read_bytes()).hexdigest()].append(n)
    groups = [g for g in md5.values() if len(g) > 1]
    assert (len(groups), sum(len(g) for g in groups)) == (24, 50), "22 pairs and 2 triples of identical files"
    assert all(len({oracle_patient(n) for n in g}) == 1 for g in groups), "each group is one patient's"

    folder = read_folder(XRAY_DIR)
    assert len(folder.films) == 5216 - 26 and len(folder.duplicates) == 24
    kept = {f.path.name for f in folder.films}
    for group in groups:
        assert kept & set(group) == {min(group)}, "the first copy in name order is kept, the others removed"
    assert all(f.patient == oracle_patient(f.path.name) for f in folder.films)
    assert [f.label for f in folder.films] == [xray_folder.CLASSES.index(f.path.parent.name) for f in folder.films]


@needs_folder
def test_no_patient_is_in_two_splits_and_the_others_are_80_10_10_of_the_patients_outside_the_batch():
    films = read_folder(XRAY_DIR).films
    splits_of = defaultdict(set)
    for f in films:
        splits_of[oracle_patient(f.path.name)].add(f.split)
        assert f.split == oracle_split(oracle_patient(f.path.name))
    assert all(len(s) == 1 for s in splits_of.values())
    patients = Counter(next(iter(s)) for s in splits_of.values())
    assert len(splits_of) == 2846 and patients == {"train": 1973, "val": 239, "test": 235, "batch": 399}
    hashed = 2846 - patients["batch"]
    assert {k: round(patients[k] / hashed, 1) for k in ("train", "val", "test")} == {"train": 0.8, "val": 0.1,
                                                                                      "test": 0.1}
    images = Counter((f.split, f.label) for f in films)
    assert images == {("train", 0): 904, ("train", 1): 2669, ("val", 0): 120, ("val", 1): 294,
                      ("test", 0): 106, ("test", 1): 263, ("batch", 0): 210, ("batch", 1): 624}, \
        "the split sizes docs/real_xray.md gives"


@needs_folder
def test_the_batch_split_is_the_lowest_numbered_patients_and_shares_none_with_training():
    """Read from the file names alone (os.listdir, not the loader): every batch film's number is below its
    series' threshold, every other film's is not, and no patient of the batch has a film in training,
    validation or the held-out split."""
    folder = read_folder(XRAY_DIR)
    batch = {f.path.name for f in folder.split("batch")}
    named = {n for c in ("NORMAL", "PNEUMONIA") for n in os.listdir(XRAY_DIR / "train" / c)}
    below = {n for n in named if oracle_number(n)[1] < BATCH_BELOW[oracle_number(n)[0]]}
    assert batch == below & {f.path.name for f in folder.films}, "the batch: exactly the low numbers, deduplicated"
    assert len(batch) == 834 and min(oracle_number(n)[1] for n in named - below if n.startswith("IM")) == 250
    batch_patients = {oracle_patient(n) for n in batch}
    for split in ("train", "val", "test"):
        assert not batch_patients & {oracle_patient(f.path.name) for f in folder.split(split)}, split
    assert {"IM-0249", "person290"} <= batch_patients and not {"IM-0250", "IM-0251"} & batch_patients


@needs_folder
def test_a_short_prefix_is_balanced_and_is_the_start_of_the_whole_split():
    images, masks, labels = real_xray.make_dataset(4, split="test", spec=LUNG_SPEC)
    more, _, more_labels = real_xray.make_dataset(8, split="test", spec=LUNG_SPEC)
    assert labels.tolist() == [0, 1, 0, 1] and more_labels[:4].tolist() == [0, 1, 0, 1]
    np.testing.assert_array_equal(images, more[:4])
    assert images.shape == (4, 128, 128) and images.dtype == np.float32 and not masks.any()


def write_image(path: Path, level: float, colour: bool = False) -> None:
    """A flat image at `level` (a JPEG in colour, its luma the level; else a gray PNG)."""
    gray = np.full((40, 48), round(level * 255), np.uint8)
    if colour:
        Image.fromarray(np.stack([gray] * 3, -1)).save(path, "JPEG", quality=95)
    else:
        Image.fromarray(gray).save(path, "PNG")


# The tiny folder: file name -> gray level (normal films dark, pneumonia bright); one duplicate added below. Its
# numbers put IM-0003 in the batch split and NORMAL2-IM-0565, person301 and person310 in the held-out split.
TINY = {"NORMAL": {"IM-0251-0001.png": 0.10, "IM-0251-0002.png": 0.14, "NORMAL2-IM-0565-0001.jpeg": 0.18,
                   "IM-0252-0001.png": 0.22, "IM-0003-0001-0001.png": 0.26},
        "PNEUMONIA": {"person301_bacteria_1.png": 0.62, "person302_virus_3.jpeg": 0.70,
                      "person310_bacteria_4.png": 0.78, "person310_virus_5_1.png": 0.86}}


@pytest.fixture
def tiny_folder(tmp_path) -> Path:
    for cls, files in TINY.items():
        (tmp_path / "train" / cls).mkdir(parents=True)
        for name, level in files.items():
            write_image(tmp_path / "train" / cls / name, level, colour=name.endswith(".jpeg"))
    pneumonia = tmp_path / "train" / "PNEUMONIA"
    (pneumonia / "person301_bacteria_2.png").write_bytes((pneumonia / "person301_bacteria_1.png").read_bytes())
    (pneumonia / "notes.txt").write_text("not an image: ignored")
    return tmp_path


def test_the_loader_on_a_tiny_folder_reads_every_film_once_in_one_channel_with_its_class(tiny_folder):
    """9 films (the duplicate's copy gone, the text file ignored), each in the split of its patient."""
    assert {oracle_split(oracle_patient(n)) for files in TINY.values() for n in files} == {"train", "test", "batch"}
    for split in xray_folder.SPLITS:
        images, masks, labels = real_xray.make_dataset(100, split=split, spec=LUNG_SPEC, root=tiny_folder)
        expected = {round(level, 2): c for c, files in enumerate(TINY.values()) for name, level in files.items()
                    if oracle_split(oracle_patient(name)) == split}
        assert images.shape == (len(expected), 128, 128) and not masks.any()
        assert np.ptp(images, axis=(1, 2)).max(initial=0) < 0.01, "a flat film stays flat"
        got = {round(float(image.mean()), 2): int(label) for image, label in zip(images, labels)}
        assert got == expected, "each film once, in one channel (a colour JPEG by its luma), with its class"
    folder = read_folder(tiny_folder)
    assert folder.duplicates == ((tiny_folder / "train/PNEUMONIA/person301_bacteria_1.png",
                                  tiny_folder / "train/PNEUMONIA/person301_bacteria_2.png"),)
    split = {f.path.name: f.split for f in folder.films}
    assert split["IM-0251-0001.png"] == split["IM-0251-0002.png"] == oracle_split("IM-0251")
    assert split["person310_bacteria_4.png"] == split["person310_virus_5_1.png"] == oracle_split("person310")
    # the folder that holds NORMAL and PNEUMONIA directly is the same data set
    assert [f.patient for f in read_folder(tiny_folder / "train").films] == [f.patient for f in folder.films]


def test_training_reads_a_film_exactly_as_serving_does(tiny_folder):
    task, recipe = TASKS["lung_xray"], RECIPES[RECIPE]
    images, _, _ = real_xray.make_dataset(100, split="train", spec=LUNG_SPEC, root=tiny_folder)
    film = real_xray.ordered(read_folder(tiny_folder).split("train"), 0)[0]
    served = task.preprocess(task.read(film.path.read_bytes(), film.path.name)[0], LUNG_SPEC)
    np.testing.assert_array_equal(recipe.model_input(images[:1]), served)


def test_a_missing_folder_or_a_wrong_layout_says_what_is_expected(tmp_path):
    def fails(root, match):
        with pytest.raises(InputError, match=match):
            real_xray.make_dataset(4, spec=LUNG_SPEC, root=root)

    fails(tmp_path / "absent", "chest X-ray folder not found: .*absent .*train/NORMAL/ and train/PNEUMONIA/")
    (tmp_path / "images").mkdir()
    fails(tmp_path, "is not a chest X-ray folder: expected train/NORMAL/ .* it holds images")
    (tmp_path / "train" / "NORMAL").mkdir(parents=True)
    fails(tmp_path, "train has no PNEUMONIA folder")
    (tmp_path / "train" / "PNEUMONIA").mkdir()
    fails(tmp_path, "NORMAL holds no images")
    write_image(tmp_path / "train" / "NORMAL" / "IM-0001-0001.png", 0.2)
    write_image(tmp_path / "train" / "PNEUMONIA" / "chest.png", 0.8)
    fails(tmp_path, "cannot tell the patient of 'chest.png'")
    with pytest.raises(InputError, match="split must be one of train, val, test, batch, not 'bench'"):
        real_xray.make_dataset(4, split="bench", spec=LUNG_SPEC)


@needs_folder
def test_the_lung_task_offers_four_held_out_real_films_read_in_place():
    real = [s for s in TASKS["lung_xray"].samples() if s.name.startswith("real: ")]
    assert len(real) == 4 and [s.label for s in real] == ["normal", "normal", "affected", "affected"]
    for sample in real:
        cls = sample.path.parent.name
        assert sample.path.parent.parent == XRAY_DIR / "train" and sample.name == f"real: {cls} {sample.path.stem}"
        assert sample.label == {"NORMAL": "normal", "PNEUMONIA": "affected"}[cls]
        assert oracle_split(oracle_patient(sample.path.name)) == "test"
    assert len({oracle_patient(s.path.name) for s in real}) == 4, "four patients"


def test_no_real_samples_without_the_folder_or_from_a_wrong_one(tmp_path):
    (tmp_path / "photos").mkdir()
    for root in (tmp_path / "absent", tmp_path):
        task = ImageTask(id="t", name="t", output_kind="classification", labels=("normal", "affected"),
                         description="d", file_types=("png",), real_samples=root)
        assert task.samples() == []


@needs_folder
def test_a_smoke_run_of_the_recipe_through_the_command_line_writes_a_card_that_credits_the_data(
        tmp_path, monkeypatch, capsys):
    from workbench.models import load_model
    from workbench.training.__main__ import main
    from workbench.training.runner import SMOKE, SMOKE_EVAL

    out = tmp_path / RECIPE
    monkeypatch.setattr(sys, "argv", ["workbench.training", "train", "--recipe", RECIPE, "--out", str(out), "--smoke"])
    main()
    printed = capsys.readouterr().out  # the log lines, then the result
    result = json.loads(printed[printed.index("\n{") + 1:])
    assert result["held_out"]["n"] == SMOKE_EVAL["n"] and len(result["held_out"]["confusion"]) == 2
    training = json.loads((out / "training.json").read_text())
    assert result["training"] == training
    assert (training["n_train"], training["n_val"], training["epochs"]) == (SMOKE["n_train"], SMOKE["n_val"], 1)
    card = (out / "README.md").read_text()
    for phrase in ("real-data", f"{SMOKE['n_train']} real radiographs", "Kermany", "CC BY 4.0", "no flips",
                   "| truth \\ predicted | normal | affected |", "Not for adults"):
        assert phrase in card, phrase
    model = load_model(str(out))
    assert model.info.labels == ("normal", "affected")
    stats = model.feature_stats
    assert (stats.n_fit, stats.n_held_out) == (SMOKE["n_ood"], 32), "training films, no mirrored copies; 32 held out"


def test_the_command_line_says_when_the_films_are_missing(tmp_path, monkeypatch, capsys):
    from workbench.training.__main__ import main

    monkeypatch.setattr(real_xray, "XRAY_DIR", tmp_path / "absent")
    monkeypatch.setattr(sys, "argv", ["workbench.training", "train", "--recipe", RECIPE, "--out", str(tmp_path / "m"),
                                      "--smoke"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code != 0 and "chest X-ray folder not found" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_evaluate_on_a_chest_xray_folder_scores_its_held_out_patients_without_localisation(tiny_folder, capsys):
    """`evaluate --folder` on the NORMAL/PNEUMONIA layout takes the held-out patients' films only (here
    NORMAL2-IM-0565, person301 and person310: 4 films). By hand: every tiny film is flat, so the mean baseline
    equals the film and neither deletion nor insertion changes it: both areas are the predicted class's
    probability."""
    import xai_models
    from workbench.models import load_model

    held_out = [name for files in TINY.values() for name in files if oracle_split(oracle_patient(name)) == "test"]
    csv = tiny_folder / "real.csv"
    assert xai_models.main(["evaluate", "--task", "lung_xray", "--model", "lung_xray-resnet-compact", "--methods",
                            "gradcam", "--folder", str(tiny_folder), "--n", "50", "--baseline", "mean",
                            "--csv", str(csv), "--json", "--no-baselines"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["cases"] == len(held_out) == 4 and row["excluded"] == 0
    assert row["pointing_game"] is None and row["iou"] is None
    rows = [json.loads(line) for line in csv.with_name("real.csv.rows.jsonl").read_text().splitlines()]
    model, task = load_model("lung_xray-resnet-compact"), TASKS["lung_xray"]
    films = real_xray.ordered(read_folder(tiny_folder).split("test"), 0)
    assert sorted(f.path.name for f in films) == sorted(held_out)
    for r, film in zip(rows, films):
        p = model.predict(task.preprocess(task.read(film.path.read_bytes(), film.path.name)[0], LUNG_SPEC))[0]
        assert r["baseline"] == "mean" and r["label"] == model.info.labels[int(p.argmax())]
        assert r["deletion_auc"] == pytest.approx(p.max(), abs=1e-5)
        assert r["insertion_auc"] == pytest.approx(p.max(), abs=1e-5)
    assert xai_models.main(["evaluate", "--task", "lung_xray", "--model", "lung_xray-resnet-compact", "--methods",
                            "gradcam", "--folder", str(tiny_folder), "--n", "50", "--csv", str(csv), "--json",
                            "--no-baselines"]) == 0
    (black,) = json.loads(capsys.readouterr().out)
    assert black["deletion_auc"] != pytest.approx(row["deletion_auc"], abs=1e-3), "the baseline is part of the row"


@needs_folder
@pytest.mark.parametrize("model_id", [RECIPE, "lung_xray-densenet-real"])
def test_a_real_model_finds_real_films_in_and_photographs_and_histology_out_but_not_every_phantom(model_id):
    """Their statistics were fitted on real training films: held-out patients' films are in, real photographs
    (scikit-image's camera, astronaut and coffee) and generated histology patches out. The repository's phantoms
    are farther than the films but not all out: measured 9 of 10 out for the ResNet and 5 of 10 for the
    DenseNet, since the per-image standardisation layer removes the grey-level cues that told phantoms from films
    (issue 38; docs/real_xray.md). The phantom model, the other way round, finds real films out."""
    from skimage import data

    from workbench.data import histology
    from workbench.models import load_model, predict

    task, real = TASKS["lung_xray"], load_model(model_id)

    def scores(model, raws) -> np.ndarray:
        return np.array([predict(model, task.preprocess(raw, model.info.input)).ood_score for raw in raws])

    films = [task.read(f.path.read_bytes(), f.path.name)[0]
             for f in real_xray.ordered(read_folder(XRAY_DIR).split("test"), 0)[:40]]
    film_scores = scores(real, films)
    assert (film_scores <= 1).sum() >= 38
    photos = [getattr(data, name)().astype(np.float32) / 255 for name in ("camera", "astronaut", "coffee")]
    patches = list(histology.make_dataset(20, seed=0, split="test")[0])
    for kind, raws in (("photograph", photos), ("histology patch", patches)):
        assert (scores(real, raws) > 1).all(), kind
    phantoms = [task.read(s.path.read_bytes(), s.path.name)[0] for s in task.samples()
                if not s.name.startswith("real: ")]
    phantom_scores = scores(real, phantoms)
    assert (phantom_scores > 1).sum() >= 5 and np.median(phantom_scores) > np.quantile(film_scores, 0.9)
    assert (scores(load_model("lung_xray-resnet-compact"), films[:10]) > 1).all(), "real films are not phantoms"
