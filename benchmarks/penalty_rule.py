"""How the Cox model's penalty is chosen: rules for picking it from the cross-validated IBS
path, scored by the error of the model each rule serves against a world's truth.

For each world x training n x draw the Cox family is tuned as ``fit`` tunes it (every design
and l1 ratio on the shipped folds and two further splits pooled; the design by
:func:`training.tuning._choose_design`). On the served design's best path (its l1 ratio)
each rule picks a penalty; the model is refitted on all patients at it, and its mean
absolute error of S(36) and its calibration slope against the truth (log(-log) of the true
S(36) on the predicted, least squares) are measured on test patients with every input known.
The plain scikit-survival CoxPH peer (``benchmarks/accuracy.py``) is scored beside. Every
rule's model is one Cox model over all of follow-up: ``fit`` serves the nonph world in two
time pieces from n = 500 (same design and penalty), which this comparison leaves out.

Rules (path index grows as the penalty falls):

* ``fit``: the lowest mean IBS, then the least penalty within the standard error of the
  paired fold differences (:func:`training.tuning._least_penalty`, what ``fit`` serves);
* ``lowest``: the lowest mean IBS;
* ``fit_x0.8``: ``fit``'s penalty times 0.8 (folds train on 4/5 of the patients);
* ``nb_least``: the least penalty within the standard error corrected for folds that share
  training patients (Nadeau & Bengio 2003, as the choice of the undeclared design uses);
* ``slope_1``: among the penalties within that corrected error of the best, on either side,
  the one whose held-out calibration slope (one Cox coefficient on the folds' held-out
  linear predictors, stratified by fold) is nearest 1.

    .venv/bin/python benchmarks/penalty_rule.py --n 110 500 2000 --draws 4 3 1
"""

from __future__ import annotations

import argparse
import time
import warnings

import independent_world as iw
import numpy as np
from _common import table, write_result
from accuracy import fitted_peer
from design_choice import WORLD_NAMES, cohort, train_seed
from scipy.optimize import minimize_scalar

from model.coxnet import cox_partial_loglik
from model.schema import default_schema
from model.validation import validate_dataset
from training.families import _coxnet_refit
from training.fit import FitOptions, _training_set
from training.tuning import (
    _choose_design,
    _least_penalty,
    best_by_design,
    coxnet_paths,
    cv_repeats,
    repeated_folds,
)

RULES = ("fit", "lowest", "fit_x0.8", "nb_least", "slope_1")


def _nb_worse(path, k: int, best: int, share: float) -> bool:
    diff = path.ibs[:, k] - path.ibs[:, best]
    return diff.mean() > np.sqrt(diff.var(ddof=1) * (1 / len(diff) + share))


def nb_range(path, best: int, share: float) -> tuple[int, int]:
    """The path indices on either side of ``best`` that the corrected error cannot tell from it."""
    lo = hi = best
    while lo > 0 and not _nb_worse(path, lo - 1, best, share):
        lo -= 1
    while hi + 1 < len(path.alphas) and not _nb_worse(path, hi + 1, best, share):
        hi += 1
    return lo, hi


def held_out_slope(path, a: int, folds, y) -> float:
    """The Cox coefficient of the held-out linear predictors at penalty ``a``, by fold."""
    e, t = y.dtype.names
    lps = [path.test_lp[k][:, a] for k in range(len(folds))]
    if all(np.ptp(lp) == 0 for lp in lps):
        return np.inf  # every coefficient zero: no spread to calibrate

    def minus_loglik(b: float) -> float:
        return -sum(
            cox_partial_loglik(b * lp, y[e][te], y[t][te])
            for lp, (_, te) in zip(lps, folds, strict=True)
        )

    return float(minimize_scalar(minus_loglik, bounds=(0.0, 5.0), method="bounded").x)


def picks(path, best: int, folds, y, share: float) -> dict[str, float]:
    """Each rule's penalty on the served design's path."""
    fit = _least_penalty(path, best)
    lo, hi = nb_range(path, best, share)
    slopes = {a: held_out_slope(path, a, folds, y) for a in range(lo, hi + 1)}
    return {
        "fit": float(path.alphas[fit]),
        "lowest": float(path.alphas[best]),
        "fit_x0.8": 0.8 * float(path.alphas[fit]),
        "nb_least": float(path.alphas[hi]),
        "slope_1": float(path.alphas[min(slopes, key=lambda a: abs(slopes[a] - 1))]),
    }


def slope_vs_truth(pred: np.ndarray, truth: np.ndarray) -> float:
    c = lambda s: np.log(-np.log(np.clip(s, 1e-9, 1 - 1e-9)))  # noqa: E731
    return float(np.polyfit(c(pred), c(truth), 1)[0])


def one_draw(world, n, draw, test, schema) -> dict:
    t0 = time.perf_counter()
    X_test, s36 = test
    seed = train_seed(world, n, draw)
    data, _ = cohort(world, n, seed)
    df = validate_dataset(data, schema).raise_if_errors()
    d = _training_set(df, schema, FitOptions(progress=False, n_jobs=2))
    folds = repeated_folds(d.y, d.folds, d.seed, cv_repeats(len(d.y)))
    paths = coxnet_paths(
        d.X,
        d.y,
        schema,
        folds,
        d.grid,
        d.seed,
        progress=False,
        ibs_max=schema.time_axis.last_months,
    )
    best = best_by_design(paths)
    share = 1 / (len(d.folds) - 1)
    terms = _choose_design(best, test_share=share)
    path, j = best[terms]
    out = {"world": world, "n": n, "draw": draw, "seed": seed, "terms": terms}
    out["l1_ratio"] = path.l1_ratio
    for rule, alpha in picks(path, j, folds, d.y, share).items():
        params = {"l1_ratio": path.l1_ratio, "alpha": alpha, "terms": terms}
        m = _coxnet_refit(
            d.X, d.y, 0, schema=schema, params=params, seed0=d.seed, horizon=d.risk_horizon
        )
        pred = np.array([f(36.0) for f in m.predict_survival_function(X_test)])
        out[rule] = {
            "alpha": alpha,
            "mae": float(np.abs(pred - s36).mean()),
            "slope": slope_vs_truth(pred, s36),
        }
    peer = fitted_peer("coxph_peer", df, schema)
    pred = np.array([f(36.0) for f in peer.predict_survival_function(X_test)])
    out["coxph_peer"] = {"mae": float(np.abs(pred - s36).mean())}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for world in dict.fromkeys(r["world"] for r in rows):
        for n in sorted({r["n"] for r in rows if r["world"] == world}):
            cell = [r for r in rows if r["world"] == world and r["n"] == n]
            s = {"world": world, "n": n, "draws": len(cell)}
            s["coxph_peer"] = float(np.mean([r["coxph_peer"]["mae"] for r in cell]))
            for rule in RULES:
                s[rule] = float(np.mean([r[rule]["mae"] for r in cell]))
                s[f"{rule}_slope"] = float(np.mean([r[rule]["slope"] for r in cell]))
                # how often the rule errs least of all rules, per draw
                s[f"{rule}_wins"] = sum(
                    r[rule]["mae"] <= min(r[x]["mae"] for x in RULES) + 1e-12 for r in cell
                )
            out.append(s)
    return out


def print_tables(summary: list[dict]) -> None:
    print("\nMAE S(36), every input known: mean over draws of the model each rule serves")
    header = ["world", "n", "draws", "CoxPH peer", *RULES]
    print(
        table(
            header,
            [
                [s["world"], s["n"], s["draws"], s["coxph_peer"], *[s[r] for r in RULES]]
                for s in summary
            ],
        )
    )
    print("\nCalibration slope at 36 months against the truth (mean over draws)")
    rows = [[s["world"], s["n"], *[s[f"{r}_slope"] for r in RULES]] for s in summary]
    print(table(["world", "n", *RULES], rows))
    print("\nDraws in which the rule errs least of the five")
    rows = [[s["world"], s["n"], *[s[f"{r}_wins"] for r in RULES]] for s in summary]
    print(table(["world", "n", *RULES], rows))


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worlds", nargs="+", choices=WORLD_NAMES, default=list(WORLD_NAMES))
    ap.add_argument("--n", nargs="+", type=int, default=[110, 500, 2000])
    ap.add_argument("--draws", nargs="+", type=int, default=[4, 3, 1], help="per n, in order")
    ap.add_argument("--test-n", type=int, default=3000)
    ap.add_argument("--result", default="penalty_rule")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    warnings.filterwarnings("ignore")
    schema = default_schema()
    draws = dict(zip(args.n, args.draws + [args.draws[-1]] * len(args.n), strict=False))
    t0 = time.perf_counter()
    rows = []
    for world in args.worlds:
        seed = iw.TEST_SEED if world == "independent" else 777
        test_data, s36 = cohort(world, args.test_n, seed)
        X_test = validate_dataset(test_data, schema).raise_if_errors()[schema.feature_names]
        complete = X_test.notna().all(axis=1).to_numpy()
        test = (X_test[complete], s36[complete])
        for n in args.n:
            for draw in range(draws[n]):
                row = one_draw(world, n, draw, test, schema)
                rows.append(row)
                short = {r: round(row[r]["mae"], 4) for r in RULES}
                print(f"{world} n={n} draw {draw}: {short} ({row['seconds']} s)", flush=True)
    summary = summarise(rows)
    print_tables(summary)
    path = write_result(
        args.result,
        {
            "args": vars(args),
            "rules": list(RULES),
            "summary": summary,
            "draws": rows,
            "seconds": round(time.perf_counter() - t0, 1),
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
