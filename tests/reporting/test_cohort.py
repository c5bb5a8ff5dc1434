"""A scored cohort's risk groups and their tables; the compare page's starting scenarios."""

from dataclasses import replace

import numpy as np
import pandas as pd

from model.kaplan_meier import KaplanMeier
from model.risk_groups import RISK_THIRDS, risk_thirds, with_risk_thirds
from model.timeaxis import LANDMARKS, RISK_HORIZON
from reporting.cohort import has_outcome, risk_group_summary
from reporting.scenarios import starting_scenarios, value_name
from reporting.summary import fmt_percent


def test_the_risk_horizon_is_a_landmark():
    # risk groups are summarised by the predictions table's column at the risk horizon
    assert RISK_HORIZON in LANDMARKS


def test_risk_thirds_cut_at_the_cohorts_quantiles():
    scores = np.arange(9.0)
    assert risk_thirds(scores) == [g for g in RISK_THIRDS for _ in range(3)]
    table = pd.DataFrame({"patient_id": list("abc"), "risk_score": [3.0, 1.0, 2.0], "x": 0})
    out = with_risk_thirds(table)
    assert list(out.columns) == ["patient_id", "risk_score", "risk_group", "x"]
    assert list(out["risk_group"]) == ["higher risk third", "lower risk third", "middle risk third"]
    assert "risk_group" not in table  # the input is left as it was


def _cohort(schema, n=90, seed=0):
    rng = np.random.default_rng(seed)
    h = f"{RISK_HORIZON:g}"
    preds = pd.DataFrame({"risk_score": rng.gamma(2.0, size=n), f"surv_{h}": rng.uniform(size=n)})
    data = pd.DataFrame(
        {schema.time.name: rng.uniform(1, 80, size=n), schema.event.name: rng.integers(0, 2, n)}
    )
    return with_risk_thirds(preds), data


def test_risk_group_summary_with_and_without_outcomes(schema):
    preds, data = _cohort(schema)
    summary = risk_group_summary(preds, data, schema)
    h = f"{RISK_HORIZON:g}"
    assert list(summary.table.index) == list(RISK_THIRDS)
    assert list(summary.table.columns) == [
        "patients",
        f"mean predicted S({h})",
        f"observed S({h}) (Kaplan-Meier)",
        "deaths",
    ]
    first = (preds["risk_group"] == RISK_THIRDS[0]).to_numpy()
    km = KaplanMeier(data[schema.time.name][first], data[schema.event.name][first])
    row = summary.table.loc[RISK_THIRDS[0]]
    assert row["patients"] == first.sum()
    assert row[f"observed S({h}) (Kaplan-Meier)"] == fmt_percent(km.survival_at(RISK_HORIZON)[0])
    assert row[f"mean predicted S({h})"] == fmt_percent(preds[f"surv_{h}"][first].mean())
    assert [c["name"] for c in summary.curves] == list(RISK_THIRDS)

    no_outcome = data.drop(columns=schema.event.name)
    assert not has_outcome(no_outcome, schema)
    summary = risk_group_summary(preds, no_outcome, schema)
    assert summary.curves == [] and list(summary.table.columns) == [
        "patients",
        f"mean predicted S({h})",
    ]


def test_starting_scenarios_from_the_schemas_operative_outcomes(schema):
    reference = {f.name: None for f in schema.features}
    scenarios = starting_scenarios(schema, reference)
    assert [name for name, _ in scenarios] == [
        "CC0, SAE: no",
        "CC2, SAE: no",
        "CC0, SAE: yes",
        "CC2, SAE: yes",
    ]
    assert [(v["cc"], v["sae"]) for _, v in scenarios] == [(0, 0), (2, 0), (0, 1), (2, 1)]
    assert reference["cc"] is None  # the reference patient is copied, not changed


def test_starting_scenarios_without_operative_outcomes(schema):
    pre = schema.subset([f.name for f in schema.stage_features("pre")])
    names = [name for name, _ in starting_scenarios(pre, {})]
    assert names == [f"Scenario {i}" for i in range(1, 5)]


def test_scenario_names_come_from_the_column_not_the_label_text(schema):
    cc = schema.feature("cc")
    relabelled = replace(cc, value_labels={v: f"grade {v}" for v in cc.allowed_values})
    assert value_name(relabelled, 0) == value_name(cc, 0) == "CC0"
    assert value_name(schema.feature("sae"), 1) == "SAE: yes"


def test_a_group_whose_patients_all_died_reads_0_percent_past_the_last_death(schema):
    """Every patient of a group dead by 12.6 months: its Kaplan-Meier survival at 36 months
    is 0 (it had read as not estimable), while a group whose last patient was censored
    is still not estimated beyond that time."""
    dead = KaplanMeier(pd.Series([2.0, 5.0, 12.6]), pd.Series([1, 1, 1]))
    assert dead.survival_at(36.0)[0] == 0.0
    censored = KaplanMeier(pd.Series([2.0, 5.0, 12.6]), pd.Series([1, 1, 0]))
    assert censored.survival_at(36.0)[0] is None
    preds = pd.DataFrame({"surv_36": [0.2, 0.5, 0.8], "risk_group": list(RISK_THIRDS)[::-1]})
    data = pd.DataFrame({"os_months": [12.6, 40.0, 50.0], "death": [1, 0, 0]})
    table = risk_group_summary(preds, data, schema).table
    observed = next(c for c in table.columns if c.startswith("observed S(36)"))
    assert table.loc[RISK_THIRDS[-1], observed] == fmt_percent(0.0)
