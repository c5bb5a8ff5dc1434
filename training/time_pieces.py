"""Do the Cox model's hazard ratios hold at every time? Its design fitted in time pieces,
the number of pieces chosen by cross-validated partial likelihood.

A Cox model assumes proportional hazards: a factor that doubles the hazard in the
first months doubles it years later. Where an effect fades (a complication that kills early
or not at all) or grows, its curves are averages over time, off early and late for every
patient alike. Where the check below chooses more than one piece (and a factor's own test or
a large gain confirms them, below), ``fit`` serves the model in those pieces
(:class:`model.piecewise.PiecewiseCox`, same design and penalty, the cuts in the manifest's
``time_cuts_months``). The check refits the tuned design, at its penalty, in K
pieces cut at quantiles of the death times (:func:`training.band.time_pieces_at`: each
piece's Cox model on the patients alive at its start), K from one up to the band stand-in's
number, each holding an equal share of the deaths, and two pieces cut off the median as
well (:data:`TWO_PIECE_QUANTILES`: a change early or late falls between equal pieces'
cuts); it scores each by the partial likelihood of held-out patients (Verweij & van
Houwelingen 1993: the full fold's partial log-likelihood minus the training part's, at the
training part's coefficients; a model whose coefficients change between pieces has the sum
of its pieces' as its own). More pieces are kept only where they beat fewer by more than
the standard error of the folds' paired differences, corrected for overlapping training sets
as for a design nobody declared (:func:`training.tuning._choose_terms`): the pieces'
freedom is not vouched for by the schema. Of the cuts into the same number of pieces that
pass, the best total is kept (:func:`choose_plan`).

Beside it, each factor's own test (Grambsch & Therneau 1994, scaled Schoenfeld residuals
against the rank of time, lifelines' ``proportional_hazard_test``) on a Cox model of main
effects. The two answer different questions: the test asks whether a hazard ratio changes at
all, and has power for one factor's change where the pieces, which free every coefficient at
once, do not predict better (the Veterans' trial in data/public/, 128 deaths: the Karnofsky
score's test gives p = 0.0002, the pieces score 0.6 below one piece). The warning is the
pieces' (a change large enough to matter for the curves); a factor whose test passes the
Bonferroni threshold is named in a note. Pieces that score better are served where a
factor's test confirms a change or their gain is large (:func:`_confirmed`,
:data:`UNCONFIRMED_GAIN`): the pieces' choice is the best of up to 21 candidates (pieces
fitted apart, two cut off the median, fused at six strengths) scored on the same folds, and a small gain can be chance.

Measured (benchmarks/time_pieces.py, three draws each): where hazard ratios change after
12 months (the nonph world) two pieces in every draw from n = 500 (290-1,120 deaths), cut at
11.2-12.4 months, with gains of 17 to 106 log-likelihood units over one piece; one piece in
every draw from n = 500 of the milan, linear and independent worlds and of the GBSG2 and
WHAS500 cohorts (GBSG2's hazards change gradually). With 38-72 deaths (n = 110) the
best-scoring number was two pieces in one draw of three in four worlds, by 1.3-3.8 units,
three of them with proportional hazards: the standard-error rule keeps all but one of those
from a warning, and below :data:`DEATHS_PER_PIECE` deaths a piece the check is not made.
"""

from __future__ import annotations

import html
from fractions import Fraction
from functools import partial

import numpy as np
import pandas as pd

from model.fused_pieces import FusedPiecewiseCox, fit_fused, fusion_max, one_piece
from model.piecewise import alive_in_piece, heavier_until_fitted
from model.schema import Schema
from training.band import quantile_cuts, stand_in_pieces, time_pieces_at
from training.effects import contrast_frames
from training.estimators import coxnet_step, fit_quietly
from training.samplesize import cox_partial_loglik
from training.tuning import make_folds

__all__ = [
    "candidate_plans",
    "choose_fused",
    "choose_plan",
    "equal_plans",
    "fused_logliks",
    "hazards_over_time",
    "hazards_over_time_html",
    "hazards_over_time_lines",
    "plan_logliks",
    "schoenfeld_tests",
]

# the test's Cox fit and the pieces' scores on more patients than this use a seeded sample
MAX_TEST_ROWS = 20_000
TEST_LEVEL = 0.05  # family-wise, Bonferroni over the design's columns
# A column is named only where this many deaths tell its values apart (the deaths whose
# value is not the deaths' commonest): the test's chi-square rests on the residuals of those
# deaths, and an indicator of 12 patients was flagged at p = 0.002 in a world where its
# hazard ratio is constant (110 patients; an independent check's own simulator)
MIN_TEST_DEATHS = 10

# At 38-72 deaths (n = 110 in benchmarks/time_pieces.py) single draws chose two pieces by
# 1.3-3.8 units where hazards are proportional (one of them past the standard-error rule);
# from 205 deaths the choice was right in every draw. A piece needs this many deaths.
DEATHS_PER_PIECE = 50
# Fused pieces: the deviations' penalty as a share of the lightest that keeps every one at
# zero (model.fused_pieces.fusion_max), tried heaviest first: from where the changes the data
# ask for most start to enter, each twice as light. Relative to that start, not to the
# model's penalty: a design served at a light penalty (every numeric input bent, 2,000
# patients) left every deviation at zero only above 95 times it, so a grid of 32 down to 1
# times the penalty freed dozens of changes at once and never tried one alone.
FUSION_SHARES = (1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64)
# A heavy fusion leaves pieces all but equal to the pieces chosen, and folds that agree on a
# gain of nothing pass any standard-error rule: fused pieces must also gain this much
# held-out log-likelihood in all (a likelihood ratio of e).
MIN_FUSED_GAIN = 1.0
# Fused pieces are scored in two and three pieces only: six cost as much as two and three
# together (2,000 patients, 36 features: 1.6, 2.1 and 4.5 s a fold), and where one effect
# fades four to six never scored best (the fading world at n = 2,000 and SAE fading at 500
# and 1,000 patients, four draws: two pieces best in each).
MOST_FUSED_PIECES = 3
# Two pieces are also cut at these quantiles of the death times, off the median that two
# equal pieces are cut at: a change in hazard ratios early (perioperative) or late falls
# between equal pieces' cuts. In the nonph world with its change moved from 12 months to 4
# (the deaths' 18th percentile in a nonph cohort of 2,000, seed 1) or 30 (the 84th), two
# pieces at the median scored below one piece (at 4 months, every draw) or at most 8 units
# above it (at 30); at 2,000 patients two cut at the 1/6 or 5/6 quantile scored 50-62 and
# 29-48 units above it, and the error of S(12/36/60) served fell from 0.028/0.028/0.032 to
# 0.022/0.026/0.026 (change at 4) and from 0.023/0.026/0.041 to 0.021/0.024/0.027 (at 30;
# benchmarks/time_pieces.py, two draws). In 8 other worlds (96 draws at 400-500 patients,
# 16 at 2,000) no draw's pieces or cuts changed.
# A cut is tried only where both pieces hold DEATHS_PER_PIECE deaths. Not at 1/3 or 2/3: three
# equal pieces are cut there already (apart and fused), and next to the median the folds'
# noise chooses between near-equal cuts: with them, one nonph draw of 500 was cut at 7.3
# months instead of 12.3, 8 units better held out, and in benchmarks/accuracy.py its cell's
# error of S(36) (every input known) rose from 0.046 to 0.048 and its calibration slope from
# 1.12 to 1.16 (results/accuracy_two_cuts_with_thirds.json).
TWO_PIECE_QUANTILES = (1 / 6, 1 / 4, 3 / 4, 5 / 6)
# Pieces no factor's own test confirms are served only past this held-out gain over one piece
# (a likelihood ratio of 20): their choice is the best of up to 21 candidates on the same
# folds. In benchmarks/time_pieces.py (8 worlds x 400 and 500 patients, 6 draws each; error
# of S(t) with every input known, mean over the landmarks) pieces without a flagged factor
# were chosen by 1.1-2.8 units in 7 draws of proportional-hazards worlds, moving the error by
# -0.002 to +0.002, and by 3.5-18.4 units in 5 draws where hazard ratios change: by 0.005-0.019
# lower in fading and nonph, under 0.001 either way in GBSG2 (a gradual change). Pieces a
# test confirmed lowered it in 14 of 16 draws. With two pieces also cut off the median (17
# candidates became up to 21) the same draws chose the same pieces by the same gains.
UNCONFIRMED_GAIN = 3.0


def _fit_piece_coef(make_step, alpha, Zn, y) -> np.ndarray:
    """A piece's coefficients (the band's heavier-penalty retries); none where even the
    heaviest fails, so that the piece scores as a flat model."""
    try:
        return heavier_until_fitted(lambda a: fit_quietly(make_step(a), Zn, y).coef_[:, 0], alpha)
    except ArithmeticError:
        return np.zeros(Zn.shape[1])


def _held_out_loglik(make_step, alpha, Zn, y, train: np.ndarray, plan: tuple) -> float:
    """Held-out partial log-likelihood of the pieces fitted on ``train`` (a mask): the full
    data's minus the training part's at the training coefficients, summed over pieces.

    Scored as :class:`~model.piecewise.PiecewiseCox` would serve them, from what the
    training part knows: cut at its death times' quantiles ``plan``, each piece's penalty
    scaled to its deaths per patient."""
    e = y.dtype.names[0]
    edges = [0.0, *quantile_cuts(y[train], plan), np.inf]
    rate = y[e][train].mean()
    coefs = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        alive, piece = alive_in_piece(y, a, b)
        fit = train[alive]
        if not piece[e][fit].any():
            coefs.append(None)  # no training death in the piece: nothing it can be judged on
            continue
        per_death = piece[e][fit].mean() / rate
        coefs.append(_fit_piece_coef(make_step, alpha * per_death, Zn[alive & train], piece[fit]))
    return _scored(Zn, y, train, edges, coefs)


def _scored(Zn, y: np.ndarray, train: np.ndarray, edges, coefs) -> float:
    """Verweij & van Houwelingen's held-out partial log-likelihood of pieces between
    ``edges`` with coefficients ``coefs`` (None: a piece left out), summed over pieces."""
    e, t = y.dtype.names
    total = 0.0
    for a, b, coef in zip(edges[:-1], edges[1:], coefs, strict=True):
        if coef is None:
            continue
        alive, piece = alive_in_piece(y, a, b)
        fit = train[alive]
        lp = Zn[alive] @ coef
        total += cox_partial_loglik(lp, piece[e], piece[t]) - cox_partial_loglik(
            lp[fit], piece[e][fit], piece[t][fit]
        )
    return total


def fused_logliks(Z, y: np.ndarray, alpha: float, l1_ratio: float, plans, folds) -> np.ndarray:
    """Held-out partial log-likelihood of fused time pieces (:mod:`model.fused_pieces`),
    folds x ``plans`` (each its cuts' quantiles of the death times) x :data:`FUSION_SHARES`;
    NaN where a fit ran off. Each fold's cuts are its training deaths' quantiles and its
    fusions shares of its own :func:`~model.fused_pieces.fusion_max`, fitted heaviest first,
    each from the one before."""
    Zn = np.asarray(Z, dtype=float)
    out = np.full((len(folds), len(plans), len(FUSION_SHARES)), np.nan)
    with np.errstate(all="ignore"):
        for f, (tr, _) in enumerate(folds):
            train = np.isin(np.arange(len(y)), tr)
            try:  # the path's start for every number of pieces begins at one fit
                base = one_piece(Zn[train], y[train], alpha, l1_ratio)
            except ArithmeticError:
                continue
            for i, plan in enumerate(plans):
                edges = [0.0, *quantile_cuts(y[train], plan), np.inf]
                try:
                    top = fusion_max(Zn[train], y[train], edges[1:-1], alpha, l1_ratio, base)
                except ArithmeticError:
                    continue
                start = None
                for j, share in enumerate(FUSION_SHARES):
                    try:
                        coefs, start = fit_fused(
                            Zn[train], y[train], edges[1:-1], alpha, l1_ratio, top * share, start
                        )
                    except ArithmeticError:
                        start = None
                        continue
                    ll = _scored(Zn, y, train, edges, list(coefs))
                    out[f, i, j] = ll if np.isfinite(ll) else np.nan
    return out


def choose_fused(fused: np.ndarray, chosen: np.ndarray, test_share: float):
    """The fused pieces (their plan's index, the fusion's share) with the best held-out total among
    those that beat the pieces already chosen (``chosen``: its folds' log-likelihoods) by more
    than the corrected standard error of the paired differences and by
    :data:`MIN_FUSED_GAIN` in all; else None.

    Among those that pass, not the best alone: neighbouring fusions score close together,
    and a lighter one's folds disagree more (benchmarks/time_pieces.py, the nonph world at 400
    patients: two pieces at an eighth of the path's start +11.9 units with a mean of 2.38 a
    fold against a standard error of 2.52, at a quarter +10.9 with 2.18 against 1.53)."""
    if fused.size == 0 or len(chosen) < 2:
        return None
    complete = np.isfinite(fused).all(axis=0) & np.isfinite(chosen).all()
    totals = np.where(complete, fused.sum(axis=0), -np.inf)
    for flat in np.argsort(-totals, axis=None, kind="stable"):
        k, j = np.unravel_index(int(flat), totals.shape)
        if not complete[k, j]:
            break
        diff = fused[:, k, j] - chosen
        se = np.sqrt(diff.var(ddof=1) * (1 / len(diff) + test_share))
        if diff.mean() > se and diff.sum() > MIN_FUSED_GAIN:
            return int(k), FUSION_SHARES[j]
    return None


def equal_plans(most: int) -> list[tuple]:
    """1 to ``most`` pieces holding equal shares of the deaths, each as its cuts' quantiles."""
    return [tuple(float(q) for q in np.arange(1, k) / k) for k in range(1, most + 1)]


def candidate_plans(deaths: int, most: int) -> list[tuple]:
    """The pieces the check scores, each as its cuts' quantiles of the death times: 1 to
    ``most`` equal pieces, then two pieces cut at each of :data:`TWO_PIECE_QUANTILES` where
    both hold :data:`DEATHS_PER_PIECE` deaths."""
    if most < 2:
        return equal_plans(most)
    # rounded: a sixth of 300 deaths is 50, not 49.999...
    off = [
        (q,) for q in TWO_PIECE_QUANTILES if round(min(q, 1 - q) * deaths, 9) >= DEATHS_PER_PIECE
    ]
    return equal_plans(most) + off


def plan_logliks(Z, y: np.ndarray, make_step, alpha: float, plans, folds) -> np.ndarray:
    """Held-out partial log-likelihood (folds x ``plans``: each its cuts' quantiles of the
    death times); NaN where a fit ran off to infinity. ``folds``: (train, test) index pairs."""
    Zn = np.asarray(Z, dtype=float)
    trains = [np.isin(np.arange(len(y)), tr) for tr, _ in folds]
    out = np.full((len(trains), len(plans)), np.nan)
    with np.errstate(all="ignore"):
        for i, plan in enumerate(plans):
            for f, tr in enumerate(trains):
                ll = _held_out_loglik(make_step, alpha, Zn, y, tr, plan)
                out[f, i] = ll if np.isfinite(ll) else np.nan
    return out


def choose_plan(ll: np.ndarray, plans, test_share: float) -> int:
    """The index of the plan chosen, fewest pieces first: at each number of pieces, of the
    plans that beat the one chosen so far by more than the corrected standard error of their
    paired fold differences, the best total (``ll``: :func:`plan_logliks`; ``test_share``: a
    fold's test patients over its training patients, Nadeau & Bengio 2003)."""
    chosen = 0
    for pieces in sorted({len(p) for p in plans} - {len(plans[0])}):
        passing = []
        for i, plan in enumerate(plans):
            diff = ll[:, i] - ll[:, chosen]
            if len(plan) != pieces or not np.isfinite(diff).all() or len(diff) < 2:
                continue
            se = np.sqrt(diff.var(ddof=1) * (1 / len(diff) + test_share))
            if diff.mean() > se:
                passing.append(i)
        if passing:
            chosen = max(passing, key=lambda i: ll[:, i].sum())
    return chosen


def _check_sample(Z: pd.DataFrame, y: np.ndarray, folds):
    """The patients the pieces are scored on: all, or above :data:`MAX_TEST_ROWS` a seeded
    sample of that many with folds of its own (the check's cost stops growing there)."""
    if len(y) <= MAX_TEST_ROWS:
        return Z, y, folds
    keep = np.sort(np.random.default_rng(0).choice(len(y), MAX_TEST_ROWS, replace=False))
    return Z.iloc[keep], y[keep], make_folds(y[keep], len(folds), seed=0)


def schoenfeld_tests(imputed: pd.DataFrame, y: np.ndarray, schema: Schema, seed: int = 0) -> dict:
    """Each column's Grambsch-Therneau test of a main-effects Cox model on ``imputed`` (the
    bundle's encoded and imputed rows, standardised here; lifelines with a 1e-4 ridge for
    collinear indicators), time as its rank. ``flagged``: the columns past the Bonferroni
    threshold with :data:`MIN_TEST_DEATHS` deaths off the deaths' commonest value."""
    import warnings

    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError
    from lifelines.statistics import proportional_hazard_test

    Z = (imputed - imputed.mean()) / imputed.std(ddof=0).replace(0.0, 1.0)
    e, t = y.dtype.names
    df = Z.assign(_time=y[t], _event=y[e].astype(int))
    if len(df) > MAX_TEST_ROWS:
        df = df.sample(MAX_TEST_ROWS, random_state=seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph = CoxPHFitter(penalizer=1e-4).fit(df, "_time", "_event")
            table = proportional_hazard_test(cph, df, time_transform="rank").summary
    except (ConvergenceError, ValueError, np.linalg.LinAlgError) as exc:
        return {"tests": [], "flagged": [], "failed": str(exc).splitlines()[0]}
    dead = df["_event"].to_numpy() == 1
    tests = [
        {
            "column": str(col),
            "label": schema.encoded_label(str(col)),
            "statistic": float(row["test_statistic"]),
            "p": float(row["p"]),
            "deaths": _deaths_apart(df.loc[dead, col]),
        }
        for col, row in table.reindex(Z.columns).iterrows()  # the schema's order
        if np.isfinite(row["p"])  # a column the fit dropped (constant) has no test
    ]
    level = TEST_LEVEL / max(len(tests), 1)
    flagged = [
        x["label"]
        for x in sorted(tests, key=lambda x: x["p"])
        if x["p"] < level and x["deaths"] >= MIN_TEST_DEATHS
    ]
    return {"tests": tests, "flagged": flagged, "level": level, "rows": int(len(df))}


def _deaths_apart(values: pd.Series) -> int:
    """The deaths whose value is not the deaths' commonest: for an indicator, the deaths of
    the smaller group by deaths, however many patients each group holds."""
    return int(len(values) - values.value_counts().iloc[0]) if len(values) else 0


def _served_fusion(fusion, Z, y: np.ndarray, alpha: float, l1_ratio: float) -> float | None:
    """The chosen share (``fusion``: plan, share) of the whole training set's own path start,
    as each fold took of its own; None where nothing was chosen or that start cannot be
    found."""
    if fusion is None:
        return None
    try:
        return fusion[1] * fusion_max(Z, y, quantile_cuts(y, fusion[0]), alpha, l1_ratio)
    except ArithmeticError:
        return None


def _contrast_design(final, schema: Schema, reference: dict, contrasts: list[dict]) -> np.ndarray:
    """Each contrast's difference in the Cox step's features (rows x features), so that a
    piece's log hazard ratio is this times its coefficients."""
    hi, lo = contrast_frames(reference, schema, contrasts)
    pre = final[:-1]
    return pre.transform(hi).to_numpy(dtype=float) - pre.transform(lo).to_numpy(dtype=float)


def hazards_over_time(
    final,
    X: pd.DataFrame,
    y: np.ndarray,
    schema: Schema,
    l1_ratio: float,
    folds,
    grid: np.ndarray,
    reference: dict,
    contrasts: list[dict],
) -> dict:
    """The check for a fitted Cox pipeline (encode ... coxnet at one penalty): the pieces the
    data choose, their cuts (months and quantiles of the death times), the held-out
    log-likelihood of each candidate (equal pieces, two cut off the median, fused), and with
    more than one piece each contrast's hazard ratio in every piece beside the served
    model's."""
    deaths = int(y[y.dtype.names[0]].sum())
    most = min(stand_in_pieces(deaths), deaths // DEATHS_PER_PIECE)
    tests = schoenfeld_tests(final[:2].transform(X), y, schema)
    if most < 2:
        return {
            "pieces": 1, "checked": False, "deaths": deaths, "most_pieces": most,
            "schoenfeld": tests,
        }  # fmt: skip
    alpha = float(final[-1].alphas_[0])
    step = partial(coxnet_step, schema, l1_ratio)
    Z = final[:-1].transform(X)
    Zc, yc, fc = _check_sample(Z, y, folds)
    plans = candidate_plans(deaths, most)
    ll = plan_logliks(Zc, yc, step, alpha, plans, fc)
    test_share = 1 / max(len(folds) - 1, 1)
    chosen = choose_plan(ll, plans, test_share)
    fused_plans = _fused_plans(plans, chosen, most)
    fused = fused_logliks(Zc, yc, alpha, l1_ratio, fused_plans, fc)
    fusion = choose_fused(fused, ll[:, chosen], test_share)
    if fusion is not None:
        fusion = (fused_plans[fusion[0]], fusion[1])
    total = np.nansum(ll, axis=0)
    plan, gain = plans[chosen], float(total[chosen] - total[0])
    weight = _served_fusion(fusion, Z, y, alpha, l1_ratio)
    if weight is None:
        fusion = None  # the whole training set's path could not be started: as not chosen
    else:
        plan = fusion[0]
        i, j = fused_plans.index(plan), FUSION_SHARES.index(fusion[1])
        gain = float(np.nansum(fused[:, i, j] - ll[:, 0]))
    unconfirmed = None
    if plan and not _confirmed(tests, gain):
        unconfirmed = {
            "pieces": len(plan) + 1, "fusion": weight, "gain_over_one_piece": gain,
            "cuts_months": _months(y, plan),
        }  # fmt: skip
        plan, fusion, weight, gain = (), None, None, 0.0
    out = {
        "pieces": len(plan) + 1,
        "checked": True,
        "deaths": deaths,
        "most_pieces": most,
        "cuts_months": _months(y, plan),
        "cut_quantiles": list(plan),  # of the death times
        **_scores(plans, ll, total, fused_plans, fused, most),
        "fusion": weight,  # the deviations' penalty over the model's
        "fusion_share": None if fusion is None else fusion[1],
        "pieces_apart": len(plans[chosen]) + 1,  # what the pieces fitted apart chose
        "apart_cuts_months": _months(y, plans[chosen]),
        "gain_over_one_piece": gain,
        "folds": len(folds),
        "rows": int(len(yc)),
        "schoenfeld": tests,
    }
    if unconfirmed:
        out["unconfirmed"] = unconfirmed
    if plan:
        cuts = tuple(quantile_cuts(y, plan))
        if fusion is None:
            coefs = time_pieces_at(Z, y, grid, step, alpha, cuts).coefs
        else:
            coefs = FusedPiecewiseCox(step(alpha), cuts, fusion=weight).fit(Z, y).coefs_
        out["hazard_ratios"] = _ratios_by_piece(final, schema, reference, contrasts, coefs)
    return out


def _months(y: np.ndarray, plan: tuple) -> list[float]:
    return [round(c, 3) for c in quantile_cuts(y, plan)]


def _fused_plans(plans: list[tuple], chosen: int, most: int) -> list[tuple]:
    """The plans fused pieces are scored in: two pieces cut where the pieces apart chose two,
    else at the median death time (the best-scoring cut of pieces apart that no standard error
    vouches for is noise: in a world whose one effect fades at 12 months it was the 2/3
    quantile, 20 months); then equal pieces up to :data:`MOST_FUSED_PIECES`."""
    if most < 2:
        return []
    two = plans[chosen] if len(plans[chosen]) == 1 else equal_plans(2)[1]
    return [two, *equal_plans(min(most, MOST_FUSED_PIECES))[2:]]


def _scores(plans, ll: np.ndarray, total, fused_plans, fused: np.ndarray, most: int) -> dict:
    """The candidates' held-out scores as the report keeps them (``total``: ``ll`` summed
    over the folds)."""
    return {
        "heldout_loglik": {str(j + 1): float(total[j]) for j in range(most)},  # equal pieces
        "two_piece_heldout_loglik": {  # by the cut's quantile of the death times
            f"{p[0]:.3g}": float(total[i]) for i, p in enumerate(plans) if len(p) == 1
        },
        "fused_heldout_loglik": {  # by the fusion's share of where the fused path starts
            str(len(p) + 1): {
                f"{c:g}": _finite(fused[:, j, i]) for i, c in enumerate(FUSION_SHARES)
            }
            for j, p in enumerate(fused_plans)
        },
        "fused_cut_quantiles": {str(len(p) + 1): list(p) for p in fused_plans},
        "fold_logliks": {  # folds x candidates: equal pieces, two cut off the median, fused
            "apart": _listed(ll[:, :most]),
            "two_pieces": _listed(ll[:, most:]),
            "fused": _listed(fused),
        },
    }


def _ratios_by_piece(final, schema: Schema, reference: dict, contrasts, coefs) -> list[dict]:
    """Each contrast's hazard ratio in every piece beside the one-piece model's."""
    D = _contrast_design(final, schema, reference, contrasts)
    one = D @ final[-1].coef_[:, 0]
    by_piece = np.column_stack([D @ c for c in coefs])
    return [
        {
            "feature": c["feature"],
            "contrast": c["label"],
            # what it compares, so that a reader's language can word it
            "value": c["value"],
            "reference": c["reference"],
            # the one-piece model's, served or not (reports before this key: hr_served)
            "hr_one_piece": float(np.exp(one[j])),
            "hr_by_piece": [float(v) for v in np.exp(by_piece[j])],
        }
        for j, c in enumerate(contrasts)
    ]


def _confirmed(tests: dict, gain: float) -> bool:
    """Whether pieces that scored better are served: a factor's own test shows a hazard ratio
    that changes, or they gain :data:`UNCONFIRMED_GAIN` at least (or no test could be made,
    and their scores stand alone)."""
    return bool(tests.get("flagged")) or not tests.get("tests") or gain >= UNCONFIRMED_GAIN


def _listed(a: np.ndarray) -> list:
    """An array as JSON holds it: NaN (a fit that ran off) as null."""
    return np.where(np.isfinite(a), a, None).tolist()


def _finite(folds: np.ndarray) -> float | None:
    """A candidate's total over the folds; None (JSON's null) where a fold's fit ran off."""
    return float(folds.sum()) if np.isfinite(folds).all() else None


def _spans(check: dict, schema: Schema) -> list[str]:
    said = schema.time_axis.said
    edges = check["cuts_months"]
    if not edges:
        return []
    spans = [f"up to {said(edges[0])}"]
    spans += [f"{said(a)} to {said(b)}" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return spans + [f"after {said(edges[-1])}"]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _unchecked(check: dict, schema: Schema) -> str:
    return (
        f"proportional hazards: not checked; {check['deaths']} {schema.words.events} are too "
        f"few to tell a change in hazard ratios over time from chance (the check needs "
        f"{2 * DEATHS_PER_PIECE}, {DEATHS_PER_PIECE} a time piece)"
    )


def _own_ratios(check: dict) -> str:
    if not check.get("fusion"):
        return "each with its own hazard ratios"
    return (
        f"each factor's change between them penalised {check['fusion']:.3g} times as much as an "
        "effect (a penalty chosen on held-out patients), so that a factor whose effect holds "
        "keeps one hazard ratio"
    )


def _flagged_said(check: dict) -> str:
    """The factors whose own test shows a change, where any does."""
    flagged = (check.get("schoenfeld") or {}).get("flagged") or []
    return f", and the factors' own tests flag {', '.join(flagged)}" if flagged else ""


def _warning(check: dict, schema: Schema) -> str | None:
    if check["pieces"] == 1:
        return None
    spans = _spans(check, schema)
    if check.get("served"):
        return (
            f"the data show hazard ratios that change over time, so the Cox model is served in "
            f"{check['pieces']} time pieces ({'; '.join(spans)}), {_own_ratios(check)}: they "
            f"score {check['gain_over_one_piece']:.1f} units of held-out partial "
            f"log-likelihood above one piece{_flagged_said(check)}. The report gives each "
            "factor's hazard ratio by piece; the page's contributions are the piece that holds "
            "the risk horizon."
        )
    asked = " (as asked: --proportional-hazards)" if check.get("one_piece_requested") else ""
    return (
        f"the data show hazard ratios that change over time: the Cox model in "
        f"{check['pieces']} time pieces ({'; '.join(spans)}), {_own_ratios(check)}, scores "
        f"{check['gain_over_one_piece']:.1f} units of held-out partial log-likelihood above "
        f"one piece. The Cox model served assumes they do not{asked}, so its curves average "
        "the pieces' effects over time: read the report's hazard ratios by time piece before "
        "trusting its early or late curves for patients whose factors change most."
    )


def hazards_over_time_lines(check: dict, schema: Schema) -> list[str]:
    """Lines for ``fit``'s summary: the result, and a warning where hazards change."""
    note = _note(check, schema)
    if not check.get("checked", True):
        return [_unchecked(check, schema)] + ([note] if note else [])
    pieces = check["pieces"]
    line = (
        f"proportional hazards (cross-validated partial likelihood, 1 to {check['most_pieces']} "
        f"time pieces{_off_median_tried(check, schema)}): {pieces} piece{'s' if pieces > 1 else ''} "
        f"chosen{_fusion_chosen(check)}"
        + ("; one piece served" if pieces > 1 and not check.get("served") else "")
    )
    warning = _warning(check, schema)
    said = "note" if check.get("served") else "warning"
    unconfirmed = _unconfirmed(check)
    return (
        [line]
        + ([f"{said}: {warning}"] if warning else [])
        + ([f"note: {unconfirmed}"] if unconfirmed else [])
        + ([note] if note else [])
    )


def _unconfirmed(check: dict) -> str | None:
    """Why pieces that scored better are not served: a gain under :data:`UNCONFIRMED_GAIN`,
    and no factor's own test flags a change."""
    u = check.get("unconfirmed")
    if not u:
        return None
    kind = f"fused time pieces (fusion {u['fusion']:.3g})" if u.get("fusion") else "time pieces"
    return (
        f"{u['pieces']} {kind} scored {u['gain_over_one_piece']:.1f} units of held-out partial "
        f"log-likelihood above one piece, under {UNCONFIRMED_GAIN:g}, and no factor's own test "
        f"(Grambsch-Therneau, Bonferroni {TEST_LEVEL:g}) flags a hazard ratio that changes, so "
        "one piece is served: the best of several candidates scored on the same folds can beat "
        "one piece by that much by chance"
    )


def _note(check: dict, schema: Schema) -> str | None:
    """The factors whose own test shows a change (Bonferroni), where the pieces did not warn."""
    tests = check.get("schoenfeld") or {}
    flagged = tests.get("flagged") or []
    if not flagged or check.get("pieces", 1) > 1:
        return None
    p = {x["label"]: x["p"] for x in tests["tests"]}
    named = ", ".join(f"{f} (p = {p[f]:.2g})" for f in flagged)
    # a change can be real and still too small, or too short-lived, to predict better
    why = (
        "time pieces (every factor's effect refitted in each piece, or fused towards one) did "
        "not predict held-out patients better by more than the folds' standard error"
        if check.get("checked", True)
        else f"too few {schema.words.events} to fit time pieces"
    )
    effect, sets = ("its effect", "it sets") if len(flagged) == 1 else ("their effects", "they set")
    return (
        f"note: the hazard ratio changes over time for {named} (Grambsch-Therneau test, "
        f"Bonferroni {TEST_LEVEL:g} over {len(tests['tests'])} columns); {why}, so the curves "
        f"average {effect} over time and can be off early and late for patients {sets} apart"
    )


def _fused_html(check: dict, schema: Schema) -> str:
    """The fused pieces' scores, best fusion for each number of pieces."""
    fused = check.get("fused_heldout_loglik") or {}
    best = {
        k: max(((v, c) for c, v in by.items() if v is not None), default=None)
        for k, by in fused.items()
    }
    at = check.get("fused_cut_quantiles") or {}
    said = ", ".join(
        f"{k}{_off_median(at.get(k), schema)}: {b[0]:.1f} (1/{1 / float(b[1]):.0f} of that penalty)"
        for k, b in best.items()
        if b
    )
    if not said:
        return ""
    return (
        "The same pieces with each factor's change between them penalised (fused towards the "
        "first piece's hazard ratios: from half the lightest penalty that keeps every factor "
        f"at one hazard ratio down to 1/{1 / FUSION_SHARES[-1]:.0f} of it), which follow one "
        "factor's changing effect without refitting the others; the best for each number of "
        f"pieces: {said}. Of those that beat the pieces chosen by that standard error, the "
        "one with the best total is kept"
        + (f"{_fused_served(check)}. " if check.get("fusion") else ": none did. ")
    )


def _fused_served(check: dict) -> str:
    """The fusion served: its share of the path's start and its held-out score (the best
    score alone can fail the standard error)."""
    share = check.get("fusion_share")
    score = (check.get("fused_heldout_loglik") or {}).get(str(check["pieces"]), {})
    score = score.get(f"{share:g}") if share else None
    if score is None:
        return ""
    return f" (here 1/{1 / share:.0f} of that penalty, {score:.1f})"


def _off_median(plan, schema: Schema) -> str:
    """Where two pieces were cut, if not at the median death time."""
    if not plan or len(plan) != 1 or plan[0] == 0.5:
        return ""
    return f" (cut at {_fraction(plan[0])} of the {html.escape(schema.words.events)})"


def _off_median_scores(check: dict) -> dict[Fraction, float]:
    """The held-out scores of two pieces cut off the median death time, by the cut's
    quantile of the deaths (none in reports from before they were tried)."""
    two = check.get("two_piece_heldout_loglik") or {}
    return {_fraction(float(q)): v for q, v in two.items() if q != "0.5"}


def _off_median_tried(check: dict, schema: Schema) -> str:
    """The off-median cuts of two pieces the check tried, for the summary line."""
    tried = _off_median_scores(check)
    if not tried:
        return ""
    said = ", ".join(str(q) for q in tried)
    return f", two also cut at {said} of the {schema.words.events}"


def _fraction(q: float) -> Fraction:
    return Fraction(float(q)).limit_denominator(12)


def _two_pieces_html(check: dict, schema: Schema) -> str:
    """The scores of two pieces cut off the median death time, where any were tried."""
    two = _off_median_scores(check)
    if not two:
        return ""
    said = ", ".join(f"{q}: {v:.1f}" for q, v in two.items())
    events = html.escape(schema.words.events)
    return (
        f"Two pieces cut at other quantiles of the {events} (a change early or late falls "
        f"between equal pieces' cuts), at the share of the {events} before the cut: {said}; "
        "at each number of pieces, of those that pass the standard error the best total is "
        "kept. "
    )


def _fusion_chosen(check: dict) -> str:
    return f", fused (fusion {check['fusion']:.3g})" if check.get("fusion") else ""


def hazards_over_time_html(check: dict, schema: Schema) -> str:
    """A short report section."""
    if not check.get("checked", True):
        return "\n".join(
            [
                "<h2>Hazard ratios over time</h2>",
                f"<p>{html.escape(_capital(_unchecked(check, schema)))}.</p>",
                _tests_html(check, schema),
            ]
        )
    ll = check["heldout_loglik"]
    scores = ", ".join(f"{k}: {v:.1f}" for k, v in ll.items())
    parts = [
        "<h2>Hazard ratios over time</h2>",
        "<p>The Cox model assumes that each factor's hazard ratio holds at every time. "
        "Checked by refitting its design, at its penalty, in 1 to "
        f"{check['most_pieces']} time pieces cut at quantiles of the "
        f"{html.escape(schema.words.events)} and scoring each by the partial likelihood of "
        f"held-out patients ({check['folds']} folds; more pieces are kept only past the "
        f"standard error of the folds' differences). Held-out log-likelihood by pieces: "
        f"{scores}. {_two_pieces_html(check, schema)}{_fused_html(check, schema)}Chosen: "
        f"<b>{check['pieces']}</b>"
        f"{_fusion_chosen(check)}.</p>",
    ]
    if check["pieces"] == 1:
        unconfirmed = _unconfirmed(check)
        parts.append(
            f"<p>{html.escape(_capital(unconfirmed))}.</p>"
            if unconfirmed
            else "<p>Time pieces did not predict held-out patients better than one piece by more "
            "than the folds' standard error: no change in hazard ratios shown, across the "
            "folds, large enough to serve pieces for.</p>"
        )
        parts.append(_tests_html(check, schema))
        return "\n".join(parts)
    said = "Served in time pieces" if check.get("served") else "Warning"
    parts.append(f"<p><b>{said}:</b> {html.escape(_warning(check, schema))}</p>")
    if check.get("served"):
        parts.append(
            "<p>The cross-validated scores of the tuning are the one-piece model's (design and "
            "penalty are tuned first, then checked); the bootstrap validation, calibration and "
            "decision curves are the served model's, in pieces.</p>"
        )
    spans = _spans(check, schema)
    head = "".join(f"<th>{html.escape(s)}</th>" for s in spans)
    one = "One piece (all times)" if check.get("served") else "Hazard ratio served (all times)"
    rows = "".join(
        f"<tr><td>{html.escape(r['contrast'])}</td><td>{r['hr_one_piece']:.2f}</td>"
        + "".join(f"<td>{v:.2f}</td>" for v in r["hr_by_piece"])
        + "</tr>"
        for r in check["hazard_ratios"]
    )
    parts.append(
        f"<table><thead><tr><th>Contrast</th><th>{one}</th>"
        f"{head}</tr></thead><tbody>{rows}</tbody></table>"
    )
    parts.append(_tests_html(check, schema))
    return "\n".join(parts)


def _tests_html(check: dict, schema: Schema) -> str:
    tests = check.get("schoenfeld") or {}
    if not tests.get("tests"):
        failed = tests.get("failed", "no test")
        return f"<p>Grambsch-Therneau tests: not available ({html.escape(failed)}).</p>"
    note = _note(check, schema)
    events = schema.words.events
    rows = "".join(
        f"<tr><td>{html.escape(x['label'])}</td><td>{x['statistic']:.2f}</td>"
        f"<td>{x['p']:.3g}</td><td>{x.get('deaths', '')}</td></tr>"
        for x in tests["tests"]
    )
    return (
        "<p>Each factor's own test of a constant hazard ratio (Grambsch & Therneau 1994: scaled "
        "Schoenfeld residuals against the rank of time, on a Cox model of main effects; "
        f"{tests['rows']:,} patients). Threshold {tests['level']:.2g} (Bonferroni "
        f"{TEST_LEVEL:g}); a column is named only where {MIN_TEST_DEATHS} "
        f"{html.escape(events)} or more tell its values apart (those off the commonest value "
        f"among the {html.escape(events)}), as the residuals of a few do not follow the test's "
        "chi-square. A small p says the ratio changes, not that the change matters for the "
        "curves: that is the pieces' question above.</p>"
        + (f"<p>{html.escape(_capital(note))}.</p>" if note else "")
        + "<table><thead><tr><th>Column</th><th>Statistic</th><th>p</th>"
        f"<th>{html.escape(schema.words.events_title)}</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
