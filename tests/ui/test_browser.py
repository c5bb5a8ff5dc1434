"""The page in a real browser: server on 127.0.0.1, headless Debian Chromium via Playwright.

Fills the calculator form, sees the curve and the numbers change, uploads a CSV on the
cohort page, and saves screenshots. CI installs Chromium (``.ci/run``); elsewhere the
test is skipped with the reason when Chromium is missing, never in CI.
"""

import os
from pathlib import Path

import pandas as pd
import pypdfium2 as pdfium
import pytest

from model.engine import Engine
from model.registry import Registry
from reporting.summary import survival_table
from tests.conftest import promoted_copy
from tests.ui.browser import browser, checked, chromium_path, serve, table_cell

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Chromium (apt-get install chromium) for this test")
    pytest.skip("Debian chromium is not installed here", allow_module_level=True)

THREE_YEARS = "Overall survival at 3 years (36 months)"


@pytest.fixture(scope="module")
def models(tmp_path_factory, small_bundle):
    return promoted_copy(small_bundle, tmp_path_factory.mktemp("browser") / "models")


def test_real_browser_calculator_and_cohort(models, tmp_path, small_cohort):
    shots = tmp_path / "screenshots"
    shots.mkdir()
    engine = Engine(Registry(models).load())
    ref = dict(engine.bundle.manifest.reference_patient)
    with serve(models, tmp_path / "server.log") as url, browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.get_by_text(THREE_YEARS).first.wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for()
        before = table_cell(page, THREE_YEARS)
        want = survival_table(engine.predict(engine.frame([ref]))[0], engine.schema).set_index(
            "Outcome"
        )
        assert before == want.loc[THREE_YEARS, "Estimate"]
        page.screenshot(path=shots / "calculator.png", full_page=True)

        # a high Ki-67 and PCI: the numbers must change to the engine's for that patient
        for label, value in (("Ki-67 index (%)", "45"), ("Peritoneal cancer index (PCI)", "33")):
            box = page.get_by_label(label, exact=True)
            box.fill(value)
            box.press("Enter")
        ref.update(ki67=45.0, pci=33)
        want = survival_table(engine.predict(engine.frame([ref]))[0], engine.schema).set_index(
            "Outcome"
        )
        page.wait_for_function(
            "([o, v]) => [...document.querySelectorAll('table tr')].some("
            "r => r.innerText.includes(o) && r.innerText.includes(v))",
            arg=[THREE_YEARS, want.loc[THREE_YEARS, "Estimate"]],
            timeout=30_000,
        )
        after = table_cell(page, THREE_YEARS)
        assert after == want.loc[THREE_YEARS, "Estimate"] and after != before
        page.screenshot(path=shots / "calculator_changed.png", full_page=True)

        # the tumour-board PDF of this patient carries the numbers on screen
        with page.expect_download(timeout=90_000) as download:
            page.get_by_text("Download the one-page PDF report").click()
        doc = pdfium.PdfDocument(Path(download.value.path()).read_bytes())
        assert len(doc) == 1
        text = " ".join(doc[0].get_textpage().get_text_range().split())
        row = want.loc[THREE_YEARS]
        assert f"{row['Estimate']} {row['95 % interval']}" in text

        # the cohort page: upload a CSV and see its predictions
        csv = tmp_path / "patients.csv"
        pd.read_csv(small_cohort[0]).head(40).to_csv(csv, index=False)
        page.goto(f"{url}/cohort")
        page.locator("input[type=file]").set_input_files(csv)
        page.get_by_text("Predictions for 40 patients").wait_for(timeout=60_000)
        # the risk-group table arrives after its heading: wait for it, not just the heading.
        # Visible cells only: the predictions grid above holds the same words in hidden
        # accessibility cells, which `first` would otherwise pick and wait on forever.
        page.get_by_text("lower risk third").filter(visible=True).first.wait_for(timeout=60_000)
        page.get_by_text("higher risk third").filter(visible=True).first.wait_for()
        page.screenshot(path=shots / "cohort.png", full_page=True)

        # on a phone the columns stack: the patient's own numbers come before the published
        # series, the 100 icons have the width (their legend is under them), and no
        # factor's label is cut off the contributions chart
        phone = b.new_page(viewport={"width": 390, "height": 844})
        phone.goto(url)
        phone.get_by_text(THREE_YEARS).first.wait_for(timeout=60_000)
        contributions = phone.locator(".js-plotly-plot").filter(has_text="Hazard ratio against")
        icons = phone.locator(".js-plotly-plot").filter(has_text="may be either")
        icons.wait_for()
        published = phone.get_by_text("Published series, not this model").first
        assert (
            published.bounding_box()["y"] > phone.get_by_text(THREE_YEARS).first.bounding_box()["y"]
        )
        grid = icons.locator(".scatterlayer").bounding_box()
        assert grid["width"] > 200  # beside their legend they had 95 px
        assert icons.locator(".legend").bounding_box()["y"] >= grid["y"] + grid["height"]
        labels = contributions.locator(".ytick text")
        assert labels.count() >= len(engine.schema.features)  # and any declared interaction
        edge = contributions.bounding_box()["x"]
        assert all(labels.nth(i).bounding_box()["x"] >= edge for i in range(labels.count()))
        phone.screenshot(path=shots / "phone.png")
    for name in ("calculator.png", "calculator_changed.png", "cohort.png"):
        assert (shots / name).stat().st_size > 20_000  # a real rendering, not a blank page


def test_real_browser_patient_reading_mode(models, tmp_path):
    engine = Engine(Registry(models).load())
    ref = dict(engine.bundle.manifest.reference_patient)
    p = engine.predict(engine.frame([ref]))[0]
    from reporting.plain import sentences

    first = sentences(p, engine.schema, for_patient=True)[0]
    with serve(models, tmp_path / "server.log") as url, browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.get_by_text(THREE_YEARS).first.wait_for(timeout=60_000)
        page.get_by_text("For the patient").first.click()
        page.get_by_text("What the numbers say").wait_for(timeout=30_000)
        page.get_by_text(first).first.wait_for(timeout=30_000)
        # no tables in the patient's view (the clinician's fades out after the rerun)
        page.locator("table").first.wait_for(state="detached", timeout=30_000)
        size = page.get_by_text(first).first.evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        assert size >= 20  # larger type (1.3 rem), the clinician's view is 16 px
        page.screenshot(path=tmp_path / "patient.png", full_page=True)
        with page.expect_download(timeout=90_000) as download:
            page.get_by_text("Download the patient's version (PDF)").click()
        doc = pdfium.PdfDocument(Path(download.value.path()).read_bytes())
        text = " ".join(doc[0].get_textpage().get_text_range().split())
        assert " ".join(first.split()) in text
        # and back: the clinician's table again
        page.get_by_text("Clinician").first.click()
        page.get_by_text(THREE_YEARS).first.wait_for(timeout=30_000)
    assert (tmp_path / "patient.png").stat().st_size > 20_000


def test_real_browser_language_and_patient_mode(models, tmp_path):
    """Switch the page to Chinese in the sidebar, read the patient's mode and its PDF in
    Chinese, and back to English; values entered before (a number, a list choice, a yes/no
    and an "unknown", whose words on screen change with the language) survive both switches
    and are shown as chosen, as is the sidebar's model."""
    from model.i18n import _, use
    from reporting.plain import sentences

    engine = Engine(Registry(models).load())
    ref = dict(engine.bundle.manifest.reference_patient)
    ref.update(pci=33, pathology="sarcomatoid", sae=1, lymph_nodes=None)
    p = engine.predict(engine.frame([ref]))[0]
    want = survival_table(p, engine.schema).set_index("Outcome").loc[THREE_YEARS, "Estimate"]
    labels = {n: engine.schema.feature(n).label for n in ("pathology", "sae", "lymph_nodes")}
    model = engine.bundle.manifest.label(engine.default_model) + " (default)"
    with use("zh-CN"):
        zh_model = (_("Model"), _(engine.bundle.manifest.label(engine.default_model)))
        zh_nodes = (engine.schema.localized().feature("lymph_nodes").label, _("unknown"))
        schema = engine.schema.localized()
        title = _("Survival {origin}").format(origin=schema.words.origin)
        for_patient, clinician = _("For the patient"), _("Clinician")
        says = _("What the numbers say")
        first = sentences(p, schema, for_patient=True)[0]
        download = _("Download the patient's version (PDF)")
    with serve(models, tmp_path / "server.log") as url, browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url)
        page.get_by_text(THREE_YEARS).first.wait_for(timeout=60_000)
        box = page.get_by_label("Peritoneal cancer index (PCI)", exact=True)
        box.fill("33")
        box.press("Enter")
        page.get_by_role("combobox", name=labels["pathology"], exact=True).click()
        page.get_by_role("option", name="sarcomatoid", exact=True).click()
        radio = page.locator("[data-testid='stRadio']", has_text=labels["sae"]).first
        radio.get_by_text("yes", exact=True).click()
        nodes = page.locator("[data-testid='stRadio']", has_text=labels["lymph_nodes"]).first
        nodes.get_by_text("unknown", exact=True).click()
        page.wait_for_function(
            "([o, v]) => [...document.querySelectorAll('table tr')].some("
            "r => r.innerText.includes(o) && r.innerText.includes(v))",
            arg=[THREE_YEARS, want],
            timeout=30_000,
        )
        page.get_by_text("Language / 语言").wait_for()
        page.get_by_label("Language / 语言").click()
        page.get_by_role("option", name="简体中文").click()
        page.get_by_text(title).first.wait_for(timeout=30_000)
        # chosen options are drawn as chosen in the new words (a value of None had been
        # drawn as nothing chosen)
        assert checked(page, zh_nodes[0]) == [zh_nodes[1]]
        assert [c.startswith(zh_model[1]) for c in checked(page, zh_model[0])] == [True]
        page.get_by_text(for_patient).first.click()
        page.get_by_text(says).wait_for(timeout=30_000)
        page.get_by_text(first).first.wait_for(timeout=30_000)  # PCI 33 kept
        page.screenshot(path=tmp_path / "patient_zh.png", full_page=True)
        with page.expect_download(timeout=90_000) as dl:
            page.get_by_text(download).click()
        doc = pdfium.PdfDocument(Path(dl.value.path()).read_bytes())
        text = "".join(doc[0].get_textpage().get_text_range().split())
        assert "".join(first.split()) in text
        page.get_by_text(clinician).first.click()
        page.get_by_label("Language / 语言").click()
        page.get_by_role("option", name="English").click()
        page.get_by_text(THREE_YEARS).first.wait_for(timeout=30_000)
        assert page.get_by_label("Peritoneal cancer index (PCI)", exact=True).input_value() == "33"
        # the list choice and the yes/no too: the browser had held them as Chinese words
        assert table_cell(page, THREE_YEARS) == want
        assert checked(page, labels["lymph_nodes"]) == ["unknown"]
        assert checked(page, labels["sae"]) == ["yes"]
        assert checked(page, "Model") == [model]
    assert (tmp_path / "patient_zh.png").stat().st_size > 20_000


# words cut to an ellipsis, or a box whose value is wider than the box shows
CUT_JS = (
    "els => els.filter(e => e.scrollWidth > e.clientWidth + 1)"
    ".map(e => e.getAttribute('aria-label') || e.innerText)"
)


def test_real_browser_form_shows_what_is_used_and_says_what_is_wrong_where(models, tmp_path):
    """What the boxes show is what the model uses; an emptied box stays empty and is said;
    an error is said under its field on a phone; no label, value or button is cut."""
    with serve(models, tmp_path / "server.log") as url, browser() as b:
        page = b.new_page(viewport={"width": 1280, "height": 900})
        page.goto(url)
        page.get_by_text(THREE_YEARS).first.wait_for(timeout=60_000)
        ca125 = page.get_by_label("CA125 before surgery (U/mL)", exact=True)
        ca125.fill("12345.67")
        ca125.press("Tab")
        ki67 = page.get_by_label("Ki-67 index (%)", exact=True)
        ki67.fill("")
        # key by key, with a decimal comma: the browser's number box dropped it as it was
        # typed (9,04 became 904, and CEA 2,5 became 25, a value in range)
        ki67.press_sequentially("9,04")
        ki67.press("Tab")
        # the contributions chart's label: the page has read both
        page.get_by_text("Ki-67 index = 9.04%").first.wait_for(timeout=30_000)
        assert ki67.input_value() == "9,04"  # as typed
        assert ca125.input_value() == "12345.67"  # not "12345.7"
        assert page.locator(".stMarkdownEllipsis").evaluate_all(CUT_JS) == []
        assert page.locator("[data-testid=stTextInput] input").evaluate_all(CUT_JS) == []
        # every grade of the CC scale in view, none cut
        cc = page.locator("[data-testid='stRadio']", has_text="Completeness of cytoreduction")
        assert cc.get_by_text("CC3 - residual nodules > 2.5 cm or confluent").is_visible()

        age = page.get_by_label("Age at surgery (years)", exact=True)
        age.fill("")
        age.press("Tab")
        page.get_by_text("the box is empty").first.wait_for(timeout=30_000)
        assert age.input_value() == ""  # not put back to the typical patient's 54
        # no numbers for a patient the form does not hold (the old table fades out)
        page.locator("table", has_text=THREE_YEARS).first.wait_for(state="detached", timeout=30_000)

        phone = b.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        ).new_page()
        phone.goto(url)
        phone.get_by_text(THREE_YEARS).first.wait_for(timeout=60_000)
        age = phone.get_by_label("Age at surgery (years)", exact=True)
        age.fill("120")
        age.press("Tab")
        error = phone.get_by_text("120 is outside the allowed range").first
        error.wait_for(timeout=30_000)
        box, said = age.bounding_box(), error.bounding_box()
        assert 0 < said["y"] - (box["y"] + box["height"]) < 100  # under the box, not the form
        age.fill("54")
        age.press("Tab")
        phone.get_by_text(THREE_YEARS).first.wait_for(timeout=30_000)
        phone.locator("[data-testid=stExpandSidebarButton]").click()
        phone.get_by_text("For the patient").first.click()
        phone.keyboard.press("Escape")
        download = phone.locator("[data-testid=stDownloadButton]", has_text="patient's version")
        download.wait_for(timeout=60_000)
        assert phone.locator(".stMarkdownEllipsis").evaluate_all(CUT_JS) == []
        assert download.bounding_box()["width"] <= 390


MASKS_JS = (
    """els => els.map(e => [e.scrollWidth > e.clientWidth + 8, getComputedStyle(e).maskImage])"""
)


def test_real_browser_a_table_wider_than_a_phone_says_so(models, tmp_path):
    """On a phone the model card's tables scroll sideways, and the overlay scrollbar shows
    only while scrolling: a table wider than the screen fades at its right edge until it is
    scrolled to its end; one that fits does not fade. The manifest's SHA-256 is shown whole,
    on a phone and a desktop (a cell shows 400 px of one line: its last characters were
    hidden)."""
    registry = Registry(models)
    sha = registry._entry(registry.active_id)["manifest_sha256"]
    hidden = (
        "sha => [...document.querySelectorAll('[data-testid=stTable] td')]"
        ".filter(td => td.innerText.replace(/\\s/g, '') === sha)"
        ".map(td => td.querySelector('[data-testid=stMarkdownContainer]'))"
        ".map(e => e.scrollWidth - e.clientWidth)"
    )
    with serve(models, tmp_path / "server.log") as url, browser() as b:
        desktop = b.new_page(viewport={"width": 1366, "height": 900})
        desktop.goto(url + "/model_card")
        desktop.get_by_text("Bundle version").first.wait_for(timeout=60_000)
        assert desktop.evaluate(hidden, sha) == [0]
        phone = b.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        ).new_page()
        phone.goto(url + "/model_card")
        phone.get_by_text("Bundle version").first.wait_for(timeout=60_000)
        assert phone.evaluate(hidden, sha) == [0]
        # those shown: a closed expander's table has no layout to scroll (its mask is
        # whichever its animation last had)
        scrollers = phone.locator("[data-testid=stTable] > div").filter(visible=True)
        masks = scrollers.evaluate_all(MASKS_JS)
        wide = [i for i, (over, _) in enumerate(masks) if over]
        assert wide, "no table wider than the phone: nothing tested"
        assert all(("gradient" in mask) == over for over, mask in masks), masks
        first = scrollers.nth(wide[0])
        first.evaluate("e => { e.scrollLeft = e.scrollWidth }")
        phone.wait_for_function(
            "e => getComputedStyle(e).maskImage === 'none'", arg=first.element_handle()
        )


def test_real_browser_scenarios_start_from_the_calculators_patient(models, tmp_path):
    """What every input of a scenario shows after "Start every scenario from the calculator's
    patient" is that patient, lists, yes/no, "unknown" ticks and the name too, and what it
    shows is what is predicted, also at the next rerun: a browser keeps showing, and sends
    back, what an input held before its state was cleared (the lists and ticks kept the old
    values while the first rerun predicted the new)."""
    from reporting.scenarios import starting_scenarios
    from reporting.summary import scenario_table

    engine = Engine(Registry(models).load())
    schema = engine.schema
    start = dict(engine.bundle.manifest.reference_patient, pathology="biphasic", pci=None)
    (name, values), *_ = starting_scenarios(schema, start)
    prog = engine.predict(engine.frame([values]))[0]
    want = scenario_table([(name, prog)], schema).loc[THREE_YEARS, name]
    labels = {n: schema.feature(n).label for n in ("pathology", "pci")}
    with serve(models, tmp_path / "server.log") as url, browser() as b:
        page = b.new_page(viewport={"width": 1400, "height": 1100})
        page.goto(url + "/compare")
        page.get_by_label("Scenario name").first.wait_for(timeout=60_000)
        first = page.get_by_label("Scenario name").first
        first.fill("Mine")
        first.press("Enter")
        page.locator("table", has_text="Mine").first.wait_for(timeout=30_000)
        # the calculator: a list, and an "unknown" tick (sidebar links keep the session)
        page.locator("[data-testid=stSidebarNav] a", has_text="Calculator").click()
        page.get_by_text(THREE_YEARS).first.wait_for(timeout=60_000)
        page.get_by_role("combobox", name=labels["pathology"], exact=True).click()
        page.get_by_role("option", name="biphasic", exact=True).click()
        page.get_by_text(f"{labels['pci']} unknown", exact=True).click()
        page.get_by_label(labels["pci"], exact=True).wait_for(state="attached")
        page.wait_for_function(
            "l => document.querySelector(`input[aria-label='${l}']`).disabled",
            arg=labels["pci"],
            timeout=30_000,
        )
        page.locator("[data-testid=stSidebarNav] a", has_text="Compare scenarios").click()
        button = "Start every scenario from the calculator's patient"
        page.get_by_role("button", name=button).first.click()
        page.get_by_text(
            "The scenarios start from the patient entered on the calculator."
        ).wait_for(timeout=30_000)
        tab = page.locator("[data-testid=stTabPanel]").first
        assert page.get_by_label("Scenario name").first.input_value() == name
        assert tab.get_by_role("combobox", name=labels["pathology"], exact=True).input_value() == (
            "biphasic"
        )
        assert tab.get_by_label(f"{labels['pci']} unknown", exact=True).is_checked()
        assert tab.get_by_label(labels["pci"], exact=True).is_disabled()
        # and what is shown is what is predicted, at this rerun and the next
        cell = "([o, n, v]) => [...document.querySelectorAll('table tr')].some(" \
            "r => r.innerText.includes(o) && r.innerText.includes(v))"  # fmt: skip
        page.wait_for_function(cell, arg=[THREE_YEARS, name, want], timeout=30_000)
        page.get_by_text("Show 95 % bands").click()
        page.wait_for_timeout(3_000)
        page.wait_for_function(cell, arg=[THREE_YEARS, name, want], timeout=30_000)
