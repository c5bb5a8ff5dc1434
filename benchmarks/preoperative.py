"""Before surgery: a patient whose post-operative facts are all unknown, scored against the
world's truth, in the calculator and in the candidacy view.

A tumour board knows age, sex, Karnofsky, pathology, Ki-67, PCI and the markers; CC, SAE,
nodes, emboli and transfusion are not known yet. The calculator averages its curve over
draws of those inputs from the chained equations (:class:`model.uncertainty.ImputationDraws`);
the candidacy view weighs CC and SAE by its logistic models (:mod:`model.candidacy`) and
draws the rest. Both should be near the patient's true curve averaged over what surgery
may bring, and both should agree.

For each world x training n x draw the Cox family is fitted as ``fit`` fits it
(``--bootstrap`` refits for the band). On ``--test-n`` fresh patients of the same world,
with every post-operative input made unknown:

* error of S(12/36/60) against each patient's true S(t) (mean absolute, and root mean
  square, whose excess over the best achievable is the squared distance from the truth
  given the pre-operative facts alone);
* calibration by PCI: the largest gap between mean predicted and mean true S(36) over
  PCI 0-10, 11-20, 21-30 and 31-39 (groups of 30 or more patients);
* coverage of the true S(12/36/60) by the 95 % band, and its mean width at 36;
* agreement: mean |calculator - candidacy| at 36 months.

Beside them the calculator on the same test patients as a registry records them (its
unknown inputs only) with any input unknown: error of S(36) and band coverage at 36.

Worlds: the three of ``training simulate`` and the independent world of
``benchmarks/independent_world.py`` (its own simulator: CC on PCI by an ordinal logit).

    .venv/bin/python benchmarks/preoperative.py      # 65 min on 2 cores beside another run
    .venv/bin/python benchmarks/preoperative.py --worlds milan --n 500 --test-n 300 \\
        --bootstrap 20 --result preoperative_try                     # a quick look, apart
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import independent_world as iw
import numpy as np
import pandas as pd
from _common import table, write_result
from accuracy import fit_families
from design_choice import WORLD_NAMES, train_seed

from model.engine import Engine
from model.schema import default_schema
from training.simulate import SimulationSettings, simulate_cohort, write_cohort

TIMES = (12, 36, 60)
PCI_GROUPS = (-1, 10, 20, 30, 39)
MIN_GROUP = 30
TEST_SEED = 31337
CHUNK = 100  # patients per engine call: each keeps its band's sampled curves


def world_cohort(world: str, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Patients of a world as its registry records them, and their true S(12/36/60)."""
    if world == "independent":
        data, truth = iw.simulate(n, seed)
        return data, truth[[f"s{t}" for t in TIMES]]
    c = simulate_cohort(n, seed, SimulationSettings.for_world(world))
    truth = c.truth[[f"true_surv_{t}" for t in TIMES]]
    return c.data, truth.set_axis([f"s{t}" for t in TIMES], axis=1)


def write_training(world: str, n: int, draw: int, tmp: Path) -> Path:
    path, seed = tmp / f"train_{world}_{n}_{draw}.csv", train_seed(world, n, draw)
    if world == "independent":
        iw.write_registry_csv(iw.simulate(n, seed)[0], path)
    else:
        c = simulate_cohort(n, seed, SimulationSettings.for_world(world))
        write_cohort(c, path, about={"world": world, "n": n, "seed": seed})
    return path


def calculator(engine: Engine, X: pd.DataFrame) -> dict[str, np.ndarray]:
    """The Cox model's served curves and band, as ``predict`` gives them."""
    return dict(zip(("survival", "lower", "upper"), engine.curves(X, "coxnet", CHUNK), strict=True))


def candidacy(engine: Engine, X: pd.DataFrame) -> dict[str, np.ndarray]:
    overall = [engine.candidacy(X.iloc[[i]]).overall for i in range(len(X))]
    return {a: np.vstack([getattr(p, a) for p in overall]) for a in ("survival", "lower", "upper")}


def scores(curves: dict, grid: np.ndarray, truth: pd.DataFrame, pci: np.ndarray) -> dict:
    out = {}
    for t in TIMES:
        j = np.searchsorted(grid, t, side="right") - 1
        s, lo, hi = (curves[a][:, j] for a in ("survival", "lower", "upper"))
        true = truth[f"s{t}"].to_numpy()
        out[f"mae_{t}"] = float(np.mean(np.abs(s - true)))
        out[f"rmse_{t}"] = float(np.sqrt(np.mean((s - true) ** 2)))
        out[f"coverage_{t}"] = float(np.mean((lo <= true) & (true <= hi)))
        if t == 36:
            out["width_36"] = float(np.mean(hi - lo))
            groups = pd.cut(pci, PCI_GROUPS)
            by = pd.DataFrame({"g": groups, "p": s, "t": true}).groupby("g", observed=True)
            means = by.mean()[by.size() >= MIN_GROUP]
            out["pci_gap_36"] = float((means["p"] - means["t"]).abs().max())
            out["pci_means_36"] = {
                str(g): [round(r.p, 4), round(r.t, 4)] for g, r in means.iterrows()
            }
    return out


def one_cell(world: str, n: int, draw: int, test, args, tmp: Path) -> dict:
    schema = default_schema()
    data, truth = test
    path = write_training(world, n, draw, tmp)
    t0 = time.perf_counter()
    bundle, _, _ = fit_families(
        path, schema, tmp / f"reg_{world}_{n}_{draw}", ["coxnet"], args.bootstrap
    )
    engine = Engine(bundle)
    grid = engine.families["coxnet"].grid
    X = data[schema.feature_names]
    pre = X.copy()
    pre[[f.name for f in schema.features if f.stage != schema.decision_stage]] = np.nan
    pci = X["pci"].to_numpy()
    calc = calculator(engine, pre)
    cand = candidacy(engine, pre)
    j = np.searchsorted(grid, 36, side="right") - 1
    unknown = X.isna().any(axis=1).to_numpy()
    registry = calculator(engine, X[unknown])
    reg = scores(registry, grid, truth[unknown], pci[unknown])
    return {
        "world": world,
        "n": n,
        "draw": draw,
        "calculator": scores(calc, grid, truth, pci),
        "candidacy": scores(cand, grid, truth, pci),
        "agreement_36": float(np.mean(np.abs(calc["survival"][:, j] - cand["survival"][:, j]))),
        "registry_unknown": {k: reg[k] for k in ("mae_36", "coverage_36", "width_36")},
        "registry_unknown_patients": int(unknown.sum()),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def summarise(rows: list[dict]) -> list[dict]:
    """Means over draws, per world and n."""
    out = []
    for (world, n), cell in pd.DataFrame(rows).groupby(["world", "n"], sort=False):
        mean = {"world": world, "n": int(n), "draws": len(cell)}
        for view in ("calculator", "candidacy", "registry_unknown"):
            keys = [k for k in cell.iloc[0][view] if k != "pci_means_36"]
            mean[view] = {k: float(np.mean([r[k] for r in cell[view]])) for k in keys}
        mean["agreement_36"] = float(cell["agreement_36"].mean())
        out.append(mean)
    return out


def print_tables(summary: list[dict]) -> None:
    head = ["world", "n", "view", *[f"MAE {t}" for t in TIMES], "RMSE 36", "PCI gap 36"]
    head += [f"cover {t}" for t in TIMES] + ["width 36"]
    rows = []
    for s in summary:
        for view in ("calculator", "candidacy"):
            v = s[view]
            rows.append(
                [s["world"], s["n"], view, *[v[f"mae_{t}"] for t in TIMES], v["rmse_36"]]
                + [v["pci_gap_36"], *[v[f"coverage_{t}"] for t in TIMES], v["width_36"]]
            )
    print("Every post-operative input unknown (mean over draws)")
    print(table(head, rows))
    print("\nAgreement, and the calculator on registry patients with any input unknown")
    print(
        table(
            ["world", "n", "calc vs cand 36", "registry MAE 36", "cover 36", "width 36"],
            [
                [s["world"], s["n"], s["agreement_36"]]
                + [s["registry_unknown"][k] for k in ("mae_36", "coverage_36", "width_36")]
                for s in summary
            ],
        )
    )


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worlds", nargs="+", default=list(WORLD_NAMES), choices=WORLD_NAMES)
    ap.add_argument("--n", nargs="+", type=int, default=[110, 500, 2000])
    ap.add_argument("--draws", nargs="+", type=int, default=None, help="per n (default 2 / 1 / 1)")
    ap.add_argument("--test-n", type=int, default=500)
    ap.add_argument("--bootstrap", type=int, default=100)
    ap.add_argument("--result", default="preoperative")
    args = ap.parse_args()
    default = {110: 2}
    args.draws = args.draws or [default.get(n, 1) for n in args.n]
    if len(args.draws) != len(args.n):
        ap.error("--draws needs one count per --n")
    return args


def main() -> None:
    args = parse_args()
    warnings.filterwarnings("ignore")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for world in args.worlds:
            test = world_cohort(world, args.test_n, TEST_SEED)
            for n, draws in zip(args.n, args.draws, strict=True):
                for draw in range(draws):
                    row = one_cell(world, n, draw, test, args, Path(tmp))
                    c, d = row["calculator"], row["candidacy"]
                    print(
                        f"{world} n={n} draw {draw}: MAE 36 calculator {c['mae_36']:.3f}, "
                        f"candidacy {d['mae_36']:.3f} ({row['seconds']:.0f} s)",
                        flush=True,
                    )
                    rows.append(row)
    summary = summarise(rows)
    print()
    print_tables(summary)
    path = write_result(args.result, {"args": vars(args), "rows": rows, "summary": summary})
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
