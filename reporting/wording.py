"""The words every output uses: metric names, intended use, methods, the warnings.

Defined once here, so that the page, the model card, the validation report and the
PDF reports say the same thing in the same words; what depends on the population
(its purpose, users and limits) comes from the schema's words (:mod:`model.words`).
"""

from __future__ import annotations

from model.i18n import N_, _
from model.timeaxis import DEFAULT_AXIS, TimeAxis
from model.words import Words

__all__ = [
    "BAND_LIMITATION",
    "METRIC_LABELS",
    "intended_use",
    "intended_use_short",
    "metric_labels",
    "not_for",
    "NO_BAND_TEXT",
    "SIMULATED_BANNER",
    "SIMULATED_WARNING",
    "simulated_banner",
    "simulated_warning",
]


def metric_labels(axis: TimeAxis = DEFAULT_AXIS) -> dict[str, str]:
    """The validation measures' names, the time-dependent ones at the schema's landmarks."""
    return {
        "harrell_c": _("Harrell C"),
        "uno_c": _("Uno C"),
        **{
            f"auc_{m.name}": _("Time-dependent AUC at {when}").format(when=axis.text(m.value))
            for m in axis.marks
        },
        "ibs": _("Integrated Brier score (lower is better)"),
        "ipa": _("Index of prediction accuracy (1 - IBS / IBS of Kaplan-Meier)"),
    }


METRIC_LABELS = metric_labels()

# a table cell where a model gives no 95 % interval
NO_BAND_TEXT = N_("no band for this model")

_SUPPORTS_JUDGEMENT = N_("It supports and does not replace clinical judgement.")
_RANGES = N_(
    "Patients outside the ranges of the training data (the page warns when an input is "
    "outside them)."
)


def intended_use(words: Words) -> str:
    """The intended use the validation report records (report.json) and the model card shows:
    the schema's purpose, that it supports judgement, and what it is not validated for."""
    limits = (
        " " + _("Not for: {limits}").format(limits=" ".join(words.not_for)) if words.not_for else ""
    )
    return f"{words.purpose()} {_(_SUPPORTS_JUDGEMENT)}{limits} " + _(
        "It is not validated outside the ranges of the training data."
    )


def intended_use_short(words: Words) -> str:
    """The one-line form at the foot of a printed report."""
    return (
        _("Intended use: {purpose}").format(purpose=words.purpose()) + " " + _(_SUPPORTS_JUDGEMENT)
    )


def not_for(words: Words, synthetic: bool) -> list[str]:
    """The model card's "Not for" list: the schema's own, between the ones every model has
    (and, for a model trained on simulated patients, any clinical use)."""
    return [
        _("Deciding treatment on its own: it supports and does not replace clinical judgement."),
        *words.not_for,
        _(_RANGES),
        *([_("Any clinical use while it is trained on simulated data.")] if synthetic else []),
    ]


_SIMULATED_HEAD = N_("This model was trained on simulated patients")
_SIMULATED_REST = N_(
    ", not real ones. It demonstrates the tool and must not be used for clinical decisions."
)


def simulated_warning(emphasis=lambda text: text) -> str:
    """The warning on everything made by a model trained on simulated data, its first words
    passed through ``emphasis`` (e.g. ``lambda s: f"**{s}**"`` for Markdown)."""
    return emphasis(_(_SIMULATED_HEAD)) + _(_SIMULATED_REST)


def simulated_banner() -> str:
    """The boxed warning at the top of a printed report."""
    warning = simulated_warning()
    return _("TRAINED ON SIMULATED DATA: {warning}").format(
        warning=warning[0].lower() + warning[1:]
    )


# English forms for the training side (the validation report, the command line)
SIMULATED_WARNING = simulated_warning()
SIMULATED_BANNER = simulated_banner()


# benchmarks/results/semi_synthetic_gbsg2_stand_in_landmarks.json: mean coverage over 2-4
# training draws a size, all test patients, 365/1,095/1,825 days
BAND_LIMITATION = N_(
    "The Cox band is widened by an amount estimated from the training data. That allows for "
    "the penalty's shrinkage and for hazard ratios that change over time, as far as the data "
    "show them, but not for effects the data are too few to reveal and the design cannot "
    "bend. Where the truth was known (real breast-cancer covariates, GBSG2, with an age "
    "effect the schema did not declare and hazard ratios that fade gradually; 110 to 2,000 "
    "training patients), 80-96 % of true survival probabilities lay inside the 95 % band, "
    "not 95 %."
)
