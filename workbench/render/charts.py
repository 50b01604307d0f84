"""Charts of a comparison: an agreement matrix as a heatmap, and every deletion and insertion curve in one picture.

Drawn off-screen and returned as uint8 RGB pictures, like every other picture `render` makes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from workbench.render.axes import figure_rgb
from workbench.render.overlay import CMAP


def matrix_picture(matrix: np.ndarray, labels: Sequence[str], title: str,
                   limits: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """A square matrix (one row and column per label) as a heatmap on `limits`, each value written in its cell."""
    n = len(labels)
    size = 2.4 + 0.55 * n
    fig = Figure(figsize=(size + 1.2, size), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    cmap = colormaps[CMAP if limits[0] < 0 else "viridis"]
    image = ax.imshow(matrix, vmin=limits[0], vmax=limits[1], cmap=cmap)
    ax.set_xticks(range(n), labels, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    for (row, col), value in np.ndenumerate(matrix):
        r, g, b, _ = cmap((value - limits[0]) / (limits[1] - limits[0]))
        ink = "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"  # readable on dark and light cells
        ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8, color=ink)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title, fontsize=10)
    return figure_rgb(fig)


def curves_picture(series: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], x_label: str,
                   y_label: str) -> np.ndarray:
    """Every curve in one picture: a panel per kind of curve (the inner keys: deletion, insertion), a colour per
    series (a map) in every panel, one legend for all."""
    kinds = list(dict.fromkeys(kind for curves in series.values() for kind in curves))
    palette = colormaps["tab10" if len(series) <= 10 else "tab20"].colors
    per_row = 3 if max(map(len, series)) <= 32 else 2  # legend entries a row, as many as fit the width
    rows = -(-len(series) // per_row)
    fig = Figure(figsize=(9.0, 3.4 + 0.22 * rows), dpi=110, layout="constrained")
    panels = fig.subplots(1, len(kinds), sharey=True, squeeze=False)[0]
    for k, curves in enumerate(series.values()):
        for kind, (x, y) in curves.items():
            panels[kinds.index(kind)].plot(x, y, color=palette[k % len(palette)], linewidth=1.4)
    for ax, kind in zip(panels, kinds):
        ax.set_title(kind, fontsize=10)
        ax.set_xlabel(x_label, fontsize=9)
        ax.set_xlim(0, 1)
        ax.grid(alpha=0.3)
    panels[0].set_ylabel(y_label, fontsize=9)
    handles = [Line2D([], [], color=palette[k % len(palette)], linewidth=2) for k in range(len(series))]
    fig.legend(handles, list(series), loc="outside lower center", ncols=min(per_row, len(series)), fontsize=8)
    return figure_rgb(fig)
