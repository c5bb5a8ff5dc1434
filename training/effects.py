"""What each factor does in a fitted model, for the validation report.

Hazard ratios: the Cox model has spline and interaction terms, so a single
coefficient per factor does not exist. Each factor's hazard ratio is reported
for a contrast a clinician would quote (a category against the reference
category, yes against no, the 75th against the 25th percentile), with every
other factor held at a reference patient (the training data's median or most
common value). Intervals come from the bootstrap refits.

Permutation importance: the drop in Harrell's C when one factor's values are
shuffled among patients (scikit-learn), for the forest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline
from sksurv.metrics import concordance_index_censored

from model.piecewise import PiecewiseCox
from model.predict import risk_score, survival_on_grid
from model.schema import Schema

__all__ = [
    "contrast_frames",
    "contrasts",
    "hazard_ratio_table",
    "log_hazard_ratios",
    "permutation_table",
    "reference_patient",
]


def reference_patient(data: pd.DataFrame, schema: Schema) -> dict:
    """Median of numeric features, most common value of the others (known values only). A
    whole-number input's median is a value the data hold (KPS 80 or 90, not 85 between two
    steps of 10), so that the reference patient is one a reader could enter."""
    ref = {}
    for f in schema.features:
        known = data[f.name].dropna()
        if not len(known):
            ref[f.name] = None
        elif f.kind == "integer":
            ref[f.name] = float(known.astype(float).quantile(0.5, interpolation="lower"))
        elif f.kind == "continuous":
            ref[f.name] = float(known.median())
        else:
            ref[f.name] = known.mode().iloc[0]
    return ref


def _quartiles(known: pd.Series, kind: str) -> tuple[float, float]:
    """The quartiles a contrast compares, as a reader can enter them: values the data hold
    for a whole-number input (3 vs 0 units, not 3 vs 0.75), three significant digits for a
    measurement (9.93 vs 2.5, not 9.925 vs 2.5); the ratio is computed at these values."""
    if kind == "integer":
        q1, q3 = known.quantile([0.25, 0.75], interpolation="nearest")
        return float(q1), float(q3)
    return tuple(float(f"{float(v):.3g}") for v in known.quantile([0.25, 0.75]))


def contrasts(data: pd.DataFrame, schema: Schema) -> list[dict]:
    """One row per comparison: feature, label, the value compared and the value compared to."""
    out = []
    for f in schema.features:
        known = data[f.name].dropna()
        if not len(known):
            continue
        if f.kind in ("continuous", "integer"):
            q1, q3 = _quartiles(known, f.kind)
            if q3 > q1:
                out.append(
                    {
                        "feature": f.name,
                        "label": f.contrast_label(q3, q1),
                        "value": q3,
                        "reference": q1,
                    }
                )
        elif f.kind == "binary":
            out.append(
                {
                    "feature": f.name,
                    "label": f.contrast_label(1, 0),
                    "value": 1.0,
                    "reference": 0.0,
                }
            )
        else:
            # a level no patient has has no effect to show (the model scores it as unknown)
            levels = [lv for lv in f.allowed_values if known.isin([lv]).any()]
            for lv in levels[1:]:
                out.append(
                    {
                        "feature": f.name,
                        "label": f.contrast_label(lv, levels[0]),
                        "value": lv,
                        "reference": levels[0],
                    }
                )
    return out


def _frame(ref: dict, schema: Schema, rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame([ref] * len(rows))
    for i, r in enumerate(rows):
        df.at[i, r["feature"]] = r["value"]
    for f in schema.features:
        if not f.is_text:
            df[f.name] = pd.to_numeric(df[f.name], errors="coerce").astype(float)
    return df[schema.feature_names]


def contrast_frames(
    ref: dict, schema: Schema, rows: list[dict]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The reference patient with each contrast's value, and with its reference value."""
    hi = _frame(ref, schema, rows)
    lo = _frame(ref, schema, [dict(r, value=r["reference"]) for r in rows])
    return hi, lo


def log_hazard_ratios(pipe: Pipeline, schema: Schema, ref: dict, rows: list[dict]) -> np.ndarray:
    """log HR of each contrast for a Cox pipeline (difference of linear predictors); for a
    Cox model in time pieces, of the piece that holds its risk horizon."""
    hi, lo = contrast_frames(ref, schema, rows)
    step = pipe[-1]
    if isinstance(step, PiecewiseCox):
        pre = pipe[:-1]
        return step.horizon_linear_predictor(pre.transform(hi)) - step.horizon_linear_predictor(
            pre.transform(lo)
        )
    return pipe.predict(hi) - pipe.predict(lo)


def hazard_ratio_table(point: np.ndarray, boot: list[np.ndarray], rows: list[dict]) -> list[dict]:
    """Hazard ratios with 95 % bootstrap percentile intervals."""
    b = np.asarray(boot) if boot else None
    out = []
    for j, r in enumerate(rows):
        lo = hi = None
        if b is not None and len(b) >= 10:
            lo, hi = (float(np.exp(v)) for v in np.percentile(b[:, j], [2.5, 97.5]))
        out.append(
            {
                "feature": r["feature"],
                "contrast": r["label"],
                "hr": float(np.exp(point[j])),
                "lower": lo,
                "upper": hi,
            }
        )
    return out


def permutation_table(
    pipe: Pipeline,
    X: pd.DataFrame,
    y: np.ndarray,
    grid: np.ndarray,
    risk_horizon: float,
    n_repeats: int = 3,
    max_rows: int = 600,
    seed: int = 0,
) -> list[dict]:
    """Mean and SD of the drop in Harrell's C per feature, on up to ``max_rows`` patients."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), size=min(max_rows, len(X)), replace=False)
    Xs, ys = X.iloc[idx], y[idx]
    e, t = ys.dtype.names

    def c_index(model, X_, y_):
        risk = risk_score(survival_on_grid(model, X_, grid), grid, risk_horizon)
        return concordance_index_censored(y_[e].astype(bool), y_[t], risk)[0]

    res = permutation_importance(
        pipe, Xs, ys, scoring=c_index, n_repeats=n_repeats, random_state=seed
    )
    rows = [
        {"feature": c, "importance": float(m), "sd": float(s)}
        for c, m, s in zip(X.columns, res.importances_mean, res.importances_std, strict=True)
    ]
    return sorted(rows, key=lambda r: -r["importance"])
