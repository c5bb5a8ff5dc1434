"""Screenshots of every page and an example PDF report, for the README.

    .venv/bin/python scripts/screenshots.py [--models models] [--out docs]

Serves the app on the registry's active bundle, opens each page in headless Chromium,
and writes ``docs/screenshots/<page>.png`` (the calculator also in the patient's reading
mode), ``docs/report-example.png`` and ``docs/patient-report-example.png`` (page one of the
calculator's tumour-board and patient PDFs for the reference patient, rendered with PDFium).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model.bundle import MANIFEST, sha256_file  # noqa: E402
from model.engine import Engine  # noqa: E402
from model.i18n import _, use  # noqa: E402
from model.registry import Registry  # noqa: E402
from tests.ui.browser import browser, serve  # noqa: E402

PAGES = [
    ("calculator", "", "Survival at 3 years"),
    ("candidacy", "/candidacy", "Chance of"),
    ("compare", "/compare", "Predicted survival by scenario"),
    ("cohort", "/cohort", "Risk groups"),
    ("model_card", "/model_card", "Calibration"),
]


def report_images(models: Path, out: Path, suffix: str = "") -> None:
    import pypdfium2 as pdfium

    from reporting.pdf import ReportContext, patient_leaflet, patient_report

    reg = Registry(models)
    bundle = reg.load()
    engine = Engine(bundle)
    values = dict(bundle.manifest.reference_patient)
    values.update(ki67=None)
    p = engine.predict(engine.frame([values]), contributions=True)[0]
    ctx = ReportContext(bundle, bundle.default_model, sha256_file(bundle.path / MANIFEST))
    pdf = patient_report(ctx, values, p, engine.warnings(engine.frame([values]))[0])
    pdfium.PdfDocument(pdf)[0].render(scale=1.4).to_pil().save(out / f"report-example{suffix}.png")
    leaflet = patient_leaflet(ctx, p, engine.warnings(engine.frame([values]))[0])
    pdfium.PdfDocument(leaflet)[0].render(scale=1.4).to_pil().save(
        out / f"patient-report-example{suffix}.png"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    args = ap.parse_args()
    shots = args.out / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    cohort = ROOT / "data" / "synthetic" / "dmpm_110.csv"
    with tempfile.TemporaryDirectory() as tmp:
        with serve(args.models, Path(tmp) / "server.log") as url, browser() as b:
            page = b.new_page(viewport={"width": 1400, "height": 2000})
            for name, path, ready in PAGES:
                page.goto(url + path)
                if name == "cohort":
                    page.locator("input[type=file]").set_input_files(cohort)
                page.get_by_text(ready).filter(visible=True).first.wait_for(timeout=90_000)
                page.wait_for_timeout(1500)  # let plotly finish drawing
                page.screenshot(path=shots / f"{name}.png", full_page=True)
                print(f"wrote {shots / (name + '.png')}")
            page.goto(url)
            page.get_by_text("For the patient").first.click()
            page.get_by_text("What these numbers mean").first.wait_for(timeout=90_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=shots / "patient.png", full_page=True)
            print(f"wrote {shots / 'patient.png'}")
            chinese(page, url, shots, args.models)
    report_images(args.models, args.out)
    with use("zh-CN"):
        report_images(args.models, args.out, suffix="-zh")
    print(f"wrote {args.out / 'report-example.png'}, {args.out / 'patient-report-example.png'}")


def chinese(page, url: str, shots: Path, models: Path) -> None:
    """The calculator and the patient's mode in Chinese (``*_zh.png``)."""
    from reporting.summary import landmark_label

    with use("zh-CN"):
        patient, says = _("For the patient"), _("What these numbers mean")
        # the survival table's row at 3 years, in the schema's words
        three = landmark_label(Registry(models).load().schema.localized(), 36)
    page.goto(url)
    page.get_by_label("Language / 语言").click()
    page.get_by_role("option", name="简体中文").click()
    page.get_by_text(three).first.wait_for(timeout=90_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=shots / "calculator_zh.png", full_page=True)
    page.get_by_text(patient).first.click()
    page.get_by_text(says).first.wait_for(timeout=90_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=shots / "patient_zh.png", full_page=True)
    print(f"wrote {shots / 'calculator_zh.png'}, {shots / 'patient_zh.png'}")


if __name__ == "__main__":
    main()
