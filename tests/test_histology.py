"""The histopathology generator, its twins, its samples, and the MedMNIST reader."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from workbench.data import histology, medmnist
from workbench.errors import InputError
from workbench.evaluation.medmnist import evaluate_npz
from workbench.models import load_model
from workbench.tasks import TASKS

from .conftest import ROOT

HISTO = "histopathology-resnet18-compact"


def test_patches_are_deterministic_balanced_and_coloured():
    a = histology.make_patch(0, "train", 5)
    np.testing.assert_array_equal(a.image, histology.make_patch(0, "train", 5).image)
    images, masks, labels = histology.make_dataset(18, seed=1, split="val")
    assert images.shape == (18, 64, 64, 3) and images.dtype == np.float32
    assert np.bincount(labels).tolist() == [2] * 9
    assert 0 <= images.min() and images.max() <= 1
    # H&E: eosin-pink tissue has more red than green; hematoxylin nuclei are darker than their surroundings
    lym = histology.make_patch(0, "test", 0, label=histology.LABELS.index("LYM"))
    assert lym.image[..., 0].mean() > lym.image[..., 1].mean()
    assert lym.image[lym.mask].mean() < lym.image[~lym.mask].mean() - 0.1


@pytest.mark.parametrize("label", histology.LABELS)
def test_twin_leaves_out_only_the_defining_structure(label):
    k = histology.LABELS.index(label)
    for i in range(4):
        case = histology.make_patch(0, "test", i, label=k)
        twin = histology.make_patch(0, "test", i, label=k, twin=True)
        np.testing.assert_array_equal(case.mask, twin.mask)
        if not case.mask.any():
            np.testing.assert_array_equal(case.image, twin.image)
            continue
        near = ndimage.binary_dilation(case.mask, np.ones((3, 3), bool), iterations=10)
        np.testing.assert_array_equal(case.image[~near], twin.image[~near])
        assert np.abs(case.image - twin.image)[case.mask].mean() > 0.05


def test_sample_files_are_the_generator_output():
    task = TASKS["histopathology"]
    samples = {s.name: s for s in task.samples()}
    assert {s.label for s in samples.values()} == set(histology.LABELS)
    for k, label in enumerate(histology.LABELS):
        img = np.asarray(Image.open(samples[f"{label}_01"].path), np.float32) / 255
        assert np.abs(img - histology.make_patch(0, "sample", k, label=k).image).max() <= 0.5 / 255 + 1e-6


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def test_bundled_model_on_a_pathmnist_file(tmp_path):
    """A pathmnist-layout file (224x224 patches, N x 1 labels) goes through the task's resize."""
    images, _, labels = histology.make_dataset(36, seed=3, split="test")
    big = np.stack([np.asarray(Image.fromarray((im * 255).astype(np.uint8)).resize((224, 224), Image.BICUBIC))
                    for im in images])
    path = tmp_path / "pathmnist_224.npz"
    path.write_bytes(_npz(test_images=big, test_labels=labels[:, None].astype(np.uint8),
                          train_images=big[:2], train_labels=labels[:2, None]))
    result = evaluate_npz(load_model(HISTO), str(path))
    assert result["dataset"] == "pathmnist" and result["n"] == 36
    assert result["accuracy"] >= 0.85
    assert np.array(result["confusion"]).sum() == 36


def test_lung_model_on_pneumonia_and_chest_files(tmp_path):
    from workbench.data import phantoms

    images, _, labels = phantoms.make_dataset(20, seed=3, split="test")
    u8 = (images * 255).astype(np.uint8)
    (tmp_path / "pneumoniamnist_128.npz").write_bytes(_npz(test_images=u8, test_labels=labels[:, None]))
    multi = np.zeros((20, 14), np.uint8)
    multi[labels == 1, 3] = 1  # one finding among fourteen
    (tmp_path / "chestmnist_128.npz").write_bytes(_npz(val_images=u8, val_labels=multi))
    lung = load_model("lung_xray-resnet-compact")
    pneumonia = evaluate_npz(lung, str(tmp_path / "pneumoniamnist_128.npz"))
    chest = evaluate_npz(lung, str(tmp_path / "chestmnist_128.npz"), split="val")
    assert pneumonia["accuracy"] == chest["accuracy"] >= 0.9


@pytest.mark.parametrize("arrays,message", [
    ({"train_images": np.zeros((2, 8, 8), np.uint8), "train_labels": np.zeros((2, 1), int)}, "no 'test_images'"),
    ({"test_images": np.zeros((2, 8, 8), np.float32), "test_labels": np.zeros((2, 1), int)}, "must be uint8"),
    ({"test_images": np.zeros((2, 8, 8), np.uint8), "test_labels": np.zeros((3, 1), int)}, "one row per image"),
    ({"test_images": np.zeros((2, 8, 8), np.uint8), "test_labels": np.array([[9], [0]])}, "run from 0 to 9"),
    ({"test_images": np.zeros((2, 8, 8), np.uint8), "test_labels": np.array([[{}], [{}]], dtype=object)},
     "not a readable .npz"),
])
def test_bad_medmnist_files_get_a_message(tmp_path, arrays, message):
    path = tmp_path / "pathmnist.npz"
    path.write_bytes(_npz(**arrays))
    with pytest.raises(InputError, match=message):
        evaluate_npz(load_model(HISTO), str(path))


def test_medmnist_names_and_files():
    assert medmnist.dataset_name("/data/pathmnist_64.npz") == "pathmnist"
    with pytest.raises(InputError, match="must start with the data set"):
        medmnist.dataset_name("organamnist.npz")
    with pytest.raises(InputError, match="not a readable .npz"):
        medmnist.read_split(b"not a zip", "x.npz", "test")
    assert (ROOT / "sample_files" / "histopathology").is_dir()


def test_an_npz_in_memory_gives_the_cases_of_the_same_file_on_disk(tmp_path):
    """An upload is read from its bytes, never written; its rows are keyed by its content, not a path."""
    from workbench.evaluation.cases import from_npz, from_npz_bytes

    images, _, labels = histology.make_dataset(4, seed=3, split="test")
    data = _npz(test_images=(images * 255).astype(np.uint8), test_labels=labels[:, None])
    (tmp_path / "pathmnist_64.npz").write_bytes(data)
    on_disk = from_npz("histopathology", str(tmp_path / "pathmnist_64.npz"), 3)
    in_memory = from_npz_bytes("histopathology", data, "pathmnist_64.npz", 3)
    assert on_disk.n == in_memory.n == 3 and in_memory.name != on_disk.name
    assert in_memory.name == from_npz_bytes("histopathology", data, "pathmnist_64.npz", 3).name
    for a, b in zip(on_disk.cases(), in_memory.cases()):
        assert a.label == b.label and np.array_equal(a.raw, b.raw)
    with pytest.raises(InputError, match="is for task 'histopathology', not 'lung_xray'"):
        from_npz_bytes("lung_xray", data, "pathmnist_64.npz", 3)
    with pytest.raises(InputError, match="has no images"):
        from_npz_bytes("histopathology", _npz(test_images=np.zeros((0, 8, 8), np.uint8),
                                              test_labels=np.zeros((0, 1), np.int64)), "pathmnist_64.npz", 3)
