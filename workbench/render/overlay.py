"""Overlays, the shared colour scale and ground-truth outlines.

Maps keep their raw values everywhere else. For display each map is divided by a scale, so every
method lands on the same [-1, 1] colour scale: red = raises the explained score, blue = lowers it,
transparent = no relevance. By default the scale is the map's own robust maximum (99.5th percentile
of |map|); a comparison passes one scale for all its maps. The scale is returned, so the UI can print
it and no magnitude is hidden.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from scipy import ndimage

from workbench.arrays import resize
from workbench.io.image import encode_png
from workbench.render.axes import with_axes
from workbench.tasks import Picture

CMAP = "RdBu_r"
OUTLINE_RGB = (0, 230, 118)  # the ground truth
TOP_RGB = (255, 200, 0)  # a map's most relevant points (the top k% that IoU counts)


def display_scale(heatmap: np.ndarray) -> float:
    """Robust maximum of |map|: one outlier pixel should not wash the rest of the map out."""
    scale = float(np.percentile(np.abs(heatmap), 99.5))
    return scale if scale > 0 else float(np.abs(heatmap).max()) or 1.0


def normalised(heatmap: np.ndarray, scale: float | None = None) -> tuple[np.ndarray, float]:
    """Map on the shared [-1, 1] scale, divided by `scale` (by default the map's own), and that scale."""
    scale = display_scale(heatmap) if scale is None else scale
    return np.clip(heatmap / scale, -1, 1), scale


def as_displayed(array: np.ndarray, picture: Picture) -> np.ndarray:
    """Rows in screen order: a spectrogram's row 0 (lowest band) goes to the bottom."""
    return array[::-1] if picture.axes.origin == "lower" else array


def base_picture(picture: Picture, mask: np.ndarray | None = None) -> np.ndarray:
    """The input as uint8 RGB in screen order, with the ground-truth outline if given."""
    rgb = (255 * as_displayed(picture.rgb, picture)).round().astype(np.uint8)
    return draw_outline(rgb, None if mask is None else as_displayed(mask, picture))


def overlay(base_rgb: np.ndarray, heatmap: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """Blend a map (already on the [-1, 1] scale) over an RGB image; returns uint8 H x W x 3."""
    colours = colormaps[CMAP]((heatmap + 1) / 2)[..., :3]
    weight = alpha * np.abs(heatmap)[..., None]
    gray = base_rgb.mean(axis=-1, keepdims=True) * np.ones(3)
    return (255 * ((1 - weight) * gray + weight * colours)).round().astype(np.uint8)


def draw_outline(rgb: np.ndarray, mask: np.ndarray | None,
                 colour: tuple[int, int, int] = OUTLINE_RGB) -> np.ndarray:
    """A mask's outline (by default the ground truth's colour) drawn onto a uint8 image (the mask is resized
    to fit)."""
    if mask is None or not mask.any():
        return rgb
    if mask.shape != rgb.shape[:2]:
        mask = resize(mask.astype(np.float32), rgb.shape[:2], mode="bilinear") >= 0.5
    edge = mask & ~ndimage.binary_erosion(mask)
    out = rgb.copy()
    out[edge] = colour
    return out


# Class colours of a label map (class 0, the background, is left undrawn).
CLASS_RGB = np.array([(0, 0, 0), (255, 64, 64), (255, 196, 0), (64, 160, 255), (170, 90, 255), (0, 200, 160)],
                     np.uint8)


def class_colours(n: int) -> list[tuple[int, int, int]]:
    """The colour of each of `n` classes, as drawn by `segmentation_picture`."""
    return [tuple(int(c) for c in CLASS_RGB[k % len(CLASS_RGB)]) for k in range(n)]


def segmentation_picture(picture: Picture, label_map: np.ndarray, alpha: float = 0.55,
                         truth: np.ndarray | None = None) -> np.ndarray:
    """A label map over the picture (each foreground class in its colour), truth outline if given."""
    rgb = base_picture(picture).astype(np.float32)
    shown = as_displayed(label_map, picture)
    colours = CLASS_RGB[shown % len(CLASS_RGB)].astype(np.float32)
    weight = alpha * (shown > 0)[..., None]
    blended = ((1 - weight) * rgb + weight * colours).round().astype(np.uint8)
    return draw_outline(blended, None if truth is None else as_displayed(truth, picture))


def colourbar(width: int = 256, height: int = 14) -> np.ndarray:
    """The shared scale as a uint8 strip, from -1 (left) to +1 (right)."""
    ramp = np.linspace(-1, 1, width)[None].repeat(height, 0)
    return (255 * colormaps[CMAP]((ramp + 1) / 2)[..., :3]).astype(np.uint8)


def explanation_picture(picture: Picture, heatmap: np.ndarray, mask: np.ndarray | None = None, *,
                        scale: float | None = None, alpha: float = 0.75,
                        top: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Overlay of one map on the picture it explains (screen order) at opacity `alpha`, divided by `scale`
    (default: the map's own), with the outlines of the truth `mask` and of the map's `top` points if given."""
    norm, scale = normalised(heatmap, scale)
    drawn = overlay(as_displayed(picture.rgb, picture), as_displayed(norm, picture), alpha)
    if top is not None:
        drawn = draw_outline(drawn, as_displayed(top, picture), TOP_RGB)
    return draw_outline(drawn, None if mask is None else as_displayed(mask, picture)), scale


def overlay_png(picture: Picture, heatmap: np.ndarray, mask: np.ndarray | None = None,
                scale: float | None = None) -> bytes:
    """The overlay file of a map: `explanation_picture` with the truth outlined and the axes drawn, as PNG. The one
    overlay writer: the CLI's maps folder and the report ZIP's overlays/ hold the same bytes for the same map."""
    return encode_png(with_axes(explanation_picture(picture, heatmap, mask, scale=scale)[0], picture.axes))
