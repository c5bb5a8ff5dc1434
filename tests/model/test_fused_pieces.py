"""Fused time pieces against an independent implementation, the proportional-hazards model
they reduce to, and a known truth with one fading effect."""

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from model.coxnet import PathCoxnet
from model.fused_pieces import FusedPiecewiseCox, fit_fused, fusion_max
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


@pytest.mark.parametrize("alpha", [0.02, 0.002])
def test_the_fused_path_starts_where_the_first_deviation_enters(alpha):
    """Just above fusion_max every deviation is zero (the one-piece model); just below it
    one enters, the fading x1's: the lasso's condition for zero, checked by the solver
    itself at two penalties ten times apart (the start, as a multiple of the penalty,
    moves with it)."""
    X, y = _world(600, seed=5)
    Z = X.to_numpy()
    start = fusion_max(Z, y, (CUT,), alpha, 0.5)
    above, _ = fit_fused(Z, y, (CUT,), alpha, 0.5, start * 1.05)
    np.testing.assert_array_equal(above[1], above[0])
    below, _ = fit_fused(Z, y, (CUT,), alpha, 0.5, start * 0.8)
    change = np.abs(below[1] - below[0])
    assert change[0] > 1e-3 and (change[1:] == 0).all()
    # a later piece without deaths has no path to start: refused as fit_fused refuses it
    with pytest.raises(EmptyPieceError, match="no deaths between 500"):
        fusion_max(Z, y, (500.0,), alpha, 0.5)


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


def test_the_curves_are_the_counting_process_breslow_estimate_of_the_fitted_pieces():
    # H(t | z) computed death by death on the counting-process data: each death at time d
    # in piece k adds exp(z . b_k) / sum over everyone alive at d of exp(z_j . b_k). The
    # class gets it from each piece's own Breslow baseline, its times counted from the cut;
    # pieces with different coefficients (fusion 0.5) would show a baseline paired with
    # the wrong piece's coefficients
    X, y = _world(300, seed=5)
    fused = FusedPiecewiseCox(_step(0.005), cuts=(CUT,), fusion=0.5).fit(X, y)
    assert not np.allclose(fused.coefs_[0], fused.coefs_[1])
    Z = X.to_numpy()
    grid = np.array([0.0, 3.0, 11.9, 12.0, 12.5, 30.0, 59.0])
    patients = Z[:4]
    want = np.zeros((len(patients), len(grid)))
    for d in np.sort(y["time"][y["event"]]):
        coef = fused.coefs_[int(d > CUT)]
        at_risk = np.exp(Z[y["time"] >= d] @ coef).sum()
        want += (grid >= d)[None, :] * (np.exp(patients @ coef) / at_risk)[:, None]
    got = fused.cumulative_hazard_on_grid(patients, grid)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_it_clones_and_pickles_as_a_bundle_holds_it():
    import pickle

    from sklearn.base import clone

    X, y = _world(200, seed=6)
    fused = FusedPiecewiseCox(_step(0.01), cuts=(CUT,), fusion=4.0).fit(X, y)
    twin = clone(fused)
    assert twin.get_params()["fusion"] == 4.0 and twin.cuts == (CUT,)
    back = pickle.loads(pickle.dumps(fused))
    grid = np.arange(0.0, 40.0, 5.0)
    np.testing.assert_array_equal(
        back.cumulative_hazard_on_grid(X, grid), fused.cumulative_hazard_on_grid(X, grid)
    )


def test_a_penalty_the_data_cannot_support_is_raised_as_for_pieces_apart(monkeypatch):
    # the first try runs off (an arithmetic error, as a diverging fit): the fit takes ten
    # times the penalty and says so in the penalty each piece took
    import model.fused_pieces as fp

    real, asked = fp.fit_fused, []

    def flaky(Z, y, cuts, alpha, *args):
        asked.append(alpha)
        if len(asked) == 1:
            raise ArithmeticError("ran off")
        return real(Z, y, cuts, alpha, *args)

    monkeypatch.setattr(fp, "fit_fused", flaky)
    X, y = _world(200, seed=7)
    fused = FusedPiecewiseCox(_step(0.01), cuts=(CUT,), fusion=2.0).fit(X, y)
    assert asked == pytest.approx([0.01, 0.1])
    assert fused.piece_alphas_ == pytest.approx([0.1, 0.2]) and fused.alphas_[0] == 0.01
