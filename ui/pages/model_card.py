"""Model card: intended use, training data, metrics with intervals, calibration, limits."""

import pandas as pd
import streamlit as st

from model.i18n import DEFAULT, _, language, number, percent_format
from reporting import card, wording
from reporting.evidence import PLAUSIBILITY_NOTE, plausibility_table
from reporting.figures import calibration_figure
from reporting.summary import shown_columns
from ui.common import PLOT_CONFIG
from ui.state import choose_model, group_predictions, simulated_banner, validation_report

choice = choose_model()
st.title(_("Model card"))
if choice is not None:
    simulated_banner(choice)
    bundle, model = choice.bundle, choice.model
    report = validation_report(choice)
    m = bundle.manifest
    st.markdown(f"**{choice.schema.title}** · {choice.model_label}")
    declared = card.interactions_rows(choice.schema, m.models[model].params)
    about = pd.DataFrame(
        {
            "": [
                _("Bundle version"),
                _("Created"),
                _("Manifest SHA-256"),
                _("Model"),
                _("Default model of the bundle"),
                _("Tuned parameters"),
            ]
            + declared[0],
            _("Value"): [
                choice.version_id,
                m.created,
                choice.manifest_sha256,
                choice.model_label,
                _(m.label(choice.engine.default_model)),
                ", ".join(
                    f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}"
                    for k, v in m.models[model].params.items()
                ),
            ]
            + declared[1],
        }
    ).set_index("")
    # a cell shows 400 px of its text on one line: a hash, with no place to wrap, lost its
    # last characters past that
    row = f"td.row{list(about.index).index(_('Manifest SHA-256'))}"
    wrap = [("white-space", "normal"), ("overflow-wrap", "anywhere")]
    styled = about.style.set_uuid("about")  # a random id would change at every rerun
    st.table(styled.set_table_styles([{"selector": f"{row}, {row} *", "props": wrap}]))
    st.subheader(_("Intended use"))
    words = choice.schema.words
    # the report records it in English; in another language it is said again from the words
    recorded = report.get("intended_use")
    if recorded and language() != DEFAULT:
        recorded = wording.intended_use(words)
    st.write(recorded or _("Not recorded in this bundle."))
    st.markdown("**" + _("Intended users.") + f"** {words.intended_users}")
    st.markdown(
        "**"
        + _("Not for:")
        + "**\n"
        + "\n".join(f"- {x}" for x in wording.not_for(words, choice.synthetic))
    )

    st.subheader(_("Training data"))
    st.write(card.training_text(bundle))
    d = m.training_data
    st.caption(
        _("File SHA-256: {sha} · modified {modified}").format(
            sha=d.sha256, modified=d.file_modified
        )
    )
    if report.get("missing_data"):
        with st.expander(_("Missing values in the training data")):
            missing = pd.DataFrame(report["missing_data"])
            known = missing["feature"].isin(choice.schema.feature_names)
            missing.loc[known, "label"] = [
                choice.schema.feature(n).label for n in missing.loc[known, "feature"]
            ]
            st.dataframe(
                missing.rename(
                    columns={
                        "feature": _("Column"),
                        "label": _("Factor"),
                        "missing": _("missing"),
                        "percent": _("percent"),
                    }
                ),
                hide_index=True,
            )
            st.caption(_(report.get("missing_data_handling", "")))

    st.subheader(_("Performance (internal validation)"))
    st.write(card.c_index_text(bundle, model) + _("."))
    metrics = card.metrics_table(report, model, choice.schema.time_axis)
    if len(metrics):
        st.table(shown_columns(metrics.set_index("Metric")))
    st.caption(
        _(
            "Apparent: on the training data. Optimism-corrected: apparent minus the average "
            "optimism over bootstrap refits (Harrell). Out-of-bag: each patient scored only by "
            "refits that did not see them. External validation needs independent data "
            "(`python -m training evaluate`)."
        )
    )
    for other in choice.engine.comparison_models:
        with st.expander(
            _("{model}: a comparison only").format(model=_(m.label(other))), expanded=False
        ):
            st.warning(_(choice.engine.family(other).comparison_note))
            st.write(card.c_index_text(bundle, other) + _("."))
            others = card.metrics_table(report, other, choice.schema.time_axis)
            if len(others):
                st.table(shown_columns(others.set_index("Metric")))
    cal = (report.get("calibration") or {}).get(model)
    if cal:
        st.subheader(_("Calibration"))
        axis = choice.schema.time_axis
        horizons = [m.name for m in axis.marks if m.name in cal]
        tabs = st.tabs([axis.text(float(h)) for h in horizons])
        for tab, h in zip(tabs, horizons, strict=True):
            with tab:
                st.plotly_chart(
                    calibration_figure({choice.model_label: cal}, h, axis.unit),
                    key=f"card.cal.{h}",
                    config=PLOT_CONFIG,
                )
                c = cal[h]
                groups = pd.DataFrame(c["groups"])
                # survival as the plot's axes say it, one decimal; numbers, so they sort
                shown = [x for x in ("predicted", "observed", "lower", "upper") if x in groups]
                groups[shown] = 100 * groups[shown].astype(float)
                names = {
                    "n": _("patients"),
                    "predicted": _("mean predicted"),
                    "observed": _("observed"),
                    "lower": _("lower"),
                    "upper": _("upper"),
                    "group": _("group"),
                }
                st.dataframe(
                    groups.rename(columns=names),
                    column_config={
                        names[x]: st.column_config.NumberColumn(format=percent_format(1))
                        for x in shown
                    },
                    hide_index=True,
                    key=f"card.cal.{h}.table",
                )
                st.caption(
                    _(
                        "Calibration slope {slope} (1 is ideal), calibration-in-the-large "
                        "{large}; out-of-bag predictions compared with Kaplan-Meier."
                    ).format(
                        slope=number(c["slope"], 2),
                        large=("+" if c["in_the_large"] >= 0 else "")
                        + number(c["in_the_large"], 3),
                    )
                )
    beside = plausibility_table(group_predictions(choice, model), choice.schema)
    if len(beside):
        st.subheader(_("Beside published series"))
        st.caption(_(PLAUSIBILITY_NOTE))
        st.table(beside.set_index(_("Published system")))
    st.subheader(_("Inputs"))
    st.dataframe(
        shown_columns(card.feature_table(choice.schema)), hide_index=True, key="card.features"
    )
    st.subheader(_("Limitations"))
    limits = [
        wording.simulated_warning() if x == wording.SIMULATED_WARNING else _(x)
        for x in report.get("limitations", [])
    ] + card.hazards_over_time_limitations(report, choice.schema)
    st.markdown("\n".join(f"- {x}" for x in limits) or _("Not recorded."))
    by_piece = card.hazard_ratios_by_piece(report, choice.schema)
    if by_piece is not None:
        st.markdown("**" + _("Hazard ratios by time piece") + "**")
        st.table(by_piece.set_index(by_piece.columns[0]))
        st.caption(
            _(
                "The Cox model's design refitted in each time piece, at its penalty, on the "
                "patients still followed at the piece's start; each row compares two values "
                "of one factor, the others held at the reference patient's."
            )
        )
    with st.expander(_("Files and their SHA-256")):
        st.dataframe(
            pd.DataFrame(
                [{"file": k, "sha256": v} for k, v in m.files.items()]
                + [{"file": "manifest.json", "sha256": choice.manifest_sha256}]
            ).rename(columns={"file": _("file"), "sha256": "SHA-256"}),
            hide_index=True,
        )
        st.caption(
            _("Libraries: {libraries}").format(
                libraries=", ".join(f"{k} {v}" for k, v in m.libraries.items())
            )
        )
