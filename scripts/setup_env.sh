#!/usr/bin/env bash
# Create .venv (once) and install the pinned requirements file given as $1.
set -euo pipefail
cd "$(dirname "$0")/.."
req=${1:-requirements.txt}
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    rm -rf .venv
    # Debian ships venv separately; install it when we may, otherwise say what is missing.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
      "$PY" -m venv .venv
    else
      echo "error: '$PY -m venv' failed; install it first: sudo apt-get install python3-venv" >&2
      exit 1
    fi
  fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
