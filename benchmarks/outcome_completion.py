"""Training inputs completed with the help of the outcome: measured, not shipped.

``fit`` fills a training patient's unknown inputs from the known ones alone (conditional
means, IterativeImputer) before the Cox model is fitted; a new patient's curve is averaged
over draws of the unknown inputs from the known ones. The textbook alternative for the
fitting rows (White & Royston 2009, Stat Med 28:1982) adds the outcome to the imputation
model: the event indicator and the Nelson-Aalen cumulative hazard at the patient's own time.
Without it, an often-unknown input with a threshold (the milan world's Ki-67) is filled at
the cohort's usual value and its effect is diluted.

For each world and training draw, the Cox family is tuned as ``fit`` tunes it, and the
served design (one time piece) and the every-feature design (each at its own best
cross-validated penalty) are fitted four ways on the same patients:

* ``recorded``: as ``fit`` does (inputs filled from the known ones);
* ``outcome``: the fitting rows filled by chained equations that also see the outcome
  (conditional means);
* ``outcome, drawn``: the same with a draw from each filled value's predictive
  distribution instead of its mean (mean error over three draws);
* ``every input known``: the same patients with nothing unknown (the simulators' values
  before masking): what unknown training inputs cost, a floor for the other three.

Each is scored by the mean absolute error of S(36) against the truth on 3,000 test patients,
with every input known (c) and with one unknown (m; the curve averaged over 20 draws of the
unknown inputs, as ``predict`` does). Worlds: the three of ``training simulate``,
``independent_world.py``'s, and ``linear+U``: the linear world with a U-shaped age effect
added to the true log hazard (0.15 ((age - 60) / 10)^2; age enters the schema linearly).

    .venv/bin/python benchmarks/outcome_completion.py   # about 10 minutes on 2 cores

Writes ``benchmarks/results/outcome_completion.json``.
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
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.pipeline import Pipeline
from sksurv.nonparametric import nelson_aalen_estimator

from model.schema import default_schema
from model.uncertainty import ImputationDraws
from model.validation import validate_dataset
from training.estimators import COX_TERMS, fit_quietly, make_coxnet
from training.families import CoxnetTrainer
from training.fit import FitOptions, _training_set
from training.simulate import SimulationSettings, simulate_cohort

WORLDS = ("milan", "linear", "nonph", "independent", "linear+U")
WAYS = ("recorded", "outcome", "outcome, drawn", "every input known")
LANDMARK = 36.0
TEST_N = 3000
U_BEND = 0.15
DRAW_SEEDS = (0, 1, 2)


def complete_with_outcome(encoded: pd.DataFrame, y, seed: int, draw: bool) -> pd.DataFrame:
    """``encoded`` with each unknown value filled by chained equations on the other inputs,
    the event indicator and the Nelson-Aalen cumulative hazard at the patient's own time."""
    event, t = y.dtype.names
    times, hazard = nelson_aalen_estimator(y[event], y[t])
    h_own = hazard[np.searchsorted(times, y[t], side="right") - 1]
    lo = encoded.min(axis=0).to_numpy()
    hi = encoded.max(axis=0).to_numpy()
    imputer = IterativeImputer(
        max_iter=15,
        tol=1e-3,
        random_state=seed,
        skip_complete=True,
        sample_posterior=draw,
        min_value=np.r_[lo, -np.inf, -np.inf],
        max_value=np.r_[np.where(hi > lo, hi, lo + 1e-9), np.inf, np.inf],
    )
    aug = np.column_stack([encoded.to_numpy(dtype=float), y[event].astype(float), h_own])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        filled = imputer.fit_transform(aug)[:, : encoded.shape[1]]
    out = pd.DataFrame(filled, index=encoded.index, columns=encoded.columns)
    return out.where(encoded.isna(), encoded)


def _u_shaped(n: int, seed: int, masked: bool = True):
    cohort = simulate_cohort(n, seed, SimulationSettings.for_world("linear"))
    rng = np.random.default_rng(seed)
    age = cohort.latent["age"].to_numpy()
    eta = np.log(cohort.truth["true_risk"].to_numpy()) + U_BEND * ((age - 60.0) / 10.0) ** 2
    t = 40.0 * (rng.exponential(size=n) * np.exp(-eta)) ** (1 / 1.3)
    c = rng.uniform(12, 90, n)
    schema = default_schema()
    data = cohort.data.copy()
    if not masked:
        for col in schema.feature_names:
            data[col] = cohort.latent[col].to_numpy()
    data[schema.time.name], data[schema.event.name] = np.minimum(t, c), (t <= c).astype(int)
    return data, np.exp(-((LANDMARK / 40.0) ** 1.3) * np.exp(eta))


def cohorts(world: str, n: int, draw: int, tmp: Path):
    """Training data as recorded and with every input known, test data and true S(36)."""
    schema = default_schema()

    def valid(df):
        return validate_dataset(df, schema).raise_if_errors()

    if world == "independent":
        seed = iw.TRAIN_SEED + 1000 * draw + n
        (train, _), (known, _) = iw.simulate(n, seed), iw.simulate(n, seed, masked=False)
        test, truth = iw.simulate(TEST_N, iw.TEST_SEED)
        return valid(train), valid(known), valid(test), truth["s36"].to_numpy()
    if world == "linear+U":
        seed = draw_seed(n, draw)
        (train, _), (known, _) = _u_shaped(n, seed), _u_shaped(n, seed, masked=False)
        test, s36 = _u_shaped(TEST_N, 9191)
        return valid(train), valid(known), valid(test), s36
    cohort, path, _ = training_cohort(world, n, tmp, draw)
    known = cohort.data.copy()
    for col in schema.feature_names:
        known[col] = cohort.latent[col].to_numpy()
    ts = test_set(world, TEST_N, 777, schema, tmp)
    return valid(path), valid(known), ts.data, ts.truth_at(int(LANDMARK))


class Scorer:
    """Error of S(36) with every input known and with one unknown, as ``predict`` averages."""

    def __init__(self, front: Pipeline, train_encoded, test: pd.DataFrame, s36):
        schema = default_schema()
        X = test[schema.feature_names]
        self.complete = X.notna().all(axis=1).to_numpy()
        self.s36 = s36
        self.known = front.transform(X[self.complete])
        draws = ImputationDraws(seed=0).fit(train_encoded)
        self.rows, self.owner = draws.draws(front.transform(X[~self.complete]))

    def __call__(self, tail: Pipeline) -> tuple[float, float]:
        def s(Z):
            return np.array([f(LANDMARK) for f in tail.predict_survival_function(Z)])

        masked = pd.Series(s(self.rows)).groupby(self.owner).mean().to_numpy()
        return (
            float(np.abs(s(self.known) - self.s36[self.complete]).mean()),
            float(np.abs(masked - self.s36[~self.complete]).mean()),
        )


def run_cell(world: str, n: int, draw: int, tmp: Path) -> dict:
    schema = default_schema()
    train, known, test, s36 = cohorts(world, n, draw, tmp)
    d = _training_set(train, schema, FitOptions(progress=False))
    tuned = CoxnetTrainer(d).tune()
    served = tuned.params["terms"]
    front = fit_quietly(make_coxnet(schema, seed=d.seed)[:2], d.X, d.y)  # encode, impute
    encoded = front[0].transform(d.X)
    score = Scorer(front[:1], encoded, test, s36)
    y_known = _training_set(known, schema, FitOptions(progress=False)).y
    row = {"world": world, "n": n, "draw": draw, "served": served}
    for terms in dict.fromkeys([served, COX_TERMS[3]]):
        if terms not in {x["terms"] for x in tuned.designs}:
            continue
        p = min((x for x in tuned.designs if x["terms"] == terms), key=lambda x: x["cv_ibs"])
        if terms == served:
            p = tuned.params

        def tail(rows, y, p=p, terms=terms):
            pipe = make_coxnet(
                schema, p["l1_ratio"], alphas=[p["alpha"]], fit_baseline_model=True,
                seed=d.seed, terms=terms,
            )  # fmt: skip
            return fit_quietly(Pipeline(pipe.steps[2:]), rows, y)

        drawn = [score(tail(complete_with_outcome(encoded, d.y, s, True), d.y)) for s in DRAW_SEEDS]
        row[terms] = {
            "alpha": p["alpha"],
            "recorded": score(tail(front.transform(d.X), d.y)),
            "outcome": score(tail(complete_with_outcome(encoded, d.y, d.seed, False), d.y)),
            "outcome, drawn": tuple(np.mean(drawn, axis=0).tolist()),
            "every input known": score(tail(front[0].transform(known[schema.feature_names]), y_known)),
        }  # fmt: skip
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worlds", nargs="+", choices=WORLDS, default=list(WORLDS))
    ap.add_argument("--n", nargs="+", type=int, default=[500, 2000])
    ap.add_argument("--draws", nargs="+", type=int, default=[2, 1], help="per size, in order")
    ap.add_argument("--result", default="outcome_completion")
    args = ap.parse_args()
    t0, rows = time.time(), []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.worlds:
            for n, draws in zip(args.n, args.draws, strict=True):
                for draw in range(draws):
                    rows.append(run_cell(world, n, draw, Path(tmp)))
                    print(f"[{time.time() - t0:.0f} s] {world} n={n} draw {draw}", flush=True)
    lines = []
    for r in rows:
        for terms in (t for t in COX_TERMS if t in r):
            kind = "served" if terms == r["served"] else "every-feature"
            lines.append([r["world"], r["n"], r["draw"], f"{terms} ({kind})",
                          *["/".join(f"{v:.4f}" for v in r[terms][w]) for w in WAYS]])  # fmt: skip
    print(table(["world", "n", "draw", "design", *(f"{w} c/m" for w in WAYS)], lines))
    write_result(args.result, {"landmark_months": LANDMARK, "test_n": TEST_N, "ways": list(WAYS),
                               "rows": rows, "wall_seconds": round(time.time() - t0, 1)})  # fmt: skip


if __name__ == "__main__":
    main()
