"""Starting scenarios for comparing versions of one patient, built from the schema.

The schema's operative outcomes (e.g. completeness of cytoreduction, a serious
complication) name the features whose good or poor value a tumour board weighs; the
presets are the reference patient under each combination of the first two.
"""

from __future__ import annotations

from model.i18n import _
from model.schema import Feature, Schema

__all__ = ["starting_scenarios", "value_name"]


def value_name(f: Feature, value) -> str:
    """A short name for one value of an outcome feature, from its column name: "CC0" for
    a level of an ordinal score, "SAE: no" for a yes/no or a category."""
    if f.kind == "ordinal" and not f.is_text:
        return f"{f.name.upper()}{value}"
    return f"{f.name.upper()}: {f.label_for(value)}"


def starting_scenarios(schema: Schema, reference: dict) -> list[tuple[str, dict]]:
    """(name, values) of the reference patient under good and poor operative outcomes.

    Good and poor in the order (good, good), (poor, good), (good, poor), (poor, poor) over
    the schema's first two operative outcomes that are model inputs; a good outcome takes
    its first good value, a poor one the first value that is not good. Without operative
    outcomes the four scenarios are the reference patient, named "Scenario 1" to "4".
    """
    outcomes = [o for o in schema.operative_outcomes if o["feature"] in schema.feature_names]
    combos = [(True, True), (False, True), (True, False), (False, False)]
    out = []
    for flags in combos:
        values, names = dict(reference), []
        for o, good in zip(outcomes[:2], flags, strict=False):
            f = schema.feature(o["feature"])
            poor = [v for v in f.allowed_values if v not in o["good"]]
            v = o["good"][0] if good or not poor else poor[0]
            values[f.name] = v
            names.append(value_name(f, v))
        name = _(", ").join(names) or _("Scenario {n}").format(n=len(out) + 1)
        out.append((name, values))
    return out
