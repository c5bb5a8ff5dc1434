"""Command line: ``python -m training VERB ...``."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from model.schema import Schema, SchemaDefinitionError, default_schema, load_schema
from model.validation import DataValidationError, validate_dataset

app = typer.Typer(
    name="training",
    help="Simulate, describe, train and validate CRS+HIPEC survival models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

SchemaOption = Annotated[
    Path | None,
    typer.Option("--schema", help="Feature schema YAML file (default: the DMPM schema)."),
]


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _schema(path: Path | None) -> Schema:
    try:
        return default_schema() if path is None else load_schema(path)
    except SchemaDefinitionError as exc:
        _fail(str(exc))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_valid(path: Path, schema: Schema, mode: str):
    """Validate a data file, print warnings, and exit with every error if there are any."""
    if not path.exists():
        _fail(f"data file not found: {path}")
    report = validate_dataset(path, schema, mode=mode)
    for w in report.warnings:
        typer.echo(f"warning: {w}", err=True)
    try:
        return report.raise_if_errors(what=str(path))
    except DataValidationError as exc:
        _fail(str(exc))


@app.command()
def simulate(
    n: Annotated[int, typer.Option("--n", min=1, help="Number of patients.")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")],
    out: Annotated[Path, typer.Option("--out", help="Cohort CSV to write.")],
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="Also write each patient's true risk and S(12/36/60)."),
    ] = None,
    settings: Annotated[
        Path | None,
        typer.Option("--settings", help="Simulation settings JSON (default: Shijitan-calibrated)."),
    ] = None,
) -> None:
    """Draw a simulated cohort from the known true model."""
    from training.simulate import SimulationSettings, simulate_cohort, write_cohort

    try:
        s = SimulationSettings.load(settings) if settings else SimulationSettings()
    except (OSError, ValueError, TypeError) as exc:
        _fail(f"cannot read settings {settings}: {exc}")
    cohort = simulate_cohort(n, seed, s)
    write_cohort(cohort, out, truth)
    deaths = int(cohort.data["death"].sum())
    typer.echo(
        f"wrote {n} patients ({deaths} deaths) to {out}" + (f", truth to {truth}" if truth else "")
    )


@app.command()
def describe(
    data: Annotated[Path, typer.Option("--data", help="Cohort CSV (needs os_months and death).")],
    schema: SchemaOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Summarise a cohort: follow-up, Kaplan-Meier survival and a Table 1."""
    from training.describe import describe_cohort, format_description

    sch = _schema(schema)
    df = load_valid(data, sch, mode="outcome")
    result = describe_cohort(df, sch)
    result["source"] = {"file": str(data), "sha256": file_sha256(data)}
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        typer.echo(format_description(result, title=f"Cohort {data.name} ({sch.title})"))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
