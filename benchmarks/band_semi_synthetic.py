"""The Cox band on a real cohort's covariates: the factor the stand-in gave against the factor
the truth asked for, draw by draw.

``semi_synthetic.py`` measures the band's coverage through the command line. This looks inside
it, on the same draws (same seeds, same truth, same test patients): for each training draw
``fit_bundle`` is run in-process (Cox family only) and, at each landmark, over the test
patients with every input known,

* **coverage** of the true S(t) by the served band;
* **mean error** of log H(t) (truth minus model: negative where the model predicts too many
  deaths) and the band's median half-width on that scale, on the side the error falls;
* **slope**: least squares of log(-log true S) on log(-log predicted S); above 1 the model's
  spread across patients is too narrow;
* **factor**: the band's inflation factor at that landmark (from the manifest), and **needed**:
  the factor times the 95th percentile of |error| / half-width, roughly the factor that
  would have reached the truth for 95 in 100 of these patients.

``--share`` refits the stand-in at another share of the shipped penalty (training/band.py's
``STAND_IN_PENALTY_SHARE``) on the same draws.

    .venv/bin/python benchmarks/band_semi_synthetic.py --n 110 --draws 6 --share 0.5 0.25
"""

from __future__ import annotations

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import semi_synthetic as ss
from _common import table, write_result

import training.families
from model.bundle import load_bundle
from model.engine import Engine
from model.schema import load_schema
from model.validation import validate_dataset
from training.band import STAND_IN_PENALTY_SHARE, calibrate_inflation
from training.fit import FitOptions, fit_bundle


def cloglog(s: np.ndarray) -> np.ndarray:
    return np.log(-np.log(np.clip(s, 1e-9, 1 - 1e-9)))


def scores(pt, test: dict, marks, factors: dict) -> dict:
    """Per landmark: coverage, mean error, half-width, slope, factor and needed factor."""
    comp = test["masks"]["complete"]
    out = {}
    for m in marks:
        s, lo, hi = (pt[f"surv_{m.name}{x}"].to_numpy(float) for x in ("", "_lower", "_upper"))
        if np.isnan(s).any():
            continue  # beyond this draw's follow-up
        s, lo, hi, true = s[comp], lo[comp], hi[comp], test["true_s"][m.name][comp]
        err = cloglog(true) - cloglog(s)
        half = np.where(err > 0, cloglog(lo) - cloglog(s), cloglog(s) - cloglog(hi))
        ratio = np.abs(err) / np.maximum(half, 1e-9)
        factor = float(factors.get(m.name, np.nan))
        out[m.name] = {
            "coverage": float(((lo <= true) & (true <= hi)).mean()),
            "mean_error": float(err.mean()),
            "half_width": float(np.median(half)),
            "slope": float(ss.slope_vs_truth(s, true)),
            "factor": factor,
            "needed": factor * float(np.quantile(ratio, 0.95)),
        }
    return out


def one_draw(ctx, n, k, share, boot, tmp: Path) -> dict:
    seed = ss.TRAIN_SEED + 1000 * k + n  # semi_synthetic.py's draws
    train, _, _ = ss.draw(ctx, n, seed)
    path = tmp / f"train_{n}_{k}.csv"
    ss.write_csv(train, path, ctx["truth"].case.integers)
    # the stand-in's share, for this fit only
    training.families.calibrate_inflation = partial(calibrate_inflation, share=share)
    try:
        options = FitOptions(models=("coxnet",), bootstrap=boot, progress=False)
        bundle = load_bundle(fit_bundle(path, ctx["schema"], tmp / f"reg_{share}", options))
    finally:
        training.families.calibrate_inflation = calibrate_inflation
    entry = bundle.manifest.models["coxnet"]
    band = entry.band or {}
    pt = Engine(bundle).predict_table(ctx["frame"], "coxnet")
    return {
        "n": n,
        "draw": k,
        "seed": seed,
        "share": share,
        "deaths": int(train[ctx["schema"].event.name].sum()),
        "design": entry.params.get("terms"),
        "by_landmark": scores(
            pt, ctx["test"], ctx["schema"].time_axis.marks, band.get("by_landmark", {})
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", nargs="+", type=int, default=[110])
    ap.add_argument("--draws", type=int, default=6)
    ap.add_argument("--share", nargs="+", type=float, default=[STAND_IN_PENALTY_SHARE])
    ap.add_argument("--bootstrap", type=int, default=50)
    ap.add_argument("--result", default="band_semi_synthetic")
    args = ap.parse_args()
    t0 = time.perf_counter()
    case = ss.CASES["gbsg2"]
    schema = load_schema(case.schema_path)
    real = case.load().reset_index(drop=True)
    truth = ss.fit_truth(case, real, schema)
    ctx = {"real": real, "truth": truth, "schema": schema, "cens": ss.Censoring.of(real, schema)}
    tmp = Path(tempfile.mkdtemp(prefix="hipec-band-ss-"))
    ctx["test"] = ss.make_test(ctx, tmp)
    ctx["frame"] = validate_dataset(ctx["test"]["path"], schema).raise_if_errors()
    draws = [
        one_draw(ctx, n, k, share, args.bootstrap, tmp)
        for n in args.n
        for share in args.share
        for k in range(args.draws)
    ]
    rows, summary = [], []
    for d in draws:
        for mark, v in d["by_landmark"].items():
            rows.append([d["n"], d["share"], d["draw"], d["deaths"], d["design"], mark,
                         v["coverage"], v["mean_error"], v["half_width"], v["slope"],
                         v["factor"], v["needed"]])  # fmt: skip
    print(table(["n", "share", "draw", "deaths", "design", "landmark", "coverage", "mean error",
                 "half-width", "slope", "factor", "needed"], rows))  # fmt: skip
    for n in args.n:
        for share in args.share:
            cell = [d for d in draws if d["n"] == n and d["share"] == share]
            for m in schema.time_axis.marks:
                cov = [d["by_landmark"][m.name]["coverage"] for d in cell if m.name in
                       d["by_landmark"]]  # fmt: skip
                summary.append({"n": n, "share": share, "landmark": m.name, "draws": len(cov),
                                "mean_coverage": float(np.mean(cov)) if cov else None})  # fmt: skip
    print()
    print(table(["n", "share", "landmark", "draws", "mean coverage"],
                [[s["n"], s["share"], s["landmark"], s["draws"], s["mean_coverage"]]
                 for s in summary]))  # fmt: skip
    path = write_result(
        args.result,
        {
            "case": "gbsg2",
            "bootstrap": args.bootstrap,
            "test": {"n": ss.TEST_N, "seed": ss.TEST_SEED, "scored": "every input known"},
            "summary": summary,
            "draws": draws,
            "wall_seconds": round(time.perf_counter() - t0, 1),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
