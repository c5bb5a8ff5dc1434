"""One contract over every model family: what the engine, the page and the reports rely on.

Each family is trained on the shared small cohort (both at once, as ``fit`` does), written
to a bundle and loaded back; the same checks then run over every registered family, so a
new family is held to them by being registered.
"""

import json

import numpy as np
import pandas as pd
import pytest

from model.bundle import load_bundle
from model.engine import Engine
from model.families import FAMILIES, Family
from model.manifest import Manifest
from training.families import TRAINERS


def test_every_family_can_be_trained_and_served():
    assert set(TRAINERS) == set(FAMILIES)
    for name, t in TRAINERS.items():
        assert t.family is FAMILIES[name]
        assert issubclass(t.family, Family)


@pytest.fixture(scope="module")
def engine(small_bundle):
    return Engine(load_bundle(small_bundle))


@pytest.fixture(scope="module")
def patients(small_cohort, schema):
    data = small_cohort[2].data
    X = data[schema.feature_names].iloc[:25].reset_index(drop=True).copy()
    X.loc[0, schema.feature_names] = np.nan  # everything unknown
    X.loc[1, ["ki67", "pci"]] = np.nan  # the inputs an interaction uses
    return X


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def family_name(request, engine):
    assert request.param in engine.families, f"the shared bundle lacks {request.param}"
    return request.param


def test_curves_are_survival_functions_on_the_grid(engine, patients, family_name):
    progs = engine.predict(patients, family_name)
    assert len(progs) == len(patients)
    for p in progs:
        assert np.array_equal(p.grid, engine.grid)
        s = p.survival
        assert s.shape == engine.grid.shape
        assert np.all((s >= 0) & (s <= 1))
        # non-increasing, up to floating-point noise of averaged curves
        assert np.all(np.diff(s) <= 1e-12)
        assert s[0] == pytest.approx(1.0, abs=0.02)


def test_band_contains_the_curve_where_there_is_one(engine, patients, family_name):
    fam = engine.family(family_name)
    for p in engine.predict(patients, family_name):
        assert p.band_method == fam.band_method
        assert p.has_band == fam.has_band
        if fam.has_band:
            assert np.all(p.lower <= p.survival + 1e-12)
            assert np.all(p.survival <= p.upper + 1e-12)
            assert np.all((p.lower >= 0) & (p.upper <= 1))
        else:
            assert np.all(np.isnan(p.lower)) and np.all(np.isnan(p.upper))
            assert fam.no_band_note


def test_contributions_as_documented(engine, patients, family_name, schema):
    fam = engine.family(family_name)
    ref = engine.predict(engine.bundle.reference_patient(), family_name, contributions=True)[0]
    progs = engine.predict(patients, family_name, contributions=True)
    for i, p in enumerate(progs):
        assert p.contributions, "every family explains its prediction"
        for c in p.contributions:
            assert {"feature", "label", "value", "reference", "log_hr", "unknown"} <= set(c)
            assert np.isfinite(c["log_hr"])
        named = {c["feature"] for c in p.contributions}
        assert set(schema.feature_names) <= named | {
            part for c in p.contributions for part in c["feature"].split(" x ")
        }
        unknown = {
            c["feature"] for c in p.contributions if c["unknown"] and " x " not in c["feature"]
        }
        assert unknown == {n for n in schema.feature_names if pd.isna(patients.iloc[i][n])}
        if fam.additive_contributions:
            # they add up to the log hazard ratio against the reference patient; checked on
            # complete patients, where no averaging over unknown inputs enters the curve
            if not p.unknown:
                total = sum(c["log_hr"] for c in p.contributions)
                i_h = int(np.searchsorted(engine.grid, 12.0))
                ratio = np.log(-np.log(p.survival[i_h])) - np.log(-np.log(ref.survival[i_h]))
                assert total == pytest.approx(ratio, abs=1e-6)
    # the reference patient differs from itself in nothing
    assert all(abs(c["log_hr"]) < 1e-9 for c in ref.contributions)


def test_predict_table_has_the_documented_columns(engine, patients, family_name):
    from model.prognosis import PREDICT_COLUMNS

    told = []
    table = engine.predict_table(
        patients, family_name, chunk=3, progress=lambda done, n: told.append((done, n))
    )
    assert list(table.columns) == PREDICT_COLUMNS
    assert len(table) == len(patients)
    # after each chunk of 3, and at the end (the cohort page's progress bar)
    n = len(patients)
    assert told == [*((k, n) for k in range(3, n, 3)), (n, n)]
    fam = engine.family(family_name)
    if not fam.has_band:
        assert table["warnings"].str.contains(fam.no_band_note, regex=False).all()


def test_bundle_round_trip(small_bundle, engine, patients, family_name):
    """Written, reloaded and typed: the manifest parses to what was written, and a fresh
    load predicts exactly what the engine predicts."""
    doc = json.loads((small_bundle / "manifest.json").read_text())
    manifest = Manifest.from_dict(doc)
    assert manifest.to_dict() == doc
    assert manifest == engine.bundle.manifest
    entry = manifest.models[family_name]
    assert entry.label == FAMILIES[family_name].label
    assert entry.file == f"{family_name}.joblib"
    again = Engine(load_bundle(small_bundle)).predict(patients, family_name)
    for a, b in zip(engine.predict(patients, family_name), again, strict=True):
        assert np.array_equal(a.survival, b.survival)
        assert np.array_equal(a.lower, b.lower, equal_nan=True)


def test_unknown_family_is_named(engine):
    with pytest.raises(ValueError, match="has no model 'cart'; it has coxnet, rsf"):
        engine.predict(engine.bundle.reference_patient(), "cart")


def test_headline_figures_are_the_honest_ones(engine, family_name):
    """A forest nearly memorises its rows, so its optimism-corrected C stays optimistic:
    the headline (footer, model card, CLI, models list) is its out-of-bag figure."""
    from reporting.card import c_index_text

    m = engine.bundle.manifest.metrics[family_name]
    which = FAMILIES[family_name].headline
    text = c_index_text(engine.bundle, family_name)
    assert f"Harrell C {m[which]['harrell_c']:.3f}" in text
    assert ("out-of-bag" in text) == (family_name == "rsf")
    assert ("optimism-corrected" in text) == (family_name == "coxnet")
