"""Property-based tests of individual prediction.

Any patient the schema allows, with any subset of inputs unknown, gets curves that start at
1, never increase and stay in [0, 1], with a band that contains the estimate; conditional
survival, landmarks and the median agree with the curve they come from.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.bundle import load_bundle
from model.families import CoxnetFamily
from model.schema import default_schema
from model.validation import validate_patient

from .strategies import fuzz_settings, valid_patients

SCHEMA = default_schema()
TOL = 1e-12


@pytest.fixture(scope="module")
def bundle(small_bundle):
    return load_bundle(small_bundle)


@pytest.fixture(scope="module")
def engine(bundle):
    return CoxnetFamily(bundle)


def row_of(values: dict) -> pd.DataFrame:
    report = validate_patient(values, SCHEMA)
    assert report.ok, [str(p) for p in report.errors]
    return report.data


def check_curve(grid, s, lo, hi) -> None:
    assert s.shape == lo.shape == hi.shape == grid.shape
    for c in (s, lo, hi):
        assert np.isfinite(c).all()
        assert ((c >= 0) & (c <= 1)).all()
        assert (np.diff(c) <= TOL).all()  # non-increasing
    assert (lo <= s + TOL).all() and (s <= hi + TOL).all()


@fuzz_settings(60)
@given(values=valid_patients(SCHEMA))
def test_cox_prognosis_of_any_valid_patient(engine, values):
    X = row_of(values)
    (p,) = engine.predict(X, contributions=True)
    check_curve(p.grid, p.survival, p.lower, p.upper)
    assert p.survival[0] == pytest.approx(1.0, abs=1e-9)  # nobody dies at time 0
    assert sorted(p.unknown) == sorted(k for k, v in values.items() if v is None)
    for t, r in p.landmarks.items():
        if r is not None:
            est, lo, hi = r
            assert lo <= est <= hi and est == p.survival[np.searchsorted(p.grid, t, "right") - 1]
    med, mlo, mhi = p.median
    if med is not None:
        assert p.at(med)[0] <= 0.5
        assert mlo is not None and mlo <= med  # the lower curve reaches 0.5 no later
        assert mhi is None or med <= mhi
    else:
        assert mhi is None and (p.survival > 0.5).all()
    # contributions are finite and exactly additive (see CoxnetFamily.contributions)
    assert all(np.isfinite(c["log_hr"]) for c in p.contributions)


@fuzz_settings(40)
@given(values=valid_patients(SCHEMA), frac=st.floats(0, 1, exclude_max=True))
def test_conditional_survival_is_consistent(engine, values, frac):
    """Given alive at any time before the curve's last step (after it nothing is known)."""
    (p,) = engine.predict(row_of(values))
    alive_at = float(frac * p.last_step)
    c = p.conditional(alive_at)
    check_curve(c.grid, c.survival, c.lower, c.upper)
    assert c.grid[0] <= alive_at < c.grid[0] + (p.grid[1] - p.grid[0]) + 1e-9
    assert c.survival[0] == pytest.approx(1.0)
    # S(t | alive at s) * S(s) = S(t) on the shared part of the grid
    i = len(p.grid) - len(c.grid)
    s_at = p.survival[i]
    if s_at > 1e-9:
        assert np.allclose(c.survival * s_at, p.survival[i:], atol=1e-9)
    # being alive later never makes later survival worse than from the start
    assert (c.survival >= p.survival[i:] - 1e-9).all()


@fuzz_settings(20)
@given(patients=st.lists(valid_patients(SCHEMA), min_size=2, max_size=6))
def test_a_batch_gives_each_patient_his_own_curve(engine, patients):
    X = pd.concat([row_of(v) for v in patients], ignore_index=True)
    batch = engine.predict(X)
    assert len(batch) == len(patients)
    for p, v in zip(batch, patients, strict=True):
        check_curve(p.grid, p.survival, p.lower, p.upper)
        if not any(x is None for x in v.values()):
            # a complete patient's curve does not depend on who else is in the batch
            (alone,) = engine.predict(row_of(v))
            assert np.allclose(p.survival, alone.survival, atol=1e-12)


@fuzz_settings(30)
@given(values=valid_patients(SCHEMA), model=st.sampled_from(["coxnet", "rsf"]))
def test_pipeline_curves_of_either_model(bundle, values, model):
    s = bundle.survival(row_of(values), model)[0]
    assert np.isfinite(s).all() and ((s >= 0) & (s <= 1)).all()
    assert (np.diff(s) <= TOL).all() and s[0] == pytest.approx(1.0, abs=1e-9)
