"""Drawing blocks shared by the pages: curves with their table, contributions, notes."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from model.engine import NO_BAND
from model.prognosis import EFFECT_METHOD, Prognosis
from reporting.figures import contributions_figure, survival_figure
from reporting.summary import contribution_table, survival_table
from reporting.wording import COX_CONTRIBUTION_METHOD
from ui.state import Choice

__all__ = ["curve", "contributions", "notes", "table"]

PLOT_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def curve(curves: list[dict], key: str, **kwargs) -> None:
    st.plotly_chart(survival_figure(curves, **kwargs), key=key, config=PLOT_CONFIG)


def table(p: Prognosis) -> None:
    st.table(survival_table(p).set_index("Outcome"))
    if p.band_method == NO_BAND:
        st.caption("The random survival forest gives no uncertainty band in this version.")
    else:
        st.caption(f"95 % band: {p.band_method}.")


def notes(p: Prognosis, warnings: list[str], choice: Choice) -> None:
    if p.unknown:
        names = ", ".join(choice.schema.feature(n).label for n in p.unknown)
        how = (
            "the prediction averages over their plausible values given the known ones, and the "
            "band widens accordingly"
            if choice.engine.has_band(choice.model)
            else "the model fills them in from the known ones"
        )
        st.info(f"Unknown: {names}. {how[0].upper() + how[1:]}.")
    for w in warnings:
        st.warning(w)


def contributions(p: Prognosis, choice: Choice, key: str) -> None:
    if not p.contributions:
        return
    t = contribution_table(p.contributions, choice.schema)
    st.plotly_chart(contributions_figure(t), key=key, config=PLOT_CONFIG)
    if choice.engine.has_band(choice.model):
        total = float(np.sum(t["log_hr"]))
        st.caption(
            f"{COX_CONTRIBUTION_METHOD} Together: hazard ratio {math.exp(total):.2f} against the "
            "reference patient."
        )
    else:
        st.caption(f"Random survival forest, {EFFECT_METHOD}.")
    st.dataframe(t.drop(columns="log_hr"), hide_index=True, key=f"{key}.table", width="stretch")
