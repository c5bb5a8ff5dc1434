#!/usr/bin/env bash
# Install the app's requirements into .venv and start the calculator page.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh requirements.txt
if [ ! -f app.py ]; then
  echo "Installed. The calculator page is not built yet (issue 5); meanwhile try:"
  echo "  .venv/bin/python -m training describe --data data/synthetic/dmpm_110.csv"
  exit 0
fi
exec .venv/bin/streamlit run app.py "$@"
