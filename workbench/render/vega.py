"""The app's interactive charts as Vega-Lite specifications: plain dicts of the numbers and how to draw them.

The same numbers the PDF report draws with matplotlib (`render.charts`) go in as data values, so the two say the
same thing; here a value shows on hover and a click on a legend entry picks one map's curves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PICK = "pick"  # the legend selection's name


def curve_records(series: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]) -> list[dict]:
    """One record a point: the map (series), the kind of curve, x and y, as the chart's data."""
    return [{"map": name, "curve": kind, "x": float(x), "y": float(y)}
            for name, curves in series.items() for kind, (xs, ys) in curves.items() for x, y in zip(xs, ys)]


def curves_spec(series: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], x_label: str, y_label: str) -> dict:
    """Every curve: a panel per kind of curve, a colour per map; hover for values, click the legend to pick."""
    return {
        "data": {"values": curve_records(series)},
        "facet": {"column": {"field": "curve", "type": "nominal", "title": None}},
        "spec": {
            "width": 300, "height": 220,
            "mark": {"type": "line", "point": {"size": 12}, "strokeWidth": 1.6},
            "params": [{"name": PICK, "select": {"type": "point", "fields": ["map"]}, "bind": "legend"}],
            "encoding": {
                "x": {"field": "x", "type": "quantitative", "title": x_label, "scale": {"domain": [0, 1]}},
                "y": {"field": "y", "type": "quantitative", "title": y_label},
                "color": {"field": "map", "type": "nominal", "title": "map",
                          "legend": {"orient": "bottom", "columns": 3, "labelLimit": 400}},
                "opacity": {"condition": {"param": PICK, "value": 1}, "value": 0.12},
                "tooltip": [{"field": "map"}, {"field": "curve"}, {"field": "x", "format": ".2f", "title": "share"},
                            {"field": "y", "format": ".3f", "title": "probability"}],
            },
        },
    }


def matrix_spec(matrix: np.ndarray, labels: Sequence[str], title: str, limits: tuple[float, float]) -> dict:
    """A square matrix as a heatmap on `limits` with each value written in its cell and shown on hover."""
    values = [{"row": labels[r], "column": labels[c], "value": float(v)} for (r, c), v in np.ndenumerate(matrix)]
    scheme = "redblue" if limits[0] < 0 else "viridis"
    axis = {"sort": list(labels), "title": None}
    return {
        "title": title, "data": {"values": values}, "width": 60 * len(labels) + 40, "height": 60 * len(labels),
        "encoding": {"x": {"field": "column", "type": "nominal", **axis, "axis": {"labelAngle": -30}},
                     "y": {"field": "row", "type": "nominal", **axis}},
        "layer": [
            {"mark": "rect", "encoding": {
                "color": {"field": "value", "type": "quantitative", "title": None,
                          "scale": {"domain": list(limits), "scheme": scheme, "reverse": scheme == "redblue"}},
                "tooltip": [{"field": "row"}, {"field": "column"}, {"field": "value", "format": ".3f"}]}},
            {"mark": {"type": "text", "fontSize": 11},
             "encoding": {"text": {"field": "value", "format": ".2f"}}},
        ],
    }
