"""No patient data left behind: drive the page with distinctive values, then search for them.

A real server and browser: a patient entered on the calculator and a cohort uploaded on
the cohort page, each with values that occur nowhere else. After the session, the
server's log, every file written to the temp directory during the test, the working tree
and Streamlit's home folder must not contain them.
"""

import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import promoted_copy
from tests.ui.browser import ROOT, browser, chromium_path, serve

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Chromium (apt-get install chromium) for this test")
    pytest.skip("Debian chromium is not installed here", allow_module_level=True)

CANARY_ID = "CANARY-PRIV-7f3a9c"
CANARY_CA125 = "98765.4"  # typed into the calculator
CANARY_CEA = "8765.3"  # in the uploaded cohort


def files_to_search(started: float, log: Path) -> list[Path]:
    out = [log]
    for base in (Path(tempfile.gettempdir()),):
        for dirpath, _, names in os.walk(base):
            for n in names:
                p = Path(dirpath) / n
                try:
                    st = p.stat()
                except OSError:
                    continue
                if st.st_mtime >= started and st.st_size < 200_000_000 and p.is_file():
                    out.append(p)
    for dirpath, dirs, names in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in (".venv", ".git")]
        out += [Path(dirpath) / n for n in names]
    home = Path.home() / ".streamlit"
    if home.exists():
        out += [p for p in home.rglob("*") if p.is_file()]
    return out


def test_entered_and_uploaded_values_are_not_left_anywhere(tmp_path, small_bundle, small_cohort):
    root = promoted_copy(small_bundle, tmp_path / "models")
    log = tmp_path / "server.log"
    cohort = pd.read_csv(small_cohort[0]).head(12)
    cohort.loc[0, "patient_id"] = CANARY_ID
    cohort.loc[0, "cea"] = float(CANARY_CEA)
    upload = cohort.to_csv(index=False).encode()
    started = time.time() - 1

    with serve(root, log) as url, browser() as b:
        page = b.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url)
        page.get_by_text("Survival at 3 years").first.wait_for(timeout=60_000)
        box = page.get_by_label("CA125 before surgery (U/mL)", exact=True)
        box.fill(CANARY_CA125)
        box.press("Enter")
        page.wait_for_function(
            "v => [...document.querySelectorAll('input')].some(i => i.value === v)",
            arg=CANARY_CA125,
        )
        page.get_by_text("Survival at 3 years").first.wait_for()
        page.goto(f"{url}/cohort")
        page.locator("input[type=file]").set_input_files(
            {"name": "cohort.csv", "mimeType": "text/csv", "buffer": upload}
        )
        page.get_by_text("Predictions for 12 patients").wait_for(timeout=60_000)
        page.get_by_text("Risk groups").wait_for()  # scored, grouped and drawn

    # the search must be able to fail: a planted copy in the temp directory is found
    planted = tmp_path / "planted.txt"
    planted.write_text(f"leak {CANARY_ID}")
    hits = []
    for path in files_to_search(started, log):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for canary in (CANARY_ID, CANARY_CA125, CANARY_CEA):
            if canary.encode() in data:
                hits.append(f"{canary} in {path}")
    # this file (and its compiled form) names the canaries, of course
    hits = [h for h in hits if Path(__file__).stem not in h.rsplit("/", 1)[-1]]
    assert f"{CANARY_ID} in {planted}" in hits
    hits.remove(f"{CANARY_ID} in {planted}")
    assert not hits, hits
