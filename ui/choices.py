"""Choices whose words change with the language: kept as chosen across a switch.

The browser holds a radio's or a list's choice as its words on screen, which match no
option once the language has changed (back to English, "是" is no answer), and Streamlit
then draws the input with nothing chosen. :func:`remember` records the value chosen in
this rerun's language; :func:`kept_index` puts it back before the input is drawn, on the
first run in a new language and on any later run that still brings words of the old one
(a click during that first run interrupts it before the browser has the new words).
"""

from __future__ import annotations

import streamlit as st

from model.i18n import language

__all__ = ["kept_index", "remember"]


def kept_index(key: str, options: list, index: int) -> int:
    """The index to draw the input ``key`` with: ``index``, or, where the choice made in
    another language was put back into the session, the first (a default passed beside a
    value set in the session would override it). No option may be None: Streamlit draws a
    value of None as nothing chosen."""
    kept = st.session_state.get(f"{key}.kept")
    if kept is None:
        return index
    lang, value = kept
    try:
        current = st.session_state[key]
    except KeyError:  # not drawn yet in this session (another page's form)
        current = value
    if (lang == language() and current in options) or value not in options:
        return index
    st.session_state[key] = value
    return 0


def remember(key: str, value) -> None:
    """Record the value the input ``key`` holds in this rerun's language."""
    st.session_state[f"{key}.kept"] = (language(), value)
