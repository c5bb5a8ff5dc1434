"""The model card: what a bundle is, what it was trained on, how well it did, its limits.

Everything comes from the bundle itself (``manifest.json`` and the validation
``report.json``, both covered by the manifest's SHA-256s), so the page and the PDF
reports describe exactly the model that made the prediction. The words (metric names,
intended users, what the model is not for) are those of :mod:`reporting.wording` and of
the bundle's schema.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from model.bundle import Bundle
from model.families import HEADLINE_MEANING, HEADLINE_WORDS, headline_metrics
from model.schema import Schema
from model.timeaxis import DEFAULT_AXIS, TimeAxis
from reporting.wording import METRIC_LABELS, metric_labels

__all__ = [
    "METRIC_LABELS",
    "c_index_text",
    "feature_table",
    "load_report",
    "metrics_table",
    "training_text",
]


def load_report(folder: Path) -> dict:
    """A bundle folder's validation report (``report.json``); empty if it has none."""
    path = Path(folder) / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def metrics_table(report: dict, model: str, axis: TimeAxis = DEFAULT_AXIS) -> pd.DataFrame:
    """Apparent and bootstrap optimism-corrected metrics with 95 % bootstrap intervals."""
    v = (report.get("validation") or {}).get(model) or {}
    rows = []
    for key, label in metric_labels(axis).items():
        if key not in v.get("apparent", {}):
            continue
        ci = (v.get("ci") or {}).get(key)
        rows.append(
            {
                "Metric": label,
                "Apparent": f"{v['apparent'][key]:.3f}",
                "Optimism-corrected": f"{v['corrected'][key]:.3f}"
                if key in v.get("corrected", {})
                else "–",
                "95 % interval": f"{ci[0]:.3f} to {ci[1]:.3f}" if ci else "–",
                "Out-of-bag": f"{v['out_of_bag'][key]:.3f}"
                if key in v.get("out_of_bag", {})
                else "–",
            }
        )
    return pd.DataFrame(rows)


def c_index_text(bundle: Bundle, model: str) -> str:
    """The headline discrimination figure, e.g. for a report's footer."""
    which, figures, intervals = headline_metrics(bundle.manifest, model)
    c = figures.get("harrell_c")
    if c is None:
        return "validation C-index not recorded"
    ci = (intervals or {}).get("harrell_c")
    n = (bundle.manifest.metrics.get(model) or {}).get("n_boot")
    text = f"Harrell C {c:.3f}"
    if ci:
        text += f" (95 % interval {ci[0]:.3f} to {ci[1]:.3f})"
    return (
        text
        + f", {HEADLINE_WORDS[which]}{HEADLINE_MEANING[which]}{f' over {n} resamples' if n else ''}"
    )


def training_text(bundle: Bundle) -> str:
    """One sentence on the training data and its provenance."""
    d = bundle.manifest.training_data
    axis, words = bundle.schema.time_axis, bundle.schema.words
    kind = "SIMULATED patients" if d.synthetic else "patients"
    parts = [f"{d.rows} {kind} ({d.file})", f"{d.deaths} {words.events}"]
    if d.median_followup_months is not None:
        parts.append(f"median follow-up {axis.text_months(d.median_followup_months, axis.digits)}")
    if d.km_median_months is not None:
        parts.append(
            f"Kaplan-Meier median {words.endpoint} "
            f"{axis.text_months(d.km_median_months, axis.digits)}"
        )
    return "Trained on " + ", ".join(parts) + "."


def feature_table(schema: Schema) -> pd.DataFrame:
    """The inputs as the schema declares them."""
    return pd.DataFrame(
        [
            {
                "Factor": f.label,
                "Column": f.name,
                "Known": schema.stage_label(f.stage),
                "Allowed": f.describe_allowed(),
                "Definition": f.help,
            }
            for f in schema.features
        ]
    )
