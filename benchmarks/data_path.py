"""Which project files the fit command's data path crosses, and how often it calls back up.

Runs ``python -m training fit`` on the shipped 110-patient cohort (2 bootstrap resamples,
one process so that every call is seen) under cProfile and lists the project files whose
functions ran. A call "back up the import graph" is one whose callee's module imports the
caller's module: a callback handed down a layer and called from below, the shape that
makes a data path hard to follow.

    .venv/bin/python benchmarks/data_path.py      # prints a table, writes results/data_path.json
"""

from __future__ import annotations

import ast
import cProfile
import dataclasses
import pstats
import tempfile
from pathlib import Path

from _common import ROOT, table, write_result

PACKAGES = ("training", "model", "reporting", "ui")


def _module(filename: str) -> str | None:
    try:
        rel = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    return str(rel) if rel.parts and rel.parts[0] in PACKAGES else None


def _imports() -> dict[str, set[str]]:
    out = {}
    for pkg in PACKAGES:
        for f in (ROOT / pkg).glob("*.py"):
            names = set()
            for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.add(node.module)
                elif isinstance(node, ast.Import):
                    names.update(a.name for a in node.names)
            out[str(f.relative_to(ROOT))] = {n.replace(".", "/") + ".py" for n in names}
    return out


def main() -> None:
    from typer.testing import CliRunner

    import training.fit as fit_module
    from training.cli import app

    # one process: the profiler sees only its own calls
    fit_module.FitOptions = dataclasses.make_dataclass(
        "FitOptions", [("n_jobs", int, 1)], bases=(fit_module.FitOptions,)
    )
    data = ROOT / "data" / "synthetic" / "dmpm_110.csv"
    args = ["fit", "--data", str(data), "--out", tempfile.mkdtemp(), "--bootstrap", "2", "--quiet"]
    profile = cProfile.Profile()
    profile.enable()
    result = CliRunner().invoke(app, args)
    profile.disable()
    if result.exit_code != 0:
        raise SystemExit(result.output)
    imports = _imports()
    files, up = set(), set()
    for (fn, _, name), (*_, callers) in pstats.Stats(profile).stats.items():
        callee = _module(fn)
        if callee is None:
            continue
        files.add(callee)
        for caller_fn, _, _ in callers:
            caller = _module(caller_fn)
            if caller and caller != callee and caller in imports.get(callee, set()):
                up.add((caller, callee, name))
    print(table(["measure", "value"], [["files crossed", len(files)], ["calls back up", len(up)]]))
    for caller, callee, name in sorted(up):
        print(f"  {caller} -> {callee}.{name}")
    write_result(
        "data_path",
        {"files": sorted(files), "calls_back_up": [list(u) for u in sorted(up)]},
    )


if __name__ == "__main__":
    main()
