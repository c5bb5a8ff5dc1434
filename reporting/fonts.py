"""The CJK font the PDFs embed for Chinese: Noto Sans CJK from Debian's fonts-noto-cjk.

The PDFs' core font (Helvetica) covers Latin-1 only. Chinese text needs a font that has
its characters; Debian's ``fonts-noto-cjk`` (installed by ``scripts/start.sh`` and
``scripts/test.sh`` where they may) ships Noto Sans CJK as TrueType collections, of which
the Simplified Chinese face is embedded (subset to the characters used).
"""

from __future__ import annotations

from pathlib import Path

from model.errors import HipecError
from model.i18n import _

__all__ = ["FontMissingError", "cjk_font"]

# where Debian (and most Linux distributions) install Noto Sans CJK
_FOLDERS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
)
_FILES = {"": "NotoSansCJK-Regular.ttc", "B": "NotoSansCJK-Bold.ttc"}
# the faces of a Noto Sans CJK collection: JP, KR, SC, TC, HK (SC: Simplified Chinese)
SIMPLIFIED_CHINESE = 2


class FontMissingError(HipecError, RuntimeError):
    """No CJK font is installed, so a Chinese PDF cannot be set."""


def cjk_font() -> dict[str, tuple[str, int]]:
    """fpdf2 style -> (font file, face in the collection) of the Simplified Chinese font
    (looked up each time: a few stat calls, and a font installed while the page runs counts)."""
    for folder in _FOLDERS:
        paths = {style: folder / name for style, name in _FILES.items()}
        if all(p.is_file() for p in paths.values()):
            return {style: (str(p), SIMPLIFIED_CHINESE) for style, p in paths.items()}
    raise FontMissingError(
        _(
            "a Chinese PDF needs the Noto Sans CJK font, which is not installed: run "
            "'apt-get install fonts-noto-cjk' (Debian/Ubuntu) and try again"
        )
    )
