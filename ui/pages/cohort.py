"""Cohort: score an uploaded CSV; every validation problem listed; risk groups; download.

The upload stays in this browser session's memory: it is never written to disk,
cached across sessions or logged, and it is never unpickled (only parsed as CSV text).
"""

import hashlib

import streamlit as st

from model.export import safe_csv
from model.risk_groups import with_risk_thirds
from model.validation import validate_dataset
from reporting.cohort import problems_table, risk_group_summary
from reporting.figures import km_figure
from ui.common import PLOT_CONFIG
from ui.state import choose_model, simulated_banner


def score(choice, upload) -> dict:
    """Validate and score one upload; kept in this session only, keyed by content."""
    data = upload.getvalue()
    key = ("cohort", choice.version_id, choice.model, hashlib.sha256(data).hexdigest())
    memo = st.session_state.get("cohort.result")
    if memo and memo["key"] == key:
        return memo
    upload.seek(0)
    with st.spinner("Checking the file…"):
        checked = validate_dataset(upload, choice.schema, mode="predict")
    result = {"key": key, "checked": checked, "preds": None}
    if checked.ok:
        with st.spinner(f"Scoring {len(checked.data)} patients…"):
            preds = choice.engine.predict_table(checked.data, choice.model)
        result["preds"] = with_risk_thirds(preds)
    st.session_state["cohort.result"] = result
    return result


choice = choose_model()
st.title("Score a cohort")
if choice is not None:
    simulated_banner(choice)
    schema = choice.schema
    needed = ", ".join(schema.feature_names)
    st.caption(
        f"Upload a comma-separated file with a header row and the columns {needed} (optional: "
        f"{schema.id_column}; with {schema.time.name} and {schema.event.name} the page also "
        "draws observed survival per risk group). Empty cells, NA and 'unknown' mean unknown. "
        "The file stays in this session's memory and is never stored."
    )
    upload = st.file_uploader("Patients (CSV)", type=["csv"], key="cohort.file")
    if upload is not None:
        result = score(choice, upload)
        checked = result["checked"]
        if checked.problems:
            errors = sum(p.severity == "error" for p in checked.problems)
            warns = len(checked.problems) - errors
            msg = f"{errors} error(s) and {warns} warning(s) in {upload.name}"
            (st.error if errors else st.warning)(
                msg + (": fix them and upload the file again." if errors else ".")
            )
            st.dataframe(problems_table(checked.problems), hide_index=True, key="cohort.problems")
        preds = result["preds"]
        if preds is not None:
            st.subheader(f"Predictions for {len(preds)} patients")
            st.dataframe(preds, hide_index=True, key="cohort.preds")
            st.download_button(
                "Download predictions (CSV)",
                data=safe_csv(preds),
                file_name="predictions.csv",
                mime="text/csv",
                key="cohort.download",
                icon=":material/download:",
            )
            st.subheader("Risk groups")
            st.caption(
                "Thirds of the predicted risk score (cumulative hazard at "
                f"{schema.time_axis.said(choice.bundle.risk_horizon)}) within this file."
            )
            groups = risk_group_summary(preds, checked.data, schema)
            st.table(groups.table)
            if groups.curves:
                st.plotly_chart(
                    km_figure(
                        groups.curves,
                        schema,
                        title=f"Observed {schema.words.endpoint} by predicted risk group "
                        "(Kaplan-Meier)",
                    ),
                    key="cohort.km",
                    config=PLOT_CONFIG,
                )
            else:
                st.caption(
                    f"No complete {schema.time.name}/{schema.event.name} columns: observed "
                    "survival per group is not drawn."
                )
