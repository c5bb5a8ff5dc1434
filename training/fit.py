"""Fit, tune and validate every requested model family on one dataset; write a bundle."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from model.bundle import sha256_file, write_bundle
from model.families import clinical_models
from model.manifest import Manifest, TrainingData
from model.predict import survival_at
from model.prognosis import training_ranges
from model.registry import Registry
from model.schema import Schema
from model.timeaxis import time_grid
from model.validation import validate_dataset
from training.adequacy import fitted_sample_size, sample_size_html
from training.bootstrap import VALIDATION_KEYS, bootstrap_validation
from training.cluster import use_cluster
from training.describe import describe_cohort, in_months
from training.effects import contrasts, reference_patient
from training.estimators import survival_target
from training.families import Explanation, Trainer, TrainingSet, trainer
from training.metrics import calibration, decision_curve, uno_tau
from training.provenance import declared_synthetic
from training.subgroups import calibration_by_input
from training.tuning import TuningResult, make_folds, shown_settings

__all__ = ["FitOptions", "default_model", "fit_bundle", "publish"]


@dataclass
class FitOptions:
    models: tuple[str, ...] = ("coxnet", "rsf")
    bootstrap: int = 50
    seed: int = 0
    n_folds: int = 5
    n_jobs: int = 2
    # a Dask scheduler's address: folds and bootstrap replicates run on its workers
    cluster: str | None = None
    promote: bool = False
    progress: bool = True
    # the Cox designs tuning may choose among (training.estimators.COX_TERMS), for a
    # pre-specified model; None: every design the schema tells apart
    cox_designs: tuple[str, ...] | None = None
    # serve the Cox model in one piece even where its check finds hazard ratios changing
    # (a pre-specified proportional-hazards model); the check still runs and is reported
    proportional_hazards: bool = False
    command: str = ""
    timings: dict = field(default_factory=dict)
    # an update of another bundle (python -m training update): the manifest names the parent,
    # and report_sections(final models by name, grid, their bootstrap validation by name)
    # adds {key: (value, HTML)} to the report
    parent: dict | None = None
    report_sections: Callable[[dict, np.ndarray, dict], dict] | None = None


@dataclass
class Trained:
    """One family's results: its tuning, final model, validation and explanation."""

    trainer: Trainer
    tuned: TuningResult
    final: Pipeline
    validation: dict
    explanation: Explanation
    extras: dict  # calibration and decision-curve risks from out-of-bag curves


def default_model(tuned: dict[str, TuningResult]) -> str:
    """Among the clinical families (:attr:`model.families.Family.clinical`), the one with
    the lower cross-validated integrated Brier score, a proper score that weighs
    calibration as well as ranking; the higher cross-validated Uno C where a score is
    missing. A comparison model (the forest) is never the default while a clinical one
    was trained: a lower Brier score does not make its probabilities calibrated."""
    pool = {m: tuned[m] for m in clinical_models(tuned)} or tuned
    if all(t.cv_ibs is not None for t in pool.values()):
        return min(pool, key=lambda m: pool[m].cv_ibs)
    return max(pool, key=lambda m: pool[m].cv_score)


def _version_id(schema: Schema, created: datetime, data_sha: str, seed: int) -> str:
    tag = hashlib.sha256(f"{data_sha}:{seed}".encode()).hexdigest()[:6]
    return f"{schema.name}-{created:%Y%m%d-%H%M%S}-{tag}"


def _check_trainable(data_path: Path, df: pd.DataFrame, schema: Schema, y, models) -> None:
    empty = [f.name for f in schema.features if df[f.name].notna().sum() == 0]
    if empty:
        raise ValueError(
            f"{data_path} has no known values for {', '.join(empty)}, so no model can learn their "
            "effect; provide values or leave them out of the schema (--schema)"
        )
    if y[y.dtype.names[0]].sum() < 10:
        raise ValueError(
            f"{data_path} has fewer than 10 {schema.words.events}; too few to fit and validate "
            "a model"
        )
    if not models:
        raise ValueError("no model requested")
    for name in models:
        trainer(name)  # raises naming the known families


def _training_set(df: pd.DataFrame, schema: Schema, options: FitOptions) -> TrainingSet:
    y = survival_target(df, schema)
    axis = schema.time_axis
    grid = time_grid(y, axis)
    if axis.marks[0].months > grid[-1]:  # nothing to fit a curve to or score it at
        longest = float(y[y.dtype.names[1]].max())
        raise ValueError(
            f"every landmark ({', '.join(axis.said(m.months) for m in axis.marks)}) lies beyond "
            f"the follow-up of these data (the curves end at {axis.said(grid[-1])}, the longest "
            f"time is {axis.said(longest)}): check that {schema.time.name} is in "
            f"{axis.unit}, the schema's unit, or set the schema's landmarks"
        )
    return TrainingSet(
        data=df,
        X=df[schema.feature_names],
        y=y,
        schema=schema,
        grid=grid,
        risk_horizon=min(axis.risk_horizon_months, float(grid[-1])),
        tau=uno_tau(y, axis.last_months),
        folds=make_folds(y, options.n_folds, options.seed),
        reference=reference_patient(df, schema),
        contrasts=contrasts(df, schema),
        seed=options.seed,
        n_jobs=options.n_jobs,
        progress=options.progress,
        cox_designs=options.cox_designs,
        one_piece=options.proportional_hazards,
    )


def _predicting_alone(final: Pipeline) -> Pipeline:
    """The final model set to predict single-threaded, as a loaded bundle does.

    A forest predicting on threads adds its trees' curves in whatever order the threads
    finish, which changes the last digits of the validation figures from run to run; one
    thread keeps a run reproducible bit for bit (and a cluster run equal to a local one).
    """
    for _, step in final.steps:
        if hasattr(step, "n_jobs"):
            step.n_jobs = 1
    return final


def _train(t: Trainer, d: TrainingSet, options: FitOptions, steps, say) -> Trained:
    """Tune, fit, validate by bootstrap, then calibrate and explain one family."""
    timings = options.timings
    t0 = time.perf_counter()
    steps.set_description_str(f"{t.name}: tuning and final fit")
    tuned = t.tune()
    final = _predicting_alone(t.fit(tuned.params))
    timings[f"tune_fit_{t.name}"] = time.perf_counter() - t0
    shown = shown_settings(tuned.params, d.schema.time_axis)
    # the time pieces are checked after tuning: the score is the one-piece model's
    scored = " in one piece" if tuned.params.get("time_cuts_months") else ""
    say(f"{t.label}: cross-validated Uno C {tuned.cv_score:.3f}{scored} with {shown}")
    steps.update()

    t0 = time.perf_counter()
    steps.set_description_str(f"{t.name}: bootstrap validation")
    validation = bootstrap_validation(
        final,
        t.refit(final, tuned.params),
        d.X,
        d.y,
        d.grid,
        d.risk_horizon,
        d.tau,
        options.bootstrap,
        seed=options.seed,
        collect=t.collect(final),
        progress=options.progress,
        desc=f"bootstrap {t.name}",
        n_jobs=options.n_jobs,
        horizons=d.horizons,
    )
    timings[f"bootstrap_{t.name}"] = time.perf_counter() - t0
    steps.update()

    t0 = time.perf_counter()
    steps.set_description_str(f"{t.name}: calibration and effects")
    # calibration and decision curves from out-of-bag curves: apparent curves flatter a
    # flexible model on its own training patients
    surv = validation["oob_surv"]
    extras = {
        "calibration": {n: calibration(d.y, surv, d.grid, h) for n, h in d.horizons.items()},
        "calibration_by_input": calibration_by_input(
            d.y, surv, d.grid, d.risk_horizon, d.X, d.schema
        ),
        "decision_risk": 1.0 - survival_at(surv, d.grid, d.decision_horizon),
    }
    explanation = t.explain(final, tuned, validation)
    extras.update(explanation.tables)
    timings[f"explain_{t.name}"] = time.perf_counter() - t0
    steps.update()
    return Trained(t, tuned, final, validation, explanation, extras)


def _manifest(
    data_path: Path, d: TrainingSet, trained: dict[str, Trained], summary: dict, options
) -> Manifest:
    created = datetime.now(UTC)
    data_sha = sha256_file(data_path)
    stat = data_path.stat()
    return Manifest(
        version_id=_version_id(d.schema, created, data_sha, options.seed),
        created=created.isoformat(timespec="seconds"),
        schema=d.schema.to_dict(),
        schema_sha256=d.schema.sha256,
        training_data=TrainingData(
            file=data_path.name,
            sha256=data_sha,
            rows=int(len(d.data)),
            deaths=int(summary["deaths"]),
            median_followup_months=in_months(summary, d.schema, "median_followup"),
            km_median_months=in_months(summary, d.schema, "km_median"),
            file_modified=datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(timespec="seconds"),
            synthetic=declared_synthetic(data_path),
        ),
        grid_months=tuple(d.grid.tolist()),
        risk_horizon_months=d.risk_horizon,
        uno_tau_months=d.tau,
        default_model=default_model({m: r.tuned for m, r in trained.items()}),
        clinical_models=tuple(clinical_models(trained)),
        models={m: r.trainer.entry(r.tuned, r.explanation) for m, r in trained.items()},
        metrics={m: {k: r.validation.get(k) for k in VALIDATION_KEYS} for m, r in trained.items()},
        reference_patient=d.reference,
        training_ranges=training_ranges(d.data, d.schema),
        seed=options.seed,
        command=options.command,
        parent=options.parent,
    )


def publish(
    out: Path,
    manifest: Manifest,
    models: dict,
    report: tuple[str, str],
    artifacts: dict,
    promote: bool = False,
) -> Path:
    """Write a bundle with its validation report (JSON, HTML) into the registry at ``out``,
    register it and, if asked, make it active; return its folder."""
    report_json, report_html = report
    path = write_bundle(
        out,
        manifest.version_id,
        models,
        manifest,
        extra_files={"report.json": report_json.encode(), "report.html": report_html.encode()},
        artifacts=artifacts,
    )
    registry = Registry(out)
    registry.register(path)
    if promote:
        registry.promote(manifest.version_id)
    return path


def fit_bundle(
    data_path: Path,
    schema: Schema,
    out: Path,
    options: FitOptions,
    validated: pd.DataFrame | None = None,
) -> Path:
    """Validate, tune, fit, validate and write a bundle; return its folder.

    ``validated`` is the caller's already validated table of ``data_path`` (the CLI checks
    the file first to print warnings); the file is then not read and checked again.

    Raises
    ------
    model.validation.DataValidationError
        When the data have errors (nothing is fitted).
    ValueError
        When the data cannot support a model, or a requested model is unknown.
    """
    from training.report import build_report

    t_start = time.perf_counter()
    data_path = Path(data_path)
    df = validated
    if df is None:
        df = validate_dataset(data_path, schema, mode="train").raise_if_errors(what=str(data_path))
    _check_trainable(data_path, df, schema, survival_target(df, schema), options.models)
    d = _training_set(df, schema, options)
    say = tqdm.write if options.progress else (lambda *_: None)
    # one overall bar; each long step also shows its own bar beneath it
    steps = tqdm(
        total=3 * len(options.models) + 1,
        desc="training",
        disable=not options.progress,
        bar_format="{desc} | step {n_fmt}/{total_fmt} [{elapsed}]",
    )
    # folds and bootstrap replicates go to the cluster, if any; the data are sent to it once
    with use_cluster(options.cluster, shared=(d.X, d.y)):
        trained = {
            name: _train(trainer(name)(d), d, options, steps, say) for name in options.models
        }

    steps.set_description_str("decision curves, report and bundle")
    dca = decision_curve(
        d.y, {m: r.extras["decision_risk"] for m, r in trained.items()}, d.decision_horizon
    )
    summary = describe_cohort(df, schema)
    sample_size = fitted_sample_size(df, schema, {m: r.final for m, r in trained.items()})
    sections = {"sample_size": (sample_size, sample_size_html(sample_size))}
    for r in trained.values():
        sections.update(r.explanation.sections)
    if options.report_sections is not None:
        sections.update(
            options.report_sections(
                {m: r.final for m, r in trained.items()},
                d.grid,
                {m: r.validation for m, r in trained.items()},
            )
        )
    manifest = _manifest(data_path, d, trained, summary, options)
    report_json, report_html = build_report(
        manifest=manifest,
        summary=summary,
        tuned={m: r.tuned for m, r in trained.items()},
        validation={m: r.validation for m, r in trained.items()},
        extras={m: r.extras for m, r in trained.items()},
        dca=dca,
        folds=len(d.folds),
        sections=sections,
    )
    options.timings["total_before_write"] = time.perf_counter() - t_start
    manifest = manifest.replace(
        timings_seconds={k: round(v, 2) for k, v in options.timings.items()}
    )
    artifacts = {k: v for r in trained.values() for k, v in r.explanation.artifacts.items()}
    path = publish(
        out,
        manifest,
        {m: r.final for m, r in trained.items()},
        (report_json, report_html),
        artifacts,
        promote=options.promote,
    )
    steps.update()
    steps.close()
    return path
