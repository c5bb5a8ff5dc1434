"""Every message of the page and the PDFs has a translation in every language offered.

The messages are extracted from the code as ``scripts/messages.py`` does (Babel); a message
added without its translation, a translation that drops or invents a placeholder, or a
catalogue left behind by the code fails here.
"""

from __future__ import annotations

import importlib.util
import re

import pytest
from babel.messages.pofile import read_po

from model import i18n
from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("messages", ROOT / "scripts" / "messages.py")
messages = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(messages)

FIELD = re.compile(r"\{[^{}]*\}")
OTHER_LANGUAGES = [lang for lang in i18n.LANGUAGES if lang != i18n.DEFAULT]


@pytest.fixture(scope="module")
def template():
    return messages.extract()


def _catalogue(lang: str):
    with messages.catalogue_path(i18n.LOCALES[lang]).open("rb") as fh:
        return read_po(fh, locale=i18n.LOCALES[lang])


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_every_message_is_translated(template, lang):
    cat = _catalogue(lang)
    missing = []
    for m in template:
        if not m.id:
            continue
        t = cat.get(m.id)
        strings = () if t is None else (t.string if isinstance(t.string, tuple) else (t.string,))
        if t is None or t.fuzzy or not strings or not all(strings):
            missing.append(m.id if isinstance(m.id, str) else m.id[0])
    assert not missing, f"{len(missing)} messages without a {lang} translation: {missing[:10]}"


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_translations_keep_every_placeholder(lang):
    wrong = []
    for m in _catalogue(lang):
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        want = set(FIELD.findall(ids[0]))
        wrong += [(ids[0], s) for s in strings if s and set(FIELD.findall(s)) != want]
    assert not wrong, f"translations whose placeholders differ from the message's: {wrong[:5]}"


@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_bold_in_a_translation_renders_as_bold(template, lang):
    """CommonMark closes ``**`` only where it is right-flanking: after a full stop such as
    "。" and before a character it stays two literal asterisks on the page. Rendered by
    markdown-it (CommonMark, as Streamlit's renderer), placeholders filled with text of the
    language, every message's strong emphasis must close."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark")
    filler = {"zh": "文字"}.get(lang.split("_")[0], "text")
    cat = _catalogue(lang)
    wrong = []
    for m in template:
        t = cat.get(m.id) if m.id else None
        if t is None or not isinstance(t.string, str) or "**" not in t.string:
            continue
        for said in (m.id, t.string):
            shown = md.render(FIELD.sub(filler, said))
            if "**" in shown:
                wrong.append(said)
    assert not wrong, f"asterisks shown as text in {len(wrong)} messages: {wrong[:5]}"


def test_catalogues_are_up_to_date_with_the_code():
    assert messages.main(["--check"]) == 0, "run: .venv/bin/python scripts/messages.py"


def test_an_untranslated_message_falls_back_to_english():
    with i18n.use("zh-CN"):
        assert i18n._("a message no catalogue has") == "a message no catalogue has"
        assert i18n.ngettext("{n} cat", "{n} cats", 2) == "{n} cats"


def test_the_language_is_per_context_not_per_process():
    # the page sets it per rerun; another thread (another reader's session) keeps English
    import threading

    seen = {}
    with i18n.use("zh-CN"):
        worker = threading.Thread(target=lambda: seen.update(lang=i18n.language()))
        worker.start()
        worker.join()
        assert i18n.language() == "zh-CN"
    assert seen["lang"] == "en" and i18n.language() == "en"


def test_numbers_per_language():
    assert i18n.percent(69) == "69 %"
    # a grid column's printf format writes what percent() writes
    assert i18n.percent_format(1) % 21.5 == i18n.percent(21.5, 1) == "21.5 %"
    with i18n.use("zh-CN"):
        assert i18n.percent(69) == "69%"
        assert i18n.percent_format(1) % 21.5 == i18n.percent(21.5, 1) == "21.5%"
        assert i18n.number(1234.56, 1, grouped=True) == "1,234.6"
    with pytest.raises(ValueError, match="zh-CN"):
        i18n.set_language("fr")
