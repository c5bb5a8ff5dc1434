"""The model card's limitations and hazard ratios by time piece from the report's check of
proportional hazards."""

from model import i18n
from model.schema import default_schema
from reporting.card import hazard_ratios_by_piece, hazards_over_time_limitations


def _tests(flagged_columns: list[str]) -> dict:
    schema = default_schema()
    columns = ["age", "sae", "pathology=sarcomatoid", "cc=2"]
    tests = [
        {"column": c, "label": schema.encoded_label(c), "statistic": 1.0, "p": 0.5} for c in columns
    ]
    return {
        "tests": tests,
        "flagged": [schema.encoded_label(c) for c in flagged_columns],
        "level": 0.05 / len(columns),
        "rows": 500,
    }


def test_pieces_chosen_say_where_the_ratios_change():
    report = {
        "proportional_hazards": {"pieces": 2, "cuts_months": [12.4], "schoenfeld": _tests([])}
    }
    (text,) = hazards_over_time_limitations(report, default_schema())
    assert "2 time pieces (cut at 12.4 months)" in text and "average each factor's effect" in text
    with i18n.use("zh-CN"):
        (zh,) = hazards_over_time_limitations(report, default_schema())
    assert "2 个时段" in zh and "12.4" in zh


def test_pieces_served_say_so_and_what_it_means_for_the_contributions():
    check = {"pieces": 2, "cuts_months": [12.4], "served": True, "schoenfeld": _tests(["sae"])}
    (text,) = hazards_over_time_limitations({"proportional_hazards": check}, default_schema())
    assert "fitted in 2 time pieces (cut at 12.4 months)" in text
    assert "piece that holds the risk horizon" in text and "assumes" not in text
    assert '("Over time")' in text  # the table column that gives every piece's ratio
    # training.update recalibrates a model in pieces: one slope for every piece
    assert "every piece's coefficients take one calibration slope" in text
    with i18n.use("zh-CN"):
        (zh,) = hazards_over_time_limitations({"proportional_hazards": check}, default_schema())
    assert "2 个时段" in zh and "12.4" in zh and "校准斜率" in zh and "随时间变化" in zh


def test_fused_pieces_served_say_that_a_ratio_changes_only_where_patients_showed_it():
    check = {
        "pieces": 3, "cuts_months": [9.0, 24.0], "served": True, "fusion": 8.0,
        "schoenfeld": _tests(["sae"]),
        "hazard_ratios": [
            {"contrast": "Age 70 vs 50", "hr_one_piece": 1.3, "hr_by_piece": [1.3, 1.31, 1.29]},
            {"contrast": "SAE yes vs no", "hr_one_piece": 1.8, "hr_by_piece": [2.9, 1.2, 1.21]},
        ],
    }  # fmt: skip
    (text,) = hazards_over_time_limitations({"proportional_hazards": check}, default_schema())
    assert "fitted in 3 time pieces (cut at 9 months, 24 months)" in text
    assert "a factor whose effect holds keeps one hazard ratio" in text
    assert "each with its own hazard ratios" not in text
    # how much the pieces matter: the contrast that moves most, piece by piece
    assert text.endswith("The largest change is that of SAE yes vs no: 2.90 → 1.20 → 1.21.")
    with i18n.use("zh-CN"):
        (zh,) = hazards_over_time_limitations({"proportional_hazards": check}, default_schema())
    assert "3 个时段" in zh and "同一风险比" in zh and "校准斜率" in zh


def test_a_flagged_factor_is_named_in_the_schemas_words():
    report = {"proportional_hazards": {"pieces": 1, "schoenfeld": _tests(["sae", "cc=2"])}}
    (text,) = hazards_over_time_limitations(report, default_schema())
    assert text.startswith(
        "In the training data the hazard ratio of Serious adverse event within 30 days, "
        "Completeness of cytoreduction (CC): CC2 - residual nodules 2.5 mm to 2.5 cm changes"
    )


def test_nothing_to_say_without_a_change_or_a_check():
    assert (
        hazards_over_time_limitations(
            {"proportional_hazards": {"pieces": 1, "schoenfeld": _tests([])}}, default_schema()
        )
        == []
    )
    assert hazards_over_time_limitations({}, default_schema()) == []


def test_hazard_ratios_by_piece_name_every_span_in_order():
    rows = [
        {"contrast": "SAE: yes vs no", "hr_one_piece": 1.874, "hr_by_piece": [3.021, 1.2, 0.951]},
        {"contrast": "Ki-67: 20 vs 5", "hr_one_piece": 1.5, "hr_by_piece": [1.27, 1.5, 1.88]},
    ]
    check = {"pieces": 3, "cuts_months": [12.3, 30.0], "served": True, "hazard_ratios": rows}
    t = hazard_ratios_by_piece({"proportional_hazards": check}, default_schema())
    assert list(t.columns) == [
        "Contrast",
        "One piece (all times)",
        "In the first 12.3 months",
        "Between 12.3 months and 30 months",
        "After 30 months",
    ]
    assert t.iloc[0].tolist() == ["SAE: yes vs no", "1.87", "3.02", "1.20", "0.95"]
    # not served (one piece asked for): the all-times column is the served model's
    t = hazard_ratios_by_piece(
        {"proportional_hazards": dict(check, served=False)}, default_schema()
    )
    assert t.columns[1] == "Served (all times)"
    # a bundle's report from before the key's name said what it holds: hr_served
    old = [{k.replace("hr_one_piece", "hr_served"): v for k, v in r.items()} for r in rows]
    t_old = hazard_ratios_by_piece(
        {"proportional_hazards": dict(check, hazard_ratios=old)}, default_schema()
    )
    assert t_old.iloc[0].tolist() == ["SAE: yes vs no", "1.87", "3.02", "1.20", "0.95"]
    with i18n.use("zh-CN"):
        zh = hazard_ratios_by_piece({"proportional_hazards": check}, default_schema())
    assert zh.shape == (2, 5) and "12.3" in zh.columns[2] and zh.columns[2] != t.columns[2]


def test_no_table_of_pieces_where_one_piece_was_kept():
    check = {"pieces": 1, "schoenfeld": _tests([])}
    assert hazard_ratios_by_piece({"proportional_hazards": check}, default_schema()) is None
    assert hazard_ratios_by_piece({}, default_schema()) is None


def test_a_contrast_is_worded_in_the_readers_language():
    """The report keeps what a hazard ratio compares, so that the model card words it in
    the reader's language, not in the one the model was fitted in."""
    row = {
        "feature": "pathology", "contrast": "Pathological type: sarcomatoid vs epithelioid",
        "value": "sarcomatoid", "reference": "epithelioid",
        "hr_one_piece": 2.0, "hr_by_piece": [3.0, 1.5],
    }  # fmt: skip
    age = dict(row, feature="age", contrast="Age at surgery: 63 vs 47 years", value=63.0,
               reference=47.0)  # fmt: skip
    check = {"pieces": 2, "cuts_months": [12.0], "served": True, "hazard_ratios": [row, age]}
    schema = default_schema()
    en = hazard_ratios_by_piece({"proportional_hazards": check}, schema)
    assert en.iloc[:, 0].tolist() == [
        schema.feature("pathology").contrast_label("sarcomatoid", "epithelioid"),
        schema.feature("age").contrast_label(63.0, 47.0),
    ]
    assert en.iloc[1, 0] == "Age at surgery: 63 vs 47 years"
    with i18n.use("zh-CN"):
        zh = hazard_ratios_by_piece({"proportional_hazards": check}, schema)
        (text,) = hazards_over_time_limitations({"proportional_hazards": check}, schema)
        local = schema.localized().feature("pathology")
    assert local.label != "Pathological type" and local.label in zh.iloc[0, 0]
    assert local.label_for("sarcomatoid") in zh.iloc[0, 0]
    assert "Pathological" not in text and local.label in text
