"""Choices whose words change with the language: kept as chosen across a switch.

The browser holds a radio's or a list's choice as its words on screen, which match no
option once the language has changed (back to English, "是" is no answer), and Streamlit
then draws the input with nothing chosen. :func:`kept_index` puts the choice back into the
session before the input is drawn: the option the browser's words name (read through the
last run's options, or through the words each option was drawn with in any language
before, kept in the session), which is the choice on the reader's screen even where a
click's rerun was cut short by the switch and reaches the server with it; failing that,
the value :func:`remember` recorded in the last run.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from model.i18n import language

__all__ = ["kept_index", "remember"]

_ABSENT = object()


def kept_index(key: str, options: list, index: int, words: Sequence[str] | None = None) -> int:
    """The index to draw the input ``key`` with: ``index``, or, where the choice is put back
    into the session, the first (a default passed beside a value set in the session would
    override it). ``words``: what each option is shown as in this rerun's language. No
    option may be None: Streamlit draws a value of None as nothing chosen."""
    drawn = st.session_state.get(f"{key}.words", {})
    if words is not None:
        st.session_state[f"{key}.words"] = {**drawn, **dict(zip(words, options, strict=True))}
    kept = st.session_state.get(f"{key}.kept")
    # read before the input is drawn, the browser's words go through the last run's options
    current = st.session_state.get(key, _ABSENT)  # absent: not drawn yet (another page's form)
    chosen = _option_of(current, options, drawn)
    if chosen is _ABSENT:
        # a first draw, or one whose state was cleared (the compare page's scenarios started
        # afresh): through the session, as a browser that drew this input before keeps
        # showing, and sends back, what it last held
        chosen = kept[1] if kept is not None and kept[1] in options else options[index]
    elif chosen is current and (kept is None or kept[0] == language()):
        return index  # chosen in the words of this language: nothing to put back
    st.session_state[key] = chosen
    return 0


def _option_of(current, options: list, drawn: dict):
    """``current`` if it is an option, else the option whose words (in a language it was
    drawn in before) it is, else _ABSENT."""
    if current is not _ABSENT and current in options:
        return current
    option = drawn.get(current) if isinstance(current, str) else None
    return option if option is not None and option in options else _ABSENT


def remember(key: str, value) -> None:
    """Record the value the input ``key`` holds in this rerun's language."""
    st.session_state[f"{key}.kept"] = (language(), value)
