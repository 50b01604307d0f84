"""A paragraph that says only what the numbers say: each sentence is built from a template and the
numbers it names, so changing a number changes its sentence (tested), and nothing else is claimed.

The facts: the prediction and its probability (or pixel share), whether the input is like the training
data, where the top 10% of each map's mass lies relative to the ground truth (or, without one, to the
region a segmentation explains), which methods agree most and least, and which failed the sanity check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbench.methods import METHODS, Explanation
from workbench.metrics.agreement import spearman_matrix
from workbench.metrics.sanity import SANITY_CHECKS
from workbench.models import ClassPrediction, Prediction

TOP_SHARE = 0.10  # the share of each map's points whose mass is located


@dataclass(frozen=True)
class Sentence:
    """One sentence and the numbers it states, by name (a report can show or check them)."""

    text: str
    numbers: dict[str, float]


def mass_in_region(values: np.ndarray, region: np.ndarray, share: float = TOP_SHARE) -> float:
    """Of the map's top `share` points by value, the share of their positive mass inside `region` (0 when
    they hold no positive mass)."""
    flat, inside = values.ravel().astype(np.float64), region.ravel().astype(bool)
    k = max(1, int(round(share * flat.size)))
    top = np.argsort(-flat, kind="stable")[:k]
    mass = np.maximum(flat[top], 0)
    total = mass.sum()
    return float((mass * inside[top]).sum() / total) if total > 0 else 0.0


def prediction_sentence(model_id: str, prediction: Prediction) -> Sentence:
    if isinstance(prediction, ClassPrediction):
        p = prediction.probabilities[prediction.label]
        return Sentence(f"`{model_id}` predicts {prediction.label} with probability {p:.2f}.", {"probability": p})
    share = prediction.class_share[prediction.label]
    return Sentence(f"`{model_id}` labels {share:.0%} of the pixels {prediction.label} (its most frequent class "
                    "after the background).", {"pixel_share": share})


def distribution_sentence(prediction: Prediction) -> Sentence:
    if prediction.in_distribution is None:
        return Sentence("The model carries no statistics of its training data, so whether the input is like it "
                        "is unknown.", {})
    score = prediction.ood_score
    if prediction.in_distribution:
        return Sentence(f"The input resembles the training data (out-of-distribution score {score:.2f}, at most "
                        "1 is in).", {"ood_score": score})
    return Sentence(f"The input is unlike the training data (out-of-distribution score {score:.2f}, above 1), so "
                    "the prediction and the maps below mean little.", {"ood_score": score})


def location_sentences(explanations: Sequence[Explanation], region: np.ndarray | None,
                       region_name: str) -> list[Sentence]:
    """Per map, the share of its top-10% mass on the truth (or the explained region); none without one."""
    if region is None or not region.any():
        return [Sentence("No ground truth is known, so where the maps point is not scored.", {})]
    out = []
    for e in explanations:
        share = mass_in_region(e.map, region)
        out.append(Sentence(f"{METHODS[e.method].name}: {share:.0%} of the mass of its top {TOP_SHARE:.0%} lies on "
                            f"the {region_name}.", {f"{e.method}.top_mass_on_region": share}))
    return out


def agreement_sentence(explanations: Sequence[Explanation]) -> Sentence | None:
    """The most and the least alike pair of maps by Spearman rank correlation (two maps: their one pair)."""
    if len(explanations) < 2:
        return None
    rho = spearman_matrix(np.stack([e.map for e in explanations]))
    pairs = [(rho[i, j], i, j) for i in range(len(explanations)) for j in range(i + 1, len(explanations))]
    (high, a, b), (low, c, d) = max(pairs), min(pairs)
    names = [METHODS[e.method].name for e in explanations]
    if len(pairs) == 1:
        return Sentence(f"{names[a]} and {names[b]} rank the input's points with a Spearman correlation of "
                        f"{high:.2f}.", {"spearman_max": float(high)})
    return Sentence(f"{names[a]} and {names[b]} agree most (Spearman {high:.2f}); {names[c]} and {names[d]} "
                    f"least ({low:.2f}).", {"spearman_max": float(high), "spearman_min": float(low)})


def sanity_sentence(verdicts: dict[str, bool], check: str | None = None) -> Sentence | None:
    """Which methods failed the model-randomisation check `check` (a SANITY_CHECKS id; None when it was not run)."""
    if not verdicts:
        return None
    named = "the sanity check" + (f" ({SANITY_CHECKS[check].name})" if check else "")
    failed = [METHODS[m].name for m, passed in verdicts.items() if not passed]
    if not failed:
        return Sentence(f"All {len(verdicts)} checked methods passed {named}: their maps change when the "
                        "model's weights are randomised.", {"sanity_failed": 0})
    one = len(failed) == 1
    stays, shows = ("its map stays", "it shows") if one else ("their maps stay", "they show")
    return Sentence(f"{', '.join(failed)} failed {named}: {stays} alike when the model's weights are "
                    f"randomised, so {shows} the input more than the model.", {"sanity_failed": len(failed)})


def grounded_text(model_id: str, prediction: Prediction, explanations: Sequence[Explanation],
                  truth: np.ndarray | None = None, sanity: dict[str, bool] | None = None,
                  sanity_check: str | None = None) -> list[Sentence]:
    """The paragraph for one model's maps, sentence by sentence. `truth` is on the maps' grid; without it a
    segmentation's maps are located against the region they explain."""
    region, name = truth, "ground truth"
    if region is None and explanations and explanations[0].target.region is not None:
        region, name = explanations[0].target.region, "region the model predicts and the maps explain"
    sentences = [prediction_sentence(model_id, prediction), distribution_sentence(prediction),
                 *location_sentences(explanations, region, name), agreement_sentence(explanations),
                 sanity_sentence(sanity or {}, sanity_check)]
    return [s for s in sentences if s is not None]
