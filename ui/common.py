"""Drawing blocks shared by the pages: curves with their table, contributions, notes."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from model.i18n import DEFAULT, _, language, number, use
from model.prognosis import Prognosis
from model.schema import Schema
from model.timeaxis import years_text
from reporting.evidence import PANEL_INTRO, Panel, conditional_rows
from reporting.figures import contributions_figure, icon_array_figure, survival_figure
from reporting.fonts import FontMissingError, cjk_font
from reporting.plain import (
    icon_counts,
    icon_labels,
    icon_legend,
    icon_years,
    landmark_sentence,
    sentences,
    wide_range_note,
    year_months,
)
from reporting.summary import (
    OUTCOME,
    contribution_span,
    contribution_table,
    shown_columns,
    survival_table,
)
from ui.state import Choice

__all__ = [
    "contributions",
    "curve",
    "evidence",
    "evidence_beside_conditional",
    "icon_array",
    "in_language",
    "pdf_download",
    "notes",
    "plain_words",
    "table",
    "unknown_note",
    "wide_range",
]

# pixels of the contributions grid's first two columns, factor and hazard ratio: together
# within a phone's screen, the ratio's heading whole
FACTOR_WIDTH = 190
RATIO_WIDTH = 105
PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def pdf_download(label: str, make, file_name: str, key: str) -> None:
    """A download of a PDF made on click (``make``), in this rerun's language; where that
    language needs a font the machine lacks, the page says which package to install."""
    if language() != DEFAULT:
        try:
            cjk_font()
        except FontMissingError as exc:
            st.warning(
                _("The PDF cannot be made in this language here: {reason}.").format(reason=exc)
            )
            return
    st.download_button(
        label,
        data=in_language(make),
        file_name=file_name,
        mime="application/pdf",
        key=key,
        icon=":material/picture_as_pdf:",
        # whole on a phone: a long label was cut to "Download the patient's version (P…"
        wrap=True,
    )


def in_language(make):
    """``make`` (a download's deferred data) run in the language of this rerun, whenever
    Streamlit calls it."""
    lang = language()

    def run():
        with use(lang):
            return make()

    return run


def curve(curves: list[dict], schema: Schema, key: str, **kwargs) -> None:
    st.plotly_chart(survival_figure(curves, schema, **kwargs), key=key, config=PLOT_CONFIG)


def table(p: Prognosis, schema: Schema) -> None:
    st.table(shown_columns(survival_table(p, schema).set_index(OUTCOME)))
    if p.has_band:
        st.caption(_("95 % band: {method}.").format(method=_(p.band_method)))
    else:
        reason = _(p.band_method).removeprefix("none: ")
        st.caption(_("No uncertainty band: {reason}.").format(reason=reason))


# Characters Streamlit's Markdown would read as formatting (emphasis, code, links, HTML,
# headings, tables, strike-through, LaTeX between dollars)
_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_[]<>#|~$"})


def literal(text: str) -> str:
    """``text`` to show in Markdown as written: a file's or a column's name from an upload
    ("CA*125*", "cost_$") is the user's, not formatting."""
    return str(text).translate(_MARKDOWN)


def unknown_note(unknown: list[str], choice: Choice, model: str) -> None:
    """Name the inputs left unknown (none: nothing) and how ``model`` allows for them."""
    if not unknown:
        return
    names = _(", ").join(choice.schema.feature(n).label for n in unknown)
    how = (
        _(
            "The prediction averages over their plausible values given the known ones, "
            "and the band widens accordingly."
        )
        if choice.engine.has_band(model)
        else _("The model fills them in from the known ones.")
    )
    st.info(_("Unknown: {names}.").format(names=names) + " " + how)


def notes(p: Prognosis, warnings: list[str], choice: Choice, shown: Prognosis | None = None):
    """Unknown inputs, a wide range of the numbers ``shown`` (``p`` conditioned on being
    alive at a time, if it is), inputs outside the training data."""
    unknown_note(p.unknown, choice, choice.model)
    wide_range(shown or p, choice)
    for w in warnings:
        st.warning(w)


def wide_range(p: Prognosis, choice: Choice) -> None:
    """Say so where the range of ``p``'s numbers at the risk horizon is wide."""
    wide = wide_range_note(p, choice.schema, choice.bundle.manifest.fitted_on)
    if wide:
        st.info(wide)


def contributions(p: Prognosis, choice: Choice, key: str) -> None:
    if not p.contributions:
        return
    t = contribution_table(p.contributions, choice.schema)
    st.plotly_chart(contributions_figure(t), key=key, config=PLOT_CONFIG)
    fam = choice.engine.family(choice.model)
    span = contribution_span(p.contributions, choice.schema)
    if span:
        st.caption(span)
    if fam.additive_contributions:
        total = float(np.sum(t["log_hr"]))
        together = (
            _("Together: hazard ratio {hr} against the reference patient in that span.")
            if span
            else _("Together: hazard ratio {hr} against the reference patient.")
        )
        st.caption(
            _(fam.contribution_method) + " " + together.format(hr=number(math.exp(total), 2))
        )
    else:
        st.caption(_(fam.contribution_method))
    shown = shown_columns(t.drop(columns="log_hr"))
    factor, hr = _("Factor"), _("Hazard ratio")
    # the ratio beside its factor and both in view on a phone's 390 px: the grid scrolls
    # sideways to the rest, and left to take their width, the factors had hidden the ratio;
    # the factor is pinned, so that a row scrolled to its values still names its factor
    first = [factor, hr]
    st.dataframe(
        shown[[*first, *(c for c in shown.columns if c not in first)]],
        hide_index=True,
        key=f"{key}.table",
        width="stretch",
        column_config={
            factor: st.column_config.TextColumn(width=FACTOR_WIDTH, pinned=True),
            hr: st.column_config.TextColumn(width=RATIO_WIDTH),
        },
    )


def evidence(panel: Panel | None, other_first: bool = False) -> None:
    """The evidence panel: the label up front, then one card per published system.

    Rows about other treatment paths (without the operation, repeat surgery) carry their
    caveats as a warning; ``other_first`` shows them before the patient's own path.
    """
    if panel is None or not panel.rows:
        return
    st.subheader(panel.heading)
    st.info(
        # the heading's stop is the language's own ("。")
        _("**{heading}.** {intro}").format(heading=panel.heading, intro=_(PANEL_INTRO))
        + " "
        + " ".join(panel.caveats),
        icon=":material/menu_book:",
    )
    parts = [_own_path, _other_paths]
    for part in reversed(parts) if other_first else parts:
        part(panel)


def _own_path(panel: Panel) -> None:
    for r in panel.main:
        with st.container(border=True):
            st.markdown(r.markdown())
            st.caption(r.note)


def _other_paths(panel: Panel) -> None:
    if not panel.other:
        return
    st.markdown(_("**Other treatment paths** ({label})").format(label=panel.label))
    for r in panel.other:
        with st.container(border=True):
            st.markdown(r.markdown())
            st.caption(_("Source: {source}.").format(source=r.source))
            st.warning(" ".join(r.caveats), icon=":material/warning:")


def evidence_beside_conditional(panel: Panel | None, alive_at: float) -> None:
    """Published conditional-survival figures, under the conditional table."""
    if not alive_at:
        return
    for r in conditional_rows(panel):
        st.caption(
            _("**{heading}** ({system}): {figures} ({source}).").format(
                heading=panel.heading, system=r.system.lower(), figures=r.figures, source=r.source
            )
            + " "
            + " ".join(r.caveats)
        )


def plain_words(p: Prognosis, schema: Schema, alive_at: float = 0) -> None:
    """One plain sentence per landmark of the table, and the median."""
    st.markdown("\n".join(f"- {s}" for s in sentences(p, schema, alive_at)))


def icon_array(
    p: Prognosis, schema: Schema, alive_at: float, key: str, for_patient: bool = False
) -> None:
    """100 people like this patient at a year the user picks (1-5 years)."""
    years = icon_years(p, schema)
    if not years:
        st.caption(_("No year from 1 to 5 lies within the model's follow-up here."))
        return
    year = st.select_slider(
        _("Show 100 patients like you at") if for_patient else _("Show 100 patients like this at"),
        options=years,
        value=3 if 3 in years else years[0],
        # labels made now: Streamlit may format options outside this rerun's language
        format_func={
            y: _("{when} {origin}").format(when=years_text(y), origin=schema.words.said_origin)
            for y in years
        }.get,
        key=f"{key}.year.{years[0]}-{years[-1]}",
    )
    months = year_months(schema, year)
    counts = icon_counts(p, months)
    st.markdown(f"**{landmark_sentence(p, schema, months, alive_at, for_patient)}**")
    st.plotly_chart(icon_array_figure(counts, schema), key=key, config=PLOT_CONFIG)
    said = icon_labels(schema.words)
    if for_patient:
        st.caption(icon_legend(schema.words, counts.has_band))
        return
    legend = (
        _(
            "Filled circles: {alive}. Diamonds: may be {alive} or not, the 95 % band's "
            "uncertainty. Open circles: {died}. Counts are whole percentages, rounded as in "
            "the table."
        )
        if counts.has_band
        else _("Filled circles: {alive}. Open circles: {died}. This model gives no band.")
    )
    st.caption(legend.format(alive=said["alive"], died=said["died"]))
