"""The shape of the code: imports flow one way, nothing edits sys.path, torch loads before TensorFlow."""

from __future__ import annotations

import ast
import json
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
            names = [f"{base}.{a.name}" for a in node.names] + [base]
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


def test_tensorflow_after_the_workbench_works():
    """Importing the workbench first makes a later TensorFlow import safe (the other order segfaults)."""
    code = ("import inference, xai_models; import tensorflow as tf; "
            "print(tf.constant([1.0, 2.0]).numpy().sum())")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="/")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "3.0"


def test_every_entry_point_imports_the_workbench_first():
    entries = [ROOT / "Streamlit" / "app.py", ROOT / "conftest.py", *sorted((ROOT / "benchmarks").glob("*.py"))]
    for entry in entries + [ROOT / "inference.py", ROOT / "xai_models.py"]:
        first = next(n for n in ast.parse(entry.read_text()).body if isinstance(n, ast.Import | ast.ImportFrom)
                     and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")
                     and (n.module if isinstance(n, ast.ImportFrom) else n.names[0].name) not in ("sys",))
        name = first.module if isinstance(first, ast.ImportFrom) else first.names[0].name
        assert name.split(".")[0] == "workbench", (entry.name, name)
