"""Candidacy: only the facts known when the decision is made, the operation's likely outcomes."""

import streamlit as st

from model.i18n import _
from reporting.evidence import evidence_panel
from reporting.figures import prognosis_curve
from reporting.pdf import candidacy_report
from reporting.summary import (
    candidacy_scenarios,
    fmt_percent,
    outcome_chance,
    scenario_table,
    shown_columns,
)
from ui import common
from ui.form import patient_form, show_problems
from ui.state import choose_model, simulated_banner


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


choice = choose_model()
before = choice.schema.stage_label(choice.schema.decision_stage) if choice else _("before it")
st.title(_("Candidacy: {before}").format(before=before))
if choice is not None:
    simulated_banner(choice)
    schema = choice.schema
    words = schema.words
    caption = _(
        "For a tumour board deciding whether to treat: only what is known {before}. The "
        "chance of each of the {outcomes} comes from a model fitted on the training data; "
        "survival is shown for each outcome and overall, weighted by those chances."
    ).format(before=before, outcomes=words.outcomes_of)
    caption += " " + _(
        "The calculator, given the same facts and the {outcomes} unknown, averages over them "
        "with its imputation model instead, so its curve can differ from the overall one here."
    ).format(outcomes=words.outcomes_of)
    if choice.model != choice.engine.candidacy_model:
        used = _(choice.bundle.manifest.label(str(choice.engine.candidacy_model)))
        caption += " " + _("Candidacy always uses the {model}, which carries the band.").format(
            model=_lower_first(used)
        )
    st.caption(caption)
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.subheader(_("Patient (known {before})").format(before=before))
        entered = patient_form(
            schema,
            "patient",
            choice.bundle.manifest.reference_patient,
            stages=(schema.decision_stage,),
            columns=1,  # as on the calculator, beside the results
        )
        values = entered.values
    with right:
        X = show_problems(entered)
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
                    st.metric(
                        _("Chance of {outcome}").format(outcome=short),
                        fmt_percent(chance),
                        help=label,
                    )
            curves = [prognosis_curve(_("Overall (weighted by the chances)"), cand.overall)]
            named = candidacy_scenarios(schema, cand)
            curves += [prognosis_curve(n, p, band=False) for n, p in named]
            ref = cand.reference
            common.curve(
                curves,
                schema,
                key="cand.curve",
                title=_("Predicted survival {if_treated}").format(if_treated=words.if_treated),
                literature=ref,
            )
            if ref:
                st.caption(
                    _("Grey strip: {label}, median {span} ({source}).").format(
                        label=ref["label"].lower(),
                        span=schema.time_axis.span(ref["median_months"]),
                        source=ref["source"],
                    )
                    + f" {ref['note']}"
                )
            st.markdown(
                "**" + _("Overall, {if_treated}").format(if_treated=words.if_treated) + "**"
            )
            common.table(cand.overall, schema)
            st.markdown("**" + _("By the {outcomes}").format(outcomes=words.outcomes_of) + "**")
            st.table(shown_columns(scenario_table(named, schema)))
            # of the facts asked for here: the later ones are unknown by design
            unknown = [n for n, v in values.items() if v is None]
            common.unknown_note(unknown, choice, choice.engine.candidacy_model)
            # of the overall numbers, by the calculator's rule
            common.wide_range(cand.overall, choice)
            warnings = choice.engine.warnings(X)[0] + choice.engine.risk_warnings(
                cand.overall, choice.engine.candidacy_model
            )
            for w in warnings:
                st.warning(w)
            common.pdf_download(
                _("Download the one-page PDF report"),
                lambda: candidacy_report(choice, values, cand, warnings),
                file_name="hipec-prognosis-candidacy.pdf",
                key="cand.pdf",
            )
            common.evidence(evidence_panel(schema, values, "candidacy"), other_first=True)
