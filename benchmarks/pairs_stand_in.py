"""Would a band stand-in that holds every pairwise interaction see the misfit of an
interaction the schema does not declare? Measured, not shipped.

The band's stand-ins (training/band.py) are designs on the schema: none holds a CC x age
term, so in a world with one (``benchmarks/threshold_world.py``) the served band covers the
true S(36) of only some 0.8 of patients at n = 2,000. Here the second stand-in is replaced by
the served design plus every pairwise product of the main-effect columns (standardised), at
the penalty and l1 ratio with the lowest cross-validated IBS of that design on the served
model's folds (three splits pooled, as tuning does). Each cell fits the Cox model as ``fit``
does (30 bootstrap refits), twice on the same training draw: with the shipped stand-ins
(``shipped``) and with the pairwise one (``pairs``); then scores the band on 3,000 test
patients against the true S(12/36/60) (inputs complete in the independent worlds, as a
registry holds them in the simulated ones).

    .venv/bin/python benchmarks/pairs_stand_in.py --worlds thresholds u_age linear milan \
        --sizes 500 2000
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from _common import table, write_result
from independent_world import world_simulator
from joblib import delayed

from model.engine import Engine
from model.registry import Registry
from model.schema import default_schema
from model.validation import validate_dataset
from training import cluster, families
from training.band import StandIn
from training.estimators import coxnet_step, make_coxnet
from training.fit import FitOptions, fit_bundle
from training.simulate import WORLDS, SimulationSettings, simulate_cohort
from training.tuning import (
    _cv_path,
    _fold_designs,
    _imputed,
    best_by_design,
    coxnet_l1_ratios,
    cv_repeats,
    fold_ibs_times,
    repeated_folds,
)

MARKS = (12, 36, 60)
TEST_N, TEST_SEED = 3000, 777
INDEPENDENT = ("thresholds", "u_age")


def draw(world: str, n: int, seed: int, masked: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A registry table and the truth (``true_surv_<month>``) per patient."""
    if world in INDEPENDENT:
        data, truth = world_simulator(world)(n, seed, masked=masked)
        return data, truth.rename(columns={f"s{t}": f"true_surv_{t}" for t in MARKS})
    cohort = simulate_cohort(n, seed, SimulationSettings.for_world(world))
    return cohort.data, cohort.truth


def with_pairs(main: pd.DataFrame, base: pd.DataFrame, scale: dict | None = None):
    """``base`` and every non-constant product of two ``main`` columns, standardised by the
    training rows' ``scale`` (computed here when None)."""
    fitted = scale is None
    scale = {} if fitted else scale
    out = {}
    for a, b in itertools.combinations(main.columns, 2):
        p = main[a] * main[b]
        if fitted and p.std() > 1e-8:
            scale[(a, b)] = (p.mean(), p.std())
        if (a, b) in scale:
            m, s = scale[(a, b)]
            out[f"{a}*{b}"] = (p - m) / s
    return pd.concat([base, pd.DataFrame(out, index=base.index)], axis=1), scale


def pairs_stand_in(self, final, tuned) -> StandIn:
    """CoxnetTrainer._stand_in replaced: the served design with every pairwise product, at
    its own cross-validated penalty."""
    d, terms = self.data, tuned.params["terms"]
    every = repeated_folds(d.y, d.folds, d.seed, cv_repeats(len(d.y)))
    imputed = cluster.parallel(d.n_jobs, shared=(d.X,))(
        delayed(_imputed)(d.X, d.schema, d.seed, tr, te) for tr, te in every
    )
    fold_z = _fold_designs(imputed, d.schema, ("main", terms), d.seed)
    for per in fold_z:
        tr, scale = with_pairs(per["main"][0], per[terms][0])
        per["pairs"] = (tr, with_pairs(per["main"][1], per[terms][1], scale)[0])
    imp = final[:2].transform(d.X)
    main = make_coxnet(d.schema, seed=d.seed, terms="main")[2:-1].fit_transform(imp)
    base = make_coxnet(d.schema, seed=d.seed, terms=terms)[2:-1].fit_transform(imp)
    full = {"pairs": with_pairs(main, base)[0]}
    times = fold_ibs_times(d.y, every, d.grid, d.schema.time_axis.last_months)
    paths = [
        _cv_path(d.y, d.schema, every, fold_z, full, "pairs", l1, times, d.seed)
        for l1 in coxnet_l1_ratios(len(d.y))
    ]
    p, j = best_by_design(paths)["pairs"]
    self.pairs_info = {
        "columns": int(full["pairs"].shape[1]),
        "alpha_ratio": float(p.alphas[j] / tuned.params["alpha"]),
        "ibs_gain": float(tuned.cv_ibs - p.ibs[: len(d.folds), j].mean()),
    }
    return StandIn(
        full["pairs"], partial(coxnet_step, d.schema, p.l1_ratio), float(p.alphas[j]), "pairs"
    )


def one_cell(world: str, n: int, seed: int, mode: str, schema, test, tmp: Path) -> dict:
    shipped = families.CoxnetTrainer._stand_in
    info: dict = {}
    if mode == "pairs":

        def patched(self, final, tuned):
            out = pairs_stand_in(self, final, tuned)
            info.update(self.pairs_info)
            return out

        families.CoxnetTrainer._stand_in = patched
    try:
        data, _ = draw(world, n, seed)
        path = tmp / f"{world}_{n}_{seed}.csv"
        data.to_csv(path, index=False)
        reg = tmp / f"models_{world}_{n}_{seed}_{mode}"
        options = FitOptions(models=("coxnet",), bootstrap=30, progress=False, promote=True)
        fit_bundle(path, schema, reg, options)
    finally:
        families.CoxnetTrainer._stand_in = shipped
    bundle = Registry(reg).load()
    preds = Engine(bundle).predict(test[0])
    row = {"world": world, "n": n, "seed": seed, "mode": mode, **info}
    row["factor"] = bundle.manifest.models["coxnet"].band.get("by_landmark")
    for t in MARKS:
        est = np.array([p.at(t) for p in preds], dtype=float)
        truth = test[1][f"true_surv_{t}"].to_numpy()
        ok = ~np.isnan(est).any(axis=1)
        row[f"coverage_{t}"] = float(np.mean((est[ok, 1] <= truth[ok]) & (truth[ok] <= est[ok, 2])))
        row[f"width_{t}"] = float(np.mean(est[ok, 2] - est[ok, 1]))
    return row


def world_arguments(doc: str, result: str) -> argparse.ArgumentParser:
    """The options of a benchmark over worlds x training sizes x seeds."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    worlds = [*INDEPENDENT, *WORLDS]
    ap.add_argument("--worlds", nargs="+", choices=worlds, default=worlds)
    ap.add_argument("--sizes", nargs="+", type=int, default=[500, 2000])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--result", default=result)
    return ap


def over_cells(args, modes, cell) -> list[dict]:
    """``cell(world, n, seed, mode, (X, truth), tmp)`` for every world, training size, seed
    and mode of ``args`` (:func:`world_arguments`), each world's 3,000 test patients (every
    input known) drawn once; the rows, each printed as it comes."""
    schema = default_schema()
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for world in args.worlds:
            data, truth = draw(world, TEST_N, TEST_SEED, masked=False)
            X = validate_dataset(data, schema).raise_if_errors()[schema.feature_names]
            for n, seed, mode in itertools.product(args.sizes, args.seeds, modes):
                rows.append(cell(world, n, seed, mode, (X, truth), tmp))
                r = rows[-1]
                shown = {k: round(v, 3) for k, v in r.items() if k.startswith("coverage")}
                print(
                    world, n, seed, mode, shown, f"{time.perf_counter() - start:.0f} s", flush=True
                )
    return rows


def main() -> None:
    args = world_arguments(__doc__, "pairs_stand_in").parse_args()
    schema = default_schema()
    start = time.perf_counter()

    def cell(world, n, seed, mode, test, tmp):
        return one_cell(world, n, seed, mode, schema, test, tmp)

    rows = over_cells(args, ("shipped", "pairs"), cell)
    print(table(
        ["world", "n", "seed", "stand-in", "cov 12", "cov 36", "cov 60", "width 36",
         "pairs penalty / served", "pairs IBS gain"],
        [[r["world"], r["n"], r["seed"], r["mode"], r["coverage_12"], r["coverage_36"],
          r["coverage_60"], r["width_36"], r.get("alpha_ratio"), r.get("ibs_gain")]
         for r in rows],
    ))  # fmt: skip
    write_result(args.result, {
        "test_n": TEST_N, "test_seed": TEST_SEED, "bootstrap": 30, "rows": rows,
        "wall_seconds": time.perf_counter() - start,
    })  # fmt: skip


if __name__ == "__main__":
    main()
