"""Start the page on 127.0.0.1 and drive it in headless Debian Chromium (Playwright), or
over Streamlit's own websocket protocol.

Shared by the page tests, ``benchmarks/app.py`` and ``scripts/screenshots.py``.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# The machine's network is closed: without these, Chromium keeps trying to reach Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    return CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_args(port: int) -> list[str]:
    """Streamlit options for a page on the loopback address only, no browser opened."""
    return [
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
    ]


@contextmanager
def serve(models: Path, log: Path, timeout: float = 90):
    """Run ``streamlit run app.py`` on a free loopback port; yield its URL."""
    port = free_port()
    env = {**os.environ, "HIPEC_MODELS": str(models)}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.launch", *server_args(port)],  # what start.sh runs
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the page did not start; see {log}")
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def table_cell(page, outcome: str, column: int = 1) -> str:
    """Text of one cell of the first survival table on the page."""
    row = page.locator("table tr", has_text=outcome).first
    return row.locator("td").nth(column - 1).inner_text().strip()


CHECKED_JS = (
    "(label) => [...document.querySelectorAll('[data-testid=\"stRadio\"]')]"
    ".filter(r => r.querySelector('[data-testid=\"stWidgetLabel\"]').innerText.trim() === label)"
    ".flatMap(r => [...r.querySelectorAll('input[type=radio]')].filter(i => i.checked)"
    ".map(i => i.closest('label').innerText.trim()))"
)


# the script's run is over: what the page shows is what it drew, not a frame on the way
IDLE_JS = (
    "document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState === 'notRunning'"
)


def checked(page, label: str, settle_ms: int = 30_000) -> list[str]:
    """The words of the option(s) shown as chosen in the radio labelled ``label``, once the
    rerun is over and the page has drawn one (or after ``settle_ms``: a rerun draws the
    radios after the title; with both test workers busy it took over 10 s, as long as the
    other waits here allow). Read mid-run, a radio seen chosen had none chosen a moment
    later, as its element was replaced, and chosen again once the run ended."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait = f"(label) => {IDLE_JS} && ({CHECKED_JS})(label).length > 0"
    try:
        page.wait_for_function(wait, arg=label, timeout=settle_ms)
    except PlaywrightTimeout:  # nothing chosen once the run was over: say what is shown
        if not page.evaluate(f"() => {IDLE_JS}"):
            raise AssertionError(f"the page's run had not ended after {settle_ms} ms") from None
    return page.evaluate(CHECKED_JS, label)


# ---------------------------------------------------------------- concurrent sessions
# the first table's text with whitespace collapsed: "Outcome Estimate ... Survival at 1 year ..."
TABLE_JS = (
    "() => { const t = document.querySelector('table'); "
    "return t ? t.innerText.replace(/\\s+/g, ' ').trim() : ''; }"
)


def row_texts(table) -> list[str]:
    """The strings a survival table (reporting.summary.survival_table) shows, row by row."""
    return [" ".join(str(c) for c in row) for row in table.itertuples(index=False)]


async def _browser_user(browser_, url, steps, rng, loading, barrier, think, timeout_ms):
    """One user in their own Chromium context: set each step's PCI, wait for their table."""
    ctx = await browser_.new_context(viewport={"width": 1300, "height": 1000})
    page = await ctx.new_page()
    async with loading:
        await page.goto(url, timeout=timeout_ms)
        await page.get_by_text("Survival at 3 years").first.wait_for(timeout=timeout_ms)
    await barrier.wait()
    out = []
    pci = page.get_by_label("Peritoneal cancer index (PCI)", exact=True)
    for step in steps:
        await asyncio.sleep(rng.uniform(*think))
        before = await page.evaluate(TABLE_JS)
        await pci.fill(str(step["pci"]))
        t0 = time.perf_counter()
        await pci.press("Enter")
        await page.wait_for_function(
            "([want, before]) => { const t = (" + TABLE_JS + ")(); "
            "return t !== before && want.every(w => t.includes(w)); }",
            arg=[step["expected"], before],
            timeout=timeout_ms,
            polling=20,
        )
        out.append({"seconds": time.perf_counter() - t0, "table": await page.evaluate(TABLE_JS)})
    await ctx.close()
    return out


async def _protocol_rerun(ws, widget=None, value=None) -> dict:
    """Ask the server for a rerun (with one number input changed); collect until it ends."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = ""
    if widget is not None:
        state = msg.rerun_script.widget_states.widgets.add()
        state.id = widget
        state.string_value = str(value)  # the form's number boxes are text boxes
    await ws.send(msg.SerializeToString())
    out = {"pci": None, "table": None}
    while True:
        fm = ForwardMsg()
        fm.ParseFromString(await ws.recv())
        kind = fm.WhichOneof("type")
        if kind == "script_finished":
            return out
        if kind != "delta" or fm.delta.WhichOneof("type") != "new_element":
            continue
        el = fm.delta.new_element
        if el.WhichOneof("type") == "text_input" and el.text_input.label.startswith("Peritoneal"):
            out["pci"] = el.text_input.id
        elif el.WhichOneof("type") == "table" and out["table"] is None:
            out["table"] = _arrow_table_text(el.table.arrow_data.data)


def _arrow_table_text(data: bytes) -> str:
    """A table element's rows as the page shows them, joined by spaces."""
    import pyarrow as pa

    df = pa.ipc.open_stream(io.BytesIO(data)).read_all()
    rows = df.to_pandas().reset_index().itertuples(index=False)
    return " ".join(" ".join(str(c) for c in r) for r in rows)


async def _protocol_user(url, steps, rng, barrier, think):
    """One user speaking Streamlit's own websocket protocol (what the page's JavaScript
    sends and receives) without a browser: each step's time runs from sending the new PCI
    to the end of the rerun, with the table the server sent back."""
    import websockets

    ws_url = url.replace("http", "ws") + "/_stcore/stream"
    async with websockets.connect(
        ws_url, subprotocols=["streamlit"], max_size=None, origin=url
    ) as ws:
        first = await _protocol_rerun(ws)
        await barrier.wait()
        out = []
        for step in steps:
            await asyncio.sleep(rng.uniform(*think))
            t0 = time.perf_counter()
            got = await _protocol_rerun(ws, first["pci"], step["pci"])
            out.append({"seconds": time.perf_counter() - t0, "table": got["table"]})
        return out


def sessions(
    url: str,
    users: list[list[dict]],
    think: tuple[float, float] = (0.5, 2.5),
    seed: int = 0,
    timeout_ms: int = 180_000,
    browsers: int | None = None,
) -> list[list[dict]]:
    """Users working on the calculator at the same time, each in their own session.

    ``users[k]`` is user k's list of steps, each ``{"pci": value, "expected": [row texts]}``.
    The first ``browsers`` users (all if None) each get a headless Chromium context; the
    rest speak Streamlit's websocket protocol directly, so the server carries every session
    without the cost of rendering them all. All sessions are opened first (at most four
    browsers loading at once); then every user, at the same moment, sets the PCI of each
    step in turn, waits until their own table shows that step's ``expected`` rows (the
    engine's numbers for that patient), and pauses a random think time before the next
    step. Returns, per user and step, ``seconds`` from pressing Enter (or sending the
    change) to seeing the updated table, and the ``table`` text seen.
    """
    n_browsers = len(users) if browsers is None else max(0, min(browsers, len(users)))
    rngs = [random.Random(seed + k) for k in range(len(users))]

    def wire(barrier):
        return [
            _protocol_user(url, users[k], rngs[k], barrier, think)
            for k in range(n_browsers, len(users))
        ]

    async def main():
        barrier = asyncio.Barrier(len(users))
        if n_browsers == 0:
            return await asyncio.gather(*wire(barrier))
        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            b = await p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
            try:
                loading = asyncio.Semaphore(4)
                shown = [
                    _browser_user(b, url, users[k], rngs[k], loading, barrier, think, timeout_ms)
                    for k in range(n_browsers)
                ]
                return await asyncio.gather(*shown, *wire(barrier))
            finally:
                await b.close()

    return asyncio.run(main())


def plans(engine, users: int, steps: int) -> list[list[dict]]:
    """Each user's PCI steps, with the engine's expected table rows for each.

    Every step's table differs from the one before it (the reference patient's first),
    so a session can tell that its page has updated.
    """
    from reporting.summary import survival_table

    ref = dict(engine.bundle.manifest.reference_patient)
    rows = {
        pci: row_texts(
            survival_table(engine.predict(engine.frame([dict(ref, pci=pci)]))[0], engine.schema)
        )
        for pci in range(40)
    }
    start = row_texts(survival_table(engine.predict(engine.frame([ref]))[0], engine.schema))
    out = []
    for k in range(users):
        shown, steps_k, pci = start, [], (3 * k + 1) % 40
        while len(steps_k) < steps:
            if rows[pci] != shown:
                steps_k.append({"pci": pci, "expected": rows[pci]})
                shown = rows[pci]
            pci = (pci + 7) % 40
        out.append(steps_k)
    return out
