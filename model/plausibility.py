"""The model beside each published group: its prediction for a typical patient of the group.

The training patients are not in a bundle, so the model card cannot say what the model
predicts for the training patients of a published group. What it can say, from the bundle
alone: the model's prediction for a *typical patient in the group*. That patient is the
bundle's reference patient (the training data's typical values) with the group's defining
inputs set inside the group's definition, by the paper's own cut-offs:

- an input whose reference value already lies inside the group keeps it;
- a numeric input is otherwise set to the middle of the group's range, the range cut to
  what the training data covered and taken on the scale the model uses (a ``log1p``
  feature in the middle of its log scale), then rounded to the feature's grain;
- a categorical or level-valued input is otherwise set to the group's first value.

A group whose typical patient the published system would not place in that group (a case
the paper's definition leaves out) is left out. Population-level systems, whose groups
have no definition, have no typical patient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from model.evidence import Condition, Evidence, Figure, Group, System, evidence_for
from model.prognosis import Prognosis
from model.schema import Feature

__all__ = ["GroupPrediction", "group_predictions", "typical_patient"]


@dataclass(frozen=True)
class GroupPrediction:
    """The model's prediction for a typical patient of one published group."""

    system: System
    group: Group
    patient: dict  # every feature: the reference patient with the group's inputs set
    defining: dict  # the group's defining inputs and the values the typical patient has
    prognosis: Prognosis

    @property
    def figures(self) -> tuple[Figure, ...]:
        """What the paper published for this group."""
        return tuple(f for f in self.system.figures if f.group == self.group.id)


def group_predictions(engine, model: str | None = None, evidence: Evidence | None = None):
    """One :class:`GroupPrediction` per group of every published system with group rules.

    ``engine`` is a :class:`model.engine.Engine`; ``evidence`` defaults to the schema's
    own evidence file (none: an empty list).
    """
    evidence = evidence if evidence is not None else evidence_for(engine.schema)
    if evidence is None:
        return []
    bundle = engine.bundle
    reference = dict(bundle.manifest.reference_patient)
    ranges = bundle.manifest.training_ranges or {}
    found = []
    for system in evidence.systems:
        if not system.assignable:
            continue
        for group in system.groups:
            patient = typical_patient(evidence, system, group, reference, ranges)
            if patient is not None:
                found.append((system, group, patient))
    if not found:
        return []
    progs = engine.predict(engine.frame([p for _, _, p in found]), model)
    out = []
    for (system, group, patient), prog in zip(found, progs, strict=True):
        names = [c.feature for alt in group.when for c in alt]
        defining = {n: patient[n] for n in dict.fromkeys(names) if n in patient}
        out.append(GroupPrediction(system, group, patient, defining, prog))
    return out


def typical_patient(
    evidence: Evidence, system: System, group: Group, reference: dict, ranges: dict
) -> dict | None:
    """The reference patient moved inside ``group`` (see the module docstring), or None."""
    schema = evidence.schema
    for alternative in group.when:
        if any(c.feature not in schema.feature_names for c in alternative):
            continue
        patient = dict(reference)
        for c in alternative:
            feature = schema.feature(c.feature)
            value = _inside(c, feature, reference.get(c.feature), ranges.get(c.feature))
            if value is None:
                break
            patient[c.feature] = value
        else:
            answer = next(a for a in evidence.assign(patient) if a.system.id == system.id)
            if answer.group is not None and answer.group.id == group.id:
                return patient
    return None


def _inside(c: Condition, f: Feature, ref, trained: dict | None):
    """A value of ``f`` that meets ``c``: the reference one if it does, else the middle."""
    if ref is not None and not _missing(ref) and c.holds(_as_rule_value(f, ref)):
        return ref
    if c.values is not None:
        return _as_feature_value(f, c.values[0])
    lo, hi = _bounds(c, f, trained)
    if lo is None or hi is None or lo > hi:
        return None
    if f.transform == "log1p" and lo > -1:
        mid = math.expm1((math.log1p(lo) + math.log1p(hi)) / 2)
    else:
        mid = (lo + hi) / 2
    candidates = _grain(f, lo, hi, mid)
    return next((v for v in candidates if c.holds(v)), None)


def _bounds(c: Condition, f: Feature, trained: dict | None):
    """The group's range for ``f``, cut to the training data's range where they overlap."""
    lo = c.min if c.min is not None else c.above
    hi = c.max if c.max is not None else c.below
    lo = f.min if lo is None else lo
    hi = f.max if hi is None else hi
    if trained and "min" in trained and lo is not None and hi is not None:
        cut_lo, cut_hi = max(lo, trained["min"]), min(hi, trained["max"])
        if cut_lo < cut_hi:
            lo, hi = cut_lo, cut_hi
    return lo, hi


def _grain(f: Feature, lo: float, hi: float, mid: float) -> list[float]:
    """Values near ``mid`` in the feature's grain, nearest first (whole numbers, steps)."""
    if f.kind in ("integer", "ordinal", "binary"):
        step = f.step or 1
        first, last = math.ceil(lo / step), math.floor(hi / step)
        values = [k * step for k in range(first, last + 1)]
        return sorted(values, key=lambda v: (abs(v - mid), v))
    rounded = float(f"{mid:.3g}")
    return [rounded, mid] + list(np.linspace(lo, hi, 9)[1:-1])


def _missing(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _as_rule_value(f: Feature, v):
    return str(v) if f.is_text else float(v)


def _as_feature_value(f: Feature, v):
    if f.is_text:
        return str(v)
    return int(v) if f.kind in ("binary", "ordinal", "integer") else float(v)
