"""Screenshots of every page and an example PDF report, for the README.

    .venv/bin/python scripts/screenshots.py [--models models] [--out docs]

Serves the app on the registry's active bundle, opens each page in headless Chromium,
and writes ``docs/screenshots/<page>.png`` and ``docs/report-example.png`` (page one of
the calculator's PDF report for the reference patient, rendered with PDFium).
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
from model.registry import Registry  # noqa: E402
from tests.ui.browser import browser, serve  # noqa: E402

PAGES = [
    ("calculator", "", "Survival at 3 years"),
    ("candidacy", "/candidacy", "Chance of"),
    ("compare", "/compare", "Predicted survival by scenario"),
    ("cohort", "/cohort", "Risk groups"),
    ("model_card", "/model_card", "Calibration"),
]


def report_image(models: Path, out: Path) -> None:
    import pypdfium2 as pdfium

    from reporting.pdf import ReportContext, patient_report

    reg = Registry(models)
    bundle = reg.load()
    engine = Engine(bundle)
    values = dict(bundle.manifest.reference_patient)
    values.update(ki67=None)
    p = engine.predict(engine.frame([values]), contributions=True)[0]
    ctx = ReportContext(bundle, bundle.default_model, sha256_file(bundle.path / MANIFEST))
    pdf = patient_report(ctx, values, p, engine.warnings(engine.frame([values]))[0])
    pdfium.PdfDocument(pdf)[0].render(scale=1.4).to_pil().save(out)


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
    report_image(args.models, args.out / "report-example.png")
    print(f"wrote {args.out / 'report-example.png'}")


if __name__ == "__main__":
    main()
