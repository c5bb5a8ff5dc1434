"""PDF reports: one page, the same numbers as the page, figures with and without a browser."""

import io
import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pypdfium2 as pdfium
import pytest
from typer.testing import CliRunner

from model.bundle import MANIFEST, load_bundle, sha256_file
from model.engine import Engine
from reporting import pdf as pdfmod
from reporting.card import c_index_text
from reporting.pdf import (
    ReportContext,
    candidacy_report,
    compare_report,
    patient_leaflet,
    patient_report,
)
from reporting.plain import icon_counts, patient_notes, rarely_alive_note, sentences
from reporting.summary import (
    candidacy_scenarios,
    factor_table,
    outcome_chance,
    scenario_table,
    survival_table,
)
from training.cli import app


@pytest.fixture(scope="module")
def engine(small_bundle):
    return Engine(load_bundle(small_bundle))


@pytest.fixture(scope="module")
def context(engine, small_bundle):
    return ReportContext(engine.bundle, "coxnet", sha256_file(small_bundle / MANIFEST))


@pytest.fixture(scope="module")
def patient(engine):
    values = dict(engine.bundle.manifest.reference_patient)
    values.update(ki67=None, pci=31, cc=2)
    return values


def text_of(blob: bytes) -> tuple[int, str]:
    doc = pdfium.PdfDocument(blob)
    text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    # PDF text extraction may break lines anywhere: compare on single spaces
    return len(doc), " ".join(text.replace("\r", " ").split())


def norm(s: str) -> str:
    return " ".join(pdfmod._t(s).split())


def test_patient_report_holds_the_pages_numbers(engine, context, patient):
    p = engine.predict(engine.frame([patient]), contributions=True)[0]
    blob = patient_report(context, patient, p, ["PCI 31 is outside"], figures="native")
    pages, text = text_of(blob)
    assert pages == 1
    for _, row in survival_table(p, engine.schema).iterrows():
        assert norm(f"{row['Estimate']} {row['95 % interval']}") in text
    for _, row in factor_table(engine.schema, patient).iterrows():
        # a long level label is cut to its code where the column is narrow ("CC2 - ..." -> "CC2")
        short = row["Value"].split(" - ")[0]
        assert norm(f"{row['Factor']} {short}") in text
    assert "Ki-67 index unknown" in text
    assert context.manifest_sha256 in text
    assert engine.bundle.version_id in text
    assert norm(c_index_text(engine.bundle, "coxnet")) in text
    assert "does not replace clinical judgement" in text
    assert "Warning: PCI 31 is outside" in text


def test_simulated_warning_only_for_simulated_training_data(engine, context, patient):
    p = engine.predict(engine.frame([patient]))[0]
    synthetic = engine.bundle.manifest.synthetic
    _, text = text_of(patient_report(context, patient, p, figures="native"))
    assert ("TRAINED ON SIMULATED DATA" in text) == bool(synthetic)
    real = engine.bundle.manifest
    for declared in (True, False):
        manifest = real.replace(training_data=replace(real.training_data, synthetic=declared))
        fake = type("B", (), {})()
        fake.manifest, fake.schema = manifest, engine.schema
        fake.version_id = engine.bundle.version_id
        _, text = text_of(
            patient_report(ReportContext(fake, "coxnet", "0" * 64), patient, p, figures="native")
        )
        assert ("TRAINED ON SIMULATED DATA" in text) == declared


def test_page_one_renders_to_png(engine, context, patient):
    p = engine.predict(engine.frame([patient]), contributions=True)[0]
    doc = pdfium.PdfDocument(patient_report(context, patient, p, figures="native"))
    assert len(doc) == 1
    image = doc[0].render(scale=1).to_pil()
    w, h = image.size
    assert abs(h / w - 297 / 210) < 0.01  # A4 portrait
    # black-and-white legibility: there is dark ink (text, curve), not a blank page
    grey = np.asarray(image.convert("L"))
    assert (grey < 80).sum() > 2000


def test_candidacy_report(engine, context, patient):
    pre = {f.name: patient[f.name] for f in engine.schema.stage_features("pre")}
    cand = engine.candidacy(engine.frame([pre]))
    pages, text = text_of(candidacy_report(context, pre, cand, figures="native"))
    assert pages == 1
    for c in cand.chances:
        _, label, chance = outcome_chance(engine.schema, c)
        assert f"{100 * chance:.0f} %" in text
    table = scenario_table(candidacy_scenarios(engine.schema, cand), engine.schema)
    for cell in table.to_numpy().ravel():
        assert norm(cell) in text
    assert "not a model output" in text
    # post-operative facts are not listed as entered before surgery
    assert "Completeness of cytoreduction" not in text.split("Factors known before surgery")[1]


def test_compare_report(engine, context, patient):
    a = dict(patient, cc=0)
    b = dict(patient, cc=3)
    progs = engine.predict(engine.frame([a, b]))
    named = [("CC0", progs[0]), ("CC3", progs[1])]
    pages, text = text_of(compare_report(context, [("CC0", a), ("CC3", b)], named, "native"))
    assert pages == 1
    for cell in scenario_table(named, engine.schema).to_numpy().ravel():
        assert norm(cell) in text


def test_plotly_figures_and_the_browserless_fallback(engine, context, patient, monkeypatch):
    p = engine.predict(engine.frame([patient]))[0]
    if pdfmod.plotly_available():
        blob = patient_report(context, patient, p, figures="plotly")
        assert len(pdfium.PdfDocument(blob)) == 1
        assert b"/Subtype /Image" in blob  # the exported plotly figure
    # no browser: "auto" draws the curve itself and still makes the report
    monkeypatch.setattr(pdfmod, "plotly_available", lambda: False)
    blob = patient_report(context, patient, p, figures="auto")
    assert b"/Subtype /Image" not in blob
    pages, text = text_of(blob)
    assert pages == 1 and "Months after CRS+HIPEC" in text


def test_report_cli_writes_one_pdf_per_patient(small_bundle, small_cohort, tmp_path):
    data = pd.read_csv(small_cohort[0]).head(5)
    data.loc[1, "patient_id"] = "a/b"  # ids become safe file names
    csv = tmp_path / "p.csv"
    data.to_csv(csv, index=False)
    out = tmp_path / "reports"
    res = CliRunner().invoke(
        app, ["report", "--bundle", str(small_bundle), "--data", str(csv), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    files = sorted(f.name for f in out.iterdir())
    assert len(files) == 5 and "a_b.pdf" in files
    blob = (out / files[0]).read_bytes()
    assert len(pdfium.PdfDocument(io.BytesIO(blob))) == 1


def test_report_cli_writes_into_an_existing_folder_and_refuses_a_file(
    small_bundle, small_cohort, tmp_path
):
    csv = tmp_path / "p.csv"
    pd.read_csv(small_cohort[0]).head(2).to_csv(csv, index=False)
    out = tmp_path / "reports"
    out.mkdir()
    (out / "notes.txt").write_text("kept")
    args = ["report", "--bundle", str(small_bundle), "--data", str(csv), "--out"]
    res = CliRunner().invoke(app, [*args, str(out)])
    assert res.exit_code == 0, res.output
    assert len(list(out.glob("*.pdf"))) == 2 and (out / "notes.txt").read_text() == "kept"
    res = CliRunner().invoke(app, [*args, str(csv)])
    assert res.exit_code != 0 and "is a file" in res.output
    assert csv.read_text().startswith("patient_id")  # the patients file is untouched


def test_report_cli_refuses_bad_data(small_bundle, small_cohort, tmp_path):
    data = pd.read_csv(small_cohort[0]).head(5).astype(object)
    data.loc[2, "kps"] = 75
    csv = tmp_path / "bad.csv"
    data.to_csv(csv, index=False)
    res = CliRunner().invoke(
        app,
        ["report", "--bundle", str(small_bundle), "--data", str(csv), "--out", str(tmp_path / "o")],
    )
    assert res.exit_code != 0
    assert "kps" in res.output and "row 3" in res.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_patient_report_has_the_evidence_panel(engine, context, patient):
    from reporting.evidence import evidence_panel

    values = dict(patient, ki67=5.0)
    p = engine.predict(engine.frame([values]), contributions=True)[0]
    pages, text = text_of(patient_report(context, values, p, figures="native"))
    assert pages == 1
    assert "PUBLISHED SERIES, NOT THIS MODEL" in text
    panel = evidence_panel(engine.schema, values, "calculator")
    milan = panel.row("milan")
    assert norm(milan.patient) in text  # "Group I: Ki-67 <= 9 %"
    assert "Kusamura S et al." in text
    assert "doi 10.1002/cncr.25640" in text  # PSOGI TNM, Yan 2011
    assert "not an input of this model" in text  # a caveat (M0 assumed)
    # conditional survival's published figures only when alive at a later month
    assert "Liang XL" not in text
    _, later = text_of(patient_report(context, values, p, alive_at=24, figures="native"))
    assert "Liang XL et al." in later


def test_candidacy_report_has_the_evidence_panel(engine, context, patient):
    pre = {f.name: patient[f.name] for f in engine.schema.stage_features("pre")}
    cand = engine.candidacy(engine.frame([pre]))
    pages, text = text_of(candidacy_report(context, pre, cand, figures="native"))
    assert pages == 1
    assert "PUBLISHED SERIES, NOT THIS MODEL" in text
    assert "not placed: Ki-67 index unknown" in text  # the patient's Ki-67 is unknown
    assert "Systemic chemotherapy, not operated" in text and "10-17 months" in text
    assert "Repeat CRS/HIPEC at recurrence" in text and "Immortal-time bias" in text
    assert "doi 10.1245/s10434-013-3341-7" in text


def test_the_patients_version_has_the_same_numbers_in_words_and_pictures(engine, context, patient):
    p = engine.predict(engine.frame([patient]), contributions=True)[0]
    warnings = ["PCI 31 is outside the training data (0-30)."]  # as the engine words one
    pages, text = text_of(patient_leaflet(context, p, warnings, alive_at=24, figures="native"))
    assert pages == 1
    shown = p.conditional(24)
    for s in sentences(shown, engine.schema, alive_at=24, for_patient=True):
        assert norm(s) in text
    for note in patient_notes(engine.schema, shown, p.unknown, warnings):
        assert norm(note) in text
    assert "Ki-67 index" in text  # unknown here: named among the facts not known
    years = [y for y in (3, 5) if icon_counts(shown, 12 * y) is not None]
    assert years  # 1 year is before the condition; 5 years may be beyond the follow-up
    for year in years:
        c = icon_counts(shown, 12 * year)
        assert (
            f"at least {c.certain} alive {c.uncertain} may be either at least {c.died} died" in text
        )
    assert "1 year after surgery" not in text.split("100 patients like you")[1]
    # the pictures are of patients alive at the time given, as their heading says
    assert "100 patients like you who are alive 2 years after surgery" in text
    # no tables, ratios or jargon above the small print
    body = text.split("Model: ")[0]
    for jargon in ("Hazard", "hazard", "95 %", "Kaplan", "Harrell", "Outcome", "Estimate"):
        assert jargon not in body, jargon
    assert "Intended use" in text


def test_a_per_cent_sign_stays_on_its_numbers_line():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", "", 10)
    head = "The chance of a complete cytoreduction is 18"
    # a line wide enough for "18" but not for " %" after it
    width = pdf.get_string_width(head) + 2 * pdf.c_margin + 0.5
    lines = pdf.multi_cell(width, 5, pdfmod._t(head + " % here."), dry_run=True, output="LINES")
    assert lines[0] == "The chance of a complete cytoreduction is"
    assert lines[1].replace("\u00a0", " ").startswith("18 %")  # not "18" alone above


def test_each_scenarios_curve_shows_over_the_other_bands(context):
    """The fast vector figure draws every band before any curve: a later scenario's band once
    hid the first scenario's curve wherever they overlapped (the compare report's default)."""
    grid = np.linspace(0, 60, 121)
    wide = {"lower": np.zeros_like(grid), "upper": np.ones_like(grid)}
    curves = [
        {"name": "A", "grid": grid, "survival": np.full_like(grid, 0.7), **wide},
        {"name": "B", "grid": grid, "survival": np.full_like(grid, 0.3), **wide},
    ]
    pdf = pdfmod._Report(context, "t", "native", context.bundle.schema)
    x, y, w, h = 12, 60, 186, 72
    pdf._draw_curves(curves, x, y, w, h, None)
    scale = 4  # px per point; 72 points an inch, 25.4 mm
    grey = np.asarray(pdfium.PdfDocument(bytes(pdf.output()))[0].render(scale=scale).to_pil())
    grey = grey.mean(axis=2)
    px_mm = scale * 72 / 25.4
    # the plot's frame as _draw_curves lays it out: 11 mm left, 2 mm top, 9 mm bottom margin
    col = round((x + 11 + (w - 13) / 2) * px_mm)
    for s, darkest in ((0.7, 60), (0.3, 140)):  # A black (GREYS[0]), B dark grey (GREYS[1])
        row = round((y + 2 + (h - 11) * (1 - s)) * px_mm)
        assert grey[row - 4 : row + 5, col].min() < darkest, s


def worst_case(engine):
    """Every input unknown, and the warnings of a patient at every numeric input's limit
    (each outside the training data), three times over, as a schema with three times the
    numeric inputs would give them: longer notes than any report here has."""
    schema = engine.schema
    unknown = {f.name: None for f in schema.features}
    limits = dict(engine.bundle.manifest.reference_patient)
    limits.update({f.name: f.max for f in schema.features if f.max is not None})
    warnings = engine.warnings(engine.frame([limits]))[0]
    assert len(warnings) >= 5
    return unknown, warnings * 3


def lines_of(page) -> list[tuple[str, tuple[float, float, float, float]]]:
    """The text layer of a PDFium page: each run of text with its box (left, bottom, right,
    top, in points from the page's bottom left)."""
    tp = page.get_textpage()
    out = []
    for i in range(tp.count_rects()):
        box = tp.get_rect(i)
        out.append((tp.get_text_bounded(*box), box))
    return out


def overlapping(boxes) -> list[tuple]:
    """Pairs of text boxes that overlap by more than a point each way (text over text)."""
    pairs = []
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1 :]:
            w = min(a[2], b[2]) - max(a[0], b[0])
            h = min(a[3], b[3]) - max(a[1], b[1])
            if w > 1 and h > 1:
                pairs.append((ta, tb))
    return pairs


def squeezed(s: str) -> str:
    return "".join(pdfmod._t(s).split())


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("kind", ["report", "leaflet", "candidacy"])
def test_the_footer_is_on_every_page_however_long_the_notes(engine, context, lang, kind):
    """Every input unknown and a warning for each: the unknown-input notes, the warnings
    and the evidence panel had pushed "Validation" and "Intended use ... does not replace
    clinical judgement" below the page's edge and cut the simulated-data line in half.
    Whatever the body holds, each page keeps its text on the paper, nothing drawn over
    anything else, and closes with the model, its training data, its validation and the
    intended use."""
    from model.i18n import use
    from reporting import card
    from reporting.fonts import cjk_font
    from reporting.wording import intended_use_short

    if lang != "en":
        try:
            cjk_font()
        except Exception as exc:  # the CJK font is a system package, which CI installs
            if os.environ.get("CI"):
                raise
            pytest.skip(f"no CJK font: {exc}")
    values, warnings = worst_case(engine)
    p = engine.predict(engine.frame([values]), contributions=True)[0]
    with use(lang):
        schema = engine.schema.localized()
        if kind == "report":
            blob = patient_report(context, values, p, warnings, alive_at=24, figures="native")
        elif kind == "leaflet":
            blob = patient_leaflet(context, p, warnings, figures="native")
        else:
            pre = {f.name: None for f in engine.schema.stage_features("pre")}
            cand = engine.candidacy(engine.frame([pre]))
            blob = candidacy_report(context, pre, cand, warnings, figures="native")
        footer = [
            card.training_text(engine.bundle),
            c_index_text(engine.bundle, "coxnet"),
            intended_use_short(schema.words),
        ]
    doc = pdfium.PdfDocument(blob)
    for n in range(len(doc)):
        page = doc[n]
        width, height = page.get_size()
        boxes = lines_of(page)
        for text, (left, bottom, right, top) in boxes:
            assert left >= 0 and right <= width and bottom >= 0 and top <= height, (n, text)
        assert not overlapping(boxes), (n, overlapping(boxes)[:3])
        text = squeezed(page.get_textpage().get_text_range())
        for line in footer:
            assert squeezed(line) in text, (n, line)
    _, text = text_of(blob)
    if lang == "en" and kind != "leaflet":
        assert "Warnings: " + norm(warnings[0]) in text  # run on, not a line each


def test_a_wide_range_is_said_on_paper_as_on_the_page(engine, context, patient):
    """The page says a wide 95 % range is wide (reporting.plain.wide_range_note); the
    tumour-board PDF said nothing of it."""
    from reporting.plain import wide_range_note

    values = {f.name: None for f in engine.schema.features}
    p = engine.predict(engine.frame([values]), contributions=True)[0]
    note = wide_range_note(p, engine.schema, engine.bundle.manifest.fitted_on)
    assert note is not None  # every input unknown: the range is wide
    _, text = text_of(patient_report(context, values, p, figures="native"))
    assert norm(note) in text
    # a narrow range: no such note
    narrow = replace(p, lower=p.survival * 0.98, upper=np.minimum(p.survival * 1.02, 1))
    assert wide_range_note(narrow, engine.schema, engine.bundle.manifest.fitted_on) is None
    _, text = text_of(patient_report(context, values, narrow, figures="native"))
    assert "is wide" not in text


def test_a_factor_reads_in_one_form_across_the_scenarios(engine, context, patient):
    """Three scenarios' columns are too narrow for "CC2 - residual nodules 2.5 mm to 2.5 cm":
    that one was cut to "CC2" while "CC0 - no visible residual disease", which fits, was not;
    the row reads "CC0 CC2 CC2"."""
    scenarios = [("A", dict(patient, cc=0)), ("B", dict(patient, cc=2)), ("C", dict(patient, cc=2))]
    progs = engine.predict(engine.frame([v for _, v in scenarios]))
    named = [(n, p) for (n, _), p in zip(scenarios, progs, strict=True)]
    _, text = text_of(compare_report(context, scenarios, named, "native"))
    cc = engine.schema.feature("cc").label
    assert f"{cc} CC0 CC2 CC2" in text
    assert "no visible residual disease" not in text


# CI installs Chromium: there a missing browser fails the test rather than skip it
@pytest.mark.skipif(
    not pdfmod.plotly_available() and not os.environ.get("CI"), reason="needs kaleido and Chromium"
)
def test_the_paper_figures_axis_labels_stand_apart_at_the_origin(engine):
    """In the plotly figure the PDF takes, the survival axis's "0 %" ended where the time
    axis's "0" began. Read from plotly's SVG: the labels' boxes (digits about 0.55 of the
    type size wide and 0.72 high, baseline at y) do not meet."""
    import re

    grid = np.arange(0, 60.5, 0.5)
    curves = [{"name": "a", "grid": grid, "survival": np.exp(-grid / 40)}]
    fig = pdfmod._plotly_figure(curves, engine.schema, None, 104, 72)
    svg = pdfmod.plotly_image(fig, "svg", scale=1).decode()

    def label(axis: str, text: str) -> tuple[float, float, float, float]:
        for m in re.finditer(rf'<g class="{axis}tick"><text ([^>]*)>([^<]*)</text>', svg):
            if m.group(2).replace("\u00a0", " ") != text:
                continue
            attrs = m.group(1)
            x, y = (float(re.search(rf' {k}="([-\d.]+)"', attrs).group(1)) for k in "xy")
            dx, dy = map(float, re.search(r"translate\(([-\d.]+),([-\d.]+)\)", attrs).groups())
            size = float(re.search(r"font-size: ([\d.]+)px", attrs).group(1))
            width = 0.55 * size * len(text)
            left = {"end": x + dx - width, "middle": x + dx - width / 2}[
                re.search(r'text-anchor="(\w+)"', attrs).group(1)
            ]
            return left, y + dy - 0.72 * size, left + width, y + dy
        raise AssertionError(f"no {axis} tick label {text!r}")

    zero_percent, zero = label("y", pdfmod.percent(0)), label("x", "0")
    apart_x = zero_percent[2] < zero[0] or zero[2] < zero_percent[0]
    apart_y = zero_percent[3] < zero[1] or zero[3] < zero_percent[1]
    assert apart_x or apart_y, (zero_percent, zero)


def test_the_figure_export_fetches_nothing_from_outside(monkeypatch):
    """kaleido loads MathJax from a CDN unless told not to: the export's browser is started
    without it, so making a PDF sends no request off the machine."""
    import kaleido

    import reporting.pdf as pdf

    started = {}
    monkeypatch.setattr(pdf, "_KALEIDO_STARTED", False)
    monkeypatch.setattr(kaleido, "start_sync_server", lambda **kw: started.update(kw))
    monkeypatch.setattr(kaleido, "calc_fig_sync", lambda fig, opts: b"png")
    monkeypatch.setattr(pdf.atexit, "register", lambda *a, **k: None)
    assert pdf.plotly_image({"data": [], "layout": {}}) == b"png"
    assert started.get("mathjax") is False


def test_both_reports_say_when_the_time_given_alive_was_unlikely(engine, context, patient):
    """Given alive at a time the patient had under a 1 % chance of reaching, the numbers
    rest on almost no one: the page said so and the PDFs had not."""
    p = engine.predict(engine.frame([patient]), contributions=True)[0]
    # the same patient's curve, made steep: the band and the draws transformed alike
    steep = replace(
        p, survival=p.survival**12, lower=p.lower**12, upper=p.upper**12, samples=p.samples**12
    )
    late = next(t for t in steep.grid if 0 < steep.at(t)[0] < 0.01 and t < steep.conditional_until)
    shown = steep.conditional(float(late))
    _, text = text_of(
        patient_report(context, patient, steep, alive_at=float(late), figures="native")
    )
    assert norm(rarely_alive_note(shown, engine.schema)) in text
    _, leaflet = text_of(patient_leaflet(context, steep, alive_at=float(late), figures="native"))
    assert norm(rarely_alive_note(shown, engine.schema, for_patient=True)) in leaflet
    _, early = text_of(patient_report(context, patient, p, alive_at=12.0, figures="native"))
    assert "under a 1 %" not in early
