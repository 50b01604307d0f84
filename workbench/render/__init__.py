"""The one place that draws. Methods return data; the app and the CLI draw through here."""

from workbench.io.image import encode_png
from workbench.render.axes import with_axes
from workbench.render.overlay import (
    base_picture,
    class_colours,
    colourbar,
    display_scale,
    draw_outline,
    explanation_picture,
    normalised,
    overlay,
    segmentation_picture,
)

__all__ = ["base_picture", "class_colours", "colourbar", "display_scale", "draw_outline", "encode_png",
           "explanation_picture", "normalised", "overlay", "segmentation_picture", "with_axes"]
