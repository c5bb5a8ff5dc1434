#!/usr/bin/env bash
# Install the app's requirements into .venv, build the default model once, start the page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh requirements.txt
if ! .venv/bin/python -m training models active --out models >/dev/null 2>&1; then
  echo "Building the default model from data/synthetic/dmpm_2000.csv (simulated patients)."
  echo "This happens once and takes about two minutes."
  .venv/bin/python -m training fit --data data/synthetic/dmpm_2000.csv --out models --seed 0 --promote
fi
echo "Active model: $(.venv/bin/python -m training models active --out models)"
echo "Open http://localhost:8501 (Ctrl+C stops the page)."
exec .venv/bin/python -m ui.launch "$@"
