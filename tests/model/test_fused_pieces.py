"""Fused time pieces against an independent implementation, the proportional-hazards model
they reduce to, and a known truth with one fading effect."""

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from model.coxnet import PathCoxnet
from model.fused_pieces import FusedPiecewiseCox, fit_fused
from model.piecewise import EmptyPieceError, PiecewiseCox, alive_in_piece

CUT, RATE = 12.0, 0.05
# x1's log hazard ratio fades at the cut; x2 and x3 hold at every time
B1, B2, B3 = (1.0, 0.0), 0.5, -0.4


def _world(n: int, seed: int):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n), "x3": rng.normal(size=n)})
    rest = B2 * X["x2"].to_numpy() + B3 * X["x3"].to_numpy()
    r1, r2 = (RATE * np.exp(b * X["x1"].to_numpy() + rest) for b in B1)
    e = rng.exponential(size=n)
    t = np.where(e < r1 * CUT, e / r1, CUT + (e - r1 * CUT) / r2)
    c = rng.uniform(0, 60, n)
    return X, Surv.from_arrays(t <= c, np.minimum(t, c))


def _step(alpha: float, l1_ratio: float = 0.5):
    return PathCoxnet(alphas=[alpha], l1_ratio=l1_ratio, fit_baseline_model=True, max_iter=200_000)


def test_the_fit_is_statsmodels_stratified_elastic_net_on_the_pieces():
    # statsmodels' PHReg, stratified by piece on the pieces' rows, with the first piece's
    # columns and the deviations' columns (x times "in the later piece"), each deviation's
    # penalty the fusion times the first piece's: the objective written another way and
    # solved by another method (coordinate descent). Its objective is over its rows, not the
    # patients, hence the penalty scaled by patients / rows. Agreement to 2e-3, its
    # convergence (the coefficients are 0.1-0.8, their standard errors about 0.1)
    from statsmodels.duration.hazard_regression import PHReg

    X, y = _world(160, seed=1)
    Z = X.to_numpy()
    alpha, l1_ratio, fusion = 0.02, 0.5, 2.0
    ours, _ = fit_fused(Z, y, (CUT,), alpha, l1_ratio, fusion)
    rows, times, events, strata = [], [], [], []
    for k, (a, b) in enumerate([(0.0, CUT), (CUT, np.inf)]):
        alive, piece = alive_in_piece(y, a, b)
        rows.append(np.hstack([Z[alive], Z[alive] * k]))
        times.append(piece["time"])
        events.append(piece["event"])
        strata.append(np.full(alive.sum(), k))
    rows_n = sum(len(t) for t in times)
    weights = np.r_[np.full(3, alpha), np.full(3, alpha * fusion)] * len(Z) / rows_n
    theirs = (
        PHReg(
            np.concatenate(times),
            np.vstack(rows),
            status=np.concatenate(events).astype(float),
            strata=np.concatenate(strata),
            ties="breslow",
        )
        .fit_regularized(alpha=weights, L1_wt=l1_ratio, maxiter=200)
        .params
    )
    np.testing.assert_allclose(ours, [theirs[:3], theirs[:3] + theirs[3:]], atol=2e-3)


def test_a_heavy_fusion_is_the_proportional_hazards_model():
    # every deviation at zero: one coefficient for all time, and the pieces' Breslow
    # baselines add up to the one-piece model's, so the curves are the Cox model's (to
    # coxnet's convergence, 1e-3 on coefficients of 0.3-0.7)
    X, y = _world(400, seed=2)
    grid = np.arange(0.0, 48.5, 0.5)
    fused = FusedPiecewiseCox(_step(0.01), cuts=(CUT,), fusion=1e6).fit(X, y)
    np.testing.assert_array_equal(fused.coefs_[0], fused.coefs_[1])
    one = PiecewiseCox(_step(0.01)).fit(X, y)
    np.testing.assert_allclose(fused.coefs_[0], one.coefs_[0], atol=1e-3)
    np.testing.assert_allclose(
        np.exp(-fused.cumulative_hazard_on_grid(X, grid)),
        np.exp(-one.cumulative_hazard_on_grid(X, grid)),
        atol=2e-3,
    )


def test_the_fading_effect_is_followed_and_the_held_ones_are_not_refitted():
    # 3,000 patients: x1's log hazard ratio 1.0 then 0.0 at 12 months. The deviations'
    # lasso keeps x2 and x3 at one ratio for all time (a deviation exactly zero), while
    # pieces fitted apart estimate them twice. x1's estimates: standard errors about 0.04
    # in each piece, shrunk by the penalty; 0.15 covers both
    X, y = _world(3000, seed=3)
    fused = FusedPiecewiseCox(_step(0.005), cuts=(CUT,), fusion=2.0).fit(X, y)
    early, late = fused.coefs_
    assert early[1:].tolist() == late[1:].tolist()
    assert abs(early[0] - B1[0]) < 0.15 and abs(late[0] - B1[1]) < 0.15
    apart = PiecewiseCox(_step(0.005), cuts=(CUT,)).fit(X, y)
    assert (apart.coefs_[0, 1:] != apart.coefs_[1, 1:]).all()
    # served like any Cox model in pieces: its penalties, the first piece's then the
    # deviation's, and a baseline that starts at the cut for the later piece
    assert fused.piece_alphas_ == [0.005, 0.01]
    # what the penalty kept: three effects and one change, against six apart
    assert fused.nonzero_coefficients() == 4 and apart.nonzero_coefficients() == 6
    h0 = fused.baselines_on_grid(np.array([0.0, 6.0, 12.0, 24.0]))
    assert h0[1, :3].tolist() == [0.0, 0.0, 0.0] and h0[1, 3] > 0 and h0[0, 3] == h0[0, 2]


def test_a_piece_without_deaths_is_refused_with_its_span():
    X, y = _world(200, seed=4)
    with pytest.raises(EmptyPieceError, match="no deaths between 100 and inf"):
        FusedPiecewiseCox(_step(0.01), cuts=(100.0,), fusion=2.0).fit(X, y)
