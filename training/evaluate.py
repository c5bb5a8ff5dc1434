"""External validation of a bundle on another dataset (same measures as the report)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sksurv.metrics import concordance_index_censored

from model.bundle import Bundle
from model.engine import Engine
from model.families import FAMILIES
from model.predict import survival_at
from model.timeaxis import LANDMARKS, TimeAxis
from training.estimators import survival_target
from training.metrics import (
    calibration,
    calibration_slope,
    performance,
    slope_vs_truth,
    uno_tau,
)
from training.subgroups import calibration_by_input, departing
from training.update import LITTLE_POWER, p_said, revision_tried

__all__ = ["evaluate_bundle", "format_evaluation"]


# bootstrap resamples of the validation data for the 95 % intervals (percentiles)
EVAL_BOOTSTRAP = 200
# the measures given an interval: the discrimination and overall scores of ``performance``
INTERVAL_KEYS = ("harrell_c", "uno_c", "ibs", "ipa")


# simulations of the revision test at most: half of update's, as evaluate only advises
EVAL_REVISION_DRAWS = 99


def evaluate_bundle(
    bundle: Bundle,
    data: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    n_boot: int = EVAL_BOOTSTRAP,
    seed: int = 0,
) -> dict:
    """Score every model of a bundle on validated data with outcomes.

    Each model is scored on the curves it serves (:meth:`model.engine.Engine.curves`, as
    ``predict`` and the page give them): for a patient with an unknown input, the Cox
    model's average over draws of that input. With a simulator truth file (rows aligned
    with ``data``) it also reports the oracle Harrell C (ranking by ``true_risk``) and, at
    each landmark, the mean absolute error of predicted against true survival and how
    often the 95 % band holds the true survival, each over every patient, those with every
    input known (``_complete``) and those with an input unknown (``_unknown``), the band's
    mean width, and the calibration slope against the truth
    (:func:`training.metrics.slope_vs_truth`).

    Each model's Harrell and Uno C, AUCs, IBS, IPA and calibration slopes have a 95 %
    interval (``<key>_ci``, ``calibration[landmark]["slope_ci"]``): percentiles over
    ``n_boot`` resamples of the patients (the same resamples for every model; 0: none),
    the uncertainty of a validation on these patients, which few events make wide.
    """
    schema = bundle.schema
    y = survival_target(data, schema)
    e, t = y.dtype.names
    if y[e].sum() < 2:
        raise ValueError(
            f"external validation needs at least two {schema.words.events} in the data"
        )
    axis = schema.time_axis
    horizons = {m.name: m.months for m in axis.marks}
    tau = uno_tau(y, axis.last_months)
    out = {
        "bundle": bundle.version_id,
        "time_unit": axis.unit,
        "landmarks": list(horizons),
        "default_model": bundle.default_model,
        "n": int(len(y)),
        "deaths": int(y[e].sum()),
        "uno_tau_months": tau,
        f"uno_tau_{axis.unit}": _in_unit(axis, tau),
        # in the data's unit: a landmark at or past it has no AUC or calibration
        "last_time": float(data[schema.time.name].max()),
        "models": {},
    }
    complete = data[schema.feature_names].notna().all(axis=1).to_numpy()
    if truth is not None:
        out["oracle_harrell_c"] = float(
            concordance_index_censored(y[e].astype(bool), y[t], truth["true_risk"].to_numpy())[0]
        )
        out["complete_case_share"] = float(complete.mean())
    engine = Engine(bundle)
    for name in bundle.models:
        curves = engine.curves(data[schema.feature_names], name)
        surv = curves[0]
        res = performance(y, y, surv, bundle.grid, bundle.risk_horizon, tau, horizons)
        window = res["ibs_window"]  # in months, as every time inside; here in the data's unit too
        res[f"ibs_window_{axis.unit}"] = window and [_in_unit(axis, w) for w in window]
        res["calibration"] = {}
        for mark, h in horizons.items():
            cal = calibration(y, surv, bundle.grid, h)
            res["calibration"][mark] = (
                None
                if cal is None
                else {
                    k: cal[k]
                    for k in (
                        "observed",
                        "mean_predicted",
                        "in_the_large",
                        "slope",
                        "slope_se",
                        "grouped_error",
                    )
                }
            )
        res["calibration_by_input"] = calibration_by_input(
            y, surv, bundle.grid, bundle.risk_horizon, data[schema.feature_names], schema
        )
        if truth is not None:
            res.update(_against_truth(curves, bundle.grid, horizons, truth, complete))
        if n_boot:
            args = (bundle.grid, bundle.risk_horizon, tau, horizons)
            _add_intervals(res, y, surv, args, resamples(len(y), n_boot, seed))
        out["models"][name] = res
    out["bootstrap"] = n_boot
    # which update these data would support, should the model be updated here
    test, untested = revision_tried(bundle, data, EVAL_REVISION_DRAWS)
    out["revision_test"] = None if test is None else test.to_dict()
    out["revision_untested"] = untested
    return out


def _in_unit(axis: TimeAxis, months: float) -> float:
    # the grid holds months to 6 decimals: 730 days come back as 730.0000032 without this
    return round(float(axis.from_months(months)), 4)


def resamples(n: int, n_boot: int, seed: int) -> list[np.ndarray]:
    """Row indices of ``n_boot`` resamples of ``n`` patients (seeded: every model gets the
    same ones)."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, n) for _ in range(n_boot)]


def _add_intervals(res: dict, y, surv, args, draws: list[np.ndarray]) -> None:
    """Percentile 95 % intervals of the scores in ``res`` over the resamples ``draws``;
    None where fewer than half the resamples give the measure (a resample with too few
    events past a landmark gives none)."""
    keys = [*INTERVAL_KEYS, *(k for k in res if k.startswith("auc_"))]
    got = pd.DataFrame([_scores(y[idx], surv[idx], args, keys) for idx in draws])

    def interval(key: str):
        values = got[key].dropna().astype(float) if key in got else []
        if len(values) < len(draws) / 2:
            return None
        return [float(v) for v in np.percentile(values, [2.5, 97.5])]

    for k in keys:
        res[f"{k}_ci"] = None if res.get(k) is None else interval(k)
    for mark, cal in res["calibration"].items():
        if cal is not None:
            cal["slope_ci"] = None if cal["slope"] is None else interval(f"slope_{mark}")


def _scores(y, surv, args, keys: list[str]) -> dict:
    """The measures named by ``keys`` and the calibration slopes (``slope_<landmark>``) on
    one resample (none with fewer than two events)."""
    grid, risk_horizon, tau, horizons = args
    if y[y.dtype.names[0]].sum() < 2:
        return {}
    try:
        perf = performance(y, y, surv, grid, risk_horizon, tau, horizons)
        out = {k: perf.get(k) for k in keys}
        for mark, h in horizons.items():
            out[f"slope_{mark}"] = calibration_slope(y, surv, grid, h)
    # a resample of few events can leave no comparable pair or no one at risk at a time:
    # it gives no measure, and an interval needs half the resamples to give one
    except (ValueError, ArithmeticError):
        return {}
    return out


def _against_truth(curves, grid: np.ndarray, horizons: dict, truth: pd.DataFrame, complete):
    """Error and band coverage against the true survival at each landmark: over every
    patient, those with every input known (the model's own error, without what an unknown
    input takes from any predictor) and those with one unknown. None where the curves end
    before the landmark, the truth lacks it, or a group or the band is empty."""
    surv, lower, upper = curves
    banded = bool(np.isfinite(lower).any())
    groups = {"": np.ones(len(complete), bool), "_complete": complete, "_unknown": ~complete}
    res: dict = {}
    for mark, h in horizons.items():
        keys = [f"{k}_{mark}{g}" for k in ("mae_surv", "band_coverage") for g in groups]
        res.update(dict.fromkeys([*keys, f"band_width_{mark}", f"slope_vs_truth_{mark}"]))
        if h > grid[-1] or f"true_surv_{mark}" not in truth:
            continue
        true = truth[f"true_surv_{mark}"].to_numpy(dtype=float)
        s, lo, hi = (survival_at(c, grid, h) for c in (surv, lower, upper))
        err, inside = np.abs(s - true), (lo <= true) & (true <= hi)
        res[f"slope_vs_truth_{mark}"] = slope_vs_truth(s, true)
        for g, rows in groups.items():
            if rows.any():
                res[f"mae_surv_{mark}{g}"] = float(err[rows].mean())
                if banded:
                    res[f"band_coverage_{mark}{g}"] = float(inside[rows].mean())
        if banded:
            res[f"band_width_{mark}"] = float((hi - lo).mean())
    return res


def format_evaluation(r: dict, events: str = "events") -> str:
    """The evaluation as text; ``events``: the schema's word for them ("deaths")."""

    def f(v):
        return "—" if v is None else f"{v:.3f}"

    lines = [f"Bundle {r['bundle']} on {r['n']} patients ({r['deaths']} {events})"]
    if "oracle_harrell_c" in r:
        lines.append(f"Oracle Harrell C (true risk): {r['oracle_harrell_c']:.3f}")
    marks = r.get("landmarks") or [str(t) for t in LANDMARKS]
    short = TimeAxis(r.get("time_unit", "months")).short
    keys = _rows(r, marks)
    names = list(r["models"])
    slopes = [f"Calib. slope {h} {short}" for h in marks]
    w = max(24, *(len(label) + 1 for _, label in keys), *(len(s) + 1 for s in slopes))
    lines.append(
        f"{'':<{w}}"
        + "".join(f"{n + (' *' if n == r['default_model'] else ''):>16}" for n in names)
    )
    models = [r["models"][n] for n in names]
    for k, label in keys:
        lines.append(f"{label:<{w}}" + "".join(f"{f(m.get(k)):>16}" for m in models))
        if any(m.get(f"{k}_ci") for m in models):
            lines.append(_interval_row([m.get(f"{k}_ci") for m in models], w))
    for h, label in zip(marks, slopes, strict=True):
        cal = [m["calibration"].get(h) or {} for m in models]
        lines.append(f"{label:<{w}}" + "".join(f"{f(c.get('slope')):>16}" for c in cal))
        if any(c.get("slope_ci") for c in cal):
            lines.append(_interval_row([c.get("slope_ci") for c in cal], w))
    lines.append("* default model. " + ", ".join(f"{n}: {FAMILIES[n].label}" for n in names))
    lines += _not_estimable(r, marks, models)
    lines += _by_input_lines(r, names)
    lines += _update_advice(r.get("revision_test"))
    lines += [r["revision_untested"]] if r.get("revision_untested") else []
    if r.get("bootstrap"):
        lines.append(
            f"95 % intervals: percentiles over {r['bootstrap']} resamples of the patients."
        )
    return "\n".join(lines)


def _update_advice(test: dict | None) -> list[str]:
    """Which update the data support, from the score tests of revision against
    recalibration (:mod:`training.revision`)."""
    if not test or not test["by_factor"]:
        return []
    top = test["by_factor"][0]
    said = (
        f"{top['label']} differs most, {p_said(top['p_value'], test.get('p_floor'))} adjusted "
        f"for the {test.get('factors_tested', len(test['by_factor']))} factors tested"
    )
    if test["p_value"] < test["alpha"]:
        return [
            "If the Cox model is updated here: on these data its hazard ratios stand in other "
            f"proportions than it says ({said}): this centre differs, or its estimates were "
            "off by more than its bootstrap refits vary. Recalibration would keep them; compare "
            "`update --method refit`."
        ]
    return [
        "If the Cox model is updated here: these data give no evidence that its hazard "
        f"ratios stand in other proportions ({said}; {LITTLE_POWER}); "
        "`update --method recalibrate` keeps them and re-estimates the calibration "
        "slope and baseline."
    ]


def _by_input_lines(r: dict, names: list[str]) -> list[str]:
    """Per model, the groups of an input whose predicted survival departs from what happened
    to them (:mod:`training.subgroups`)."""
    axis = TimeAxis(r.get("time_unit", "months"))
    out = []
    for n in names:
        res = r["models"][n].get("calibration_by_input")
        if not res:
            continue
        head = f"Calibration within the groups of each input at {axis.said(res['horizon'])}, {n}: "
        groups = departing(res)
        tests = res["tests"]
        if not tests:
            out.append(head + "no group has an event by then to test.")
            continue
        if not groups:
            out.append(
                head + f"none of the {tests} {'group' if tests == 1 else 'groups'} departs "
                "beyond what chance allows."
            )
            continue
        depart = "group departs" if len(groups) == 1 else "groups depart"
        out.append(
            head + f"{len(groups)} of {tests} {depart} (predicted mean outside the "
            "Kaplan-Meier interval widened for the number of groups):"
        )
        out += [
            f"  {g['label']}: {g['group']} ({g['n']} patients): predicted {g['predicted']:.3f}, "
            f"observed {g['observed']:.3f} ({g['lower']:.3f}-{g['upper']:.3f})"
            for g in groups
        ]
    return out


def _not_estimable(r: dict, marks: list[str], models: list[dict]) -> list[str]:
    """Why a landmark's AUC or calibration is blank: no patient is followed past it (the
    AUC at t needs patients still event-free after t), or too few events by then."""
    blank = [
        t
        for t in marks
        if all(m.get(f"auc_{t}") is None and not m["calibration"].get(t) for m in models)
    ]
    if not blank:
        return []
    axis = TimeAxis(r.get("time_unit", "months"))
    last = r.get("last_time")
    ended = [t for t in blank if last is not None and float(t) >= last]
    out = []
    if ended:
        out.append(
            f"— at {', '.join(axis.text(float(t)) for t in ended)}: not estimable: these data "
            f"end at {axis.text(last)}, and the AUC and calibration at a time need patients "
            "followed past it."
        )
    if rest := [t for t in blank if t not in ended]:
        out.append(
            f"— at {', '.join(axis.text(float(t)) for t in rest)}: not estimable: too few "
            "patients followed past it, or too few events by then."
        )
    return out


def _interval_row(cis: list, w: int) -> str:
    cells = ("—" if ci is None else f"{ci[0]:.2f} to {ci[1]:.2f}" for ci in cis)
    return f"{'  95 % interval':<{w}}" + "".join(f"{c:>16}" for c in cells)


def _rows(r: dict, marks: list[str]) -> list[tuple[str, str]]:
    """(key, label) of the table's rows before the calibration slopes."""
    axis = TimeAxis(r.get("time_unit", "months"))
    short = axis.short
    keys = [
        ("harrell_c", "Harrell C"),
        ("uno_c", f"Uno C (tau {axis.said(r['uno_tau_months'])})"),
        *((f"auc_{t}", f"AUC {t} {short}") for t in marks),
        ("ibs", "Integrated Brier"),
        ("ibs_null", "  Kaplan-Meier IBS"),
        ("ipa", "IPA"),
    ]
    if "oracle_harrell_c" in r:
        mid = marks[len(marks) // 2]
        # the middle landmark's split under its own row, named (under the last row it read
        # as that landmark's)
        for name, label in (
            ("mae_surv", "MAE S({t}) vs truth"),
            ("band_coverage", "Band holds S({t})"),
        ):
            for t in marks:
                keys.append((f"{name}_{t}", label.format(t=t)))
                if t == mid:
                    keys.append((f"{name}_{t}_complete", f"  S({t}), complete inputs"))
                    keys.append((f"{name}_{t}_unknown", f"  S({t}), an input unknown"))
        keys += [(f"band_width_{mid}", f"Band width at {mid} {short}")]
        keys += [(f"slope_vs_truth_{t}", f"Slope vs true S({t})") for t in marks]
    return keys
