"""The page and the PDFs in Chinese: every message translated, the same numbers, nothing lost.

Each page is driven in Chinese through AppTest and everything it shows as text is read;
after removing what stays in Latin letters on purpose (citations, codes, column names,
abbreviations, identifiers), no English word may remain. The PDFs are read back the same way.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pypdfium2 as pdfium
import pytest

from model.bundle import MANIFEST, sha256_file
from model.engine import Engine
from model.evidence import default_evidence
from model.i18n import _, use
from model.prognosis import predict_columns
from model.registry import Registry
from reporting.pdf import (
    ReportContext,
    candidacy_report,
    compare_report,
    patient_leaflet,
    patient_report,
)
from reporting.plain import sentences
from reporting.summary import survival_table
from tests.conftest import ROOT

st_testing = pytest.importorskip("streamlit.testing.v1")
APP = str(ROOT / "app.py")

# what stays in Latin letters in Chinese text: abbreviations, names of methods, people and
# scores, units, Roman stage numbers, code identifiers and file formats (each is written so in
# Chinese clinical papers and software too)
KEPT = {
    "AUC",
    "CA",
    "CC",
    "CEA",
    "CRS",
    "CSV",
    "Cox",
    "Coxnet",
    "Clavien-Dindo",
    "HIPEC",
    "HR",
    "Harrell",
    "IBS",
    "IPA",
    "Ki",
    "Kaplan-Meier",
    "Karnofsky",
    "MDT",
    "OS",
    "PCI",
    "PDF",
    "PSOGI",
    "SAE",
    "SHA",
    "TNM",
    "Uno",
    "Brier",
    "mL",
    "ng",
    "mm",
    "cm",
    "UTC",
    "KPS",
    "NA",
    "II",
    "III",
    "III-V",
    "IV",
    "PMID",
    "doi",
    "et",
    "al",
    "hipec-prognosis",
    "scikit-learn",
    "IterativeImputer",
    "GBSG2",  # the German Breast Cancer Study Group 2 trial's data set, a proper name
    "Language",
    "English",
    "unknown",
    "nan",
    "None",
    "alpha",
    "GB",
    "CC0",
    "CC1",
    "CC2",
    "CC3",
    "CC0/1",
    "CC2/3",
    "Ki-67",
    "CA125",
    "CA19-9",
    "U/mL",
    "ng/mL",
    "CRS/HIPEC",
    "Ki-67/PCI",
    "SHA-256",
    "NCI",
    "Bethesda",
    "extra",  # the uploaded file's own extra column, named in a problem
}
# code and markup, never read as words: backticks, hashes, file names, version ids, tuned
# parameters (name = value), HTML tags and style blocks, plotly's hover placeholders
CODE = re.compile(
    r"`[^`]*`|\b[0-9a-f]{16,}\b|\S+\.(?:csv|json|pdf|py|log|yaml|joblib|html)\b"
    r"|\b[a-z0-9_]+-\d{8}-\d{6}-[0-9a-f]{6}\b|\b\w+ = [\w.+-]+|<style>.*?</style>"
    r"|<[^>]*>|%\{[^}]*\}|\b10\.\d{4,}/\S+|\d{4}-\d\d-\d\dT[\d:.+-]+"
    # TNM categories; a row number where the file has no patient_id (the predictions' ids)
    r"|\b[TNM][0-4]\b|\brow \d+\b"
    # a DOI's suffix that a PDF line break parted from its prefix
    r"|\bs\d{5}-[\w-]+|\bP\s?MID\b",
    re.S,
)


def _latin_kept(engine) -> list[str]:
    """Texts shown as they are in every language: citations, the schema's codes, columns."""
    schema = engine.schema
    with use("zh-CN"):
        evidence = default_evidence().localized()
        kept = [s.text for system in evidence.systems for s in system.sources]
    kept += [s.citation for system in evidence.systems for s in system.sources if s.citation]
    kept += [schema.name, schema.id_column, schema.time.name, schema.event.name]
    kept += schema.feature_names
    for f in schema.features:
        kept += [str(v) for v in (f.allowed_values or ())]
    kept += list(predict_columns(schema)) + ["risk_group"]
    kept += [engine.bundle.version_id, *engine.bundle.manifest.libraries]
    return sorted({k for k in kept if len(k) > 1}, key=len, reverse=True)


def english_words(text: str, kept: list[str]) -> set[str]:
    """Latin-letter words left in ``text`` once what is kept on purpose is taken out."""
    text = CODE.sub(" ", text)
    for k in kept:
        text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(k)}(?![A-Za-z0-9_])", " ", text)
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9'/_-]*[A-Za-z0-9]", text))
    return {w for w in words if w not in KEPT}


def where(text: str, words: set[str]) -> list[str]:
    """The lines that hold some of ``words``, to say where they are."""
    return [
        line[:160] for line in text.splitlines() if any(re.search(rf"\b{w}\b", line) for w in words)
    ][:8]


MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_\[\]<>#|~$])")


def page_text(at) -> str:
    """Everything a page shows as text: titles, words, tables, widgets and figure specs."""
    parts = [
        e.value for kind in ("title", "subheader", "markdown", "caption") for e in at.get(kind)
    ]
    parts += [e.value for kind in ("info", "warning", "error") for e in at.get(kind)]
    # as the reader sees it: a name kept literal by a backslash ("patient\_id") shows without it
    parts = [MARKDOWN_ESCAPE.sub(r"\1", p) for p in parts]
    for t in [*at.table, *at.dataframe]:
        df = t.value
        parts += [" ".join(map(str, df.columns)), " ".join(map(str, df.index))]
        parts += [str(v) for v in df.to_numpy().ravel()]
    for kind in (
        "selectbox",
        "select_slider",
        "radio",
        "checkbox",
        "text_input",
        "button",
        "segmented_control",
    ):
        for w in at.get(kind):
            parts += [getattr(w, "label", "") or "", getattr(w, "help", "") or ""]
            parts += [str(o) for o in getattr(w, "options", []) or []]
    for e in at.get("expander"):
        parts.append(e.label)
    for tab in at.tabs:
        parts.append(tab.label)
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        layout = spec.get("layout", {})
        titles = [(layout.get(k) or {}).get("title") or {} for k in ("xaxis", "yaxis", "title")]
        parts += [t.get("text", "") if isinstance(t, dict) else str(t) for t in titles]
        parts += [t.get("name", "") + "\n" + t.get("hovertemplate", "") for t in spec["data"]]
        parts += [a.get("text", "") for a in layout.get("annotations", [])]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def engine(app_registry):
    return Engine(Registry(app_registry).load())


@pytest.fixture
def chinese(app_registry, monkeypatch):
    monkeypatch.setenv("HIPEC_MODELS", str(app_registry))
    at = st_testing.AppTest.from_file(APP, default_timeout=60)
    at.session_state["lang"] = "zh-CN"
    return at.run()


def test_every_page_in_chinese_has_no_english_message(chinese, engine):
    at = chinese
    assert not at.exception
    kept = _latin_kept(engine)
    text = page_text(at)
    assert re.search(r"[\u4e00-\u9fff]", text)
    at.text_input(key="alive_at").input(str(12)).run()  # conditional survival, its evidence
    text += page_text(at)
    at.segmented_control(key="mode").set_value("patient").run()
    text += page_text(at)
    for path in (
        "ui/pages/candidacy.py",
        "ui/pages/compare.py",
        "ui/pages/model_card.py",
        "ui/pages/cohort.py",
    ):
        at.switch_page(path).run()
        assert not at.exception, path
        if path.endswith("cohort.py"):
            # a file with a bad value and an unknown column, so that the checks speak too
            data = pd.DataFrame([engine.bundle.manifest.reference_patient] * 3)
            data.loc[0, "kps"] = 250
            data["extra"] = 1
            at.file_uploader(key="cohort.file").set_value(
                ("cohort.csv", data.to_csv(index=False).encode(), "text/csv")
            ).run()
            text += page_text(at)
            data = data.drop(index=0).drop(columns="extra")
            at.file_uploader(key="cohort.file").set_value(
                ("cohort.csv", data.to_csv(index=False).encode(), "text/csv")
            ).run()
            assert not at.exception
        text += page_text(at)
    nav = " ".join(p.title for p in at.get("navigation")) if at.get("navigation") else ""
    # a Chinese sentence ends with its own stop, not an English one
    stops = re.findall(r".{0,12}[\u4e00-\u9fff]\.(?:\s|\*|$).{0,12}", text)
    assert not stops, stops
    left = english_words(text + nav, kept)
    assert not left, f"English words on the Chinese pages: {sorted(left)}: {where(text, left)}"


def test_chinese_numbers_equal_the_english_ones(chinese, engine):
    at = chinese
    ref = dict(engine.bundle.manifest.reference_patient)
    p = engine.predict(engine.frame([ref]), "coxnet")[0]
    with use("zh-CN"):
        want = survival_table(p, engine.schema.localized())
        title = _("Survival {origin}").format(origin=engine.schema.localized().words.origin)
        first = sentences(p, engine.schema.localized())[0]
    shown = at.table[0].value.reset_index()
    assert shown.iloc[:, 0].tolist() == want.iloc[:, 0].tolist()  # rows in Chinese
    assert shown.iloc[:, 1].tolist() == want.iloc[:, 1].tolist()  # "69%": no space
    english = survival_table(p, engine.schema)
    percents = [e.replace(" %", "%") for e in english["Estimate"] if e.endswith(" %")]
    assert percents and percents == [e for e in want.iloc[:, 1] if e.endswith("%")]
    assert title in [t.value for t in at.title]
    assert any(first in m.value for m in at.markdown)


def test_switching_language_keeps_what_was_entered(chinese):
    at = chinese
    at.text_input(key="patient.pci").input(str(27))
    at.checkbox(key="patient.ki67.unknown").check().run()
    at.selectbox(key="lang").set_value("en").run()
    assert not at.exception
    assert at.text_input(key="patient.pci").value == "27"
    assert at.checkbox(key="patient.ki67.unknown").value
    assert "Survival" in at.title[0].value
    at.selectbox(key="lang").set_value("zh-CN").run()
    assert at.text_input(key="patient.pci").value == "27"


def test_a_choice_clicked_as_the_language_changes_is_kept(app_registry, monkeypatch):
    """A click whose rerun the language switch interrupts reaches the server in the words of
    the old language, in the same run as the switch: it is the choice kept, not the one the
    last finished run had (the browser's "unknown" had become "no", or nothing chosen)."""
    from ui.form import UNKNOWN

    monkeypatch.setenv("HIPEC_MODELS", str(app_registry))
    at = st_testing.AppTest.from_file(APP, default_timeout=60).run()
    nodes, sae = at.radio(key="patient.lymph_nodes"), at.radio(key="patient.sae")
    assert (nodes.value, sae.value) == (0, 0)  # the reference patient's
    nodes.set_value(UNKNOWN)  # sent as the English words on screen
    sae.set_value(1)
    at.selectbox(key="lang").set_value("zh-CN").run()
    assert not at.exception
    assert at.radio(key="patient.lymph_nodes").value == UNKNOWN
    assert at.radio(key="patient.sae").value == 1
    with use("zh-CN"):
        assert at.radio(key="patient.lymph_nodes").index == 0  # drawn as chosen: "unknown"
    # and back, the other way round
    at.radio(key="patient.sae").set_value(0)
    at.selectbox(key="lang").set_value("en").run()
    assert at.radio(key="patient.sae").value == 0
    assert at.radio(key="patient.lymph_nodes").value == UNKNOWN


def pdf_text(blob: bytes) -> str:
    doc = pdfium.PdfDocument(blob)
    return " ".join(
        " ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))
    )


def test_chinese_pdfs_are_set_in_chinese_with_the_same_numbers(engine, app_registry):
    vid = Registry(app_registry).active_id
    ctx = ReportContext(engine.bundle, "coxnet", sha256_file(app_registry / vid / MANIFEST))
    values = dict(engine.bundle.manifest.reference_patient)
    values.update(ki67=None)
    p = engine.predict(engine.frame([values]), contributions=True)[0]
    kept = _latin_kept(engine) + [ctx.manifest_sha256, engine.bundle.manifest.created]
    with use("zh-CN"):
        schema = engine.schema.localized()
        cand = engine.candidacy(engine.frame([values]))
        blobs = {
            "report": patient_report(ctx, values, p, figures="native"),
            "leaflet": patient_leaflet(ctx, p, figures="native"),
            "candidacy": candidacy_report(ctx, values, cand, figures="native"),
            "compare": compare_report(
                ctx, [("A", values), ("B", values)], [("A", p), ("B", p)], figures="native"
            ),
        }
        table = survival_table(p, schema)
        said = sentences(p, schema, for_patient=True)  # the leaflet speaks to the patient
    for name, blob in blobs.items():
        text = pdf_text(blob)
        assert re.search(r"[\u4e00-\u9fff]{4}", text), name
        left = english_words(text.replace("Helvetica", ""), kept)
        assert not left, f"English words in the Chinese {name} PDF: {sorted(left)}"
    report = pdf_text(blobs["report"]).replace(" ", "")
    for _i, row in table.iterrows():
        assert (row.iloc[1] + row.iloc[2]).replace(" ", "") in report
    leaflet = pdf_text(blobs["leaflet"]).replace(" ", "")
    assert said[0].replace(" ", "") in leaflet


def test_without_the_cjk_font_the_page_says_what_to_install(chinese, monkeypatch, tmp_path):
    import reporting.fonts

    monkeypatch.setattr(reporting.fonts, "_FOLDERS", (tmp_path,))
    at = chinese.run()
    assert not at.exception
    said = [w.value for w in at.warning]
    assert any("fonts-noto-cjk" in w for w in said), said
    # English needs no such font: its PDF is offered as before
    at.selectbox(key="lang").set_value("en").run()
    assert not any("fonts-noto-cjk" in w.value for w in at.warning)


def test_the_model_loading_message_is_in_the_readers_language(app_registry, monkeypatch):
    import contextlib

    import ui.state as state

    shown = []

    @contextlib.contextmanager
    def spinner(text, *args, **kwargs):
        shown.append(text)
        yield

    monkeypatch.setattr(state.st, "spinner", spinner)
    vid = Registry(app_registry).active_id
    with use("zh-CN"):
        engine, _sha = state._load(app_registry, vid)
    assert isinstance(engine, Engine)
    assert shown == ["正在校验并加载模型…"]
