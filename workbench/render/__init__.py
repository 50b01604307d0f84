"""The one place that draws. Methods return data; the app and the CLI draw through here."""

from workbench.io.image import encode_png
from workbench.render.axes import with_axes
from workbench.render.charts import curves_picture, matrix_picture
from workbench.render.overlay import (
    base_picture,
    class_colours,
    colourbar,
    display_scale,
    draw_outline,
    explanation_picture,
    normalised,
    overlay,
    overlay_png,
    segmentation_picture,
)
from workbench.render.tables import confusion_table as confusion_table

__all__ = ["base_picture", "class_colours", "colourbar", "curves_picture", "display_scale", "draw_outline",
           "encode_png", "explanation_picture", "matrix_picture", "normalised", "overlay", "overlay_png",
           "segmentation_picture",
           "with_axes"]
