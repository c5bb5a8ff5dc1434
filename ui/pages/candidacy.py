"""Candidacy: only the facts known when the decision is made, the operation's likely outcomes."""

import streamlit as st

from reporting.evidence import evidence_panel
from reporting.figures import prognosis_curve
from reporting.pdf import candidacy_report
from reporting.summary import (
    candidacy_scenarios,
    fmt_percent,
    outcome_chance,
    scenario_table,
)
from ui import common
from ui.form import patient_form, show_problems
from ui.state import choose_model, simulated_banner


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


choice = choose_model()
before = choice.schema.stage_label(choice.schema.decision_stage) if choice else "before it"
st.title(f"Candidacy: {before}")
if choice is not None:
    simulated_banner(choice)
    schema = choice.schema
    words = schema.words
    st.caption(
        f"For a tumour board deciding whether to treat: only what is known {before}. "
        f"The chance of each of the {words.outcomes_of} comes from a model fitted on the "
        "training data; survival is shown for each outcome and overall, weighted by those "
        "chances. "
        + (
            ""
            if choice.model == choice.engine.candidacy_model
            else f"Candidacy always uses the {_lower_first(choice.bundle.manifest.label(str(choice.engine.candidacy_model)))}, which carries the band."
        )
    )
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader(f"Patient (known {before})")
        values = patient_form(
            schema,
            "patient",
            choice.bundle.manifest.reference_patient,
            stages=(schema.decision_stage,),
        )
    with right:
        X = show_problems(values, schema)
        if X is not None:
            try:
                cand = choice.engine.candidacy(X)
            except ValueError as exc:
                st.error(str(exc))
                cand = None
        else:
            cand = None
        if cand is not None:
            cols = st.columns(len(cand.chances))
            for col, c in zip(cols, cand.chances, strict=True):
                short, label, chance = outcome_chance(schema, c)
                with col:
                    st.metric(f"Chance of {short}", fmt_percent(chance), help=label)
            curves = [prognosis_curve("Overall (weighted by the chances)", cand.overall)]
            named = candidacy_scenarios(schema, cand)
            curves += [prognosis_curve(n, p, band=False) for n, p in named]
            ref = cand.reference
            common.curve(
                curves,
                schema,
                key="cand.curve",
                title=f"Predicted survival {words.if_treated}",
                literature=ref,
            )
            if ref:
                st.caption(
                    f"Grey strip: {ref['label'].lower()}, median "
                    f"{schema.time_axis.span(ref['median_months'])} "
                    f"({ref['source']}). {ref['note']}"
                )
            st.markdown(f"**Overall, {words.if_treated}**")
            common.table(cand.overall, schema)
            st.markdown(f"**By the {words.outcomes_of}**")
            st.table(scenario_table(named, schema))
            warnings = choice.engine.warnings(X)[0]
            for w in warnings:
                st.warning(w)
            st.download_button(
                "Download the one-page PDF report",
                data=lambda: candidacy_report(choice, values, cand, warnings),
                file_name="hipec-prognosis-candidacy.pdf",
                mime="application/pdf",
                key="cand.pdf",
                icon=":material/picture_as_pdf:",
            )
            common.evidence(evidence_panel(schema, values, "candidacy"), other_first=True)
