"""Penalised Cox at one penalty: scikit-survival's cold start against the checked warm path.

Every fit of the served model, its bootstrap refits and its time pieces asks coxnet for one
penalty (``training.estimators.coxnet_step``). Two kinds of case, each fitted both ways at
light to moderate penalties (l1 ratio 0.5):

* **flchain**: FLCHAIN (scikit-survival's ``load_flchain``, under
  ``benchmarks/schemas/flchain.yaml``), the other two thirds of ``real_outcomes.py``'s split 0
  (5,247 people), every numeric input as splines with the declared interactions, cut in 1, 3
  and 6 time pieces at quantiles of the death times: the fits the band's stand-in and the
  proportional-hazards check make;
* **splines**: draws of ``tests/model/test_coxnet.py``'s world (400 patients, age with
  truncated-power spline bases only the oldest few reach, four noise inputs).

Per case: fits that raised a numerical error, fits that ran off (log hazard ratios between
the patients spanning more than 50, band.py's limit), the objective's excess over the better
of the two (relative; where both fitted) and the slowest fit.

    .venv/bin/python benchmarks/coxnet_path.py   # about 2 minutes

Writes ``benchmarks/results/coxnet_path.json``.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "model")]

import real_outcomes  # noqa: E402
from _common import table, write_result  # noqa: E402
from sksurv.linear_model import CoxnetSurvivalAnalysis  # noqa: E402

from model.coxnet import PathCoxnet, penalised_loss  # noqa: E402
from model.piecewise import alive_in_piece  # noqa: E402
from model.schema import load_schema  # noqa: E402
from training.band import MAX_LOG_HR_SPREAD  # noqa: E402
from training.estimators import fit_quietly, make_coxnet, survival_target  # noqa: E402

L1 = 0.5
PENALTIES = np.geomspace(2.5e-4, 2e-2, 3)


def _fit(est, X, y):
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coef = est.fit(X, y).coef_[:, 0]
    except ArithmeticError:
        coef = None
    return coef, time.perf_counter() - t0


def _both(X, y, alpha: float) -> dict:
    X = np.asarray(X, dtype=float)
    out = {}
    for name, est in (
        ("cold", CoxnetSurvivalAnalysis(l1_ratio=L1, alphas=[alpha], max_iter=200_000)),
        ("path", PathCoxnet(l1_ratio=L1, alphas=[alpha], max_iter=200_000)),
    ):
        coef, secs = _fit(est, X, y)
        spread = None if coef is None else float(np.ptp(X @ coef))
        loss = None if coef is None else float(penalised_loss(coef, X, y, alpha, L1)[0])
        out[name] = {"spread": spread, "loss": loss, "seconds": secs}
    return out


def flchain_fits() -> list[dict]:
    case = real_outcomes.CASES["flchain"]
    schema = load_schema(case.schema_path)
    train, _ = real_outcomes.split(case.load(), 0)
    y = survival_target(train, schema)
    pipe = fit_quietly(make_coxnet(schema, L1, terms="all-splines+interactions"), train, y)
    Z = pipe[:-1].transform(train)
    e, t = y.dtype.names
    deaths = np.sort(y[t][y[e]])
    fits = []
    for k in (1, 3, 6):
        edges = [0.0, *np.quantile(deaths, np.arange(1, k) / k), np.inf]
        for j in range(k):
            alive, piece = alive_in_piece(y, edges[j], edges[j + 1])
            for a in PENALTIES:
                fits.append({"case": "flchain", "pieces": k, "piece": j, "alpha": a,
                             **_both(Z[alive], piece, a)})  # fmt: skip
    return fits


def spline_fits(draws: int = 12) -> list[dict]:
    from test_coxnet import _spline_world

    fits = []
    for seed in range(draws):
        with np.errstate(invalid="ignore"):
            X, y = _spline_world(seed)
        if not np.isfinite(X).all():  # a draw where no patient reaches a spline's knot
            continue
        for a in PENALTIES:
            fits.append({"case": "splines", "seed": seed, "alpha": a, **_both(X, y, a)})
    return fits


def summarise(fits: list[dict]) -> dict:
    def ran_off(f):
        return f["spread"] is not None and f["spread"] > MAX_LOG_HR_SPREAD

    row = {"fits": len(fits)}
    for name in ("cold", "path"):
        row[f"{name}_errors"] = sum(f[name]["spread"] is None for f in fits)
        row[f"{name}_ran_off"] = sum(ran_off(f[name]) for f in fits)
        row[f"{name}_slowest_s"] = round(max(f[name]["seconds"] for f in fits), 3)
        excess = []
        for f in fits:
            if f["cold"]["loss"] is not None and f["path"]["loss"] is not None:
                best = min(f["cold"]["loss"], f["path"]["loss"])
                excess.append((f[name]["loss"] - best) / abs(best))
        row[f"{name}_worst_excess"] = float(max(excess)) if excess else None
        # an excess over 1e-4 of the objective is beyond the library's tolerance (~1e-5)
        row[f"{name}_off_minimum"] = int(sum(x > 1e-4 for x in excess))
    spreads = [f["path"]["spread"] for f in fits if f["path"]["spread"] is not None]
    row["path_spread_range"] = [round(min(spreads), 2), round(max(spreads), 2)]
    return row


def main() -> None:
    t0 = time.time()
    by_case = {"flchain": flchain_fits(), "splines": spline_fits()}
    rows = {name: summarise(f) for name, f in by_case.items()}
    cols = ["fits", "errors", "ran_off", "off_minimum", "worst_excess", "slowest_s"]
    body = [
        [name, way] + [r["fits"]] + [r[f"{way}_{c}"] for c in cols[1:]]
        for name, r in rows.items()
        for way in ("cold", "path")
    ]
    print(table(["case", "fit", *cols], body))
    write_result(
        "coxnet_path",
        {
            "benchmark": "coxnet_path",
            "l1_ratio": L1,
            "penalties": PENALTIES.tolist(),
            "max_log_hr_spread": MAX_LOG_HR_SPREAD,
            "rows": rows,
            "fits": by_case["flchain"] + by_case["splines"],
            "wall_seconds": round(time.time() - t0, 1),
        },
    )


if __name__ == "__main__":
    main()
