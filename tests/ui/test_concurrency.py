"""Twenty users at once, each in their own session: each sees only their own patient.

Two users drive headless Chromium; the other eighteen speak Streamlit's websocket protocol,
as the page's JavaScript does, so the server carries twenty live sessions without the
machine's two cores rendering twenty pages (each browser costs the suite some 10 s). The timing (median response against a single
user) is measured by benchmarks/app.py; this test checks correctness under the same load:
no state bleeds between sessions.
"""

import os

import pytest

from model.engine import Engine
from model.registry import Registry
from tests.conftest import promoted_copy
from tests.ui.browser import chromium_path, plans, serve, sessions

if chromium_path() is None:
    if os.environ.get("CI"):
        raise RuntimeError("CI must install Chromium (apt-get install chromium) for this test")
    pytest.skip("Debian chromium is not installed here", allow_module_level=True)

USERS = 20
BROWSERS = 2
STEPS = 2


def test_twenty_simultaneous_sessions_get_their_own_results(tmp_path, small_bundle):
    root = promoted_copy(small_bundle, tmp_path / "models")
    engine = Engine(Registry(root).load())
    steps = plans(engine, USERS, STEPS)
    with serve(root, tmp_path / "server.log") as url:
        results = sessions(url, steps, think=(0.0, 0.5), browsers=BROWSERS)
    assert len(results) == USERS
    for user, plan in zip(results, steps, strict=True):
        for got, step in zip(user, plan, strict=True):
            # a browser session only returns once its table shows the expected rows; check
            # the full text of every session's table, so another patient's numbers cannot pass
            assert all(row in got["table"] for row in step["expected"])
