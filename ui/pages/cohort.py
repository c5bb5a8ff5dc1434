"""Cohort: score an uploaded CSV; every validation problem listed; risk groups; download.

The upload stays in this browser session's memory: it is never written to disk,
cached across sessions or logged, and it is never unpickled (only parsed as CSV text).
"""

import hashlib

import numpy as np
import pandas as pd
import streamlit as st

from model.export import safe_csv
from model.validation import validate_dataset
from reporting.figures import km_figure
from reporting.summary import fmt_percent
from training.describe import KaplanMeier
from ui.common import PLOT_CONFIG
from ui.state import choose_model, simulated_banner

GROUPS = ("lower risk third", "middle risk third", "higher risk third")


def problems_frame(problems) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "severity": p.severity,
                "row": p.row,
                "file line": p.line,
                "column": p.column,
                "value": p.value,
                "problem": p.message,
            }
            for p in problems
        ]
    ).astype({"row": "Int64", "file line": "Int64"})


def score(choice, upload) -> dict:
    """Validate and score one upload; kept in this session only, keyed by content."""
    data = upload.getvalue()
    key = ("cohort", choice.version_id, choice.model, hashlib.sha256(data).hexdigest())
    memo = st.session_state.get("cohort.result")
    if memo and memo["key"] == key:
        return memo
    upload.seek(0)
    with st.spinner("Checking the file…"):
        report = validate_dataset(upload, choice.schema, mode="predict")
    result = {"key": key, "report": report, "preds": None}
    if report.ok:
        with st.spinner(f"Scoring {len(report.data)} patients…"):
            preds = choice.engine.predict_table(report.data, choice.model)
        cuts = np.quantile(preds["risk_score"], [1 / 3, 2 / 3])
        preds.insert(
            2, "risk_group", [GROUPS[int(np.searchsorted(cuts, r))] for r in preds["risk_score"]]
        )
        result["preds"] = preds
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
        report = result["report"]
        if report.problems:
            errors = sum(p.severity == "error" for p in report.problems)
            warns = len(report.problems) - errors
            msg = f"{errors} error(s) and {warns} warning(s) in {upload.name}"
            (st.error if errors else st.warning)(
                msg + (": fix them and upload the file again." if errors else ".")
            )
            st.dataframe(problems_frame(report.problems), hide_index=True, key="cohort.problems")
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
            data = report.data
            has_outcome = (
                schema.time.name in data
                and schema.event.name in data
                and data[schema.time.name].notna().all()
                and data[schema.event.name].notna().all()
            )
            st.subheader("Risk groups")
            st.caption(
                "Thirds of the predicted risk score (cumulative hazard at "
                f"{choice.bundle.risk_horizon:g} months) within this file."
            )
            rows, km = [], []
            for g in GROUPS:
                idx = (preds["risk_group"] == g).to_numpy()
                row = {
                    "group": g,
                    "patients": int(idx.sum()),
                    "mean predicted S(36)": fmt_percent(float(preds.loc[idx, "surv_36"].mean())),
                }
                if has_outcome and idx.any():
                    fit = KaplanMeier(data[schema.time.name][idx], data[schema.event.name][idx])
                    row["observed S(36) (Kaplan-Meier)"] = fmt_percent(fit.survival_at(36)[0])
                    row["deaths"] = int(data[schema.event.name][idx].sum())
                    km.append(
                        {
                            "name": g,
                            "time": fit.time,
                            "survival": fit.surv,
                            "lower": fit.lower,
                            "upper": fit.upper,
                        }
                    )
                rows.append(row)
            st.table(pd.DataFrame(rows).set_index("group"))
            if km:
                st.plotly_chart(
                    km_figure(km, title="Observed survival by predicted risk group (Kaplan-Meier)"),
                    key="cohort.km",
                    config=PLOT_CONFIG,
                )
            else:
                st.caption(
                    f"No complete {schema.time.name}/{schema.event.name} columns: observed "
                    "survival per group is not drawn."
                )
