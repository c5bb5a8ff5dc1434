"""Languages: every message the page and the PDFs show, in the reader's language.

Messages are marked in the source with ``_()`` (``N_()`` for a constant translated where it
is used, ``ngettext()`` where English has a plural) and kept in Babel catalogues under
``locale/`` (``scripts/messages.py`` extracts them; a test fails on any message without a
translation). Messages with values use named fields (``_("Survival at {when}")``) so that a
translation may put them in its own order.

The language is a context variable, not a process-wide setting: the page sets it at the
start of each rerun, and Streamlit runs every session's script in a thread of its own, so
one reader's language never reaches another's. Outside the page (training, the command
line) it stays English.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

__all__ = [
    "DEFAULT",
    "LANGUAGES",
    "LOCALES",
    "N_",
    "_",
    "check_language",
    "language",
    "ngettext",
    "number",
    "percent",
    "pgettext",
    "set_language",
    "use",
]

# language tag -> its own name, as the sidebar offers it
LANGUAGES = {"en": "English", "zh-CN": "简体中文"}
DEFAULT = "en"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
# language tag -> Babel/gettext locale name (the catalogue's folder)
LOCALES = {"en": "en", "zh-CN": "zh_CN"}

_current: ContextVar[str] = ContextVar("language", default=DEFAULT)


def check_language(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    return lang


def language() -> str:
    """The language of the current rerun or call ("en" outside the page)."""
    return _current.get()


def set_language(lang: str) -> None:
    """Set the language for the rest of this thread's work (a rerun of the page)."""
    _current.set(check_language(lang))


@contextlib.contextmanager
def use(lang: str) -> Iterator[None]:
    """Messages within the block in ``lang``; the previous language afterwards."""
    token = _current.set(check_language(lang))
    try:
        yield
    finally:
        _current.reset(token)


@functools.cache
def catalogue(lang: str) -> dict[tuple[str | None, str], str | tuple[str, ...]]:
    """(context, msgid) -> translation (a tuple of plural forms for plural messages) of one language;
    empty for English, the language the messages are written in. Untranslated and fuzzy
    entries are left out, so they fall back to English rather than show a guess."""
    if lang == DEFAULT:
        return {}
    from babel.messages.pofile import read_po

    path = LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        cat = read_po(fh, locale=LOCALES[lang])
    out: dict[tuple[str | None, str], str | tuple[str, ...]] = {}
    for m in cat:
        if not m.id or m.fuzzy:
            continue
        if isinstance(m.id, tuple):
            if all(m.string):
                out[m.context, m.id[0]] = tuple(m.string)
        elif m.string:
            out[m.context, m.id] = m.string
    return out


def _(message: str) -> str:
    """``message`` in the current language."""
    found = catalogue(language()).get((None, message))
    return found if isinstance(found, str) else message


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language where the same English needs two translations
    (``pgettext("clauses", ", ")`` between clauses, ``_(", ")`` between names)."""
    found = catalogue(language()).get((context, message))
    return found if isinstance(found, str) else message


def N_(message: str) -> str:
    """Marks a constant for the catalogue; it is translated where it is shown, with ``_()``."""
    return message


def ngettext(singular: str, plural: str, n: float) -> str:
    """The form of a message for ``n`` in the current language (Chinese has one form)."""
    found = catalogue(language()).get((None, singular))
    if isinstance(found, tuple):
        return found[0] if len(found) == 1 else found[0 if n == 1 else 1]
    return singular if n == 1 else plural


@functools.cache
def _symbols(lang: str) -> tuple[str, str]:
    """(decimal mark, group separator) of a language, from Babel's locale data."""
    from babel import Locale

    symbols = Locale.parse(LOCALES[lang]).number_symbols["latn"]
    return symbols["decimal"], symbols["group"]


def number(x: float, digits: int = 0, grouped: bool = False) -> str:
    """``x`` with ``digits`` decimals in the language's marks. Rounded as Python rounds
    (as every table of this project always has), so that a number is the same in every
    language and only its marks change."""
    text = f"{x:,.{digits}f}" if grouped else f"{x:.{digits}f}"
    decimal, group = _symbols(language())
    return text.translate(str.maketrans({".": decimal, ",": group}))


def _percent_sign() -> str:
    return "%" if language() == "zh-CN" else " %"


def percent_format(digits: int = 0) -> str:
    """:func:`percent`'s form as a printf format, for a grid column that keeps its numbers
    (and sorts by them)."""
    return f"%.{digits}f" + _percent_sign().replace("%", "%%")


def percent(x: float, digits: int = 0) -> str:
    """A percentage (``x`` in 0-100) as the language writes it: "69 %" in English, as this
    project always has, "69%" in Chinese."""
    return number(x, digits) + _percent_sign()
