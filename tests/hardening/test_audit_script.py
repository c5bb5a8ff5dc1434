"""scripts/audit.sh decides rightly on what pip-audit reports (pip-audit itself is faked here:
the decisions must not depend on the network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE = """#!/usr/bin/env bash
# stands in for python: "-m pip_audit ..." writes the canned report; anything else is python
if [ "$1" = "-m" ] && [ "$2" = "pip_audit" ]; then
    out=""; prev=""
    for a in "$@"; do [ "$prev" = "--output" ] && out="$a"; prev="$a"; done
    [ -f "$FAKE_REPORT" ] && cp "$FAKE_REPORT" "$out"
    cat "$FAKE_STDERR" >&2
    exit "$FAKE_RC"
fi
exec "$REAL_PYTHON" "$@"
"""


def dep(name, version, *vulns):
    return {
        "name": name,
        "version": version,
        "vulns": [
            {"id": v, "fix_versions": ["9.9"], "aliases": [f"CVE-{v}"], "description": ""}
            for v in vulns
        ],
    }


def skipped(name):
    return {"name": name, "skip_reason": f"Dependency not found on PyPI: {name} (1.0)"}


def run(tmp_path, report, ignore="", rc=0, stderr="", strict=False):
    fake = tmp_path / "python"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    (tmp_path / "stderr").write_text(stderr)
    if report is not None:
        (tmp_path / "report.json").write_text(json.dumps(report))
    (tmp_path / "ignore.txt").write_text(ignore)
    env = {
        **os.environ,
        "PYTHON": str(fake),
        "REAL_PYTHON": sys.executable,
        "FAKE_REPORT": str(tmp_path / "report.json"),
        "FAKE_STDERR": str(tmp_path / "stderr"),
        "FAKE_RC": str(rc),
        "AUDIT_IGNORE": str(tmp_path / "ignore.txt"),
        "AUDIT_STRICT": "1" if strict else "0",
    }
    res = subprocess.run(
        ["bash", str(ROOT / "scripts" / "audit.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return res.returncode, res.stdout + res.stderr


def test_clean(tmp_path):
    code, out = run(tmp_path, {"dependencies": [dep("a", "1"), dep("b", "2")], "fixes": []})
    assert code == 0 and "passed: no known vulnerability in the 2 packages" in out


def test_a_vulnerability_fails(tmp_path):
    code, out = run(tmp_path, {"dependencies": [dep("a", "1", "PYSEC-1")], "fixes": []}, rc=1)
    assert code == 1 and "a 1: PYSEC-1, CVE-PYSEC-1 (fixed in 9.9)" in out


@pytest.mark.parametrize("listed", ["PYSEC-1", "CVE-PYSEC-1"])  # by id or by alias
def test_a_listed_vulnerability_with_a_reason_passes(tmp_path, listed):
    report = {"dependencies": [dep("a", "1", "PYSEC-1")], "fixes": []}
    code, out = run(tmp_path, report, ignore=f"# why\n{listed}  only in the CLI, never served\n")
    assert code == 0 and "ignored: only in the CLI, never served" in out


def test_a_listed_vulnerability_without_a_reason_fails(tmp_path):
    report = {"dependencies": [dep("a", "1", "PYSEC-1")], "fixes": []}
    code, out = run(tmp_path, report, ignore="PYSEC-1\n")
    assert code == 1 and "has no justification" in out


def test_nothing_looked_up_is_not_reported_as_clean(tmp_path):
    # pip-audit itself says "No known vulnerabilities found" when it could look up nothing
    report = {"dependencies": [skipped("a"), skipped("b")], "fixes": []}
    code, out = run(tmp_path, report, stderr="No known vulnerabilities found")
    assert code == 0 and "AUDIT NOT DONE" in out and "passed" not in out
    assert run(tmp_path, report, strict=True)[0] == 2


def test_partly_looked_up_lists_what_was_not(tmp_path):
    report = {"dependencies": [dep("a", "1"), skipped("b")], "fixes": []}
    code, out = run(tmp_path, report)
    assert code == 0 and "not looked up" in out and "Dependency not found on PyPI: b" in out


def test_unreachable_service(tmp_path):
    err = "requests.exceptions.ConnectionError: Max retries exceeded with url"
    code, out = run(tmp_path, None, rc=1, stderr=err)
    assert code == 0 and "AUDIT NOT DONE: the vulnerability service cannot be reached" in out
    assert run(tmp_path, None, rc=1, stderr=err, strict=True)[0] == 2


def test_other_failures_fail(tmp_path):
    code, out = run(tmp_path, None, rc=1, stderr="ResolutionImpossible: no matching version")
    assert code == 1 and "FAILED: pip-audit exited 1 without a report" in out


def test_the_offline_review_covers_every_direct_pin_at_its_version():
    """docs/security-audit.md is the audit of record while the service is unreachable: a pin
    added or moved without reviewing it again fails here."""
    import re

    review = (ROOT / "docs" / "security-audit.md").read_text()
    review = review[review.index("## All packages") :].split("\n## ", 1)[0]
    rows = {
        m.group(1).lower().replace("_", "-"): m.group(2)
        for m in re.finditer(r"^\| ([A-Za-z0-9_.\-]+) \| ([^ |]+) \|", review, re.M)
    }
    pins = {}
    for name in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / name).read_text().splitlines():
            m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
            if m:
                pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    assert len(pins) > 20
    stale = {p: (v, rows.get(p)) for p, v in pins.items() if rows.get(p) != v}
    assert not stale, f"pins not reviewed at their version (pin, reviewed): {stale}"
