"""The layers import in one direction only (DESIGN.md, "Architecture").

``model/`` (runtime) imports none of ``reporting/``, ``training/``, ``ui/`` or Streamlit;
``reporting/`` (tables, figures, PDF) imports neither ``training/`` nor ``ui/`` nor
Streamlit; the page (``ui/`` and ``app.py``) never imports ``training/``; and only the page
imports Streamlit. Every import statement of every Python file counts, also one inside a
function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

# layer -> top-level packages it must not import
FORBIDDEN = {
    "model": {"reporting", "training", "ui", "streamlit"},
    "reporting": {"training", "ui", "streamlit"},
    "ui": {"training"},
}
# the page itself, and the tests and benchmark that drive it through Streamlit's AppTest
STREAMLIT_ALLOWED = ("app.py", "ui/", "tests/ui/", "benchmarks/app.py")


def python_files() -> list[Path]:
    return sorted(
        p
        for p in ROOT.rglob("*.py")
        if not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(ROOT).parts
        )
    )


def _module_parts(rel: Path) -> list[str]:
    parts = list(rel.with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(source: str, rel: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file at ``rel`` (from ROOT)."""
    out = []
    for node in ast.walk(ast.parse(source, filename=str(rel))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the file's package
                package = _module_parts(rel)
                if rel.name != "__init__.py":
                    package = package[:-1]
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if node.module:
                out.append((node.lineno, module))
            else:  # "from .. import x": x is a module or a package
                out += [(node.lineno, f"{module}.{a.name}".lstrip(".")) for a in node.names]
    return out


def layer_of(rel: Path) -> str:
    return "ui" if rel.as_posix() == "app.py" else rel.parts[0]


def violations(files: list[Path] | None = None) -> list[str]:
    found = []
    for path in files or python_files():
        rel = path.relative_to(ROOT)
        forbidden = set(FORBIDDEN.get(layer_of(rel), ()))
        if not rel.as_posix().startswith(STREAMLIT_ALLOWED):
            forbidden.add("streamlit")
        for line, module in imported_modules(path.read_text(encoding="utf-8"), rel):
            top = module.split(".")[0]
            if top in forbidden:
                found.append(f"{rel}:{line} imports {module}")
    return found


def test_no_layer_imports_against_the_direction_of_the_layers():
    assert violations() == []


def test_the_files_checked_include_every_layer():
    layers = {layer_of(p.relative_to(ROOT)) for p in python_files()}
    assert {"model", "reporting", "training", "ui", "tests"} <= layers


@pytest.mark.parametrize(
    ("rel", "source", "expected"),
    [
        ("ui/x.py", "def f():\n    from training.default import pending\n", ["training.default"]),
        ("ui/pages/x.py", "import training\n", ["training"]),
        ("app.py", "import training.cli as cli\n", ["training.cli"]),
        ("model/x.py", "from reporting import card\n", ["reporting"]),
        ("model/x.py", "from ..ui import state\n", ["ui"]),
        ("model/sub/x.py", "from ... import training\n", ["training"]),
        ("model/x.py", "from . import registry\n", []),
        ("model/x.py", "import streamlit as st\n", ["streamlit"]),
        ("reporting/x.py", "from training.report import build_report\n", ["training.report"]),
        ("training/x.py", "from streamlit import cache_data\n", ["streamlit"]),
        ("scripts/x.py", "import streamlit\n", ["streamlit"]),
        ("training/x.py", "from reporting.figures import km_figure\n", []),
        ("ui/x.py", "from model.registry import Registry\nimport streamlit\n", []),
        ("tests/ui/x.py", "from streamlit.testing.v1 import AppTest\n", []),
    ],
)
def test_the_check_finds_what_it_should(tmp_path, monkeypatch, rel, source, expected):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    found = violations([path])
    assert [v.split(" imports ")[1] for v in found] == expected
