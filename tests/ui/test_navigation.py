"""The page offers candidacy before surgery only for a schema that declares operative
outcomes (a researcher's schema without them gets no page that cannot work)."""

import json
import shutil

import pytest

from model.bundle import MANIFEST
from model.registry import Registry
from tests.conftest import ROOT

st_testing = pytest.importorskip("streamlit.testing.v1")
APP = str(ROOT / "app.py")
CANDIDACY_TITLE = "Candidacy: before surgery"


def _registry(root, small_bundle, outcomes: bool):
    dest = root / small_bundle.name
    shutil.copytree(small_bundle, dest)
    if not outcomes:
        manifest = json.loads((dest / MANIFEST).read_text())
        manifest["schema"]["operative_outcomes"] = []
        (dest / MANIFEST).write_text(json.dumps(manifest))
    reg = Registry(root)
    reg.register(dest)
    reg.promote(dest.name)
    return root


@pytest.mark.parametrize("outcomes", [True, False])
def test_candidacy_is_offered_only_with_operative_outcomes(
    tmp_path, small_bundle, monkeypatch, outcomes
):
    monkeypatch.setenv("HIPEC_MODELS", str(_registry(tmp_path, small_bundle, outcomes)))
    at = st_testing.AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    if outcomes:
        at.switch_page("ui/pages/candidacy.py").run()
        assert CANDIDACY_TITLE in [t.value for t in at.title]
    else:
        # not registered in the navigation at all; the other pages are
        with pytest.raises(ValueError, match=r"Could not find a navigation page.*model_card"):
            at.switch_page("ui/pages/candidacy.py")
