"""Accuracy against the simulator's truth.

Train on 110 (the shipped one-centre cohort), 500 (simulated) and 2,000 (the shipped
registry cohort) patients; test on 5,000 fresh simulated patients with known true
curves. For each model: Harrell C next to the oracle C (ranking by the true risk),
integrated Brier score next to the oracle's (the true curves), and the mean absolute
error of predicted S(36) against the true S(36), for all test patients and for those
with every input known. A reference table gives the error of a Cox model fitted on the
simulator's true design terms with every input known: the best a Cox model can do at each n.

    .venv/bin/python benchmarks/accuracy.py            # prints a table, writes results/accuracy.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import ROOT, table, write_result
from lifelines import CoxPHFitter

from model.bundle import load_bundle
from model.schema import default_schema
from model.validation import validate_dataset
from training.estimators import survival_target
from training.evaluate import evaluate_bundle
from training.fit import FitOptions, fit_bundle
from training.metrics import performance
from training.simulate import SimulationSettings, TrueModel, simulate_cohort, write_cohort


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--test-n", type=int, default=5000)
    ap.add_argument("--test-seed", type=int, default=777)
    args = ap.parse_args()
    schema = default_schema()
    tmp = Path(tempfile.mkdtemp(prefix="hipec-acc-"))
    test = simulate_cohort(args.test_n, args.test_seed)
    write_cohort(test, tmp / "test.csv")
    test_df = validate_dataset(tmp / "test.csv", schema).raise_if_errors()
    y_test = survival_target(test_df, schema)

    train_sets = {
        110: ROOT / "data/synthetic/dmpm_110.csv",
        2000: ROOT / "data/synthetic/dmpm_2000.csv",
    }
    write_cohort(simulate_cohort(500, 500), tmp / "train_500.csv")
    train_sets[500] = tmp / "train_500.csv"

    rows, records = [], []
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
    out = write_result(
        "accuracy", {"test_n": args.test_n, "test_seed": args.test_seed, "rows": records}
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
