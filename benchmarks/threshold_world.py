"""A second independent world for ``benchmarks/independent_world.py --world thresholds``:
effects that change over time, thresholds and an interaction the schema does not declare.

Written after an independent tester's own simulator (not the project's), on the DMPM
schema's columns. The true hazard is h(t | x) = h0(t) exp(eta_k(x)) in three time pieces,
[0, 3), [3, 12) and from 12 months, h0 Weibull (shape 1.15, scale 250 months). Log hazard
ratios:

* age 0.025 a year from 55; male 0.2; Karnofsky -0.025 a point from 90;
* PCI a threshold, +0.9 above 20 (nothing below); Ki-67 a threshold, +0.7 above 12 %;
* CC 0 / 0.3 / 0.9 / 1.4, and for CC2-3 a further 0.04 a year of age from 55 (an
  interaction the schema does not declare);
* sarcomatoid 1.6 for the first 12 months, 0.3 after; biphasic 0.5;
* a serious adverse event 1.2 for the first 3 months, nothing after;
* lymph nodes 0.4, emboli 0.25, log1p(CA125) 0.15, transfusion 0.04 a unit; CEA and
  CA19-9 none.

Unknown: Ki-67 15 %, CA125 12 %, CEA 12 %, lymph nodes 8 % at random, Karnofsky 10 % (more
in the old). Censoring: administrative (potential follow-up uniform over 18-84 months) and
loss at 0.6 % a month. Truth: each patient's exact S(12), S(36), S(60) from the complete
inputs; ``eta`` is the true log cumulative hazard at 36 months (the oracle's ranking).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHAPE, SCALE = 1.15, 250.0
CUTS = np.array([0.0, 3.0, 12.0, np.inf])
TIMES = (12, 36, 60)
CC_EFFECT = np.array([0.0, 0.3, 0.9, 1.4])


def _inputs(rng: np.random.Generator, n: int) -> pd.DataFrame:
    age = np.clip(np.round(rng.normal(55, 11, n)), 18, 88)
    path = rng.choice(["epithelioid", "biphasic", "sarcomatoid"], n, p=[0.74, 0.16, 0.10])
    ki67 = np.exp(
        rng.normal(np.log(8) + 0.8 * (path == "sarcomatoid") + 0.3 * (path == "biphasic"), 0.8)
    )
    pci = np.clip(np.round(rng.gamma(5, 4.2, n)), 0, 39).astype(int)
    cc = np.digitize(rng.normal(0, 1, n) + (pci - 20) / 7, [-0.6, 0.4, 1.3])
    kps = np.clip(np.round(rng.normal(85 - 0.3 * (age - 55), 9) / 10) * 10, 50, 100)
    sae = (rng.random(n) < 1 / (1 + np.exp(1.0 - 0.06 * (pci - 20)))).astype(int)
    return pd.DataFrame(
        {
            "age": age.astype(int),
            "sex": np.where(rng.random(n) < 0.5, "F", "M"),
            "kps": kps.astype(int),
            "pathology": path,
            "ki67": np.clip(np.round(ki67, 1), 0.5, 95),
            "vascular_emboli": (rng.random(n) < 0.18).astype(int),
            "lymph_nodes": (rng.random(n) < 1 / (1 + np.exp(2.0 - 0.05 * (pci - 20)))).astype(int),
            "pci": pci,
            "cc": cc,
            "sae": sae,
            "ca125": np.round(np.exp(rng.normal(3.3 + 0.05 * (pci - 20), 1.0)), 1),
            "cea": np.round(np.exp(rng.normal(0.6, 0.5, n)), 1),
            "ca199": np.round(np.exp(rng.normal(2.4, 0.8, n)), 1),
            "rbc_units": rng.poisson(0.8 + pci / 12 + 1.0 * sae),
        }
    )


def log_hazards(x: pd.DataFrame) -> np.ndarray:
    """Each patient's log hazard ratio in each of the three pieces, (n, 3)."""
    base = (
        0.025 * (x["age"] - 55)
        + 0.2 * (x["sex"] == "M")
        - 0.025 * (x["kps"] - 90)
        + 0.9 * (x["pci"] > 20)
        + 0.7 * (x["ki67"] > 12)
        + CC_EFFECT[x["cc"]]
        + 0.04 * (x["cc"] >= 2) * (x["age"] - 55)
        + 0.5 * (x["pathology"] == "biphasic")
        + 0.4 * x["lymph_nodes"]
        + 0.25 * x["vascular_emboli"]
        + 0.15 * (np.log1p(x["ca125"]) - 3.3)
        + 0.04 * x["rbc_units"]
    ).to_numpy(float)
    sarc = (x["pathology"] == "sarcomatoid").to_numpy(float)
    sae = x["sae"].to_numpy(float)
    return np.stack([base + 1.6 * sarc + 1.2 * sae, base + 1.6 * sarc, base + 0.3 * sarc], 1)


def _h0(t):
    return (np.asarray(t, float) / SCALE) ** SHAPE


def cumulative_hazard(eta: np.ndarray, t: float) -> np.ndarray:
    lo, hi = CUTS[:-1], np.minimum(CUTS[1:], t)
    spans = np.clip(_h0(hi) - _h0(lo), 0, None)  # baseline hazard each piece adds by t
    return np.exp(eta) @ spans


def _death_times(rng: np.random.Generator, eta: np.ndarray) -> np.ndarray:
    """By inversion, piece by piece: the piece where the unit exponential draw is spent."""
    e = rng.exponential(1.0, len(eta))
    out = np.full(len(eta), np.nan)
    spent = np.zeros(len(eta))
    for k in range(3):
        lo, hi = CUTS[k], CUTS[k + 1]
        rate = np.exp(eta[:, k])
        room = rate * (_h0(hi) - _h0(lo)) if np.isfinite(hi) else np.full(len(eta), np.inf)
        here = np.isnan(out) & (e <= spent + room)
        out[here] = SCALE * (_h0(lo) + (e[here] - spent[here]) / rate[here]) ** (1 / SHAPE)
        spent += np.where(np.isnan(out), room, 0.0)
    return out


def simulate(n: int, seed: int, masked: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` patients as a registry holds them (unknowns NaN unless ``masked=False``) and
    the truth per patient (``eta``, ``s12``, ``s36``, ``s60``)."""
    rng = np.random.default_rng(seed)
    x = _inputs(rng, n)
    eta = log_hazards(x)
    death = _death_times(rng, eta)
    censor = np.minimum(rng.uniform(18, 84, n), rng.exponential(1 / 0.006, n))
    data = x.copy()
    data.insert(0, "patient_id", [f"TW{seed % 100000:05d}-{i + 1:05d}" for i in range(n)])
    data["os_months"] = np.maximum(np.round(np.minimum(death, censor), 1), 0.1)
    data["death"] = (death <= censor).astype(int)
    if masked:
        for col, share in (("ki67", 0.15), ("ca125", 0.12), ("cea", 0.12), ("lymph_nodes", 0.08)):
            data[col] = data[col].astype(float).where(rng.random(n) >= share)
        old = np.clip(0.10 + 0.006 * (x["age"] - 55), 0.02, 0.4)
        data["kps"] = data["kps"].astype(float).where(rng.random(n) >= old)
    truth = pd.DataFrame(
        {
            "eta": np.log(cumulative_hazard(eta, 36.0)),
            **{f"s{t}": np.exp(-cumulative_hazard(eta, float(t))) for t in TIMES},
        }
    )
    return data, truth
