#!/usr/bin/env bash
# Install the app's requirements into .venv, build the default model once, start the page.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "Checking the pinned requirements in .venv (the first time installs them, under a minute)."
bash scripts/setup_env.sh requirements.txt
# the Chinese PDFs' font, in the background: the page does not wait for it
bash scripts/fonts.sh &
# With no servable bundle: the Cox model from data/synthetic/dmpm_2000.csv now (about a minute),
# the random survival forest in the background while the page serves (training/default.py).
# A quick look first (under a second); anything but "nothing to do" runs the command line.
if ! .venv/bin/python -c 'import sys; from model.default_build import needs_work
sys.exit(3 if needs_work("models") else 0)'; then
  .venv/bin/python -m training default --out models
fi
echo "Starting the page at the address below (http://localhost:8501 by default; Ctrl+C stops it)."
exec .venv/bin/python -m ui.launch "$@"
