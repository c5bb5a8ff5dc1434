"""Survival in words and pictures: the same numbers as the survival table, rounded alike."""

import json
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from model import i18n
from model.bundle import load_bundle
from model.engine import Engine
from model.prognosis import Prognosis
from model.timeaxis import LANDMARKS
from reporting.figures import ICON_STYLES, OKABE_ITO, icon_array_figure
from reporting.plain import (
    PEOPLE,
    IconCounts,
    icon_counts,
    icon_years,
    landmark_sentence,
    median_sentence,
    patient_notes,
    percent,
    rarely_alive_note,
    sentences,
)
from reporting.summary import fmt_percent, survival_table

LANDMARK_LABELS = {12: "1 year", 36: "3 years", 60: "5 years"}
ORIGIN = "after surgery"  # the DMPM schema's time origin, in plain words


@pytest.fixture(scope="module")
def engine(small_bundle):
    return Engine(load_bundle(small_bundle))


@pytest.fixture(scope="module")
def patients(engine):
    ref = dict(engine.bundle.manifest.reference_patient)
    worse = dict(ref, ki67=40.0, pci=30, cc=3)
    unknown = dict(ref, ki67=None)
    return [ref, worse, unknown]


def _whole(cell: str) -> int:
    """A table's percentage as the number of 100 people it stands for ("<1 %" is 0)."""
    text = cell.strip().removesuffix(" %")
    return {"<1": 0, ">99": 100}.get(text) if text in ("<1", ">99") else int(text)


def table_numbers(p: Prognosis, schema) -> dict[int, tuple[int, int | None, int | None]]:
    """(estimate, lower, upper) as the table prints them, by landmark month."""
    out = {}
    table = survival_table(p, schema).set_index("Outcome")
    for t in LANDMARKS:
        label = f"Overall survival at {LANDMARK_LABELS[t]} ({t} months)"
        if label not in table.index or table.loc[label, "Estimate"] == "beyond follow-up":
            assert icon_counts(p, t) is None and landmark_sentence(p, schema, t) is None
            continue
        row = table.loc[label]
        est = _whole(row["Estimate"])
        if " to " in row["95 % interval"]:
            lo, hi = (_whole(x) for x in row["95 % interval"].split(" to "))
        else:
            lo = hi = None
        out[t] = (est, lo, hi)
    return out


def test_percent_rounds_as_the_table_does():
    for v in [*np.linspace(0, 1, 20001), 0.005, 0.015, 0.125, 0.685, 0.695]:
        if 0 < v < 1 and percent(v) in (0, 100):
            continue
        assert f"{percent(v)} %" == fmt_percent(v), v


def test_a_chance_that_rounds_to_a_certainty_is_not_written_as_one():
    assert [fmt_percent(v) for v in (0.0, 0.003, 0.005, 0.994, 0.996, 1.0)] == [
        "0 %", "<1 %", "<1 %", "99 %", ">99 %", "100 %",
    ]  # fmt: skip
    with i18n.use("zh-CN"):
        assert fmt_percent(0.003) == "<1%"


def test_icon_counts_equal_the_tables_percentages(engine, patients):
    for p in engine.predict(engine.frame(patients), "coxnet"):
        for t, (est, lo, hi) in table_numbers(p, engine.schema).items():
            c = icon_counts(p, t)
            assert (c.alive, c.lower, c.upper) == (est, lo, hi)
            assert (c.certain, c.uncertain, c.died) == (lo, hi - lo, PEOPLE - hi)
            assert c.certain + c.uncertain + c.died == PEOPLE


def test_without_a_band_nobody_is_uncertain(engine, patients):
    p = engine.predict(engine.frame(patients[:1]), "rsf")[0]
    for t, (est, lo, _) in table_numbers(p, engine.schema).items():
        c = icon_counts(p, t)
        assert lo is None and (c.certain, c.uncertain, c.died) == (est, 0, PEOPLE - est)
        s = landmark_sentence(p, engine.schema, t)
        assert f"about {est} are alive" in s and "uncertainty" not in s


def test_sentences_carry_the_tables_numbers(engine, patients):
    schema = engine.schema
    for p in engine.predict(engine.frame(patients), "coxnet"):
        for t, (est, lo, hi) in table_numbers(p, schema).items():
            s = landmark_sentence(p, schema, t)
            assert s == (
                f"Of 100 patients like this, about {est} are alive {LANDMARK_LABELS[t]} "
                f"{ORIGIN}; given the uncertainty, between {lo} and {hi}."
            )
        table = survival_table(p, schema).set_index("Outcome")
        med = table.loc["Median overall survival (months)"]
        m = median_sentence(p, schema)
        if med["Estimate"].startswith("not reached"):
            assert "not reached" in m and f"{p.grid[-1]:g} months" in m
        else:
            assert f"{med['Estimate']} months" in m
            lo, hi = med["95 % interval"].split(" to ")
            assert f"between {lo} months and " in m
            assert (f"{hi} months" if not hi.startswith(">") else f"more than {hi[2:]} months") in m
        assert sentences(p, schema) == [
            *(landmark_sentence(p, schema, t) for t in table_numbers(p, schema)),
            m,
        ]


def test_the_patients_sentences_say_the_same_times_without_median_or_follow_up(engine, patients):
    from dataclasses import replace

    schema = engine.schema
    for p in engine.predict(engine.frame(patients), "coxnet"):
        # a patient whose curve stays above one half: the median is not reached
        high = replace(p, survival=np.maximum(p.survival, 0.6), lower=np.maximum(p.lower, 0.55))
        for q in (p, high):
            clinician, patient = sentences(q, schema), sentences(q, schema, for_patient=True)
            # the landmarks are said alike, to the patient of patients like them
            assert [s.replace("like you", "like this") for s in patient[:-1]] == clinician[:-1]
            assert all("like you" in s for s in patient) and not any(
                "like you" in s for s in clinician
            )
            assert "median" in clinician[-1]
            assert "median" not in patient[-1] and "follow-up" not in patient[-1], patient[-1]
            # the same times and the same uncertainty, in the same order
            times = re.findall(r"[\d.]+ months", clinician[-1])
            assert times and re.findall(r"[\d.]+ months", patient[-1]) == times
            assert ("uncertainty" in clinician[-1]) == ("uncertainty" in patient[-1])


def test_the_note_on_uncertainty_explains_the_patients_own_range(engine, patients):
    schema = engine.schema
    for p in engine.predict(engine.frame(patients), "coxnet"):
        est, lo, hi = table_numbers(p, schema)[12]  # the first landmark, as the sentences
        notes = [n for n in patient_notes(schema, p) if n.startswith("No model is exact")]
        assert notes == [
            f'No model is exact. "Between {lo} and {hi}" means that the true number for '
            "patients like you is very likely somewhere in that range."
        ]


def test_a_wide_range_is_said_with_the_tables_numbers(engine, patients):
    """A 95 % range at the risk horizon (3 years) spanning 40 of 100 or more is called wide,
    with the numbers the table gives; a narrower one is not."""
    from dataclasses import replace

    from reporting.plain import WIDE_RANGE, wide_range_note

    schema = engine.schema
    p = engine.predict(engine.frame(patients[:1]), "coxnet")[0]
    est, _lo, _hi = table_numbers(p, schema)[36]
    s = p.survival
    for half, wide in ((0.25, True), (0.15, False)):
        q = replace(p, lower=np.clip(s - half, 0, 1), upper=np.clip(s + half, 0, 1))
        _e, lo, hi = table_numbers(q, schema)[36]
        assert (hi - lo >= WIDE_RANGE) == wide  # the test's own bands straddle the limit
        note = wide_range_note(q, schema, trained_on=110)
        if not wide:
            assert note is None and not any("is wide" in n for n in patient_notes(schema, q))
            continue
        assert note.startswith(f"The range 3 years after surgery is wide, {lo} to {hi} of 100:")
        assert note.endswith("The model learned from 110 patients.")
        said = [n for n in patient_notes(schema, q, trained_on=110) if "is wide" in n]
        assert said and "patients like you" in said[0] and f"{lo} to {hi}" in said[0]
    assert wide_range_note(replace(p, lower=s * np.nan, upper=s * np.nan), schema, 110) is None


def test_conditional_sentences_follow_the_conditional_table(engine, patients):
    schema = engine.schema
    p = engine.predict(engine.frame(patients[:1]), "coxnet")[0].conditional(24)
    shown = sentences(p, schema, alive_at=24)
    # the 1-year landmark is before the condition, so neither the table nor the words have it
    numbers = table_numbers(p, schema)
    assert len(shown) == len(numbers) + 1 and 12 not in numbers
    est, lo, hi = numbers[36]
    assert shown[0] == (
        f"Of 100 patients like this who are alive 2 years {ORIGIN}, about {est} are "
        f"alive 3 years {ORIGIN}; given the uncertainty, between {lo} and {hi}."
    )
    assert shown[-1].startswith(f"Of patients like this who are alive 2 years {ORIGIN}")
    # given alive at 2 years, 100 people alive at 2 years is not a picture either
    assert icon_counts(p, 12) is None and icon_years(p, schema)[0] == 3


def test_icon_array_draws_the_counts_with_shapes_not_colour_alone(engine, patients):
    p = engine.predict(engine.frame(patients[:1]), "coxnet")[0]
    c = icon_counts(p, 36)
    fig = go.Figure(icon_array_figure(c, engine.schema).to_dict())  # validates every property
    alive, uncertain, died = fig.data
    assert [len(t.x) for t in fig.data] == [c.certain, c.uncertain, c.died]
    # the band's ends, said as such: the sentence above gives the estimate ("about 20 ...
    # between 3 and 37"), and a bare "3 alive" under it read as the patient's figure
    assert c.has_band and c.certain < c.alive
    assert (alive.name, died.name) == (f"at least {c.certain} alive", f"at least {c.died} died")
    assert uncertain.name == f"{c.uncertain} may be either"
    # without a band the icons are the estimate
    plain = IconCounts(months=36, alive=c.alive, lower=None, upper=None)
    names = [t.name for t in go.Figure(icon_array_figure(plain, engine.schema).to_dict()).data]
    assert names == [f"{c.alive} alive", "", f"{PEOPLE - c.alive} died"]
    shown = [
        t.showlegend for t in go.Figure(icon_array_figure(plain, engine.schema).to_dict()).data
    ]
    assert shown == [True, False, True]
    symbols = {t.marker.symbol for t in fig.data}
    assert len(symbols) == 3  # legible in black and white
    assert {ICON_STYLES[k]["color"] for k in ("alive", "uncertain")} <= set(OKABE_ITO)
    # every cell of the 10 x 10 grid holds exactly one icon
    cells = {(x, y) for t in fig.data for x, y in zip(t.x, t.y, strict=True)}
    assert len(cells) == PEOPLE
    json.dumps(fig.to_plotly_json(), default=str)


def test_icon_years_stop_at_the_follow_up(engine, patients):
    p = engine.predict(engine.frame(patients[:1]), "coxnet")[0]
    end = p.grid[-1]
    assert icon_years(p, engine.schema) == [y for y in range(1, 6) if 12 * y <= end]


def test_the_patients_notes_set_each_warning_apart(engine):
    schema = engine.schema
    p = engine.predict(engine.frame([engine.bundle.manifest.reference_patient]))[0]
    (said,) = [n for n in patient_notes(schema, p, warnings=["a is high", "b is low"])
               if "less reliable" in n]  # fmt: skip
    assert said.endswith("less reliable: a is high; b is low.")
    with i18n.use("zh-CN"):
        (zh,) = [n for n in patient_notes(schema.localized(), p, warnings=["甲", "乙"])
                 if "甲" in n]  # fmt: skip
    assert zh.endswith("甲；乙。")


def test_given_alive_at_a_landmark_the_landmark_is_not_a_row(engine, patients):
    """Given alive at 1 year, "alive at 1 year: 100 %" is no estimate: not in the table,
    the words or the pictures."""
    schema = engine.schema
    p = engine.predict(engine.frame(patients[:1]), "coxnet")[0].conditional(12)
    numbers = table_numbers(p, schema)
    assert 12 not in numbers and 36 in numbers
    shown = sentences(p, schema, alive_at=12)
    assert len(shown) == len(numbers) + 1 and not any(
        re.search(r"about \d+ (is|are) alive 1 year", s) for s in shown
    )
    assert icon_counts(p, 12) is None and 1 not in icon_years(p, schema)


def test_numbers_given_alive_at_an_unlikely_time_say_they_rest_on_almost_no_one(engine):
    """Below a 1 % chance of being alive at the time given, the page, the PDF and the
    patient's notes say so; not above it."""
    schema = engine.schema
    grid = engine.bundle.grid
    steep = Prognosis(grid, np.exp(-grid / 4), np.exp(-grid / 3.5), np.exp(-grid / 4.5), [])
    rare = steep.conditional(20.0)  # exp(-5) = 0.0067
    note = rarely_alive_note(rare, schema)
    assert note.startswith("Conditional survival: the model gives this patient under a 1 %")
    assert "alive at 20 months" in note
    said = rarely_alive_note(rare, schema, for_patient=True)
    assert said.startswith("Very few patients like you are still alive 20 months after surgery")
    assert said in patient_notes(schema, rare)
    common = steep.conditional(16.0)  # exp(-4) = 0.018
    assert rarely_alive_note(common, schema) is None
    assert not any("Very few" in n for n in patient_notes(schema, common))


def test_a_median_not_reached_keeps_how_short_it_could_be(engine, patients):
    """The curve stays above one half but its band's lower edge crosses it: the median's
    interval is "L to > end" in the table, and the words say L; without that crossing, no
    interval. It had read "not reached" with no interval, as if the median were sure to be
    beyond the follow-up."""
    from dataclasses import replace

    schema = engine.schema
    p = engine.predict(engine.frame(patients[1:2]), "coxnet")[0]  # a poor prognosis
    high = replace(p, survival=np.maximum(p.survival, 0.6), upper=np.maximum(p.upper, 0.65))
    _, lower, _ = high.median
    assert high.median[0] is None and lower is not None
    end = f"{p.grid[-1]:g}"
    row = survival_table(high, schema).set_index("Outcome").loc["Median overall survival (months)"]
    assert row["Estimate"] == f"not reached (> {end})"
    assert row["95 % interval"] == f"{lower:.1f} to > {end}"
    said = median_sentence(high, schema)
    assert said.endswith(
        f"not reached; given the uncertainty, it could be as short as {lower:.1f} months."
    )
    told = median_sentence(high, schema, for_patient=True)
    assert f"only half are still alive {lower:.1f} months {ORIGIN}" in told
    sure = replace(high, lower=np.maximum(p.lower, 0.55))
    row = survival_table(sure, schema).set_index("Outcome").loc["Median overall survival (months)"]
    assert row["95 % interval"] == "–" and "uncertainty" not in median_sentence(sure, schema)
