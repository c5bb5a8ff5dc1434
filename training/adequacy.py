"""Sample-size adequacy of a cohort for the Cox model's design (for ``describe`` and ``fit``).

The criteria themselves are in :mod:`training.samplesize`; here they meet the data: the
candidate parameters are the columns of the penalised Cox model's design (indicators,
spline ramps and interaction products, before the penalty selects any), the anticipated
Cox-Snell R² is the conservative default or, after ``fit``, the Cox model's own adjusted
for optimism, and the
time point is the schema's middle landmark (3 years by default), in the data's unit.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline

from model.piecewise import PiecewiseCox, pieces_of
from model.schema import Schema
from training.samplesize import (
    NAGELKERKE_OPTIMISM,
    PRECISION_MARGIN,
    SHRINKAGE,
    SampleSize,
    assess,
    cox_snell_r2,
    cox_snell_r2_pieces,
    optimism_adjusted_r2,
)

__all__ = [
    "SOURCE",
    "cohort_sample_size",
    "design_columns",
    "fitted_sample_size",
    "format_sample_size",
    "sample_size_html",
    "sample_size_lines",
]

SOURCE = "Riley et al., BMJ 2020;368:m441"


def design_columns(data: pd.DataFrame, schema: Schema) -> int:
    """How many columns the Cox model's design has on these data (before any selection).

    The outcome-free part of :func:`training.estimators.make_coxnet` (encoding, splines
    and declared interactions), with median imputation standing in for the conditional
    one (only the knots, not the count, could differ). A column no patient varies (the
    indicator of a level nobody had, and its products) is no candidate: no fit can give it a
    coefficient. Features absent from the data count as one column each.
    """
    from training.estimators import make_coxnet

    X = data.reindex(columns=schema.feature_names)
    pipe = make_coxnet(schema)
    design = Pipeline(
        [
            ("encode", pipe.named_steps["encode"]),
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("expand", pipe.named_steps["expand"]),
        ]
    ).set_output(transform="pandas")
    absent = int(X.isna().all().sum())
    return _varying(design.fit_transform(X)) + absent


def _varying(Z) -> int:
    """How many columns of a design take more than one value."""
    Z = np.asarray(Z, dtype=float)
    return int((np.nanmax(Z, axis=0) > np.nanmin(Z, axis=0)).sum()) if len(Z) else 0


def _follow_up(data: pd.DataFrame, schema: Schema) -> tuple[int, int, float]:
    # in the data's unit, as the timepoint (the middle landmark): rate x time is what counts
    time = data[schema.time.name].to_numpy(dtype=float)
    event = data[schema.event.name].to_numpy().astype(bool)
    return len(time), int(event.sum()), float(time.sum())


def cohort_sample_size(
    data: pd.DataFrame,
    schema: Schema,
    parameters: int | None = None,
    r2_cs: float | None = None,
    r2_source: str | None = None,
) -> SampleSize:
    """Riley's criteria for this cohort and ``parameters`` (default: the Cox design's)."""
    n, events, person_time = _follow_up(data, schema)
    if parameters is None:
        parameters = design_columns(data, schema)
    timepoint = _timepoint(schema)
    return assess(n, events, person_time, timepoint, parameters, r2_cs, r2_source)


# the anticipated R² of a model whose likelihood ratio does not exceed its parameters: not
# the conservative default, which would judge it more leniently than a model just above that
NO_SIGNAL_R2 = 0.001


def fitted_sample_size(data: pd.DataFrame, schema: Schema, models: dict | None = None) -> dict:
    """What ``fit`` reports: the parameters the data support and those the model spends.

    With a fitted Cox pipeline among ``models`` (name -> pipeline; the one whose last step
    has coefficients, or a :class:`~model.piecewise.PiecewiseCox`) the anticipated R² is its
    apparent Cox-Snell R² (from the partial likelihood of its penalised fit on these data,
    in time pieces the pieces' sum) times van Houwelingen's heuristic shrinkage for the
    parameters it spends, and the design is its own (in time pieces, every piece's columns);
    without one, the conservative default and the design counted from the data. The
    conservative figure is always given beside it.
    """
    from training.estimators import survival_target

    coxnet = next((m for m in (models or {}).values() if hasattr(m[-1], "coef_")), None)
    pieces = next((m for m in (models or {}).values() if isinstance(m[-1], PiecewiseCox)), None)
    out: dict = {"source": SOURCE, "timepoint": _timepoint(schema), "unit": schema.time_axis.unit}
    model_r2 = None
    X = data[schema.feature_names]
    if pieces is not None:
        # every piece's coefficients are candidates (fused ones too: the fusion only
        # penalises their changes, as the penalty does the design's columns)
        Z = np.asarray(pieces[:-1].transform(X), dtype=float)
        parts = pieces_of(pieces[-1], survival_target(data, schema))
        out["design_columns"] = len(parts) * _varying(Z)
        out["time_pieces"] = len(parts)
        out["nonzero_coefficients"] = pieces[-1].nonzero_coefficients()
        e, t = parts[0][1].dtype.names
        model_r2 = cox_snell_r2_pieces([(Z[a] @ c, p[e], p[t]) for a, p, c in parts])
        out["model_r2_cs"] = model_r2
    elif coxnet is not None:
        coef = np.asarray(coxnet[-1].coef_)[:, -1]
        out["design_columns"] = _varying(coxnet[:-1].transform(X))
        out["nonzero_coefficients"] = int(np.count_nonzero(coef))
        lp = coxnet.predict(X)
        event = data[schema.event.name].to_numpy().astype(bool)
        model_r2 = cox_snell_r2(lp, event, data[schema.time.name].to_numpy(dtype=float))
        out["model_r2_cs"] = model_r2
    else:
        out["design_columns"] = design_columns(data, schema)
        out["nonzero_coefficients"] = None
    p = out["design_columns"]
    conservative = cohort_sample_size(data, schema, p)
    used = conservative
    # measured on the data the model was fitted to, the R² is optimistic: most of all in a
    # small cohort (0.51 apparent from 110 patients where 500 and 2,000 gave 0.31-0.33)
    # (van Houwelingen's shrinkage assumes an unpenalised fit: on a penalised one it
    # over-corrects, which errs towards asking for more patients)
    if model_r2 is not None:
        adjusted = optimism_adjusted_r2(model_r2, len(data), p)
        said = (
            f"the fitted penalised Cox model's apparent Cox-Snell R² on these data"
            f"{' over its time pieces' if pieces is not None else ''}, "
            f"{model_r2:.3f}, adjusted for optimism by van Houwelingen's heuristic shrinkage"
        )
        if adjusted is None:  # no more than its parameters explain by chance: next to nothing
            adjusted = NO_SIGNAL_R2
            said += f" (not above what its {p} parameters explain by chance: {NO_SIGNAL_R2:g})"
        out["model_r2_cs_adjusted"] = adjusted
        used = cohort_sample_size(data, schema, p, adjusted, said)
    out["conservative"] = conservative.to_dict()
    out["assessment"] = used.to_dict()
    out["supported"] = used.max_parameters
    out["warning"] = _warning(used, out, out["unit"], schema.words.events)
    return out


def _timepoint(schema: Schema) -> float:
    """The middle landmark (3 years by default), in the data's unit."""
    marks = schema.time_axis.marks
    return marks[len(marks) // 2].value


def _warning(s: SampleSize, d: dict, unit: str, events: str = "events") -> str | None:
    if s.adequate:
        return None
    spent = d["design_columns"]
    aside = _aside(d, "kept by the penalty")
    # short of criterion iii no design is adequate: say what criteria i and ii would allow
    # rather than "support 0"
    supported = min(s.max_parameters_shrinkage, s.max_parameters_optimism)
    said = (
        f"the Cox design has {spent} candidate parameters"
        + aside
        + f" and these {s.n} patients ({s.events} {events}) support {supported}"
        f" ({SOURCE}; {s.n_required:,} patients would be needed)"
    )
    pieces = d.get("time_pieces")
    if pieces and spent // pieces <= supported < spent:
        # one piece's columns within what criteria i and ii allow, the pieces' beyond it: say
        # what takes the design past them
        said += (
            f"; the {spent // pieces} of one piece are within that, the changes between "
            "pieces (chosen on held-out patients, the report's 'Hazard ratios over time') are not"
        )
    if not s.precision_met:
        said += (
            f"; the overall risk by {s.timepoint:g} {unit} is not estimated to within "
            f"{PRECISION_MARGIN:g} ({s.n_precision:,} patients would be needed for that alone)"
        )
    return (
        said + ". The penalty reduces overfitting but cannot remove it: read the bootstrap "
        "optimism and the calibration slopes in the report, and keep the model's use in "
        "proportion."
    )


def _fmt_count(x: int) -> str:
    return f"{x:,}"


def format_sample_size(d: dict, unit: str = "months") -> str:
    """Plain-text block for ``describe`` (``d``: :meth:`SampleSize.to_dict` of the cohort)."""
    title = f"Sample size ({SOURCE})"
    lo, hi = d["risk_ci"]
    epp = d["events_per_parameter"]
    margin = max(d["risk"] - lo, hi - d["risk"])
    rows = [
        (
            "Candidate parameters",
            f"{d['parameters']} (columns of the Cox design the schema declares: indicators, "
            "splines, interactions; fit counts the design it chooses, more where it bends "
            "every number or fits time pieces)",
        ),
        ("Events per candidate parameter", "n/a" if epp is None else f"{epp:.1f}"),
        ("Anticipated Cox-Snell R²", f"{d['r2_cs']:.3f} ({d['r2_source']})"),
        (
            "Parameters the data support",
            f"{d['max_parameters']} (shrinkage >= {SHRINKAGE:g}: "
            f"{d['max_parameters_shrinkage']}; Nagelkerke R² optimism <= "
            f"{NAGELKERKE_OPTIMISM:g}: {d['max_parameters_optimism']}"
            + ("" if d["precision_met"] else "; overall risk not precise enough")
            + ")",
        ),
        (
            f"Patients needed for {d['parameters']}",
            f"{_fmt_count(d['n_required'])} (i: {_fmt_count(d['n_shrinkage'])}, "
            f"ii: {_fmt_count(d['n_optimism'])}, iii: {_fmt_count(d['n_precision'])}); "
            f"this cohort has {_fmt_count(d['n'])}",
        ),
        (
            f"Overall risk by {d['timepoint']:g} {unit}",
            f"{100 * d['risk']:.1f} % (95 % CI {100 * lo:.1f} % to {100 * hi:.1f} %, "
            f"exponential model; ±{100 * margin:.1f} points, target ±{100 * PRECISION_MARGIN:g})",
        ),
    ]
    width = max(len(a) for a, _ in rows) + 2
    return "\n".join([title, "-" * len(title)] + [f"{a:<{width}}{b}" for a, b in rows])


def _supported_text(s: dict, d: dict) -> str:
    """How many candidate parameters the data support, said as the warning says it.

    Criterion iii is about the cohort, not the design: short of it no design is adequate
    (the assessment's 0), so the number given is what criteria i and ii allow, and the
    shortfall is said beside it rather than as a bare 0."""
    if s["precision_met"]:
        return f"the data support {_parameters(d['supported'])}"
    return (
        f"the data support "
        f"{_parameters(min(s['max_parameters_shrinkage'], s['max_parameters_optimism']))} "
        f"by criteria i and ii, and no design meets criterion iii (the overall risk "
        f"by {d['timepoint']:g} {d.get('unit', 'months')} needs {s['n_precision']:,} patients "
        f"to be estimated to within {PRECISION_MARGIN:g})"
    )


def _aside(d: dict, kept: str) -> str:
    """Where the parameters are spent and how many the penalty kept, as far as known, in
    brackets: " (17 in each of 2 time pieces; 33 kept by the penalty)"."""
    said = [_per_piece(d)] if d.get("time_pieces") else []
    nonzero = d.get("nonzero_coefficients")
    said += [f"{nonzero} {kept}"] if nonzero is not None else []
    return f" ({'; '.join(said)})" if said else ""


def _per_piece(d: dict) -> str:
    """Where a model in time pieces spends its parameters."""
    k = d.get("time_pieces")
    return f"{d['design_columns'] // k} in each of {k} time pieces" if k else ""


def _parameters(k: int) -> str:
    return f"{k} candidate parameter" + ("" if k == 1 else "s")


def sample_size_lines(d: dict) -> list[str]:
    """Lines for ``fit``'s summary (``d``: :func:`fitted_sample_size`)."""
    s, c = d["assessment"], d["conservative"]
    kept = (
        f", {d['nonzero_coefficients']} coefficients not zero"
        if d.get("nonzero_coefficients") is not None
        else ""
    )
    lines = [
        f"sample size ({SOURCE}): "
        + _supported_text(s, d)
        + f" at Cox-Snell R² {s['r2_cs']:.3f} ({s['r2_source']})"
        + (
            f", {c['max_parameters']} at the conservative {c['r2_cs']:.3f}"
            if s["r2_cs"] != c["r2_cs"]
            else ""
        )
        + f"; the Cox design spends {d['design_columns']}"
        + (f" ({_per_piece(d)})" if d.get("time_pieces") else "")
        + kept
    ]
    if d.get("warning"):
        lines.append(f"warning: {d['warning']}")
    return lines


def sample_size_html(d: dict) -> str:
    """A short report section (``d``: :func:`fitted_sample_size`)."""
    s, c = d["assessment"], d["conservative"]

    def row(label, assessed):
        return (
            f"<tr><td>{html.escape(label)}</td><td>{assessed['r2_cs']:.3f}</td>"
            f"<td>{assessed['max_parameters']}</td><td>{assessed['max_parameters_shrinkage']}</td>"
            f"<td>{assessed['max_parameters_optimism']}</td>"
            f"<td>{'yes' if assessed['precision_met'] else 'no'}</td>"
            f"<td>{assessed['n_required']:,}</td></tr>"
        )

    rows = [row(s["r2_source"], s)]
    if s["r2_cs"] != c["r2_cs"]:
        rows.append(row(c["r2_source"], c))
    aside = _aside(d, "coefficients not zero after the penalty")
    parts = [
        "<h2>Sample size</h2>",
        f"<p>Riley's criteria for a time-to-event model ({html.escape(SOURCE)}): expected "
        f"shrinkage at least {SHRINKAGE:g} (i), optimism in Nagelkerke's R² at most "
        f"{NAGELKERKE_OPTIMISM:g} (ii), and the overall risk by {d['timepoint']:g} {d.get('unit', 'months')} "
        f"estimated to within {PRECISION_MARGIN:g} (iii). The Cox design spends "
        f"<b>{d['design_columns']}</b> candidate parameters"
        + html.escape(aside)
        + f"; {s['n']} patients with {s['events']} events "
        f"({s['events'] / max(d['design_columns'], 1):.1f} per candidate parameter).</p>",
        "<table><thead><tr><th>Anticipated Cox-Snell R²</th><th>Value</th>"
        "<th>Parameters supported</th><th>(i)</th><th>(ii)</th><th>(iii) met</th>"
        f"<th>Patients needed for {d['design_columns']}</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>",
    ]
    if d.get("warning"):
        parts.append(f"<p class='warn'>{html.escape(d['warning'])}</p>")
    return "".join(parts)
