"""Reproducible installs: requirements.lock pins every package, agrees with requirements.txt, requirements-test.txt
and pyproject's `ray` extra, is what the Makefile installs, and is what this environment holds."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from .conftest import ROOT

_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(?:==\s*([^\s;#]+))?")


def normalise(name: str) -> str:
    """PEP 503: case, dots, dashes and underscores do not tell packages apart."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(path: Path) -> dict[str, str | None]:
    """name -> pinned version (None when the line pins none), from a requirements file."""
    out = {}
    for line in path.read_text().splitlines():
        match = _LINE.match(line.strip())
        if match:
            out[normalise(match.group(1))] = match.group(2)
    return out


def disagreements(wanted: dict[str, str | None], lock: dict[str, str | None]) -> list[str]:
    """What the lock gets wrong about the requirements: a package it lacks, or pins at another version."""
    return [f"{name}: wanted {version or 'any'}, locked {lock.get(name)}" for name, version in wanted.items()
            if name not in lock or (version is not None and lock[name] != version)]


def test_disagreements_are_found():
    assert disagreements({"torch": "2.14.1", "numpy": None}, {"torch": "2.14.1", "numpy": "2.4.6"}) == []
    assert disagreements({"torch": "2.14.1"}, {"torch": "2.13.0"}) == ["torch: wanted 2.14.1, locked 2.13.0"]
    assert disagreements({"Pillow": None}, {}) == ["Pillow: wanted any, locked None"]


def test_the_lock_pins_every_package_and_agrees_with_the_requirements():
    lock = requirements(ROOT / "requirements.lock")
    assert len(lock) > 100 and all(lock.values()), "every package, transitive ones too, at one version"
    for source in ("requirements.txt", "requirements-test.txt"):
        assert disagreements(requirements(ROOT / source), lock) == [], f"{source} changed: run `make lock`"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    wanted = {normalise(m.group(1)): m.group(2) for line in extras["ray"] if (m := _LINE.match(line))}
    assert disagreements(wanted, lock) == [], "the ray extra changed: run `make lock`"
    assert "-r requirements.lock" in (ROOT / "Makefile").read_text()


def test_this_environment_holds_the_locked_versions():
    lock = requirements(ROOT / "requirements.lock")
    installed: dict[str, str] = {}
    for d in metadata.distributions():  # the first on sys.path is the one imported: pyworld's pkg_resources import
        installed.setdefault(normalise(d.metadata["Name"]), d.version)  # appends setuptools' vendored copies
    assert {n: v for n, v in lock.items() if installed.get(n) != v} == {}
