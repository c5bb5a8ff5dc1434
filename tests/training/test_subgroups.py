"""Calibration within the groups of each input, against a simulated world's truth."""

import numpy as np
import pandas as pd
import pytest

from model.validation import validate_dataset
from training.estimators import survival_target
from training.simulate import simulate_cohort
from training.subgroups import MIN_GROUP, calibration_by_input, departing, input_groups

GRID = np.array([36.0])  # the curves are read at 36 months only


def _cohort(schema, seed: int):
    c = simulate_cohort(2000, seed)
    data = validate_dataset(c.data, schema).raise_if_errors()
    return c, survival_target(data, schema), data[schema.feature_names]


def test_groups_are_each_inputs_levels_thirds_and_unknowns(schema):
    c, _, X = _cohort(schema, 1)
    groups = input_groups(X, schema)
    by = {}
    for g in groups:
        by.setdefault(g["feature"], []).append(g)
        assert g["member"].sum() >= MIN_GROUP
    # a list: its levels in the schema's words
    assert [g["group"] for g in by["pathology"]] == [
        schema.feature("pathology").label_for(v) for v in ("epithelioid", "biphasic", "sarcomatoid")
    ]
    # a measurement: three groups that split the known values, then the unknown
    ki67 = by["ki67"]
    assert [g["group"] for g in ki67][-1] == "unknown"
    thirds = np.sum([g["member"] for g in ki67[:-1]], axis=0)
    np.testing.assert_array_equal(thirds, X["ki67"].notna().to_numpy())
    # thirds up to the ties at the cut points (Ki-67 is recorded to whole per cents mostly)
    assert all(abs(g["member"].sum() / X["ki67"].notna().sum() - 1 / 3) < 0.1 for g in ki67[:-1])
    assert [g["group"] for g in ki67[:-1]] == ["≤ 6", "> 6 to 13", "> 13"]
    # whole numbers (PCI) name their middle third from the first value in it
    assert [g["group"] for g in by["pci"]] == ["≤ 20", "21-27", "> 27"]
    np.testing.assert_array_equal(ki67[-1]["member"], X["ki67"].isna().to_numpy())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_true_curves_depart_in_no_group(schema, seed):
    """With m groups each held to a 1 - 0.05/m interval, the truth departs somewhere in at
    most one report in twenty; these three fixed draws are within that."""
    c, y, X = _cohort(schema, seed)
    truth = c.truth["true_surv_36"].to_numpy()[:, None]
    r = calibration_by_input(y, truth, GRID, 36.0, X, schema)
    assert r["tests"] >= 30 and r["level"] == pytest.approx(1 - 0.05 / r["tests"])
    assert departing(r) == []
    # the observed survival is each group's Kaplan-Meier, which the truth's mean sits near
    errors = [abs(g["predicted"] - g["observed"]) for g in r["groups"] if g["observed"]]
    assert np.mean(errors) < 0.03  # KM's SE at 36 months in groups of 100-1,500 is 0.01-0.05


def test_a_model_that_blurs_effects_is_named_where_it_is_wrong(schema):
    """Curves pulled halfway towards the mean of each quarter of PCI: right for PCI, too
    good for sarcomatoid and high Ki-67 patients, too poor for epithelioid and low Ki-67."""
    c, y, X = _cohort(schema, 1)
    true = c.truth["true_surv_36"].to_numpy()
    quarter = pd.qcut(c.latent["pci"], 4, labels=False).to_numpy()
    blurred = (true + pd.Series(true).groupby(quarter).transform("mean").to_numpy()) / 2
    r = calibration_by_input(y, blurred[:, None], GRID, 36.0, X, schema)
    named = {(g["feature"], g["group"]): g for g in departing(r)}
    sarcomatoid = named[("pathology", schema.feature("pathology").label_for("sarcomatoid"))]
    assert sarcomatoid["predicted"] > sarcomatoid["upper"]  # promised more than happened
    top = [g for (f, _), g in named.items() if f == "ki67" and g["group"].startswith(">")]
    assert top and top[0]["predicted"] > top[0]["observed"]
    assert not any(f == "pci" for f, _ in named)  # what the blur kept, it is not blamed for


def test_beyond_follow_up_there_is_nothing_to_say(schema):
    c, y, X = _cohort(schema, 1)
    last = float(y[y.dtype.names[1]].max())
    assert calibration_by_input(y, np.ones((len(y), 1)), GRID, last + 1, X, schema) is None


def test_a_group_with_no_event_by_then_is_shown_not_tested(schema):
    """Kaplan-Meier S = 1 has a log-log interval of width 0, which any prediction below 1
    would fall outside of."""
    c = simulate_cohort(400, 5)
    data = validate_dataset(c.data, schema).raise_if_errors()
    women = (data["sex"] == "F").to_numpy()
    data.loc[women, "death"] = 0
    data.loc[women, "os_months"] = np.minimum(data.loc[women, "os_months"], 30.0)
    data.loc[np.flatnonzero(women)[0], "os_months"] = 40.0  # one followed past 36 months
    y = survival_target(data, schema)
    r = calibration_by_input(
        y, np.full((len(y), 1), 0.8), GRID, 36.0, data[schema.feature_names], schema
    )
    female = next(g for g in r["groups"] if g["feature"] == "sex" and g["group"] == "female")
    assert female["observed"] == 1.0 and female["events"] == 0 and not female["departs"]
    male = next(g for g in r["groups"] if g["feature"] == "sex" and g["group"] == "male")
    assert male["events"] > 0
    assert r["tests"] == sum(g["observed"] is not None and g["events"] > 0 for g in r["groups"])


def test_cut_points_are_named_as_the_data_hold_them(schema):
    X = pd.DataFrame({f: [np.nan] * 90 for f in schema.feature_names})
    X["ca125"] = np.repeat([150.0, 1234.5, 98765.0], 30)
    names = [g["group"] for g in input_groups(X, schema) if g["feature"] == "ca125"]
    assert names == ["≤ 150", "> 150 to 1234.5", "> 1234.5"]  # as the data hold them


def test_an_input_all_one_value_or_all_unknown_adds_no_group_of_everyone(schema):
    X = pd.DataFrame({f: [np.nan] * 60 for f in schema.feature_names})
    X["pci"] = [12.0] * 40 + [np.nan] * 20  # one known value: no thirds, its unknowns remain
    groups = {(g["feature"], g["group"]) for g in input_groups(X, schema)}
    assert groups == {("pci", "unknown")}  # not pathology's or Ki-67's "unknown": everyone
