"""Hypothesis strategies shared by the hardening tests: hostile values and valid patients."""

from __future__ import annotations

import datetime as dt
import decimal
import fractions
import math
import os

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from model.schema import Feature, Schema

# Fuzzing budget: HARDEN_SCALE multiplies every test's number of examples (default 1 keeps
# the whole hardening package to about a minute on two cores; 10 for a deeper local run).
SCALE = max(0.1, float(os.environ.get("HARDEN_SCALE", "1")))


def fuzz_settings(examples: int):
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ------------------------------------------------------------------ hostile values
finite_and_special_floats = st.floats(allow_nan=True, allow_infinity=True)
huge_ints = st.integers(min_value=-(10**400), max_value=10**400)
hostile_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "",
            " ",
            "NA",
            "nan",
            "inf",
            "-inf",
            "Infinity",
            "1e400",
            "-1e400",
            "1e-400",
            "0x10",
            "1_000",
            "1,5",
            "12%",
            "=1+1",
            "+1",
            "\x00",
            "\ufeff1",
            "١٢",  # Arabic-Indic digits
            "１２",  # full-width digits
            "True",
            "none",
            "F ",
            " epithelioid",
            "Epithelioid",
            "CC2",
        ]
    ),
)
numpy_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32),
    st.floats(allow_nan=True, allow_infinity=True).map(np.float64),
    st.booleans().map(np.bool_),
)
odd_objects = st.one_of(
    st.none(),
    st.just(pd.NA),
    st.just(pd.NaT),
    st.booleans(),
    st.binary(max_size=10),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.fractions(max_denominator=1000),
    st.datetimes(),
    st.dates(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.tuples(st.integers()),
    st.just(object()),
    st.just(decimal.Decimal("sNaN")),
    st.just(fractions.Fraction(10**400, 3)),
    st.just(dt.timedelta(days=1)),
)
hostile_value = st.one_of(
    finite_and_special_floats, huge_ints, hostile_text, numpy_scalars, odd_objects
)


def near_feature_values(f: Feature):
    """Values around a feature's allowed set: valid ones, edges, just outside, wrong types."""
    opts = [hostile_value]
    if f.min is not None:
        opts.append(st.sampled_from([f.min, f.min - 1e-9, f.min - 1, -f.min]))
    if f.max is not None:
        opts.append(st.sampled_from([f.max, f.max + 1e-9, f.max + 1, f.max * 10]))
    if f.allowed_values:
        vals = list(f.allowed_values)
        opts.append(st.sampled_from(vals))
        opts.append(st.sampled_from([str(v) for v in vals] + [str(v).upper() for v in vals]))
    opts.append(valid_value(f))
    return st.one_of(*opts)


# ------------------------------------------------------------------ valid patients
def valid_value(f: Feature):
    """A value the schema allows for one feature, as the page would pass it."""
    if f.kind == "binary":
        return st.sampled_from([0, 1])
    if f.kind in ("categorical", "ordinal"):
        return st.sampled_from(list(f.allowed_values))
    lo = f.min if f.min is not None else 0.0
    hi = f.max if f.max is not None else 1e6
    if f.kind == "integer":
        step = f.step or 1
        n = int(math.floor((hi - lo) / step))
        return st.integers(0, n).map(lambda k: int(round(lo + k * step)))
    return st.one_of(
        st.floats(lo, hi, allow_nan=False, allow_infinity=False),
        st.sampled_from([lo, hi]),
    )


def valid_patients(schema: Schema):
    """Patients within the schema, any subset of inputs unknown (None)."""
    return st.fixed_dictionaries(
        {f.name: st.one_of(st.none(), valid_value(f)) for f in schema.features}
    )


def _pandas_can_print(v) -> bool:
    # pandas itself cannot print or write a signalling NaN (Decimal('sNaN')); such values
    # are fuzzed through validate_patient only
    return not (isinstance(v, decimal.Decimal) and v.is_snan())


frame_value = hostile_value.filter(_pandas_can_print)
