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
# uv (pinned in requirements.txt) installs the same pinned set as pip in a fraction of the
# time (fresh machine, benchmarks/first_start.py); pip is the fallback. uv does not read pip's
# configuration: a package index set for pip in the environment is passed on. Bytecode is
# compiled at install, as pip does: every later start imports faster, also where
# PYTHONDONTWRITEBYTECODE keeps Python from caching it on first import.
export UV_INDEX_URL=${UV_INDEX_URL:-${PIP_INDEX_URL:-}}
export UV_EXTRA_INDEX_URL=${UV_EXTRA_INDEX_URL:-${PIP_EXTRA_INDEX_URL:-}}
[ -n "$UV_INDEX_URL" ] || unset UV_INDEX_URL
[ -n "$UV_EXTRA_INDEX_URL" ] || unset UV_EXTRA_INDEX_URL
uv_pin=$(grep -E '^uv==' requirements.txt || true)
# pip is asked for uv only when the pinned uv is not there: pip's own start costs seconds of
# every later start of the page
have_uv() { [ "$(.venv/bin/python -m uv --version 2>/dev/null | cut -d' ' -f2)" = "${uv_pin#uv==}" ]; }
if [ -n "$uv_pin" ] && { have_uv || .venv/bin/python -m pip install -q --disable-pip-version-check "$uv_pin"; } \
    && .venv/bin/python -m uv pip install -q --compile-bytecode --python .venv/bin/python \
        -r "$req"; then
  exit 0
fi
echo "Installing with uv failed (see above); installing with pip instead (slower)." >&2
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
