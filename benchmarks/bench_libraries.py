"""Our methods beside the libraries' default usage, on the same model, input and target.

  python benchmarks/bench_libraries.py [--model ID] [--repeats N] [--out FILE] [--quick]

Side by side, at equal settings: lime_image's default usage (quickshift, batches of 10, 1,000 samples)
and our `lime` (lime's fit on our superpixels and batched scoring); shap's image usage (`shap.Explainer`
with an inpainting Image masker, 1,000 evaluations) and our `kernel_shap` (shap.KernelExplainer, 1,000
coalitions); Captum's Occlusion (8x8, stride 4, one perturbation per evaluation, its default),
IntegratedGradients (50 steps) and NoiseTunnel SmoothGrad (10 samples) and ours. Then the targets: lime
and kernel_shap at least 5x faster than the library usage, no method slower than Captum, normgrad_o1 at
most 2x normgrad_o0. Prints a table, writes JSON (default benchmarks/results/libraries.json; --quick: a smoke run
of the compact lung model, one repeat, every setting tiny (QUICK), written to the temporary folder).
"""

import argparse
import json

import numpy as np
import torch
from bench_methods import median_seconds  # the same timing rule: the median after a warm-up
from outputs import output_path

from workbench.methods import METHODS
from workbench.models import Target, load_model, predict
from workbench.service import prepare_input, target_for
from workbench.tasks import TASKS


def library_runs(model, x: np.ndarray, c: int, settings: dict[str, dict] | None = None) -> dict:
    """Each library's default usage, as a user of that library would write it, at `settings` (default OURS: the
    libraries' own defaults)."""
    from captum.attr import IntegratedGradients, NoiseTunnel, Occlusion, Saliency
    from lime import lime_image

    spec = model.info.input
    module = model.module.eval()
    tx = torch.from_numpy(x)
    s = settings or OURS
    window = (1, s["occlusion"]["window_height"], s["occlusion"]["window_width"])
    stride = (1, s["occlusion"]["stride_height"], s["occlusion"]["stride_width"])
    black = float(spec.normalize(np.zeros((1, 1, 1)))[0, 0, 0])
    image01 = (x[0, 0] * spec.std[0] + spec.mean[0]).astype(np.float64)  # what the user has: the picture

    def probabilities(images: np.ndarray) -> np.ndarray:  # lime's classifier_fn: N x H x W x 3 in [0, 1]
        batch = spec.normalize(images[..., :1].transpose(0, 3, 1, 2))
        with torch.no_grad():
            return torch.softmax(module(torch.from_numpy(batch)), 1).numpy()

    def lime_default():
        lime_image.LimeImageExplainer(random_state=0).explain_instance(image01, probabilities,
                                                                          num_samples=s["lime"]["samples"])

    def shap_image():
        import shap

        rgb = np.repeat(image01[..., None], 3, axis=-1)
        masker = shap.maskers.Image("inpaint_telea", rgb.shape)
        explainer = shap.Explainer(lambda imgs: probabilities(np.asarray(imgs)), masker)
        explainer(rgb[None], max_evals=s["kernel_shap"]["samples"], batch_size=50,
                  outputs=shap.Explanation.argsort.flip[:1], silent=True)

    return {
        "lime": lime_default,
        "kernel_shap": shap_image,
        "occlusion": lambda: Occlusion(module).attribute(tx, target=c, baselines=black, sliding_window_shapes=window,
                                                         strides=stride),
        "integrated_gradients": lambda: IntegratedGradients(module).attribute(
            tx, baselines=black, target=c, n_steps=s["integrated_gradients"]["steps"]),
        "smoothgrad": lambda: NoiseTunnel(Saliency(module)).attribute(
            tx, nt_type="smoothgrad", nt_samples=s["smoothgrad"]["samples"],
            stdevs=s["smoothgrad"]["noise"] * float(x.max() - x.min()), target=c),
    }


# Our settings equal to the library usage above.
OURS = {"lime": {"samples": 1000}, "kernel_shap": {"samples": 1000},
        "occlusion": {"window_height": 8, "window_width": 8, "stride_height": 4, "stride_width": 4},
        "integrated_gradients": {"steps": 50}, "smoothgrad": {"samples": 10, "noise": 0.15},
        "normgrad_o0": {}, "normgrad_o1": {}}
# --quick: the same designs at tiny settings, a smoke run of the code, not a measurement.
QUICK = {"lime": {"samples": 30}, "kernel_shap": {"samples": 30},
         "occlusion": {"window_height": 32, "window_width": 32, "stride_height": 32, "stride_width": 32},
         "integrated_gradients": {"steps": 4}, "smoothgrad": {"samples": 2, "noise": 0.15},
         "normgrad_o0": {}, "normgrad_o1": {}}
QUICK_MODEL = "lung_xray-resnet-compact"
LIBRARY_NAMES = {"lime": "lime_image default (quickshift, batch 10)",
                 "kernel_shap": "shap.Explainer, inpaint_telea Image masker",
                 "occlusion": "Captum Occlusion (perturbations_per_eval=1)",
                 "integrated_gradients": "Captum IntegratedGradients", "smoothgrad": "Captum NoiseTunnel(Saliency)"}
FASTER = {"lime": 5.0, "kernel_shap": 5.0, "occlusion": 1.0, "integrated_gradients": 1.0, "smoothgrad": 1.0}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help=f"default lung_xray-resnet34-compact (--quick: {QUICK_MODEL})")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (--quick: 1)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/libraries.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: a compact model, tiny settings, one repeat")
    args = parser.parse_args(argv)
    args.model = args.model or (QUICK_MODEL if args.quick else "lung_xray-resnet34-compact")
    args.repeats = args.repeats or (1 if args.quick else 3)
    settings = QUICK if args.quick else OURS
    model = load_model(args.model)
    task = TASKS[model.info.task]
    sample = next(s for s in task.samples() if s.truth_path is not None)
    x = prepare_input(task, model, task.decode(sample.path.read_bytes()))[1]
    target = target_for(model, predict(model, x))
    libraries = library_runs(model, x, target.class_index, settings)
    rows = []
    for method_id, params in settings.items():
        method = METHODS[method_id]
        ours = median_seconds(lambda m=method, p=params: m.explain(model, x, Target(target.class_index), p),
                              args.repeats)
        row = {"method": method_id, "params": method.resolve_params(model, params), "ours_seconds": round(ours, 4)}
        if method_id in libraries:
            theirs = median_seconds(libraries[method_id], args.repeats)
            row |= {"library": LIBRARY_NAMES[method_id], "library_seconds": round(theirs, 4),
                    "speedup": round(theirs / ours, 2), "target_speedup": FASTER[method_id],
                    "meets_target": theirs / ours >= FASTER[method_id]}
        rows.append(row)
    o0, o1 = (next(r["ours_seconds"] for r in rows if r["method"] == m) for m in ("normgrad_o0", "normgrad_o1"))
    result = {"model": args.model, "input": sample.name, "repeats": args.repeats, "quick": args.quick,
              "torch_threads": torch.get_num_threads(), "rows": rows,
              "normgrad_o1_over_o0": round(o1 / o0, 2), "normgrad_target_met": o1 <= 2 * o0}
    out = output_path(args.out, "libraries.json", args.quick)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{args.model} on {sample.name}, median of {args.repeats} after a warm-up")
    print(f"{'method':22s} {'ours s':>8s} {'library s':>10s} {'speed-up':>9s} {'target':>7s}  library usage")
    for r in rows:
        if "library" in r:
            flag = "met" if r["meets_target"] else "MISSED"
            print(f"{r['method']:22s} {r['ours_seconds']:8.3f} {r['library_seconds']:10.3f} {r['speedup']:8.2f}x "
                  f"{r['target_speedup']:5.0f}x {flag}  {r['library']}")
        else:
            print(f"{r['method']:22s} {r['ours_seconds']:8.3f}")
    print(f"normgrad_o1 / normgrad_o0: {result['normgrad_o1_over_o0']} (target at most 2)")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
