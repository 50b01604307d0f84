"""The report as a PDF (fpdf2), drawn from a built `Report`: the input and each model's prediction with its
out-of-distribution verdict, the grid of maps (methods x models) on one colour scale per method with the
colour bar, the metrics with their directions and the sanity badges, the deletion and insertion curves,
the agreement matrix, and the grounded text. DejaVu Sans (shipped with matplotlib) covers every character
we write; every text box wraps, so a long model id breaks over lines instead of running off the page.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from workbench.comparison import curve_series
from workbench.methods import METHODS
from workbench.metrics import METRICS
from workbench.metrics.agreement import spearman_matrix
from workbench.metrics.sanity import SANITY_CHECKS
from workbench.render import colourbar, curves_picture, encode_png, matrix_picture, with_axes
from workbench.render.overlay import base_picture
from workbench.report.bundle import Report, metrics_table, overlay_png, paragraphs

WIDTH = 190.0  # mm between the margins of an A4 page
LABEL = 32.0  # mm: the method names' column of the grid


def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _pdf():
    from fpdf import FPDF

    pdf = FPDF(format="A4", unit="mm")
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_font("DejaVu", "", str(_font_dir() / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
    pdf.add_page()
    return pdf


def _text(pdf, text: str, size: float = 9, bold: bool = False, width: float = 0) -> None:
    pdf.set_font("DejaVu", "B" if bold else "", size)
    pdf.multi_cell(width, size * 0.5, text.replace("`", ""), new_x="LMARGIN", new_y="NEXT", align="L")


def _image(pdf, png: bytes, x: float, y: float, w: float) -> float:
    """Draw a PNG `w` mm wide; its height in mm."""
    info = pdf.image(io.BytesIO(png), x=x, y=y, w=w)
    return float(info.rendered_height)


def _row_scale(report: Report, method: str) -> float:
    """One colour scale per method: its maps' largest |value| on every model (1 when all are zero)."""
    values = [float(np.abs(e.map).max()) for e in report.analysis.explanations if e.method == method]
    return max(values, default=0.0) or 1.0


def _heads(pdf, report: Report) -> None:
    analysis = report.analysis
    _text(pdf, f"XAI Workbench report: {analysis.input_name}", 15, bold=True)
    _text(pdf, f"{report.task.name}. Made {report.manifest['created']}; input sha256 "
               f"{report.manifest['input']['sha256'][:16]}" + (f", window {analysis.window}" if analysis.window
                                                              is not None else "") + ".", 8)
    pdf.ln(2)
    for part in report.parts:
        info = part.model.info
        _text(pdf, f"{info.id} (revision {info.revision[:12]}, {info.source})", 10, bold=True)
        _text(pdf, " ".join(s.text for s in part.sentences[:2]), 9)
        pdf.ln(1)


def _strip(pdf, report: Report) -> None:
    """One model: the input, then each method's map, four to a row, each titled with its scale."""
    part = report.parts[0]
    pictures = [("input", encode_png(with_axes(base_picture(part.picture, part.truth), part.picture.axes)))]
    pictures += [(f"{METHODS[e.method].name} (scale ±{_row_scale(report, e.method):.3g})",
                  overlay_png(part, e, _row_scale(report, e.method))) for e in part.explanations]
    per_row, gap = 4, 2.0
    cell = (WIDTH - gap * (per_row - 1)) / per_row
    for start in range(0, len(pictures), per_row):
        row = pictures[start:start + per_row]
        height = cell * part.picture.rgb.shape[0] / part.picture.rgb.shape[1] + 10
        if pdf.get_y() + height > pdf.h - 14:
            pdf.add_page()
        y = pdf.get_y()
        drawn = []
        for k, (title, png) in enumerate(row):
            pdf.set_xy(10 + k * (cell + gap), y)
            _text(pdf, title, 7, width=cell)
            drawn.append(_image(pdf, png, 10 + k * (cell + gap), y + 7, cell))
        pdf.set_y(y + 7 + max(drawn) + 2)


def _grid(pdf, report: Report) -> None:
    """Methods are rows, models columns; each image keeps its aspect ratio and the row is as tall as the tallest.
    One model's pictures go in rows of four instead (`_strip`)."""
    parts = report.parts
    if len(parts) == 1:
        _text(pdf, "Maps, one colour scale per method", 11, bold=True)
        _strip(pdf, report)
        _colour_bar(pdf)
        return
    methods = list(dict.fromkeys(e.method for e in report.analysis.explanations))
    cell = min(48.0, (WIDTH - LABEL) / max(len(parts), 1))
    _text(pdf, "Maps (methods x models), one colour scale per method", 11, bold=True)
    top = pdf.get_y()
    for k, part in enumerate(parts):  # column heads: the input as each model saw it, the truth outlined
        pdf.set_xy(10 + LABEL + k * cell, top)
        _text(pdf, part.model.info.id, 7, width=cell - 1)
    y = max(pdf.get_y(), top + 8)
    heights = [_image(pdf, encode_png(with_axes(base_picture(p.picture, p.truth), p.picture.axes)),
                      10 + LABEL + k * cell, y, cell - 2) for k, p in enumerate(parts)]
    pdf.set_xy(10, y)
    _text(pdf, "input", 8, width=LABEL - 2)
    y += max(heights) + 2
    for method in methods:
        scale = _row_scale(report, method)
        images = [(k, next((e for e in p.explanations if e.method == method), None)) for k, p in enumerate(parts)]
        height = max(cell * p.picture.rgb.shape[0] / p.picture.rgb.shape[1] for p in parts) + 8
        if y + height > pdf.h - 14:
            pdf.add_page()
            y = pdf.get_y()
        pdf.set_xy(10, y)
        _text(pdf, f"{METHODS[method].name}\n(scale ±{scale:.3g})", 8, width=LABEL - 2)
        drawn = [_image(pdf, overlay_png(parts[k], e, scale), 10 + LABEL + k * cell, y, cell - 2)
                 for k, e in images if e is not None]
        for k, e in images:
            if e is None:
                pdf.set_xy(10 + LABEL + k * cell, y)
                _text(pdf, "not run on this model", 7, width=cell - 2)
        y += max(drawn, default=10) + 2
    pdf.set_y(y)
    _colour_bar(pdf)


def _colour_bar(pdf) -> None:
    y = pdf.get_y()
    _image(pdf, encode_png(colourbar()), 10, y, 60)
    pdf.set_y(y + 5)
    _text(pdf, "Colour bar: −scale (lowers the explained score) … 0 … +scale (raises it); green outline: "
               "ground truth.", 7)


def _sanity_label(check: str | None) -> str:
    return "sanity check" + (f" ({SANITY_CHECKS[check].short})" if check else "")


def _metrics(pdf, report: Report) -> None:
    """A table per model: metrics as rows (name and the direction in which it is better), methods as columns."""
    rows = metrics_table(report)
    ids = [m for m in METRICS if rows and m in rows[0]]
    for part in report.parts:
        mine = [r for r in rows if r["model"] == part.model.info.id]
        if not mine:
            continue
        if pdf.get_y() + 10 + 4.2 * (len(ids) + 4) > pdf.h - 14:
            pdf.add_page()
        _text(pdf, f"Metrics: {part.model.info.id}", 11, bold=True)
        label_width = 52.0
        width = min(22.0, (WIDTH - label_width) / len(mine))
        pdf.set_font("DejaVu", "B", 7)
        with pdf.table(col_widths=(label_width, *[width] * len(mine)), width=label_width + width * len(mine),
                       text_align=("LEFT", *["RIGHT"] * len(mine)), line_height=4, first_row_as_headings=True,
                       align="LEFT") as table:
            head = table.row()
            head.cell("metric (better)")
            for r in mine:
                head.cell(METHODS[r["method"]].name)
            pdf.set_font("DejaVu", "", 7)
            lines = [("seconds (↓)", [f"{r['seconds']:.3f}" for r in mine]),
                     ("model passes", [str(r["passes"]) for r in mine]),
                     *[(f"{METRICS[m].name} ({'↑' if METRICS[m].higher_is_better else '↓'})",
                        ["–" if r[m] is None else f"{r[m]:.3f}" for r in mine]) for m in ids],
                     (_sanity_label(report.sanity_check),
                      ["–" if r["sanity"] is None else "passed" if r["sanity"] else "FAILED" for r in mine])]
            for name, values in lines:
                row = table.row()
                row.cell(name)
                for value in values:
                    row.cell(value)
        pdf.ln(2)


def _figures(pdf, report: Report) -> None:
    """The deletion and insertion curves of every map, then the agreement matrix of the first model with two
    maps or more."""
    several = len(report.parts) > 1
    series = curve_series([(e.method, e.model_id, c) for e, c in zip(report.analysis.explanations, report.curves)],
                          several)
    if series:
        png = encode_png(curves_picture(series, "share of the input changed, most relevant first",
                                        "probability of the explained class"))
        _figure(pdf, "Deletion and insertion", png, WIDTH)
    part = next((p for p in report.parts if len(p.explanations) >= 2), None)
    if part is not None:
        matrix = spearman_matrix(np.stack([e.map for e in part.explanations]))
        png = encode_png(matrix_picture(matrix, [METHODS[e.method].name for e in part.explanations],
                                        "Spearman rank correlation"))
        _figure(pdf, f"Agreement between the methods of {part.model.info.id}", png, 110)


def _figure(pdf, title: str, png: bytes, width: float) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        height = width * image.height / image.width
    if pdf.get_y() + height + 10 > pdf.h - 14:
        pdf.add_page()
    _text(pdf, title, 11, bold=True)
    y = pdf.get_y()
    _image(pdf, png, 10, y, width)
    pdf.set_y(y + height + 2)


def report_pdf(report: Report) -> bytes:
    """The whole report as PDF bytes."""
    pdf = _pdf()
    _heads(pdf, report)
    _grid(pdf, report)
    pdf.ln(3)
    _metrics(pdf, report)
    _figures(pdf, report)
    if pdf.get_y() > pdf.h - 40:
        pdf.add_page()
    _text(pdf, "What the numbers say", 11, bold=True)
    for paragraph in paragraphs(report):
        _text(pdf, paragraph, 9)
        pdf.ln(1)
    _text(pdf, "Each sentence states numbers computed above. manifest.json (in the report ZIP) records the model "
               "revisions and weight digests, the input's digest, every parameter, seed and pass count: `python "
               "xai_models.py reproduce REPORT.zip --input FILE` makes every map again.", 7)
    return bytes(pdf.output())
