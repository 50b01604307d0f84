"""A report's content, computed once, and the ZIP made of it: every map (NPY), every overlay (PNG), the metrics
(CSV), the grounded text, the manifest (JSON) and, for audio, what each map's top 20% and the rest of the
window sound like. The PDF (`pdf.py`) is drawn from the same `Report`.

One path for the app's downloads and `xai_models.py --zip/--report`: everything is built in memory.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbench.io.writers import csv_text, npy_bytes
from workbench.methods import Explanation
from workbench.metrics import METRICS
from workbench.models import ModelAdapter, Prediction, predict
from workbench.render import overlay_png as render_overlay_png
from workbench.report.manifest import Analysis, build_manifest, map_file
from workbench.report.text import Sentence, grounded_text
from workbench.service import Curve, faithfulness_curves, prepare_input
from workbench.tasks import AudioTask, Picture, Task, get_task

LISTEN_SHARE = 0.2  # the share of a spectrogram's bins in an audio explanation's "top" part


@dataclass(frozen=True)
class ModelPart:
    """One model's share of a report: the input as it saw it, its prediction, its maps and its paragraph."""

    model: ModelAdapter
    window: np.ndarray  # the raw input explained (audio: the window)
    x: np.ndarray  # the model's input
    picture: Picture
    prediction: Prediction
    truth: np.ndarray | None
    explanations: list[Explanation]
    sentences: list[Sentence]


@dataclass(frozen=True)
class Report:
    task: Task
    analysis: Analysis
    manifest: dict
    parts: list[ModelPart]
    scores: list[dict]  # aligned with analysis.explanations
    curves: list[dict[str, Curve]]  # the same
    sanity: dict[tuple[str, str], bool]  # (model, method) -> passed, for the checks that ran
    sanity_check: str | None = None  # which check (a SANITY_CHECKS id) gave those verdicts


def build_report(analysis: Analysis, scores: Sequence[dict], truths: dict[str, np.ndarray | None] | None = None,
                 sanity: dict[tuple[str, str], bool] | None = None, curves: Sequence[dict] | None = None,
                 sanity_check: str | None = None) -> Report:
    """`scores` (and `curves`, computed here when not given) are aligned with the analysis's explanations;
    `truths` are by model id on each model's grid; `sanity` by (model, method), the verdicts of `sanity_check`."""
    truths, sanity = truths or {}, sanity or {}
    task = get_task(analysis.task_id)
    raw, _ = task.read(analysis.input_bytes, analysis.input_name)
    parts = []
    for model in analysis.models:
        window, x, _ = prepare_input(task, model, raw, analysis.window)
        mine = [e for e in analysis.explanations if e.model_id == model.info.id]
        prediction = predict(model, x)
        truth = truths.get(model.info.id)
        verdicts = {m: v for (model_id, m), v in sanity.items() if model_id == model.info.id}
        parts.append(ModelPart(model, window, x, task.picture(window, model.info.input), prediction, truth, mine,
                               grounded_text(model.info.id, prediction, mine, truth, verdicts, sanity_check)))
    if curves is None:
        models = {p.model.info.id: p for p in parts}
        curves = [faithfulness_curves(e, models[e.model_id].model, models[e.model_id].x)
                  for e in analysis.explanations]
    return Report(task, analysis, build_manifest(analysis), parts, list(scores), list(curves), dict(sanity),
                  sanity_check if sanity else None)


def paragraphs(report: Report) -> list[str]:
    """The grounded text, a paragraph per model."""
    return [" ".join(s.text for s in part.sentences) for part in report.parts]


def _wav(samples: np.ndarray, rate: int) -> bytes:
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, np.asarray(samples, np.float32), rate, format="WAV", subtype="FLOAT")
    return out.getvalue()


def metrics_table(report: Report) -> list[dict]:
    """One row per map: model, method, seconds, passes, every metric any map has (registry order), the sanity
    verdict and the check that gave it."""
    ids = [m for m in METRICS if any(m in s for s in report.scores)]
    return [{"model": e.model_id, "method": e.method, "seconds": round(e.seconds, 4), "passes": e.passes,
             **{m: s.get(m) for m in ids}, "sanity": report.sanity.get((e.model_id, e.method)),
             "sanity_check": report.sanity_check}
            for e, s in zip(report.analysis.explanations, report.scores)]


def _metrics_csv(rows: list[dict]) -> str:
    return csv_text(rows, list(rows[0]) if rows else ["model", "method"])


def overlay_png(part: ModelPart, e: Explanation, scale: float | None = None) -> bytes:
    """A map over the input as its model saw it, with the truth outlined and the axes drawn."""
    return render_overlay_png(part.picture, e.map, part.truth, scale)


def report_files(report: Report) -> dict[str, bytes]:
    """The ZIP's files by path."""
    files = {"manifest.json": json.dumps(report.manifest, indent=2).encode(),
             "metrics.csv": _metrics_csv(metrics_table(report)).encode(),
             "explanation.txt": ("\n\n".join(paragraphs(report)) + "\n").encode()}
    for part in report.parts:
        for e in part.explanations:
            stem = map_file(e)[len("maps/"):-len(".npy")]
            files[map_file(e)] = npy_bytes(e.map)
            files[f"overlays/{stem}.png"] = overlay_png(part, e)
            if isinstance(report.task, AudioTask):
                from workbench.tasks.listening import listen

                top, rest = listen(part.window, e.map, part.model.info.input, LISTEN_SHARE)
                files[f"audio/{stem}_top{LISTEN_SHARE:.0%}.wav"] = _wav(top, report.task.sample_rate)
                files[f"audio/{stem}_rest.wav"] = _wav(rest, report.task.sample_rate)
    return files

