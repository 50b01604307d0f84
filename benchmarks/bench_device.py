"""Seconds per map for every method, on each device this machine has: a bundled model and two full-size Hub-style
classifiers (timm's ResNet-50 and ViT-B/16 at 224 x 224, built with random weights: no download).

  python benchmarks/bench_device.py [--models bundled,resnet50,vit] [--methods ID,...] [--out FILE] [--quick]

Each model is moved to each device `workbench.device` finds here (the CPU, and each CUDA GPU torch sees), every
method it offers runs once, timed, at its default settings on the task's first sample (a lung phantom; for the
timm models scikit-image's photograph), after one warm-up pass. The same command on a GPU machine prints the GPU's
column beside the CPU's. Prints a table, writes JSON (default benchmarks/results/device.json; --quick: a smoke
run of the bundled model with Grad-CAM and Saliency, written to the temporary folder).
"""

import argparse
import json
import time

import torch
from outputs import output_path

from workbench.methods import compatible_methods
from workbench.models import ModelInfo, load_model, predict
from workbench.models.foreign import IMAGENET_MEAN, IMAGENET_STD
from workbench.models.torch_adapter import TorchAdapter
from workbench.paths import ROOT
from workbench.service import prepare_input, target_for
from workbench.specs import GENERIC_TASK, InputSpec
from workbench.tasks import TASKS

TIMM = {"resnet50": "resnet50", "vit": "vit_base_patch16_224"}
BUNDLED = "lung_xray-resnet34-compact"


def devices() -> list[str]:
    return ["cpu", *(f"cuda:{k}" for k in range(torch.cuda.device_count()))]


def build(name: str) -> TorchAdapter:
    """The bundled model, or a timm classifier with random weights behind the adapter Hub models get."""
    if name == "bundled":
        return load_model(BUNDLED)
    import timm

    torch.manual_seed(0)
    module = timm.create_model(TIMM[name], pretrained=False, num_classes=1000)
    spec = InputSpec(224, 224, 3, IMAGENET_MEAN, IMAGENET_STD)
    info = ModelInfo(id=f"timm:{TIMM[name]} (random weights)", task=GENERIC_TASK, framework="pytorch",
                     architecture=f"timm:{TIMM[name]}", arch_params={}, labels=tuple(f"class {k}" for k in range(1000)),
                     input=spec, target_layer="", revision="random", path=ROOT)
    return TorchAdapter.foreign(module, info)


def measure(names: list[str], method_ids: list[str] | None) -> list[dict]:
    rows = []
    for name in names:
        model = build(name)
        task = TASKS[model.info.task]
        sample = task.samples()[0]  # a real picture: superpixel methods see its structure, not noise
        _, x, _ = prepare_input(task, model, task.read(sample.path.read_bytes(), sample.path.name)[0])
        methods = [m for m in compatible_methods(task, model) if method_ids is None or m.id in method_ids]
        for device in devices():
            model.on(device)
            target = target_for(model, predict(model, x))
            model.input_gradients(x, target)  # warm-up on the device: kernels, allocator, autograd set-up
            for method in methods:
                start = time.perf_counter()
                e = method.explain(model, x, target, None, 1)
                seconds = time.perf_counter() - start
                rows.append({"model": model.info.id, "device": device, "method": method.id, "passes": e.passes,
                             "seconds": round(seconds, 3)})
                print(f"{model.info.id:<42}{device:<8}{method.name:<28}{e.passes:>7}{seconds:>10.3f}", flush=True)
        model.on("cpu")
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=None, help="default bundled,resnet50,vit (--quick: bundled)")
    parser.add_argument("--methods", default=None, help="method ids (default: every method a model offers; --quick: "
                                                        "gradcam,saliency)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/device.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: the bundled model, two methods")
    args = parser.parse_args(argv)
    models = args.models or ("bundled" if args.quick else "bundled,resnet50,vit")
    methods = args.methods or ("gradcam,saliency" if args.quick else None)
    print(f"{'model':<42}{'device':<8}{'method':<28}{'passes':>7}{'seconds':>10}")
    rows = measure(models.split(","), methods.split(",") if methods else None)
    output_path(args.out, "device.json", args.quick).write_text(
        json.dumps({"devices": devices(), "torch": torch.__version__, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
