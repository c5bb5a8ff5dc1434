"""The Cox band's inflation factor: what the training-time stand-in estimates against what
the truth asks for, per simulated world x training n x landmark.

For each cell the shipped Cox model is tuned and fitted as ``fit`` does (the design and
penalty search by cross-validated IBS) with ``--bootstrap`` refits of its Cox step (the
band's ensemble). Then, at 12/36/60 months:

* **oracle factor**: over the test patients with every input known, the 95th percentile
  of |log H_model(t) - log H_true(t)| divided by the half-width of that patient's plain
  bootstrap band (log cumulative hazard): the smallest factor with which the band would
  reach the true curve for 95 in 100 of them;
* **stand-in factor**: what training/band.py estimates from the training data alone
  (the factor the bundle ships);
* **coverage implied**: the share of those test patients whose ratio is within the
  stand-in's factor, i.e. roughly the band's coverage on complete inputs.

One training draw says little about a band: its coverage is a property of the method over
draws, and at n = 110 a single draw's error is large or small by luck (the oracle factor of
one draw is itself random). Each cell therefore takes ``--draws`` training draws: the first
is ``benchmarks/accuracy.py``'s (same seed), the others fresh seeds; the summary gives the
mean factors and the mean, lowest and highest coverage implied over the draws.

The stand-in's factor is measured unbounded below (``training.band.MIN_FACTOR`` set to 0
for the run) and scored at every least factor of ``--least`` (the shipped 1 and none by
default): its served coverage and mean width at 36 months, complete inputs.

Worlds: the project's (``training simulate --world``) and the two independent checks' own
(``u_age``: benchmarks/independent_world.py; ``thresholds``: benchmarks/threshold_world.py),
whose patients do not come from ``simulate``.

``--pieces N`` replaces the stand-in's pieces (which end at the landmarks) by N pieces cut at
quantiles of the death times; ``--pieces cv`` by the number of such pieces, from one up to a
piece per 65 deaths (3 to 6), with the highest cross-validated partial likelihood
(:func:`choose_pieces`): time pieces only where the data show hazard ratios that change.

Fits are cached in ``--cache`` (one joblib file a draw) so that the calibration can be
re-run alone on the same models. Reduced scale by default: run in minutes on 2 cores.

    .venv/bin/python benchmarks/band_factor.py --worlds milan linear nonph --n 110 500 2000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import independent_world
import joblib
import numpy as np
import pandas as pd
from _common import table, write_result
from accuracy import TRAIN_SEEDS, test_set
from sklearn.model_selection import StratifiedKFold

from model.predict import cox_baseline_on_grid
from model.schema import default_schema
from model.timeaxis import LANDMARKS
from model.uncertainty import CoxEnsemble
from model.validation import validate_dataset
from training import band as band_module
from training.band import (
    BAND_REPLICATES,
    STAND_IN_PENALTY_SHARE,
    _half,
    _plain_band,
    _ratios,
    _sides,
    calibrate_inflation,
    stand_in_pieces,
)
from training.estimators import coxnet_step
from training.families import CoxnetTrainer
from training.fit import FitOptions, _predicting_alone, _training_set
from training.simulate import WORLDS, SimulationSettings, simulate_cohort, write_cohort
from training.time_pieces import equal_plans, plan_logliks
from training.tuning import TuningResult

DRAW_SEED_STEP = 1000  # draw k > 0 of a cell uses accuracy.py's seed + k x this
OWN_WORLDS = ("u_age", "thresholds")  # the independent checks' simulators


@dataclass
class OwnTest:
    """An independent world's test patients as :func:`oracle_ratios` reads them."""

    data: pd.DataFrame
    masks: dict[str, np.ndarray]
    truth: pd.DataFrame

    def truth_at(self, t: int) -> np.ndarray:
        return self.truth[f"s{t}"].to_numpy()


def own_cohort(world: str, n: int, seed: int, path: Path, schema):
    """An independent world's ``n`` patients written as a registry holds them, validated."""
    data, truth = independent_world.world_simulator(world)(n, seed)
    independent_world.write_registry_csv(data, path)
    return validate_dataset(path, schema).raise_if_errors(), truth


def world_test(world: str, n: int, seed: int, schema, tmp: Path):
    if world not in OWN_WORLDS:
        return test_set(world, n, seed, schema, tmp)
    data, truth = own_cohort(world, n, seed, tmp / f"test_{world}.csv", schema)
    complete = data[schema.feature_names].notna().all(axis=1).to_numpy()
    return OwnTest(data, {"complete": complete}, truth)


def fitted(world: str, n: int, seed: int, schema, tmp: Path, boot: int, cache) -> dict:
    """One draw's tuned and fitted Cox model, its bootstrap ensemble and training set."""
    hit = cache / f"{world}_{n}_{seed}_{boot}.joblib" if cache else None
    path = tmp / f"train_{world}_{n}_{seed}.csv"
    if world in OWN_WORLDS:
        df, _ = own_cohort(world, n, seed, path, schema)
    else:
        write_cohort(simulate_cohort(n, seed, SimulationSettings.for_world(world)), path)
        df = validate_dataset(path, schema).raise_if_errors()
    d = _training_set(df, schema, FitOptions(progress=False, n_jobs=2))
    t = CoxnetTrainer(d)
    if hit is not None and hit.exists():
        cell = joblib.load(hit)
        if "designs" not in cell:  # cached before the stand-in took the best-scoring design
            cell["designs"] = t.tune().designs
            joblib.dump(cell, hit)
        return {**cell, "trainer": t}
    t0 = time.perf_counter()
    tuned = t.tune()
    # the band of the proportional-hazards model (fit serves time pieces where its check
    # chooses them: the nonph world from n = 500; accuracy.py measures that band)
    tuned.params.pop("time_cuts_months", None)
    final = _predicting_alone(t.fit(tuned.params))
    refit = t.refit(final, tuned.params)
    columns = list(final[:-1].transform(d.X.iloc[:1]).columns)
    rng = np.random.default_rng(d.seed)
    coefs, h0s = [], []
    while len(coefs) < boot:
        idx = rng.integers(0, len(d.y), len(d.y))
        try:
            m = refit(d.X.iloc[idx], d.y[idx], 0)
        except ArithmeticError:
            continue
        coefs.append(m[-1].coef_[:, 0])
        h0s.append(cox_baseline_on_grid(m[-1], columns, d.grid))
    est = final[-1]
    ensemble = CoxEnsemble(
        columns, est.coef_[:, 0], cox_baseline_on_grid(est, columns, d.grid),
        np.array(coefs), np.array(h0s),
    )  # fmt: skip
    cell = {
        "final": final,
        "ensemble": ensemble,
        "X": d.X,
        "y": d.y,
        "grid": d.grid,
        "params": tuned.params,
        "designs": tuned.designs,
        "horizons": d.horizons,
        "fit_seconds": time.perf_counter() - t0,
    }
    if hit is not None:
        hit.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(cell, hit)
    return {**cell, "trainer": t}


def oracle_ratios(cell: dict, test, schema) -> dict[str, np.ndarray]:
    """|log H_model - log H_true| / plain half-width, test patients with every input known."""
    final, ens, grid = cell["final"], cell["ensemble"], cell["grid"]
    keep = test.masks["complete"]
    Z = final[:-1].transform(test.data[schema.feature_names][keep]).to_numpy(dtype=float)
    inside = {str(t): t for t in LANDMARKS if t <= grid[-1]}
    marks = [int(np.searchsorted(grid, t)) for t in inside.values()]
    log_h, lo, hi = _plain_band(ens, Z, marks)
    half = _half(lo, hi)
    # the band as served: each side stretched from the final model by the factor
    served = _sides(log_h, lo, hi)
    out = {}
    for i, name in enumerate(inside):
        s_true = np.clip(test.truth_at(int(name))[keep], 1e-12, 1 - 1e-12)
        true_log_h = np.log(-np.log(s_true))
        out[name] = np.abs(log_h[:, i] - true_log_h) / half[:, i]
        sides = (served[0][:, i], served[1][:, i])
        out[name + "_served"] = _ratios(log_h[:, i], true_log_h, sides)
        out[name + "_sides"] = (log_h[:, i], *sides)
    return out


def served_width(log_h: np.ndarray, below: np.ndarray, above: np.ndarray, k: float) -> float:
    """Mean width in S of the served band: each side stretched from the curve by ``k``."""
    upper = np.exp(-np.exp(log_h - k * below))
    lower = np.exp(-np.exp(log_h + k * above))
    return float(np.mean(upper - lower))


def choose_pieces(Z, y: np.ndarray, make_step, alpha: float, most: int, folds=5, seed=0) -> dict:
    """Held-out partial log-likelihood of the stand-in in 1 to ``most`` time pieces, summed
    over ``folds`` stratified folds (None where a fit ran off to infinity)."""
    e, _ = y.dtype.names
    split = list(StratifiedKFold(folds, shuffle=True, random_state=seed).split(Z, y[e]))
    total = plan_logliks(Z, y, make_step, alpha, equal_plans(most), split).sum(axis=0)
    return {k + 1: float(v) if np.isfinite(v) else None for k, v in enumerate(total)}


def cv_pieces(cell, schema, share) -> tuple[int, dict]:
    """The stand-in's pieces chosen by cross-validated partial likelihood (shipped design)."""
    final, y = cell["final"], cell["y"]
    alpha = float(final[-1].alphas_[0]) * share
    most = stand_in_pieces(int(y[y.dtype.names[0]].sum()))
    step = lambda a: coxnet_step(schema, cell["params"]["l1_ratio"], a)  # noqa: E731
    scores = choose_pieces(final[:-1].transform(cell["X"]), y, step, alpha, most)
    return max(scores, key=lambda k: -np.inf if scores[k] is None else scores[k]), scores


def run_draw(world, n, seed, schema, test, tmp, args) -> dict:
    cell = fitted(world, n, seed, schema, tmp, args.bootstrap, args.cache)
    params = cell["params"]
    t0 = time.perf_counter()
    pieces, scores = (
        cv_pieces(cell, schema, args.stand_in_share) if args.pieces == "cv" else (args.pieces, {})
    )
    shipped_least = band_module.MIN_FACTOR
    band_module.MIN_FACTOR = 0.0  # the factor as measured; each least factor applied below
    try:
        band = calibrate_inflation(
        cell["final"], cell["X"], cell["y"], cell["grid"], cell["ensemble"],
        lambda alpha: coxnet_step(schema, params["l1_ratio"], alpha),
        n_rep=args.replicates, landmarks=cell["horizons"], pieces=pieces,
        share=args.stand_in_share,
        stand_in=cell["trainer"]._stand_in(
            cell["final"], TuningResult("coxnet", params, 0.0, [], designs=cell["designs"])
        ),
        )  # fmt: skip
    finally:
        band_module.MIN_FACTOR = shipped_least
    seconds = time.perf_counter() - t0
    ratios = oracle_ratios(cell, test, schema)
    y = cell["y"]
    rec = {
        "world": world,
        "train_n": n,
        "seed": seed,
        "deaths": int(y[y.dtype.names[0]].sum()),
        "columns": len(cell["ensemble"].columns),
        "params": {k: v for k, v in params.items() if k != "terms"}
        | {"terms": str(params.get("terms"))},
        "fit_seconds": round(cell["fit_seconds"], 1),
        "calibration_seconds": round(seconds, 1),
        "band": {k: v for k, v in band.items() if k != "grid"},
        "pieces_cv_loglik": scores,
        "landmarks": {},
    }
    for name, r in ((k, v) for k, v in ratios.items() if k.isdigit()):
        raw = (band.get("by_landmark") or {}).get(name)
        k = None if raw is None else max(shipped_least, raw)
        rec["landmarks"][name] = {
            "stand_in_factor_unbounded": raw,
            "by_least": {
                str(least): {
                    "factor": max(least, raw),
                    "coverage_served": float(np.mean(ratios[name + "_served"] <= max(least, raw))),
                    "width": served_width(*ratios[name + "_sides"], max(least, raw)),
                }
                for least in args.least
            }
            if raw is not None
            else {},
            "oracle_factor": float(np.quantile(r, 0.95)),
            "stand_in_factor": k,
            "coverage_implied": None if k is None else float(np.mean(r <= k)),
            "coverage_plain": float(np.mean(r <= 1.0)),
            "coverage_served": None if k is None else float(np.mean(ratios[name + "_served"] <= k)),
        }
    return rec


def summarise(rows: list[dict]) -> list[dict]:
    """Per world, n and landmark: factors and implied coverage over the draws."""
    out = []
    for world, n in dict.fromkeys((r["world"], r["train_n"]) for r in rows):
        mine = [r for r in rows if (r["world"], r["train_n"]) == (world, n)]
        for name in dict.fromkeys(k for r in mine for k in r["landmarks"]):
            v = [r["landmarks"][name] for r in mine if name in r["landmarks"]]
            cov = [x["coverage_implied"] for x in v if x["coverage_implied"] is not None]
            out.append(
                {
                    "world": world,
                    "train_n": n,
                    "month": name,
                    "draws": len(v),
                    "oracle_factor": float(np.mean([x["oracle_factor"] for x in v])),
                    "stand_in_factor": float(np.mean([x["stand_in_factor"] or 1.0 for x in v])),
                    "coverage_mean": float(np.mean(cov)) if cov else None,
                    "coverage_min": min(cov, default=None),
                    "coverage_max": max(cov, default=None),
                    "coverage_plain_mean": float(np.mean([x["coverage_plain"] for x in v])),
                    "coverage_first_draw": v[0]["coverage_implied"],
                    "coverage_served_mean": float(np.mean([x["coverage_served"] for x in v]))
                    if all(x["coverage_served"] is not None for x in v)
                    else None,
                    "by_least": by_least(v),
                }
            )
    return out


def by_least(v: list[dict]) -> dict:
    """Per least factor: mean, lowest and highest served coverage over draws, mean width."""
    out = {}
    for least in dict.fromkeys(k for x in v for k in x.get("by_least", {})):
        got = [x["by_least"][least] for x in v if least in x.get("by_least", {})]
        cov = [g["coverage_served"] for g in got]
        out[least] = {
            "coverage_mean": float(np.mean(cov)),
            "coverage_min": min(cov),
            "coverage_max": max(cov),
            "width_mean": float(np.mean([g["width"] for g in got])),
            "factor_mean": float(np.mean([g["factor"] for g in got])),
        }
    return out


def print_least(summary: list[dict]) -> None:
    rows = [
        [s["world"], s["train_n"], s["month"], s["draws"], least, b["factor_mean"],
         b["coverage_mean"], b["coverage_min"], b["coverage_max"], b["width_mean"]]
        for s in summary
        for least, b in s["by_least"].items()
    ]  # fmt: skip
    header = ["world", "n", "month", "draws", "least factor", "factor", "served coverage",
              "min", "max", "width"]  # fmt: skip
    print(table(header, rows))


def print_table(summary: list[dict]) -> None:
    keys = ["world", "train_n", "month", "draws", "oracle_factor", "stand_in_factor",
            "coverage_mean", "coverage_min", "coverage_max", "coverage_plain_mean",
            "coverage_first_draw", "coverage_served_mean"]  # fmt: skip
    header = ["world", "n", "month", "draws", "oracle factor", "stand-in factor",
              "coverage mean", "min", "max", "plain band", "accuracy.py's draw",
              "served band"]  # fmt: skip
    print(table(header, [[s[k] for k in keys] for s in summary]))


def pieces_arg(value: str) -> int | str:
    """``--pieces``: a whole number of pieces (1 or more), or ``cv``."""
    if value == "cv":
        return value
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise argparse.ArgumentTypeError(
        f"--pieces must be a whole number of pieces (1 or more) or 'cv', got {value!r}"
    )


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worlds", nargs="+", choices=[*WORLDS, *OWN_WORLDS], default=list(WORLDS))
    ap.add_argument("--n", nargs="+", type=int, default=sorted(TRAIN_SEEDS))
    ap.add_argument("--test-n", type=int, default=2000)
    ap.add_argument("--test-seed", type=int, default=777)
    ap.add_argument("--bootstrap", type=int, default=30, help="Cox refits of each draw's band")
    ap.add_argument("--draws", nargs="+", type=int, default=[3], help="training draws a cell "
                    "(one number, or one per --n)")  # fmt: skip
    ap.add_argument("--replicates", type=int, default=BAND_REPLICATES,
                    help="stand-in replicates (the trainer's by default)")  # fmt: skip
    ap.add_argument("--pieces", type=pieces_arg, default=None,
                    help="stand-in time pieces at death-time quantiles, or 'cv' (default: the "
                    "trainer's, ending at the landmarks)")  # fmt: skip
    ap.add_argument("--stand-in-share", type=float, default=STAND_IN_PENALTY_SHARE,
                    help="the shipped design's stand-in at this share of the penalty")  # fmt: skip
    ap.add_argument("--least", nargs="+", type=float, default=[1.0, 0.0],
                    help="least factors to score the measured factor at")  # fmt: skip
    ap.add_argument("--cache", type=Path, default=None, help="folder caching the fitted cells")
    ap.add_argument("--result", default="band_factor")
    return ap.parse_args()


def draws_per_n(args) -> list[int]:
    return args.draws * len(args.n) if len(args.draws) == 1 else args.draws


def main() -> None:
    args = parse_args()
    schema = default_schema()
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hipec-band-") as tmp:
        for world in args.worlds:
            test = world_test(world, args.test_n, args.test_seed, schema, Path(tmp))
            for n, draws in zip(args.n, draws_per_n(args), strict=True):
                for k in range(draws):
                    seed = TRAIN_SEEDS.get(n, n) + k * DRAW_SEED_STEP
                    rows.append(run_draw(world, n, seed, schema, test, Path(tmp), args))
                    print(f"[{time.perf_counter() - start:.0f} s] {world} n={n} seed {seed}",
                          flush=True)  # fmt: skip
    summary = summarise(rows)
    print_table(summary)
    print_least(summary)
    out = write_result(
        args.result,
        {
            "worlds": args.worlds,
            "train_n": args.n,
            "test_n": args.test_n,
            "test_seed": args.test_seed,
            "bootstrap": args.bootstrap,
            "replicates": args.replicates,
            "pieces": args.pieces or "ending at the landmarks (training/band.py stand_in_cuts)",
            "stand_in_share": args.stand_in_share,
            "least_factors": args.least,
            "draws": dict(zip(args.n, draws_per_n(args), strict=True)),
            "wall_seconds": time.perf_counter() - start,
            "summary": summary,
            "rows": rows,
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
