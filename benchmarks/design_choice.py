"""How the Cox model's design is chosen: rules for picking main effects, splines,
interactions or every numeric input bent, scored by the error of the design each rule picks.

For each world x training n x draw the Cox family is tuned as ``fit`` tunes it, on the
shipped folds and on ``--repeats - 1`` further 5-fold splits of the same patients (the
whole penalty path of every design and l1 ratio on every fold:
:func:`training.tuning.coxnet_paths`). Every design is then refitted on all patients at
the penalty tuning would give it (lowest mean IBS, then the least penalty within a
standard error: :func:`training.tuning._least_penalty`), once from the shipped folds and
once from all splits pooled, and its mean absolute error of S(36) is measured against the
world's truth on test patients, with every input known (c) and with one unknown (m).

A rule is then a function of the fold scores alone, so every rule is scored on the same
fits:

* ``se_served`` (``fit``'s rule): on the shipped folds, the simplest of the served designs
  that no richer one beats by more than the standard error of their paired fold
  differences;
* ``se_all``: the same with the every-input-bent design served too;
* ``best_all``: the lowest mean IBS on the shipped folds, no standard-error margin;
* ``rep_se_all`` / ``rep_se_served``: the standard-error rule on all splits pooled;
* ``rep_nb_all`` / ``rep_nb_served``: the same with the standard error of a cross-validated difference
  corrected for overlapping training sets (Nadeau & Bengio 2003: the variance of the mean
  of J fold differences is (1/J + n_test/n_train) times their variance, not 1/J);
* ``rep_declared``: the plain rule among the designs the schema declares (pooled), then the
  every-input-bent design only where it beats that choice by the corrected error;
* ``rep_best_all``: the lowest mean IBS over all splits pooled.

Worlds: the three of ``training simulate`` and the independent world of
``benchmarks/independent_world.py`` (a U-shaped age effect the schema does not declare).
Test sets: ``--test-n`` patients per world.

    .venv/bin/python benchmarks/design_choice.py --n 110 500 2000 --draws 6 4 3
"""

from __future__ import annotations

import argparse
import time
import warnings

import independent_world as iw
import numpy as np
from _common import table, write_result
from accuracy import draw_seed

from model.schema import default_schema
from model.validation import validate_dataset
from training.estimators import COX_TERMS, DECLARED_TERMS
from training.families import _coxnet_refit
from training.fit import FitOptions, _training_set
from training.simulate import WORLDS, SimulationSettings, simulate_cohort
from training.tuning import (
    _choose_design,
    _choose_terms,
    _least_penalty,
    best_by_design,
    coxnet_paths,
    make_folds,
)

WORLD_NAMES = (*WORLDS, "independent")
SPLIT_SEED_STEP = 7919  # further 5-fold splits: the shipped split's seed + k x this
RULES = (
    "se_served",
    "se_all",
    "best_all",
    "rep_se_served",
    "rep_se_all",
    "rep_nb_served",
    "rep_nb_all",
    "rep_declared",
    "rep_best_all",
)


def cohort(world: str, n: int, seed: int):
    """Training (or test) patients of a world and their true S(36)."""
    if world == "independent":
        data, truth = iw.simulate(n, seed)
        return data, truth["s36"].to_numpy()
    c = simulate_cohort(n, seed, SimulationSettings.for_world(world))
    return c.data, c.truth["true_surv_36"].to_numpy()


def train_seed(world: str, n: int, draw: int) -> int:
    if world == "independent":
        return iw.TRAIN_SEED + 1000 * draw + n
    return draw_seed(n, draw)


def _sliced(path, folds: slice):
    """A path's scores on some of its folds only (a shallow copy)."""
    out = type(path)(path.terms, path.l1_ratio, path.alphas, path.ibs[folds], [])
    return out


def se_rule(best: dict, designs, nb: float = 0.0) -> str:
    """:func:`training.tuning._choose_terms` over ``designs`` (in their order); ``nb`` the
    Nadeau-Bengio test/train ratio (0: the plain standard error)."""
    return _choose_terms({d: best[d] for d in designs}, test_share=nb)


def lowest(best: dict, designs) -> str:
    return min(designs, key=lambda d: best[d][0].mean_ibs[best[d][1]])


def choices(paths: list, folds_each: int) -> tuple[dict, dict]:
    """Each rule's design, and per design the (path, penalty index) of the shipped folds and
    of all splits pooled."""
    first = best_by_design([_sliced(p, slice(0, folds_each)) for p in paths])
    pooled = best_by_design(paths)
    served = [d for d in COX_TERMS if d in first and d in DECLARED_TERMS]
    every = [d for d in COX_TERMS if d in first]
    nb = 1 / (folds_each - 1)  # a fold's test patients over its training patients
    rules = {
        "se_served": se_rule(first, served),
        "se_all": se_rule(first, every),
        "best_all": lowest(first, every),
        "rep_se_served": se_rule(pooled, served),
        "rep_se_all": se_rule(pooled, every),
        "rep_nb_served": se_rule(pooled, served, nb),
        "rep_nb_all": se_rule(pooled, every, nb),
        "rep_declared": _choose_design(pooled, test_share=nb),  # fit's rule
        "rep_best_all": lowest(pooled, every),
    }
    return rules, {"first": first, "pooled": pooled}


def design_errors(d, schema, picks: dict, X_test, s36, complete) -> dict:
    """Per design and penalty source, MAE of S(36) on complete / masked test inputs."""
    out = {}
    for source, best in picks.items():
        for terms, (path, j) in best.items():
            # the original (unsliced) path's alphas are the same; the least penalty is judged
            # on the folds that chose it
            k = _least_penalty(path, j)
            params = {"l1_ratio": path.l1_ratio, "alpha": float(path.alphas[k]), "terms": terms}
            m = _coxnet_refit(
                d.X, d.y, 0, schema=schema, params=params, seed0=d.seed, horizon=d.risk_horizon
            )
            pred = np.array([f(36.0) for f in m.predict_survival_function(X_test)])
            err = np.abs(pred - s36)
            out[f"{source}:{terms}"] = {
                "c": float(err[complete].mean()),
                "m": float(err[~complete].mean()) if (~complete).any() else None,
                "alpha": params["alpha"],
            }
    return out


def one_draw(world, n, draw, test, schema, repeats) -> dict:
    t0 = time.perf_counter()
    seed = train_seed(world, n, draw)
    data, _ = cohort(world, n, seed)
    df = validate_dataset(data, schema).raise_if_errors()
    d = _training_set(df, schema, FitOptions(progress=False, n_jobs=2))
    folds = list(d.folds)
    for r in range(1, repeats):
        folds += make_folds(d.y, len(d.folds), d.seed + SPLIT_SEED_STEP * r)
    paths = coxnet_paths(d.X, d.y, schema, folds, d.grid, d.seed, progress=False)
    rules, picks = choices(paths, len(d.folds))
    errors = design_errors(d, schema, picks, *test)
    fold_ibs = {
        f"{source}:{terms}": path.ibs[:, j].tolist()
        for source, best in picks.items()
        for terms, (path, j) in best.items()
    }
    return {
        "world": world,
        "n": n,
        "draw": draw,
        "seed": seed,
        "deaths": int(d.y[d.y.dtype.names[0]].sum()),
        "rules": rules,
        "errors": errors,
        "fold_ibs": fold_ibs,  # per design, at its best penalty: later rules can be scored
        "seconds": round(time.perf_counter() - t0, 1),
    }


def rule_error(row: dict, rule: str, kind: str) -> float | None:
    source = "pooled" if rule.startswith("rep_") else "first"
    return row["errors"][f"{source}:{row['rules'][rule]}"][kind]


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for world in dict.fromkeys(r["world"] for r in rows):
        for n in sorted({r["n"] for r in rows if r["world"] == world}):
            cell = [r for r in rows if r["world"] == world and r["n"] == n]
            s = {"world": world, "n": n, "draws": len(cell)}
            for kind in ("c", "m"):
                # the best design of each draw, on the shipped folds' penalties: the oracle
                oracle = [
                    min(v[kind] for k, v in r["errors"].items() if k.startswith("first:"))
                    for r in cell
                ]
                s[f"oracle_{kind}"] = float(np.mean(oracle))
                for rule in RULES:
                    s[f"{rule}_{kind}"] = float(np.mean([rule_error(r, rule, kind) for r in cell]))
            for rule in RULES:
                s[f"{rule}_picks"] = [r["rules"][rule] for r in cell]
            out.append(s)
    return out


SHORT = {"main": "M", "splines": "S", "splines+interactions": "I", COX_TERMS[3]: "A"}


def print_tables(summary: list[dict]) -> None:
    for kind, label in (("c", "every input known"), ("m", "an input unknown")):
        print(f"\nMAE S(36), {label}: mean over draws of the design each rule picks")
        header = ["world", "n", "draws", "best design", *RULES]
        rows = [
            [
                s["world"],
                s["n"],
                s["draws"],
                s[f"oracle_{kind}"],
                *[s[f"{r}_{kind}"] for r in RULES],
            ]
            for s in summary
        ]
        print(table(header, rows))
    print("\nDesigns picked per draw (M main, S splines, I +interactions, A every input bent)")
    rows = [
        [s["world"], s["n"], *["".join(SHORT[p] for p in s[f"{r}_picks"]) for r in RULES]]
        for s in summary
    ]
    print(table(["world", "n", *RULES], rows))


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worlds", nargs="+", choices=WORLD_NAMES, default=list(WORLD_NAMES))
    ap.add_argument("--n", nargs="+", type=int, default=[110, 500, 2000])
    ap.add_argument("--draws", nargs="+", type=int, default=[6, 4, 3], help="per n, in order")
    ap.add_argument("--repeats", type=int, default=3, help="5-fold splits pooled by rep_ rules")
    ap.add_argument("--test-n", type=int, default=3000)
    ap.add_argument("--result", default="design_choice")
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
        for n in args.n:
            for draw in range(draws[n]):
                row = one_draw(world, n, draw, (X_test, s36, complete), schema, args.repeats)
                picks = " ".join(f"{r}={SHORT[row['rules'][r]]}" for r in RULES)
                print(f"{world} n={n} draw {draw}: {picks} ({row['seconds']} s)", flush=True)
                rows.append(row)
    summary = summarise(rows)
    print_tables(summary)
    path = write_result(
        args.result,
        {
            "worlds": args.worlds,
            "train_n": args.n,
            "draws": draws,
            "repeats": args.repeats,
            "test_n": args.test_n,
            "rules": list(RULES),
            "summary": summary,
            "rows": rows,
            "wall_seconds": round(time.perf_counter() - t0, 1),
        },
    )
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
