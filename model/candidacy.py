"""Candidacy before surgery: what pre-operative facts say about the operation's outcomes.

For a tumour board deciding whether to operate, only pre-operative facts are known.
For each operative outcome the schema declares (CC0/1 and no SAE for DMPM), a
logistic model fitted at training time gives its chance from those facts. Survival is
shown for each combination of outcomes (e.g. "CC0/1, no SAE") and overall as their
mixture weighted by those chances; other post-operative facts stay unknown and are
averaged over by the prognosis engine. The outcomes are treated as independent given
the pre-operative facts.

Beside it, clearly labelled as a published figure and not a model output: survival of
patients not operated on, on systemic chemotherapy, taken from the schema's published
evidence file (:mod:`model.evidence`); a schema without that figure has no such reference.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from model.evidence import Evidence, evidence_for
from model.families import CoxnetFamily
from model.i18n import N_, _
from model.preprocess import SchemaEncoder
from model.prognosis import Prognosis
from model.schema import Schema

__all__ = [
    "NOT_OPERATED",
    "REFERENCE_NOTE",
    "Candidacy",
    "OperativeOutcomeModel",
    "candidacy",
    "literature_reference",
]

# the evidence file's system for patients who are not operated on (systemic chemotherapy)
NOT_OPERATED = "chemotherapy"
REFERENCE_NOTE = N_("A published figure for comparison, not an output of this model.")


def literature_reference(schema: Schema, evidence: Evidence | None = None) -> dict | None:
    """The published median survival of patients not operated on, as a range, or None.

    From the schema's evidence file (``evidence`` when given): the first median-survival
    range of its :data:`NOT_OPERATED` system. Keys: ``label``, ``median_months`` [low,
    high], ``source`` (the figure's note and source), ``note`` (that it is not this model's).
    """
    evidence = evidence if evidence is not None else evidence_for(schema)
    if evidence is None or NOT_OPERATED not in {s.id for s in evidence.systems}:
        return None
    evidence = evidence.localized()
    system = evidence.system(NOT_OPERATED)
    figure = next(
        (f for f in system.figures if f.measure == "median_os" and isinstance(f.value, tuple)),
        None,
    )
    if figure is None:
        return None
    source = f"{figure.note} ({figure.source.text})" if figure.note else figure.source.text
    source = source[:1].upper() + source[1:]
    return {
        "label": system.title,
        "median_months": [float(figure.value[0]), float(figure.value[1])],
        "source": source,
        "note": _(REFERENCE_NOTE),
    }


class OperativeOutcomeModel:
    """P(level of one operative outcome | pre-operative facts), a multinomial logistic model."""

    def __init__(self, schema: Schema, feature: str):
        self.feature = feature
        pre = schema.subset([f.name for f in schema.stage_features(schema.decision_stage)])
        self.pre_features = pre.feature_names
        self.levels = list(schema.feature(feature).allowed_values)
        self.pipeline = Pipeline(
            [
                ("encode", SchemaEncoder(pre.to_dict())),
                (
                    "impute",
                    IterativeImputer(max_iter=15, tol=1e-3, random_state=0, skip_complete=True),
                ),
                ("scale", StandardScaler()),
                ("model", LogisticRegression(max_iter=2000)),
            ]
        ).set_output(transform="pandas")

    def fit(self, data: pd.DataFrame) -> OperativeOutcomeModel:
        known = data[self.feature].notna()
        self.pipeline.fit(data.loc[known, self.pre_features], data.loc[known, self.feature])
        return self

    def probabilities(self, X: pd.DataFrame) -> pd.DataFrame:
        """Columns: every allowed level (0 for a level never seen in training)."""
        p = self.pipeline.predict_proba(X[self.pre_features])
        classes = list(self.pipeline.classes_)
        return pd.DataFrame(
            {lv: p[:, classes.index(lv)] if lv in classes else 0.0 for lv in self.levels},
            index=X.index,
        )


@dataclass
class Candidacy:
    """One patient's candidacy summary (see the module docstring)."""

    chances: list[dict]  # feature, label, probability of the good outcome
    scenarios: list[dict]  # label, weight, prognosis
    overall: Prognosis
    reference: dict | None


def candidacy(
    engine: CoxnetFamily,
    outcome_models: dict,
    patient: pd.DataFrame,
    n_samples: int = 1000,
    seed: int = 0,
) -> Candidacy:
    """Candidacy summary for one patient from pre-operative facts only.

    Post-operative values in ``patient`` are ignored: before surgery they are not known.
    """
    schema = engine.schema
    if len(patient) != 1:
        raise ValueError("candidacy is computed for one patient at a time")
    row = patient[schema.feature_names].iloc[[0]].copy()
    for f in schema.features:
        if f.stage != schema.decision_stage:
            row[f.name] = np.nan
    if not schema.operative_outcomes:
        raise ValueError(
            f"the schema {schema.title!r} declares no outcomes of the operation, so there is "
            f"nothing to weigh {schema.stage_label(schema.decision_stage)}"
        )
    outcomes = [o for o in schema.operative_outcomes if o["feature"] in outcome_models]
    if not outcomes:
        raise ValueError(
            "this bundle has no operative-outcome models (its training data may not show "
            "both outcomes, or it was trained with an older version); retrain it"
        )
    probs = {
        o["feature"]: outcome_models[o["feature"]].probabilities(row).iloc[0] for o in outcomes
    }

    combos = list(itertools.product(*[probs[o["feature"]].index for o in outcomes]))
    X = pd.concat([row] * len(combos), ignore_index=True)
    for j, o in enumerate(outcomes):
        X[o["feature"]] = [float(c[j]) for c in combos]
    progs = engine.predict(X)
    weights = np.array(
        [np.prod([probs[o["feature"]][c[j]] for j, o in enumerate(outcomes)]) for c in combos]
    )
    weights = weights / weights.sum()

    decided = {o["feature"] for o in outcomes}
    unknown = [
        f.name for f in schema.features if pd.isna(row.iloc[0][f.name]) and f.name not in decided
    ]

    def mixture(idx):
        w = weights[idx] / weights[idx].sum()
        point = np.sum([w_k * progs[k].survival for w_k, k in zip(w, idx, strict=True)], axis=0)
        rng = np.random.default_rng(seed)
        picks = rng.choice(len(idx), size=n_samples, p=w)
        samples = np.vstack(
            [progs[idx[k]].samples[rng.integers(len(progs[idx[k]].samples))] for k in picks]
        )
        # one block: the samples mix outcome scenarios and imputation draws at random, so a
        # conditional of this curve would keep their shares equal (no page asks for one)
        return Prognosis.from_samples(engine.grid, point, samples, unknown)

    scenarios = []
    for good_flags in itertools.product([True, False], repeat=len(outcomes)):
        idx = [
            k
            for k, c in enumerate(combos)
            if all((c[j] in o["good"]) == good_flags[j] for j, o in enumerate(outcomes))
        ]
        if not idx or weights[idx].sum() <= 0:
            continue
        label = ", ".join(
            o["label"] if g else f"not: {o['label']}"
            for o, g in zip(outcomes, good_flags, strict=True)
        )
        scenarios.append(
            {
                "label": label,
                "good": list(good_flags),
                "weight": float(weights[idx].sum()),
                "prognosis": mixture(idx),
            }
        )
    chances = [
        {
            "feature": o["feature"],
            "label": o["label"],
            "probability": float(sum(probs[o["feature"]][lv] for lv in o["good"])),
        }
        for o in outcomes
    ]
    overall = mixture(list(range(len(combos))))
    return Candidacy(
        chances=chances,
        scenarios=scenarios,
        overall=overall,
        reference=literature_reference(schema),
    )
