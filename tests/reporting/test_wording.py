"""The fixed words are defined once (reporting/wording.py) and every output uses them."""

import json

from reporting import card, wording


def test_the_card_and_the_validation_report_use_the_same_words(small_bundle):
    assert card.METRIC_LABELS is wording.METRIC_LABELS
    assert card.INTENDED_USERS is wording.INTENDED_USERS and card.NOT_FOR is wording.NOT_FOR
    report = json.loads((small_bundle / "report.json").read_text())
    assert report["intended_use"] == wording.INTENDED_USE
    simulated = report["synthetic_training_data"]
    assert (wording.SIMULATED_WARNING in report["limitations"]) == simulated
    html = (small_bundle / "report.html").read_text()
    for label in wording.METRIC_LABELS.values():
        assert label in html
    assert (wording.SIMULATED_WARNING.split(",")[1] in html) == simulated


def test_a_label_for_every_validation_metric():
    from training.bootstrap import SCALAR_METRICS

    assert list(wording.METRIC_LABELS) == list(SCALAR_METRICS)


def test_the_simulated_data_warning_in_every_form():
    assert wording.simulated_warning(lambda s: f"**{s}**").replace("**", "") == (
        wording.SIMULATED_WARNING
    )
    assert wording.SIMULATED_BANNER.startswith("TRAINED ON SIMULATED DATA: this model was")
    assert wording.INTENDED_USE.startswith(
        wording.INTENDED_USE_SHORT.removeprefix("Intended use: ")
    )
