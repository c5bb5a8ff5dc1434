"""The bundle's default model is chosen by a proper score, not by discrimination alone."""

import json

from model.bundle import load_bundle
from training.fit import default_model
from training.tuning import TuningResult


def _tuned(c: float, ibs: float | None) -> TuningResult:
    return TuningResult(model="m", params={}, cv_score=c, fold_scores=[c], cv_ibs=ibs)


def test_the_default_is_a_clinical_model_whatever_the_forests_scores():
    # a lower Brier score or a higher C does not make the forest's probabilities calibrated
    for cox, rsf in (
        (_tuned(0.74, 0.160), _tuned(0.75, 0.171)),
        (_tuned(0.7, 0.2), _tuned(0.8, 0.1)),
    ):
        assert default_model({"coxnet": cox, "rsf": rsf}) == "coxnet"
        assert default_model({"coxnet": _tuned(0.7, None), "rsf": rsf}) == "coxnet"
    # with nothing clinical trained, the only model is the bundle's default (not served)
    assert default_model({"rsf": _tuned(0.75, 0.1)}) == "rsf"


def test_among_clinical_families_the_lower_brier_score_wins(monkeypatch):
    import model.families as fam

    monkeypatch.setattr(fam.ForestFamily, "clinical", True)
    tuned = {"coxnet": _tuned(0.76, 0.171), "rsf": _tuned(0.74, 0.160)}
    assert default_model(tuned) == "rsf"
    # without a score for every family, the higher C decides (bundles of older versions)
    assert default_model({"coxnet": _tuned(0.76, None), "rsf": _tuned(0.75, 0.1)}) == "coxnet"


def test_the_bundle_records_both_scores_and_its_clinical_default(small_bundle):
    m = load_bundle(small_bundle).manifest
    ibs = {name: e.details["cv_ibs"] for name, e in m.models.items()}
    assert set(ibs) == {"coxnet", "rsf"} and all(0 < v < 0.25 for v in ibs.values())
    assert m.clinical_models == ("coxnet",) and m.default_model == "coxnet"
    report = json.loads((small_bundle / "report.json").read_text())
    for name, v in ibs.items():
        assert report["cross_validation"]["models"][name]["cv_ibs"] == v
