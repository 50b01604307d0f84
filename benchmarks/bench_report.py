"""How long a report takes to build: four methods on one model, from their explanations to the PDF and the ZIP.

  python benchmarks/bench_report.py [--model ID] [--methods a,b,c,d] [--repeats R] [--out FILE] [--quick]

The explanations and their scores are made first (not timed: the app has them when the report is asked for);
then, each the median of R runs: the report's content (`build_report`, deletion and insertion curves
included), the PDF, the ZIP, and all three together. Target: within 3 s. Prints a table, writes JSON
(default benchmarks/results/report.json; --quick: the compact lung model, Grad-CAM and Saliency, one repeat,
written to the temporary folder).
"""

import argparse
import json

from bench_methods import median_seconds  # the same timing rule: the median after a warm-up
from outputs import output_path

from workbench.io import zip_files
from workbench.models import load_model, predict
from workbench.paths import ROOT
from workbench.report import Analysis, build_report, report_files, report_pdf
from workbench.service import prepare_input, run_methods, score_explanation, target_for
from workbench.tasks import TASKS

SAMPLE = ROOT / "sample_files" / "lung_xray" / "affected_01.png"
QUICK_MODEL = "lung_xray-resnet-compact"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help=f"default {TASKS['lung_xray'].default_model} (--quick: "
                                                      f"{QUICK_MODEL})")
    parser.add_argument("--methods", default=None, help="default gradcam,saliency,integrated_gradients,smoothgrad "
                                                        "(--quick: gradcam,saliency)")
    parser.add_argument("--repeats", type=int, default=None, help="default 3 (--quick: 1)")
    parser.add_argument("--out", default=None, help="default benchmarks/results/report.json")
    parser.add_argument("--quick", action="store_true", help="a smoke run: two methods, one repeat")
    args = parser.parse_args(argv)
    args.methods = args.methods or ("gradcam,saliency" if args.quick else "gradcam,saliency,integrated_gradients,"
                                                                          "smoothgrad")
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.model = args.model or (QUICK_MODEL if args.quick else TASKS["lung_xray"].default_model)
    task, model = TASKS["lung_xray"], load_model(args.model)
    data = SAMPLE.read_bytes()
    raw, _ = task.read(data, SAMPLE.name)
    _, x, _ = prepare_input(task, model, raw)
    truth = task.ground_truth(next(s for s in task.samples() if s.path == SAMPLE)).as_mask(model.info.input.size, None)
    methods = [m.strip() for m in args.methods.split(",")]
    explanations = run_methods(task, model, x, methods, target_for(model, predict(model, x)))
    scores = [score_explanation(e, model, x, truth) for e in explanations]
    analysis = Analysis(task.id, SAMPLE.name, data, None, None, None, explanations, [model])

    def content():
        return build_report(analysis, scores, {model.info.id: truth})

    def both(report) -> tuple[bytes, bytes]:
        return report_pdf(report), zip_files(report_files(report), deflate=True)

    report = content()
    pdf, archive = both(report)
    result = {"model": model.info.id, "methods": methods, "repeats": args.repeats,
              "content_seconds": median_seconds(content, args.repeats),
              "pdf_seconds": median_seconds(lambda: report_pdf(report), args.repeats),
              "zip_seconds": median_seconds(lambda: zip_files(report_files(report), deflate=True), args.repeats),
              "total_seconds": median_seconds(lambda: both(content()), args.repeats),
              "pdf_bytes": len(pdf), "zip_bytes": len(archive), "target_seconds": 3.0}
    result["met"] = result["total_seconds"] <= result["target_seconds"]
    for key in ("content_seconds", "pdf_seconds", "zip_seconds", "total_seconds"):
        print(f"{key:>16}: {result[key]:.3f}")
    print(f"target {result['target_seconds']} s: {'met' if result['met'] else 'missed'}")
    output_path(args.out, "report.json", args.quick).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
