"""The one place that draws: overlays, the shared colour scale, ground-truth outlines.

Maps keep their raw values everywhere else. For display each map is divided by its own robust
maximum (99.5th percentile of |map|), so every method lands on the same [-1, 1] colour scale:
red = raises the explained score, blue = lowers it, transparent = no relevance. The scale factor
is returned, so the UI can print it under each picture and no magnitude is hidden.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from PIL import Image
from scipy import ndimage

CMAP = "RdBu_r"
OUTLINE_RGB = (0, 230, 118)


def display_scale(heatmap: np.ndarray) -> float:
    """Robust maximum of |map|: one outlier pixel should not wash the rest of the map out."""
    scale = float(np.percentile(np.abs(heatmap), 99.5))
    return scale if scale > 0 else float(np.abs(heatmap).max()) or 1.0


def normalised(heatmap: np.ndarray) -> tuple[np.ndarray, float]:
    """Map on the shared [-1, 1] scale, and the factor it was divided by."""
    scale = display_scale(heatmap)
    return np.clip(heatmap / scale, -1, 1), scale


def input_rgb(raw: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The decoded input as RGB float in [0, 1] at the model's input size (what was explained)."""
    from inference import resize

    chw = raw[None] if raw.ndim == 2 else np.moveaxis(raw, -1, 0)
    img = np.moveaxis(resize(chw, size), 0, -1)
    return np.clip(np.repeat(img, 3, axis=-1) if img.shape[-1] == 1 else img[..., :3], 0, 1)


def overlay(base_rgb: np.ndarray, heatmap: np.ndarray, alpha: float = 0.75) -> np.ndarray:
    """Blend a map (already on the [-1, 1] scale) over an RGB image; returns uint8 H x W x 3."""
    colours = colormaps[CMAP]((heatmap + 1) / 2)[..., :3]
    weight = alpha * np.abs(heatmap)[..., None]
    gray = base_rgb.mean(axis=-1, keepdims=True) * np.ones(3)
    return (255 * ((1 - weight) * gray + weight * colours)).round().astype(np.uint8)


def draw_outline(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Ground-truth mask outline drawn onto a uint8 image (the mask is resized to fit)."""
    if mask is None or not mask.any():
        return rgb
    if mask.shape != rgb.shape[:2]:
        mask = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).resize(
            rgb.shape[1::-1], Image.NEAREST)) > 127
    edge = mask & ~ndimage.binary_erosion(mask)
    out = rgb.copy()
    out[edge] = OUTLINE_RGB
    return out


def colourbar(width: int = 256, height: int = 14) -> np.ndarray:
    """The shared scale as a uint8 strip, from -1 (left) to +1 (right)."""
    ramp = np.linspace(-1, 1, width)[None].repeat(height, 0)
    return (255 * colormaps[CMAP]((ramp + 1) / 2)[..., :3]).astype(np.uint8)


def explanation_picture(raw: np.ndarray, heatmap: np.ndarray, size: tuple[int, int],
                        mask: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Overlay of one explanation map on its input, with the ground-truth outline if given."""
    norm, scale = normalised(heatmap)
    return draw_outline(overlay(input_rgb(raw, size), norm), mask), scale


def png_bytes(picture: np.ndarray) -> bytes:
    """A uint8 picture (H x W x 3) encoded as PNG."""
    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, "PNG")
    return buf.getvalue()


def save_overlay_png(path: str | Path, raw: np.ndarray, explanation, spec) -> None:
    """Write an explanation's overlay at the model's input size as PNG."""
    picture, _ = explanation_picture(raw, explanation.map, (spec.height, spec.width))
    Path(path).write_bytes(png_bytes(picture))
