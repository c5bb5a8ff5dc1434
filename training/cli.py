"""Command line: ``python -m training VERB ...``."""

from __future__ import annotations

import json
import math
import sys
from enum import Enum, StrEnum
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from model.bundle import sha256_file
from model.errors import HipecError
from model.fileio import atomic_write_bytes, atomic_write_text
from model.schema import (
    Schema,
    SchemaDefinitionError,
    default_schema,
    default_schema_path,
    load_schema,
)
from model.validation import DataValidationError, validate_dataset
from training.simulate import DEFAULT_WORLD, WORLDS

app = typer.Typer(
    name="training",
    help="Simulate, describe, train, validate and update prognostic survival models.",
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


def _output_file(out: Path, *inputs: Path | None) -> None:
    """Refuse an output file that is a folder, or that would replace an input file."""
    if out.is_dir():
        _fail(f"--out {out} is a folder; give the file to write (e.g. {out / 'out.csv'})")
    for p in inputs:
        if p is not None and out.exists() and p.exists() and out.samefile(p):
            _fail(
                f"--out {out} is also an input ({p}); writing it would replace it: choose another name"
            )


def _output_folder(out: Path) -> None:
    """Refuse an output folder that is an existing file."""
    if out.exists() and not out.is_dir():
        _fail(f"--out {out} is a file; give a folder to write the reports into (new or existing)")


def _warn_constant(df, schema: Schema) -> None:
    """Say which features no model can learn from these data (every known value the same)."""
    from training.describe import constant_features

    for name, value in constant_features(df, schema).items():
        shown = repr(value) if isinstance(value, str) else f"{float(value):g}"  # 1, not 1.0
        f = schema.feature(name)
        if f.kind not in ("continuous", "integer"):  # the level's words too: 1 (yes)
            label = f.label_for(value if isinstance(value, str) else int(value))
            shown += f" ({label})" if label not in (shown, str(value)) else ""
        typer.echo(
            f"warning: {name}: every patient with a known value has {shown}; its effect cannot "
            "be learned from these data, so the models give it none",
            err=True,
        )


# patients a level of a category needs before its own hazard ratio is more than a few
# patients' outcomes
FEW_AT_LEVEL = 10


def _warn_rare_levels(df, schema: Schema) -> None:
    """Say which levels of a category (or an ordinal's, each its own column) so few
    patients have that their hazard ratio rests on those patients alone."""
    for f in schema.features:
        if f.kind not in ("binary", "categorical", "ordinal") or f.name not in df:
            continue
        counts = df[f.name].dropna().value_counts()
        absent = [f.label_for(v) for v in f.allowed_values if counts.get(v, 0) == 0]
        if absent and len(counts):
            typer.echo(
                f"warning: {f.name}: no patient has {', '.join(absent)}; the model cannot tell "
                "the effect of such a level and scores a patient with it as unknown",
                err=True,
            )
        rare = [
            f"{f.label_for(v)} ({counts.get(v, 0)})"
            for v in f.allowed_values
            if 0 < counts.get(v, 0) < FEW_AT_LEVEL
        ]
        if rare:
            typer.echo(
                f"warning: {f.name}: fewer than {FEW_AT_LEVEL} patients have "
                f"{', '.join(rare)}; the effect of such a level rests on those patients alone "
                "(merge it with a neighbouring level, or read its hazard ratio with care)",
                err=True,
            )


def _warn_unseen_by_parent(df, bundle) -> None:
    """Say which levels in the new data the parent's training data never held: the
    recalibrated model, like the parent, scores them as unknown."""
    from model.prognosis import unseen_levels

    unseen = unseen_levels(bundle.manifest.training_ranges, bundle.schema, df)
    for f in bundle.schema.features:
        counts = df.loc[unseen[f.name], f.name].value_counts()
        if len(counts):
            levels = ", ".join(f"{f.label_for(v)} ({n})" for v, n in counts.items())
            typer.echo(
                f"warning: {f.name}: {levels} did not occur in the parent's training data; "
                "recalibration keeps its model, which scores such patients as unknown "
                "(refit learns the level's effect from these data)",
                err=True,
            )


def _warn_short(df, schema: Schema, bootstrap: int) -> None:
    """Say what the bundle will lack: landmarks beyond every patient's follow-up (no estimate
    there; all of them beyond is an error of its own), and a band from few refits."""
    longest = float(df[schema.time.name].max())
    axis = schema.time_axis
    beyond = [m for m in axis.marks if m.value > longest]
    if beyond and len(beyond) < len(axis.marks):
        # the schema's own landmarks, or 1, 3 and 5 years where it names none
        fix = (
            ""
            if schema.landmarks
            else "; the schema names no landmarks, so 1, 3 and 5 years are used: give it "
            f"'landmarks:' within the follow-up, in {axis.unit}"
        )
        typer.echo(
            f"warning: {', '.join(axis.text(m.value) for m in beyond)} "
            f"{'lies' if len(beyond) == 1 else 'lie'} beyond the longest "
            f"{schema.time.name} in these data ({axis.text(longest)}): the bundle gives no "
            f"estimate there{fix}",
            err=True,
        )
    if bootstrap < 20:
        typer.echo(
            f"warning: --bootstrap {bootstrap}: the 95 % band's edges are percentiles of only "
            f"{bootstrap} refits, too few to place them; use 50 or more for a bundle in use",
            err=True,
        )


def _schema(path: Path | None) -> Schema:
    try:
        return default_schema() if path is None else load_schema(path)
    except SchemaDefinitionError as exc:
        _fail(str(exc))


def _bundle(path: Path):
    """Load and verify a bundle, or exit with the reason it is refused."""
    from model.bundle import BundleError, load_bundle

    try:
        return load_bundle(path)
    except BundleError as exc:
        _fail(str(exc))


def load_valid(path: Path, schema: Schema, mode: str, missing_hint=None):
    """Validate a data file, print warnings, and exit with every error if there are any;
    ``missing_hint(features)`` adds what to do where feature columns are missing."""
    if not path.exists():
        _fail(f"data file not found: {path}")
    report = validate_dataset(path, schema, mode=mode)
    for w in report.warnings:
        typer.echo(f"warning: {w}", err=True)
    try:
        return report.raise_if_errors(what=str(path))
    except DataValidationError as exc:
        missing = [
            p.column
            for p in report.errors
            if p.code == "missing_column" and p.column in schema.feature_names
        ]
        _fail(str(exc) + (f"\n{missing_hint(missing)}" if missing and missing_hint else ""))


def _fit_without(features: list[str], schema_file: Path | None = None) -> str:
    """What ``fit`` is to do where the data lack feature columns."""
    them = "it" if len(features) == 1 else "them"
    source = schema_file or default_schema_path()
    return (
        f"A cohort that does not record {', '.join(repr(f) for f in features)} is fitted with a "
        f"schema that leaves {them} out: copy {source}, delete {them} under features (and under "
        "translations, where named), and pass the copy with --schema."
    )


# events below which an external validation's figures are said to be imprecise: a common
# rule of thumb for validation studies, where calibration needs the most
FEW_VALIDATION_EVENTS = 100

# the registered worlds as command-line choices (an unknown name is refused with the list)
WorldName = Enum("WorldName", {name: name for name in WORLDS}, type=str)


# a Cox bundle's band and the optimism-corrected figures come from the refits: none leaves a
# bundle the page cannot serve
BOOTSTRAP_HELP = (
    "Bootstrap resamples: at least 1; the band and the optimism-corrected figures come from "
    "them (50 or more for a bundle in use)"
)


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
        typer.Option(
            "--settings",
            help="Simulation settings JSON; keys left out take the world's defaults.",
        ),
    ] = None,
    world: Annotated[
        WorldName | None,
        typer.Option(
            "--world",
            help="The true model: "
            + "; ".join(f"{name}: {w.summary}" for name, w in WORLDS.items())
            + f". Default: the settings' world, else {DEFAULT_WORLD}.",
        ),
    ] = None,
) -> None:
    """Draw a simulated cohort from a world's known true model."""
    from training.simulate import SimulationSettings, simulate_cohort, write_cohort

    _output_file(out, settings)
    if truth is not None:
        _output_file(truth, settings)
        if truth.resolve() == out.resolve():
            _fail(f"--truth and --out are the same file ({out}): give two names")
    try:
        if settings:
            s = SimulationSettings.load(settings, world and world.value)
        else:
            s = SimulationSettings.for_world(world.value if world else DEFAULT_WORLD)
    except (OSError, ValueError, TypeError) as exc:
        _fail(f"cannot read settings {settings}: {exc}")
    cohort = simulate_cohort(n, seed, s)
    about = {"world": s.world, "n": n, "seed": seed}
    if settings:
        about["settings"] = settings.name
    write_cohort(cohort, out, truth, about=about)
    deaths = int(cohort.data["death"].sum())
    typer.echo(
        f"wrote {n} patients ({deaths} deaths, {s.world} world) to {out}"
        + (f", truth to {truth}" if truth else "")
    )


@app.command()
def describe(
    data: Annotated[
        Path, typer.Option("--data", help="Cohort CSV with the schema's time and event columns.")
    ],
    schema: SchemaOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Summarise a cohort: follow-up, Kaplan-Meier survival and a Table 1."""
    from training.describe import describe_cohort, format_description

    sch = _schema(schema)
    df = load_valid(data, sch, mode="outcome")
    absent = [f"{f.name} ({f.label})" for f in sch.features if f.name not in df.columns]
    if absent:  # fit and predict refuse such a file; a summary of outcomes alone is allowed
        typer.echo(
            f"warning: {len(absent)} of the schema's {len(sch.features)} feature columns are not "
            f"in {data.name}, and Table 1 leaves them out: {', '.join(absent)}",
            err=True,
        )
    axis, longest = sch.time_axis, float(df[sch.time.name].max())
    # fit refuses data whose curves end before the first landmark; a summary goes on, and
    # says why its landmarks are all beyond the data where that is the likely cause
    if all(m.value > longest for m in axis.marks):
        typer.echo(
            f"warning: every landmark ({', '.join(axis.text(m.value) for m in axis.marks)}) lies "
            f"beyond the longest {sch.time.name} in {data.name} ({axis.text(longest)}): check "
            f"that {sch.time.name} is in {axis.unit}, the schema's unit, or set the schema's "
            "landmarks",
            err=True,
        )
    result = describe_cohort(df, sch)
    result["source"] = {"file": str(data), "sha256": sha256_file(data)}
    result["sample_size"] = _sample_size(df, sch)
    if as_json:
        typer.echo(_strict_json(result))
    else:
        typer.echo(format_description(result, sch, title=f"Cohort {data.name} ({sch.title})"))
        if result["sample_size"] is not None:
            from training.adequacy import format_sample_size

            typer.echo("\n" + format_sample_size(result["sample_size"], sch.time_axis.unit))


def _sample_size(df, schema: Schema) -> dict | None:
    """Riley's criteria for the cohort and the Cox design (None without events)."""
    from training.adequacy import cohort_sample_size

    try:
        return cohort_sample_size(df, schema).to_dict()
    except ValueError:
        return None


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


def _models_option(value: str) -> tuple[str, ...]:
    from model.families import FAMILIES

    names = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [n for n in names if n not in FAMILIES]
    if bad or not names:
        raise typer.BadParameter(f"{', '.join(bad) or value!r}: choose from {', '.join(FAMILIES)}")
    return names


@app.command()
def fit(
    data: Annotated[Path, typer.Option("--data", help="Training cohort CSV.")],
    schema: SchemaOption = None,
    models: Annotated[
        str, typer.Option("--models", help="Comma-separated: coxnet, rsf.")
    ] = "coxnet,rsf",
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=1, help=BOOTSTRAP_HELP + ".")] = 50,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    out: Annotated[Path, typer.Option("--out", help="Registry folder.")] = Path("models"),
    promote: Annotated[bool, typer.Option("--promote", help="Make the new bundle active.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="ADDRESS",
            help="A Dask scheduler (tcp://HOST:8786): cross-validation folds and bootstrap "
            "replicates run on its workers; the bundle is the one a local run writes.",
        ),
    ] = None,
    cox_designs: Annotated[
        str | None,
        typer.Option(
            "--cox-designs",
            help="Comma-separated Cox designs tuning may choose among, for a pre-specified "
            "model: main, splines (the schema's declared splines), splines+interactions (and "
            "its declared interactions), all-splines+interactions (every other numeric input "
            "bent too, as its line plus hinges). "
            "Default: every design the schema tells apart.",
        ),
    ] = None,
    proportional_hazards: Annotated[
        bool,
        typer.Option(
            "--proportional-hazards",
            help="Serve the Cox model with one hazard ratio per factor at every time, for a "
            "pre-specified model. Default: where the check of proportional hazards finds "
            "hazard ratios that change over time, the model is fitted in time pieces. The "
            "check runs and is reported either way.",
        ),
    ] = False,
) -> None:
    """Tune, fit and validate Coxnet and a random survival forest; write a bundle."""
    from training.fit import FitOptions, fit_bundle
    from training.tuning import prespecified_designs

    sch = _schema(schema)
    names = _models_option(models)
    designs = None
    if cox_designs is not None:
        if "coxnet" not in names:
            _fail("--cox-designs: the Cox model (coxnet) is not among --models", code=2)
        try:
            designs = prespecified_designs(sch, cox_designs.split(","))
        except ValueError as exc:
            _fail(f"--cox-designs: {exc}", code=2)
    # every data error at once, before any fitting
    df = load_valid(data, sch, mode="train", missing_hint=partial(_fit_without, schema_file=schema))
    _warn_constant(df, sch)
    _warn_rare_levels(df, sch)
    _warn_short(df, sch, bootstrap)
    options = FitOptions(
        models=names,
        bootstrap=bootstrap,
        seed=seed,
        promote=promote,
        progress=not quiet,
        command=" ".join(["python -m training", *sys.argv[1:]]),
        cluster=cluster,
        cox_designs=designs,
        proportional_hazards=proportional_hazards,
    )

    try:
        path = fit_bundle(data, sch, out, options, validated=df)
    except (ValueError, HipecError) as exc:
        _fail(str(exc))
    from model.bundle import read_manifest
    from model.families import HEADLINE_WORDS, headline_metrics

    manifest = read_manifest(path)
    default = manifest.default_model
    which, figures, _ = headline_metrics(manifest, default)
    typer.echo(f"bundle {manifest.version_id} written to {path}")
    typer.echo(
        f"default model: {default}; {HEADLINE_WORDS[which]} Harrell C "
        f"{figures['harrell_c']:.3f}, Uno C {figures['uno_c']:.3f}; report: {path / 'report.html'}"
    )
    typer.echo(
        "active: yes"
        if promote
        else f"not active; make it so with: python -m training models promote {manifest.version_id}"
        + (f" --out {out}" if out != Path("models") else "")
    )
    _echo_fit_checks(path)


def _echo_fit_checks(path: Path, designs: bool = True) -> None:
    """The parameters the data support and the model spends, the Cox designs tuning compared
    (``designs``), and whether the hazard ratios hold over time; a warning (stderr) when
    short or where they change."""
    from model.bundle import read_manifest
    from model.schema import Schema
    from training.adequacy import sample_size_lines
    from training.report import band_not_calibrated, design_lines
    from training.time_pieces import hazards_over_time_lines

    report = json.loads((path / "report.json").read_text(encoding="utf-8"))
    manifest = read_manifest(path)
    schema = Schema.from_dict(manifest.schema)
    lines = sample_size_lines(report["sample_size"]) if report.get("sample_size") else []
    tuned = ((report.get("cross_validation") or {}).get("models") or {}).get("coxnet") or {}
    lines += design_lines(tuned) if designs else []
    if report.get("proportional_hazards"):
        lines += hazards_over_time_lines(report["proportional_hazards"], schema)
    entry = manifest.models.get("coxnet")
    band = (entry.band or {}) if entry is not None else {}
    lines += [f"warning: {line}" for line in band_not_calibrated(band, schema)]
    for line in lines:
        typer.echo(line, err=line.startswith("warning:"))


@app.command()
def default(
    out: Annotated[Path, typer.Option("--out", help="Registry folder.")] = Path("models"),
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Cohort CSV (default: the shipped 2,000 simulated patients)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0)] = 0,
    bootstrap: Annotated[int, typer.Option("--bootstrap", min=1, help=BOOTSTRAP_HELP + ".")] = 50,
    foreground: Annotated[
        bool,
        typer.Option(
            "--foreground", help="Fit both steps now instead of step 2 in the background."
        ),
    ] = False,
    complete: Annotated[
        bool,
        typer.Option("--complete", help="Run only the pending step 2 (what the background runs)."),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """Build the default bundle when none can be served: the Cox model now, both models after.

    What `scripts/start.sh` runs. With an active bundle that verifies it fits nothing (and
    starts an unfinished step 2 again).
    """
    from model.registry import Registry
    from training.default import (
        DEFAULT_DATA,
        LOG,
        MAX_ATTEMPTS,
        active_problem,
        build_default,
        complete_default,
        pending,
        retry_allowed,
        start_background,
    )

    try:
        if complete:
            typer.echo(complete_default(out, progress=not quiet, nice=19))
            return
        refused = active_problem(out)
        if refused:
            typer.echo(
                f"The active bundle cannot be served ({refused}). The default model is built "
                "and made active; that bundle stays in the registry."
            )
        if Registry(out).active_id is None or refused:
            typer.echo(
                f"Fitting the penalised Cox model on {data or DEFAULT_DATA} (about a minute); "
                "the page starts right after."
            )
        vid = build_default(
            out, data or DEFAULT_DATA, seed=seed, bootstrap=bootstrap, progress=not quiet
        )
        if vid:
            typer.echo(f"bundle {vid} (penalised Cox model) is active")
        record = pending(out)
        if record and record.get("last_error"):
            typer.echo(
                f"The background build of the complete default bundle failed "
                f"{record.get('attempts')} time(s); last error: {record['last_error']} "
                f"(details: {out / LOG})."
            )
        if record:
            if foreground:
                typer.echo(complete_default(out, progress=not quiet))
            elif not retry_allowed(record):
                typer.echo(
                    f"Not trying again after {MAX_ATTEMPTS} failures; once the cause is fixed run: "
                    f"python -m training default --complete --out {out}"
                )
            else:
                start_background(out)
                typer.echo(
                    "The random survival forest and the full validation report are being built in "
                    f"the background (about two minutes; log: {out / LOG}); the page offers them "
                    "as a new bundle when they are ready."
                )
        typer.echo(f"active bundle: {Registry(out).active_id}")
    except (ValueError, HipecError, OSError) as exc:
        _fail(str(exc))


class UpdateMethod(StrEnum):
    recalibrate = "recalibrate"
    refit = "refit"


@app.command()
def update(
    bundle: Annotated[
        Path, typer.Option("--bundle", help="The bundle to update (its files are only read).")
    ],
    data: Annotated[Path, typer.Option("--data", help="The new centre's cohort CSV.")],
    method: Annotated[
        UpdateMethod,
        typer.Option(
            "--method",
            help="recalibrate: keep the Cox model's coefficients, re-estimate its calibration "
            "slope and baseline hazard on the new data; refit: retrain the bundle's model "
            "families on the new data with its schema and the same hyper-parameter search.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Registry folder.")] = Path("models"),
    bootstrap: Annotated[
        int | None,
        typer.Option("--bootstrap", min=1, help=BOOTSTRAP_HELP + "; default: the parent's."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Random seed (default: the parent's).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bars.")] = False,
) -> None:
    """External validation and updating: a new bundle from BUNDLE on new data.

    The new bundle is registered but not active, names its parent in its manifest, and its
    report compares the parent's and the updated models on the new data.
    """
    from model.bundle import BundleError, read_manifest
    from model.registry import RegistryError
    from training.update import UpdateOptions, format_update, update_bundle

    b = _bundle(bundle)
    df = load_valid(data, b.schema, mode="train")
    if method.value == "refit":
        _warn_constant(df, b.schema)
        _warn_rare_levels(df, b.schema)
    else:
        _warn_unseen_by_parent(df, b)
    options = UpdateOptions(
        method=method.value,
        bootstrap=bootstrap,
        seed=seed,
        progress=not quiet,
        command=" ".join(["python -m training", *sys.argv[1:]]),
    )
    try:
        path = update_bundle(b, data, out, options, validated=df)
    except (ValueError, DataValidationError, BundleError, RegistryError) as exc:
        _fail(str(exc))
    manifest = read_manifest(path)
    section = json.loads((path / "report.json").read_text(encoding="utf-8"))["update"]
    typer.echo(
        f"bundle {manifest.version_id} written to {path}: {b.version_id} updated by "
        f"{method.value} on {data.name}"
    )
    typer.echo(section["about"])
    labels = {m: b.manifest.label(m) for m in b.models}
    typer.echo(format_update(section, labels, b.schema.words.events))
    for line in section.get("warnings") or []:
        typer.echo(f"warning: {line}", err=True)
    typer.echo(f"report: {path / 'report.html'}")
    # a recalibration tunes nothing: the parent's design comparison is not this update's
    _echo_fit_checks(path, designs=method.value == "refit")
    typer.echo(
        f"not active; make it so with: python -m training models promote {manifest.version_id}"
        + (f" --out {out}" if out != Path("models") else "")
    )


@app.command()
def evaluate(
    bundle: Annotated[Path, typer.Option("--bundle", help="Bundle folder.")],
    data: Annotated[Path, typer.Option("--data", help="Validation cohort CSV with outcomes.")],
    truth: Annotated[Path | None, typer.Option("--truth", help="Simulator truth file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    bootstrap: Annotated[
        int,
        typer.Option(
            "--bootstrap",
            min=0,
            help="Resamples of the patients for the 95 % intervals (0: no intervals).",
        ),
    ] = 200,
) -> None:
    """External validation of a bundle on another dataset."""
    from training.evaluate import evaluate_bundle, format_evaluation

    b = _bundle(bundle)
    df = load_valid(data, b.schema, mode="train")
    truth_df = None
    if truth is not None:
        truth_df = _read_truth(truth, df, b.schema)
    events = int(df[b.schema.event.name].sum())
    if events < FEW_VALIDATION_EVENTS:
        typer.echo(
            f"warning: {b.schema.words.count(events)} in {data.name}: a validation on fewer "
            f"than {FEW_VALIDATION_EVENTS} is imprecise "
            "(read the 95 % intervals; a calibration slope is the first to mislead)",
            err=True,
        )
    try:
        result = evaluate_bundle(b, df, truth_df, n_boot=bootstrap)
    except ValueError as exc:
        _fail(str(exc))
    result["data"] = {"file": str(data), "sha256": sha256_file(data), "rows": len(df)}
    if as_json:
        typer.echo(_strict_json(result))
    else:
        typer.echo(format_evaluation(result, b.schema.words.events))


def _strict_json(doc) -> str:
    """``doc`` as JSON that any parser reads: a value that is not a finite number (NaN, an
    infinity: no measure at that landmark) is null, as JSON has no word for it."""

    def finite(v):
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [finite(x) for x in v]
        return None if isinstance(v, float) and not math.isfinite(v) else v

    return json.dumps(finite(doc), indent=2, allow_nan=False)


def _read_truth(path: Path, df, schema: Schema):
    import pandas as pd

    if not path.exists():
        _fail(f"truth file not found: {path}")
    try:
        truth = pd.read_csv(path, dtype={schema.id_column: str, "patient_id": str})
    except (ValueError, UnicodeDecodeError) as exc:  # pandas' parser errors are ValueErrors
        _fail(f"cannot read the truth file {path} as CSV: {exc}")
    # the patients' id: the schema's id column, or the simulator's patient_id
    key = schema.id_column if schema.id_column in truth.columns else "patient_id"
    marks = [f"true_surv_{m.name}" for m in schema.time_axis.marks]
    need = [key, "true_risk", *marks]
    missing = [c for c in need if c not in truth.columns]
    if missing:
        _fail(f"truth file {path} lacks columns: {', '.join(missing)} (needs {', '.join(need)})")
    if schema.id_column not in df.columns:
        _fail(f"matching a truth file needs a '{schema.id_column}' column in the data")
    problems = _truth_problems(truth, key, marks)
    if problems:
        _fail(f"truth file {path}: " + "; ".join(problems))
    merged = df[[schema.id_column]].merge(
        truth.rename(columns={key: "_truth_id"}),
        left_on=schema.id_column,
        right_on="_truth_id",
        how="left",
        indicator=True,
    )
    unmatched = merged.loc[merged.pop("_merge") == "left_only", schema.id_column]
    if len(unmatched):
        _fail(
            f"{len(unmatched)} patients in the data have no row in the truth file {path} "
            f"(first: {', '.join(repr(i) for i in unmatched.head(3))})"
        )
    return merged


def _truth_problems(truth, key: str, marks: list[str]) -> list[str]:
    """A truth file's ids each once, true_risk a number and each true survival within 0-1,
    with the file line of the first few offenders (line 1 is the header)."""
    import numpy as np
    import pandas as pd

    def lines(bad) -> str:
        where = [str(i + 2) for i in truth.index[bad][:5]]
        return ", ".join(where) + (f" and {int(bad.sum()) - 5} more" if bad.sum() > 5 else "")

    out = []
    repeated = truth[key][truth[key].duplicated()].unique()
    if len(repeated):
        shown = ", ".join(repr(i) for i in repeated[:3])
        out.append(f"ids written more than once in {key}: {shown}; one row a patient")
    for column, low, high in [("true_risk", -np.inf, np.inf), *((m, 0.0, 1.0) for m in marks)]:
        values = pd.to_numeric(truth[column], errors="coerce")
        bad = ~(values.between(low, high) & np.isfinite(values)).to_numpy()
        if bad.any():
            allowed = "a number" if column == "true_risk" else "a probability from 0 to 1"
            out.append(f"{column} must be {allowed} in every row (line {lines(bad)})")
    return out


models_app = typer.Typer(help="The model registry: list, promote, roll back.", no_args_is_help=True)
app.add_typer(models_app, name="models")
RegistryOption = Annotated[Path, typer.Option("--out", help="Registry folder.")]


@models_app.command("list")
def models_list(out: RegistryOption = Path("models")) -> None:
    """List bundles, newest first; * marks the active one."""
    from model.registry import Registry, RegistryError

    try:
        reg = Registry(out)
        rows, loose = reg.rows(), reg.unregistered()
    except RegistryError as exc:
        _fail(str(exc))
    for name in loose:
        typer.echo(
            f"note: {out / name} is a bundle folder that was never registered (its training "
            f"stopped before the last step); keep it with: python -m training models register "
            f"{name}"
            + (f" --out {out}" if out != Path("models") else "")
            + ", or delete the folder"
        )
    if not rows:
        typer.echo(f"no bundles in {out}; train one with: python -m training fit --data X.csv")
        return
    typer.echo(f"  {'version':<34} {'created':<26} {'default':<8} {'rows':>6} {'Harrell C':>9}")
    for r in rows:
        c = r.get("harrell_c")
        typer.echo(
            f"{'*' if r['active'] else ' '} {r['version_id']:<34} {str(r.get('created')):<26} "
            f"{str(r.get('default_model')):<8} {str(r.get('rows')):>6} "
            f"{(f'{c:.3f}' if c is not None else '-'):>9}"
            + (f"  ({r['problem']})" if r.get("problem") else "")
        )
    typer.echo("Harrell C: bootstrap optimism-corrected (Cox model), out-of-bag (forest)")


@models_app.command("register")
def models_register(
    version_id: Annotated[str, typer.Argument(help="Bundle folder name in the registry.")],
    out: RegistryOption = Path("models"),
) -> None:
    """Record a complete bundle folder that was never registered (not made active)."""
    from model.registry import Registry

    try:
        Registry(out).register(out / version_id)
    except (HipecError, OSError) as exc:
        _fail(str(exc))
    typer.echo(
        f"registered {version_id} (not active; make it so with: python -m training models "
        f"promote {version_id}" + (f" --out {out}" if out != Path("models") else "") + ")"
    )


@models_app.command("promote")
def models_promote(
    version_id: Annotated[str, typer.Argument(help="Bundle id.")],
    out: RegistryOption = Path("models"),
) -> None:
    """Make a bundle active (after verifying it)."""
    from model.registry import Registry

    try:
        Registry(out).promote(version_id)
    except HipecError as exc:
        _fail(str(exc))
    typer.echo(f"active bundle: {version_id}")


@models_app.command("rollback")
def models_rollback(out: RegistryOption = Path("models")) -> None:
    """Re-activate the previously active bundle."""
    from model.registry import Registry

    try:
        vid = Registry(out).rollback()
    except HipecError as exc:
        _fail(str(exc))
    typer.echo(f"active bundle: {vid}")


@models_app.command("active")
def models_active(out: RegistryOption = Path("models")) -> None:
    """Print the active bundle's id after verifying it; exit 1 if there is none or it is broken."""
    from model.registry import Registry

    reg = Registry(out)
    try:
        vid = reg.active_id
        if vid is None:
            _fail(f"no active bundle in {out}")
        reg.verify(vid)
    except HipecError as exc:
        _fail(str(exc))
    typer.echo(vid)


@app.command()
def predict(
    bundle: Annotated[Path, typer.Option("--bundle", help="Bundle folder.")],
    data: Annotated[Path, typer.Option("--data", help="Patients CSV (unknown values allowed).")],
    out: Annotated[Path, typer.Option("--out", help="Predictions CSV to write.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="coxnet (default: the bundle's clinical model), or rsf as a comparison only: "
            "its rows say they are not for clinical use.",
        ),
    ] = None,
) -> None:
    """Score a list of patients: risk score, survival at the schema's landmarks with 95 %
    intervals, median, warnings."""
    from model.engine import Engine
    from model.export import safe_csv

    _output_file(out, data)
    b = _bundle(bundle)
    df = load_valid(data, b.schema, mode="predict")
    engine = Engine(b)
    try:
        table = engine.predict_table(df, model)
    except ValueError as exc:
        _fail(str(exc))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, safe_csv(table))
    unreached = table.attrs["median_not_reached"]
    said = f"; median not reached within the follow-up for {unreached}" if unreached else ""
    axis = b.schema.time_axis
    # a landmark past the bundle's follow-up is blank for every patient; its note is in
    # every row's warnings, not counted among them
    blank = [axis.text(m.value) for m in axis.marks if table[f"surv_{m.name}"].isna().all()]
    if blank and len(table):
        said += f"; blank for every patient, beyond the training follow-up: {', '.join(blank)}"
    typer.echo(
        f"wrote {len(table)} predictions to {out} ({table.attrs['warned']} with warnings{said})"
    )
    note = engine.family(model).comparison_note
    if note:
        typer.echo(
            f"note: {engine.family(model).label}: {note}; clinical models: "
            f"{', '.join(engine.clinical_models) or 'none in this bundle'}",
            err=True,
        )


@app.command()
def report(
    bundle: Annotated[Path, typer.Option("--bundle", help="Bundle folder.")],
    data: Annotated[Path, typer.Option("--data", help="Patients CSV (unknown values allowed).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the PDF reports.")],
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="A clinical model of the bundle: coxnet (default); the forest is a comparison "
            "in the validation report, not for patients' reports.",
        ),
    ] = None,
    figures: Annotated[
        str,
        typer.Option(
            "--figures",
            help="native: curves drawn by the PDF library (fast, no browser); plotly: plotly's "
            "static export through Chromium (about 0.3 s per report); auto: plotly if Chromium "
            "is installed.",
        ),
    ] = "native",
) -> None:
    """Write a one-page PDF report per patient (named after the id column, or row-N)."""
    import os
    import re
    from types import SimpleNamespace

    from joblib import Parallel, delayed
    from tqdm import tqdm

    from model.bundle import MANIFEST, sha256_file
    from model.engine import Engine
    from reporting.pdf import ReportContext

    if figures not in ("native", "plotly", "auto"):
        _fail(f"--figures must be native, plotly or auto, not {figures!r}")
    _output_folder(out)
    b = _bundle(bundle)
    df = load_valid(data, b.schema, mode="predict")
    engine = Engine(b)
    try:
        name = engine.clinical(model)
    except ValueError as exc:
        _fail(str(exc))
    context = ReportContext(b, name, sha256_file(Path(bundle) / MANIFEST))
    ids = (
        df[b.schema.id_column].astype(str).tolist()
        if b.schema.id_column in df
        else [f"row-{i + 1}" for i in range(len(df))]
    )
    out.mkdir(parents=True, exist_ok=True)
    X = engine.frame(df[b.schema.feature_names])
    warnings = engine.warnings(X)
    # workers get a light context (manifest and schema, not the fitted models) and the curves
    # without their bootstrap samples, so little is pickled per report
    light = ReportContext(
        SimpleNamespace(manifest=b.manifest, schema=b.schema, version_id=b.version_id),
        name,
        context.manifest_sha256,
    )
    used: set[str] = set()
    jobs = []
    for start in range(0, len(X), 200):
        part = X.iloc[start : start + 200]
        for j, p in enumerate(engine.predict(part, name, contributions=True)):
            i = start + j
            p.samples = None
            values = {k: (None if _isna(v) else v) for k, v in part.iloc[j].items()}
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", ids[i]).strip("._") or f"row-{i + 1}"
            while stem in used:
                stem += f"_row-{i + 1}"
            used.add(stem)
            jobs.append(delayed(_write_report)(light, values, p, warnings[i], figures, out / stem))
    n_jobs = 1 if figures != "native" else min(2, os.cpu_count() or 1)
    with tqdm(total=len(jobs), desc="reports", unit="patient", disable=len(jobs) < 20) as bar:
        for _ in Parallel(n_jobs=n_jobs, return_as="generator", batch_size=16)(jobs):
            bar.update(1)
    typer.echo(f"wrote {len(X)} reports to {out}")


def _isna(v) -> bool:
    import pandas as pd

    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _write_report(context, values, prognosis, warnings, figures, stem: Path) -> None:
    """One PDF, written atomically (temp file, then rename)."""
    from reporting.pdf import cache_layouts, patient_report

    cache_layouts()  # a batch process: panels repeat from patient to patient
    pdf = patient_report(context, values, prognosis, warnings, figures=figures)
    atomic_write_bytes(stem.with_name(f"{stem.name}.pdf"), pdf, durable=False)
