#!/usr/bin/env bash
# Install everything the tests need into .venv, lint, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh requirements-dev.txt
bash scripts/fonts.sh
.venv/bin/ruff check .
bash scripts/audit.sh
.venv/bin/python -m pytest "$@"
