"""Accuracy against the simulator's truth.

Train on 110 (the shipped one-centre cohort), 500 (simulated) and 2,000 (the shipped
registry cohort) patients; test on 5,000 fresh simulated patients with known true
curves. For each model: Harrell C next to the oracle C (ranking by the true risk),
integrated Brier score next to the oracle's (the true curves), and the mean absolute
error of predicted S(36) against the true S(36), for all test patients and for those
with every input known. A reference table gives the error of a Cox model fitted on the
simulator's true design terms with every input known: the best a Cox model can do at each n.

A second table, the floor, asks what any predictor can reach from the inputs as recorded.
A gradient-boosting regression (scikit-learn's HistGradientBoostingRegressor, which takes
unknown values as they are) is fitted to the true S(36) of a large simulated cohort (default
200,000 patients, seed 3636) from the schema's inputs exactly as recorded, unknowns left
unknown. With absolute-error loss it estimates the conditional median, the best predictor
under mean absolute error; it is fitted on log(-log S(36)), which changes nothing about the
target (the median of a monotone transform is the transform of the median) but is a scale on
which the truth is nearly additive. Its error on the same 5,000 test patients, overall, with
every input known, with any input unknown and with Ki-67 unknown, is set against each
bundle's default model. The same learner fitted on the complete (latent) inputs shows how
much of that error is the learner's own. Settings (learning rate 0.15, 15 leaves, at least 50
patients a leaf, early stopping on a tenth of the training cohort) were picked from a small
grid (learning rate 0.1-0.3, 15-255 leaves, with and without the transform): none did better.

    .venv/bin/python benchmarks/accuracy.py            # prints two tables, writes results/accuracy.json
    .venv/bin/python benchmarks/accuracy.py --floor-n 0   # without the floor
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, table, write_result
from lifelines import CoxPHFitter
from sklearn.ensemble import HistGradientBoostingRegressor

from model.bundle import load_bundle
from model.predict import survival_at
from model.schema import Schema, default_schema
from model.validation import validate_dataset
from training.estimators import survival_target
from training.evaluate import evaluate_bundle
from training.fit import FitOptions, fit_bundle
from training.metrics import performance
from training.simulate import SimulationSettings, TrueModel, simulate_cohort, write_cohort

FLOOR_BOOSTING = {
    "loss": "absolute_error",
    "learning_rate": 0.15,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 50,
    "max_iter": 3000,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 30,
    "random_state": 0,
}


def encode(df: pd.DataFrame, schema: Schema) -> tuple[np.ndarray, np.ndarray]:
    """The schema's inputs as numbers, unknowns as NaN; categories coded by their position."""
    cols, categorical = [], []
    for f in schema.features:
        v = df[f.name]
        if f.kind == "categorical":
            v = v.astype(object).map({c: float(i) for i, c in enumerate(f.categories)})
        cols.append(pd.to_numeric(v, errors="raise").astype(float).to_numpy())
        categorical.append(f.kind == "categorical")
    return np.column_stack(cols), np.asarray(categorical)


def subsets(test_df: pd.DataFrame, schema: Schema) -> dict[str, np.ndarray]:
    """The test patients the floor table splits the error over."""
    known = test_df[schema.feature_names].notna()
    return {
        "all": np.ones(len(test_df), dtype=bool),
        "complete": known.all(axis=1).to_numpy(),
        "any_unknown": ~known.all(axis=1).to_numpy(),
        "ki67_unknown": ~known["ki67"].to_numpy(),
    }


def split_mae(err: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, float | None]:
    return {k: float(err[m].mean()) if m.any() else None for k, m in masks.items()}


def floor_fits(n: int, seed: int, schema: Schema, test, test_df: pd.DataFrame, masks) -> list[dict]:
    """Boosting on the recorded and on the complete inputs of ``n`` simulated patients."""
    t0 = time.perf_counter()
    train = simulate_cohort(n, seed)
    sim_s = time.perf_counter() - t0
    s36 = np.clip(train.truth["true_surv_36"].to_numpy(), 1e-12, 1 - 1e-12)
    target = np.log(-np.log(s36))
    truth = test.truth["true_surv_36"].to_numpy()
    out = []
    for name, train_x, test_x in (
        ("boosting_recorded_inputs", train.data, test_df),
        ("boosting_complete_latent_inputs", train.latent, test.latent),
    ):
        x, categorical = encode(train_x, schema)
        t0 = time.perf_counter()
        reg = HistGradientBoostingRegressor(categorical_features=categorical, **FLOOR_BOOSTING)
        reg.fit(x, target)
        fit_s = time.perf_counter() - t0
        pred = np.exp(-np.exp(reg.predict(encode(test_x, schema)[0])))
        out.append(
            {
                "model": name,
                "train_n": n,
                "train_seed": seed,
                "mae_s36": split_mae(np.abs(pred - truth), masks),
                "iterations": int(reg.n_iter_),
                "fit_seconds": fit_s,
                "simulate_seconds": sim_s,
            }
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--test-n", type=int, default=5000)
    ap.add_argument("--test-seed", type=int, default=777)
    ap.add_argument(
        "--floor-n",
        type=int,
        default=200_000,
        help="simulated patients for the floor's boosting regressions (0: no floor)",
    )
    ap.add_argument("--floor-seed", type=int, default=3636)
    args = ap.parse_args()
    if args.floor_seed in (args.test_seed, 500, 2022, 2009):
        ap.error("--floor-seed must differ from the test seed and the training cohorts' seeds")
    schema = default_schema()
    tmp = Path(tempfile.mkdtemp(prefix="hipec-acc-"))
    test = simulate_cohort(args.test_n, args.test_seed)
    write_cohort(test, tmp / "test.csv")
    test_df = validate_dataset(tmp / "test.csv", schema).raise_if_errors()
    y_test = survival_target(test_df, schema)
    masks = subsets(test_df, schema)
    true_s36 = test.truth["true_surv_36"].to_numpy()

    train_sets = {
        110: ROOT / "data/synthetic/dmpm_110.csv",
        2000: ROOT / "data/synthetic/dmpm_2000.csv",
    }
    write_cohort(simulate_cohort(500, 500), tmp / "train_500.csv")
    train_sets[500] = tmp / "train_500.csv"

    rows, records, floor_records = [], [], []
    for n in sorted(train_sets):
        t0 = time.perf_counter()
        path = fit_bundle(
            train_sets[n], schema, tmp / f"reg{n}", FitOptions(bootstrap=0, progress=False)
        )
        fit_s = time.perf_counter() - t0
        bundle = load_bundle(path)
        result = evaluate_bundle(bundle, test_df, test.truth)
        truth_curves = TrueModel(SimulationSettings()).survival(test.latent, bundle.grid)
        oracle = performance(
            y_test, y_test, truth_curves, bundle.grid, bundle.risk_horizon, result["uno_tau_months"]
        )
        pred = survival_at(bundle.survival(test_df), bundle.grid, 36.0)
        floor_records.append(
            {
                "model": f"default_{bundle.default_model}",
                "train_n": n,
                "mae_s36": split_mae(np.abs(pred - true_s36), masks),
            }
        )
        for name, m in result["models"].items():
            rec = {
                "train_n": n,
                "model": name,
                "default": name == bundle.default_model,
                "harrell_c": m["harrell_c"],
                "oracle_c": result["oracle_harrell_c"],
                "c_gap": result["oracle_harrell_c"] - m["harrell_c"],
                "ibs": m["ibs"],
                "oracle_ibs": oracle["ibs"],
                "mae_s36": m["mae_surv_36"],
                "mae_s36_complete": m["mae_surv_36_complete"],
                "calibration_slope_36": m["calibration"]["36"]["slope"],
                "fit_seconds_no_bootstrap": fit_s,
            }
            records.append(rec)
            rows.append(
                [
                    n,
                    name + (" *" if rec["default"] else ""),
                    rec["harrell_c"],
                    rec["oracle_c"],
                    rec["c_gap"],
                    rec["ibs"],
                    rec["oracle_ibs"],
                    rec["mae_s36"],
                    rec["mae_s36_complete"],
                    rec["calibration_slope_36"],
                ]
            )
    # the best any Cox model could do: the simulator's own design terms, every input known
    ideal_rows = []
    design_test = TrueModel(SimulationSettings()).design(test.latent)
    for n, seed in ((110, 2022), (500, 500), (2000, 2009)):
        lat = simulate_cohort(n, seed).latent  # the same draws as the training files
        fit = CoxPHFitter().fit(
            TrueModel(SimulationSettings()).design(lat).assign(t=lat["os_months"], e=lat["death"]),
            "t",
            "e",
        )
        s36 = fit.predict_survival_function(design_test, times=[36.0]).to_numpy()[0]
        mae = float(np.mean(np.abs(s36 - test.truth["true_surv_36"].to_numpy())))
        ideal_rows.append([n, mae])
        records.append({"train_n": n, "model": "cox_true_design_complete_inputs", "mae_s36": mae})
    if args.floor_n > 0:
        floor_records += floor_fits(args.floor_n, args.floor_seed, schema, test, test_df, masks)
    header = [
        "train n",
        "model",
        "Harrell C",
        "oracle C",
        "gap",
        "IBS",
        "oracle IBS",
        "MAE S(36)",
        "MAE S(36) complete inputs",
        "calib. slope 36",
    ]
    print(
        f"Test: {args.test_n} simulated patients (seed {args.test_seed}); "
        f"{100 * np.mean(test_df[schema.feature_names].notna().all(axis=1)):.0f} % have every input known. "
        "* = the bundle's default model."
    )
    print(table(header, rows))
    print("Reference: Cox model on the simulator's true design terms, all inputs known")
    print(table(["train n", "MAE S(36)"], ideal_rows))
    counts = {k: int(m.sum()) for k, m in masks.items()}
    print(
        "Floor: MAE S(36) on the same test patients "
        f"({counts['complete']} with every input known, {counts['any_unknown']} with an "
        f"input unknown, {counts['ki67_unknown']} of them with Ki-67 unknown); boosting = "
        "gradient-boosted regression of the true S(36), its fit seconds and iterations last"
    )
    print(
        table(
            [
                "predictor",
                "train n",
                "all",
                "complete inputs",
                "any input unknown",
                "Ki-67 unknown",
                "fit s",
                "iterations",
            ],
            [
                [
                    r["model"],
                    r["train_n"],
                    *r["mae_s36"].values(),
                    None if "fit_seconds" not in r else f"{r['fit_seconds']:.0f}",
                    r.get("iterations"),
                ]
                for r in floor_records
            ],
        )
    )
    floor = {
        "train_n": args.floor_n,
        "train_seed": args.floor_seed,
        "boosting": dict(FLOOR_BOOSTING),
        "target": "log(-log true S(36)), back-transformed",
        "test_counts": counts,
        "rows": floor_records,
    }
    out = write_result(
        "accuracy",
        {"test_n": args.test_n, "test_seed": args.test_seed, "rows": records, "floor": floor},
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
