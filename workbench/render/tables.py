"""Tables the app draws: the confusion matrix, its counts shaded by their share of each true class."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler


def confusion_table(confusion: list[list[int]] | np.ndarray, labels: tuple[str, ...]) -> Styler:
    """Rows: the true class, columns: the predicted one. Shaded by the row's share rather than the count, so
    a rare class's misses show as clearly as a common one's."""
    import pandas as pd  # loaded when a table is drawn, not with the command line that imports this package

    counts = np.asarray(confusion)
    frame = pd.DataFrame(counts, index=[f"true {label}" for label in labels],
                         columns=[f"predicted {label}" for label in labels])
    totals = counts.sum(1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    return frame.style.background_gradient(cmap="Blues", gmap=shares, axis=None, vmin=0, vmax=1)
