#!/usr/bin/env bash
# Install everything the tests need into .venv, lint, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh requirements-dev.txt
bash scripts/fonts.sh
.venv/bin/ruff check .
bash scripts/audit.sh
# Two workers by default (PYTEST_WORKERS=0 runs in one process, as plain pytest does).
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist worksteal "$@"
