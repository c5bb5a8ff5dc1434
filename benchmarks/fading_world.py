"""A second independent world, written by an independent tester: one effect that fades.

Nothing here comes from ``python -m training simulate`` or shares its columns: a schema of
its own (``benchmarks/schemas/fading.yaml``), recurrence-free survival after resection of
a gastrointestinal primary, in days, landmarks 180, 365 and 730 days.

* **Baseline.** Burr XII, ``H0(t) = 0.14 log(1 + (t / 500)^2)``: the hazard rises, peaks
  near 500 days and falls, unlike any Weibull.
* **Effects.** Neoadjuvant chemotherapy with a log hazard ratio of -1.1 in the first year
  and +0.05 after it (a benefit that fades; every other effect holds at all times). Age as
  a hinge on both sides (0.055 a year over 65, 0.025 a year under 55), albumin linear,
  CRP on log1p, tumour size a near-step at 55 mm (logistic, scale 5 mm), primary site,
  grade, ECOG and nodal involvement.
* **Inputs.** Correlated: CRP with albumin (r about -0.5), grade with site and size, ECOG
  with age and albumin, nodes with grade and size, neoadjuvant treatment with site and age.
* **Censoring.** Staggered accrual over four years, analysis six years after the first
  patient, and loss to follow-up at about 8 % a year; times in whole days. About 55 %
  recur.
* **Unknown values.** CRP (more often in ECOG 0), grade (more often in small tumours) and
  albumin (at random), 10-15 % each.

Every patient's true S at the landmarks is exact, from the complete inputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SCHEMA = Path(__file__).resolve().parent / "schemas" / "fading.yaml"
LANDMARKS = (180, 365, 730)
ALPHA, KAPPA, CSCALE = 500.0, 2.0, 0.14
T_FADE = 365.0
B_NEO_EARLY, B_NEO_LATE = -1.1, 0.05
SITE_B = {"colon": 0.0, "rectum": 0.2, "appendix": -0.7, "gastric": 0.75}
GRADE_B = {"G1": 0.0, "G2": 0.35, "G3": 0.9}
ECOG_B = {0: 0.0, 1: 0.3, 2: 0.75}
TEST_SEED = 100


def _h0(t):
    return CSCALE * np.log1p((np.asarray(t, float) / ALPHA) ** KAPPA)


def _h0_inverse(h):
    return ALPHA * np.expm1(np.asarray(h, float) / CSCALE) ** (1.0 / KAPPA)


def _logistic(x):
    return 1 / (1 + np.exp(-x))


def _covariates(n: int, rng) -> pd.DataFrame:
    age = np.clip(rng.normal(63, 11, n), 25, 92).round(0)
    alb = np.clip(rng.normal(38, 5.5, n), 15, 55).round(1)
    crp = np.clip(np.exp(1.9 - 0.10 * (alb - 38) + rng.normal(0, 0.8, n)), 0.1, 450).round(1)
    site = rng.choice(list(SITE_B), n, p=[0.45, 0.25, 0.15, 0.15])
    size = np.clip(np.exp(rng.normal(np.log(38), 0.55, n)), 3, 250).round(0)
    lg = -0.3 + 0.9 * (site == "gastric") - 0.6 * (site == "appendix") + 0.012 * (size - 38)
    u = rng.logistic(size=n) + lg
    grade = np.where(u < -1.0, "G1", np.where(u < 1.2, "G2", "G3"))
    ecog_lat = 0.035 * (age - 63) + rng.normal(0, 1, n) - 0.06 * (alb - 38)
    ecog = np.where(ecog_lat < 0.1, 0, np.where(ecog_lat < 1.1, 1, 2))
    node = rng.random(n) < _logistic(-0.6 + 0.7 * (grade == "G3") + 0.01 * (size - 38))
    neo = rng.random(n) < _logistic(-0.4 + 0.8 * (site == "rectum") - 0.03 * (age - 63))
    return pd.DataFrame(
        {
            "age_yr": age, "albumin_gl": alb, "crp_mgl": crp, "primary_site": site,
            "grade": grade, "ecog": ecog, "node_pos": node.astype(int),
            "neoadj": neo.astype(int), "size_mm": size,
        }
    )  # fmt: skip


def _log_hazard_ratio(X: pd.DataFrame) -> np.ndarray:
    """Without the neoadjuvant term, which changes at a year."""
    age = X.age_yr.to_numpy(float)
    return (
        0.055 * np.maximum(age - 65, 0)
        + 0.025 * np.maximum(55 - age, 0)
        - 0.045 * (X.albumin_gl.to_numpy(float) - 38)
        + 0.30 * (np.log1p(X.crp_mgl.to_numpy(float)) - 2.0)
        + 0.9 * _logistic((X.size_mm.to_numpy(float) - 55) / 5.0)
        + X.primary_site.map(SITE_B).to_numpy(float)
        + X.grade.map(GRADE_B).to_numpy(float)
        + X.ecog.map(ECOG_B).to_numpy(float)
        + 0.5 * X.node_pos.to_numpy(float)
    )


def _early_late(X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    eta, neo = _log_hazard_ratio(X), X.neoadj.to_numpy(float)
    return np.exp(eta + B_NEO_EARLY * neo), np.exp(eta + B_NEO_LATE * neo)


def cumulative_hazard(t: float, X: pd.DataFrame) -> np.ndarray:
    early, late = _early_late(X)
    after = np.clip(_h0(t) - _h0(T_FADE), 0, None)
    return early * _h0(np.minimum(t, T_FADE)) + late * after


def _unknown(X: pd.DataFrame, rng) -> pd.DataFrame:
    X = X.copy()
    n = len(X)
    p_crp = np.select([X.ecog == 0, X.ecog == 1], [0.22, 0.10], 0.05)
    p_grade = _logistic(-1.8 - 0.04 * (X.size_mm - 38))
    for col, p in (("crp_mgl", p_crp), ("grade", p_grade), ("albumin_gl", np.full(n, 0.10))):
        X[col] = X[col].astype(object).where(~(rng.random(n) < p), None)
    return X


def simulate(n: int, seed: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """A cohort as a centre would record it (unknowns empty) and every patient's true S at
    the landmarks (by the schema's landmark names)."""
    rng = np.random.default_rng(seed)
    X = _covariates(n, rng)
    early, late = _early_late(X)
    e = rng.exponential(size=n)
    at_fade = early * _h0(T_FADE)
    t = np.where(
        e <= at_fade, _h0_inverse(e / early), _h0_inverse(_h0(T_FADE) + (e - at_fade) / late)
    )
    entry = rng.uniform(0, 4 * 365, n)
    c = np.minimum(6 * 365 - entry, rng.exponential(365 / 0.08, n))
    data = _unknown(X, rng)
    data.insert(0, "subject", [f"W{seed:03d}-{i:05d}" for i in range(n)])
    data["rfs_days"] = np.maximum(np.ceil(np.minimum(t, c)), 1).astype(int)
    data["relapsed"] = (t <= c).astype(int)
    truth = {str(lm): np.exp(-cumulative_hazard(lm, X)) for lm in LANDMARKS}
    return data, truth
