"""Docs that stay true: every relative link and #anchor in the README and docs/ resolves, and every quoted command
names a script, module, subcommand or make target that exists. A renamed file or heading fails here, not in a reader's
browser."""

from __future__ import annotations

import ast
import re
import shlex
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_architecture import MODULES, imports_of

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
COMMAND = re.compile(r"^(?:\.venv/bin/)?(?:python3?|make)\s")
TOP = "workbench|Streamlit|benchmarks|tests|docs|models|sample_files|training_notebooks"
REPO_PATH = re.compile(rf"`((?:{TOP})/[^`\s]*)`")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation gone, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's anchor; GitHub numbers repeats (-1, -2, ...)."""
    seen: dict[str, int] = {}
    for heading in HEADING.findall(FENCE.sub("", page.read_text())):
        base = slug(heading)
        seen[f"{base}-{seen[base]}" if base in seen else base] = 0
        seen[base] = seen.get(base, 0) + 1
    return set(seen)


def links(page: Path) -> list[str]:
    """Relative link targets outside code (a link inside backticks is an example, not a link)."""
    prose = INLINE_CODE.sub("", FENCE.sub("", page.read_text()))
    return [t for t in LINK.findall(prose) if not re.match(r"[a-z][a-z+.-]*:", t)]


def commands(page: Path) -> list[str]:
    """Commands quoted in fenced blocks (continuation lines joined, comments dropped) and in inline code."""
    text = page.read_text()
    found = []
    for block in FENCE.findall(text):
        body = "\n".join(block.splitlines()[1:-1]).replace("\\\n", " ")
        found += [line.strip() for line in body.splitlines() if COMMAND.match(line.strip())]
    found += [span.strip("`") for span in INLINE_CODE.findall(FENCE.sub("", text)) if COMMAND.match(span.strip("`"))]
    return found


def make_targets() -> set[str]:
    rules = re.findall(r"^([^\s:=#$.][^:=\n]*?):(?!=)", (ROOT / "Makefile").read_text(), re.M)
    return {target for rule in rules for target in rule.split()}


def string_literals(path: Path) -> set[str]:
    """Strings in an entry file, the project modules it imports and, for a package, the modules its `__init__`
    gathers from inside it: where its subcommand names are spelled."""
    direct = imports_of(path)
    inner = {m for d in direct if MODULES[d].name == "__init__.py" for m in imports_of(MODULES[d]) if m.startswith(d)}
    files = [path, *(MODULES[m] for m in direct | inner)]
    return {node.value for f in files for node in ast.walk(ast.parse(f.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}


def entry_file(words: list[str]) -> tuple[Path | None, list[str]]:
    """The file a `python ...` command runs and the arguments after it (None: it names nothing in the repo)."""
    if words[1] == "-m":
        base = ROOT / Path(*words[2].split("."))
        candidates = [base.with_suffix(".py"), base / "__main__.py"]
        return next((c for c in candidates if c.is_file()), None), words[3:]
    return (ROOT / words[1] if (ROOT / words[1]).is_file() else None), words[2:]


def problems_of(command: str) -> list[str]:
    words = shlex.split(re.sub(r"<[^>]*>", "X", command.split(" #")[0]).replace("|", " "))
    if words[0] == "make":
        missing = [w for w in words[1:] if "=" not in w and not w.startswith("-") and w not in make_targets()]
        return [f"no make target {w!r}" for w in missing]
    path, rest = entry_file([w.removeprefix(".venv/bin/") for w in words])
    if path is None:
        return [f"no script or module {' '.join(words[1:3])!r}"]
    sub = rest[0] if rest and re.fullmatch(r"[a-z][a-z-]*", rest[0]) else None
    if sub and sub not in string_literals(path):
        return [f"{path.relative_to(ROOT)} has no subcommand {sub!r}"]
    return []


def test_the_checks_catch_what_they_claim():
    assert slug("The recipe: `lung_xray-resnet-real` and `lung_xray-densenet-real` (issue 38)") == \
        "the-recipe-lung_xray-resnet-real-and-lung_xray-densenet-real-issue-38"
    assert slug("Audio: why LIME and Kernel SHAP delete fastest with black") == \
        "audio-why-lime-and-kernel-shap-delete-fastest-with-black"
    assert problems_of("python xai_models.py evaluate --n 5") == []
    assert problems_of("python -m workbench.training evaluate --recipe <id>") == []
    assert problems_of("make train RECIPE=<id>") == []
    assert problems_of("python nowhere.py") and problems_of("python -m workbench.nowhere")
    assert problems_of("python -m workbench.training no-such-step") and problems_of("make no-such-target")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page: Path):
    broken = []
    for target in links(page):
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(target)
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_quoted_repository_path_exists(page: Path):
    """`workbench/evaluation/batch.py` in prose is a claim too: a renamed module must take its mentions along."""
    paths = REPO_PATH.findall(FENCE.sub("", page.read_text()))
    missing = [p for p in paths if not any(ROOT.glob(re.sub(r"<[^>]*>", "*", p).rstrip("/")))]
    assert not missing, missing


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_quoted_command_names_something_that_exists(page: Path):
    found = commands(page)
    problems = {c: p for c in found if (p := problems_of(c))}
    assert not problems, problems
