"""The two model families, as scikit-learn pipelines built from a schema.

Both share the encoding and the conditional imputation, so training and
prediction transform identically and unknown inputs are filled from what is
known about the patient (IterativeImputer), not from a fixed mean.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sksurv.ensemble import RandomSurvivalForest
from sksurv.linear_model import CoxnetSurvivalAnalysis
from sksurv.util import Surv

from model.coxnet import PathCoxnet
from model.preprocess import SchemaEncoder, SplineInteractionExpander
from model.schema import NUMERIC_KINDS, Schema

__all__ = [
    "COX_TERMS",
    "FULL_TERMS",
    "DECLARED_TERMS",
    "RSF_TIME_GRAIN",
    "coxnet_step",
    "fit_quietly",
    "make_coxnet",
    "make_rsf",
    "round_times",
    "survival_target",
]

# An sksurv forest stores a curve per unique time in every node, so unrounded times make
# huge bundles. Measured on the 2,000-patient cohort (benchmarks/training.py, same run):
# a 0.1-month grain gave a 20 MB forest, 146 s of training with validation and 1.4 s to
# verify and load (both over target); half a month gives 12 MB, about 110 s and 0.4 s, with
# the same test C. Half a month is still finer than any survival figure a clinician reads.
RSF_TIME_GRAIN = 0.5


def survival_target(data: pd.DataFrame, schema: Schema) -> np.ndarray:
    """Structured (event, time) array for scikit-survival, time in months (the unit every
    curve and constant inside uses; the schema's unit is converted here, rounded as the
    landmarks are, so that an event at a landmark counts in survival to it)."""
    time = schema.time_axis.on_grid(data[schema.time.name].to_numpy(dtype=float))
    return Surv.from_arrays(data[schema.event.name].to_numpy().astype(bool), time)


def round_times(y: np.ndarray, grain: float = RSF_TIME_GRAIN) -> np.ndarray:
    """The same target with times rounded to ``grain`` (never below one grain)."""
    t = y.dtype.names[1]
    out = y.copy()
    out[t] = np.maximum(np.round(out[t] / grain) * grain, grain)
    return out


# The Cox model's designs, simplest first, each nesting the one before: main effects only;
# the schema's non-linear features as splines; the declared interactions; and every other
# numeric feature bent too (its line plus hinges), for a shape the schema did not declare
# (a U-shaped age effect).
# Tuning chooses one by cross-validated integrated Brier score (training/tuning.py); the last
# must clear a higher bar than the declared ones, since nobody vouched for its shapes.
COX_TERMS = ("main", "splines", "splines+interactions", "all-splines+interactions")
FULL_TERMS = COX_TERMS[2]  # bundles tuned before the design was chosen used these terms
DECLARED_TERMS = COX_TERMS[:3]


# The penalty path: from the smallest penalty that removes every term down to a thousandth of
# it. Chosen by cross-validated Brier score, the optimum of a main-effects design at
# n = 2,000 lies below the hundredth where the path used to stop.
COXNET_PATH_LENGTH = 30
COXNET_MIN_RATIO = 0.001


def _imputer(seed: int) -> IterativeImputer:
    return IterativeImputer(max_iter=15, tol=1e-3, random_state=seed, skip_complete=True)


def _spline_columns(schema: Schema, every: bool = False) -> list[str]:
    return [f.name for f in schema.features if f.nonlinear or (every and f.kind in NUMERIC_KINDS)]


def cox_expander(schema: Schema, terms: str = FULL_TERMS) -> SplineInteractionExpander:
    """The design step of :func:`make_coxnet` for one of :data:`COX_TERMS`: the declared
    non-linear features as ramps; in the last design every other numeric feature as its
    line plus hinges (bent only where the data pay for it)."""
    if terms not in COX_TERMS:
        raise ValueError(f"terms must be one of {', '.join(COX_TERMS)} (got {terms!r})")
    splines = _spline_columns(schema) if terms != "main" else []
    interactions = schema.interactions if terms in COX_TERMS[2:] else []
    every = _spline_columns(schema, every=True) if terms == COX_TERMS[3] else []
    return SplineInteractionExpander(
        splines, interactions, hinge_columns=[c for c in every if c not in splines]
    )


def design_adds(schema: Schema, terms: str) -> str:
    """What a design of :data:`COX_TERMS` adds to the one before it, in the schema's labels
    (for the validation report's comparison of designs)."""
    label = {f.name: f.label for f in schema.features}
    splines = _spline_columns(schema)
    if terms == "main":
        return "every input as a straight line (a category or level: an indicator of its own)"
    if terms == "splines":
        return "bends of the inputs the schema declares non-linear: " + ", ".join(
            label[c] for c in splines
        )
    if terms == COX_TERMS[2]:
        return "the declared interactions: " + ", ".join(
            f"{label[a]} × {label[b]}" for a, b in schema.interactions
        )
    others = [c for c in _spline_columns(schema, every=True) if c not in splines]
    return "bends of every other numeric input, where the data pay for them: " + ", ".join(
        label[c] for c in others
    )


def distinct_terms(schema: Schema) -> tuple[str, ...]:
    """The designs of :data:`COX_TERMS` that differ on this schema (no splines declared: the
    spline design is the main-effects one)."""
    out = ["main"]
    if _spline_columns(schema):
        out.append("splines")
    if schema.interactions:
        out.append(FULL_TERMS)
    if len(_spline_columns(schema, every=True)) > len(_spline_columns(schema)):
        out.append(COX_TERMS[3])
    return tuple(out)


def make_coxnet(
    schema: Schema,
    l1_ratio: float = 0.5,
    alphas=None,
    fit_baseline_model: bool = False,
    seed: int = 0,
    terms: str = FULL_TERMS,
) -> Pipeline:
    """Encode, impute, expand (``terms``: main effects, splines, declared interactions),
    scale, penalised Cox."""
    pipe = Pipeline(
        [
            ("encode", SchemaEncoder(schema.to_dict())),
            ("impute", _imputer(seed)),
            ("expand", cox_expander(schema, terms)),
            ("scale", StandardScaler()),
            (
                "coxnet",
                PathCoxnet(
                    l1_ratio=l1_ratio,
                    alphas=alphas,
                    n_alphas=COXNET_PATH_LENGTH,
                    alpha_min_ratio=COXNET_MIN_RATIO,
                    max_iter=200_000,
                    fit_baseline_model=fit_baseline_model,
                ),
            ),
        ]
    )
    return pipe.set_output(transform="pandas")


def coxnet_step(schema: Schema, l1_ratio: float, alpha: float) -> CoxnetSurvivalAnalysis:
    """The Cox step of :func:`make_coxnet` alone, with one penalty (refits on fixed features)."""
    return make_coxnet(schema, l1_ratio, alphas=[alpha], fit_baseline_model=True)[-1]


def make_rsf(
    schema: Schema,
    min_samples_leaf: int = 15,
    max_features: str | float = "sqrt",
    n_estimators: int = 200,
    seed: int = 0,
    n_jobs: int = 1,
    max_samples: int | None = None,
) -> Pipeline:
    """Encode, impute, random survival forest (times must be rounded by the caller);
    ``max_samples`` patients in each tree's bootstrap sample (None: as many as the data)."""
    pipe = Pipeline(
        [
            ("encode", SchemaEncoder(schema.to_dict())),
            ("impute", _imputer(seed)),
            (
                "rsf",
                RandomSurvivalForest(
                    n_estimators=n_estimators,
                    min_samples_leaf=min_samples_leaf,
                    max_features=max_features,
                    n_jobs=n_jobs,
                    random_state=seed,
                    max_samples=max_samples,
                ),
            ),
        ]
    )
    return pipe.set_output(transform="pandas")


def fit_quietly(pipe: Pipeline, X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """Fit, silencing convergence notices of the imputer and of Coxnet paths.

    The imputer stops at ``max_iter`` rounds when successive imputations still differ by
    more than ``tol``; the remaining change is small and does not affect the model's use.
    Coxnet may stop early at the smallest penalties of a path; penalties are chosen by
    their cross-validated scores, so an unconverged one is chosen only if it scores best.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # a refit or stand-in piece at a penalty that removes every term: a flat curve,
        # which the scores already judge; the notice is not the user's to act on
        warnings.filterwarnings("ignore", "all coefficients are zero", UserWarning)
        return pipe.fit(X, y)
