"""Collect the page's and the PDFs' messages into the catalogues under ``locale/``.

Every ``_()``, ``N_()`` and ``ngettext()`` of the code the page runs (``app.py``, ``ui/``,
``reporting/``, ``model/``) is extracted with Babel into ``locale/messages.pot``; each
language's ``messages.po`` is updated from it, keeping its translations, adding new
messages untranslated and marking changed ones fuzzy for a translator to check.
``tests/test_messages.py`` fails while any message has no translation.

    .venv/bin/python scripts/messages.py          # update the catalogues
    .venv/bin/python scripts/messages.py --check  # exit 1 if they are out of date
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from model.i18n import DEFAULT, LOCALES

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
# the page's code, and the validation report's fixed sentences that the model card shows
SOURCES = ("app.py", "ui", "reporting", "model", "training/report.py")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
OPTIONS = {"encoding": "utf-8"}
# locale folder of each language the page offers besides English
TRANSLATED = tuple(locale for lang, locale in LOCALES.items() if lang != DEFAULT)


def extract() -> Catalog:
    """Every message of the code the page runs, with where it is used."""
    catalog = Catalog(project="hipec-prognosis", charset="utf-8")
    for source in SOURCES:
        path = ROOT / source
        if path.is_file():
            found = (
                (source, line, message, comments, context)
                for line, message, comments, context in extract_from_file(
                    "python", path, keywords=KEYWORDS, options=OPTIONS
                )
            )
        else:
            found = (
                (f"{source}/{name}", line, message, comments, context)
                for name, line, message, comments, context in extract_from_dir(
                    path,
                    method_map=[("**.py", "python")],
                    keywords=KEYWORDS,
                    options_map={"**.py": OPTIONS},
                )
            )
        for filename, line, message, comments, context in found:
            catalog.add(message, None, [(filename, line)], auto_comments=comments, context=context)
    return catalog


def _po_bytes(catalog: Catalog) -> bytes:
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, omit_header=False, no_location=True, sort_output=True)
    return buf.getvalue()


def catalogue_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"


def updated(locale: str, template: Catalog) -> Catalog:
    """A language's catalogue brought up to the template."""
    path = catalogue_path(locale)
    if path.is_file():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
    else:
        catalog = Catalog(locale=locale, project="hipec-prognosis", charset="utf-8")
    catalog.update(template, no_fuzzy_matching=True)
    # messages no longer in the code are dropped, not kept as obsolete
    catalog.obsolete.clear()
    return catalog


def main(argv: list[str]) -> int:
    check = "--check" in argv
    template = extract()
    files = {LOCALE_DIR / "messages.pot": _po_bytes(template)}
    for locale in TRANSLATED:
        files[catalogue_path(locale)] = _po_bytes(updated(locale, template))
    stale = [
        p for p, data in files.items() if not p.is_file() or _body(p.read_bytes()) != _body(data)
    ]
    if check:
        for p in stale:
            print(f"{p.relative_to(ROOT)} is out of date: run scripts/messages.py", file=sys.stderr)
        return 1 if stale else 0
    for p in stale:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(files[p])
        print(f"wrote {p.relative_to(ROOT)}")
    return 0


def _body(data: bytes) -> bytes:
    """A catalogue without its header's dates, which change on every write."""
    return b"\n".join(
        line
        for line in data.splitlines()
        if not line.startswith((b'"POT-Creation-Date', b'"PO-Revision-Date'))
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
