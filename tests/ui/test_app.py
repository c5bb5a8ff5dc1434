"""Every page driven through Streamlit's AppTest: the numbers shown are what model/ returns."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from model.bundle import MANIFEST, sha256_file
from model.engine import Engine
from model.registry import Registry
from reporting.card import c_index_text
from reporting.scenarios import starting_scenarios
from reporting.summary import (
    candidacy_scenarios,
    fmt_percent,
    outcome_chance,
    scenario_table,
    survival_table,
)
from tests.conftest import ROOT

st_testing = pytest.importorskip("streamlit.testing.v1")
APP = str(ROOT / "app.py")
TIMEOUT = 60  # first run imports scikit-learn and loads the bundle; generous for slow CI


@pytest.fixture(scope="module")
def engine(app_registry):
    return Engine(Registry(app_registry).load())


@pytest.fixture
def at(app_registry, monkeypatch):
    monkeypatch.setenv("HIPEC_MODELS", str(app_registry))
    app = st_testing.AppTest.from_file(APP, default_timeout=TIMEOUT)
    return app.run()


def frame_with(at, column: str) -> pd.DataFrame | None:
    """The shown dataframe that has this column (AppTest does not expose dataframe keys)."""
    for d in at.dataframe:
        if column in d.value.columns:
            return d.value
    return None


def shown_table(at, i=0) -> pd.DataFrame:
    return at.table[i].value.reset_index()


def expected(engine, values, model="coxnet", alive_at=0):
    p = engine.predict(engine.frame([values]), model, contributions=True)[0]
    return survival_table(p.conditional(alive_at) if alive_at else p, engine.schema), p


def reference(engine) -> dict:
    return dict(engine.bundle.manifest.reference_patient)


def assert_same(shown: pd.DataFrame, want: pd.DataFrame):
    assert shown["Outcome"].tolist() == want["Outcome"].tolist()
    assert shown["Estimate"].tolist() == want["Estimate"].tolist()
    assert shown["95 % interval"].tolist() == want["95 % interval"].tolist()


def test_calculator_shows_the_engines_numbers_and_follows_the_inputs(at, engine):
    assert not at.exception
    assert any("simulated patients" in w.value for w in at.warning)
    values = reference(engine)
    assert_same(shown_table(at), expected(engine, values)[0])

    # a worse patient: numbers change and still equal the engine's
    at.text_input(key="patient.ki67").input(str(40.0))
    at.text_input(key="patient.pci").input(str(30))
    at.radio(key="patient.cc").set_value(3)
    at.run()
    assert not at.exception
    values.update(ki67=40.0, pci=30, cc=3)
    want, p = expected(engine, values)
    got = shown_table(at)
    assert_same(got, want)
    assert got["Estimate"].tolist() != expected(engine, reference(engine))[0]["Estimate"].tolist()

    # the contributions table lists every factor and sums to the log hazard ratio
    contrib = frame_with(at, "Hazard ratio")
    assert set(contrib["Factor"]) >= {f.label for f in engine.schema.features}


def test_the_hazard_ratio_is_in_view_beside_its_factor(at):
    """Factor and hazard ratio first, and narrow enough together for a phone's 390 px (the
    grid scrolls sideways to the rest); the factors had taken the width, the ratio cut."""
    grid = next(d for d in at.dataframe if "Hazard ratio" in d.value.columns)
    assert list(grid.value.columns[:2]) == ["Factor", "Hazard ratio"]
    widths = json.loads(grid.proto.columns)
    assert widths["Factor"]["width"] + widths["Hazard ratio"]["width"] <= 320
    assert widths["Hazard ratio"]["width"] >= 100  # its heading whole
    # scrolled sideways to the patient's values, each row still names its factor
    assert widths["Factor"].get("pinned") is True


def test_calculator_unknown_input_is_averaged_and_named(at, engine):
    at.checkbox(key="patient.ki67.unknown").check().run()
    assert not at.exception
    values = reference(engine)
    values["ki67"] = None
    assert_same(shown_table(at), expected(engine, values)[0])
    assert any("Ki-67" in i.value for i in at.info)


def test_a_wide_range_is_said_beside_the_table(at, engine):
    """The note on a wide range is the page's reading of the numbers it shows: said for a
    patient whose 3-year range spans 40 of 100 or more, with those numbers, and not for one
    whose range is narrower."""
    from reporting.plain import wide_range_note

    rows = engine.bundle.manifest.fitted_on
    assert rows == engine.bundle.manifest.training_data.rows  # fitted here, not recalibrated
    seen = set()
    ref = reference(engine)
    # a patient of low risk, far from most training patients (a wide range on this small
    # fixture of 4 refits), and the typical training patient (a narrower one)
    for pci, ki67 in ((5, 2.0), (ref["pci"], ref["ki67"])):
        at.text_input(key="patient.pci").input(str(pci))
        at.text_input(key="patient.ki67").input(str(ki67))
        values = dict(ref, pci=pci, ki67=ki67)
        at.run()
        assert not at.exception
        p = engine.predict(engine.frame([values]))[0]
        note = wide_range_note(p, engine.schema, rows)
        infos = [i.value for i in at.info if "is wide" in i.value]
        assert infos == ([note] if note else [])
        seen.add(note is None)
    assert seen == {True, False}, "the two patients should fall on both sides of the limit"


def test_a_choice_set_to_unknown_is_averaged_and_named(at, engine):
    """A yes/no or list set to "unknown" is predicted as unknown (the option is a word the
    form keeps, not None, which Streamlit draws as nothing chosen)."""
    at.radio(key="patient.lymph_nodes").set_value("<unknown>").run()
    assert not at.exception
    assert any(i.value.startswith("Unknown: Lymph-node metastasis.") for i in at.info)
    values = dict(reference(engine), lymph_nodes=None)
    assert_same(shown_table(at), expected(engine, values)[0])


def test_calculator_conditional_survival(at, engine):
    at.text_input(key="alive_at").input(str(12)).run()
    assert not at.exception
    assert_same(shown_table(at), expected(engine, reference(engine), alive_at=12)[0])
    # a time as entered, not cut to a whole number in the browser
    at.text_input(key="alive_at").input(str(12.5)).run()
    assert_same(shown_table(at), expected(engine, reference(engine), alive_at=12.5)[0])
    # beyond the range: said on the page, which shows the numbers from the start instead
    # of keeping those of the time entered before
    for wrong in (-1, 9999):
        at.text_input(key="alive_at").input(str(wrong)).run()
        assert not at.exception
        errors = " ".join(e.value for e in at.error)
        assert f"Conditional survival: {wrong} is outside 0 to " in errors and "months" in errors
        assert_same(shown_table(at), expected(engine, reference(engine))[0])


def test_conditional_survival_where_the_patient_is_hardly_ever_alive_then_is_warned(at, engine):
    """Given alive at a time the model gives under 1 %, the numbers are a ratio of two
    near-zero chances (a flat stretch read 100 % at 5 years): shown, with a warning."""
    worst = {"patient.pathology": "sarcomatoid", "patient.cc": 3, "patient.sae": 1,
             "patient.vascular_emboli": 1, "patient.lymph_nodes": 1}  # fmt: skip
    for key, value in worst.items():
        widget = at.selectbox(key=key) if key == "patient.pathology" else at.radio(key=key)
        widget.set_value(value)
    at.text_input(key="patient.pci").input(str(39))
    at.text_input(key="patient.ki67").input(str(60)).run()
    values = dict(reference(engine), pathology="sarcomatoid", cc=3, sae=1, vascular_emboli=1,
                  lymph_nodes=1, pci=39, ki67=60.0)  # fmt: skip
    p = expected(engine, values)[1]
    late = next(t for t in p.grid if 0 < p.at(t)[0] < 0.01 and t < p.conditional_until)
    early = next(t for t in p.grid if p.at(t)[0] > 0.05 and t > 0)
    at.text_input(key="alive_at").input(str(float(late))).run()
    assert not at.exception
    assert any("under a 1 % chance of being alive" in w.value for w in at.warning)
    assert_same(shown_table(at), expected(engine, values, alive_at=float(late))[0])
    at.text_input(key="alive_at").input(str(float(early))).run()
    assert not any("under a 1 % chance" in w.value for w in at.warning)


def test_a_whole_number_input_keeps_a_decimal_and_refuses_it(at):
    """The browser's whole-number box had cut 55.9 to 55 unsaid; the value is checked."""
    at.text_input(key="patient.pci").input(str(20.5)).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Peritoneal cancer index" in errors and "not a whole number" in errors


@pytest.mark.parametrize(
    ("typed", "said"),
    [("55.5", "is not a whole number"), ("105", "is outside the allowed range"),
     ("55", "is not a multiple of 10")],
)  # fmt: skip
def test_a_wrong_value_is_said_once_under_its_box_and_once_in_the_summary(at, typed, said):
    """A score in steps of 10: 55.5 is neither whole nor on a step, 105 neither in range nor
    on a step; each message says everything allowed, so one of them is said, the first."""
    at.text_input(key="patient.kps").input(typed).run()
    assert not at.exception
    kps = [e.value for e in at.error if "Karnofsky" in e.value]
    assert len(kps) == 2 and kps[0] == kps[1]
    assert f"{typed} {said}: must be a whole number from 0 to 100" in kps[0]
    assert len(at.table) == 0


def test_calculator_off_step_value_is_refused_with_field_and_range(at):
    at.text_input(key="patient.kps").input(str(75)).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "Karnofsky" in errors and "steps of 10" in errors
    assert len(at.table) == 0  # no prediction from bad input


@pytest.mark.parametrize(("key", "value", "words"), [("age", 101, "Age"), ("pci", -1, "PCI")])
def test_calculator_value_out_of_range_is_refused_with_field_and_range(at, key, value, words):
    at.text_input(key=f"patient.{key}").input(str(value)).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert words in errors
    assert len(at.table) == 0  # the previous patient's numbers are not left on screen


def innermost_column_of(at, key: str):
    """The form's column holding the input ``key`` (the page's column holds it too)."""
    return [c for c in at.columns if any(w.key == key for w in c.text_input)][-1]


def drawn_after(column, key: str) -> list:
    """The elements of ``column`` after the input ``key``, in their order on the page."""
    children = list(column.children.values())
    at_key = next(i for i, c in enumerate(children) if getattr(c, "key", None) == key)
    return children[at_key + 1 :]


def test_an_emptied_number_box_stays_empty_and_is_said_under_it(at):
    """An emptied box is neither put back to the typical patient's value nor taken as
    unknown: it is said, under the box and in the summary, with what to do, and holds
    back the prediction."""
    at.text_input(key="patient.age").input(str(70.0)).run()
    at.text_input(key="patient.age").input("").run()
    assert not at.exception
    assert at.text_input(key="patient.age").value == ""
    said = (
        "**Age at surgery**: the box is empty: enter a number from 18 to 100 years, or tick "
        "'Age at surgery unknown' if it is not known."
    )
    assert [e.value for e in at.error] == [said, said]  # under the box, and the summary
    assert drawn_after(innermost_column_of(at, "patient.age"), "patient.age")[0].value == said
    assert len(at.table) == 0 and not at.get("download_button")
    assert not any("Unknown:" in i.value for i in at.info)
    # a value again: the prediction is back
    at.text_input(key="patient.age").input(str(70.0)).run()
    assert not at.error and len(at.table) == 1


def test_a_number_box_shows_the_value_used(at, engine):
    """What a box shows is the value the model is given, written as it is held: the
    typical patient's values as they are (no 27.45 shown as 27.4, no 55 as 55.0), and what
    is typed as it was typed."""
    ref = reference(engine)
    for box in at.text_input:
        name = box.key.removeprefix("patient.")
        if box.key.startswith("patient.") and ref.get(name) is not None:
            assert float(box.value) == ref[name] and not box.value.endswith(".0"), box.key
    at.text_input(key="patient.ki67").input("9.96")
    at.text_input(key="patient.ca125").input("27.45").run()
    assert not at.exception
    assert at.text_input(key="patient.ki67").value == "9.96"
    want = expected(engine, dict(ref, ki67=9.96, ca125=27.45))[0]
    assert_same(shown_table(at), want)


def test_a_decimal_comma_is_read_as_the_point_and_an_ambiguous_comma_is_refused(at, engine):
    """The browser's number box dropped a typed decimal comma: CEA "2,5" became 25, a value
    in range, unsaid. A comma before three digits could be either, so it is refused with
    both readings; words are refused, not read as unknown."""
    at.text_input(key="patient.cea").input("2,5").run()
    assert not at.exception and not at.error
    assert_same(shown_table(at), expected(engine, dict(reference(engine), cea=2.5))[0])
    at.text_input(key="patient.ca125").input("1,250").run()
    errors = " ".join(e.value for e in at.error)
    assert "'1,250' is not a number" in errors and "write 1250 or 1.250" in errors
    assert "CA125" in errors and len(at.table) == 0
    at.text_input(key="patient.ca125").input("n/a").run()
    errors = " ".join(e.value for e in at.error)
    assert "'n/a' is not a number" in errors and "tick 'CA125 before surgery unknown'" in errors
    assert len(at.table) == 0
    at.text_input(key="patient.ca125").input("30").run()
    at.text_input(key="alive_at").input("12,5").run()  # the conditional box reads one too
    want = expected(engine, dict(reference(engine), cea=2.5, ca125=30.0), alive_at=12.5)[0]
    assert_same(shown_table(at), want)
    at.text_input(key="alive_at").input("a year").run()
    assert any("'a year' is not a number of months" in e.value for e in at.error)
    assert_same(shown_table(at), expected(engine, dict(reference(engine), cea=2.5, ca125=30.0))[0])


def test_a_refused_value_is_said_under_its_field_and_in_the_summary(at):
    """On a phone the summary comes after the whole form: the field itself says it too."""
    at.text_input(key="patient.age").input(str(120.0)).run()
    assert not at.exception
    said = [e.value for e in at.error]
    assert len(said) == 2 and said[0] == said[1]
    assert "Age at surgery" in said[0] and "from 18 to 100 years" in said[0]
    under = drawn_after(innermost_column_of(at, "patient.age"), "patient.age")[0]
    assert under.value == said[0]


def test_the_forest_is_a_comparison_on_the_model_card_only(at, engine):
    # the page offers the clinical models; the forest is not calibrated and has no band
    assert at.radio(key=f"model.{engine.bundle.version_id}").options == [
        "Penalised Cox (Coxnet) (default)"
    ]
    assert "rsf" in engine.models and engine.comparison_models == ["rsf"]
    at.switch_page("ui/pages/model_card.py").run()
    assert not at.exception
    assert any(e.label == "Random survival forest: a comparison only" for e in at.get("expander"))
    assert any("comparison only, not for clinical use" in w.value for w in at.warning)
    assert any(c_index_text(engine.bundle, "rsf") in m.value for m in at.markdown)


def test_candidacy_chances_and_curves(at, engine):
    at.switch_page("ui/pages/candidacy.py").run()
    assert not at.exception
    values = {f.name: reference(engine)[f.name] for f in engine.schema.stage_features("pre")}
    cand = engine.candidacy(engine.frame([values]))
    shown = {m.label: m.value for m in at.metric}
    for c in cand.chances:
        short, _, chance = outcome_chance(engine.schema, c)
        assert shown[f"Chance of {short}"] == fmt_percent(chance)
    assert_same(shown_table(at, 0), survival_table(cand.overall, engine.schema))
    by_outcome = at.table[1].value
    pd.testing.assert_frame_equal(
        by_outcome,
        scenario_table(candidacy_scenarios(engine.schema, cand), engine.schema),
        check_names=False,
    )
    # the literature figure is labelled as such
    assert any("not an output of this model" in c.value for c in at.caption)
    # why the calculator's curve for the same facts can differ is said beside it
    assert any("averages over them with its imputation model" in c.value for c in at.caption)
    # an input marked unknown is named, as on the calculator
    assert not any("Unknown:" in i.value for i in at.info)
    at.checkbox(key="patient.ki67.unknown").check().run()
    assert any(i.value.startswith("Unknown: Ki-67 index.") for i in at.info)


def test_candidacy_says_a_wide_range_as_the_calculator_does(at, engine):
    """The overall numbers' range, by the calculator's rule: said where it is wide, with
    those numbers, and not where it is narrower."""
    from reporting.plain import wide_range_note

    at.switch_page("ui/pages/candidacy.py").run()
    ref = reference(engine)
    pre = [f.name for f in engine.schema.stage_features("pre")]
    seen = set()
    for pci, ki67 in ((5, 2.0), (ref["pci"], ref["ki67"]), (35, 60.0)):
        at.text_input(key="patient.pci").input(str(pci))
        at.text_input(key="patient.ki67").input(str(ki67))
        at.run()
        assert not at.exception
        values = {n: dict(ref, pci=pci, ki67=ki67)[n] for n in pre}
        cand = engine.candidacy(engine.frame([values]))
        note = wide_range_note(cand.overall, engine.schema, engine.bundle.manifest.fitted_on)
        assert [i.value for i in at.info if "is wide" in i.value] == ([note] if note else [])
        seen.add(note is None)
    assert False in seen, "one of the patients should have a wide range"


def test_compare_scenarios_side_by_side(at, engine):
    at.switch_page("ui/pages/compare.py").run()
    assert not at.exception
    assert at.checkbox(key="cmp.bands.True").value  # two scenarios: their bands drawn
    at.radio(key="cmp.n").set_value(3).run()
    assert not at.checkbox(key="cmp.bands.False").value  # three overlapping: off at first
    at.text_input(key="cmp2.name").set_value("Sarcomatoid").run()
    at.selectbox(key="cmp2.pathology").set_value("sarcomatoid").run()
    assert not at.exception
    table = at.table[0].value
    assert list(table.columns)[2] == "Sarcomatoid"
    names = list(table.columns)
    rows = []
    for i in range(3):
        v = {f.name: at.session_state[f"cmp{i}.{f.name}"] for f in engine.schema.features}
        for f in engine.schema.features:
            if f.kind in ("continuous", "integer") and at.session_state[f"cmp{i}.{f.name}.unknown"]:
                v[f.name] = None
        rows.append(v)
    progs = engine.predict(engine.frame(rows))
    pd.testing.assert_frame_equal(
        table,
        scenario_table(list(zip(names, progs, strict=True)), engine.schema),
        check_names=False,
    )
    assert table.loc["Overall survival at 3 years (36 months)", "Sarcomatoid"] != table.iloc[1, 0]


def test_compare_removes_the_scenario_chosen_and_keeps_the_others(at, engine):
    at.switch_page("ui/pages/compare.py").run()
    at.radio(key="cmp.n").set_value(3).run()
    at.text_input(key="cmp1.name").set_value("Middle").run()
    at.text_input(key="cmp2.name").set_value("Last").run()
    at.selectbox(key="cmp2.pathology").set_value("sarcomatoid").run()
    at.text_input(key="cmp2.pci").input(str(31)).run()
    at.checkbox(key="cmp2.ki67.unknown").check().run()
    first = at.text_input(key="cmp0.name").value
    warned = len(at.warning)  # the simulated-data banner
    at.button(key="cmp1.remove").click().run()
    assert not at.exception and len(at.warning) == warned
    assert at.radio(key="cmp.n").value == 2
    # the third scenario is now the second, with every input it held; the first is untouched
    assert at.text_input(key="cmp0.name").value == first
    assert at.text_input(key="cmp1.name").value == "Last"
    assert at.selectbox(key="cmp1.pathology").value == "sarcomatoid"
    assert at.text_input(key="cmp1.pci").value == "31"
    assert at.checkbox(key="cmp1.ki67.unknown").value
    assert list(at.table[0].value.columns) == [first, "Last"]
    # at the smallest number there is nothing to remove
    assert not [b for b in at.button if str(b.key).endswith(".remove")]
    # a third scenario added again starts afresh, not as the one removed
    at.radio(key="cmp.n").set_value(3).run()
    assert at.text_input(key="cmp2.name").value != "Last"


def test_compare_starts_from_the_calculators_patient_on_a_click(at, engine):
    """The patient entered on the calculator (Ki-67 45 %, PCI unknown) is what every scenario
    takes on the button's click, with the operative outcomes varied as before; until then
    the scenarios keep what they hold, and the page says which patient they start from."""
    at.text_input(key="patient.ki67").input("45").run()
    at.checkbox(key="patient.pci.unknown").check().run()
    at.switch_page("ui/pages/compare.py").run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert "The scenarios start from the training data's typical patient." in captions
    at.text_input(key="cmp0.name").set_value("Mine").run()
    assert at.text_input(key="cmp0.ki67").value != "45"  # nothing changes unasked
    before = list(at.table[0].value.columns)
    # its help names what the scenarios vary, in the schema's words
    outcomes = "; ".join(o["label"] for o in engine.schema.operative_outcomes[:2])
    assert f"with {outcomes} varied as before" in at.button(key="cmp.from_calculator").help
    at.button(key="cmp.from_calculator").click().run()
    assert not at.exception
    start = dict(reference(engine), ki67=45.0, pci=None)
    want = starting_scenarios(engine.schema, start)
    for i in range(2):
        assert at.text_input(key=f"cmp{i}.ki67").value == "45"
        assert at.checkbox(key=f"cmp{i}.pci.unknown").value
        assert at.text_input(key=f"cmp{i}.name").value == want[i][0]
    names = list(at.table[0].value.columns)
    assert names == [n for n, _ in want[:2]] and names != before
    progs = engine.predict(engine.frame([v for _, v in want[:2]]))
    pd.testing.assert_frame_equal(
        at.table[0].value,
        scenario_table(list(zip(names, progs, strict=True)), engine.schema),
        check_names=False,
    )
    assert "The scenarios start from the patient entered on the calculator." in [
        c.value for c in at.caption
    ]
    # done: no button until the calculator's patient changes
    assert not [b for b in at.button if b.key == "cmp.from_calculator"]
    # a patient entered for another bundle (another schema) is not offered nor started from
    values = at.session_state["cmp.start"][1]
    at.session_state["cmp.start"] = ("another-bundle", values)
    at.session_state["calculator.patient"] = ("another-bundle", values)
    at.run()
    assert "The scenarios start from the training data's typical patient." in [
        c.value for c in at.caption
    ]
    assert not [b for b in at.button if b.key == "cmp.from_calculator"]
    # nor a calculator's patient with an error in its form: what is on its screen has none
    at.switch_page("ui/pages/calculator.py").run()
    at.text_input(key="patient.age").input("150").run()
    assert "calculator.patient" not in at.session_state


def test_compare_names_a_scenario_left_out_above_the_results(at):
    """A scenario with an error is said above the chart, table and PDF it is missing from,
    not only in its own tab."""
    at.switch_page("ui/pages/compare.py").run()
    at.radio(key="cmp.n").set_value(4).run()
    at.text_input(key="cmp3.name").set_value("Old").run()
    at.text_input(key="cmp3.age").input(str(150.0)).run()
    assert not at.exception
    assert len(at.table[0].value.columns) == 3
    note = [w.value for w in at.warning if "Left out" in w.value]
    assert note == [
        "Left out of the chart, the table and the PDF until the errors in its tab are fixed: "
        "Scenario 4 (Old)."
    ]
    assert not any("Left out" in w.value for tab in at.tabs for w in tab.warning)
    captions = [c.value for c in at.caption]
    assert "The PDF holds only the scenarios shown; it leaves out: Scenario 4 (Old)." in captions
    # fixed: all four again, and nothing said
    at.text_input(key="cmp3.age").input(str(60.0)).run()
    assert len(at.table[0].value.columns) == 4
    assert not any("Left out" in w.value for w in at.warning)
    assert not any("leaves out" in c.value for c in at.caption)


def test_cohort_upload_scores_and_lists_problems(at, engine, small_cohort):
    at.switch_page("ui/pages/cohort.py").run()
    data = pd.read_csv(small_cohort[0]).head(60)
    at.file_uploader(key="cohort.file").set_value(
        ("cohort.csv", data.to_csv(index=False).encode(), "text/csv")
    ).run()
    assert not at.exception
    preds = frame_with(at, "risk_group")
    assert len(preds) == 60
    assert set(preds["risk_group"]) <= {
        "lower risk third",
        "middle risk third",
        "higher risk third",
    }
    from model.engine import predict_table
    from model.validation import validate_dataset

    want = predict_table(engine.bundle, validate_dataset(data, engine.schema, "predict").data)
    np.testing.assert_allclose(preds["surv_36"], want["surv_36"], rtol=0, atol=1e-12)
    # drawn with the download's 4 decimals, not 0.0000000005
    grid = next(d for d in at.dataframe if "risk_group" in d.value.columns)
    formats = json.loads(grid.proto.columns)
    assert formats["surv_36"]["type_config"]["format"] == "%.4f", formats["surv_36"]
    assert at.get("plotly_chart")  # Kaplan-Meier per risk group (outcomes present)
    # the patients whose inputs were filled in are counted, input by input
    valid = validate_dataset(data, engine.schema, "predict").data[engine.schema.feature_names]
    lacking = valid.isna()
    assert lacking.any(axis=1).any()
    said = next(i.value for i in at.info if "have unknown inputs" in i.value)
    assert said.startswith(f"{int(lacking.any(axis=1).sum())} of 60 patients have unknown inputs")
    ki67 = engine.schema.feature("ki67").label
    assert f"{ki67}: {int(lacking['ki67'].sum())}" in said

    bad = data.copy().astype(object)
    bad.loc[3, "kps"] = 75
    bad.loc[7, "pathology"] = "epitheliod"
    at.file_uploader(key="cohort.file").set_value(
        ("bad.csv", bad.to_csv(index=False).encode(), "text/csv")
    ).run()
    assert not at.exception
    # a few problems are sentences, read whole on a phone's screen as on any other
    said = " ".join(m.value for m in at.markdown)
    assert "Error in row 4 (file line 5), column 'kps': 75 is not a multiple of 10" in said
    assert "Error in row 8 (file line 9), column 'pathology': epitheliod is not" in said
    assert frame_with(at, "problem") is None
    # many go in a grid
    bad.loc[10:25, "pci"] = 45
    at.file_uploader(key="cohort.file").set_value(
        ("bad.csv", bad.to_csv(index=False).encode(), "text/csv")
    ).run()
    assert not at.exception
    problems = frame_with(at, "problem")
    # where, then what: the message third, before what it repeats (a phone shows three)
    assert list(problems.columns[:3]) == ["row", "column", "problem"]
    found = {(int(r), c) for r, c in zip(problems["row"], problems["column"], strict=True)}
    assert {(4, "kps"), (8, "pathology"), (11, "pci"), (26, "pci")} <= found
    # rows tall enough that the grid wraps a long message (it wraps only above 4rem = 64 px)
    grid = next(d for d in at.dataframe if "problem" in d.value.columns)
    assert grid.proto.row_height > 64, grid.proto.row_height
    downloads = [b.proto.label for b in at.get("download_button")]
    assert "Download the problems (CSV)" in downloads, downloads
    # a problem of the whole file is said in full, not cut short in a grid cell
    semi = data.head(3).to_csv(index=False, sep=";").encode()
    at.file_uploader(key="cohort.file").set_value(("semi.csv", semi, "text/csv")).run()
    assert not at.exception
    said = " ".join(m.value for m in at.markdown)
    assert "the file seems to use ';' between values; save it as comma-separated CSV" in said
    # a problem of the whole file is in the download too
    assert "Download the problems (CSV)" in [b.proto.label for b in at.get("download_button")]
    assert frame_with(at, "risk_group") is None
    # a user's names are shown as written, not read as Markdown: '*' is not emphasis
    starred = data.head(3).rename(columns={"pci": "pci*"}).to_csv(index=False).encode()
    at.file_uploader(key="cohort.file").set_value(("*cohort*.csv", starred, "text/csv")).run()
    assert not at.exception
    said = " ".join(m.value for m in at.markdown) + " ".join(e.value for e in at.error)
    assert "\\*cohort\\*.csv" in said and "pci\\*" in said, said
    # a whole-column problem names its column
    assert "column 'pci': required feature column is missing" in said, said


def test_model_card_describes_the_bundle(at, engine, app_registry):
    at.switch_page("ui/pages/model_card.py").run()
    assert not at.exception
    ident = at.table[0].value
    sha = sha256_file(app_registry / engine.bundle.version_id / MANIFEST)
    assert ident.loc["Bundle version", "Value"] == engine.bundle.version_id
    assert ident.loc["Manifest SHA-256", "Value"] == sha
    # the schema's declared pair, and that the served design holds it
    assert engine.bundle.manifest.models["coxnet"].params["terms"] == "splines+interactions"
    assert (
        ident.loc["Declared interactions", "Value"]
        == "Ki-67 index × Peritoneal cancer index (PCI): in the model"
    )
    text = " ".join(m.value for m in at.markdown)
    assert "Not for" in text and "Intended users" in text
    metrics = at.table[1].value
    c = engine.bundle.manifest.metrics["coxnet"]["corrected"]["harrell_c"]
    assert metrics.loc["Harrell C", "Optimism-corrected"] == f"{c:.3f}"
    # the calibration groups in percentages with one decimal, as the plot's axes say them,
    # kept as numbers so that a column sorts by its values
    (grid, *_) = [d for d in at.dataframe if "mean predicted" in d.value.columns]
    formats = json.loads(grid.proto.columns)
    for col in ("mean predicted", "observed", "lower", "upper"):
        assert formats[col]["type_config"]["format"] == "%.1f %%", formats[col]
    cal = json.loads((engine.bundle.path / "report.json").read_text())["calibration"]["coxnet"]
    first = min(cal, key=float)  # the first tab's horizon
    want = [100 * g["predicted"] for g in cal[first]["groups"]]
    assert grid.value["mean predicted"].tolist() == pytest.approx(want)


def test_tampered_bundle_is_refused_and_the_last_good_one_served(
    tmp_path, small_bundle, monkeypatch
):
    root = tmp_path / "models"
    root.mkdir()
    reg = Registry(root)
    good = root / "good"
    bad = root / "bad"
    for name in ("good", "bad"):
        shutil.copytree(small_bundle, root / name)
        # bundle folders carry their version id: rename it in the manifest copy
        m = json.loads((root / name / MANIFEST).read_text())
        m["version_id"] = name
        (root / name / MANIFEST).write_text(json.dumps(m))
    reg.register(good)
    reg.promote("good")
    reg.register(bad)
    reg.promote("bad")
    # a flipped byte in the active bundle's model file
    model_file = bad / "coxnet.joblib"
    blob = bytearray(model_file.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    model_file.write_bytes(bytes(blob))
    monkeypatch.setenv("HIPEC_MODELS", str(root))
    at = st_testing.AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "bad" in errors and "refused" in errors and "Showing bundle good" in errors
    assert len(at.table) == 1  # the calculator still answers, from the good bundle


def test_background_build_is_announced_and_an_open_session_keeps_its_bundle(
    tmp_path, small_bundle, monkeypatch
):
    from training.default import PENDING

    root = tmp_path / "models"
    root.mkdir()
    reg = Registry(root)
    for name in ("quick", "full"):
        shutil.copytree(small_bundle, root / name)
        m = json.loads((root / name / MANIFEST).read_text())
        m["version_id"] = name
        (root / name / MANIFEST).write_text(json.dumps(m))
    reg.register(root / "quick")
    reg.promote("quick")
    (root / PENDING).write_text(
        json.dumps({"quick": "quick", "data": "d", "seed": 0, "bootstrap": 1, "recorded": "T"})
    )
    monkeypatch.setenv("HIPEC_MODELS", str(root))
    at = st_testing.AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "background" in " ".join(c.value for c in at.sidebar.caption)
    assert at.sidebar.selectbox(key="bundle").value == "quick"
    # the chosen bundle's whole label beneath the box, which cuts a long one
    assert at.sidebar.caption[0].value.startswith("quick (active)")

    # the background build finishes: the complete bundle becomes active
    reg.register(root / "full")
    reg.promote("full", if_active="quick")
    (root / PENDING).unlink()
    at.run()
    assert not at.exception
    assert "background" not in " ".join(c.value for c in at.sidebar.caption)
    assert at.sidebar.selectbox(key="bundle").value == "quick"  # nothing changes under the user
    assert "(active)" not in at.sidebar.caption[0].value
    fresh = st_testing.AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert fresh.sidebar.selectbox(key="bundle").value == "full"  # a new session: the active one
    assert fresh.sidebar.caption[0].value.startswith("full (active)")


# ------------------------------------------------ published evidence, words and pictures
def markdown_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def icon_chart(at) -> dict:
    """The icon array's figure: the plotly chart whose traces are the three kinds of icon."""
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        names = [t.get("name", "") for t in spec["data"]]
        if len(names) == 3 and names[1].endswith(" may be either"):
            return spec
    raise AssertionError("no icon array on the page")


def table_percentages(at, label: str) -> tuple[int, int, int]:
    row = shown_table(at).set_index("Outcome").loc[label]
    lo, hi = row["95 % interval"].split(" to ")
    return tuple(int(x.strip().removesuffix(" %")) for x in (row["Estimate"], lo, hi))


def test_calculator_evidence_panel_places_the_patient(at, engine):
    at.text_input(key="patient.ki67").input(str(5.0)).run()
    assert not at.exception
    assert "Published series, not this model" in [s.value for s in at.subheader]
    assert any(i.value.startswith("**Published series, not this model.**") for i in at.info)
    md = markdown_text(at)
    assert "**Milan Ki-67/PCI tree** · **Group I: Ki-67 ≤ 9 %**  \nmedian OS 86.6 months" in md
    captions = " ".join(c.value for c in at.caption)
    assert "doi 10.1002/cncr.25640" in captions  # PSOGI TNM stage, with its DOI
    assert "every patient is taken as M0" in captions  # and its assumptions
    assert "Systemic chemotherapy" not in md  # not operated: the candidacy page's row

    at.checkbox(key="patient.ki67.unknown").check().run()
    assert not at.exception
    md = markdown_text(at)
    assert "**Milan Ki-67/PCI tree** · *not placed: Ki-67 index unknown*" in md


def test_calculator_icon_array_and_sentences_carry_the_tables_numbers(at, engine):
    from reporting.plain import sentences

    assert not at.exception
    est, lo, hi = table_percentages(at, "Overall survival at 3 years (36 months)")
    alive, uncertain, died = icon_chart(at)["data"]
    assert (len(alive["x"]), len(uncertain["x"]), len(died["x"])) == (lo, hi - lo, 100 - hi)
    sentence = (
        f"Of 100 patients like this, about {est} are alive 3 years after surgery; "
        f"given the uncertainty, between {lo} and {hi}."
    )
    md = markdown_text(at)
    assert f"**{sentence}**" in md  # above the icon array
    p = engine.predict(engine.frame([reference(engine)]), "coxnet")[0]
    for s in sentences(p, engine.schema):
        assert s in md
    # another year: the icons follow
    slider = at.select_slider[0]
    slider.set_value(1).run()
    assert not at.exception
    est, lo, hi = table_percentages(at, "Overall survival at 1 year (12 months)")
    alive, uncertain, died = icon_chart(at)["data"]
    assert (len(alive["x"]), len(uncertain["x"])) == (lo, hi - lo)
    assert f"about {est} are alive 1 year after surgery" in markdown_text(at)


def test_the_patients_reading_mode_shows_the_same_numbers_without_tables(at, engine):
    from reporting.plain import patient_notes, sentences

    clinician = table_percentages(at, "Overall survival at 3 years (36 months)")
    at.sidebar.segmented_control(key="mode").set_value("patient").run()
    assert not at.exception
    assert not at.table and not at.dataframe  # no tables, no hazard ratios
    md = markdown_text(at)
    p = engine.predict(engine.frame([reference(engine)]), "coxnet")[0]
    for s in [*sentences(p, engine.schema, for_patient=True), *patient_notes(engine.schema, p)]:
        assert s in md
    est, lo, hi = clinician
    alive, uncertain, died = icon_chart(at)["data"]
    assert (len(alive["x"]), len(uncertain["x"]), len(died["x"])) == (lo, hi - lo, 100 - hi)
    assert f"about {est} are alive 3 years after surgery" in md
    assert "font-size: 1.3rem" in md  # larger type
    shown = "\n".join(
        [
            md,
            *(
                e.value
                for kind in ("caption", "info", "warning", "subheader")
                for e in at.get(kind)
            ),
        ]
    )
    jargon_words = ("Hazard", "hazard", "95 %", "band", "table", "Kaplan", "Harrell", "median")
    for jargon in (*jargon_words, "follow-up"):
        assert jargon not in shown, jargon
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download the patient's version (PDF)"]
    # the inputs are kept, folded away; back to the clinician's view with every number
    at.text_input(key="patient.ki67").input(str(40.0)).run()
    at.sidebar.segmented_control(key="mode").set_value("clinician").run()
    assert not at.exception and at.table
    assert at.text_input(key="patient.ki67").value == "40.0"


def test_calculator_conditional_shows_the_published_conditional_figures(at, engine):
    at.text_input(key="alive_at").input(str(24)).run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "5-year conditional survival 27 %" in captions and "Liang XL et al." in captions
    assert "Of 100 patients like this who are alive 2 years after surgery" in markdown_text(at)


def test_candidacy_evidence_panel_with_other_paths(at, engine):
    at.switch_page("ui/pages/candidacy.py").run()
    assert not at.exception
    md = markdown_text(at)
    assert "**Systemic chemotherapy, not operated**" in md and "10-17 months" in md
    assert "**Repeat CRS/HIPEC at recurrence**" in md
    assert any("Immortal-time bias" in w.value for w in at.warning)
    # post-operative facts are not known yet: systems that need them say so
    assert "**Sydney, by CC** · *not placed before surgery" in md


def test_model_card_sets_published_groups_beside_the_model(at, engine):
    from model.plausibility import group_predictions
    from reporting.evidence import PLAUSIBILITY_NOTE, plausibility_table

    at.switch_page("ui/pages/model_card.py").run()
    assert not at.exception
    assert "Beside published series" in [s.value for s in at.subheader]
    assert any(c.value == PLAUSIBILITY_NOTE for c in at.caption)
    want = plausibility_table(group_predictions(engine, "coxnet"), engine.schema)
    shown = next(t.value for t in at.table if t.value.index.name == "Published system")
    pd.testing.assert_frame_equal(shown.reset_index(), want, check_names=False)


def test_a_risk_beyond_every_training_patients_is_warned_on_the_page(at, engine):
    """Every input inside its training range, their combination beyond every training
    patient's risk: the page says the estimate extrapolates; the typical patient's does not."""
    assert not any("every training patient" in w.value for w in at.warning)
    ranges = engine.bundle.manifest.training_ranges
    at.selectbox(key="patient.pathology").set_value("sarcomatoid")
    at.radio(key="patient.cc").set_value(3)
    for name in ("vascular_emboli", "lymph_nodes", "sae"):
        at.radio(key=f"patient.{name}").set_value(1)
    at.text_input(key="patient.kps").input(str(ranges["kps"]["min"]))
    for name in ("age", "ki67", "pci", "ca125", "cea", "ca199", "rbc_units"):
        at.text_input(key=f"patient.{name}").input(str(ranges[name]["max"]))
    at.run()
    assert not at.exception
    said = [w.value for w in at.warning if "every training patient" in w.value]
    assert said and "extrapolates the model beyond its data" in said[0]
