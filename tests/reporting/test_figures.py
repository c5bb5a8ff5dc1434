"""The page's figures are built without plotly's per-property validation (for speed):
check here, once, that every spec they produce is valid plotly."""

import io
import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from model import i18n
from model.schema import Schema
from reporting.figures import calibration_figure, contributions_figure, km_figure, survival_figure
from reporting.pdf import plotly_available, plotly_image

# a published median range, as model.candidacy.literature_reference gives one
LITERATURE = {
    "label": "Published series",
    "median_months": [11.0, 13.0],
    "source": "a paper",
    "note": "A published figure for comparison, not an output of this model.",
}


def validated(fig: go.Figure) -> go.Figure:
    # constructing from the dict validates every property and raises on any invalid one
    return go.Figure(fig.to_dict())


def test_survival_figure_spec_is_valid_plotly(schema):
    grid = np.arange(0, 60.5, 0.5)
    s = np.exp(-grid / 40)
    curves = [
        {
            "name": "a",
            "grid": grid,
            "survival": s,
            "lower": s * 0.9,
            "upper": np.minimum(s * 1.1, 1),
        },
        {"name": "b", "grid": grid, "survival": s**2, "lower": None, "upper": None},
        {"name": "c", "grid": grid, "survival": s**3, "lower": np.full_like(s, np.nan), "upper": s},
    ]
    fig = validated(survival_figure(curves, schema, title="t", literature=LITERATURE, alive_at=12))
    # a band only where both limits are finite: two band traces for "a", none for b and c
    assert [t.name for t in fig.data] == [None, "a: 95 % band", "a", "b", "c"]
    assert fig.layout.shapes[0].x0 == 11 and fig.layout.shapes[1].x0 == 12
    # the published strip is named in the legend, not over the curves
    assert fig.layout.shapes[0].showlegend and not fig.layout.annotations
    assert "not this model" in fig.layout.shapes[0].name.replace("<br>", " ")
    assert fig.layout.xaxis.range == (0, 60)
    assert fig.layout.template.layout.paper_bgcolor is not None  # a real template, not a name
    assert fig.layout.xaxis.title.text == "Months after CRS+HIPEC"
    assert fig.layout.yaxis.title.text == "Overall survival"
    validated(survival_figure(curves[:1], schema))  # no title, no extras


def test_survival_figure_speaks_the_schemas_unit_and_words(schema):
    d = schema.to_dict()
    d["time"] = dict(d["time"], unit="days", max=20000)
    d["words"] = {"origin": "from randomisation", "endpoint": "progression-free survival"}
    days = Schema.from_dict(d)
    grid = np.arange(0, 60.5, 0.5)
    curves = [{"name": "a", "grid": grid, "survival": np.exp(-grid / 40)}]
    raw = survival_figure(curves, days, literature=LITERATURE, alive_at=12)
    fig = validated(raw)
    assert fig.layout.xaxis.title.text == "Days from randomisation"
    assert fig.layout.yaxis.title.text == "Progression-free survival"
    # curves are held in months and drawn in days: 60 months is 1826.25 days
    assert fig.layout.xaxis.range[1] == pytest.approx(1826.25)
    assert raw.data[0].x[-1] == pytest.approx(1826.25)
    assert fig.layout.shapes[1].x0 == pytest.approx(365.25)  # alive at 12 months
    assert fig.layout.xaxis.dtick == 365
    assert "335-396 days" in fig.layout.shapes[0].name  # 11-13 months, published
    # the hover says the time as the curve's line does: 259, not 258.7188
    assert fig.layout.xaxis.hoverformat == ".0f" and " days: " in fig.data[0].hovertemplate


@pytest.mark.parametrize(
    "lang, sixty, hover", [("en", "60 %", "71.4 %"), ("zh-CN", "60%", "71.4%")]
)
def test_percentages_are_written_as_the_tables_write_them(schema, lang, sixty, hover):
    """Axis ticks and hovers say "60 %" in English as the tables and sentences do, "60%" in
    Chinese: not plotly's own "60%" beside a table's "60 %"."""
    grid = np.arange(0, 60.5, 0.5)
    s = np.exp(-grid / 40)
    with i18n.use(lang):
        fig = validated(survival_figure([{"name": "a", "grid": grid, "survival": s}], schema))
        cal = validated(
            calibration_figure(
                {
                    "Cox": {
                        "36": {
                            "groups": [
                                {"predicted": 0.5, "observed": 0.6, "lower": 0.5, "upper": 0.7}
                            ]
                        }
                    }
                },
                36,
            )
        )
    assert fig.layout.yaxis.tickvals[3] == pytest.approx(0.6)
    assert fig.layout.yaxis.ticktext[3] == sixty
    assert fig.data[0].customdata[int(np.searchsorted(grid, 13.3))] == hover  # S(13.5) = 0.7136
    assert cal.layout.xaxis.ticktext == cal.layout.yaxis.ticktext
    assert list(cal.data[1].customdata[0]) == [sixty.replace("60", "50"), sixty]


def test_a_typed_name_is_shown_as_typed(schema):
    """A scenario's name with tags or a template's "%{" is a name, not formatting."""
    grid = np.arange(0, 60.5, 0.5)
    typed = "<b>bold</b> & %{y}"
    s = np.exp(-grid / 40)
    fig = validated(
        survival_figure(
            [{"name": typed, "grid": grid, "survival": s, "lower": s * 0.9, "upper": s}], schema
        )  # fmt: skip
    )
    assert [t.name for t in fig.data] == [
        None,
        "&lt;b&gt;bold&lt;/b&gt; &amp; %{y}: 95 % band",
        "&lt;b&gt;bold&lt;/b&gt; &amp; %{y}",
    ]
    # the hover names the trace by reference: the typed "%{y}" is never read as a template
    assert fig.data[2].hovertemplate.endswith("<extra>%{fullData.name}</extra>")


def test_contributions_figure_spec_is_valid_plotly():
    t = pd.DataFrame(
        {"Factor": ["PCI", "Age"], "Patient": ["30", "54 years"], "log_hr": [0.7, -0.2]}
    )
    fig = contributions_figure(t)
    validated(fig)
    bar = fig.data[0]
    assert list(bar.x) == [-0.2, 0.7]  # drawn bottom-up: largest effect on top
    assert list(bar.text) == ["×0.82", "×2.01"]


def test_km_figure_starts_at_one(schema):
    fig = km_figure(
        [{"name": "g", "time": np.array([1.0, 2.0]), "survival": np.array([0.9, 0.8])}], schema
    )
    validated(fig)
    assert fig.data[0].y[0] == 1.0 and fig.data[0].x[0] == 0.0


def test_calibration_figure_draws_each_model_with_its_groups():
    def cal(pred, obs):
        groups = [
            {"n": 50, "predicted": p, "observed": o, "lower": o - 0.05, "upper": o + 0.05}
            for p, o in zip(pred, obs, strict=True)
        ]
        groups.append({"n": 3, "predicted": 0.9, "observed": None, "lower": None, "upper": None})
        return {"36": {"groups": groups}}

    fig = validated(
        calibration_figure(
            {"Cox": cal([0.2, 0.5], [0.25, 0.45]), "Forest": cal([0.3, 0.6], [0.2, 0.7])}, 36
        )
    )
    ideal, cox, forest = fig.data
    assert ideal.name == "ideal" and (cox.name, forest.name) == ("Cox", "Forest")
    assert list(cox.x) == [0.2, 0.5] and list(cox.y) == [0.25, 0.45]  # group without KM left out
    np.testing.assert_allclose(forest.error_y.array, [0.05, 0.05])
    assert cox.marker.color != forest.marker.color and cox.marker.symbol != forest.marker.symbol
    assert "36 months" in fig.layout.title.text


def test_a_long_title_is_wrapped_for_a_phone(schema):
    """plotly cuts a title at the figure's edge: a long one is broken into lines a phone's
    width holds, and the figure grows to keep the plot's height."""
    from reporting.figures import TITLE_GAP_PX, TITLE_LINE, TITLE_LINE_PX, TOOLBAR_PX

    grid = np.arange(0, 60.5, 0.5)
    curves = [{"name": "a", "grid": grid, "survival": np.exp(-grid / 40)}]
    title = "Observed overall survival by predicted risk group (Kaplan-Meier)"
    fig = validated(survival_figure(curves, schema, title=title, height=400))
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) == 2 and " ".join(lines) == title
    assert all(len(line) <= TITLE_LINE for line in lines)
    # two lines of title under the toolbar's room, a gap, and the plot as tall as under one
    # line of title before (top margin 50): 400 + one legend row + the margin's growth
    top = TOOLBAR_PX + 2 * TITLE_LINE_PX + TITLE_GAP_PX
    assert fig.layout.margin.t == top and fig.layout.height == 400 + 30 + top - 50
    short = validated(survival_figure(curves, schema, title="Predicted survival", height=400))
    assert short.layout.title.text == "Predicted survival"
    assert short.layout.margin.t == TOOLBAR_PX + TITLE_LINE_PX + TITLE_GAP_PX
    # the title hangs from the figure's top, under the toolbar's room (a phone's tap shows
    # the toolbar at the top right): its lines grow down into a margin that holds them all
    assert (short.layout.title.yref, short.layout.title.yanchor, short.layout.title.y) == (
        "container",
        "top",
        1,
    )
    assert short.layout.title.pad.t == TOOLBAR_PX


# CI installs Chromium: there a missing browser fails the test rather than skip it
needs_browser = pytest.mark.skipif(
    not plotly_available() and not os.environ.get("CI"),
    reason="plotly's static export needs kaleido and Chromium",
)


def rendered(fig: go.Figure, width: int) -> np.ndarray:
    """``fig`` drawn by plotly at ``width`` px, as grey levels (0 black, 255 white)."""
    from PIL import Image

    png = plotly_image(go.Figure(fig).update_layout(width=width), scale=1)
    return np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)


@needs_browser
@pytest.mark.parametrize("width", [390, 1280])
def test_a_wrapped_title_and_the_strips_label_stay_off_the_plot_and_on_the_figure(schema, width):
    """Drawn by plotly at a phone's width and a desktop's: a title of two lines ran its
    second line over the plot's top ("100 %" and the curves), and the published strip's
    label ran past the figure's right edge ("median 10-17 months" cut after "median")."""
    from reporting.figures import TOOLBAR_PX

    grid = np.arange(0, 60.5, 0.5)
    flat = [{"name": "a", "grid": grid, "survival": np.full_like(grid, 0.5)}]
    chemo = dict(LITERATURE, label="Systemic chemotherapy, not operated", median_months=[10, 17])
    title = "Predicted overall survival if treated with CRS+HIPEC"
    fig = survival_figure(flat, schema, title=title, literature=chemo)
    label = fig.layout.shapes[0].name
    assert fig.layout.title.text.count("<br>") == 1 and "10-17 months" in label.replace("<br>", " ")
    ink = rendered(fig, width) < 160
    top, left, right = fig.layout.margin.t, fig.layout.margin.l, fig.layout.margin.r
    rows = np.flatnonzero(ink[:top].any(axis=1))
    assert rows.min() >= TOOLBAR_PX - 1, "the title reaches into the toolbar's room"
    # the plot's top from a little right of the axis: only light grid lines, no title there
    assert not ink[top - 2 : top + 40, left + 40 : width - right - 5].any()
    assert not ink[:, -2:].any(), "something runs past the figure's right edge"


@needs_browser
def test_the_toolbar_has_room_above_the_icons(schema):
    from reporting.figures import TOOLBAR_PX, icon_array_figure
    from reporting.plain import IconCounts

    counts = IconCounts(months=36, alive=70, lower=60, upper=80)
    fig = icon_array_figure(counts, schema)
    assert fig.layout.margin.t >= TOOLBAR_PX
    ink = rendered(fig, 390) < 200
    assert not ink[:TOOLBAR_PX].any(), "an icon under the toolbar's room"


def test_a_chinese_title_is_wrapped_by_its_width():
    """A Chinese character takes two columns and Chinese has no spaces to break at: the
    title breaks between characters, by width, and not before a closing mark or after an
    opening one."""
    import unicodedata

    from reporting.figures import TITLE_LINE, _wrap

    def columns(s):
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)

    title = "按预测风险组观察到的总生存率（Kaplan-Meier），以及每组的患者人数和中位生存时间"
    lines = _wrap(title, TITLE_LINE).split("<br>")
    assert "".join(lines) == title and len(lines) == 3
    assert all(columns(x) <= TITLE_LINE for x in lines), [columns(x) for x in lines]
    assert not any(x[0] in "，。）" or x[-1] in "（" for x in lines), lines
    # 40 characters of Chinese were one line of "42 characters": 80 columns, cut by plotly
    assert len(_wrap("生" * 40, TITLE_LINE).split("<br>")) == 2


def test_the_hover_gives_the_band_with_the_estimate(schema):
    """A clinician reading a time off the curve gets its uncertainty there too."""
    grid = np.arange(0, 60.5, 0.5)
    s = np.exp(-grid / 40)
    curve = {"name": "a", "grid": grid, "survival": s, "lower": s * 0.9, "upper": np.sqrt(s)}
    fig = validated(survival_figure([curve], schema))
    k = int(np.searchsorted(grid, 36.0))
    assert fig.data[2].customdata[k] == "40.7 % (95 % band 36.6 % to 63.8 %)"
    with i18n.use("zh-CN"):
        zh = validated(survival_figure([curve], schema))
    assert (
        zh.data[2].customdata[k].startswith("40.7%") and "95 % band" not in zh.data[2].customdata[k]
    )
    bare = validated(survival_figure([{"name": "a", "grid": grid, "survival": s}], schema))
    assert bare.data[0].customdata[k] == "40.7 %"
