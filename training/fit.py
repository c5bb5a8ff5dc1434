"""Fit, tune and validate both models on one dataset and write a versioned bundle."""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from model.bundle import sha256_file, write_bundle
from model.candidacy import OperativeOutcomeModel
from model.predict import cox_baseline_on_grid, survival_at
from model.prognosis import training_ranges
from model.registry import Registry
from model.schema import Schema
from model.timeaxis import DECISION_HORIZON, LANDMARKS, RISK_HORIZON, time_grid
from model.uncertainty import CoxEnsemble, ImputationDraws
from model.validation import validate_dataset
from training.band import calibrate_inflation
from training.describe import describe_cohort
from training.effects import (
    contrasts,
    hazard_ratio_table,
    log_hazard_ratios,
    permutation_table,
    reference_patient,
)
from training.estimators import (
    MODEL_NAMES,
    RSF_TIME_GRAIN,
    fit_quietly,
    make_coxnet,
    make_rsf,
    round_times,
    survival_target,
)
from training.metrics import calibration, decision_curve, uno_tau
from training.tuning import make_folds, tune_coxnet, tune_rsf
from training.validation import bootstrap_validation

__all__ = ["FitOptions", "fit_bundle"]

RSF_TREES = 200
BOOT_TREES = 50  # trees per forest refit inside the bootstrap (keeps validation within budget)


@dataclass
class FitOptions:
    models: tuple[str, ...] = ("coxnet", "rsf")
    bootstrap: int = 50
    seed: int = 0
    n_folds: int = 5
    n_jobs: int = 2
    promote: bool = False
    progress: bool = True
    command: str = ""
    timings: dict = field(default_factory=dict)


def _version_id(schema: Schema, created: datetime, data_sha: str, seed: int) -> str:
    tag = hashlib.sha256(f"{data_sha}:{seed}".encode()).hexdigest()[:6]
    return f"{schema.name}-{created:%Y%m%d-%H%M%S}-{tag}"


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
    """
    from training.report import build_report

    t_start = time.perf_counter()
    data_path = Path(data_path)
    df = validated
    if df is None:
        df = validate_dataset(data_path, schema, mode="train").raise_if_errors(what=str(data_path))
    y = survival_target(df, schema)
    X = df[schema.feature_names]
    empty = [f.name for f in schema.features if df[f.name].notna().sum() == 0]
    if empty:
        raise ValueError(
            f"{data_path} has no known values for {', '.join(empty)}, so no model can learn their "
            "effect; provide values or leave them out of the schema (--schema)"
        )
    if y[y.dtype.names[0]].sum() < 10:
        raise ValueError(
            f"{data_path} has fewer than 10 deaths; too few to fit and validate a model"
        )
    unknown = [m for m in options.models if m not in MODEL_NAMES]
    if unknown or not options.models:
        raise ValueError(f"unknown model(s) {unknown}; choose from {', '.join(MODEL_NAMES)}")

    grid = time_grid(y)
    risk_horizon = min(RISK_HORIZON, float(grid[-1]))
    tau = uno_tau(y)
    folds = make_folds(y, options.n_folds, options.seed)
    timings = options.timings
    say = tqdm.write if options.progress else (lambda *_: None)

    tuned, finals, validation, extras, artifacts = {}, {}, {}, {}, {}
    ref = reference_patient(df, schema)
    rows = contrasts(df, schema)
    # one overall bar; each long step also shows its own bar beneath it
    steps = tqdm(
        total=3 * len(options.models) + 1,
        desc="training",
        disable=not options.progress,
        bar_format="{desc} | step {n_fmt}/{total_fmt} [{elapsed}]",
    )
    for name in options.models:
        t0 = time.perf_counter()
        steps.set_description_str(f"{name}: tuning and final fit")
        if name == "coxnet":
            tuned[name] = tune_coxnet(
                X, y, schema, folds, tau, grid, seed=options.seed, progress=options.progress
            )
            p = tuned[name].params

            def refit(Xb, yb, seed, p=p):
                return fit_quietly(
                    make_coxnet(
                        schema,
                        p["l1_ratio"],
                        alphas=[p["alpha"]],
                        fit_baseline_model=True,
                        seed=options.seed,
                    ),
                    Xb,
                    yb,
                )

            finals[name] = refit(X, y, options.seed)
            pre = finals[name][:-1]
            columns = list(pre.transform(X.iloc[:1]).columns)

            def boot_refit(Xb, yb, seed, p=p, pre=pre):
                # refit the Cox step only: the shared preprocessing never sees the outcome, and
                # shared features let the refits serve as the bundle's uncertainty ensemble
                est = make_coxnet(
                    schema, p["l1_ratio"], alphas=[p["alpha"]], fit_baseline_model=True
                )[-1]
                est = fit_quietly(est, pre.transform(Xb), yb)
                return Pipeline([*pre.steps, ("coxnet", est)])

            def collect(m, columns=columns):
                return {
                    "log_hr": log_hazard_ratios(m, schema, ref, rows),
                    "coef": m[-1].coef_[:, 0],
                    "h0": cox_baseline_on_grid(m[-1], columns, grid),
                }
        else:
            tuned[name] = tune_rsf(
                X,
                y,
                schema,
                folds,
                tau,
                grid,
                risk_horizon,
                seed=options.seed,
                n_jobs=options.n_jobs,
                progress=options.progress,
            )
            p = tuned[name].params

            def refit(Xb, yb, seed, p=p, trees=RSF_TREES):
                return fit_quietly(
                    make_rsf(schema, n_estimators=trees, seed=seed, n_jobs=options.n_jobs, **p),
                    Xb,
                    round_times(yb),
                )

            finals[name] = refit(X, y, options.seed)
            collect = None

            def boot_refit(Xb, yb, seed, p=p):  # fewer trees per refit keeps validation in budget
                return fit_quietly(
                    make_rsf(schema, n_estimators=BOOT_TREES, seed=seed, n_jobs=1, **p),
                    Xb,
                    round_times(yb),
                )

        timings[f"tune_fit_{name}"] = time.perf_counter() - t0
        say(f"{MODEL_NAMES[name]}: cross-validated Uno C {tuned[name].cv_score:.3f} with {p}")
        steps.update()
        steps.set_description_str(f"{name}: bootstrap validation")

        t0 = time.perf_counter()
        validation[name] = bootstrap_validation(
            finals[name],
            boot_refit,
            X,
            y,
            grid,
            risk_horizon,
            tau,
            options.bootstrap,
            seed=options.seed,
            collect=collect,
            progress=options.progress,
            desc=f"bootstrap {name}",
            n_jobs=options.n_jobs,
        )
        timings[f"bootstrap_{name}"] = time.perf_counter() - t0
        steps.update()
        steps.set_description_str(f"{name}: calibration and effects")

        t0 = time.perf_counter()
        # calibration and decision curves from out-of-bag curves: apparent curves flatter a
        # flexible model on its own training patients
        surv = validation[name]["oob_surv"]
        extras[name] = {
            "calibration": {str(h): calibration(y, surv, grid, h) for h in LANDMARKS},
            "risk_36": 1.0 - survival_at(surv, grid, DECISION_HORIZON),
        }
        if name == "coxnet":
            point = log_hazard_ratios(finals[name], schema, ref, rows)
            collected = validation[name]["collected"]
            extras[name]["hazard_ratios"] = hazard_ratio_table(
                point, [c["log_hr"] for c in collected], rows
            )
            if collected:
                est = finals[name][-1]
                artifacts["coxnet_ensemble"] = CoxEnsemble(
                    columns=columns,
                    coef=est.coef_[:, 0],
                    h0=cox_baseline_on_grid(est, columns, grid),
                    boot_coef=np.array([c["coef"] for c in collected]),
                    boot_h0=np.array([c["h0"] for c in collected]),
                )
                cox_params = tuned[name].params
                band = calibrate_inflation(
                    finals[name],
                    X,
                    y,
                    grid,
                    artifacts["coxnet_ensemble"],
                    lambda a, cp=cox_params: make_coxnet(
                        schema, cp["l1_ratio"], alphas=[a], fit_baseline_model=True
                    )[-1],
                    seed=options.seed,
                )
                artifacts["coxnet_ensemble"].inflation = band["inflation"]
                extras[name]["band"] = band
                artifacts["imputation_draws"] = ImputationDraws(seed=options.seed).fit(
                    finals[name].named_steps["encode"].transform(X)
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    artifacts["operative_outcomes"] = {
                        o["feature"]: OperativeOutcomeModel(schema, o["feature"]).fit(df)
                        for o in schema.operative_outcomes
                        if df[o["feature"]].nunique() >= 2  # a chance needs both outcomes seen
                    }
        else:
            extras[name]["permutation_importance"] = permutation_table(
                finals[name], X, y, grid, risk_horizon, seed=options.seed
            )
        timings[f"explain_{name}"] = time.perf_counter() - t0
        steps.update()

    steps.set_description_str("decision curves, report and bundle")
    default = max(tuned, key=lambda m: tuned[m].cv_score)
    dca = decision_curve(y, {m: extras[m]["risk_36"] for m in finals}, DECISION_HORIZON)
    created = datetime.now(UTC)
    data_sha = sha256_file(data_path)
    version_id = _version_id(schema, created, data_sha, options.seed)
    summary = describe_cohort(df, schema)
    stat = data_path.stat()
    manifest = {
        "version_id": version_id,
        "created": created.isoformat(timespec="seconds"),
        "schema": schema.to_dict(),
        "schema_sha256": schema.sha256,
        "training_data": {
            "file": data_path.name,
            "sha256": data_sha,
            "rows": int(len(df)),
            "deaths": int(summary["deaths"]),
            "median_followup_months": summary["median_followup_months"],
            "km_median_months": summary["km_median_months"],
            "file_modified": datetime.fromtimestamp(stat.st_mtime, UTC).isoformat(
                timespec="seconds"
            ),
            "synthetic": "synthetic" in data_path.parts,
        },
        "grid_months": grid.tolist(),
        "risk_horizon_months": risk_horizon,
        "uno_tau_months": tau,
        "default_model": default,
        "models": {
            m: {
                "label": MODEL_NAMES[m],
                "params": tuned[m].params,
                "cv_uno_c": tuned[m].cv_score,
                **(
                    {"time_grain_months": RSF_TIME_GRAIN, "n_estimators": RSF_TREES}
                    if m == "rsf"
                    else {}
                ),
                **({"band": extras[m]["band"]} if "band" in extras[m] else {}),
            }
            for m in finals
        },
        "metrics": {
            m: {
                k: validation[m][k]
                for k in ("apparent", "optimism", "corrected", "ci", "out_of_bag", "n_boot")
            }
            for m in finals
        },
        "reference_patient": ref,
        "training_ranges": training_ranges(df, schema),
        "seed": options.seed,
        "command": options.command,
    }
    report_json, report_html = build_report(
        manifest=manifest,
        summary=summary,
        tuned=tuned,
        validation=validation,
        extras=extras,
        dca=dca,
        folds=len(folds),
    )
    timings["total_before_write"] = time.perf_counter() - t_start
    manifest["timings_seconds"] = {k: round(v, 2) for k, v in timings.items()}
    path = write_bundle(
        out,
        version_id,
        finals,
        manifest,
        extra_files={"report.json": report_json.encode(), "report.html": report_html.encode()},
        artifacts=artifacts,
    )
    registry = Registry(out)
    registry.register(path)
    if options.promote:
        registry.promote(version_id)
    steps.update()
    steps.close()
    return path
