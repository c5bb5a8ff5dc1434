"""Prediction speed and honesty of the bands (Cox engine), on the active or a given bundle.

Coverage: the share of simulated test patients whose TRUE S(12/36/60) lies inside the
95 % band, with every input known and with inputs masked as the simulator's registry
masks them. Latency: one patient, model loaded (median of repeated calls). Throughput:
patients per second for a batch through the engine and through the plain pipeline.

    .venv/bin/python benchmarks/prediction.py [--bundle models/<id>]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _common import ROOT, table, write_result

from model.bundle import load_bundle
from model.engine import Engine
from model.families import CoxnetFamily
from model.registry import Registry
from model.timeaxis import LANDMARKS
from model.validation import validate_dataset
from training.simulate import simulate_cohort


def coverage(engine, X, truth, chunk=100) -> dict:
    inside = {t: [] for t in LANDMARKS}
    width = {t: [] for t in LANDMARKS}
    for start in range(0, len(X), chunk):
        for p, (_, tr) in zip(
            engine.predict(X.iloc[start : start + chunk]),
            truth.iloc[start : start + chunk].iterrows(),
            strict=True,
        ):
            for t in LANDMARKS:
                r = p.at(t)
                if r is None:
                    continue
                inside[t].append(r[1] <= tr[f"true_surv_{t}"] <= r[2])
                width[t].append(r[2] - r[1])
    return {
        t: (
            float(np.mean(inside[t])) if inside[t] else None,
            float(np.mean(width[t])) if width[t] else None,
        )
        for t in LANDMARKS
    }


def median_ms(call, repeats: int = 30) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        ts.append(time.perf_counter() - t0)
    return 1000 * float(np.median(ts))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--bundle", type=Path, default=None)
    ap.add_argument("--test-n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=777)
    args = ap.parse_args()
    bundle = load_bundle(args.bundle) if args.bundle else Registry(ROOT / "models").load()
    engine = CoxnetFamily(bundle)
    schema = bundle.schema
    test = simulate_cohort(args.test_n, args.seed)
    masked = validate_dataset(test.data, schema).raise_if_errors()[schema.feature_names]
    complete = test.latent[schema.feature_names]

    one_complete = complete.iloc[[0]]
    one_masked = masked[masked.isna().any(axis=1)].iloc[[0]]
    lat = {}
    for label, row in (("complete", one_complete), ("with unknowns", one_masked)):
        lat[label] = median_ms(lambda row=row: engine.predict(row, contributions=True))
    # what the page calls: the row put in schema order, a level no training patient had
    # made unknown, then the same
    page = Engine(bundle)
    for label, row in (("complete", one_complete), ("with unknowns", one_masked)):
        lat[f"page, {label}"] = median_ms(
            lambda row=row: page.predict(row, "coxnet", contributions=True)
        )
    # survival given alive at 24 months for the patient with unknowns (each refit's draws
    # reweighted by their survival to 24 months), beside numpy's own weighted percentiles of
    # the same samples, which the band's resampling stands in for
    (prog,) = engine.predict(one_masked)
    lat["conditional, with unknowns"] = median_ms(lambda: prog.conditional(24.0))
    cond = prog.conditional(24.0)
    kept = cond.weights > 0
    lat["numpy weighted percentiles of the same"] = median_ms(
        lambda: np.percentile(
            cond.samples[kept],
            [2.5, 97.5],
            axis=0,
            weights=cond.weights[kept],
            method="inverted_cdf",
        )  # fmt: skip
    )
    batch = complete.iloc[:1000]
    t0 = time.perf_counter()
    engine.predict(batch)
    engine_rate = len(batch) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    bundle.survival(batch, "coxnet")
    pipe_rate = len(batch) / (time.perf_counter() - t0)

    cov_complete = coverage(engine, complete, test.truth)
    cov_masked = coverage(engine, masked, test.truth)
    rows = [
        [
            "one patient, all inputs known: curve, band, contributions (ms, median)",
            lat["complete"],
            "≤ 20",
        ],
        ["one patient with unknown inputs: the same (ms, median)", lat["with unknowns"], "≤ 20"],
        [
            "  the same through Engine.predict, as the page calls it: all known",
            lat["page, complete"],
            "≤ 20",
        ],
        ["  the same through Engine.predict: unknown inputs", lat["page, with unknowns"], "≤ 20"],
        [
            "  given alive at 24 months: conditional curve and band (ms, median)",
            lat["conditional, with unknowns"],
            "",
        ],
        [
            "  numpy's weighted percentiles of the same samples, alone (ms, median)",
            lat["numpy weighted percentiles of the same"],
            "",
        ],
        ["batch through engine (patients/s)", engine_rate, ""],
        ["batch through pipeline, curve only (patients/s)", pipe_rate, "≥ 10,000"],
    ]
    for t in LANDMARKS:
        rows.append(
            [f"band coverage of true S({t}), inputs complete", cov_complete[t][0], "0.90-0.98"]
        )
        rows.append([f"band coverage of true S({t}), inputs masked", cov_masked[t][0], "0.90-0.98"])
        rows.append(
            [
                f"mean band width at {t} months, complete / masked",
                f"{cov_complete[t][1]:.3f} / {cov_masked[t][1]:.3f}",
                "",
            ]
        )
    print(
        f"bundle {bundle.version_id}; {args.test_n} simulated test patients (seed {args.seed}); "
        f"{engine.ensemble.n_boot} bootstrap refits, {engine.draws.n_draws} imputation draws"
    )
    print(table(["measure", "value", "target"], rows))
    out = write_result(
        "prediction",
        {
            "bundle": bundle.version_id,
            "latency_ms": lat,
            "engine_patients_per_s": engine_rate,
            "pipeline_patients_per_s": pipe_rate,
            "coverage_complete": {str(t): v[0] for t, v in cov_complete.items()},
            "coverage_masked": {str(t): v[0] for t, v in cov_masked.items()},
            "band_width_complete": {str(t): v[1] for t, v in cov_complete.items()},
            "band_width_masked": {str(t): v[1] for t, v in cov_masked.items()},
        },
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
