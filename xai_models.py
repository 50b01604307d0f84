"""Public face for XAI methods and metrics, and the explanation CLI.

  python xai_models.py --task lung_xray --model MODEL --input FILE \
      --methods gradcam,integrated_gradients,occlusion [--param occlusion.window_width=16] --out DIR [--json]
  python xai_models.py evaluate --task lung_xray --model MODEL[,MODEL2] --methods gradcam,saliency --n 50 \
      --csv OUT.csv [--sanity] [--json]

The library is the `workbench` package; this file only re-exports its contracts and runs the CLI.
"""

import sys

from workbench.cli import explain_main as main
from workbench.methods import METHODS, Cost, Explanation, Method, Param, compatible_methods
from workbench.metrics import METRICS, Metric
from workbench.service import run_methods

__all__ = ["METHODS", "METRICS", "Cost", "Explanation", "Method", "Metric", "Param", "compatible_methods", "main",
           "run_methods"]

if __name__ == "__main__":
    sys.exit(main())
