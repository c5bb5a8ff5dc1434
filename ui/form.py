"""The patient form, built from the bundle's schema: one labelled input per feature.

Every input shows its unit and allowed range and can be set to "unknown". Values live
in the session only (``persist_state="session"``), so they survive a page switch and
are never written anywhere. Widget keys are ``<prefix>.<feature>``; the calculator
and candidacy pages share the ``patient`` prefix so a patient is entered once.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from model.i18n import N_, _
from model.schema import Feature, Schema
from model.validation import validate_patient
from ui.choices import kept_index, remember

__all__ = ["patient_form", "show_problems"]

UNKNOWN_LABEL = N_("unknown")
# the "unknown" option of a list or yes/no: not None, which Streamlit draws as nothing chosen;
# no schema's value (numbers, or words without angle brackets)
UNKNOWN = "<unknown>"


def _num_format(f: Feature) -> tuple[float, str]:
    if f.kind == "integer":
        # a number box, not an integer one: that would cut 55.9 to 55 in the browser,
        # unsaid; the schema's check names a value that is not whole ("%g": 55, 55.9)
        return float(f.step or 1), "%g"
    span = (f.max or 100) - (f.min or 0)
    return (1.0 if span > 20 else 0.1), "%.1f"


def _numeric(f: Feature, key: str, default) -> float | None:
    step, fmt = _num_format(f)
    unit = f" ({f.unit})" if f.unit else ""
    help_text = f"{f.help} " + _("Allowed: {allowed}. Tick 'unknown' if not known.").format(
        allowed=f.describe_allowed()
    )
    known_default = default is not None and not (isinstance(default, float) and math.isnan(default))
    if known_default:
        start = float(round(default)) if f.kind == "integer" else float(default)
    else:
        start = float(f.min or 0)
    unknown = bool(st.session_state.get(f"{key}.unknown", not known_default))
    # no min_value / max_value: the browser would keep a value beyond them to itself (a red
    # mark on the box, the page still showing the previous patient's numbers); the value goes
    # through the schema's checks instead, which name the field and its range and hold back
    # the prediction
    v = st.number_input(
        f"{f.label}{unit}",
        value=start,
        step=step,
        format=fmt,
        key=key,
        help=help_text,
        disabled=unknown,
        persist_state="session",
    )
    # the box sits under its input and switches it off (read above, before the input is drawn);
    # it names its field: a screen reader lists the form's boxes by name, not by place
    unknown = st.checkbox(
        _("{label} unknown").format(label=f.label),
        value=not known_default,
        key=f"{key}.unknown",
        help=_("{label} is not known: the prediction averages over its plausible values.").format(
            label=f.label
        ),
        persist_state="session",
    )
    return None if unknown or v is None else float(v)


def _choice(f: Feature, key: str, default):
    options = [UNKNOWN, *f.allowed_values]
    if default is not None and not (isinstance(default, float) and math.isnan(default)):
        default = default if f.is_text else int(default)
    index = options.index(default) if default in options else 0

    # labels made now: Streamlit may format options outside this rerun's language
    label = {v: _(UNKNOWN_LABEL) if v == UNKNOWN else f.label_for(v) for v in options}.get

    help_text = f"{f.help} " + _("Allowed: {allowed}, or unknown.").format(
        allowed=f.describe_allowed()
    )
    index = kept_index(key, options, index)
    widget = st.radio if f.kind == "binary" else st.selectbox
    extra = {"horizontal": True} if f.kind == "binary" else {}
    value = widget(
        f.label,
        options,
        index=index,
        format_func=label,
        key=key,
        help=help_text,
        persist_state="session",
        **extra,
    )
    remember(key, value)
    return None if value == UNKNOWN else value


def patient_form(
    schema: Schema,
    prefix: str,
    defaults: dict,
    stages: tuple[str, ...] | None = None,
    columns: int = 2,
) -> dict:
    """Draw the inputs for the features of the given stages (all, in the schema's order, by
    default); return {feature: value or None}."""
    values: dict = {}
    stages = stages or tuple(s.name for s in schema.stages)
    for stage in stages:
        feats = schema.stage_features(stage)
        if not feats:
            continue
        if len(stages) > 1:
            st.markdown("**" + _("Known {stage}").format(stage=schema.stage_label(stage)) + "**")
        cols = st.columns(columns)
        for i, f in enumerate(feats):
            with cols[i % columns]:
                key = f"{prefix}.{f.name}"
                if f.kind in ("continuous", "integer"):
                    values[f.name] = _numeric(f, key, defaults.get(f.name))
                else:
                    values[f.name] = _choice(f, key, defaults.get(f.name))
    return values


def show_problems(values: dict, schema: Schema) -> pd.DataFrame | None:
    """Validate the entered values; show every error (field and allowed range) or return the row."""
    report = validate_patient(values, schema)
    errors = [p for p in report.problems if p.severity == "error"]
    for p in errors:
        f = schema.feature(p.column) if p.column in schema.feature_names else None
        st.error(f"**{f.label if f else p.column}**: {p.message}")
    return None if errors else report.data
