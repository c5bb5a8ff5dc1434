"""Cohort: score an uploaded CSV; every validation problem listed; risk groups; download.

The upload stays in this browser session's memory: it is never written to disk,
cached across sessions or logged, and it is never unpickled (only parsed as CSV text).
"""

import hashlib

import pandas as pd
import streamlit as st

from model.export import safe_csv
from model.i18n import _
from model.risk_groups import with_risk_thirds
from model.validation import validate_dataset
from reporting.cohort import problem_sentence, problems_table, risk_group_summary
from reporting.figures import km_figure
from reporting.summary import shown_columns
from ui.common import PLOT_CONFIG, literal
from ui.state import choose_model, simulated_banner

PROBLEM_ROW_PX = 72
# up to this many problems of rows are listed as sentences; more go in a grid
FEW_PROBLEMS = 10
GRID_ORDER = ("row", "column", "problem", "value", "severity", "file line")


def score(choice, upload) -> dict:
    """Validate and score one upload; kept in this session only, keyed by content."""
    data = upload.getvalue()
    key = ("cohort", choice.version_id, choice.model, hashlib.sha256(data).hexdigest())
    memo = st.session_state.get("cohort.result")
    if memo and memo["key"] == key:
        return memo
    upload.seek(0)
    with st.spinner(_("Checking the file…")):
        checked = validate_dataset(upload, choice.schema, mode="predict")
    result = {"key": key, "checked": checked, "preds": None}
    if checked.ok:
        n = len(checked.data)
        bar = st.progress(0.0, text=_("Scoring {n} patients…").format(n=n))

        def scored(done: int, total: int) -> None:
            said = _("Scored {done} of {total} patients…").format(done=done, total=total)
            bar.progress(done / total, text=said)

        preds = choice.engine.predict_table(checked.data, choice.model, progress=scored)
        bar.empty()
        result["preds"] = with_risk_thirds(preds)
    st.session_state["cohort.result"] = result
    return result


choice = choose_model()
st.title(_("Score a cohort"))
if choice is not None:
    simulated_banner(choice)
    schema = choice.schema
    needed = ", ".join(schema.feature_names)
    st.caption(
        _(
            "Upload a comma-separated file with a header row and the columns {needed} "
            "(optional: {id}; with {time} and {event} the page also draws observed survival per "
            "risk group). Empty cells, NA and 'unknown' mean unknown. The file stays in this "
            "session's memory and is never stored."
        ).format(needed=needed, id=schema.id_column, time=schema.time.name, event=schema.event.name)
    )
    upload = st.file_uploader(_("Patients (CSV)"), type=["csv"], key="cohort.file")
    if upload is not None:
        result = score(choice, upload)
        checked = result["checked"]
        if checked.problems:
            errors = sum(p.severity == "error" for p in checked.problems)
            warns = len(checked.problems) - errors
            msg = (
                _(
                    "{errors} error(s) and {warnings} warning(s) in {file}: fix them and upload the file again."
                )
                if errors
                else _("{errors} error(s) and {warnings} warning(s) in {file}.")
            )
            (st.error if errors else st.warning)(
                msg.format(errors=errors, warnings=warns, file=literal(upload.name))
            )
            # a problem of the whole file is a sentence to read in full, not a grid cell cut
            # short; so are a few problems of rows (a grid's message column runs off a
            # phone's screen); more go in the grid, blank where a cell has nothing to say
            whole = [p for p in checked.problems if p.row is None]
            rows = [p for p in checked.problems if p.row is not None]
            few = len(rows) <= FEW_PROBLEMS
            for p in whole + (rows if few else []):
                st.markdown(f"- {literal(problem_sentence(p))}")
            if rows and not few:
                # where, then what: on a phone's width the message was the sixth column,
                # scrolled out of sight; the value and severity it repeats come after it
                table = shown_columns(problems_table(rows)[list(GRID_ORDER)])
                # rows of three lines: the grid wraps a cell's text only in rows taller than
                # 4rem, and a problem's message (the allowed values) runs to two or three
                st.dataframe(
                    table.astype(object).where(table.notna(), ""),
                    hide_index=True,
                    key="cohort.problems",
                    row_height=PROBLEM_ROW_PX,
                    column_config={_("problem"): st.column_config.TextColumn(width="large")},
                )
            # every problem, the whole file's among them, to fix the file by in a spreadsheet
            # beside it (its column names in English, as the predictions' download has them)
            st.download_button(
                _("Download the problems (CSV)"),
                data=safe_csv(problems_table(checked.problems)),
                file_name="problems.csv",
                mime="text/csv",
                key="cohort.problems.download",
                icon=":material/download:",
            )
        preds = result["preds"]
        if preds is not None:
            st.subheader(_("Predictions for {n} patients").format(n=len(preds)))
            unknown = checked.data[schema.feature_names].isna()
            if unknown.to_numpy().any():
                counts = unknown.sum()
                st.info(
                    _(
                        "{n} of {total} patients have unknown inputs ({which}): their "
                        "predictions average over the plausible values of what is unknown, "
                        "given what is known, and their ranges are wider."
                    ).format(
                        n=int(unknown.any(axis=1).sum()),
                        total=len(preds),
                        which=", ".join(
                            f"{schema.feature(c).label}: {int(k)}" for c, k in counts.items() if k
                        ),
                    )
                )
            # the risk groups shown in the reader's words; the download keeps the file's values
            shown = preds.assign(risk_group=preds["risk_group"].map(_))
            # numbers as the download writes them (4 decimals), not 0.0000000005
            digits = preds.attrs.get("digits", {})
            numbers = {
                c: st.column_config.NumberColumn(format=f"%.{digits.get(c, 4)}f")
                for c in shown.columns
                if pd.api.types.is_float_dtype(shown[c])
            }
            st.dataframe(shown, hide_index=True, key="cohort.preds", column_config=numbers)
            st.download_button(
                _("Download predictions (CSV)"),
                data=safe_csv(preds),
                file_name="predictions.csv",
                mime="text/csv",
                key="cohort.download",
                icon=":material/download:",
            )
            st.subheader(_("Risk groups"))
            st.caption(
                _(
                    "Thirds of the predicted risk score (cumulative hazard at {when}) within "
                    "this file."
                ).format(when=schema.time_axis.said(choice.bundle.risk_horizon))
            )
            groups = risk_group_summary(preds, checked.data, schema)
            st.table(groups.table)
            if groups.curves:
                st.plotly_chart(
                    km_figure(
                        groups.curves,
                        schema,
                        title=_(
                            "Observed {endpoint} by predicted risk group (Kaplan-Meier)"
                        ).format(endpoint=schema.words.endpoint),
                    ),
                    key="cohort.km",
                    config=PLOT_CONFIG,
                )
            else:
                st.caption(
                    _(
                        "No complete {time}/{event} columns: observed survival per group is not "
                        "drawn."
                    ).format(time=schema.time.name, event=schema.event.name)
                )
