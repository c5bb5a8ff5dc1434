"""The bundle's default model is chosen by a proper score, not by discrimination alone."""

import json

from model.bundle import load_bundle
from training.fit import default_model
from training.tuning import TuningResult


def _tuned(c: float, ibs: float | None) -> TuningResult:
    return TuningResult(model="m", params={}, cv_score=c, fold_scores=[c], cv_ibs=ibs)


def test_the_lower_integrated_brier_score_wins_over_the_higher_c():
    # the forest ranks a little better but its curves are worse: the Cox model is chosen
    tuned = {"coxnet": _tuned(0.74, 0.160), "rsf": _tuned(0.75, 0.171)}
    assert default_model(tuned) == "coxnet"
    tuned = {"coxnet": _tuned(0.76, 0.171), "rsf": _tuned(0.74, 0.160)}
    assert default_model(tuned) == "rsf"
    # without a score for every family, the higher C decides (bundles of older versions)
    assert default_model({"coxnet": _tuned(0.74, None), "rsf": _tuned(0.75, 0.1)}) == "rsf"


def test_the_bundle_records_both_scores_and_follows_the_brier_score(small_bundle):
    m = load_bundle(small_bundle).manifest
    ibs = {name: e.details["cv_ibs"] for name, e in m.models.items()}
    assert set(ibs) == {"coxnet", "rsf"} and all(0 < v < 0.25 for v in ibs.values())
    assert m.default_model == min(ibs, key=ibs.get)
    report = json.loads((small_bundle / "report.json").read_text())
    for name, v in ibs.items():
        assert report["cross_validation"]["models"][name]["cv_ibs"] == v
