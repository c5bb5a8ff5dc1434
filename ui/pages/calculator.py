"""Calculator: one patient's survival curve, band, landmarks, contributions, conditional survival."""

import streamlit as st

from reporting.evidence import evidence_panel
from reporting.figures import prognosis_curve
from reporting.pdf import patient_report
from ui import common
from ui.form import patient_form, show_problems
from ui.state import choose_model, simulated_banner

choice = choose_model()
st.title(f"Survival {choice.schema.words.origin}" if choice is not None else "Survival")
if choice is not None:
    simulated_banner(choice)
    schema = choice.schema
    words, axis = schema.words, schema.time_axis
    st.caption(
        f"{choice.model_label}, bundle {choice.version_id}. The inputs start at the training "
        "data's typical patient: change each one to your patient's value, or mark it unknown."
    )
    panel = None
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader("Patient")
        values = patient_form(schema, "patient", choice.bundle.manifest.reference_patient)
    with right:
        X = show_problems(values, schema)
        if X is not None:
            prog = choice.engine.predict(X, choice.model, contributions=True)[0]
            warnings = choice.engine.warnings(X)[0]
            end = int(axis.from_months(prog.grid[-1]))
            alive_in_unit = st.number_input(
                f"Conditional survival: {words.event_free} at … {axis.unit} {words.origin} "
                "(0 = from the start)",
                min_value=0,
                max_value=end - 1,
                value=0,
                step=1,
                key="alive_at",
                help=f"For a patient seen in follow-up: {words.endpoint} from now on, given "
                f"that they are {words.event_free} this many {axis.unit} {words.origin}, "
                "S(t | T > s) = S(t) / S(s).",
                persist_state="session",
            )
            alive_at = float(axis.to_months(alive_in_unit))  # the model's curves are in months
            try:
                shown = prog.conditional(alive_at) if alive_at else prog
            except ValueError:  # no measurable chance of being event-free then
                st.error(
                    f"Conditional survival: the model gives no measurable chance of being "
                    f"{words.event_free} at {axis.text(alive_in_unit)}."
                )
                shown = prog
                alive_at = 0
            title = (
                f"Survival given {words.event_free} at {axis.text(alive_in_unit)}"
                if alive_at
                else "Predicted survival"
            )
            common.curve(
                [prognosis_curve("This patient", shown)],
                schema,
                key="calc.curve",
                title=title,
                alive_at=alive_at or None,
            )
            common.table(shown, schema)
            panel = evidence_panel(schema, values, "calculator", alive_at)
            common.evidence_beside_conditional(panel, alive_at)
            common.notes(prog, warnings, choice)
            st.subheader("In words and pictures")
            common.plain_words(shown, schema, alive_at)
            common.icon_array(shown, schema, alive_at, key="calc.icons")
            st.subheader("What each factor contributes")
            common.contributions(prog, choice, key="calc.contrib")
            st.download_button(
                "Download the one-page PDF report",
                data=lambda: patient_report(choice, values, prog, warnings, alive_at=alive_at),
                file_name="hipec-prognosis-report.pdf",
                mime="application/pdf",
                key="calc.pdf",
                icon=":material/picture_as_pdf:",
            )
    with left:
        common.evidence(panel)
