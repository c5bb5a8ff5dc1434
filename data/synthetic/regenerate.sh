#!/usr/bin/env bash
# Rebuild the shipped cohorts from settings.json (same seed and settings give the same bytes).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
S=data/synthetic/settings.json
$PY -m training simulate --n 110 --seed 2022 --settings $S --out data/synthetic/dmpm_110.csv --truth data/synthetic/dmpm_110_truth.csv
$PY -m training simulate --n 2000 --seed 2009 --settings $S --out data/synthetic/dmpm_2000.csv --truth data/synthetic/dmpm_2000_truth.csv
