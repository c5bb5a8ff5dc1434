"""Compare: up to four named scenarios overlaid, with a side-by-side table."""

import pandas as pd
import streamlit as st

from reporting.figures import prognosis_curve
from reporting.pdf import compare_report
from reporting.summary import scenario_table
from ui import common
from ui.form import patient_form, show_problems
from ui.state import choose_model, simulated_banner

MAX_SCENARIOS = 4


def presets(schema, reference: dict) -> list[tuple[str, dict]]:
    """Starting scenarios: the reference patient under good and poor operative outcomes."""
    outs = [o for o in schema.operative_outcomes if o["feature"] in schema.feature_names]
    combos = [(True, True), (False, True), (True, False), (False, False)]
    out = []
    for flags in combos:
        values, names = dict(reference), []
        for o, good in zip(outs[:2], flags, strict=False):
            f = schema.feature(o["feature"])
            bad = [v for v in f.allowed_values if v not in o["good"]]
            v = o["good"][0] if good or not bad else bad[0]
            values[f.name] = v
            names.append(
                f.label_for(v).split(" - ")[0]
                if f.kind == "ordinal"
                else f"{f.name.upper()}: {f.label_for(v)}"
            )
        out.append((", ".join(names) or f"Scenario {len(out) + 1}", values))
    return out


choice = choose_model()
st.title("Compare scenarios")
if choice is not None:
    simulated_banner(choice)
    schema = choice.schema
    st.caption(
        "Up to four versions of a patient side by side, for example the same patient after a "
        "complete or an incomplete cytoreduction, with or without a serious complication."
    )
    n = st.radio(
        "Number of scenarios",
        list(range(2, MAX_SCENARIOS + 1)),
        horizontal=True,
        key="cmp.n",
        persist_state="session",
    )
    starts = presets(schema, choice.bundle.manifest.reference_patient)
    results = st.container()  # drawn above the scenario forms, filled once they are read
    tabs = st.tabs([f"Scenario {i + 1}" for i in range(n)])
    rows = []
    for i, tab in enumerate(tabs):
        with tab:
            name = (
                st.text_input(
                    "Scenario name",
                    value=starts[i][0],
                    max_chars=40,
                    key=f"cmp{i}.name",
                    persist_state="session",
                ).strip()
                or f"Scenario {i + 1}"
            )
            values = patient_form(schema, f"cmp{i}", starts[i][1], columns=3)
            X = show_problems(values, schema)
            if X is None:
                st.error(f"Scenario {i + 1} has errors; it is left out until they are fixed.")
                continue
            if name in [r[0] for r in rows]:
                name = f"{name} ({i + 1})"
            rows.append((name, values, X))
    if rows:
        with results:
            progs = choice.engine.predict(pd.concat([r[2] for r in rows]), choice.model)
            named = [(r[0], p) for r, p in zip(rows, progs, strict=True)]
            bands = st.checkbox("Show 95 % bands", value=len(named) <= 2, key="cmp.bands")
            curves = [prognosis_curve(name, p, band=bands) for name, p in named]
            common.curve(curves, key="cmp.curve", title="Predicted survival by scenario")
            st.table(scenario_table(named))
            st.caption("Cells: estimate (95 % interval).")
            st.download_button(
                "Download the one-page PDF report",
                data=lambda: compare_report(choice, [(r[0], r[1]) for r in rows], named),
                file_name="hipec-prognosis-scenarios.pdf",
                mime="application/pdf",
                key="cmp.pdf",
                icon=":material/picture_as_pdf:",
            )
