"""Compare: up to four named scenarios overlaid, with a side-by-side table."""

import pandas as pd
import streamlit as st

from model.i18n import _, ngettext
from reporting.figures import prognosis_curve
from reporting.pdf import compare_report
from reporting.scenarios import starting_scenarios
from reporting.summary import scenario_table, shown_columns
from ui import common
from ui.form import patient_form, show_problems
from ui.state import CALCULATOR_PATIENT, choose_model, simulated_banner

MAX_SCENARIOS = 4
MIN_SCENARIOS = 2
# the patient the scenarios start from, where not the typical one: (bundle, values)
START = "cmp.start"


def _start_from(patient: tuple[str, dict]) -> None:
    """Every scenario drawn anew from ``patient`` (the calculator's: its bundle and values):
    what the tabs held is replaced, on the user's click only."""
    state = st.session_state
    for k in [k for k in map(str, state) if k[:3] == "cmp" and k[3:4].isdigit()]:
        del state[k]
    state[START] = patient


def _this_bundles(key: str, version_id: str) -> dict | None:
    """The values held under ``key`` where they were entered for this bundle: another
    schema's patient would start the scenarios with its inputs unknown, unsaid."""
    held = st.session_state.get(key)
    return held[1] if held and held[0] == version_id else None


def _remove(i: int, n: int) -> None:
    """Drop scenario ``i`` of ``n``: the later ones move up a tab, with all they hold."""
    state = st.session_state

    def held(j: int) -> list[str]:  # what scenario j holds; a button holds no value to carry
        return [k for k in map(str, state) if k.startswith(f"cmp{j}.") and k[-7:] != ".remove"]

    for j in range(i, n):
        for k in held(j):
            del state[k]
        for k in held(j + 1) if j + 1 < n else []:
            state[f"cmp{j}." + k.split(".", 1)[1]] = state[k]
    state["cmp.n"] = n - 1


choice = choose_model()
st.title(_("Compare scenarios"))
if choice is not None:
    simulated_banner(choice)
    schema = choice.schema
    outcomes = [o["label"] for o in schema.operative_outcomes]
    st.caption(
        _(
            "Up to four versions of a patient side by side, for example under good and poor "
            "outcomes of: {outcomes}."
        ).format(outcomes=_("; ").join(outcomes[:2]))
        if outcomes
        else _("Up to four versions of a patient side by side.")
    )
    n = st.radio(
        _("Number of scenarios"),
        list(range(MIN_SCENARIOS, MAX_SCENARIOS + 1)),
        horizontal=True,
        key="cmp.n",
        persist_state="session",
    )
    calculator = _this_bundles(CALCULATOR_PATIENT, choice.version_id)
    start = _this_bundles(START, choice.version_id)
    st.caption(
        _("The scenarios start from the patient entered on the calculator.")
        if start
        else _("The scenarios start from the training data's typical patient.")
    )
    if calculator and calculator != start:
        st.button(
            _("Start every scenario from the calculator's patient"),
            on_click=_start_from,
            args=((choice.version_id, calculator),),
            key="cmp.from_calculator",
            # the schema's outcomes by name: a schema without them varies nothing
            help=(
                _(
                    "Each scenario takes the calculator's patient, with {outcomes} varied as "
                    "before; what the scenarios hold now is replaced."
                ).format(outcomes=_("; ").join(outcomes[:2]))
                if outcomes
                else _(
                    "Each scenario takes the calculator's patient; what they hold now is replaced."
                )
            ),
            icon=":material/person:",
        )
    starts = starting_scenarios(schema, start or choice.bundle.manifest.reference_patient)
    results = st.container()  # drawn above the scenario forms, filled once they are read
    tabs = st.tabs([_("Scenario {n}").format(n=i + 1) for i in range(n)])
    rows = []
    left_out = []  # the scenarios with errors, as their tabs and names say
    for i, tab in enumerate(tabs):
        with tab:
            # the start through the session, not as a default: a browser that drew the box
            # before keeps showing what it held when the scenarios start afresh
            st.session_state.setdefault(f"cmp{i}.name", starts[i][0])
            name = st.text_input(
                _("Scenario name"),
                max_chars=40,
                key=f"cmp{i}.name",
                persist_state="session",
            ).strip() or _("Scenario {n}").format(n=i + 1)
            entered = patient_form(schema, f"cmp{i}", starts[i][1], columns=3)
            if n > MIN_SCENARIOS:
                st.button(
                    _("Remove this scenario"),
                    key=f"cmp{i}.remove",
                    on_click=_remove,
                    args=(i, n),
                    icon=":material/delete:",
                )
            X = show_problems(entered)
            if X is None:
                st.error(
                    _("Scenario {n} has errors; it is left out until they are fixed.").format(
                        n=i + 1
                    )
                )
                left_out.append(_("Scenario {n} ({name})").format(n=i + 1, name=name))
                continue
            if name in [r[0] for r in rows]:
                name = f"{name} ({i + 1})"
            rows.append((name, entered.values, X))
    with results:
        # above the results, not only in the scenario's own tab, which may not be the one open
        if left_out:
            st.warning(
                ngettext(
                    "Left out of the chart, the table and the PDF until the errors in its tab "
                    "are fixed: {scenarios}.",
                    "Left out of the chart, the table and the PDF until the errors in their "
                    "tabs are fixed: {scenarios}.",
                    len(left_out),
                ).format(scenarios=common.literal(_(", ").join(left_out))),
                icon=":material/warning:",
            )
        if rows:
            progs = choice.engine.predict(pd.concat([r[2] for r in rows]), choice.model)
            named = [(r[0], p) for r, p in zip(rows, progs, strict=True)]
            # bands on for two scenarios, off for more (four overlapping bands cannot be
            # read): the choice is kept while the number stays on one side of that line
            few = n <= 2
            bands = st.checkbox(_("Show 95 % bands"), value=few, key=f"cmp.bands.{few}")
            curves = [prognosis_curve(name, p, band=bands) for name, p in named]
            common.curve(curves, schema, key="cmp.curve", title=_("Predicted survival by scenario"))
            # the names as typed: the table's headings are read as Markdown
            table = shown_columns(scenario_table(named, schema))
            st.table(table.rename(columns=common.literal))
            st.caption(_("Cells: estimate (95 % interval)."))
            if left_out:
                # beside the download: the PDF itself does not say what it leaves out
                st.caption(
                    _("The PDF holds only the scenarios shown; it leaves out: {scenarios}.").format(
                        scenarios=common.literal(_(", ").join(left_out))
                    )
                )
            common.pdf_download(
                _("Download the one-page PDF report"),
                lambda: compare_report(choice, [(r[0], r[1]) for r in rows], named),
                file_name="hipec-prognosis-scenarios.pdf",
                key="cmp.pdf",
            )
