#!/usr/bin/env bash
# The CJK font the Chinese PDFs embed (reporting/fonts.py): Debian's fonts-noto-cjk, installed
# when missing and this user may install packages; otherwise say how, once. Only the Chinese
# PDFs need it: the page and the English PDFs work without it.
set -euo pipefail
if ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk; } \
    >/dev/null 2>&1 || echo "note: could not install fonts-noto-cjk; Chinese PDFs need it" >&2
else
  echo "note: Chinese PDFs need the Noto CJK font: sudo apt-get install fonts-noto-cjk" >&2
fi
