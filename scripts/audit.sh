#!/usr/bin/env bash
# Known-vulnerability audit of the pinned requirements, for CI and by hand:
#
#   bash scripts/audit.sh
#
# Runs pip-audit over requirements.txt and requirements-dev.txt (with their resolved
# dependencies) against its default vulnerability service, then decides:
#   exit 0  no known vulnerability, or only ones listed with a reason in .ci/audit-ignore.txt
#   exit 1  a known vulnerability that is not listed (or an entry without a reason, or an
#           audit that failed for a reason other than the network)
#   exit 0  with "AUDIT NOT DONE" when the vulnerability service cannot be reached or
#           answers for none of the packages (a machine without the internet): CI is not
#           failed for that, but nothing is claimed. AUDIT_STRICT=1 makes this exit 2.
# pip-audit prints "No known vulnerabilities found" even when it could look up none of the
# packages; this script counts the skipped ones and never reports such a run as clean.
#
# Environment: PYTHON (default .venv/bin/python, which has pip-audit from
# requirements-dev.txt), AUDIT_SERVICE (pip-audit -s: pypi, the default, or osv),
# AUDIT_STRICT=1, AUDIT_REPORT (where to keep pip-audit's JSON; default a temporary file),
# AUDIT_IGNORE (default .ci/audit-ignore.txt).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
IGNORE=${AUDIT_IGNORE:-.ci/audit-ignore.txt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
report=${AUDIT_REPORT:-$work/audit.json}

echo "audit: pip-audit -r requirements.txt -r requirements-dev.txt (service: ${AUDIT_SERVICE:-pypi})"
"$PY" -m pip_audit -r requirements.txt -r requirements-dev.txt \
    --vulnerability-service "${AUDIT_SERVICE:-pypi}" --progress-spinner off \
    --format json --output "$report" >"$work/out" 2>"$work/err"
rc=$?

"$PY" - "$report" "$rc" "$work/err" "$IGNORE" "${AUDIT_STRICT:-0}" <<'PY'
import json
import re
import sys
from pathlib import Path

report, rc, err_path, ignore_path, strict = sys.argv[1:]
err = Path(err_path).read_text(errors="replace")
not_done = 2 if strict == "1" else 0

# the ignore file: "<vulnerability id>  <why it does not apply or cannot be fixed yet>"
ignored, bad = {}, []
if Path(ignore_path).exists():
    for n, line in enumerate(Path(ignore_path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        vid, _, why = line.partition(" ")
        if not why.strip():
            bad.append(f"{ignore_path}:{n}: {vid} has no justification")
        ignored[vid] = why.strip()
if bad:
    print("audit: FAILED: every ignored vulnerability needs a reason:\n  " + "\n  ".join(bad))
    sys.exit(1)

try:
    doc = json.loads(Path(report).read_text())
except (OSError, json.JSONDecodeError):
    doc = None
if doc is None:
    network = re.search(
        r"ConnectionError|Max retries exceeded|Failed to establish|Name or service not known|"
        r"Temporary failure in name resolution|timed out|Network is unreachable|ProxyError|"
        r"SSLError|ServiceError",
        err,
    )
    tail = "\n  ".join(err.strip().splitlines()[-8:])
    if network:
        print(f"audit: AUDIT NOT DONE: the vulnerability service cannot be reached:\n  {tail}\n"
              "  The last offline review of these pins is docs/security-audit.md.")
        sys.exit(not_done)
    print(f"audit: FAILED: pip-audit exited {rc} without a report:\n  {tail}")
    sys.exit(1)

deps = doc.get("dependencies", [])
skipped = [d for d in deps if "skip_reason" in d]
audited = [d for d in deps if "skip_reason" not in d]
found, waived, used = [], [], set()
for d in audited:
    for v in d.get("vulns", []):
        ids = [v["id"], *v.get("aliases", [])]
        hit = next((i for i in ids if i in ignored), None)
        line = f"{d['name']} {d['version']}: {', '.join(ids)} (fixed in {', '.join(v.get('fix_versions') or ['-'])})"
        if hit:
            used.add(hit)
            waived.append(f"{line}\n      ignored: {ignored[hit]}")
        else:
            found.append(line)

print(f"audit: {len(deps)} packages, {len(audited)} looked up, {len(skipped)} not looked up")
for w in waived:
    print(f"  ignored with a reason: {w}")
for vid in sorted(set(ignored) - used):
    if audited:
        print(f"  note: {vid} in {ignore_path} matched nothing; remove it if it is fixed")
if found:
    print("audit: FAILED: known vulnerabilities (fix the pin, or list the id with a reason in "
          f"{ignore_path}):\n  " + "\n  ".join(found))
    sys.exit(1)
if not audited:
    reasons = sorted({re.sub(r": .*", "", d["skip_reason"]) for d in skipped})
    print("audit: AUDIT NOT DONE: the vulnerability service answered for none of the "
          f"{len(deps)} packages ({'; '.join(reasons)}): this machine cannot reach it, so "
          "nothing is claimed. Run the audit where the service is reachable, or set "
          "AUDIT_STRICT=1 to fail instead. The last offline review of these pins is "
          "docs/security-audit.md.")
    sys.exit(not_done)
if skipped:
    print("  not looked up (their vulnerabilities are unknown):\n    "
          + "\n    ".join(d["skip_reason"] for d in skipped))
print(f"audit: passed: no known vulnerability in the {len(audited)} packages looked up")
PY
