"""The model beside each published group: a typical patient of the group, predicted by the bundle."""

from dataclasses import replace

import numpy as np
import pytest

from model.bundle import load_bundle
from model.engine import Engine
from model.evidence import default_evidence
from model.plausibility import group_predictions, typical_patient


@pytest.fixture(scope="module")
def engine(small_bundle):
    return Engine(load_bundle(small_bundle))


def test_every_group_with_a_definition_gets_a_typical_patient_inside_it(engine):
    preds = group_predictions(engine)
    evidence = default_evidence()
    expected = {(s.id, g.id) for s in evidence.systems if s.assignable for g in s.groups}
    assert {(p.system.id, p.group.id) for p in preds} == expected
    for p in preds:
        answer = next(a for a in evidence.assign(p.patient) if a.system.id == p.system.id)
        assert answer.group == p.group, (p.system.id, p.group.id, p.patient)
        assert p.figures and all(f.group == p.group.id for f in p.figures)


def test_the_typical_patient_is_the_reference_patient_moved_only_where_needed(engine):
    reference = dict(engine.bundle.manifest.reference_patient)
    ranges = engine.bundle.manifest.training_ranges
    evidence = default_evidence()
    milan = evidence.system("milan")
    for group in milan.groups:
        patient = typical_patient(evidence, milan, group, reference, ranges)
        moved = {k for k in reference if patient[k] != reference[k]}
        assert moved <= {"ki67", "pci"}
    # a reference value inside the group is kept; outside it, the middle of the group's range
    low = dict(reference, ki67=5.0, pci=10)
    g1, g2, g3 = milan.groups
    assert typical_patient(evidence, milan, g1, low, ranges)["ki67"] == 5.0
    p3 = typical_patient(evidence, milan, g3, low, ranges)
    assert p3["ki67"] > 9 and p3["pci"] > 17 and float(p3["pci"]).is_integer()
    lo, hi = max(17, ranges["pci"]["min"]), min(39, ranges["pci"]["max"])
    assert abs(p3["pci"] - (lo + hi) / 2) <= 0.5
    # Ki-67 is modelled on the log1p scale: the middle of (9, max] on that scale
    top = min(100, ranges["ki67"]["max"])
    mid = np.expm1((np.log1p(9) + np.log1p(top)) / 2)
    assert p3["ki67"] == pytest.approx(mid, rel=0.01)


def test_the_predictions_are_the_engines_for_the_constructed_patients(engine):
    preds = group_predictions(engine, "coxnet")
    direct = engine.predict(engine.frame([p.patient for p in preds]), "coxnet")
    for p, q in zip(preds, direct, strict=True):
        np.testing.assert_array_equal(p.prognosis.survival, q.survival)
        np.testing.assert_array_equal(p.prognosis.lower, q.lower)


def test_the_predictions_follow_the_engine(engine, monkeypatch):
    real = engine.predict

    def halved(X, model=None, contributions=False):
        progs = real(X, model, contributions)
        return [replace(p, survival=p.survival / 2) for p in progs]

    before = group_predictions(engine)
    monkeypatch.setattr(engine, "predict", halved)
    after = group_predictions(engine)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_allclose(a.prognosis.survival, b.prognosis.survival / 2)


def test_no_evidence_no_rows(engine, monkeypatch):
    import model.plausibility as plaus

    monkeypatch.setattr(plaus, "evidence_for", lambda schema: None)
    assert group_predictions(engine) == []
