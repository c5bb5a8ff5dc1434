"""Does ``update``'s score test of revision against recalibration tell the centres apart?

Recalibration keeps the parent's hazard ratios in their proportions; at a centre where they
stand in other proportions its band under-covers (``benchmarks/update.py``). ``update``
runs the score test of revision against recalibration (:mod:`training.revision`) and warns
where it rejects at 5 %. Here, for parents trained on 2,000 patients of a world (the Cox
family as ``fit`` trains it, with ``--bootstrap`` refits, whose coefficients the test's
simulations stand in for the parent's; 0 takes the parent as exact) and the
centres of ``benchmarks/update.py`` (same, shifted: the proportions hold; other: they do
not), the share of centres of 110 and 500 patients (2,000 on request) where it rejects: its false
alarms where the proportions hold, its power where they do not.

The first draws of each centre at 110 and 500 are ``update.py``'s own (the same seeds and
parent), so each is joined to what recalibration's band covered there, from the result
files named by ``--update-results``.

Run from the repository's root::

    .venv/bin/python benchmarks/revision_test.py     # about 30 minutes
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import RESULTS, table, write_result
from accuracy import BAND_MODEL, TRAIN_SEEDS, fit_families
from update import SITE_SEED, site_settings

from model.schema import default_schema
from model.validation import validate_dataset
from training.revision import ALPHA
from training.simulate import SimulationSettings, simulate_cohort, write_cohort
from training.update import revision_on

DRAWS = {110: 12, 500: 8, 2000: 3}


def test_once(parent, settings, n: int, k: int, schema, tmp: Path, max_draws: int) -> dict:
    seed = SITE_SEED + 100 * k + n  # update.py's seeds for its draws
    path = tmp / "site.csv"
    write_cohort(simulate_cohort(n, seed, settings), path)
    data = validate_dataset(path, schema).raise_if_errors()
    t0 = time.perf_counter()
    test = revision_on(parent, data, max_draws)
    return {
        "draw": k,
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 1),
        "statistic": test.statistic,
        "df": test.df,
        "p_value": test.p_value,
        "p_overall": test.p_overall,
        "p_chi2": test.p_chi2,
        "simulations": test.draws,
        "parent_refits": test.parent_refits,
        "top": [r["factor"] for r in test.by_factor[:3]],
    }


def recalibrated_coverage(files: list[str]) -> dict:
    """(parent, centre, n, draw) -> the recalibrated band's coverage of the true S(36),
    complete and masked inputs, from ``update.py``'s results."""
    out = {}
    for name in files:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        for r in json.loads(path.read_text())["rows"]:
            if r["model"] == "recalibrate" and "band" in r:
                cov = r["band"]["coverage"]["36"]
                key = (r["parent"], r["site"], r["site_n"], r["draw"])
                out[key] = (cov["complete"], cov["any_unknown"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parent-worlds", nargs="+", default=["milan", "nonph", "linear"])
    ap.add_argument("--sites", nargs="+", default=["same", "shifted", "other"])
    ap.add_argument("--site-n", nargs="+", type=int, default=[110, 500])
    ap.add_argument("--max-draws", type=int, default=99, help="simulations per test at most")
    ap.add_argument("--bootstrap", type=int, default=50, help="the parents' bootstrap refits")
    ap.add_argument("--shift-slope", type=float, default=0.7)
    ap.add_argument("--shift-scale", type=float, default=0.6)
    ap.add_argument("--update-results", nargs="+", default=["update", "update_nonph_linear"])
    ap.add_argument("--out-name", default="revision_test")
    args = ap.parse_args()
    schema = default_schema()
    started = time.perf_counter()
    covered = recalibrated_coverage(args.update_results)
    rows, lines = [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for world in args.parent_worlds:
            seed = TRAIN_SEEDS[2000]
            path = tmp / f"parent_{world}.csv"
            write_cohort(simulate_cohort(2000, seed, SimulationSettings.for_world(world)), path)
            parent, seconds, _ = fit_families(
                path, schema, tmp / f"reg_{world}", [BAND_MODEL], args.bootstrap
            )
            print(f"parent {world}: {parent.version_id} in {seconds:.0f} s", flush=True)
            for kind in args.sites:
                settings = site_settings(world, kind, args.shift_slope, args.shift_scale)
                for n in args.site_n:
                    cell = []
                    for k in range(DRAWS[n]):
                        rec = test_once(parent, settings, n, k, schema, tmp, args.max_draws)
                        cov = covered.get((world, kind, n, k))
                        rec = {"parent": world, "site": kind, "site_n": n, **rec}
                        if cov is not None:
                            rec["recalibrated_coverage_36"] = list(cov)
                        cell.append(rec)
                    rows += cell
                    joined = [r for r in cell if "recalibrated_coverage_36" in r]
                    lines.append(
                        {
                            "parent": world,
                            "site": kind,
                            "site_n": n,
                            "draws": len(cell),
                            "rejected": float(np.mean([r["p_value"] < ALPHA for r in cell])),
                            "rejected_overall": float(
                                np.mean([r["p_overall"] < ALPHA for r in cell])
                            ),
                            "rejected_chi2": float(np.mean([r["p_chi2"] < ALPHA for r in cell])),
                            "median_p": float(np.median([r["p_value"] for r in cell])),
                            "df": int(np.median([r["df"] for r in cell])),
                            "update_draws": [
                                (
                                    round(r["p_value"], 3),
                                    [round(c, 2) for c in r["recalibrated_coverage_36"]],
                                )
                                for r in joined
                            ],
                        }
                    )
                    print(
                        f"  {world} {kind} n={n}: rejected {lines[-1]['rejected']:.2f}", flush=True
                    )
    header = ["parent", "centre", "n", "draws", "df", "rejected: min-P / overall / chi2", "median p",
              "update.py draws: p (recalibrated coverage 36 complete/masked)"]  # fmt: skip
    body = [
        [
            line["parent"],
            line["site"],
            line["site_n"],
            line["draws"],
            line["df"],
            f"{line['rejected']:.2f} / {line['rejected_overall']:.2f} / {line['rejected_chi2']:.2f}",
            f"{line['median_p']:.3f}",
            "; ".join(f"{p:.3f} ({c[0]:.2f}/{c[1]:.2f})" for p, c in line["update_draws"]) or "-",
        ]
        for line in lines
    ]
    print(table(header, body))
    path = write_result(
        args.out_name,
        {
            "benchmark": "revision_test",
            "alpha": ALPHA,
            "draws": DRAWS,
            "max_draws": args.max_draws,
            "parent_bootstrap": args.bootstrap,
            "shift": {"slope": args.shift_slope, "scale": args.shift_scale},
            "wall_seconds": time.perf_counter() - started,
            "summary": lines,
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
