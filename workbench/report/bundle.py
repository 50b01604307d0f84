"""The report ZIP, built in memory: every map (NPY), every overlay (PNG), the metrics (CSV), the grounded
text, the manifest (JSON) and, for audio, what each map's top 20% and the rest of the window sound like.

One path for the app's download and `xai_models.py --zip`: nothing is written to disk here.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Sequence

import numpy as np

from workbench.methods import Explanation
from workbench.metrics import METRICS
from workbench.models import ModelAdapter, predict
from workbench.render import encode_png, explanation_picture, with_axes
from workbench.report.manifest import Analysis, build_manifest, map_file
from workbench.report.text import grounded_text
from workbench.service import prepare_input
from workbench.tasks import AudioTask, get_task

LISTEN_SHARE = 0.2  # the share of a spectrogram's bins in an audio explanation's "top" part


def _npy(values: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, values)
    return out.getvalue()


def _wav(samples: np.ndarray, rate: int) -> bytes:
    import soundfile

    out = io.BytesIO()
    soundfile.write(out, np.asarray(samples, np.float32), rate, format="WAV", subtype="FLOAT")
    return out.getvalue()


def metrics_table(explanations: Sequence[Explanation], scores: Sequence[dict],
                  sanity: dict[tuple[str, str], bool]) -> str:
    """One row per map: model, method, seconds, passes, every metric any map has (registry order), sanity."""
    ids = [m for m in METRICS if any(m in s for s in scores)]
    out = io.StringIO()
    writer = csv.DictWriter(out, ["model", "method", "seconds", "passes", *ids, "sanity"], lineterminator="\n")
    writer.writeheader()
    for e, s in zip(explanations, scores):
        writer.writerow({"model": e.model_id, "method": e.method, "seconds": round(e.seconds, 4),
                         "passes": e.passes, **{m: s.get(m) for m in ids},
                         "sanity": sanity.get((e.model_id, e.method))})
    return out.getvalue()


def report_files(analysis: Analysis, scores: Sequence[dict], truths: dict[str, np.ndarray | None] | None = None,
                 sanity: dict[tuple[str, str], bool] | None = None, trusted: Sequence[str] = ()) -> dict[str, bytes]:
    """The report's files by path. `scores` are aligned with the analysis's explanations; `truths` (by model
    id) on each model's grid; `sanity` by (model, method), for the checks that ran."""
    truths, sanity = truths or {}, sanity or {}
    task = get_task(analysis.task_id)
    raw, _ = task.read(analysis.input_bytes, analysis.input_name)
    manifest = build_manifest(analysis, trusted)
    files = {"manifest.json": json.dumps(manifest, indent=2).encode(),
             "metrics.csv": metrics_table(analysis.explanations, scores, sanity).encode()}
    paragraphs = []
    for model in analysis.models:
        files |= _model_files(task, model, raw, analysis, truths.get(model.info.id), sanity, paragraphs)
    files["explanation.txt"] = ("\n\n".join(paragraphs) + "\n").encode()
    return files


def _model_files(task, model: ModelAdapter, raw: np.ndarray, analysis: Analysis, truth: np.ndarray | None,
                 sanity: dict[tuple[str, str], bool], paragraphs: list[str]) -> dict[str, bytes]:
    """One model's maps, overlays (and audio), and its paragraph appended to `paragraphs`."""
    window, x, _ = prepare_input(task, model, raw, analysis.window)
    picture = task.picture(window, model.info.input)
    mine = [e for e in analysis.explanations if e.model_id == model.info.id]
    files = {}
    for e in mine:
        stem = map_file(e)[len("maps/"):-len(".npy")]
        files[map_file(e)] = _npy(e.map)
        files[f"overlays/{stem}.png"] = encode_png(with_axes(explanation_picture(picture, e.map, truth)[0],
                                                             picture.axes))
        if isinstance(task, AudioTask):
            from workbench.tasks.audio import listen

            top, rest = listen(window, e.map, model.info.input, LISTEN_SHARE)
            files[f"audio/{stem}_top{LISTEN_SHARE:.0%}.wav"] = _wav(top, task.sample_rate)
            files[f"audio/{stem}_rest.wav"] = _wav(rest, task.sample_rate)
    verdicts = {m: v for (model_id, m), v in sanity.items() if model_id == model.info.id}
    sentences = grounded_text(model.info.id, predict(model, x), mine, truth, verdicts)
    paragraphs.append(" ".join(s.text for s in sentences))
    return files


def report_zip(files: dict[str, bytes]) -> bytes:
    """The files in one ZIP (deflated: maps and text shrink; PNGs and WAVs barely do)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()
