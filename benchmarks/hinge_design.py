"""The every-feature Cox design written two ways: each undeclared numeric input as ramps, or
as its own line plus hinges (what ``cox_expander`` builds), beside main effects and the
declared design.

For each world (the three of ``training simulate`` and ``independent_world.py``'s, which has
a U-shaped age effect the schema enters linearly) and training size, one draw (the
benchmarks' own seeds) is encoded and imputed as ``fit`` does; each design is then fitted at
every penalty of a grid (l1 ratio 0.5) and scored by the mean absolute error of S(36) against
the truth on test patients with every input known. The best penalty per design is an
oracle's choice: this measures what a design can reach, not what tuning picks (that is
``design_choice.py``).

    .venv/bin/python benchmarks/hinge_design.py   # about 10 minutes on 2 cores

Writes ``benchmarks/results/hinge_design.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import independent_world as iw
import numpy as np
import pandas as pd
from _common import table, write_result
from accuracy import draw_seed, test_set, training_cohort
from sklearn.preprocessing import StandardScaler

from model.coxnet import PathCoxnet
from model.preprocess import SplineInteractionExpander
from model.schema import default_schema
from model.validation import validate_dataset
from training.estimators import (
    COX_TERMS,
    _spline_columns,
    cox_expander,
    make_coxnet,
    survival_target,
)

ALPHAS = np.geomspace(3e-4, 0.2, 16)
WORLDS = ("milan", "linear", "nonph", "independent")
LANDMARK = 36.0


def _independent(n: int, seed: int, tmp: Path) -> pd.DataFrame:
    data, truth = iw.simulate(n, seed)
    path = tmp / f"iw_{n}_{seed}.csv"
    iw.write_registry_csv(data, path)
    return validate_dataset(path, default_schema()).raise_if_errors(), truth


def cohorts(world: str, n: int, tmp: Path):
    """Training data, and the test patients with every input known and their true S(36)."""
    schema = default_schema()
    if world == "independent":
        train, _ = _independent(n, iw.TRAIN_SEED + n, tmp)
        test, truth = _independent(iw.TEST_N, iw.TEST_SEED, tmp)
        s36 = truth["s36"].to_numpy()
    else:
        _, path, _ = training_cohort(world, n, tmp)
        train = validate_dataset(path, schema).raise_if_errors()
        ts = test_set(world, 3000, 777, schema, tmp)
        test, s36 = ts.data, ts.truth_at(int(LANDMARK))
    complete = test[schema.feature_names].notna().all(axis=1).to_numpy()
    return train, test[complete], s36[complete]


def designs(schema):
    """Expanders by name: the three declared designs, then every numeric input bent both ways."""
    every = _spline_columns(schema, every=True)
    out = {t: cox_expander(schema, t) for t in COX_TERMS[:3]}
    out["every, ramps"] = SplineInteractionExpander(every, schema.interactions)
    out["every, line + hinges"] = cox_expander(schema, COX_TERMS[3])
    return out


def best_error(Zt, y, Zs, s36) -> tuple[float, float]:
    scale = StandardScaler().set_output(transform="pandas")
    Zt, Zs = scale.fit_transform(Zt), scale.transform(Zs)
    best = (np.inf, None)
    for a in ALPHAS:
        m = PathCoxnet(l1_ratio=0.5, alphas=[a], max_iter=200_000, fit_baseline_model=True)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m.fit(Zt, y)
        except ArithmeticError:
            continue
        pred = np.array([f(LANDMARK) for f in m.predict_survival_function(Zs)])
        best = min(best, (float(np.abs(pred - s36).mean()), float(a)))
    return best


def run_cell(world: str, n: int, tmp: Path) -> dict:
    schema = default_schema()
    train, test, s36 = cohorts(world, n, tmp)
    y = survival_target(train, schema)
    front = make_coxnet(schema)[:2].fit(train[schema.feature_names], y)  # encode, impute
    Xt, Xs = (
        front.transform(train[schema.feature_names]),
        front.transform(test[schema.feature_names]),
    )
    row = {"world": world, "n": n, "deaths": int(y[y.dtype.names[0]].sum())}
    for name, ex in designs(schema).items():
        ex.fit(Xt)
        mae, alpha = best_error(ex.transform(Xt), y, ex.transform(Xs), s36)
        row[name] = {"mae_36": mae, "alpha": alpha, "columns": len(ex.get_feature_names_out())}
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worlds", nargs="+", choices=WORLDS, default=list(WORLDS))
    ap.add_argument("--n", nargs="+", type=int, default=[110, 500, 2000])
    ap.add_argument("--result", default="hinge_design")
    args = ap.parse_args()
    t0, rows = time.time(), []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.worlds:
            for n in args.n:
                rows.append(run_cell(world, n, Path(tmp)))
                print(f"[{time.time() - t0:.0f} s] {world} n={n}", flush=True)
    names = list(designs(default_schema()))
    print(table(["world", "n", "deaths", *names], [
        [r["world"], r["n"], r["deaths"], *[r[k]["mae_36"] for k in names]] for r in rows
    ]))  # fmt: skip
    write_result(args.result, {"alphas": ALPHAS.tolist(), "landmark_months": LANDMARK,
                               "train_seeds": {"simulated": [draw_seed(n) for n in args.n]},
                               "rows": rows, "wall_seconds": round(time.time() - t0, 1)})  # fmt: skip


if __name__ == "__main__":
    main()
