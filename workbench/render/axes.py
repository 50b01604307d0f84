"""Real axes around a picture whose rows and columns measure something (a spectrogram's Hz and seconds).

Images in pixels are returned as they are. A spectrogram's rows are mel bands, so frequency ticks
sit where those frequencies fall on the mel scale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from workbench import events
from workbench.tasks import Axes

if TYPE_CHECKING:  # matplotlib is imported when something is drawn, not with the app
    from matplotlib.figure import Figure

HZ_TICKS = (0, 250, 500, 1000, 2000, 4000, 8000, 16000)


def _mel(hz: np.ndarray) -> np.ndarray:
    from librosa import hz_to_mel

    return np.asarray(hz_to_mel(hz))


def with_axes(rgb: np.ndarray, axes: Axes, title: str = "") -> np.ndarray:
    """`rgb` (uint8, screen order) inside labelled axes, as uint8 RGB; unchanged for pixel axes."""
    if axes.x_unit == "px":
        return rgb
    from matplotlib.figure import Figure

    height = rgb.shape[0]
    fig = Figure(figsize=(7.0, 3.4), dpi=100)
    ax = fig.add_subplot()
    ax.imshow(rgb, extent=(*axes.x_range, 0, height), aspect="auto", interpolation="nearest")
    lo, hi = axes.y_range
    ticks = np.array([f for f in HZ_TICKS if lo <= f <= hi], float)
    if axes.y_scale == "mel":
        rows = (_mel(ticks) - _mel(np.array(lo))) / (_mel(np.array(hi)) - _mel(np.array(lo))) * height
    else:
        rows = (ticks - lo) / (hi - lo) * height
    ax.set_yticks(rows, [f"{f / 1000:g}k" if f >= 1000 else f"{f:g}" for f in ticks])
    ax.set_xlabel(f"{axes.x_label} ({axes.x_unit})")
    ax.set_ylabel(f"{axes.y_label} ({axes.y_unit})")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return figure_rgb(fig)


def figure_rgb(fig: Figure) -> np.ndarray:
    """A matplotlib figure drawn off-screen, as uint8 RGB: pictures, not figures, leave `render`."""
    events.count("figures")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
