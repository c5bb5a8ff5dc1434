"""The band of survival given alive at a time, for patients with an unknown input, against
the simulators' truth: the draws of the unknown input weighted by their survival to that
time (what ``Prognosis.conditional`` serves) beside their equal-weight spread (the band
before that weighting), from the same samples.

For each world of ``training simulate`` and training n, the Cox model is fitted as ``fit``
does it (``--models coxnet``, 50 refits); fresh test patients with an input unknown are
predicted, and the truth of S(t | alive at s) is true S(t) / true S(s) from their complete
inputs, at (s, t) = (12, 36), (12, 60), (36, 60) months. Each pair is scored on the test
patients who were in fact alive at s (their simulated death after s): the question is asked
of those, and among them an unknown input's values that give a longer life are the likelier.

    .venv/bin/python benchmarks/conditional_band.py [--n 110 500 2000] [--test-n 1500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import table, write_result

from model.bundle import load_bundle
from model.families import CoxnetFamily
from model.schema import default_schema
from model.validation import validate_dataset
from training.fit import FitOptions, fit_bundle
from training.simulate import WORLDS, SimulationSettings, simulate_cohort, write_cohort

PAIRS = ((12, 36), (12, 60), (36, 60))
TEST_SEED = 4242


def _equal_weight_band(p, s: float) -> tuple[np.ndarray, np.ndarray]:
    """The band before the weighting: plain percentiles of every sample's own ratio."""
    i = int(np.searchsorted(p.grid, s, side="right") - 1)
    d = p.samples[:, i]
    keep = d > 0
    ratio = np.clip(p.samples[keep, i:] / d[keep, None], 0.0, 1.0)
    return np.percentile(ratio, [2.5, 97.5], axis=0)


def cell(world: str, n: int, test_n: int, tmp: Path) -> dict:
    schema = default_schema()
    train = simulate_cohort(n, 1000 + n, SimulationSettings.for_world(world))
    path = tmp / f"{world}_{n}.csv"
    write_cohort(train, path)
    out = fit_bundle(
        path, schema, tmp / f"reg_{world}_{n}", FitOptions(models=("coxnet",), progress=False)
    )
    engine = CoxnetFamily(load_bundle(out))
    test = simulate_cohort(test_n, TEST_SEED, SimulationSettings.for_world(world))
    X = validate_dataset(test.data, schema).raise_if_errors()[schema.feature_names]
    masked = X.isna().any(axis=1).to_numpy()
    truth = test.truth[masked].reset_index(drop=True)
    death = test.latent["death_time"].to_numpy()[masked]
    progs = engine.predict(X[masked])
    res = {}
    for s, t in PAIRS:
        true = (truth[f"true_surv_{t}"] / truth[f"true_surv_{s}"]).to_numpy()
        hits = {"weighted": [], "equal": []}
        widths = {"weighted": [], "equal": []}
        for p, tr, dies in zip(progs, true, death, strict=True):
            if dies <= s or t > p.grid[-1] or s >= p.last_step:
                continue
            c = p.conditional(float(s))
            j = int(np.searchsorted(c.grid, t, side="right") - 1)
            lo, hi = _equal_weight_band(p, float(s))
            for name, (a, b) in {
                "weighted": (c.lower[j], c.upper[j]),
                "equal": (min(lo[j], c.survival[j]), max(hi[j], c.survival[j])),
            }.items():
                hits[name].append(a <= tr <= b)
                widths[name].append(b - a)
        res[f"{s}_{t}"] = {
            "patients": len(hits["weighted"]),
            **{f"coverage_{k}": float(np.mean(v)) if v else None for k, v in hits.items()},
            **{f"width_{k}": float(np.mean(v)) if v else None for k, v in widths.items()},
        }
    return res


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--worlds", nargs="+", default=list(WORLDS))
    ap.add_argument("--n", nargs="+", type=int, default=[110, 500, 2000])
    ap.add_argument("--test-n", type=int, default=1500)
    args = ap.parse_args()
    t0 = time.perf_counter()
    cells, rows = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.worlds:
            for n in args.n:
                res = cell(world, n, args.test_n, Path(tmp))
                cells.append({"world": world, "n": n, "pairs": res})
                for pair, r in res.items():
                    s, t = pair.split("_")
                    rows.append(
                        [world, n, f"S({t} | alive at {s})", r["patients"],
                         r["coverage_weighted"], r["coverage_equal"],
                         r["width_weighted"], r["width_equal"]]
                    )  # fmt: skip
                print(f"[{time.perf_counter() - t0:.0f} s] {world} n={n} done", flush=True)
    header = ["world", "n", "given alive", "patients", "coverage weighted", "coverage equal",
              "width weighted", "width equal"]  # fmt: skip
    print(table(header, rows))
    out = write_result(
        "conditional_band",
        {"test_n": args.test_n, "test_seed": TEST_SEED, "cells": cells,
         "wall_seconds": time.perf_counter() - t0},
    )  # fmt: skip
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
