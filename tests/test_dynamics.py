"""Tests of dmfnb.theory.dynamics: the singular-value ODE, the end-to-end ODE and the exact mode solutions."""

import numpy as np
import pytest

import dmfnb as dm
from dmfnb.theory.dynamics import plateau_time, singular_vector_rate


def _aligned(shape, strengths, seed):
    rng = np.random.default_rng(seed)
    r = len(strengths)
    U = np.linalg.qr(rng.standard_normal((shape[0], r)))[0]
    V = np.linalg.qr(rng.standard_normal((shape[1], r)))[0]
    return U, V


def _sensing(seed=0):
    target = dm.low_rank_target((6, 5), 2, seed=seed)
    return dm.SensingProblem.random(target, 25, seed=seed + 1)


def _one_step(problem, factors, lr):
    _, grads = dm.gradients(problem, factors)
    return dm.product([f - lr * g for f, g in zip(factors, grads, strict=True)])


# ---- exact solutions: GD on full observation from an aligned balanced start ----------------

@pytest.mark.parametrize("depth", [2, 3, 4])
def test_gd_follows_exact_mode_solutions(depth):
    s = np.array([1.5, 1.0, 0.6])
    u0, lr = 1e-2, 1e-3
    U, V = _aligned((5, 4), s, seed=depth)
    problem = dm.LeastSquaresProblem(U * s @ V.T)
    factors = dm.balanced_factors(U * u0 @ V.T, depth, seed=1)
    assert dm.balancedness(factors) < 1e-12
    horizon = 1.2 * dm.mode_time(s[-1], u0, 0.99 * s[-1], depth)
    steps = int(horizon / lr)
    traj = dm.train(problem, factors, lr=lr, steps=steps, record=20, top_k=3)
    t = traj.steps * lr
    for k, sk in enumerate(s):
        ref = dm.saxe_mode(t, sk, u0) if depth == 2 else dm.integrate_mode(t, sk, u0, depth)
        dev = np.max(np.abs(traj.singular_values[:, k] - ref)) / sk
        assert dev < 5e-3, f"depth {depth}, mode s={sk}: GD deviates from the exact solution by {dev:.2e}"
    # and every mode is learned by the end
    np.testing.assert_allclose(traj.singular_values[-1], s, rtol=2e-2)


def test_gd_mode_gap_is_first_order_in_step():
    s, u0 = np.array([1.0]), 1e-2
    U, V = _aligned((3, 3), s, seed=0)
    problem = dm.LeastSquaresProblem(U * s @ V.T)
    devs = []
    for lr in (2e-3, 1e-3):
        fs = dm.balanced_factors(U * u0 @ V.T, 3, seed=1)
        steps = int(dm.mode_time(1.0, u0, 0.99, 3) / lr)
        traj = dm.train(problem, fs, lr=lr, steps=steps, record=1, top_k=1)
        ref = dm.integrate_mode(traj.steps * lr, 1.0, u0, 3)
        devs.append(np.max(np.abs(traj.singular_values[:, 0] - ref)))
    assert 1.7 < devs[0] / devs[1] < 2.3, f"halving η should halve the gap, ratio {devs[0] / devs[1]:.2f}"


# ---- the rates against one tiny GD step ------------------------------------------------------

@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_singular_value_rate_matches_finite_difference(depth):
    problem = _sensing()
    factors = dm.init_factors(problem.shape, depth, scale=1.0, kind="balanced", seed=depth)
    assert depth == 1 or dm.balancedness(factors) < 1e-12
    W0 = dm.product(factors)
    lr = 1e-7
    W1 = _one_step(problem, factors, lr)
    sigma, rate = dm.singular_value_rate(W0, problem.gradient(W0), depth)
    np.testing.assert_allclose(sigma, np.linalg.svd(W0, compute_uv=False))
    fd = (np.linalg.svd(W1, compute_uv=False) - sigma) / lr
    err = np.max(np.abs(fd - rate)) / np.max(np.abs(rate))
    assert err < 1e-4, f"depth {depth}: relative error {err:.2e}"


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_end_to_end_rate_matches_finite_difference(depth):
    problem = _sensing(3)
    factors = dm.init_factors(problem.shape, depth, scale=1.0, kind="balanced", seed=10 + depth)
    W0 = dm.product(factors)
    lr = 1e-7
    fd = (_one_step(problem, factors, lr) - W0) / lr
    rate = dm.end_to_end_rate(W0, problem.gradient(W0), depth)
    err = np.linalg.norm(fd - rate) / np.linalg.norm(rate)
    assert err < 1e-4, f"depth {depth}: relative error {err:.2e}"


def test_rates_agree_with_each_other():
    # Projecting the end-to-end rate on u_r v_rᵀ gives the singular-value rate.
    problem = _sensing(5)
    W = dm.product(dm.init_factors(problem.shape, 3, scale=1.0, kind="balanced", seed=0))
    G = problem.gradient(W)
    u, _, vt = np.linalg.svd(W, full_matrices=False)
    proj = np.einsum("ir,ij,rj->r", u, dm.end_to_end_rate(W, G, 3), vt)
    np.testing.assert_allclose(proj, dm.singular_value_rate(W, G, 3)[1], rtol=1e-10, atol=1e-12)


def test_rate_formula_fails_from_unbalanced_start():
    # Same end-to-end matrix, unbalanced factors: the motion differs from the formula.
    from dmfnb.chapters.singular_values.compute import rate_errors, unbalance

    problem = _sensing()
    fs = dm.init_factors(problem.shape, 3, scale=1.0, kind="balanced", seed=0)
    un = unbalance(fs, 0.5, seed=1)
    np.testing.assert_allclose(dm.product(un), dm.product(fs), atol=1e-12)
    assert rate_errors(problem, fs, 1e-7).sigma_error < 1e-4
    assert rate_errors(problem, un, 1e-7).sigma_error > 1e-2


def test_singular_value_rate_on_a_stack_and_depth_one():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((3, 4, 5))
    G = rng.standard_normal((3, 4, 5))
    sigma, rate = dm.singular_value_rate(W, G, 2)
    assert sigma.shape == rate.shape == (3, 4)
    for b in range(3):
        np.testing.assert_allclose(rate[b], dm.singular_value_rate(W[b], G[b], 2)[1])
    # depth 1: dσ_r/dt = −u_rᵀ G v_r, with no dependence on σ
    u, _, vt = np.linalg.svd(W[0], full_matrices=False)
    np.testing.assert_allclose(dm.singular_value_rate(W[0], G[0], 1)[1],
                               -np.einsum("ir,ij,rj->r", u, G[0], vt))


# ---- closed forms ----------------------------------------------------------------------------

@pytest.mark.parametrize("s,u0,uf", [(1.0, 1e-3, 0.5), (2.5, 1e-6, 2.4), (0.3, 0.1, 0.2)])
def test_mode_time_matches_depth2_closed_form(s, u0, uf):
    closed = np.log(uf * (s - u0) / (u0 * (s - uf))) / (2 * s)
    assert dm.mode_time(s, u0, uf, 2) == pytest.approx(closed, rel=1e-9)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_mode_time_inverts_integrate_mode(depth):
    s, u0 = 1.3, 1e-3
    T = dm.mode_time(s, u0, 0.5 * s, depth)
    u = dm.integrate_mode(np.array([0.0, T]), s, u0, depth)
    assert u[0] == u0
    assert u[1] == pytest.approx(0.5 * s, rel=1e-7)


def test_integrate_mode_equals_saxe_at_depth_two():
    t = np.linspace(0, 10, 50)
    np.testing.assert_allclose(dm.integrate_mode(t, 1.7, 1e-4, 2), dm.saxe_mode(t, 1.7, 1e-4),
                               rtol=1e-8)
    # saxe_mode is a sigmoid from u0 to s, with no overflow at large times
    u = dm.saxe_mode(np.array([0.0, 1e6]), 2.0, 1e-3)
    np.testing.assert_allclose(u, [1e-3, 2.0])


def test_integrate_mode_long_horizons_are_fast_and_exact():
    import time

    t = np.linspace(0, 5e5, 300)
    t0 = time.perf_counter()
    u = dm.integrate_mode(t, 0.25, 1e-8, 1)  # saturates at t ≈ 30, then a long flat tail
    assert time.perf_counter() - t0 < 2.0
    np.testing.assert_allclose(u[-1], 0.25, rtol=1e-10)
    # from above: u0 > s decays onto s, matching Saxe's formula at depth 2
    tt = np.linspace(0, 50, 20)
    np.testing.assert_allclose(dm.integrate_mode(tt, 1.0, 3.0, 2), dm.saxe_mode(tt, 1.0, 3.0), rtol=1e-8)
    assert dm.integrate_mode(np.array([]), 1.0, 0.1, 3).shape == (0,)


def test_mode_rate():
    assert dm.mode_rate(0.5, 1.0, 2) == pytest.approx(2 * 0.5 * 0.5)
    assert dm.mode_rate(0.5, 1.0, 1) == pytest.approx(0.5)
    assert dm.mode_rate(0.25, 1.0, 4) == pytest.approx(4 * 0.25 ** 1.5 * 0.75)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_plateau_time_is_the_small_init_asymptote(depth):
    s = 0.8
    ratio = [dm.mode_time(s, u0, 0.5 * s, depth) / plateau_time(s, u0, depth) for u0 in (1e-6, 1e-12)]
    assert abs(ratio[1] - 1) < abs(ratio[0] - 1) + 1e-12
    assert abs(ratio[1] - 1) < 0.02


# ---- bad inputs ------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    W = np.eye(3)
    with pytest.raises(ValueError, match="G has shape"):
        dm.singular_value_rate(W, np.eye(4), 2)
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        dm.singular_value_rate(W, W, 0)
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        dm.singular_value_rate(W, W, 2.5)
    with pytest.raises(ValueError, match="W must be a matrix"):
        dm.singular_value_rate(np.ones(3), np.ones(3), 2)
    with pytest.raises(ValueError, match="NaN"):
        dm.singular_value_rate(np.full((2, 2), np.nan), W[:2, :2], 2)
    with pytest.raises(ValueError, match="one shape"):
        dm.end_to_end_rate(W, np.eye(2), 2)
    with pytest.raises(ValueError, match="one shape"):
        dm.end_to_end_rate(np.ones((2, 3, 3)), np.ones((2, 3, 3)), 2)
    with pytest.raises(ValueError, match="depth"):
        dm.end_to_end_rate(W, W, -1)
    with pytest.raises(ValueError, match="u0"):
        dm.saxe_mode(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="s must be"):
        dm.saxe_mode(1.0, -1.0, 0.1)
    with pytest.raises(ValueError, match="increasing"):
        dm.integrate_mode(np.array([1.0, 0.5]), 1.0, 1e-3, 3)
    with pytest.raises(ValueError, match="increasing"):
        dm.integrate_mode(np.array([-1.0, 0.5]), 1.0, 1e-3, 3)
    with pytest.raises(ValueError, match="depth"):
        dm.integrate_mode(np.array([0.0, 1.0]), 1.0, 1e-3, 0)
    with pytest.raises(ValueError, match="need 0 < u0 < uf < s"):
        dm.mode_time(1.0, 1e-3, 1.5, 3)
    with pytest.raises(ValueError, match="need 0 < u0 < uf < s"):
        dm.mode_time(1.0, 0.5, 0.4, 3)
    with pytest.raises(ValueError, match="u0"):
        dm.mode_time(1.0, -1e-3, 0.5, 3)
    with pytest.raises(ValueError, match="need 0 < u0 < s"):
        plateau_time(1.0, 2.0, 3)
    with pytest.raises(ValueError, match="depth"):
        plateau_time(1.0, 0.1, 0)


# ---- the singular-vector rates (derived in dmfnb.theory.dynamics) -----------------------------

def _aligned_svd(W):
    u, s, vt = np.linalg.svd(W, full_matrices=False)
    return u, s, vt.T


@pytest.mark.parametrize("shape", [(5, 5), (6, 4), (4, 6)])
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_singular_vector_rate_matches_finite_difference(shape, depth):
    target = dm.low_rank_target(shape, 2, seed=0)
    problem = dm.SensingProblem.random(target, 25, seed=1)
    factors = dm.init_factors(shape, depth, scale=1.0, kind="balanced", seed=depth)
    W0 = dm.product(factors)
    rates = singular_vector_rate(W0, problem.gradient(W0), depth)
    lr = 1e-7
    u1, _, v1 = _aligned_svd(_one_step(problem, factors, lr))
    sign = np.sign(np.sum(u1 * rates.u, axis=0))
    for new, old, rate in ((u1 * sign, rates.u, rates.du), (v1 * sign, rates.v, rates.dv)):
        err = np.linalg.norm((new - old) / lr - rate) / np.linalg.norm(rate)
        assert err < 1e-4, f"{shape}, depth {depth}: relative error {err:.2e}"


@pytest.mark.parametrize("shape", [(5, 5), (6, 4), (4, 6)])
def test_singular_vector_rate_rebuilds_the_end_to_end_rate(shape):
    # d/dt (U S Vᵀ) = U̇SVᵀ + UṠVᵀ + USV̇ᵀ must give back Ẇ, complement terms included.
    rng = np.random.default_rng(3)
    W, G = rng.standard_normal(shape), rng.standard_normal(shape)
    for depth in (1, 2, 3):
        r = singular_vector_rate(W, G, depth)
        rebuilt = (r.du * r.sigma @ r.v.T + r.u * r.dsigma @ r.v.T
                   + r.u * r.sigma @ r.dv.T)
        np.testing.assert_allclose(rebuilt, dm.end_to_end_rate(W, G, depth), atol=1e-10)
        np.testing.assert_allclose(r.dsigma, dm.singular_value_rate(W, G, depth)[1])
        # U and V stay orthonormal: UᵀU̇ is antisymmetric.
        np.testing.assert_allclose(r.u.T @ r.du, -(r.u.T @ r.du).T, atol=1e-10)


def test_singular_vector_rate_fails_from_unbalanced_start():
    from dmfnb.chapters.singular_values.compute import unbalance, vector_errors

    problem = _sensing()
    fs = dm.init_factors(problem.shape, 3, scale=1.0, kind="balanced", seed=0)
    un = unbalance(fs, 0.5, seed=1)
    assert vector_errors(problem, fs, 1e-7).error < 1e-4
    assert vector_errors(problem, un, 1e-7).error > 1e-2


def test_singular_vector_rate_rejects_degenerate_spectra():
    with pytest.raises(ValueError, match="distinct nonzero singular values"):
        singular_vector_rate(np.eye(3), np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="distinct nonzero singular values"):
        singular_vector_rate(np.diag([2.0, 1.0, 0.0]), np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="one shape"):
        singular_vector_rate(np.diag([2.0, 1.0]), np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="depth"):
        singular_vector_rate(np.diag([2.0, 1.0]), np.ones((2, 2)), 0)
