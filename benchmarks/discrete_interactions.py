"""A declared interaction of a level with a number (CC x age): what declaring it gains where
it is true and costs where it is not, and whether the number's basis should be centred.

The schema may pair a binary, categorical or ordinal feature with a numeric one: the
design gets each level's indicator times the number's spline basis. Three fits per training
draw, on the same patients, as ``fit`` makes them (Cox model only, 10 bootstrap refits):

* ``not declared``: the DMPM schema, tuning choosing the design;
* ``uncentred``: CC x age declared and the design that holds it served
  (``--cox-designs splines+interactions``), age's basis as it is inside the products (each
  ramp 0 at the lowest knot; the level's indicator is its effect at the youngest age): what
  ``fit`` builds;
* ``centred``: the same with age's basis centred at its training mean inside the products
  (the expander's ``discrete``), so that the indicator is the level's effect at a typical
  age. Measured to decide between them: centred was no better in any cell.

Scored on 3,000 test patients with every input known, against the true S(12/36/60): mean
absolute error and the band's coverage. The worlds: ``thresholds`` (a true CC x age
interaction: benchmarks/threshold_world.py) and the simulator's (none).

    .venv/bin/python benchmarks/discrete_interactions.py --worlds thresholds milan \
        --sizes 500 2000
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from _common import RESULTS, table, write_result
from pairs_stand_in import MARKS, TEST_N, TEST_SEED, draw, over_cells, world_arguments

from model.engine import Engine
from model.registry import Registry
from model.schema import NUMERIC_KINDS, Schema, default_schema, default_schema_path
from training import estimators
from training.fit import FitOptions, fit_bundle

MODES = ("not declared", "centred", "uncentred")


def declaring(pair: tuple[str, str]) -> Schema:
    doc = yaml.safe_load(default_schema_path().read_text())
    doc["interactions"] = [*doc.get("interactions", []), list(pair)]
    return Schema.from_dict(doc)


def one_cell(world: str, n: int, seed: int, mode: str, test, tmp: Path) -> dict:
    shipped = estimators.cox_expander

    def centred(schema, terms=estimators.FULL_TERMS):
        levels = [f.name for f in schema.features if f.kind not in NUMERIC_KINDS]
        return shipped(schema, terms).set_params(discrete=levels)

    data, _ = draw(world, n, seed)
    path = tmp / f"{world}_{n}_{seed}.csv"
    data.to_csv(path, index=False)
    schema = default_schema() if mode == "not declared" else declaring(("cc", "age"))
    designs = None if mode == "not declared" else ("splines+interactions",)
    reg = tmp / f"models_{world}_{n}_{seed}_{mode.replace(' ', '_')}"
    # one process: a worker would not see the centred expander
    options = FitOptions(
        models=("coxnet",), bootstrap=10, progress=False, promote=True, n_jobs=1,
        cox_designs=designs,
    )  # fmt: skip
    if mode == "centred":
        estimators.cox_expander = centred
    try:
        fit_bundle(path, schema, reg, options)
    finally:
        estimators.cox_expander = shipped
    bundle = Registry(reg).load()
    X, truth = test
    preds = Engine(bundle).predict(X[schema.feature_names])
    row = {"world": world, "n": n, "seed": seed, "mode": mode}
    row["terms"] = bundle.manifest.models["coxnet"].params.get("terms")
    for t in MARKS:
        at = [p.at(t) for p in preds]
        ok = [i for i, a in enumerate(at) if a is not None]
        if not ok:
            continue
        s, lo, hi = (np.array([at[i][k] for i in ok]) for k in range(3))
        true = truth[f"true_surv_{t}"].to_numpy()[ok]
        row[f"mae_{t}"] = float(np.abs(s - true).mean())
        row[f"coverage_{t}"] = float(((lo <= true) & (true <= hi)).mean())
        row[f"width_{t}"] = float((hi - lo).mean())
    return row


def means(rows: list[dict]) -> str:
    """Mean over training draws per world, n and fit: the figures the README quotes."""
    frame = pd.DataFrame(rows)
    keys = ["world", "n", "mode"]
    stats = ["mae_12", "mae_36", "mae_60", "coverage_36", "width_36"]
    agg = (
        frame.groupby(keys, sort=True)[stats]
        .mean()
        .join(frame.groupby(keys).size().rename("draws"))
    )
    lines = [[*k, int(r["draws"]), *(f"{r[c]:.4f}" for c in stats)] for k, r in agg.iterrows()]
    return table([*keys, "draws", *stats], lines)


def main() -> None:
    ap = world_arguments(__doc__, "discrete_interactions")
    ap.add_argument(
        "--from", dest="stored", nargs="+", metavar="RESULT",
        help="no fitting: the means over the draws in these stored results "
        "(discrete_interactions discrete_interactions_seeds)",
    )  # fmt: skip
    args = ap.parse_args()
    if args.stored:
        stored = [json.loads((RESULTS / f"{n}.json").read_text()) for n in args.stored]
        print(means([r for doc in stored for r in doc["rows"]]))
        return
    start = time.perf_counter()
    rows = over_cells(args, MODES, one_cell)
    header = ["world", "n", "seed", "fit", "design", "MAE 12/36/60", "coverage", "width 36"]
    lines = [
        [
            r["world"],
            r["n"],
            r["seed"],
            r["mode"],
            r["terms"],
            "/".join(f"{r[f'mae_{t}']:.3f}" if f"mae_{t}" in r else "—" for t in MARKS),
            "/".join(f"{r[f'coverage_{t}']:.3f}" if f"coverage_{t}" in r else "—" for t in MARKS),
            f"{r.get('width_36', float('nan')):.3f}",
        ]  # fmt: skip
        for r in rows
    ]
    print(table(header, lines))
    print(means(rows))
    result = {
        "test_n": TEST_N,
        "test_seed": TEST_SEED,
        "bootstrap": 10,
        "rows": rows,
        "wall_seconds": round(time.perf_counter() - start, 1),
    }
    print(f"wrote {write_result(args.result, result)}")


if __name__ == "__main__":
    main()
