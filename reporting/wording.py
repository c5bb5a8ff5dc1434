"""The fixed words every output uses: metric names, intended use, methods, the warnings.

Defined once here, so that the page, the model card, the validation report and the
PDF reports say the same thing in the same words.
"""

from __future__ import annotations

from model.timeaxis import DEFAULT_AXIS, TimeAxis

__all__ = [
    "INTENDED_USE",
    "INTENDED_USE_SHORT",
    "INTENDED_USERS",
    "METRIC_LABELS",
    "metric_labels",
    "NOT_FOR",
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

_PURPOSE = (
    "Estimates overall survival after cytoreductive surgery and HIPEC for diffuse malignant "
    "peritoneal mesothelioma, for clinicians and tumour boards."
)
_SUPPORTS_JUDGEMENT = "It supports and does not replace clinical judgement."
_NOT_VALIDATED = (
    "It is not validated for other peritoneal malignancies, for treatment without CRS+HIPEC, "
    "or outside the ranges of the training data."
)
# the validation report records it (report.json), and the model card shows it from there
INTENDED_USE = f"{_PURPOSE} {_SUPPORTS_JUDGEMENT} {_NOT_VALIDATED}"
# the one-line form at the foot of a printed report
INTENDED_USE_SHORT = f"Intended use: {_PURPOSE} {_SUPPORTS_JUDGEMENT}"
INTENDED_USERS = (
    "Surgical oncologists and tumour boards discussing a patient treated, or considered for "
    "treatment, with CRS+HIPEC; researchers validating or retraining the model on their own data."
)
NOT_FOR = [
    "Deciding treatment on its own: it supports and does not replace clinical judgement.",
    "Peritoneal malignancies other than the one it was trained on, or treatment without CRS+HIPEC.",
    "Patients outside the ranges of the training data (the page warns when an input is).",
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
