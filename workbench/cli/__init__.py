"""The two command lines: `inference.py` (list, predict) and `xai_models.py` (explain, evaluate, reproduce).

Bad input prints one line on stderr and exits with code 2 (`fail`); nothing is written for it.
"""

from workbench.cli.evaluate import evaluate_main, reproduce_main
from workbench.cli.explain import explain_main
from workbench.cli.predict import listing, predict_main

__all__ = ["evaluate_main", "explain_main", "listing", "predict_main", "reproduce_main"]
