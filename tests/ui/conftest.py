"""Fixtures shared by the page's tests."""

import json
import shutil

import pytest

from model.bundle import MANIFEST
from model.registry import Registry


@pytest.fixture(scope="module")
def app_registry(tmp_path_factory, small_bundle):
    """A registry holding a copy of the session bundle, promoted."""
    root = tmp_path_factory.mktemp("app_models")
    dest = root / small_bundle.name
    shutil.copytree(small_bundle, dest)
    # the session cohort lives in a temp folder; declare it simulated, as the shipped ones are
    manifest = json.loads((dest / MANIFEST).read_text())
    manifest["training_data"]["synthetic"] = True
    (dest / MANIFEST).write_text(json.dumps(manifest))
    reg = Registry(root)
    reg.register(dest)
    reg.promote(dest.name)
    return root
