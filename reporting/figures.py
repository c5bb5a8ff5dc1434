"""Plotly figures shared by the page and the PDF report (no Streamlit here).

Colours are the Okabe-Ito palette (safe for colour-blind readers); every curve also has
its own dash pattern and the figures carry their numbers in tables beside them, so
they stay readable in black and white.
"""

from __future__ import annotations

import html
import math
import textwrap
import unicodedata
from itertools import groupby

import numpy as np
import plotly.graph_objects as go

from model.i18n import _, percent
from model.schema import Schema
from model.timeaxis import amount, unit_name
from reporting.plain import icon_counted, icon_labels

__all__ = [
    "DASHES",
    "ICON_STYLES",
    "OKABE_ITO",
    "calibration_figure",
    "contributions_figure",
    "icon_array_figure",
    "km_figure",
    "prognosis_curve",
    "survival_figure",
    "time_title",
]

OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot"]
RAISES, LOWERS = "#D55E00", "#0072B2"


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _template() -> dict:
    import plotly.io as pio

    global _TEMPLATE
    if _TEMPLATE is None:
        _TEMPLATE = pio.templates["plotly_white"].to_plotly_json()
    return _TEMPLATE


_TEMPLATE = None


# characters of a bar's label per line (about 190 px at plotly's 12 px type)
LABEL_WIDTH = 34
# the axis title is centred under the bars, which have the right half of a phone's width
TITLE_WIDTH = 24


# a wide character (Chinese, full-width punctuation) takes two columns of a line; a line
# may break before any of them, as Chinese is written without spaces, but not before the
# punctuation that closes a phrase
_WIDE = "WF"
_NO_LINE_START = "，。、；：？！）》」』”’"
_NO_LINE_END = "（《「『“‘"


def _wide(c: str) -> bool:
    return unicodedata.east_asian_width(c) in _WIDE


def _columns(text: str) -> int:
    return sum(2 if _wide(c) else 1 for c in text)


def _kind(c: str) -> str:
    return "space" if c.isspace() else "wide" if _wide(c) else "narrow"


def _wrap(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` columns (a wide character counts two), broken
    at spaces, or between wide characters (plotly draws ``<br>`` as a line break and wraps
    nothing itself)."""
    if not any(_wide(c) for c in text):
        return "<br>".join(textwrap.wrap(text, width, break_on_hyphens=False)) or text
    # words: a run of spaces or of narrow characters, or one wide character
    words = []
    for kind, run in groupby(text, _kind):
        chars = list(run)
        words += chars if kind == "wide" else ["".join(chars)]
    lines: list[list[str]] = [[]]
    for w in words:
        line = lines[-1]
        if not line or _columns("".join(line) + w.rstrip()) <= width:
            line.append(w)
        elif w.isspace():
            lines.append([])
        elif w in _NO_LINE_START:  # the word before it goes down with it
            lines.append([line.pop(), w] if len(line) > 1 else [w])
        else:
            lines.append([w])
        if len(lines) > 1 and len(lines[-2]) > 1 and lines[-2][-1] in _NO_LINE_END:
            lines[-1].insert(0, lines[-2].pop())  # nor does a line end on an opening mark
    return "<br>".join(s for s in ("".join(x).strip() for x in lines) if s) or text


# characters a line of a figure's title: what a phone's width holds (plotly cuts, not wraps)
TITLE_LINE = 42
# characters a line of the published strip's name in the legend: what a phone's width (390
# px) holds beside the legend's symbol at 12 px type
STRIP_LINE = 40


# pixels above a title for plotly's toolbar, which a tap shows over the figure's top right:
# on a phone's width it covered the end of a title
TOOLBAR_PX = 30
# pixels a line of a title takes (plotly's title type is 17 px, its lines 1.3 em apart)
TITLE_LINE_PX = 22
# pixels between a title's last line and the plot
TITLE_GAP_PX = 10
# plotly sets a title of two or more lines this much higher than its anchor and pad say
# (about 0.7 of its type size), one of one line where they say
TITLE_LIFT_PX = 12


def _title_lines(title: str | None) -> int:
    """How many lines ``title`` takes once wrapped for a phone (none: 0)."""
    return _wrap(title, TITLE_LINE).count("<br>") + 1 if title else 0


def _base_layout(title: str | None, height: int) -> dict:
    lines = _title_lines(title)
    # plotly sets a title's first line at its anchor and the others below it, whatever the
    # anchor: a title anchored on the plot's top ran its second line over the plot. It hangs
    # from the figure's top, under the toolbar's room, and the margin holds every line.
    top = TOOLBAR_PX + TITLE_LINE_PX * lines + TITLE_GAP_PX if title else 20
    return {
        "title": (
            {
                "text": _wrap(title, TITLE_LINE),
                "y": 1,
                "yref": "container",
                "yanchor": "top",
                "pad": {"t": TOOLBAR_PX + (TITLE_LIFT_PX if lines > 1 else 0)},
            }
            if title
            else None
        ),
        # the plot as tall as under a one-line title before (top margin 50): the figure grows
        "height": height + (top - 50 if title else 0),
        "margin": {"l": 60, "r": 20, "t": top, "b": 40},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "xanchor": "left"},
        "hovermode": "x unified",
        "template": _template(),
    }


def _figure(data: list[dict], layout: dict) -> go.Figure:
    # plotly's validation of every property costs ~30 ms a figure, a third of a page
    # redraw; these specs are fixed by this module and validated once in its tests
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def _layout(fig: go.Figure, title: str | None, height: int) -> go.Figure:
    fig.update_layout(**{k: v for k, v in _base_layout(title, height).items() if k != "template"})
    fig.update_layout(template="plotly_white")
    return fig


def prognosis_curve(name: str, p, band: bool = True) -> dict:
    """A :class:`model.prognosis.Prognosis` as one curve of :func:`survival_figure`."""
    return {
        "name": name,
        "grid": p.grid,
        "survival": p.survival,
        "lower": p.lower if band else None,
        "upper": p.upper if band else None,
    }


def survival_figure(
    curves: list[dict],
    schema: Schema,
    title: str | None = None,
    literature: dict | None = None,
    alive_at: float | None = None,
    height: int = 420,
) -> go.Figure:
    """Survival curves with their 95 % bands.

    Parameters
    ----------
    curves : list of dict
        Each with ``name``, ``grid`` (months), ``survival`` and optionally
        ``lower``/``upper`` (no band is drawn where they are missing or NaN).
    schema : Schema
        Its time unit (the x axis) and words (the axes' titles).
    literature : dict, optional
        A published median range (``label``, ``median_months`` [lo, hi]) drawn as a
        labelled vertical strip, clearly marked as not a model output.
    alive_at : float, optional
        Conditional survival: marks the time (months) the patient is known to be alive at.
    """
    axis, words = schema.time_axis, schema.words
    data = []
    for k, c in enumerate(curves):
        colour = OKABE_ITO[k % len(OKABE_ITO)]
        # a name as typed (a scenario's): plotly reads tags in trace names as formatting
        name = html.escape(c["name"], quote=False)
        x = axis.from_months(np.asarray(c["grid"], dtype=float))
        lo, hi = c.get("lower"), c.get("upper")
        has_band = (
            lo is not None and hi is not None and np.isfinite(lo).all() and np.isfinite(hi).all()
        )
        if has_band:
            band = {"type": "scatter", "x": x, "mode": "lines", "legendgroup": c["name"]}
            data.append(
                {
                    **band,
                    "y": np.asarray(hi),
                    "line": {"width": 0, "shape": "hv"},
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
            data.append(
                {
                    **band,
                    "y": np.asarray(lo),
                    "line": {"width": 0, "shape": "hv"},
                    "fill": "tonexty",
                    "fillcolor": _rgba(colour, 0.18),
                    "name": _("{name}: 95 % band").format(name=name),
                    "hoverinfo": "skip",
                }
            )
        data.append(
            {
                "type": "scatter",
                "x": x,
                "y": np.asarray(c["survival"]),
                "mode": "lines",
                "name": name,
                "legendgroup": c["name"],
                "line": {
                    "color": colour,
                    "width": 2.5,
                    "dash": DASHES[k % len(DASHES)],
                    "shape": "hv",
                },
                # the survival as the tables write it ("69.3 %"), not plotly's "69.3%", with
                # its band where it has one; the name by reference: one typed with "%{" is
                # not read as a template
                "customdata": _hover_values(c["survival"], lo, hi)
                if has_band
                else _percents(c["survival"], 1),
                "hovertemplate": f"%{{x:.{axis.digits}f}} {unit_name(axis.unit)}: %{{customdata}}"
                + "<extra>%{fullData.name}</extra>",
            }
        )
    shapes = []
    end = max(float(np.asarray(c["grid"])[-1]) for c in curves) if curves else 60.0
    if literature:
        lo, hi = literature["median_months"]
        lo, hi = axis.from_months(lo), axis.from_months(hi)
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": lo,
                "x1": hi,
                "y0": 0,
                "y1": 1,
                "fillcolor": "#999999",
                "opacity": 0.25,
                "line": {"width": 0},
                "layer": "below",
                # named in the legend, not over the plot: a label on the axis lay over the
                # curves where 3-year survival is read
                "showlegend": True,
                "name": _strip_label(literature, axis),
            }
        )
    if alive_at:
        at = float(axis.from_months(alive_at))
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": at,
                "x1": at,
                "y0": 0,
                "y1": 1,
                "line": {"color": "#555555", "dash": "dot"},
            }
        )
    # each legend row, and the published strip's name (three lines), below the plot
    legend_px = 30 * ((len(curves) + 1) // 2) + (50 if literature else 0)
    layout = _base_layout(title, height + legend_px)
    layout.update(
        shapes=shapes,
        xaxis={
            "title": {"text": time_title(schema)},
            "range": [0, float(axis.from_months(end))],
            "dtick": axis.tick_step(end),
            # the unified hover's heading: the time as each curve's line gives it (259, not
            # 258.7188); the unit is in those lines
            "hoverformat": f".{axis.digits}f",
        },
        yaxis={"title": {"text": words.endpoint_title}, "range": [0, 1.02], **percent_ticks()},
    )
    return _figure(data, layout)


def _strip_label(literature: dict, axis) -> str:
    """The published strip's name in the legend, wrapped so that a phone's width holds it
    (plotly cuts a legend line at the figure's edge)."""
    text = _("{label}: median {span}").format(
        label=literature["label"], span=axis.span(literature["median_months"])
    )
    return "<br>".join(
        [_wrap(text, STRIP_LINE), _wrap(_("(published figure, not this model)"), STRIP_LINE)]
    )


def _hover_values(survival, lower, upper) -> list[str]:
    """Each grid point's survival and its 95 % band, as the hover shows them."""
    return [
        _("{estimate} (95 % band {low} to {high})").format(estimate=e, low=lo, high=hi)
        for e, lo, hi in zip(*(_percents(v, 1) for v in (survival, lower, upper)), strict=True)
    ]


def _percents(fractions, digits: int = 0) -> list[str]:
    return [percent(100 * float(f), digits) for f in np.asarray(fractions, dtype=float)]


def percent_ticks(step: float = 0.2) -> dict:
    """A 0-1 axis ticked in percentages as the language and the tables write them ("60 %" in
    English, "60%" in Chinese); plotly's own percent format has no space."""
    values = np.round(np.arange(0, 1 + step / 2, step), 10)
    return {"tickvals": list(values), "ticktext": _percents(values)}


def time_title(schema: Schema) -> str:
    """The time axis's title: "Months after CRS+HIPEC", "Days from randomisation"."""
    return _("{unit} {origin}").format(unit=schema.time_axis.unit_title, origin=schema.words.origin)


def contributions_figure(table, title: str | None = None, height: int | None = None) -> go.Figure:
    """Horizontal bars of each factor's hazard ratio against the reference patient.

    ``table`` is :func:`reporting.summary.contribution_table` (columns Factor, Patient,
    log_hr). Bars to the right raise the risk. The axis is logarithmic in the ratio.
    """
    t = table.iloc[::-1]
    x = t["log_hr"].to_numpy(dtype=float)
    # wrapped, so that the bars keep their width on a phone (390 px) and no label is cut
    labels = [
        _wrap(f"{f} = {v}", LABEL_WIDTH) for f, v in zip(t["Factor"], t["Patient"], strict=True)
    ]
    lines = max((label.count("<br>") + 1 for label in labels), default=1)
    bar = {
        "type": "bar",
        "x": x,
        "y": labels,
        "orientation": "h",
        "marker": {
            "color": [RAISES if v > 0 else LOWERS for v in x],
            "pattern": {"shape": ["/" if v > 0 else "" for v in x]},
        },
        "text": [f"×{math.exp(v):.2f}" for v in x],
        "textposition": "outside",
        "cliponaxis": False,  # the largest bar's ratio may run into the margin, not be cut
        "hovertemplate": "%{y}<br>" + _("hazard ratio") + " %{text}<extra></extra>",
    }
    # room past the longest bar for its "×1.72" on a phone's narrow plot
    span = max(0.7, float(np.abs(x).max()) * 1.45) if len(x) else 1.0
    ticks = [r for r in (0.1, 0.25, 0.5, 1, 2, 4, 10) if abs(math.log(r)) <= span]
    layout = _base_layout(title, height or 120 + len(t) * max(26, 15 * lines + 4))
    layout.update(
        showlegend=False,
        xaxis={
            "title": {
                "text": _wrap(
                    _("Hazard ratio against the reference patient (right: higher risk)"),
                    TITLE_WIDTH,
                )
            },
            "tickvals": [math.log(r) for r in ticks],
            "ticktext": [f"{r:g}" for r in ticks],
            "range": [-span, span],
            "zeroline": True,
            "zerolinecolor": "#333333",
        },
    )
    return _figure([bar], layout)


def km_figure(
    groups: list[dict], schema: Schema, title: str | None = None, height: int = 400
) -> go.Figure:
    """Kaplan-Meier curves (``name``, ``time`` in months, ``survival``, ``lower``, ``upper``)."""
    curves = [
        {
            "name": g["name"],
            "grid": np.concatenate([[0.0], g["time"]]),
            "survival": np.concatenate([[1.0], g["survival"]]),
            "lower": None if g.get("lower") is None else np.concatenate([[1.0], g["lower"]]),
            "upper": None if g.get("upper") is None else np.concatenate([[1.0], g["upper"]]),
        }
        for g in groups
    ]
    return survival_figure(curves, schema, title=title, height=height)


def calibration_figure(
    series: dict[str, dict], horizon: int | str, unit: str = "months"
) -> go.Figure:
    """Predicted against observed (Kaplan-Meier) survival in risk groups at one horizon.

    ``series`` maps a model's label to its entry of ``report.json``'s ``calibration``;
    several models share the axes (the training report), one is the model card's.
    ``horizon`` is the landmark as the calibration is keyed (in the schema's ``unit``).
    """
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        name=_("ideal"),
        line=dict(color="#999999", dash="dash"),
        hoverinfo="skip",
    )
    for i, (name, calibration) in enumerate(series.items()):
        cal = calibration.get(str(horizon)) or {}
        groups = [g for g in cal.get("groups", []) if g.get("observed") is not None]
        fig.add_scatter(
            x=[g["predicted"] for g in groups],
            y=[g["observed"] for g in groups],
            mode="markers+lines",
            name=name,
            marker=dict(
                color=OKABE_ITO[i % len(OKABE_ITO)],
                size=9,
                symbol=["circle", "square", "diamond", "triangle-up"][i % 4],
            ),
            line=dict(dash=DASHES[i % len(DASHES)]),
            error_y=dict(
                type="data",
                symmetric=False,
                array=[(g["upper"] or g["observed"]) - g["observed"] for g in groups],
                arrayminus=[g["observed"] - (g["lower"] or g["observed"]) for g in groups],
            ),
            customdata=[
                [percent(100 * g["predicted"]), percent(100 * g["observed"])] for g in groups
            ],
            hovertemplate=f"{name}<br>"
            + _("predicted")
            + " %{customdata[0]}<br>"
            + _("observed")
            + " %{customdata[1]}<extra></extra>",
        )
    when = amount(float(horizon), unit)
    fig.update_xaxes(
        title=_("Predicted survival at {when}").format(when=when), range=[0, 1], **percent_ticks()
    )
    fig.update_yaxes(
        title=_("Observed survival at {when}").format(when=when), range=[0, 1], **percent_ticks()
    )
    fig = _layout(fig, _("Calibration at {when}").format(when=when), 380)
    fig.update_layout(hovermode="closest")
    return fig


# icon array: shape, fill and colour differ, so the kinds read apart in black and white
ICON_STYLES = {
    "alive": {"symbol": "circle", "color": OKABE_ITO[0], "line": "#00456B"},
    "uncertain": {"symbol": "diamond", "color": OKABE_ITO[4], "line": "#6B4A00"},
    "died": {"symbol": "circle-open", "color": "#888888", "line": "#888888"},
}


def icon_array_figure(
    counts, schema: Schema, title: str | None = None, columns: int = 10, height: int = 390
):
    """100 people as icons: alive, may be either (the band), died (in the schema's words).

    ``counts`` is a :class:`reporting.plain.IconCounts`. Icons are filled row by row
    from the top left: first those alive, then the uncertain ones, then those who died.
    Each kind is one trace named with its count (:func:`reporting.plain.icon_counted`: with a
    band, the filled and open icons are its ends, "at least").
    """
    kinds = [("alive", counts.certain), ("uncertain", counts.uncertain), ("died", counts.died)]
    labels = icon_labels(schema.words)
    named = icon_counted(counts, schema.words)
    total = sum(n for _kind, n in kinds)
    rows = math.ceil(total / columns)
    data, start = [], 0
    for kind, n in kinds:
        cells = range(start, start + n)
        start += n
        style = ICON_STYLES[kind]
        label = labels[kind]
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [i % columns for i in cells],
                "y": [rows - 1 - i // columns for i in cells],
                "name": named.get(kind, ""),
                "marker": {
                    "symbol": style["symbol"],
                    "size": 19,
                    "color": style["color"],
                    "line": {"color": style["line"], "width": 2},
                },
                "hovertemplate": f"{label}<extra></extra>",
                "showlegend": kind in named,  # no band: no diamonds to name
            }
        )
    layout = _base_layout(title, height)
    hidden = {"visible": False, "fixedrange": True}
    # the toolbar's room above the first row: a tap showed it over the top right icon
    top = layout["margin"]["t"] if title else TOOLBAR_PX
    layout.update(
        hovermode="closest",
        height=layout["height"] + (0 if title else TOOLBAR_PX - 10),
        margin={"l": 10, "r": 10, "t": top, "b": 70},
        # under the icons, not beside them: on a phone a legend beside takes half the width
        # in the type of the sentences around it: the counts are what a patient reads
        legend={
            "orientation": "h",
            "yanchor": "top",
            "y": -0.02,
            "x": 0.5,
            "xanchor": "center",
            "font": {"size": 15},
        },
        xaxis={**hidden, "range": [-0.6, columns - 0.4]},
        yaxis={**hidden, "range": [-0.6, rows - 0.4], "scaleanchor": "x"},
    )
    return _figure(data, layout)
