"""PDF reports for tumour boards, generated in memory: one page, or more where the notes run
long (every page closes with the footer: model, training data, validation, intended use).

Three kinds: one patient (calculator), candidacy before surgery, and a scenario
comparison. Each holds the factors as entered (unknowns marked), the survival curve
with its band, 1/3/5-year survival and the median with intervals, the factor
contributions (patient report), the operative-outcome chances and curves
(candidacy), the model's name, version, SHA-256, training data and validation
C-index, the date and time, and the intended-use statement; for a model trained on
simulated data, a plain warning.

Figures: plotly's static export (kaleido, which drives ``/usr/bin/chromium``) when
asked for and available; otherwise, and by default for batches, the curves are drawn
directly with fpdf2 as vector lines, which needs no browser and stays legible in
black and white (distinct dash patterns, grey band). Nothing is written to disk.

The tables use :mod:`reporting.summary`, the same code as the page, so the numbers on
paper are the numbers on screen.
"""

from __future__ import annotations

import atexit
import io
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import pandas as pd
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, WrapMode

from model.bundle import Bundle
from model.candidacy import Candidacy
from model.i18n import DEFAULT, _, language, percent
from model.prognosis import Prognosis
from model.timeaxis import years_text
from reporting import card
from reporting.evidence import PANEL_INTRO, Panel, evidence_panel
from reporting.figures import ICON_STYLES, prognosis_curve, time_title
from reporting.fonts import cjk_font
from reporting.plain import (
    ICON_KINDS,
    IconCounts,
    icon_counted,
    icon_counts,
    icon_legend,
    icon_years,
    patient_notes,
    rarely_alive_note,
    sentences,
    wide_range_note,
    year_months,
)
from reporting.summary import (
    OVER_TIME,
    candidacy_scenarios,
    contribution_span,
    contribution_table,
    factor_table,
    fmt_percent,
    outcome_chance,
    scenario_table,
    shown_columns,
    survival_table,
)
from reporting.wording import intended_use_short, simulated_banner

__all__ = [
    "Figures",
    "ReportContext",
    "candidacy_report",
    "compare_report",
    "patient_leaflet",
    "patient_report",
    "plotly_available",
]

Figures = Literal["auto", "plotly", "native"]


@dataclass
class ReportContext:
    """Which model made the prediction (the page's model choice carries the same fields)."""

    bundle: Bundle
    model: str
    manifest_sha256: str


# black-and-white friendly: grey levels and dash patterns (dash, gap in mm) per curve
GREYS = [0, 80, 0, 110, 40, 0]
DASH = [(0, 0), (2.2, 1.2), (0.6, 0.9), (3.5, 1.2), (1.2, 1.2), (4, 1, 0.6)]
WIDTHS = [0.7, 0.45, 0.45, 0.45, 0.45, 0.3]
# The survival table's columns in the 78 mm right-hand column: the row label ("Overall survival
# at 3 years (36 months)") on one line, the interval ("100 % to 100 %") too; a longer endpoint
# or "not reached (> 120)" wraps
SURVIVAL_COLUMNS = (4.5, 1.4, 1.8)
# The contribution table's columns (mm of the 102 mm right-hand column), without and with
# "Over time": "unknown (imputed)", "27.45 U/mL" and "1.10 -> 1.10" each on one line (a
# row of two lines for each unknown input had pushed the footer off the page)
CONTRIBUTION_COLUMNS = ((40.0, 22.6, 20.0, 19.4), (36.0, 22.6, 14.6, 13.6, 15.2))
# the page's margin (mm) under the footer, which closes every page
BOTTOM_MARGIN = 7
# room (mm) between the body and the footer's rule; a page that continues says so there
FOOTER_GAP = 4
# a paragraph's line height per point of type, and the space (mm) under the footer's rule
PARAGRAPH_LEADING = 0.48
FOOTER_RULE = 1
# the height (mm) of the leaflet's pictures of 100 people, with their heading and legend
ICON_BLOCK = 84
# type sizes (pt) the evidence panel may take, largest first
EVIDENCE_SIZES = (5.8, 5.3, 4.8, 4.4)
# Layout caches, keyed on a panel's text (which depends on the patient): on only in a batch
# of reports (``python -m training report``, a process that ends with the batch), never in
# the page's long-running server, where nothing a user entered may outlive the session.
_LAYOUT: dict | None = None


def cache_layouts() -> None:
    """Keep panel type sizes and cell line breaks for the rest of this process (batches)."""
    global _LAYOUT
    if _LAYOUT is None:
        _LAYOUT = {}


def _cached(key: tuple, compute):
    if _LAYOUT is None:
        return compute()
    if key not in _LAYOUT:
        if len(_LAYOUT) > 4096:
            _LAYOUT.clear()
        _LAYOUT[key] = compute()
    return _LAYOUT[
        key
    ]  # a cell's text broken into lines, by width and type  # the type size chosen for a panel's text and position


_REPLACE = {"–": "-", "—": "-", "…": "...", "≥": ">=", "≤": "<=", "×": "x", "’": "'", "→": "->"}


def _t(text) -> str:
    """Core PDF fonts are Latin-1: replace the few typographic characters we use (the CJK
    font of the other languages has them all)."""
    s = str(text)
    if language() != DEFAULT:
        return s
    # a number and its per cent sign stay on one line ("18 %", not "18" then "%")
    s = s.replace(" %", "\u00a0%")
    for a, b in _REPLACE.items():
        s = s.replace(a, b)
    return s.encode("latin-1", "replace").decode("latin-1")


def plotly_available() -> bool:
    """Whether plotly's static export can run here (kaleido needs a Chromium browser)."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return False
    return any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome"))


def _plotly_figure(curves, schema, literature: dict | None, width_mm: float, height_mm: float):
    """The page's survival figure set for paper (4 px a millimetre)."""
    from reporting.figures import survival_figure

    fig = survival_figure(curves, schema, literature=literature, height=int(height_mm * 4))
    fig.update_layout(
        width=int(width_mm * 4),
        template="simple_white",
        hovermode=False,
        legend=dict(orientation="h", y=-0.3, x=0),
        margin=dict(b=90),
    )
    # the tick labels stand off the axes: "0 %" ended where the time axis's "0" began
    fig.update_xaxes(ticklabelstandoff=PLOTLY_STANDOFF_PX)
    fig.update_yaxes(ticklabelstandoff=PLOTLY_STANDOFF_PX)
    return fig


# millimetres a plotly figure with the published strip grows by, for the strip's legend
LITERATURE_LEGEND_MM = 12
# pixels between an axis of the paper figure and its tick labels
PLOTLY_STANDOFF_PX = 6


def _plotly_png(curves, schema, literature: dict | None, width_mm: float, height_mm: float):
    return plotly_image(_plotly_figure(curves, schema, literature, width_mm, height_mm))


def plotly_image(fig, fmt: str = "png", scale: float = 2) -> bytes:
    """``fig`` drawn by plotly's static export (``fmt`` "png" or "svg"), at the width and
    height of its layout; needs :func:`plotly_available`."""
    import kaleido

    global _KALEIDO_STARTED
    if not _KALEIDO_STARTED:
        # one browser for the process's life (~5 s to start, ~0.3 s a figure after that);
        # without MathJax, which kaleido would fetch from a CDN for every page it opens: no
        # figure here sets mathematics, and a hospital's network may have no way out
        kaleido.start_sync_server(silence_warnings=True, mathjax=False)
        atexit.register(kaleido.stop_sync_server, silence_warnings=True)
        _KALEIDO_STARTED = True
    return kaleido.calc_fig_sync(fig, opts={"format": fmt, "scale": scale})


_KALEIDO_STARTED = False


class _Report(FPDF):
    def __init__(self, context, title: str, figures: Figures, schema):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.figures = figures
        self.schema = schema  # the bundle's, localised once by the caller
        # Chinese (and any language beyond Latin-1) is set in an embedded CJK font
        self.cjk = language() != DEFAULT
        if self.cjk:
            for style, (path, face) in cjk_font().items():
                self.add_font("cjk", style, path, collection_font_number=face)
        self.heading_text = title
        # the footer's texts, not the context: each trial layout copies this object, and a
        # copy of the bundle cost 0.2 s
        self.footer_lines = _footer_lines(context, schema)
        self.footer_height = 0.0  # measured once the first page is open
        self._turning = False
        self.set_auto_page_break(False)
        self.set_margins(12, 10, 12)
        self.set_title(title)
        self.set_creator("hipec-prognosis")
        self.add_page()
        self.set_font("Helvetica", "B", 14)
        self.cell(0, 7, _t(title), new_x="LMARGIN", new_y="NEXT")
        self.set_font("Helvetica", "", 8)
        stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
        generated = _("Generated {stamp} by hipec-prognosis").format(stamp=stamp)
        self.cell(0, 4, _t(generated), new_x="LMARGIN", new_y="NEXT")
        if context.bundle.manifest.synthetic:
            self.ln(1)
            self.set_font("Helvetica", "B", 8.5)
            self.set_line_width(0.5)
            self.multi_cell(0, 4.2, _t(simulated_banner()), border=1, padding=1.2)
            self.set_line_width(0.2)
        self.ln(2)
        # The footer (model, training data, validation, intended use) closes every page, at
        # its measured height: a body that would reach it goes on to another page instead,
        # so no report can push those lines off the paper.
        self.footer_height = self._footer_size()
        self.set_auto_page_break(True, BOTTOM_MARGIN + self.footer_height + FOOTER_GAP)

    def add_page(self, *args, **kwargs):
        # known only here: the footer being drawn closes a page that another follows
        self._turning = self.page > 0
        try:
            super().add_page(*args, **kwargs)
        finally:
            self._turning = False

    def header(self) -> None:
        """A page after the first names the report it continues."""
        if self.page > 1:
            self.set_font("Helvetica", "B", 10)
            text = _("{title} (continued)").format(title=self.heading_text)
            self.cell(0, 5.5, _t(text), new_x="LMARGIN", new_y="NEXT")
            self.ln(1)

    def footer(self) -> None:
        if not self.footer_height:
            return
        top = self.h - BOTTOM_MARGIN - self.footer_height
        if self._turning:
            self.set_font("Helvetica", "I", 7)
            self.set_xy(self.l_margin, top - FOOTER_GAP + 0.5)
            text = _("Continued on page {page}.").format(page=self.page + 1)
            self.cell(0, 3, _t(text), align="R")
        self.set_y(top)
        self._footer_block()

    def fit(self, height: float) -> None:
        """Go on to a new page unless ``height`` mm more fits above the footer."""
        if self.get_y() + height > self.page_break_trigger:
            self.add_page(same=True)

    def multi_cell(self, *args, **kwargs):
        """Chinese has no spaces to break at: break at any character, flush left."""
        if self.cjk:
            kwargs.setdefault("wrapmode", WrapMode.CHAR)
            if kwargs.get("align", "J") == "J":
                kwargs["align"] = "L"
        return super().multi_cell(*args, **kwargs)

    def set_font(self, family=None, style="", size=0):
        """Every text in the CJK font when the language needs it (it has no italic)."""
        if self.cjk:
            # a new page restores the style as fpdf holds it, a TextEmphasis
            style = getattr(style, "style", style)
            family, style = "cjk", style.replace("I", "")
        super().set_font(family, style, size)

    # ----------------------------------------------------------------- blocks
    def heading(self, text: str, x: float | None = None, w: float = 0) -> None:
        if x is not None:
            self.set_x(x)
        self.set_font("Helvetica", "B", 10)
        self.cell(w, 5.5, _t(text), new_x="LEFT", new_y="NEXT")

    def kv_table(self, df, x: float, w: float, widths: tuple, size: float = 7.5, header=True):
        """A plain ruled table: header in bold, thin rules, fits in width ``w``. A text too
        long for its column wraps onto more lines (its row grows), never cut short: a row
        label such as "Recurrence-free survival at 3 years (1096 days)" must be read whole."""
        self.set_font("Helvetica", "", size)
        line = size * 0.52
        df = shown_columns(df)
        cols = list(df.columns)
        fr = [wi / sum(widths) * w for wi in widths]
        if header:
            self.set_font("Helvetica", "B", size)
            self._table_row(x, [_t(c) for c in cols], fr, line)
            self.set_font("Helvetica", "", size)
        for _i, row in df.iterrows():
            self._table_row(x, self._short_forms([_t(row[c]) for c in cols], fr), fr, line)

    def _short_forms(self, texts: list[str], widths: list[float]) -> list[str]:
        """A row's level labels cut to their code ("CC1 - residual nodules ..." -> "CC1")
        where one is too long for its column: then every value of the row is cut, so that
        one factor reads in one form across the scenarios ("CC0" beside "CC2", not "CC0 -
        no visible residual disease" beside "CC2"). The row's label is cut only if it must."""

        def long(text: str, width: float) -> bool:
            return " - " in text and self.get_string_width(text) > width - 2 * self.c_margin

        cut = any(long(t, w) for t, w in zip(texts[1:], widths[1:], strict=True))
        return [
            t.split(" - ")[0] if (cut and i > 0 and " - " in t) or long(t, w) else t
            for i, (t, w) in enumerate(zip(texts, widths, strict=True))
        ]

    def _table_row(self, x: float, texts: list[str], widths: list[float], line: float) -> None:
        """One row of :meth:`kv_table`: each text wrapped in its column, a rule under the row."""
        count = [
            len(self.multi_cell(wi, line, t, dry_run=True, output=MethodReturnValue.LINES))
            for t, wi in zip(texts, widths, strict=True)
        ]
        height = max(1, *count) * line
        self.fit(height)  # a row is never split between pages
        top, left = self.get_y(), x
        for t, wi in zip(texts, widths, strict=True):
            self.set_xy(left, top)
            self.multi_cell(wi, line, t, align="L", new_x="RIGHT", new_y="TOP")
            left += wi
        self.line(x, top + height, left, top + height)
        self.set_xy(x, top + height)

    def curves(self, curves: list[dict], x, y, w, h, literature=None) -> None:
        use_plotly = self.figures == "plotly" or (self.figures == "auto" and plotly_available())
        if use_plotly:
            # the published strip's name takes three lines of plotly's legend, which is
            # inside the image: as much room below the plot as the drawn figure's notes take
            h = h + (LITERATURE_LEGEND_MM if literature else 0)
            try:
                png = _plotly_png(curves, self.schema, literature, w, h)
                self.image(io.BytesIO(png), x=x, y=y, w=w, h=h)
                return
            except Exception:  # any export failure falls back to drawing
                if self.figures == "plotly":
                    raise
        self._draw_curves(curves, x, y, w, h, literature)

    def _draw_curves(self, curves, x, y, w, h, literature) -> None:
        left, bottom = 11, 9
        px, py, pw, ph = x + left, y + 2, w - left - 2, h - bottom - 2
        schema = self.schema
        axis = schema.time_axis
        tmax = max(float(np.asarray(c["grid"])[-1]) for c in curves)

        def X(t):
            return px + pw * np.asarray(t, dtype=float) / tmax

        def Y(s):
            return py + ph * (1 - np.asarray(s, dtype=float))

        self.set_font("Helvetica", "", 6.5)
        self.set_draw_color(200)
        self.set_line_width(0.1)
        for s in (0, 0.25, 0.5, 0.75, 1):
            self.line(px, float(Y(s)), px + pw, float(Y(s)))
            self.text(x + 1, float(Y(s)) + 1, percent(100 * s))
        step = axis.tick_step(tmax)
        for v in np.arange(0, float(axis.from_months(tmax)) * (1 + 1e-9), step):
            label = f"{v:g}"
            self.text(
                float(X(axis.to_months(v))) - self.get_string_width(label) / 2, py + ph + 3.5, label
            )
        title = _t(time_title(schema))
        self.text(px + pw / 2 - self.get_string_width(title) / 2, py + ph + 7.5, title)
        if literature:
            lo, hi = literature["median_months"]
            self.set_fill_color(225)
            self.rect(float(X(lo)), py, float(X(hi) - X(lo)), ph, style="F")
        # every band first, then every curve: a band painted after another scenario's curve
        # hid that curve wherever the two overlapped
        for k, c in enumerate(curves):
            lo, hi = c.get("lower"), c.get("upper")
            if lo is None or hi is None or not (np.isfinite(lo).all() and np.isfinite(hi).all()):
                continue
            # steps: each value holds until the next grid time
            gx = np.repeat(np.asarray(c["grid"], dtype=float), 2)[1:]
            top = list(zip(X(gx), Y(np.repeat(hi, 2)[:-1]), strict=True))
            bot = list(zip(X(gx), Y(np.repeat(lo, 2)[:-1]), strict=True))[::-1]
            self.set_fill_color(215 if k == 0 else 235)
            # half see-through where there are several, so that each band shows its extent
            with self.local_context(fill_opacity=0.5 if len(curves) > 1 else 1.0):
                self.polygon([(float(a), float(b)) for a, b in top + bot], style="F")
        for k, c in enumerate(curves):
            gx = np.repeat(np.asarray(c["grid"], dtype=float), 2)[1:]
            self.set_draw_color(GREYS[k % 6])
            self.set_line_width(WIDTHS[k % 6])
            d = DASH[k % 6]
            self.set_dash_pattern(dash=d[0], gap=d[1])
            pts = list(zip(X(gx), Y(np.repeat(c["survival"], 2)[:-1]), strict=True))
            self.polyline([(float(a), float(b)) for a, b in pts])
            self.set_dash_pattern()
        self.set_draw_color(0)
        self.set_line_width(0.2)
        self.rect(px, py, pw, ph)
        # legend under the plot
        self.set_font("Helvetica", "", 6.5)
        ly = y + h + 1
        for k, c in enumerate(curves):
            lx = px + (k % 2) * pw / 2
            yy = ly + (k // 2) * 3.4
            self.set_draw_color(GREYS[k % 6])
            self.set_line_width(WIDTHS[k % 6])
            self.set_dash_pattern(dash=DASH[k % 6][0], gap=DASH[k % 6][1])
            self.line(lx, yy, lx + 7, yy)
            self.set_dash_pattern()
            self.text(lx + 8.5, yy + 1, _t(c["name"]))
        self.set_draw_color(0)
        self.set_line_width(0.2)
        notes = []
        if any(c.get("lower") is not None and np.isfinite(c["lower"]).all() for c in curves):
            notes.append(_("Shaded: 95 % band."))
        if literature:
            lo, hi = literature["median_months"]
            notes.append(
                _("Grey strip at {span}: {label}, published median (not this model).").format(
                    span=axis.span((lo, hi)), label=literature["label"].lower()
                )
            )
        self.set_font("Helvetica", "I", 6.5)
        for j, note in enumerate(notes):
            self.text(px, ly + 3.4 * ((len(curves) + 1) // 2) + 0.6 + 3 * j, _t(note))

    def evidence(self, panel: Panel | None) -> None:
        """The evidence panel across the page: its label boxed, a wrapped table, caveats.

        Set in the largest of a few small type sizes that keeps it on this page, above the
        footer (each size is tried on a throw-away copy first); on the next page if none does.
        """
        if panel is None or not panel.rows:
            return
        # the size depends only on the panel's text and where it starts
        key = (
            "size",
            repr(panel.table().to_numpy().tolist()),
            tuple(panel.caveats),
            round(self.get_y(), 2),
        )
        size = _cached(key, lambda: self._panel_size(panel))
        if size is None:  # not even in the smallest type: the panel starts the next page
            self.add_page(same=True)
            size = self._panel_size(panel) or EVIDENCE_SIZES[-1]
        self._evidence(panel, size)

    def _panel_size(self, panel: Panel) -> float | None:
        """The largest type size that sets the panel on this page (None: none does)."""
        page = self.page
        for size in EVIDENCE_SIZES:
            with self.offset_rendering():
                self._evidence(panel, size)
                fits = self.page == page
            if fits:
                return size
        return None

    def _evidence(self, panel: Panel, size: float) -> None:
        line = size * 0.42
        self.ln(1)
        self.set_x(12)
        self.set_font("Helvetica", "B", 8.5)
        self.set_line_width(0.4)
        label = _t(panel.heading.upper())
        self.cell(self.get_string_width(label) + 3, 4.6, label, border=1, align="C")
        self.set_line_width(0.2)
        self.set_font("Helvetica", "I", 6)
        self.cell(0, 4.6, _t(f"  {_(PANEL_INTRO)}"))
        self.ln(5.2)
        t = panel.table()
        self.ruled_table(list(t.columns), t.itertuples(index=False), (25, 31, 62, 68), size, line)
        self.set_font("Helvetica", "I", size - 0.2)
        text = " ".join([*panel.caveats, *panel.caveat_lines()])
        # broken into lines once per text (fpdf's own breaking of this paragraph cost a
        # batch report about 20 ms at each size tried) and set line by line, flush left
        width = self.w - self.l_margin - self.r_margin
        self.set_x(self.l_margin)
        for text_line in self._lines(_t(text), width, "I", size - 0.2):
            self.cell(width, line, text_line, new_x="LMARGIN", new_y="NEXT")

    def _lines(self, text: str, width: float, style: str, size: float) -> list[str]:
        """``text`` broken into lines of ``width`` mm."""

        def wrap():
            self.set_font("Helvetica", style, size)
            return self.multi_cell(
                width, 1, text, dry_run=True, output=MethodReturnValue.LINES
            ) or [""]

        lines = _cached(("lines", text, width, style, size), wrap)
        return lines

    def ruled_table(self, header, rows, widths, size: float, line: float, pad=0.6) -> None:
        """A table of wrapped cells ruled below each row, header in bold, from the left
        margin; lines are set with cell(), which is far cheaper than fpdf's table."""
        x = self.l_margin
        for i, cells in enumerate([header, *rows]):
            style = "B" if i == 0 else ""
            wrapped = [
                self._lines(_t(str(c)), w - 2 * pad, style, size)
                for c, w in zip(cells, widths, strict=True)
            ]
            height = max(len(lines) for lines in wrapped) * line + 0.4
            self.fit(height)
            y = self.get_y()
            self.set_font("Helvetica", style, size)
            left = x
            for lines, w in zip(wrapped, widths, strict=True):
                for j, text in enumerate(lines):
                    self.set_xy(left + pad, y + 0.2 + j * line)
                    self.cell(w - 2 * pad, line, text)
                left += w
            self.set_y(y + height)
            self.line(x, y + height, x + sum(widths), y + height)

    def icons(self, c: IconCounts, x: float, y: float, cell: float = 4.4) -> None:
        """100 people, 10 by 10 from the top left: alive (filled circles), may be either
        (diamonds), had the event (open circles); told apart by shape in black and white."""
        kinds = [k for k, n in zip(ICON_KINDS, (c.certain, c.uncertain, c.died), strict=True)
                 for _i in range(n)]  # fmt: skip
        r = cell * 0.36
        self.set_line_width(0.3)
        for i, kind in enumerate(kinds):
            cx, cy = x + (i % 10 + 0.5) * cell, y + (i // 10 + 0.5) * cell
            style = ICON_STYLES[kind]
            self.set_draw_color(*_rgb(style["line"]))
            self.set_fill_color(*_rgb(style["color"]))
            if kind == "uncertain":
                d = r * 1.25
                self.polygon([(cx, cy - d), (cx + d, cy), (cx, cy + d), (cx - d, cy)], style="DF")
            else:
                self.ellipse(cx - r, cy - r, 2 * r, 2 * r, style="DF" if kind == "alive" else "D")
        self.set_draw_color(0)
        self.set_line_width(0.2)

    def paragraph(self, text: str, size: float = 7.5, style: str = "") -> None:
        """``text`` across the page from the left margin."""
        self.set_font("Helvetica", style, size)
        text = _t(text)
        self.set_x(self.l_margin)
        # cell() is much faster than multi_cell's line breaking; most lines fit on one line
        if self.get_string_width(text) < self.epw - 1:
            self.cell(0, size * PARAGRAPH_LEADING, text, new_x="LMARGIN", new_y="NEXT")
        else:
            self.multi_cell(0, size * PARAGRAPH_LEADING, text, new_x="LMARGIN", new_y="NEXT")

    def _paragraph_lines(self, text: str, size: float, style: str) -> int:
        """How many lines :meth:`paragraph` sets ``text`` in."""
        self.set_font("Helvetica", style, size)
        text = _t(text)
        if self.get_string_width(text) < self.epw - 1:
            return 1
        return len(self._lines(text, self.epw, style, size))

    def warnings_note(self, warnings: list[str]) -> None:
        """The engine's warnings, run on in one small paragraph: one line each had pushed
        the footer of an extreme patient's report off the page."""
        if not warnings:
            return
        if len(warnings) == 1:
            text = _("Warning: {warning}").format(warning=warnings[0])
        else:
            text = _("Warnings: {warnings}.").format(
                warnings=" · ".join(w.rstrip(".。") for w in warnings)
            )
        self.paragraph(text, size=7, style="I")

    def _footer_block(self) -> None:
        self.set_draw_color(0)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(FOOTER_RULE)
        for text, size, style in self.footer_lines:
            self.paragraph(text, size=size, style=style)

    def _footer_size(self) -> float:
        """The footer's height (mm), as :meth:`paragraph` sets its lines."""
        return FOOTER_RULE + sum(
            self._paragraph_lines(text, size, style) * size * PARAGRAPH_LEADING
            for text, size, style in self.footer_lines
        )


def _footer_lines(context, schema) -> list[tuple[str, float, str]]:
    """The footer's paragraphs, (text, type size, style): which model, its training data and
    validation, and the intended use."""
    bundle, model = context.bundle, context.model
    label = _(bundle.manifest.label(model))
    lines = [
        _("Model: {label}, bundle {version} (created {created}).").format(
            label=label, version=bundle.version_id, created=bundle.manifest.created
        ),
        _("Manifest SHA-256: {sha}").format(sha=context.manifest_sha256),
        card.training_text(bundle),
        _("Validation: {c_index}.").format(c_index=card.c_index_text(bundle, model)),
    ]
    return [(s, 7, "") for s in lines] + [(intended_use_short(schema.words), 7.5, "B")]


def _factors(pdf: _Report, values: dict, x: float, w: float) -> None:
    t = factor_table(pdf.schema, values)
    pdf.kv_table(t[["Factor", "Value"]], x, w, (3, 2))


def _factors_wide(pdf: _Report, values: dict, stages: tuple[str, ...]) -> None:
    """The factors as entered in two side-by-side column pairs across the page."""
    schema = pdf.schema
    t = shown_columns(factor_table(schema, values))
    columns = [_("Factor"), _("Value")]
    t = t[[f.stage in stages for f in schema.features]][columns].reset_index(drop=True)
    half = (len(t) + 1) // 2
    right = t.iloc[half:].reset_index(drop=True).rename(columns=lambda c: f"{c} ")
    wide = pd.concat([t.iloc[:half].reset_index(drop=True), right], axis=1).fillna("")
    pdf.kv_table(wide, 12, 186, (3, 2, 3, 2), size=7)


def _output(pdf: _Report) -> bytes:
    return bytes(pdf.output())


def patient_report(
    context,
    values: dict,
    prognosis: Prognosis,
    warnings: list[str] = (),
    alive_at: float = 0,
    figures: Figures = "auto",
) -> bytes:
    """One patient's report (calculator page); ``context`` has ``bundle``, ``model``, ``manifest_sha256``."""
    schema = context.bundle.schema.localized()
    words, axis = schema.words, schema.time_axis
    pdf = _Report(
        context,
        # the schema's endpoint: an arrest-free survival is not survival
        _("Individual {endpoint} estimate {origin}").format(
            endpoint=words.endpoint, origin=words.origin
        ),
        figures,
        schema,
    )
    shown = prognosis.conditional(alive_at) if alive_at else prognosis
    top = pdf.get_y()
    if alive_at:
        heading = _("Predicted {endpoint}, given {event_free} at {when}").format(
            endpoint=words.endpoint, event_free=words.event_free, when=axis.said(alive_at)
        )
    else:
        heading = _("Predicted {endpoint}").format(endpoint=words.endpoint)
    pdf.heading(heading)
    pdf.curves([prognosis_curve(_("This patient"), shown)], 12, pdf.get_y(), 104, 72)
    pdf.set_xy(120, top)
    pdf.heading(_("Estimates with 95 % intervals"), x=120)
    pdf.kv_table(survival_table(shown, schema), 120, 78, SURVIVAL_COLUMNS, size=7)
    _estimate_notes(pdf, context, shown, prognosis.unknown)
    # under the curve, or under the notes beside it where they run longer
    y = max(top + 88, pdf.get_y() + 2)
    pdf.set_xy(12, y)
    pdf.heading(_("Factors as entered"), x=12)
    _factors(pdf, values, 12, 78)
    left_page, left_end = pdf.page, pdf.get_y()
    pdf.set_xy(96, y)
    pdf.heading(_("What each factor contributes (hazard ratio vs reference)"), x=96)
    if prognosis.contributions:
        span = contribution_span(prognosis.contributions, schema)
        if span:
            pdf.set_x(96)
            pdf.set_font("Helvetica", "I", 6.5)
            pdf.multi_cell(102, 3, _t(span))
        t = contribution_table(prognosis.contributions, schema)
        over_time = OVER_TIME in t.columns
        pdf.kv_table(
            t[["Factor", "Patient", "Reference", "Hazard ratio"] + [OVER_TIME] * over_time],
            96,
            102,
            CONTRIBUTION_COLUMNS[over_time],
            size=6.8,
        )
    # under the longer column (the right one, if it went on to another page)
    end = pdf.get_y() if pdf.page > left_page else max(left_end, pdf.get_y())
    pdf.set_xy(12, end + 2)
    pdf.warnings_note(warnings)
    pdf.evidence(evidence_panel(schema, values, "calculator", alive_at))
    return _output(pdf)


def _estimate_notes(pdf: _Report, context, shown: Prognosis, unknown: list[str]) -> None:
    """Under the estimates: the inputs left unknown, and, as the page says it, that the
    range is wide (the same rule and words, :func:`reporting.plain.wide_range_note`)."""
    schema = pdf.schema
    notes = []
    if unknown:
        names = _(", ").join(schema.feature(n).label for n in unknown)
        text = _("Unknown inputs ({names}) are averaged over their plausible values.")
        notes.append(text.format(names=names))
    for note in (
        wide_range_note(shown, schema, context.bundle.manifest.fitted_on),
        rarely_alive_note(shown, schema),
    ):
        if note:
            notes.append(note)
    pdf.set_font("Helvetica", "I", 6.5)
    for note in notes:
        pdf.set_x(120)
        pdf.multi_cell(78, 3, _t(note), new_x="LEFT", new_y="NEXT")


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return tuple(int(h[i : i + 2], 16) for i in (0, 2, 4))


def patient_leaflet(
    context,
    prognosis: Prognosis,
    warnings: list[str] = (),
    alive_at: float = 0,
    figures: Figures = "auto",
) -> bytes:
    """The patient's version of :func:`patient_report`: the same numbers in plain sentences
    and pictures of 100 people, in large type, without tables, ratios or jargon."""
    schema = context.bundle.schema.localized()
    words = schema.words
    shown = prognosis.conditional(alive_at) if alive_at else prognosis
    pdf = _Report(
        context,
        _("Your survival estimate, in plain words ({endpoint})").format(endpoint=words.endpoint),
        figures,
        schema,
    )
    pdf.set_font("Helvetica", "", 12)
    for text in sentences(shown, schema, alive_at, for_patient=True):
        pdf.multi_cell(0, 6, _t(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    years = [y for y in (1, 3, 5) if y in icon_years(shown, schema)]
    if years:
        pdf.ln(2)
        pdf.fit(ICON_BLOCK)  # the heading, the pictures, their counts and the legend together
        pdf.heading(
            _("100 patients like you who are {event_free} {when} {origin}").format(
                event_free=words.event_free,
                when=schema.time_axis.when(alive_at),
                origin=words.said_origin,
            )
            if alive_at
            else _("100 patients like you")
        )
        top = pdf.get_y() + 1
        for i, year in enumerate(years):
            c = icon_counts(shown, year_months(schema, year))
            x = 12 + i * 62
            pdf.set_xy(x, top)
            pdf.set_font("Helvetica", "B", 10)
            when = _("{when} {origin}").format(when=years_text(year), origin=words.said_origin)
            pdf.cell(44, 5, _t(when))
            pdf.icons(c, x, top + 6)
            pdf.set_xy(x, top + 52)
            pdf.set_font("Helvetica", "", 9)
            counts = icon_counted(c, words)
            pdf.multi_cell(48, 4.4, _t("\n".join(counts.values())), new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(top + 68)
        pdf.set_font("Helvetica", "I", 9)
        pdf.multi_cell(
            0,
            4.4,
            _t(icon_legend(words, shown.has_band)),
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.ln(2)
    pdf.fit(16)  # not the heading alone at the foot of a page
    pdf.heading(_("What these numbers mean"))
    rows = context.bundle.manifest.fitted_on
    for note in patient_notes(schema, shown, prognosis.unknown, warnings, trained_on=rows):
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 5.4, _t(note), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return _output(pdf)


def _side_note(pdf: _Report, text: str) -> None:
    """A small paragraph in the right-hand column (x 120, 78 mm wide)."""
    pdf.set_x(120)
    pdf.set_font("Helvetica", "", 6.8)
    pdf.multi_cell(78, 3.1, _t(text), new_x="LEFT", new_y="NEXT")


def candidacy_report(
    context, values: dict, cand: Candidacy, warnings: list[str] = (), figures: Figures = "auto"
) -> bytes:
    """Candidacy before surgery: pre-operative factors, outcome chances, weighted curves."""
    schema = context.bundle.schema.localized()
    words, axis = schema.words, schema.time_axis
    before = schema.stage_label(schema.decision_stage)
    pdf = _Report(
        context,
        _("Candidacy for {treatment}: {endpoint} estimate {before}").format(
            treatment=words.treatment or _("treatment"), endpoint=words.endpoint, before=before
        ),
        figures,
        schema,
    )
    top = pdf.get_y()
    pdf.heading(
        _("Predicted {endpoint} {if_treated}").format(
            endpoint=words.endpoint, if_treated=words.if_treated
        )
    )
    curves = [prognosis_curve(_("Overall (weighted by the chances)"), cand.overall)]
    named = candidacy_scenarios(schema, cand)
    curves += [prognosis_curve(n, p, band=False) for n, p in named]
    pdf.curves(curves, 12, pdf.get_y(), 104, 62, literature=cand.reference)
    pdf.set_xy(120, top)
    pdf.heading(_("Chances of the {outcomes}").format(outcomes=words.outcomes_of), x=120)
    pdf.set_font("Helvetica", "", 7.5)
    for c in cand.chances:
        _short, label, chance = outcome_chance(schema, c)
        pdf.set_x(120)
        text = _("Chance of {outcome}: {chance}").format(
            outcome=label[0].lower() + label[1:], chance=fmt_percent(chance)
        )
        pdf.multi_cell(78, 3.6, _t(text), new_x="LEFT", new_y="NEXT")
    pdf.ln(1)
    pdf.heading(_("Overall, with 95 % intervals"), x=120)
    pdf.kv_table(survival_table(cand.overall, schema), 120, 78, SURVIVAL_COLUMNS, size=7)
    pdf.ln(1)
    ref = cand.reference
    if ref:
        pdf.heading(_("Published reference (not a model output)"), x=120)
        _side_note(
            pdf,
            _("{label}: median survival {span}.").format(
                label=ref["label"], span=axis.span(ref["median_months"])
            )
            + f" {ref['source']}. {ref['note']}",
        )
    _side_note(
        pdf,
        _(
            "Facts known only {later} are unknown {before}: the model averages over them. "
            "The outcome chances come from logistic models fitted on the training data and "
            "are treated as independent given the facts known {before}."
        ).format(later=schema.later_label, before=before),
    )
    pdf.set_xy(12, max(top + 84, pdf.get_y() + 2))
    pdf.heading(
        _("By the {outcomes} (estimate and 95 % interval)").format(outcomes=words.outcomes_of),
        x=12,
    )
    st = scenario_table(named, schema).reset_index()
    pdf.kv_table(st, 12, 186, (2.2,) + (2,) * (st.shape[1] - 1), size=6.3)
    pdf.ln(2)
    pdf.heading(_("Factors known {before}, as entered").format(before=before), x=12)
    _factors_wide(pdf, values, stages=(schema.decision_stage,))
    pdf.ln(1)
    pdf.warnings_note(warnings)
    pdf.evidence(evidence_panel(schema, values, "candidacy"))
    return _output(pdf)


def compare_report(
    context,
    scenarios: list[tuple[str, dict]],
    named: list[tuple[str, Prognosis]],
    figures: Figures = "auto",
) -> bytes:
    """Up to four named scenarios: overlaid curves, side-by-side table, each one's factors."""
    schema = context.bundle.schema.localized()
    pdf = _Report(
        context,
        _("Scenario comparison: survival {origin}").format(origin=schema.words.origin),
        figures,
        schema,
    )
    pdf.heading(_("Predicted {endpoint} by scenario").format(endpoint=schema.words.endpoint))
    curves = [prognosis_curve(n, p, band=len(named) <= 2) for n, p in named]
    pdf.curves(curves, 12, pdf.get_y(), 186, 72)
    pdf.set_y(pdf.get_y() + 84)
    pdf.heading(_("Side by side (estimate and 95 % interval)"), x=12)
    t = scenario_table(named, schema).reset_index()
    pdf.kv_table(t, 12, 186, (2.2,) + (2,) * (t.shape[1] - 1), size=6.8)
    pdf.ln(2)
    pdf.heading(_("Factors of each scenario"), x=12)
    rows = factor_table(schema, scenarios[0][1])[["Factor"]].copy()
    for name, values in scenarios:
        rows[name] = factor_table(schema, values)["Value"].to_numpy()
    pdf.kv_table(rows, 12, 186, (2.2,) + (1.5,) * len(scenarios), size=6.5)
    return _output(pdf)
