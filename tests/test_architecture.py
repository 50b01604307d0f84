"""The shape of the code: imports flow one way, nothing edits sys.path, torch loads before TensorFlow."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

SOURCES = [ROOT / "inference.py", ROOT / "xai_models.py", *sorted((ROOT / "workbench").rglob("*.py")),
           *sorted((ROOT / "Streamlit").rglob("*.py")), *sorted((ROOT / "benchmarks").rglob("*.py"))]


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "Streamlit" if path.is_relative_to(ROOT / "Streamlit") else ROOT)
    parts = list(rel.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in SOURCES}


def imports_of(path: Path) -> set[str]:
    """Project modules a file imports anywhere in it (lazy imports inside functions count too)."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
            names = [f"{base}.{a.name}" for a in node.names]
            # `from pkg import submodule` imports the submodule, as `import pkg.submodule` does; only a name defined
            # in pkg itself (a function, a class) makes pkg's own module an import
            names += [base] if any(n not in MODULES for n in names) else []
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found - {module_name(path)}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_project_import_graph_has_no_cycle():
    graph = {name: imports_of(path) for name, path in MODULES.items()}
    assert graph["inference"] and graph["workbench.methods.cam"], "the graph was built"
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"


def table_rows(heading: str) -> list[list[str]]:
    """The (left, right) cells of the table in docs/layout.md's section `heading`."""
    text = (ROOT / "docs" / "layout.md").read_text().partition(f"\n{heading}\n")[2].partition("\n## ")[0]
    return [line.split("|")[1:3] for line in text.splitlines() if line.startswith("| `")]


def allowed_imports() -> dict[str, set[str]]:
    """docs/layout.md's "Layers" table, the one place the layering is written: package -> packages it may import,
    `base` (the first row's packages) expanded."""
    rows = table_rows("## Layers")
    table = {tuple(re.findall(r"`([^`]+)`", left)): re.findall(r"`([^`]+)`", right) for left, right in rows}
    base = {name for names in table if names[0] == "base" for name in names[1:]}
    return {name: {m for a in allowed for m in (base if a == "base" else {a})}
            for names, allowed in table.items() for name in (names[1:] if names[0] == "base" else names)}


def package_of(module: str) -> str:
    """The table's name for a module: the `workbench` subpackage or top-level module, an entry point, or the app."""
    parts = module.split(".")
    if parts[0] == "workbench":
        return parts[1] if len(parts) > 1 else "workbench"
    return parts[0] if parts[0] in ("inference", "xai_models", "benchmarks") else "Streamlit"


# Imports the table forbids that stay until a file being changed elsewhere can follow the move; the test fails when
# one is gone, so its line here goes too.
PENDING: dict[tuple[str, str], str] = {}  # imports the table forbids, left for a later move (with the reason)


def test_every_import_is_one_the_layers_allow():
    allowed = allowed_imports()
    assert allowed["metrics"] >= {"methods"} and "metrics" not in allowed["methods"], "the stated direction"
    assert "evaluation" in allowed["training"] and "training" not in allowed["evaluation"], "the stated direction"
    unlisted = sorted({package_of(m) for m in MODULES} - set(allowed))
    assert not unlisted, f"packages docs/layout.md's Layers table does not name: {unlisted}"
    forbidden = {(name, m) for name, path in MODULES.items() for m in imports_of(path)
                 if package_of(m) != package_of(name) and package_of(m) not in allowed[package_of(name)]}
    assert forbidden - PENDING.keys() == set(), sorted(forbidden - PENDING.keys())
    assert PENDING.keys() <= forbidden, f"fixed, drop from PENDING: {sorted(PENDING.keys() - forbidden)}"


def test_the_layer_check_catches_a_planted_import():
    allowed = allowed_imports()
    assert "cli" not in allowed["training"] and "training" not in allowed["evaluation"]
    assert package_of("views.caches") == "Streamlit" and package_of("workbench.metrics.sanity") == "metrics"
    assert "workbench" in allowed["models"] and "errors" in allowed["io"], "base expands"


def app_facade() -> dict[str, set[str]]:
    """docs/layout.md's "The app's facade" table: package that computes -> the functions a view may call itself."""
    return {re.findall(r"`([^`]+)`", left)[0]: set(re.findall(r"`([^`]+)`", right))
            for left, right in table_rows("## The app's facade")}


FACADE = {"views.caches"}  # the app's one module that calls what computes (cached), besides workbench/service.py


def functions_imported(source: str) -> set[tuple[str, str]]:
    """(package, name) of every function, or whole module, a file imports from a `workbench` package (lazy imports
    too): a module imported whole gives all its functions, so it counts as its name."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {(package_of(a.name), a.name) for a in node.names if a.name.startswith("workbench.")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench") and not node.level:
            module = importlib.import_module(node.module)
            found |= {(package_of(node.module), a.name) for a in node.names
                      if inspect.isroutine(obj := getattr(module, a.name, None)) or inspect.ismodule(obj)}
    return found


def test_the_app_computes_only_through_service_and_its_facade():
    """A view calls what runs a model through `views/caches.py` or `workbench/service.py`; from the packages that
    compute it takes types, registries and constants, and the few functions docs/layout.md names."""
    facade = app_facade()
    assert {"models", "methods", "metrics", "evaluation"} <= set(facade), "the table was read"
    planted = "from workbench.evaluation.batch import COLUMNS, evaluate\nimport workbench.metrics.sanity"
    assert functions_imported(planted) == {("evaluation", "evaluate"), ("metrics", "workbench.metrics.sanity")}
    computing = functions_imported((ROOT / "Streamlit" / "views" / "caches.py").read_text())
    assert {("models", "load_model"), ("evaluation", "evaluate")} <= computing, "the facade is where they are"
    offenders = sorted((name, package, function) for name, path in MODULES.items()
                       if package_of(name) == "Streamlit" and name not in FACADE
                       for package, function in functions_imported(path.read_text())
                       if package in facade and function not in facade[package])
    assert not offenders, offenders


# Writers of files a user reads: one each, in workbench/io/writers.py (CSV tables, .npy arrays) and
# workbench/render/overlay.py (overlay PNGs); the spoof engines' cache of made speech is no such file.
WRITER_CALLS = {"np.save": "npy_bytes", "numpy.save": "npy_bytes", "csv.DictWriter": "csv_text",
                "csv.writer": "csv_text", "explanation_picture inside encode_png": "overlay_png"}
WRITER_HOMES = {"workbench.io.writers", "workbench.render.overlay", "workbench.data.spoof_engines"}


def writer_calls(path: Path) -> set[str]:
    """Which of WRITER_CALLS a file makes itself instead of calling the one writer."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in WRITER_CALLS:
                found.add(name)
            if name.endswith("encode_png") and "explanation_picture(" in ast.unparse(node):
                found.add("explanation_picture inside encode_png")
    return found


def test_each_output_format_has_one_writer():
    """Metric-table CSVs, .npy arrays and overlay PNGs: the CLI, the app, the report and the evaluation all go
    through one function each, so the same map or table is the same bytes wherever it is saved."""
    assert writer_calls(ROOT / "workbench" / "io" / "writers.py") == {"csv.DictWriter", "np.save"}, "finds them"
    assert writer_calls(ROOT / "workbench" / "render" / "overlay.py") == {"explanation_picture inside encode_png"}
    offenders = {name: writer_calls(path) for name, path in MODULES.items() if name not in WRITER_HOMES}
    offenders = {name: {f"{c} (use {WRITER_CALLS[c]})" for c in calls} for name, calls in offenders.items() if calls}
    assert not offenders, offenders


def test_library_never_imports_the_entry_points_or_the_app():
    for name, path in MODULES.items():
        if name.startswith("workbench"):
            outward = [m for m in imports_of(path) if not m.startswith("workbench")]
            assert not outward, (name, outward)


def test_entry_points_are_thin():
    """inference.py and xai_models.py: imports, __all__ and the CLI call, nothing else."""
    for entry in ("inference.py", "xai_models.py"):
        tree = ast.parse((ROOT / entry).read_text())
        kinds = {type(node).__name__ for node in tree.body}
        assert kinds <= {"Expr", "Import", "ImportFrom", "Assign", "If"}, (entry, kinds)


def test_nothing_edits_sys_path():
    notebooks = sorted((ROOT / "training_notebooks").glob("*.ipynb"))
    texts = {str(p): p.read_text() for p in [*SOURCES, *sorted((ROOT / "tests").glob("*.py"))]}
    texts |= {str(nb): "".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"]) for nb in notebooks}
    offenders = [name for name, text in texts.items() if "sys.path." in text and name != __file__]
    assert not offenders


APP_IMPORTS = "\n".join(ast.unparse(n) for n in ast.parse((ROOT / "Streamlit" / "app.py").read_text()).body
                        if isinstance(n, ast.Import | ast.ImportFrom))


def test_a_keras_model_runs_in_a_process_that_imported_only_the_app():
    """The app's own imports, then a bundled Keras model (TensorFlow's first import) with a gradient tape, then
    a PyTorch model (torchvision, a triton user): no segfault, and triton was in the process before TensorFlow.
    The app's imports load neither, so the guard in the Keras adapter is what puts triton first."""
    code = APP_IMPORTS + """
import sys
import numpy as np
from workbench.models import Target, load_model
assert "triton" not in sys.modules and "tensorflow" not in sys.modules, "the app's imports stay light"
keras = load_model("audio_deepfake-resnet-compact")
spec = keras.info.input
x = np.random.default_rng(0).normal(0, 1, (2, spec.channels, spec.height, spec.width)).astype(np.float32)
grads = keras.input_gradients(x, Target(1))
torch_model = load_model("lung_xray-resnet-compact")
probabilities = torch_model.predict(np.zeros((1, 1, 128, 128), np.float32))
names = list(sys.modules)
print(grads.shape == x.shape, bool(np.abs(grads).sum() > 0), round(float(probabilities.sum()), 4),
      names.index("triton") < names.index("tensorflow"))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          cwd=ROOT / "Streamlit")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["True", "True", "1.0", "True"]


def test_the_guarded_trap_is_real():
    """Why the guard exists: TensorFlow imported before torch._dynamo (triton) kills the process with SIGSEGV
    here. Should this ever pass, the guard in the Keras adapter can go."""
    code = "import tensorflow; import torch._dynamo; print('survived')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="/",
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert proc.returncode == -signal.SIGSEGV, (proc.returncode, proc.stdout, proc.stderr[-2000:])


def test_tensorflow_is_imported_in_one_place_right_after_its_guard():
    """Only the Keras adapter imports TensorFlow or Keras (training code asks it for Keras), and it imports
    torch._dynamo, which loads triton, before them."""
    notebooks = sorted((ROOT / "training_notebooks").glob("*.ipynb"))
    texts = {p: p.read_text() for p in [*SOURCES, *sorted((ROOT / "tests").glob("*.py")), ROOT / "conftest.py"]}
    texts |= {nb: "\n".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"]
                            if c["cell_type"] == "code") for nb in notebooks}
    importers = {}
    for path, text in texts.items():
        for node in ast.walk(ast.parse(text)):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                importers.setdefault(name.split(".")[0], []).append((path, node.lineno, name))
    adapter = ROOT / "workbench" / "models" / "keras_adapter.py"
    tf_imports = [(p, line) for root in ("tensorflow", "keras") for p, line, _ in importers.get(root, [])]
    assert {p for p, _ in tf_imports} == {adapter}, tf_imports
    guard = [line for p, line, name in importers["torch"] if p == adapter and name == "torch._dynamo"]
    assert guard and min(guard) < min(line for _, line in tf_imports)
