"""The evidence panel and the model card's plausibility table, as the page and the PDF word them."""

from dataclasses import replace

import pytest

from model.bundle import load_bundle
from model.engine import Engine
from model.plausibility import group_predictions
from reporting.evidence import (
    MODEL_PREFIX,
    PANEL_COLUMNS,
    conditional_rows,
    evidence_panel,
    model_median,
    not_yet,
    plausibility_table,
)
from reporting.summary import survival_table


def row(panel, system_id):
    r = panel.row(system_id)
    assert r is not None, [x.system_id for x in panel.rows]
    return r


def test_the_panel_places_the_patient_by_each_papers_definition(schema):
    panel = evidence_panel(schema, {"ki67": 5, "pci": 12, "lymph_nodes": 0, "cc": 0})
    assert panel.label == "published series, not this model"
    assert panel.heading == "Published series, not this model"
    milan = row(panel, "milan")
    assert milan.placed and milan.patient == "Group I: Ki-67 ≤ 9 %"
    assert milan.figures == "median OS 86.6 months"
    assert milan.source.startswith("Kusamura S et al., Ann Surg Oncol")
    assert any("pre-cytoreduction" in c for c in milan.caveats)
    tnm = row(panel, "psogi_tnm")
    assert tnm.patient == "Stage II (T2-T3 N0 M0)" and tnm.figures == "5-year OS 53 %"
    assert "doi 10.1002/cncr.25640" in tnm.source
    assert row(panel, "sydney_cc").figures == "median OS 104 months"
    assert list(panel.table().columns) == PANEL_COLUMNS
    assert any("cohorts differ widely" in c for c in panel.caveats)


def test_an_unknown_input_is_named_and_every_groups_figure_shown(schema):
    panel = evidence_panel(schema, {"ki67": None, "pci": 12})
    milan = row(panel, "milan")
    assert not milan.placed and milan.patient == "not placed: Ki-67 index unknown"
    for text in ("86.6", "63.2", "10.3"):
        assert text in milan.figures
    assert "Group III: Ki-67 > 9 % and PCI > 17: median OS 10.3 months" in milan.figures


def test_the_calculator_and_candidacy_show_different_systems(schema):
    patient = {"ki67": 20, "pci": 25, "cc": 1, "lymph_nodes": 0, "pathology": "epithelioid"}
    calc = {r.system_id for r in evidence_panel(schema, patient, "calculator").rows}
    assert {"milan", "psogi_tnm", "histology", "meta_analysis"} <= calc
    assert not calc & {"chemotherapy", "repeat_crs", "conditional_survival"}
    later = {r.system_id for r in evidence_panel(schema, patient, "calculator", 24).rows}
    assert later == calc | {"conditional_survival"}
    cand = evidence_panel(schema, patient, "candidacy")
    ids = {r.system_id for r in cand.rows}
    assert {"chemotherapy", "repeat_crs"} <= ids and "conditional_survival" not in ids
    assert [r.system_id for r in cand.other] == ["chemotherapy", "repeat_crs"]
    repeat = row(cand, "repeat_crs")
    assert repeat.caveats[0].startswith("Immortal-time bias")
    assert "[1] Ann Surg Oncol 2014" in repeat.source and "80 months [1]" in repeat.figures
    chemo = row(cand, "chemotherapy")
    assert "10-17 months" in chemo.figures and "doi 10.1245/s10434-024-15506-3" in chemo.source


def test_before_surgery_post_operative_facts_are_not_used(schema):
    # values of post-operative inputs left in the form do not place the patient
    cand = evidence_panel(schema, {"pci": 12, "cc": 0, "lymph_nodes": 0}, "candidacy")
    reason, cell = not_yet(schema)
    assert cell == f"not placed before surgery: {reason}"
    assert reason == "it needs facts known only after surgery"
    assert row(cand, "sydney_cc").patient == cell
    assert row(cand, "psogi_tnm").patient == cell
    hist = row(cand, "histology")
    assert hist.patient == f"not placed: Pathological type unknown; {reason}"
    assert "Completeness of cytoreduction" not in " ".join(r.patient for r in cand.rows)


def test_conditional_rows_only_when_alive_at(schema):
    assert conditional_rows(evidence_panel(schema, {}, "calculator")) == []
    (r,) = conditional_rows(evidence_panel(schema, {}, "calculator", 12))
    assert (
        "27 %" in r.figures and "84 %" in r.figures and "doi 10.1245/s10434-024-16485-1" in r.source
    )


def test_no_evidence_file_no_panel(schema):
    assert evidence_panel(replace(schema, name="centre_without_evidence"), {"ki67": 5}) is None
    assert conditional_rows(None) == []


def test_markdown_card_shows_text_as_itself(schema):
    panel = evidence_panel(schema, {"ki67": 5, "pci": 12})
    card = panel.row("milan").markdown()
    assert card == "**Milan Ki-67/PCI tree** · **Group I: Ki-67 ≤ 9 %**  \nmedian OS 86.6 months"
    odd = replace(panel.row("milan"), figures="2*3 $5 a_b", placed=False)
    assert odd.markdown().endswith("*  \n2\\*3 \\$5 a\\_b")
    assert panel.row("milan").note.startswith("Source: Kusamura S et al.")


def test_unknown_view_is_refused(schema):
    with pytest.raises(ValueError, match="view must be"):
        evidence_panel(schema, {}, "cohort")


@pytest.fixture(scope="module")
def engine(small_bundle):
    return Engine(load_bundle(small_bundle))


def five_in(t) -> bool:
    return f"{MODEL_PREFIX}: survival at 5 years" in t.columns


def test_plausibility_table_is_the_engines_prediction_beside_the_paper(engine, schema):
    preds = group_predictions(engine, "coxnet")
    t = plausibility_table(preds, schema)
    assert len(t) == len(preds) and five_in(t)
    five = f"{MODEL_PREFIX}: survival at 5 years"
    for (_, r), g in zip(t.iterrows(), preds, strict=True):
        table = survival_table(g.prognosis, schema).set_index("Outcome")
        med = table.loc["Median overall survival (months)"]
        assert r[model_median(schema)].startswith(med["Estimate"])
        assert r["Published figure"] == "; ".join(f.text for f in g.figures)
        # and where each comes from: every row cites its paper
        assert r["Source"] and all(f.source.text in r["Source"] for f in g.figures)
        assert r["Group"] == g.group.label
        label = [x for x in table.index if x.startswith("Survival at 5 years")]
        if label and table.loc[label[0], "Estimate"] != "beyond follow-up":
            assert r[five].startswith(table.loc[label[0], "Estimate"])
    milan_1 = t[
        (t["Published system"] == "Milan Ki-67/PCI tree") & t["Group"].str.startswith("Group I:")
    ]
    assert milan_1["Typical patient in the group"].iloc[0].startswith("Ki-67 index: ")
    assert "Ann Surg Oncol" in milan_1["Source"].iloc[0]


def test_plausibility_table_changes_with_the_engine(engine, schema, monkeypatch):
    before = plausibility_table(group_predictions(engine, "coxnet"), schema)
    real = engine.predict

    def worse(X, model=None, contributions=False):
        return [replace(p, survival=p.survival**3) for p in real(X, model, contributions)]

    monkeypatch.setattr(engine, "predict", worse)
    after = plausibility_table(group_predictions(engine, "coxnet"), schema)
    assert (before["Published figure"] == after["Published figure"]).all()
    assert (before[model_median(schema)] != after[model_median(schema)]).any()


def test_a_series_without_groups_reads_plainly(schema):
    panel = evidence_panel(schema, {"ki67": 5})
    assert (
        panel.row("psogi_registry")
        .markdown()
        .startswith("**PSOGI registry, all patients** · all patients of the series  \n")
    )
