"""Stability over seeds, and the sampling designs of LIME and Kernel SHAP, each checked against a hand computation
or the model itself: Spearman values worked out by hand, complements counted among the copies the model scored,
Kernel SHAP's values adding up to the score gap, LIME's weights equal to a linear model's contributions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workbench.methods import METHODS
from workbench.methods.surrogate import hadamard_order, lime_rows
from workbench.metrics import METRICS
from workbench.metrics.agreement import Stability, mean_pairwise_spearman, stability_seeds
from workbench.models import Target
from workbench.service import score_explanation

from .test_method_references import linear_model, sample_input

SQUARES = (np.arange(32)[:, None] // 8) * 4 + np.arange(32)[None, :] // 8  # the tiny model's 16 grid squares of 8 x 8


def test_mean_pairwise_spearman_by_hand():
    """(1, 2, 3, 4) against (1, 2, 4, 3): one swap, sum d^2 = 2, rho = 1 - 6 * 2 / (4 * 15) = 0.8; against
    (4, 3, 2, 1): -1. Three maps a, a, reversed: pairs 1, -1, -1, mean -1/3. Equal constant maps agree fully."""
    a, swapped, reverse = np.array([[1, 2], [3, 4]]), np.array([[1, 2], [4, 3]]), np.array([[4, 3], [2, 1]])
    assert mean_pairwise_spearman(np.stack([a, swapped]).astype(float)) == pytest.approx(0.8)
    assert mean_pairwise_spearman(np.stack([a, a, reverse]).astype(float)) == pytest.approx(-1 / 3)
    assert mean_pairwise_spearman(np.zeros((3, 2, 2))) == 1.0


def test_a_deterministic_method_is_stable_by_definition_without_a_rerun(tiny, tiny_input):
    e = METHODS["gradcam"].explain(tiny, tiny_input, Target(1), seed=7)
    with tiny.counting() as counted:
        record = Stability(5).measure(e, tiny, tiny_input)
    assert record["stability"] == 1.0 and record["reruns"] == 0 and counted.passes == 0
    assert record["seeds"] == [7, 8, 9, 10, 11] and "by definition" in record["note"]


def test_stability_of_a_stochastic_method_reruns_it_and_counts_the_passes(tiny, tiny_input):
    """K = 3: the explanation's own map and the next two seeds' maps; the score is their mean pairwise Spearman,
    the passes those of two more runs, as the adapter counts them."""
    params = {"samples": 30, "superpixels": "grid", "superpixel_size": 8}
    e = METHODS["lime"].explain(tiny, tiny_input, Target(1), params, seed=4)
    with tiny.counting() as counted:
        record = Stability(3).measure(e, tiny, tiny_input)
    assert record["seeds"] == [4, 5, 6] and record["reruns"] == 2
    assert counted.forward == record["passes"] == 2 * 30
    from scipy.stats import spearmanr

    others = [METHODS["lime"].explain(tiny, tiny_input, Target(1), params, seed=s).map for s in (5, 6)]
    rho = [spearmanr(a.ravel(), b.ravel()).statistic for a, b in ((e.map, others[0]), (e.map, others[1]),
                                                                  (others[0], others[1]))]
    assert -1 <= record["stability"] < 1, "30 samples of 2^16 coalitions: the seed matters"
    assert record["stability"] == pytest.approx(np.mean(rho), abs=1e-9), "scipy's Spearman, ties averaged"


def test_stability_is_registered_but_never_computed_unless_asked(tiny, tiny_input):
    metric = METRICS["stability"]
    assert metric.category == "agreement" and metric.on_request and metric.higher_is_better
    assert not any(m.on_request for m in METRICS.values() if m.id != "stability")
    e = METHODS["lime"].explain(tiny, tiny_input, Target(1), {"samples": 12, "superpixels": "grid",
                                                               "superpixel_size": 16})
    with tiny.counting() as counted:
        scores = score_explanation(e, tiny, tiny_input)
    assert "stability" not in scores
    assert counted.forward == 2 * 21, "deletion and insertion only (21 steps each), no rerun of LIME"
    assert stability_seeds(2**32 - 1, 2) == [2**32 - 1, 0], "seeds stay within numpy's range"


def scored_coalitions(model, monkeypatch) -> list[tuple[int, ...]]:
    """Every copy the model scores, as the on/off pattern of the 16 squares (on: the square shows the input, which
    is nowhere black; off: black)."""
    seen = []
    black = float(model.info.input.normalize(np.zeros((1, 1, 1)))[0, 0, 0])
    score = model.target_scores

    def recording(batch: np.ndarray, target: Target) -> np.ndarray:
        for copy in batch[:, 0]:
            seen.append(tuple(int(copy[SQUARES == k][0] != black) for k in range(16)))
        return score(batch, target)

    monkeypatch.setattr(model, "target_scores", recording)
    return seen


def test_paired_lime_scores_each_drawn_copy_with_its_complement(tiny, tiny_input, monkeypatch):
    seen = scored_coalitions(tiny, monkeypatch)
    METHODS["lime"].explain(tiny, tiny_input, Target(1), {"samples": 41, "superpixels": "grid",
                                                          "superpixel_size": 8, "sampling": "paired"}, seed=3)
    assert len(seen) == 41 and seen[0] == (1,) * 16, "the input first, as lime_image has it"
    complements = sum(tuple(1 - v for v in seen[i]) == seen[i + 1] for i in range(1, 41, 2))
    assert complements == 20, "40 copies after the input: 20 pairs, each a copy and its complement"
    rows = lime_rows(3, 1000, 16, "paired")
    assert abs(rows[1:].mean() - 0.5) < 1e-3, "each square on in half the copies (the last pair is cut short)"


def test_kernel_shap_draws_every_sampled_coalition_with_its_complement(monkeypatch):
    """shap's own design, which ours is: of 16 squares, every coalition scored (besides the input and the
    baseline) has its complement scored too, except those of size 8, whose complements have the same size and are
    drawn on their own, and at most the last one drawn, whose complement would exceed the budget."""
    from .conftest import tiny_adapter

    model = tiny_adapter(seed=3)
    x = sample_input(model)
    seen = scored_coalitions(model, monkeypatch)
    e = METHODS["kernel_shap"].explain(model, x, Target(1), {"samples": 300, "superpixels": "grid",
                                                             "superpixel_size": 8}, seed=1)
    coalitions = set(seen) - {(0,) * 16, (1,) * 16}
    sized = [c for c in coalitions if sum(c) != 8]
    lonely = [c for c in sized if tuple(1 - v for v in c) not in coalitions]
    assert len(sized) > 250 and len(lonely) <= 1
    assert e.passes == len(seen) == 302


def test_kernel_shap_values_add_up_to_the_score_gap_with_fewer_samples_than_coalitions(tiny, tiny_input):
    """Efficiency on a nonlinear model, 100 of 65,534 coalitions: sum of values = f(x) - f(black), both scored here
    by the torch module itself."""
    e = METHODS["kernel_shap"].explain(tiny, tiny_input, Target(1), {"samples": 100, "superpixels": "grid",
                                                                     "superpixel_size": 8}, seed=5)
    values = np.array([e.map[SQUARES == k][0] for k in range(16)])
    black = np.full_like(tiny_input, (0.0 - 0.5) / 0.25)
    with torch.no_grad():
        scores = tiny.module(torch.from_numpy(np.concatenate([tiny_input, black])))[:, 1].numpy()
    assert values.sum() == pytest.approx(float(scores[0] - scores[1]), rel=1e-5, abs=1e-6)


def test_orthogonal_lime_rows_are_foldover_blocks_of_an_orthogonal_design():
    """16 superpixels: Hadamard order 32, blocks of 64 rows after the input. Counted by hand in every block: each
    superpixel on in 32 rows, every two together in 16, every odd row the complement of the row before."""
    assert [hadamard_order(n) for n in (1, 3, 4, 15, 16, 61)] == [2, 4, 8, 16, 32, 64]
    rows = lime_rows(11, 1 + 3 * 64, 16, "orthogonal")
    assert rows.shape == (193, 16) and (rows[0] == 1).all()
    for block in rows[1:].reshape(3, 64, 16):
        assert (block.sum(axis=0) == 32).all()
        together = block.T @ block
        assert (together[~np.eye(16, dtype=bool)] == 16).all()
        assert (block[1::2] == 1 - block[::2]).all()
    assert len(lime_rows(11, 100, 16, "orthogonal")) == 100, "the last block cut short"
    assert not (lime_rows(12, 65, 16, "orthogonal") == lime_rows(11, 65, 16, "orthogonal")).all(), "seeded"


def test_each_orthogonal_row_is_drawn_from_lime_images_distribution():
    """Over 4,000 seeds, the first and the fourth perturbed row of 3 superpixels each take all 8 on/off patterns
    equally often (chi-square against uniform, as lime_image's independent coin flips give), though each block
    pairs them up by design."""
    from scipy.stats import chisquare

    rows = np.stack([lime_rows(seed, 9, 3, "orthogonal") for seed in range(4000)])
    for i in (1, 4):
        counts = np.bincount(rows[:, i] @ np.array([4, 2, 1]), minlength=8)
        assert chisquare(counts).pvalue > 0.001, counts


@pytest.mark.parametrize("sampling", ["library", "paired", "orthogonal"])
def test_lime_finds_the_contributions_of_a_model_linear_in_the_superpixels(sampling):
    """For f(z) = f(baseline) + sum_i z_i c_i, LIME's weighted fit is exact but for ridge's small shrinkage
    (alpha 1 against some 500 weighted rows), whichever design drew the rows."""
    model = linear_model()
    x = sample_input(model)
    e = METHODS["lime"].explain(model, x, Target(1), {"samples": 1000, "superpixels": "grid", "superpixel_size": 4,
                                                      "sampling": sampling})
    w = model.module[1].weight[1].detach().numpy().reshape(16, 16)
    contribution = w * (x[0, 0] - (-2.0))  # black is (0 - 0.5) / 0.25 = -2 in the model's scale
    segments = (np.arange(16)[:, None] // 4) * 4 + np.arange(16)[None, :] // 4
    by_hand = np.array([contribution[segments == k].sum() for k in range(16)])
    got = np.array([e.map[segments == k][0] for k in range(16)])
    np.testing.assert_allclose(got, by_hand, atol=0.02 * np.abs(by_hand).max())
