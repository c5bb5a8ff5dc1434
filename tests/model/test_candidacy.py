"""Candidacy before surgery, from pre-operative facts only."""

import numpy as np
import pytest

from model.bundle import load_bundle
from model.candidacy import candidacy, literature_reference
from model.families import CoxnetFamily
from model.validation import validate_patient

PRE = {
    "age": 58,
    "sex": "F",
    "kps": 90,
    "pathology": "epithelioid",
    "ki67": 8,
    "pci": 14,
    "ca125": 30,
    "cea": 2,
    "ca199": 10,
}


@pytest.fixture(scope="module")
def setup(small_bundle):
    b = load_bundle(small_bundle)
    return CoxnetFamily(b), b.artifacts["operative_outcomes"]


def _cand(setup, schema, **changes):
    engine, models = setup
    return candidacy(engine, models, validate_patient({**PRE, **changes}, schema).data)


def test_chances_weights_and_mixture(setup, schema):
    c = _cand(setup, schema)
    assert [x["feature"] for x in c.chances] == ["cc", "sae"]
    assert all(0 < x["probability"] < 1 for x in c.chances)
    assert len(c.scenarios) == 4
    assert sum(s["weight"] for s in c.scenarios) == pytest.approx(1.0)
    mix = sum(s["weight"] * s["prognosis"].survival for s in c.scenarios)
    assert np.allclose(mix, c.overall.survival, atol=1e-12)
    p_cc = c.chances[0]["probability"]
    good_cc = sum(s["weight"] for s in c.scenarios if s["good"][0])
    assert good_cc == pytest.approx(p_cc)
    best = next(s for s in c.scenarios if s["good"] == [True, True])
    worst = next(s for s in c.scenarios if s["good"] == [False, False])
    assert best["prognosis"].at(36)[0] > worst["prognosis"].at(36)[0]
    assert (c.overall.lower <= c.overall.survival + 1e-12).all()


def test_post_operative_inputs_are_ignored(setup, schema):
    a = _cand(setup, schema)
    b = _cand(setup, schema, cc=3, sae=1, vascular_emboli=1)
    assert np.allclose(a.overall.survival, b.overall.survival)
    assert a.chances == b.chances


def test_more_disease_lowers_the_chance_of_complete_cytoreduction(setup, schema):
    # in the simulated world CC rises steeply with PCI
    low = _cand(setup, schema, pci=8).chances[0]["probability"]
    high = _cand(setup, schema, pci=35).chances[0]["probability"]
    assert low > high + 0.2


def test_literature_reference_is_labelled_as_not_a_model_output(setup, schema):
    ref = _cand(setup, schema).reference
    assert ref == literature_reference(schema)
    assert "not an output of this model" in ref["note"]


def test_literature_reference_is_the_evidence_files_chemotherapy_range(schema):
    from dataclasses import replace

    from model.evidence import default_evidence

    figure = default_evidence().system("chemotherapy").figures[0]
    ref = literature_reference(schema)
    assert ref["median_months"] == list(figure.value) == [10, 17]
    assert ref["label"] == "Systemic chemotherapy, not operated"
    assert figure.note[1:] in ref["source"] and figure.source.text in ref["source"]
    # a schema without published evidence has no reference strip
    assert literature_reference(replace(schema, name="centre_without_evidence")) is None
