"""A scored cohort's tables: validation problems, and observed survival per risk group.

The page's cohort view shows these; the risk groups themselves are
:func:`model.risk_groups.risk_thirds`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from model.i18n import N_, _
from model.kaplan_meier import KaplanMeier
from model.risk_groups import RISK_THIRDS
from model.schema import Schema
from reporting.summary import fmt_percent

__all__ = [
    "RiskGroupSummary",
    "has_outcome",
    "problem_sentence",
    "problems_table",
    "risk_group_summary",
]


# a problem's severity, translated where shown
SEVERITIES = (N_("error"), N_("warning"))


def problems_table(problems) -> pd.DataFrame:
    """Validation problems, one row each: severity, row, file line, column, value, problem."""
    return pd.DataFrame(
        [
            {
                N_("severity"): _(p.severity),
                N_("row"): p.row,
                N_("file line"): p.line,
                N_("column"): p.column,
                N_("value"): p.value,
                N_("problem"): p.message,
            }
            for p in problems
        ]
    ).astype({"row": "Int64", "file line": "Int64"})


def problem_sentence(p) -> str:
    """A problem as a sentence to read whole: where it is (row and file line, column) and
    what is wrong."""
    if p.row is None:  # the whole file's, or a whole column's: the message may not name it
        if p.column is None:
            return p.message
        return _("column '{column}': {problem}").format(column=p.column, problem=p.message)
    return _("{severity} in row {row} (file line {line}), column '{column}': {problem}").format(
        severity=_(p.severity).capitalize(),
        row=p.row,
        line=p.line if p.line is not None else "–",
        column=p.column,
        problem=p.message,
    )


def has_outcome(data: pd.DataFrame, schema: Schema) -> bool:
    """Whether every row has its observed time and event (so Kaplan-Meier can be drawn)."""
    return (
        schema.time.name in data
        and schema.event.name in data
        and bool(data[schema.time.name].notna().all())
        and bool(data[schema.event.name].notna().all())
    )


@dataclass
class RiskGroupSummary:
    """Per risk group: the table shown, and the Kaplan-Meier curves (for
    :func:`reporting.figures.km_figure`; empty without observed outcomes)."""

    table: pd.DataFrame
    curves: list[dict] = field(default_factory=list)


def risk_group_summary(
    predictions: pd.DataFrame, data: pd.DataFrame, schema: Schema
) -> RiskGroupSummary:
    """Patients, mean predicted and (with outcomes) observed survival at the risk horizon.

    The groups are thirds of the risk score, the cumulative hazard at the schema's middle
    landmark (3 years by default); survival is summarised there too, in the data's time
    unit (``predictions`` has its ``surv_*`` column). ``predictions`` has a ``risk_group`` column (:func:`model.risk_groups.with_risk_thirds`)
    and is row-aligned with ``data``, the validated cohort.
    """
    marks = schema.time_axis.marks
    mark = marks[len(marks) // 2]
    h = mark.name
    observed = has_outcome(data, schema)
    rows, curves = [], []
    for g in RISK_THIRDS:
        idx = (predictions["risk_group"] == g).to_numpy()
        row = {
            N_("group"): _(g),
            _("patients"): int(idx.sum()),
            _("mean predicted S({h})").format(h=h): fmt_percent(
                float(predictions.loc[idx, f"surv_{h}"].mean())
            ),
        }
        if observed and idx.any():
            time, event = data[schema.time.name][idx], data[schema.event.name][idx]
            fit = KaplanMeier(time, event)
            row[_("observed S({h}) (Kaplan-Meier)").format(h=h)] = fmt_percent(
                fit.survival_at(mark.value)[0]
            )
            row[schema.words.events] = int(event.sum())
            curves.append(
                {
                    "name": _(g),
                    "time": schema.time_axis.to_months(fit.time),
                    "survival": fit.surv,
                    "lower": fit.lower,
                    "upper": fit.upper,
                }
            )
        rows.append(row)
    return RiskGroupSummary(pd.DataFrame(rows).set_index("group").rename_axis(_("group")), curves)
