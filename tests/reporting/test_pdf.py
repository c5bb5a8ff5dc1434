"""PDF reports: one page, the same numbers as the page, figures with and without a browser."""

import io
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
from reporting.plain import icon_counts, patient_notes, sentences
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
    for s in sentences(shown, engine.schema, alive_at=24):
        assert norm(s) in text
    for note in patient_notes(engine.schema, shown, p.unknown, warnings):
        assert norm(note) in text
    assert "Ki-67 index" in text  # unknown here: named among the facts not known
    years = [y for y in (3, 5) if icon_counts(shown, 12 * y) is not None]
    assert years  # 1 year is before the condition; 5 years may be beyond the follow-up
    for year in years:
        c = icon_counts(shown, 12 * year)
        assert f"{c.certain} alive {c.uncertain} may be either {c.died} died" in text
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
