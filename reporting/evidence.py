"""Published evidence beside the model, worded once for the page, the PDF and the tests.

The evidence panel: for the patient as entered, each published system's group by the
paper's own definition (or why the patient cannot be placed), its published figures, its
source and its caveats, under the label "published series, not this model". The model
card's plausibility table: each published group's figure beside the model's prediction
for a typical patient of the group (:mod:`model.plausibility`).

Nothing here is a model output except the plausibility table's model columns, which say
so in their headings.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from model.candidacy import NOT_OPERATED
from model.evidence import Assignment, Evidence, Figure, evidence_for
from model.i18n import N_, _
from model.plausibility import GroupPrediction
from model.schema import Schema
from model.timeaxis import unit_name
from reporting.summary import (
    ESTIMATE,
    INTERVAL,
    OUTCOME,
    landmark_label,
    no_band,
    survival_table,
    value_text,
)

__all__ = [
    "PANEL_COLUMNS",
    "PANEL_INTRO",
    "MODEL_PREFIX",
    "PLAUSIBILITY_NOTE",
    "REPEAT_SURGERY",
    "Panel",
    "PanelRow",
    "conditional_rows",
    "evidence_of",
    "evidence_panel",
    "model_median",
    "not_yet",
    "plausibility_table",
]

# the evidence file's systems about other treatment paths than the one operation entered:
# shown where a tumour board weighs whether to operate, not beside one operated patient
REPEAT_SURGERY = "repeat_crs"
OTHER_PATHS = (NOT_OPERATED, REPEAT_SURGERY)
# a system whose figures are all of this measure is about years already survived
CONDITIONAL_MEASURE = "conditional_os"

PANEL_COLUMNS = [
    N_("Published system"),
    N_("This patient"),
    N_("Published figures"),
    N_("Source"),
]
PANEL_INTRO = N_(
    "Each published system places the patient by the paper's own definition and cut-offs; "
    "the figures are the paper's, for its own cohort."
)
# the plausibility table's model columns say whose numbers they are
MODEL_PREFIX = N_("This model, typical patient in the group")


def model_median(schema: Schema) -> str:
    """The plausibility table's column of the model's median."""
    return _("{prefix}: median {endpoint} ({unit})").format(
        prefix=_(MODEL_PREFIX),
        endpoint=schema.words.endpoint,
        unit=unit_name(schema.time_axis.unit),
    )


def not_yet(schema: Schema) -> tuple[str, str]:
    """What a system that needs facts known only after the decision reads before it:
    (the reason, the whole cell)."""
    short = _("it needs facts known only {later}").format(later=schema.later_label)
    whole = _("not placed {stage}: {reason}").format(
        stage=schema.stage_label(schema.decision_stage), reason=short
    )
    return short, whole


PLAUSIBILITY_NOTE = N_(
    'The columns headed "This model" give the model\'s prediction for a typical patient in '
    "this group (the training data's typical patient with the group's defining inputs set "
    "inside the group), not for "
    "the training patients of the group, which the bundle does not hold. Agreement with the "
    "published figure means the model orders and spaces these groups roughly as the series "
    "did; disagreement need not mean it is wrong: cohorts differ in case mix, era and "
    "treatment, a group's median is not its typical patient's, and the default model is "
    "trained on simulated patients."
)


@dataclass(frozen=True)
class PanelRow:
    """One published system's answer for the patient, as text."""

    system_id: str
    system: str
    patient: str
    figures: str
    source: str
    caveats: tuple[str, ...]
    placed: bool  # the patient is in one of the system's groups
    conditional: bool = False  # figures about years already survived
    other_path: bool = False  # about another treatment path than the operation entered
    series: bool = False  # the system has no groups to place a patient in

    def markdown(self) -> str:
        """The row as a short Markdown card: system and the patient's group, then figures."""
        patient = _md(self.patient)
        if not self.series:  # the group in bold; why there is none in italics
            patient = f"**{patient}**" if self.placed else f"*{patient}*"
        return f"**{_md(self.system)}** · {patient}  \n{_md(self.figures)}"

    @property
    def note(self) -> str:
        """Source, then the system's assumptions and caveats."""
        return " ".join([_("Source: {source}.").format(source=self.source), *self.caveats])


@dataclass(frozen=True)
class Panel:
    """The evidence panel for one patient."""

    label: str  # "published series, not this model"
    rows: tuple[PanelRow, ...]
    caveats: tuple[str, ...]  # the evidence file's own, about every row

    @property
    def heading(self) -> str:
        """The label as a heading: "Published series, not this model"."""
        return self.label[:1].upper() + self.label[1:]

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [[r.system, r.patient, r.figures, r.source] for r in self.rows],
            columns=[_(c) for c in PANEL_COLUMNS],
        )

    def row(self, system_id: str) -> PanelRow | None:
        return next((r for r in self.rows if r.system_id == system_id), None)

    @property
    def main(self) -> tuple[PanelRow, ...]:
        """The rows about the patient's own path (not :attr:`other`)."""
        return tuple(r for r in self.rows if not r.other_path)

    @property
    def other(self) -> tuple[PanelRow, ...]:
        """The rows about other treatment paths (without the operation, repeat surgery)."""
        return tuple(r for r in self.rows if r.other_path)

    def caveat_lines(self, rows: tuple[PanelRow, ...] | None = None) -> list[str]:
        """ "System: its assumptions and caveats", one per row that has any."""
        rows = self.rows if rows is None else rows
        return [f"{r.system}: {' '.join(r.caveats)}" for r in rows if r.caveats]


def _md(text: str) -> str:
    """Text shown as itself in Markdown (no emphasis, maths or strike-through by accident)."""
    for c in "\\*_$~`":
        text = text.replace(c, "\\" + c)
    return text.replace("\n", " ")


def evidence_of(schema: Schema) -> Evidence | None:
    """The schema's published evidence (None without a usable file)."""
    return evidence_for(schema)


def _is_conditional(a: Assignment) -> bool:
    return bool(a.system.figures) and all(
        f.measure == CONDITIONAL_MEASURE for f in a.system.figures
    )


def _shown(a: Assignment, view: str, alive_at: float) -> bool:
    if _is_conditional(a):
        return view == "calculator" and alive_at > 0
    if a.system.id in OTHER_PATHS:
        return view == "candidacy"
    return True


def evidence_panel(
    schema: Schema, patient: dict, view: str = "calculator", alive_at: float = 0
) -> Panel | None:
    """The panel for a patient as entered; None when the schema has no published evidence.

    ``view`` is ``"calculator"`` (every fact; conditional survival's published figures
    when ``alive_at`` > 0) or ``"candidacy"`` (pre-operative facts only; the other
    treatment paths: chemotherapy without surgery, repeat surgery).
    """
    if view not in ("calculator", "candidacy"):
        raise ValueError(f"view must be 'calculator' or 'candidacy', not {view!r}")
    evidence = evidence_of(schema)
    if evidence is None:
        return None
    evidence = evidence.localized()
    later: set[str] = set()
    if view == "candidacy":
        pre = {f.name for f in schema.stage_features(schema.decision_stage)}
        patient = {k: v for k, v in patient.items() if k in pre}
        later = {f.name for f in schema.features if f.name not in pre}
    labels = {f.name: f.label for f in schema.features}
    rows = tuple(
        _row(a, later, labels, not_yet(schema))
        for a in evidence.assign(patient)
        if _shown(a, view, alive_at)
    )
    return Panel(label=evidence.label, rows=rows, caveats=evidence.caveats)


def conditional_rows(panel: Panel | None) -> list[PanelRow]:
    """The panel's published conditional-survival rows (shown beside the conditional table)."""
    return [r for r in panel.rows if r.conditional] if panel is not None else []


def _row(a: Assignment, later, labels: dict, waiting: tuple[str, str]) -> PanelRow:
    """``later``: inputs not known yet (post-operative ones, before the operation);
    ``labels``: the inputs' labels; ``waiting``: :func:`not_yet`'s words."""
    system = a.system
    numbered = len({f.source.id for f in a.figures}) > 1
    tags = {s.id: f" [{i}]" for i, s in enumerate(system.sources, start=1)} if numbered else {}
    groups = {g.id: g.label for g in system.groups}

    def figure_text(f: Figure) -> str:
        return f.text + tags.get(f.source.id, "")

    # figures of one group together, after the group's label when the patient has no group
    by_group: dict[str | None, list[str]] = {}
    for f in a.figures:
        by_group.setdefault(f.group, []).append(figure_text(f))
    sep = _("; ")
    figures = " · ".join(
        _("{group}: {figures}").format(group=groups[g], figures=sep.join(texts))
        if a.group is None and g is not None
        else sep.join(texts)
        for g, texts in by_group.items()
    )

    if a.group is not None:
        patient = a.group.label
    elif a.missing and set(a.missing) & later:
        # before the operation: name the unknown pre-operative inputs, not the later ones
        known_later = [n for n in a.missing if n not in later]
        unknown = sep.join(_("{label} unknown").format(label=labels.get(n, n)) for n in known_later)
        patient = (
            _("not placed: {reason}").format(reason=f"{unknown}{sep}{waiting[0]}")
            if unknown
            else waiting[1]
        )
    elif a.reason is not None:
        patient = _("not placed: {reason}").format(reason=a.reason)
    else:
        patient = system.population or _("all patients of the series")
    used = [s for s in system.sources if any(f.source.id == s.id for f in a.figures)]
    source = sep.join(f"{tags.get(s.id, '').strip()} {s.text}".strip() for s in used)
    return PanelRow(
        system_id=system.id,
        system=system.title,
        patient=patient,
        figures=figures,
        source=source,
        caveats=a.caveats,
        placed=a.group is not None,
        conditional=_is_conditional(a),
        other_path=system.id in OTHER_PATHS,
        series=not system.assignable,
    )


# ----------------------------------------------------------------- model card
def _cell(row: pd.Series) -> str:
    est, ival = row[ESTIMATE], row[INTERVAL]
    return est if no_band(ival) else f"{est} ({ival})"


def _localized_system(localized: Evidence | None, system):
    """A system as the localised evidence words it (itself where there is none)."""
    if localized is None:
        return system
    try:
        return localized.system(system.id)
    except KeyError:
        return system


def _localized_figure(system, figure: Figure) -> Figure:
    """A figure with its note as the localised ``system`` words it."""
    for f in system.figures:
        if (f.group, f.measure, f.years, f.value) == (
            figure.group,
            figure.measure,
            figure.years,
            figure.value,
        ):
            return f
    return figure


def _short(text: str) -> str:
    """ "CC1" from "CC1 - residual nodules < 2.5 mm"."""
    return text.split(" - ")[0]


def plausibility_table(predictions: list[GroupPrediction], schema: Schema) -> pd.DataFrame:
    """Each published group's figure beside the model's prediction for a typical patient.

    The model's cells are those of :func:`reporting.summary.survival_table` for the
    typical patient: "estimate (95 % interval)".
    """
    axis = schema.time_axis
    last = axis.marks[-1]
    when = axis.years(last.months) or axis.text(last.value)
    five = landmark_label(schema, last.value)
    sep = _("; ")
    evidence = evidence_of(schema)
    localized = evidence.localized() if evidence is not None else None
    rows = []
    for g in predictions:
        table = survival_table(g.prognosis, schema)
        at_five = table[table[OUTCOME] == five]
        system = _localized_system(localized, g.system)
        groups = {x.id: x.label for x in system.groups}
        figures = [_localized_figure(system, f) for f in g.figures]
        rows.append(
            {
                _("Published system"): system.title,
                _("Group"): groups.get(g.group.id, g.group.label),
                _("Published figure"): sep.join(f.text for f in figures),
                # each figure with its citation, as the evidence panel gives them
                _("Source"): sep.join(dict.fromkeys(f.source.text for f in figures)),
                _("Typical patient in the group"): sep.join(
                    _("{label}: {value}").format(
                        label=schema.feature(n).label,
                        value=_short(value_text(schema.feature(n), v)),
                    )
                    for n, v in g.defining.items()
                ),
                # the survival table's last row is the median
                model_median(schema): _cell(table.iloc[-1]),
                _("{prefix}: survival at {when}").format(prefix=_(MODEL_PREFIX), when=when): (
                    _cell(at_five.iloc[0]) if len(at_five) else "–"
                ),
            }
        )
    return pd.DataFrame(rows)
