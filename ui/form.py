"""The patient form, built from the bundle's schema: one labelled input per feature.

Every input shows its unit and allowed range and can be set to "unknown". Values live
in the session only (``persist_state="session"``), so they survive a page switch and
are never written anywhere. Widget keys are ``<prefix>.<feature>``; the calculator
and candidacy pages share the ``patient`` prefix so a patient is entered once.

A value the schema refuses, or a number box left empty or holding text that is not a
number, is said under its input and again in the page's summary (:func:`show_problems`),
and holds back the prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from model.cells import clip, show, thousands_or_decimal, typed_number
from model.i18n import N_, _
from model.schema import Feature, Schema
from model.validation import validate_patient
from ui.choices import kept_index, remember

__all__ = ["Entered", "patient_form", "show_problems"]

UNKNOWN_LABEL = N_("unknown")
# the "unknown" option of a list or yes/no: not None, which Streamlit draws as nothing chosen;
# no schema's value (numbers, or words without angle brackets)
UNKNOWN = "<unknown>"
# what a number box left empty returns: not None, which the schema reads as "unknown"
EMPTY = object()
# an ordered scale of at most this many grades is drawn with every grade in view
SHORT_SCALE = 6


@dataclass
class Entered:
    """What the form holds: ``values`` ({feature: value, None where unknown or left empty}),
    ``errors`` as (feature, message naming its field) in the form's order, and ``data``, the
    one-row frame to predict from (None while there are errors)."""

    values: dict
    errors: list[tuple[str, str]] = field(default_factory=list)
    data: pd.DataFrame | None = None


def _unknown_label(f: Feature) -> str:
    # it names its field: a screen reader lists the form's boxes by name, not by place
    return _("{label} unknown").format(label=f.label)


def _numeric(f: Feature, key: str, default, fresh: bool) -> tuple[object, DeltaGenerator]:
    """The number box of ``f`` and its "unknown" box: (the value, None if unknown, EMPTY if
    the box was emptied, a :class:`NotANumber` for text that is not one; the place under
    the box for its errors). ``fresh``: the first run of this form on its page.

    A text box read by :func:`model.cells.typed_number`, not the browser's number box: that
    one drops a decimal comma as it is typed ("2,5" became 25, a value in range), and keeps
    a value beyond its limits to itself."""
    unit = f" ({f.unit})" if f.unit else ""
    help_text = f"{f.help} " + _("Allowed: {allowed}. Tick 'unknown' if not known.").format(
        allowed=f.describe_allowed()
    )
    known_default = default is not None and not (isinstance(default, float) and math.isnan(default))
    if known_default:
        start = float(round(default)) if f.kind == "integer" else float(default)
    else:
        start = float(f.min or 0)
    # the start value through the session, the box itself started empty: given a start
    # value, the browser puts it back in a box the user empties, unsaid. Set again where the
    # form is drawn anew: the box of the same key on another page (the calculator's and the
    # candidacy page's share the patient) is another widget, which may start empty otherwise.
    # Written as it is held (27.45, not 27.4; 55, not 55.0)
    if fresh or key not in st.session_state:
        st.session_state[key] = st.session_state.get(key, show(start))
    # the tick likewise: a browser keeps showing, and sends back, the tick it drew last
    ticked = f"{key}.unknown"
    if fresh or ticked not in st.session_state:
        st.session_state[ticked] = bool(st.session_state.get(ticked, not known_default))
    unknown = bool(st.session_state[ticked])
    text = st.text_input(
        f"{f.label}{unit}",
        key=key,
        help=help_text,
        disabled=unknown,
        persist_state="session",
    )
    slot = st.empty()
    # the box sits under its input and switches it off (read above, before the input is drawn)
    unknown = st.checkbox(
        _unknown_label(f),
        key=ticked,
        help=_("{label} is not known: the prediction averages over its plausible values.").format(
            label=f.label
        ),
        persist_state="session",
        wrap=True,
    )
    if unknown:
        return None, slot
    try:
        value = typed_number(str(text or ""))
    except ValueError:
        return NotANumber(str(text).strip()), slot
    return (EMPTY if value is None else value), slot


@dataclass(frozen=True)
class NotANumber:
    """What a number box holds that is not a number, as typed."""

    text: str


def _not_a_number_message(f: Feature, text: str) -> str:
    message = _(
        "{text} is not a number: enter {allowed}, or tick '{unknown}' if it is not known."
    ).format(text=repr(clip(text)), allowed=f.describe_allowed(), unknown=_unknown_label(f))
    if thousands_or_decimal(text):
        message += " " + _(
            "A comma before three digits can be a thousands separator or a decimal comma: "
            "write {whole} or {decimal}."
        ).format(whole=text.replace(",", ""), decimal=text.replace(",", "."))
    return message


def _empty_message(f: Feature) -> str:
    return _("the box is empty: enter {allowed}, or tick '{unknown}' if it is not known.").format(
        allowed=f.describe_allowed(), unknown=_unknown_label(f)
    )


def _choice(f: Feature, key: str, default, _fresh: bool):
    """A list or yes/no of ``f`` (``_fresh`` unused: a choice keeps its start value)."""
    options = [UNKNOWN, *f.allowed_values]
    if default is not None and not (isinstance(default, float) and math.isnan(default)):
        default = default if f.is_text else int(default)
    index = options.index(default) if default in options else 0

    # labels made now: Streamlit may format options outside this rerun's language
    label = {v: _(UNKNOWN_LABEL) if v == UNKNOWN else f.label_for(v) for v in options}.get

    help_text = f"{f.help} " + _("Allowed: {allowed}, or unknown.").format(
        allowed=f.describe_allowed()
    )
    index = kept_index(key, options, index, [label(v) for v in options])
    value = _list_widget(f)(
        f.label,
        options,
        index=index,
        format_func=label,
        key=key,
        help=help_text,
        persist_state="session",
    )
    remember(key, value)
    return (None if value == UNKNOWN else value), st.empty()


def _list_widget(f: Feature):
    """A yes/no on one line; a short ordered scale (its grades often long phrases, which a
    closed list cuts to its width) with every option shown, wrapped; a list otherwise. By
    the schema, not by the words: the input keeps its kind when the language changes."""
    if f.kind == "binary":
        return partial(st.radio, horizontal=True)
    if f.kind == "ordinal" and len(f.allowed_values) <= SHORT_SCALE:
        return st.radio
    return st.selectbox


def patient_form(
    schema: Schema,
    prefix: str,
    defaults: dict,
    stages: tuple[str, ...] | None = None,
    columns: int = 2,
) -> Entered:
    """Draw the inputs for the features of the given stages (all, in the schema's order, by
    default), each with its errors under it; return what they hold."""
    values: dict = {}
    unread: dict = {}  # the number boxes left empty or holding text, by feature
    slots: dict = {}
    stages = stages or tuple(s.name for s in schema.stages)
    fresh = st.session_state.get(f"{prefix}.form") != stages
    st.session_state[f"{prefix}.form"] = stages
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
                draw = _numeric if f.kind in ("continuous", "integer") else _choice
                value, slots[f.name] = draw(f, key, defaults.get(f.name), fresh)
            if value is EMPTY or isinstance(value, NotANumber):
                unread[f.name] = value
                value = None
            values[f.name] = value
    entered = _checked(values, unread, schema)
    for name, message in entered.errors:
        if name in slots:
            slots[name].error(message)
    return entered


def _checked(values: dict, unread: dict, schema: Schema) -> Entered:
    """The schema's checks of ``values``; a box emptied or holding text that is not a number
    (``unread``: EMPTY or NotANumber by feature) is an error of its own (checked as unknown,
    so that the other fields' errors are said too)."""
    report = validate_patient(values, schema)
    found: dict[str, list[str]] = {
        name: [
            _empty_message(schema.feature(name))
            if held is EMPTY
            else _not_a_number_message(schema.feature(name), held.text)
        ]
        for name, held in unread.items()
    }
    for p in report.problems:
        if p.severity == "error":
            found.setdefault(p.column, []).append(p.message)
    errors = []
    for name in [*(f.name for f in schema.features), *found]:
        f = schema.feature(name) if name in schema.feature_names else None
        # one message a field, the first found (each says everything allowed): a value out
        # of range and off the step was said twice, and only the last shown under its box
        for message in found.pop(name, [])[:1]:
            where = f.label if f else name
            errors.append((name, f"**{where}**: {message}" if where else message))
    return Entered(values, errors, None if errors else report.data)


def show_problems(entered: Entered) -> pd.DataFrame | None:
    """Show every error of the form (field, and what to do); return the row to predict from,
    or None while there are errors."""
    for _name, message in entered.errors:
        st.error(message)
    return entered.data
