"""Updating a bundle at a new centre: does ``update`` give honest curves and bands there?

A parent bundle (the Cox family, as ``fit`` trains it) is trained on 2,000 patients of one
world; a new centre brings 110 or 500 patients of its own. Three kinds of centre, each a
simulated world with known truth:

* **same**: the parent's world itself (nothing to update: recalibration should find a
  slope near 1 and keep the band's coverage).
* **shifted**: the parent's world with every log hazard ratio times ``--shift-slope``
  (0.7: effects weaker there) and the Weibull scale times ``--shift-scale`` (0.6: a worse
  baseline). Recalibration's model (the same ranking, a new spread and baseline) is then
  nearly right; a perioperative death that does not shift keeps it from being exact.
* **other**: another world's hazard (milan's parent at a linear centre, any other at a
  milan centre): the proportions between effects differ, which recalibration cannot fix.

For each centre and size, training draws (3 at 110, 2 at 500): ``update --method
recalibrate`` and ``--method refit`` (in process, as the command line calls them), scored
on 5,000 test patients of the centre against its true S(t): MAE of S(36) on complete and
masked inputs, calibration slope at 36 against the truth, coverage of the true S(12/36/60)
by the 95 % band (complete and masked; mean over the draws and the lowest draw) and its
width at 36. Beside them the parent as it is (before), and the plain scikit-survival CoxPH
peer fitted on the centre's data alone. ``warned``: the share of draws whose update warned
of itself (a refit predicting worse than its parent, a slope moved away from 1).

Run from the repository's root::

    .venv/bin/python benchmarks/update.py            # milan parent, about 15 minutes
    .venv/bin/python benchmarks/update.py --parent-worlds nonph linear --out-name update_nonph_linear
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from _common import table, write_result
from accuracy import (
    BAND_MODEL,
    TRAIN_SEEDS,
    Curves,
    TestSet,
    band_scores,
    fit_families,
    over_draws,
    peer_curves,
    point_scores,
    served_cox_curves,
    test_set,
)

from model.bundle import load_bundle
from model.schema import default_schema
from model.validation import validate_dataset
from training.simulate import SimulationSettings, simulate_cohort, write_cohort
from training.update import UpdateOptions, update_bundle

SITE_DRAWS = {110: 3, 500: 2}
SITE_SEED = 7100  # the centre's training draws: seeds apart from the parent's and the test's
TEST_SEED = 991
OTHER_WORLD = {"milan": "linear"}  # any other parent's "other" centre is milan


def site_settings(parent_world: str, kind: str, slope: float, scale: float) -> SimulationSettings:
    """The true world of a new centre of ``kind`` for a parent trained on ``parent_world``."""
    if kind == "other":
        return SimulationSettings.for_world(OTHER_WORLD.get(parent_world, "milan"))
    s = SimulationSettings.for_world(parent_world)
    if kind == "same":
        return s
    return replace(
        s,
        log_hr={k: v * slope for k, v in s.log_hr.items()},
        log_hr_change={k: v * slope for k, v in s.log_hr_change.items()},
        weibull_scale_months=s.weibull_scale_months * scale,
    )


def scored(c: Curves, grid: np.ndarray, test: TestSet) -> dict:
    rec = point_scores(c, grid, test)
    if c.lower is not None:
        rec["band"] = band_scores(c, grid, test)
    return rec


def update_once(parent, method: str, path: Path, schema, out: Path, bootstrap: int | None):
    data = validate_dataset(path, schema).raise_if_errors()
    options = UpdateOptions(method=method, bootstrap=bootstrap, progress=False)
    t0 = time.perf_counter()
    bundle = load_bundle(update_bundle(parent, path, out, options, validated=data))
    return bundle, time.perf_counter() - t0


def run_site(parent, parent_world, kind, n, args, schema, tmp) -> list[dict]:
    settings = site_settings(parent_world, kind, args.shift_slope, args.shift_scale)
    name = f"{parent_world}_{kind}"
    test = test_set(settings.world, args.test_n, TEST_SEED, schema, tmp, settings, name)
    X = test.data[schema.feature_names]
    rows = [
        {"parent": parent_world, "site": kind, "site_n": n, "model": "before", "draw": 0}
        | scored(served_cox_curves(parent, X), parent.grid, test)
    ]
    for k in range(SITE_DRAWS[n]):
        seed = SITE_SEED + 100 * k + n
        cohort = simulate_cohort(n, seed, settings)
        path = tmp / f"site_{name}_{n}_{k}.csv"
        write_cohort(cohort, path, about={"site": name, "n": n, "seed": seed})
        train = validate_dataset(path, schema).raise_if_errors()
        base = {"parent": parent_world, "site": kind, "site_n": n, "draw": k, "seed": seed}
        for method in args.methods:
            out = tmp / f"reg_{name}_{n}_{k}_{method}"
            try:
                bundle, seconds = update_once(parent, method, path, schema, out, args.bootstrap)
            except ValueError as e:  # too few deaths: the refusal is the result
                rows.append(base | {"model": method, "refused": str(e)})
                continue
            c = served_cox_curves(bundle, X)
            # what the update said of itself (a refit worse than its parent, a slope moved
            # away from 1), as the command line prints it
            section = json.loads((bundle.path / "report.json").read_text())["update"]
            said, revision = section["warnings"], section.get("revision_test") or {}
            rec = base | {"model": method, "seconds": round(seconds, 1), "warnings": said}
            rec["revision_p"] = revision.get("p_value")  # the score test of revision
            rows.append(rec | scored(c, bundle.grid, test))
            shutil.rmtree(out, ignore_errors=True)
        peer = peer_curves("coxph_peer", train, schema, test, parent.grid)
        rows.append(base | {"model": "coxph_peer"} | scored(peer, parent.grid, test))
        print(f"  {name} n={n} draw {k} done", flush=True)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """One line per parent, centre, size and model: means over the draws."""
    out = []
    keys = sorted({(r["parent"], r["site"], r["site_n"], r["model"]) for r in rows}, key=str)
    for parent, site, n, model in keys:
        group = [
            r
            for r in rows
            if (r["parent"], r["site"], r["site_n"], r["model"]) == (parent, site, n, model)
            and "mae" in r
        ]
        if not group:
            continue
        line = {
            "parent": parent,
            "site": site,
            "site_n": n,
            "model": model,
            "draws": len(group),
            "mae_36": {
                s: float(np.mean([g["mae"]["36"][s] for g in group]))
                for s in ("complete", "any_unknown")
            },
            "slope_36_truth": float(np.mean([g["slope_36_truth"] for g in group])),
            "c_gap": float(np.mean([g["c_gap"] for g in group])),
        }
        # the share of draws whose update warned of itself
        line["warned"] = float(np.mean([bool(g.get("warnings")) for g in group]))
        bands = [g["band"] for g in group if "band" in g]
        if bands:
            line["band"] = over_draws(bands)
        out.append(line)
    return out


def _cov(line: dict, t: str) -> str:
    cov = line.get("band", {}).get("coverage", {}).get(t)
    if not cov:
        return "-"
    c, m = cov["complete"], cov["any_unknown"]
    return f"{c['mean']:.2f}/{m['mean']:.2f} (min {min(c['min'], m['min']):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parent-worlds", nargs="+", default=["milan"])
    ap.add_argument("--parent-n", type=int, default=2000)
    ap.add_argument("--sites", nargs="+", default=["same", "shifted", "other"])
    ap.add_argument("--site-n", nargs="+", type=int, default=[110, 500])
    ap.add_argument("--test-n", type=int, default=5000)
    ap.add_argument("--bootstrap", type=int, default=50)
    ap.add_argument("--shift-slope", type=float, default=0.7)
    ap.add_argument("--shift-scale", type=float, default=0.6)
    ap.add_argument("--methods", nargs="+", default=["recalibrate", "refit"])
    ap.add_argument("--out-name", default="update")
    args = ap.parse_args()
    schema = default_schema()
    started = time.perf_counter()
    rows: list[dict] = []
    parents = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for world in args.parent_worlds:
            seed = TRAIN_SEEDS.get(args.parent_n, args.parent_n)
            cohort = simulate_cohort(args.parent_n, seed, SimulationSettings.for_world(world))
            path = tmp / f"parent_{world}.csv"
            write_cohort(cohort, path, about={"world": world, "n": args.parent_n, "seed": seed})
            parent, seconds, _ = fit_families(
                path, schema, tmp / f"reg_parent_{world}", [BAND_MODEL], args.bootstrap
            )
            parents[world] = {"version": parent.version_id, "seconds": round(seconds, 1)}
            print(f"parent {world}: {parent.version_id} in {seconds:.0f} s", flush=True)
            for kind in args.sites:
                for n in args.site_n:
                    rows += run_site(parent, world, kind, n, args, schema, tmp)
    lines = summarise(rows)
    header = ["parent", "centre", "n", "model", "MAE S36 compl/masked", "slope 36",
              "coverage 12", "coverage 36", "coverage 60", "width 36", "warned"]  # fmt: skip
    body = []
    for line in lines:
        width = line.get("band", {}).get("width_36")
        body.append(
            [
                line["parent"],
                line["site"],
                line["site_n"],
                line["model"],
                f"{line['mae_36']['complete']:.3f}/{line['mae_36']['any_unknown']:.3f}",
                f"{line['slope_36_truth']:.2f}",
                _cov(line, "12"),
                _cov(line, "36"),
                _cov(line, "60"),
                f"{width['all']:.2f}" if width else "-",
                f"{line['warned']:.2f}" if line["model"] in ("recalibrate", "refit") else "-",
            ]  # fmt: skip
        )
    print(table(header, body))
    path = write_result(
        args.out_name,
        {
            "benchmark": "update",
            "parents": parents,
            "parent_n": args.parent_n,
            "site_draws": SITE_DRAWS,
            "test_n": args.test_n,
            "bootstrap": args.bootstrap,
            "shift": {"slope": args.shift_slope, "scale": args.shift_scale},
            "wall_seconds": time.perf_counter() - started,
            "summary": lines,
            "rows": rows,
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
