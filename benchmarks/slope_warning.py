"""How often does ``update --method recalibrate`` warn that it moved a landmark's calibration
slope away from 1, where one slope does fit every landmark and where it may not?

A parent bundle (the Cox family as ``fit`` trains it, 20 bootstrap refits) is trained on
``--parent-n`` patients of one world; centres of ``--n`` patients are drawn from the same
world (the proportions between effects hold) and from others (they, or their change over
time, differ). Each centre is recalibrated as the command line does, and its report read: whether it warned (the rule in ``training.update.slope_warnings``:
further from 1 than the parent by more than ``SLOPE_WORSE``), whether a stricter rule would
have (the same, and the slope beyond its standard error at 5 % over the landmarks,
two-sided: ``with SE``), and whether the score test of revision rejected.

Against each centre's truth (``--test-n`` test patients of its world): the least-squares
slope of the true log(-log S) on the predicted one at each landmark, parent and update (past
the updated curves' end, held flat there, as the update's own report reads them). A landmark
is **deserved** where the update's slope against the truth is further from 1 than the
parent's by more than the same margin: what the warning says, with the truth in place of the
outcomes; a warning counts as deserved where it names such a landmark.

Run from the repository's root::

    .venv/bin/python benchmarks/slope_warning.py     # about 7 minutes
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from _common import table, write_result
from accuracy import fit_families, test_set
from scipy.stats import norm

from model.bundle import load_bundle
from model.predict import survival_at
from model.schema import default_schema
from model.validation import validate_dataset
from training.metrics import slope_vs_truth
from training.revision import ALPHA
from training.simulate import SimulationSettings, simulate_cohort, write_cohort
from training.update import SLOPE_WORSE, UpdateOptions, update_bundle

PARENT_SEED = 4242
CENTRE_SEED = 9000  # the centres' draws: apart from the parent's
TEST_SEED = 991
CENTRES = {"linear": "linear:16,nonph:8", "nonph": "nonph:12,linear:6,milan:8"}


def parent_bundle(world: str, n: int, schema, tmp: Path):
    data = tmp / f"parent_{world}.csv"
    write_cohort(simulate_cohort(n, PARENT_SEED, SimulationSettings.for_world(world)), data)
    return fit_families(data, schema, tmp / f"reg_{world}", ["coxnet"], 20)[0]


def moved(pairs, margin: float = SLOPE_WORSE) -> list[str]:
    """The landmarks whose slope (``pairs``: landmark -> (before, after)) moved further from
    1 than before by more than the margin."""
    return [h for h, (b, a) in pairs.items()
            if b is not None and a is not None and abs(a - 1) > abs(b - 1) + margin]  # fmt: skip


def beyond_its_error(doc: dict) -> list[str]:
    """The stricter rule's landmarks: moved by more than the margin, and the slope from 1 by
    more than its standard error allows at 5 % over the landmarks."""
    before, after = doc["before"]["coxnet"]["calibration"], doc["after"]["coxnet"]["calibration"]
    pairs = {h: ((before.get(h) or {}).get("slope"), after.get(h) or {}) for h in doc["landmarks"]}
    pairs = {
        h: (b, a) for h, (b, a) in pairs.items() if b is not None and a.get("slope") is not None
    }
    z = norm.isf(0.05 / (2 * max(len(pairs), 1)))
    return [h for h in moved({h: (b, a["slope"]) for h, (b, a) in pairs.items()})
            if pairs[h][1].get("slope_se") is not None
            and abs(pairs[h][1]["slope"] - 1) > z * pairs[h][1]["slope_se"]]  # fmt: skip


def truth_slopes(bundle, test) -> dict[str, float | None]:
    """The Cox model's calibration slope against the truth at each of the schema's landmarks
    (past the grid's end the curves held flat, as the update's report reads them)."""
    surv = bundle.survival(test.data[bundle.schema.feature_names], "coxnet")
    return {
        m.name: slope_vs_truth(survival_at(surv, bundle.grid, m.months), test.truth_at(m.name))
        for m in bundle.schema.time_axis.marks
    }


def one_centre(parent, world: str, n: int, k: int, schema, tmp: Path, test, true_before) -> dict:
    path = tmp / f"centre_{world}_{n}_{k}.csv"
    seed = CENTRE_SEED + 100 * k + n
    write_cohort(simulate_cohort(n, seed, SimulationSettings.for_world(world)), path)
    data = validate_dataset(path, schema).raise_if_errors()
    out = tmp / f"updated_{world}_{n}_{k}"
    options = UpdateOptions(method="recalibrate", bootstrap=2, progress=False)
    try:
        bundle = load_bundle(update_bundle(parent, path, out, options, validated=data))
    except ValueError as e:  # too few deaths: the refusal is the result
        return {"world": world, "n": n, "draw": k, "refused": str(e)}
    doc = json.loads((bundle.path / "report.json").read_text())["update"]
    true_after = truth_slopes(bundle, test)
    shutil.rmtree(out, ignore_errors=True)
    before, after = doc["before"]["coxnet"]["calibration"], doc["after"]["coxnet"]["calibration"]
    observed = {h: ((before.get(h) or {}).get("slope"), (after.get(h) or {}).get("slope"))
                for h in doc["landmarks"]}  # fmt: skip
    warned_at, deserved_at = moved(observed), moved({h: (true_before.get(h), a)
                                                     for h, a in true_after.items()})  # fmt: skip
    with_se_at = beyond_its_error(doc)
    return {
        "world": world,
        "n": n,
        "draw": k,
        "warned": any("calibration slope" in w for w in doc["warnings"]),
        "warned_at": warned_at,
        "deserved_at": deserved_at,
        "with_se_at": with_se_at,
        "revision_p": (doc.get("revision_test") or {}).get("p_value"),
        "deserved": bool(deserved_at),
        "warned_deserved": bool(set(warned_at) & set(deserved_at)),
        "with_se_deserved": bool(set(with_se_at) & set(deserved_at)),
        "truth_slopes": {"before": true_before, "after": true_after},
        "slopes": {
            h: [before[h]["slope"], after[h]["slope"], after[h].get("slope_se")]
            for h in doc["landmarks"]
            if before.get(h) and after.get(h) and before[h]["slope"] is not None
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parent-worlds", nargs="+", default=list(CENTRES))
    ap.add_argument("--parent-n", type=int, default=1500)
    ap.add_argument("--n", type=int, nargs="+", default=[110, 500])
    ap.add_argument("--test-n", type=int, default=3000)
    ap.add_argument("--out-name", default="slope_warning")
    args = ap.parse_args()
    schema, rows, lines, t0 = default_schema(), [], [], time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for pw in args.parent_worlds:
            parent = parent_bundle(pw, args.parent_n, schema, tmp)
            for spec in CENTRES[pw].split(","):
                world, count = spec.split(":")
                test = test_set(world, args.test_n, TEST_SEED, schema, tmp)
                before = truth_slopes(parent, test)
                for n in args.n:
                    got = [one_centre(parent, world, n, k, schema, tmp, test, before)
                           for k in range(int(count))]  # fmt: skip
                    got = [r | {"parent": pw} for r in got]
                    rows += got
                    ok = [r for r in got if "refused" not in r]
                    lines.append([pw, world, n, len(ok), sum(r["warned"] for r in ok),
                                  sum(bool(r["with_se_at"]) for r in ok),
                                  sum(r["deserved"] for r in ok),
                                  sum(r["warned_deserved"] for r in ok),
                                  sum(r["with_se_deserved"] for r in ok),
                                  sum((r["revision_p"] or 1.0) < ALPHA for r in ok)])  # fmt: skip
                    print(f"  {pw} parent, {world} centres of {n} done", flush=True)
    header = ["parent", "centre world", "n", "centres", "warned", "with SE", "deserved",
              "warned, deserved", "with SE, deserved", "revision"]  # fmt: skip
    print(table(header, lines))
    summary = [dict(zip(header, line, strict=True)) for line in lines]
    seconds = round(time.perf_counter() - t0)
    path = write_result(args.out_name, {"parent_n": args.parent_n, "n": args.n,
                                        "slope_worse": SLOPE_WORSE, "wall_seconds": seconds,
                                        "summary": summary, "rows": rows})  # fmt: skip
    print(f"{seconds} s; wrote {path}")


if __name__ == "__main__":
    main()
