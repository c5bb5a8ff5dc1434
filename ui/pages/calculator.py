"""Calculator: one patient's survival curve, band, landmarks, contributions, conditional survival.

Read by the clinician (every number) or, in the patient's reading mode, by the patient
(:mod:`ui.patient`: the same figures in words and pictures)."""

import math

import streamlit as st

from model.cells import clip, typed_number
from model.i18n import _
from model.timeaxis import unit_name
from reporting.evidence import evidence_panel
from reporting.figures import prognosis_curve
from reporting.pdf import patient_report
from reporting.plain import rarely_alive_note
from ui import common, patient
from ui.form import patient_form, show_problems
from ui.state import CALCULATOR_PATIENT, Choice, choose_model, reading_mode, simulated_banner


def _down(value: float, digits: int) -> float:
    return math.floor(value * 10**digits) / 10**digits


def conditional_on(choice: Choice, prog, for_patient: bool):
    """The "alive at" input (in the schema's unit) and the curve given it: (shown, months)."""
    words, axis = choice.schema.words, choice.schema.time_axis
    # given alive at or after the curve's last step nothing is known (it is flat there)
    end = float(axis.from_months(prog.conditional_until))
    fields = dict(
        event_free=words.event_free,
        origin=words.origin,
        said_origin=words.said_origin,
        unit=unit_name(axis.unit),
        endpoint=words.endpoint,
    )
    label = (
        _("Already {event_free} for some time {said_origin}? For how many {unit}? (0 if not)")
        if for_patient
        else _("Conditional survival: {event_free} at … {unit} {origin} (0 = from the start)")
    ).format(**fields)
    # a text box read as the patient form's are (ui.form): the browser's number box drops a
    # decimal comma as it is typed (2,5 became 25) and keeps a value beyond its limits to
    # itself; empty is 0, as the label says
    st.session_state.setdefault("alive_at", "0")
    text = st.text_input(
        label,
        key="alive_at",
        help=_(
            "For a patient seen in follow-up: {endpoint} from now on, given that they are "
            "{event_free} this many {unit} {origin}, S(t | T > s) = S(t) / S(s)."
        ).format(**fields),
        persist_state="session",
    )
    try:
        alive_in_unit = typed_number(str(text or "")) or 0.0
    except ValueError:
        st.error(
            _(
                "Conditional survival: {text} is not a number of {unit}: enter 0 to {end}. "
                "The numbers shown are from the start."
            ).format(
                text=repr(clip(str(text).strip())),
                unit=unit_name(axis.unit),
                end=axis.text(_down(end, axis.digits)),
            )
        )
        return prog, 0.0
    if not 0 <= alive_in_unit <= end:
        # the end rounded down, as shown: a time at the shown end is accepted
        st.error(
            _(
                "Conditional survival: {value} is outside 0 to {end}, the last time at which "
                "the curve still falls; the numbers shown are from the start."
            ).format(value=f"{alive_in_unit:g}", end=axis.text(_down(end, axis.digits)))
        )
        return prog, 0.0
    # the time as entered: the curve between its grid points is the value at the point before
    alive_at = float(axis.on_grid(alive_in_unit)) if alive_in_unit else 0.0
    try:
        shown = prog.conditional(alive_at) if alive_at else prog
    except ValueError:  # no measurable chance of being event-free then
        st.error(
            _(
                "Conditional survival: the model gives no measurable chance of being "
                "{event_free} at {when}."
            ).format(event_free=words.event_free, when=axis.text(alive_in_unit))
        )
        return prog, 0.0
    # to the patient, said among the notes on what the numbers mean
    rare = rarely_alive_note(shown, choice.schema)
    if rare and not for_patient:
        st.warning(rare)
    return shown, alive_at


def clinician_view(choice: Choice, values: dict, prog, shown, alive_at: float, warnings):
    """Every number: curve and band, table, words and pictures, contributions, PDF; then the
    published evidence (after the patient's own numbers: on a phone the columns stack)."""
    schema = choice.schema
    words, axis = schema.words, schema.time_axis
    title = (
        _("Survival given {event_free} at {when}").format(
            event_free=words.event_free, when=axis.said(alive_at)
        )
        if alive_at
        else _("Predicted survival")
    )
    common.curve(
        [prognosis_curve(_("This patient"), shown)],
        schema,
        key="calc.curve",
        title=title,
        alive_at=alive_at or None,
    )
    common.table(shown, schema)
    panel = evidence_panel(schema, values, "calculator", alive_at)
    common.evidence_beside_conditional(panel, alive_at)
    common.notes(prog, warnings, choice, shown)
    st.subheader(_("In words and pictures"))
    common.plain_words(shown, schema, alive_at)
    common.icon_array(shown, schema, alive_at, key="calc.icons")
    st.subheader(_("What each factor contributes"))
    common.contributions(prog, choice, key="calc.contrib")
    common.pdf_download(
        _("Download the one-page PDF report"),
        lambda: patient_report(choice, values, prog, warnings, alive_at=alive_at),
        file_name="hipec-prognosis-report.pdf",
        key="calc.pdf",
    )
    common.evidence(panel)


choice = choose_model()
mode = reading_mode()
st.title(
    _("Survival {origin}").format(origin=choice.schema.words.origin)
    if choice is not None
    else _("Survival")
)
if choice is not None:
    simulated_banner(choice)
    schema = choice.schema
    for_patient = mode == "patient"
    if not for_patient:
        st.caption(
            _(
                "{model}, bundle {version}. The inputs start at the training data's typical "
                "patient: change each one to your patient's value, or mark it unknown."
            ).format(model=choice.model_label, version=choice.version_id)
        )
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader(_("Patient"))
        facts = st.expander(_("The facts the estimate uses")) if for_patient else st.container()
        with facts:
            # one column: beside the results it is too narrow for two (labels and the
            # values in the boxes were cut)
            entered = patient_form(
                schema, "patient", choice.bundle.manifest.reference_patient, columns=1
            )
            values = entered.values
    with right:
        X = show_problems(entered)
        # for the compare page to start from, with the bundle it was entered for (this
        # session's memory only, as the form's); none while the form has errors
        st.session_state.pop(CALCULATOR_PATIENT, None)
        if X is not None:
            st.session_state[CALCULATOR_PATIENT] = (choice.version_id, dict(values))
            prog = choice.engine.predict(X, choice.model, contributions=True)[0]
            # inputs outside the training data, then a combination of them beyond it
            warnings = choice.engine.warnings(X)[0] + choice.engine.risk_warnings(
                prog, choice.model
            )
            shown, alive_at = conditional_on(choice, prog, for_patient)
            if for_patient:
                patient.view(choice, prog, shown, alive_at, warnings)
            else:
                clinician_view(choice, values, prog, shown, alive_at, warnings)
