"""Peak memory that Occlusion adds on a 224x224 RGB input (window 8, stride 4: 3,025 patches).

  python benchmarks/bench_memory.py [--out FILE] [--budget-mb N] [--quick]

Each measurement runs in a fresh child process; the number is the rise of the process's peak
resident memory (ru_maxrss) over its level just before `explain`. Writes JSON (default
benchmarks/results/memory.json; --quick: one budget at stride 16, 225 patches, written to the temporary
folder). Before perturbations were chunked, all 3,025 copies were built at once: 3,025 x 602 kB = 1.8 GB.
"""

import argparse
import json
import subprocess
import sys

from outputs import output_path

CHILD = """
import resource, sys, json
import numpy as np, torch
from workbench import device
from workbench.methods import METHODS
from workbench.models import ModelInfo, Target, TorchAdapter, nets
from workbench.specs import InputSpec
device.CHUNK_BYTES["cpu"] = int(sys.argv[1]) * 2**20
stride = int(sys.argv[2])
torch.manual_seed(0)
arch = {"in_channels": 3, "num_classes": 2, "widths": [8, 16], "blocks": [1, 1], "strides": [2, 2]}
info = ModelInfo(id="bench-rgb", task="lung_xray", framework="pytorch", architecture="compact_resnet",
                 arch_params=arch, labels=("a", "b"), input=InputSpec(224, 224, 3, (0.5,) * 3, (0.25,) * 3),
                 target_layer="layer2", revision="bench", path=None)
model = TorchAdapter(nets.build("compact_resnet", **arch), info)
x = np.random.default_rng(0).normal(0, 1, (1, 3, 224, 224)).astype(np.float32)
model.target_scores(x, Target(1))  # warm-up: allocator and kernels before the baseline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
e = METHODS["occlusion"].explain(model, x, Target(1), {"window_height": 8, "window_width": 8,
                                                        "stride_height": stride, "stride_width": stride})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"added_mb": round((after - before) / 1024, 1), "patches": e.meta["patches"],
                  "chunk": e.meta["chunk"], "seconds": round(e.seconds, 2), "passes": e.passes}))
"""


def measure(budget_mb: int, stride: int = 4) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(budget_mb), str(stride)], capture_output=True, text=True,
                          check=True)
    return {"budget_mb": budget_mb, **json.loads(proc.stdout)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-mb", type=int, nargs="+", default=None,
                        help="perturbation chunk budgets to compare (64 is the library's default; default 64 2048, "
                             "--quick: 64)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/memory.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: one budget, Occlusion at stride 16")
    args = parser.parse_args(argv)
    budgets, stride = args.budget_mb or ([64] if args.quick else [64, 2048]), 16 if args.quick else 4
    rows = [measure(b, stride) for b in budgets]
    out = output_path(args.out, "memory.json", args.quick)
    out.write_text(json.dumps({"input": "1x3x224x224 float32", "method": f"occlusion 8x8 / {stride}x{stride}",
                               "runs": rows}, indent=2) + "\n")
    print(f"{'budget MB':>10s} {'chunk':>6s} {'added MB':>9s} {'seconds':>8s}")
    for r in rows:
        print(f"{r['budget_mb']:10d} {r['chunk']:6d} {r['added_mb']:9.1f} {r['seconds']:8.2f}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
