"""Which models may serve clinical predictions: the contract the page, the PDF and the CLI use.

The forest is offered only as a comparison (validation report): its probabilities are not
calibrated where a centre retrains and nothing measures a band for it. The engine says which
models are clinical, its default is always one of them, and asking a comparison model for a
clinical prediction is refused naming the allowed ones.
"""

from dataclasses import replace

import pytest

from model.bundle import load_bundle
from model.engine import Engine
from model.families import FAMILIES, ModelChoiceError, clinical_models
from model.manifest import Manifest, ManifestError


@pytest.fixture(scope="module")
def bundle(small_bundle):
    return load_bundle(small_bundle)


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_is_clinical_with_a_band_or_says_why_not(name):
    f = FAMILIES[name]
    if f.clinical:
        assert f.has_band and not f.comparison_note
    else:
        assert "not for clinical use" in f.comparison_note


def test_the_engine_names_its_clinical_and_comparison_models(bundle):
    e = Engine(bundle)
    assert e.clinical_models == ["coxnet"] and e.comparison_models == ["rsf"]
    assert e.default_model == "coxnet" == bundle.manifest.default_model
    assert e.clinical() == "coxnet" == e.clinical("coxnet")
    assert e.family().name == "coxnet"
    with pytest.raises(ModelChoiceError, match=r"'rsf' cannot serve .*choose from: coxnet$"):
        e.clinical("rsf")
    with pytest.raises(ModelChoiceError, match=r"'gbm' is not in bundle .*choose from: coxnet$"):
        e.clinical("gbm")
    # comparison predictions stay available to the validation and evaluation code
    assert e.family("rsf").name == "rsf"


def test_an_older_bundle_that_defaults_to_the_forest_is_served_by_its_cox_model(bundle):
    old = replace(
        bundle, manifest=bundle.manifest.replace(default_model="rsf", clinical_models=None)
    )
    e = Engine(old)
    assert e.clinical_models == ["coxnet"] and e.default_model == "coxnet"
    assert e.family().name == "coxnet"


def test_a_forest_only_bundle_has_no_clinical_model(bundle):
    only = replace(
        bundle,
        models={"rsf": bundle.models["rsf"]},
        artifacts={},
        manifest=bundle.manifest.replace(default_model="rsf", clinical_models=()),
    )
    e = Engine(only)
    assert e.clinical_models == [] and e.default_model is None
    with pytest.raises(ModelChoiceError, match="no model for clinical predictions"):
        e.clinical()


def test_the_manifest_records_clinical_models_and_checks_them(bundle):
    doc = bundle.manifest.to_dict()
    assert doc["clinical_models"] == ["coxnet"]
    assert Manifest.from_dict(doc).clinical_models == ("coxnet",)
    with pytest.raises(ManifestError, match="not one of its clinical models"):
        Manifest.from_dict({**doc, "default_model": "rsf"})
    with pytest.raises(ManifestError, match="not among its models"):
        Manifest.from_dict({**doc, "clinical_models": ["coxnet", "gbm"]})
    older = {k: v for k, v in doc.items() if k != "clinical_models"}
    assert Manifest.from_dict(older).clinical_models is None
    assert clinical_models(["rsf", "coxnet", "gbm"]) == ["coxnet"]
