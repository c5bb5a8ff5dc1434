"""The words every output uses: metric names, intended use, methods, the warnings.

Defined once here, so that the page, the model card, the validation report and the
PDF reports say the same thing in the same words; what depends on the population
(its purpose, users and limits) comes from the schema's words (:mod:`model.words`).
"""

from __future__ import annotations

from model.timeaxis import DEFAULT_AXIS, TimeAxis
from model.words import Words

__all__ = [
    "METRIC_LABELS",
    "intended_use",
    "intended_use_short",
    "metric_labels",
    "not_for",
    "NO_BAND_TEXT",
    "SIMULATED_BANNER",
    "SIMULATED_WARNING",
    "simulated_warning",
]


def metric_labels(axis: TimeAxis = DEFAULT_AXIS) -> dict[str, str]:
    """The validation measures' names, the time-dependent ones at the schema's landmarks."""
    return {
        "harrell_c": "Harrell C",
        "uno_c": "Uno C",
        **{f"auc_{m.name}": f"Time-dependent AUC at {axis.text(m.value)}" for m in axis.marks},
        "ibs": "Integrated Brier score (lower is better)",
        "ipa": "Index of prediction accuracy (1 - IBS / IBS of Kaplan-Meier)",
    }


METRIC_LABELS = metric_labels()

# a table cell where a model gives no 95 % interval
NO_BAND_TEXT = "no band for this model"

_SUPPORTS_JUDGEMENT = "It supports and does not replace clinical judgement."
_RANGES = "Patients outside the ranges of the training data (the page warns when an input is)."


def intended_use(words: Words) -> str:
    """The intended use the validation report records (report.json) and the model card shows:
    the schema's purpose, that it supports judgement, and what it is not validated for."""
    limits = f" Not for: {' '.join(words.not_for)}" if words.not_for else ""
    return (
        f"{words.purpose()} {_SUPPORTS_JUDGEMENT}{limits} It is not validated outside the "
        "ranges of the training data."
    )


def intended_use_short(words: Words) -> str:
    """The one-line form at the foot of a printed report."""
    return f"Intended use: {words.purpose()} {_SUPPORTS_JUDGEMENT}"


def not_for(words: Words) -> list[str]:
    """The model card's "Not for" list: the schema's own, between the ones every model has."""
    return [
        "Deciding treatment on its own: it supports and does not replace clinical judgement.",
        *words.not_for,
        _RANGES,
        "Any clinical use while it is trained on simulated data.",
    ]


_SIMULATED_HEAD = "This model was trained on simulated patients"
_SIMULATED_REST = (
    ", not real ones. It demonstrates the tool and must not be used for clinical decisions."
)


def simulated_warning(emphasis=lambda text: text) -> str:
    """The warning on everything made by a model trained on simulated data, its first words
    passed through ``emphasis`` (e.g. ``lambda s: f"**{s}**"`` for Markdown)."""
    return emphasis(_SIMULATED_HEAD) + _SIMULATED_REST


SIMULATED_WARNING = simulated_warning()
# the boxed warning at the top of a printed report
SIMULATED_BANNER = (
    f"TRAINED ON SIMULATED DATA: {SIMULATED_WARNING[0].lower()}{SIMULATED_WARNING[1:]}"
)
