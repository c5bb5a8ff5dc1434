"""What calibration within the groups of each input names, in worlds where the served model
fits and in worlds where it cannot (training/subgroups.py).

Each cell fits the Cox model as ``fit`` does (``--bootstrap`` refits, whose out-of-bag curves
the report's check uses) on one training draw, then checks the served curves of 3,000 new
patients of the same world as ``evaluate`` does. Beside the groups named, each group's error
against the truth (mean predicted minus mean true S at the risk horizon), so that a named
group can be told from a false alarm: the ``true_error`` of a named group should be large.
The simulated worlds (milan, linear, nonph) are ones the served design can follow; the
independent ones (``benchmarks/threshold_world.py``, ``benchmarks/independent_world.py``)
hold thresholds, an interaction or a U-shaped age effect the schema does not declare.

``--truth-draws N`` measures the false alarms instead: the true S(36) as the predictions, in
N draws per world and size (seeds from 100), and how many reports name a group.

    .venv/bin/python benchmarks/subgroup_check.py --worlds thresholds u_age milan linear nonph \\
        --sizes 500 2000
    .venv/bin/python benchmarks/subgroup_check.py --sizes 110 500 2000 --truth-draws 40 \\
        --result subgroup_check_truth
"""

from __future__ import annotations

import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import table, write_result
from pairs_stand_in import TEST_N, TEST_SEED, draw, world_arguments

from model.engine import Engine
from model.predict import survival_at
from model.registry import Registry
from model.schema import default_schema
from model.validation import validate_dataset
from training.estimators import survival_target
from training.fit import FitOptions, fit_bundle
from training.subgroups import calibration_by_input, departing, input_groups

HORIZON = 36.0
TRUTH_SEED = 100  # the false-alarm draws' first seed


def _named(result: dict | None, truth_error: dict) -> list[dict]:
    return [
        {
            "group": f"{g['feature']}: {g['group']}",
            "predicted": g["predicted"],
            "observed": g["observed"],
            "true_error": truth_error.get((g["feature"], g["group"])),
        }
        for g in departing(result)
    ]


def one_cell(world: str, n: int, seed: int, boot: int, schema, test, tmp: Path) -> dict:
    data, _ = draw(world, n, seed)
    path = tmp / f"{world}_{n}_{seed}.csv"
    data.to_csv(path, index=False)
    reg = tmp / f"models_{world}_{n}_{seed}"
    options = FitOptions(models=("coxnet",), bootstrap=boot, progress=False, promote=True)
    fit_bundle(path, schema, reg, options)
    registry = Registry(reg)
    bundle = registry.load()
    report = json.loads((reg / registry.active_id / "report.json").read_text())
    oob = report["calibration_by_input"]["coxnet"]
    X, y, true_s = test
    surv = Engine(bundle).curves(X, "coxnet")[0]  # the served curves, as evaluate scores
    served = calibration_by_input(y, surv, bundle.grid, HORIZON, X, schema)
    pred = survival_at(surv, bundle.grid, HORIZON)
    truth_error = {
        (g["feature"], g["group"]): float(pred[g["member"]].mean() - true_s[g["member"]].mean())
        for g in input_groups(X, schema)
    }
    worst = max(truth_error.items(), key=lambda kv: abs(kv[1]))
    return {
        "world": world,
        "n": n,
        "seed": seed,
        "groups": served["tests"],
        "named_oob": [f"{g['feature']}: {g['group']}" for g in departing(oob)],
        "named_new_patients": _named(served, truth_error),
        "largest_true_error": {"group": f"{worst[0][0]}: {worst[0][1]}", "error": worst[1]},
        "groups_true_error_over_0.03": sum(abs(v) > 0.03 for v in truth_error.values()),
    }


def false_alarms(world: str, n: int, draws: int, schema) -> dict:
    """Reports naming a group when the predictions are the true curves."""
    named = []
    for seed in range(TRUTH_SEED, TRUTH_SEED + draws):
        data, truth = draw(world, n, seed)
        valid = validate_dataset(data, schema).raise_if_errors()
        true_s = truth[f"true_surv_{int(HORIZON)}"].to_numpy()[:, None]
        r = calibration_by_input(
            survival_target(valid, schema), true_s, np.array([HORIZON]), HORIZON,
            valid[schema.feature_names], schema,
        )  # fmt: skip
        named.append(len(departing(r)))
    return {
        "world": world,
        "n": n,
        "draws": draws,
        "reports_naming_a_group": sum(k > 0 for k in named),
    }


def main() -> None:
    ap = world_arguments(__doc__, "subgroup_check")
    ap.add_argument("--bootstrap", type=int, default=20)
    ap.add_argument("--truth-draws", type=int, default=0)
    args = ap.parse_args()
    schema = default_schema()
    start = time.perf_counter()
    if args.truth_draws:
        rows = [
            false_alarms(w, n, args.truth_draws, schema)
            for w, n in itertools.product(args.worlds, args.sizes)
        ]
        print(
            table(
                ["world", "n", "draws", "reports naming a group"], [list(r.values()) for r in rows]
            )
        )
        write_result(args.result, {"horizon_months": HORIZON, "rows": rows,
                                   "wall_seconds": time.perf_counter() - start})  # fmt: skip
        return
    rows = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for world in args.worlds:
            data, truth = draw(world, TEST_N, TEST_SEED)
            valid = validate_dataset(data, schema).raise_if_errors()
            test = (
                valid[schema.feature_names],
                survival_target(valid, schema),
                truth[f"true_surv_{int(HORIZON)}"].to_numpy(),
            )
            for n, seed in itertools.product(args.sizes, args.seeds):
                rows.append(one_cell(world, n, seed, args.bootstrap, schema, test, tmp))
                r = rows[-1]
                print(world, n, seed, r["named_new_patients"], r["largest_true_error"], flush=True)
    print(
        table(
            ["world", "n", "groups", "named (report, out-of-bag)", "named (3,000 new patients)",
             "largest true error of a group", "groups off by > 0.03"],
            [
                [
                    r["world"], r["n"], r["groups"],
                    "; ".join(r["named_oob"] or []) or "none",
                    "; ".join(
                        f"{g['group']} ({g['predicted']:.2f} vs {g['observed']:.2f}, true error "
                        f"{g['true_error']:+.3f})"
                        for g in r["named_new_patients"]
                    ) or "none",
                    f"{r['largest_true_error']['group']} {r['largest_true_error']['error']:+.3f}",
                    r["groups_true_error_over_0.03"],
                ]
                for r in rows
            ],
        )
    )  # fmt: skip
    write_result(
        args.result,
        {"test_n": TEST_N, "test_seed": TEST_SEED, "horizon_months": HORIZON,
         "bootstrap": args.bootstrap, "rows": rows, "wall_seconds": time.perf_counter() - start},
    )  # fmt: skip


if __name__ == "__main__":
    main()
