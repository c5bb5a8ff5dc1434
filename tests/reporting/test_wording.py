"""The fixed words are defined once (reporting/wording.py) and every output uses them."""

import json

from model.words import Words
from reporting import card, wording


def test_the_card_and_the_validation_report_use_the_same_words(small_bundle, schema):
    assert card.METRIC_LABELS is wording.METRIC_LABELS
    report = json.loads((small_bundle / "report.json").read_text())
    assert report["intended_use"] == wording.intended_use(schema.words)
    assert report["intended_use"].startswith(schema.words.intended_use)
    simulated = report["synthetic_training_data"]
    assert (wording.SIMULATED_WARNING in report["limitations"]) == simulated
    # the Cox band's measured limit, wherever a Cox model (with its band) was fitted
    cox = "coxnet" in report["clinical_models"]
    assert cox and wording.BAND_LIMITATION in report["limitations"]
    html = (small_bundle / "report.html").read_text()
    for label in wording.METRIC_LABELS.values():
        assert label in html
    assert (wording.SIMULATED_WARNING.split(",")[1] in html) == simulated
    assert "80-96 % of true survival probabilities" in html


def test_a_label_for_every_validation_metric():
    from training.bootstrap import SCALAR_METRICS

    assert list(wording.METRIC_LABELS) == list(SCALAR_METRICS)


def test_the_simulated_data_warning_in_every_form():
    assert wording.simulated_warning(lambda s: f"**{s}**").replace("**", "") == (
        wording.SIMULATED_WARNING
    )
    assert wording.SIMULATED_BANNER.startswith("TRAINED ON SIMULATED DATA: this model was")


def test_the_intended_use_is_the_schemas_in_every_form(schema):
    words = schema.words
    assert wording.intended_use(words).startswith(
        wording.intended_use_short(words).removeprefix("Intended use: ")
    )
    assert all(x in wording.intended_use(words) for x in ("CRS+HIPEC", "mesothelioma"))
    assert set(words.not_for) < set(wording.not_for(words, synthetic=False))
    # only a model trained on simulated patients is ruled out for any clinical use
    simulated = "Any clinical use while it is trained on simulated data."
    assert simulated in wording.not_for(words, synthetic=True)
    assert simulated not in wording.not_for(words, synthetic=False)
    # a schema without words of its own gets neutral ones, built from what it declares
    plain = Words(endpoint="recurrence-free survival", origin="from surgery")
    assert wording.intended_use_short(plain) == (
        "Intended use: Estimates recurrence-free survival from surgery for patients like "
        "those it was trained on. It supports and does not replace clinical judgement."
    )
