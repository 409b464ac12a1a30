import itertools
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize

import dmfnb as dm


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    Y = X @ rng.standard_normal((5, 3)) + 0.3 * rng.standard_normal((40, 3))
    return X, Y


def direct_loss(X, Y, W):
    return 0.5 * np.sum((Y - X @ W.T) ** 2) / X.shape[0]


def rank_fit(problem, k, starts=6, seed=0):
    """Independent rank-k fit: L-BFGS over W = A B from several starts (no closed form involved)."""
    d_out, d_in = problem.shape
    rng = np.random.default_rng(seed)

    def fun(x):
        A, B = x[: d_out * k].reshape(d_out, k), x[d_out * k:].reshape(k, d_in)
        W = A @ B
        return direct_loss(problem.X, problem.Y, W), None

    best = None
    for _ in range(starts):
        res = minimize(lambda x: fun(x)[0], rng.standard_normal(k * (d_out + d_in)), method="BFGS",
                       options={"gtol": 1e-10, "maxiter": 10_000})
        if best is None or res.fun < best.fun:
            best = res
    x = best.x
    return x[: d_out * k].reshape(d_out, k) @ x[d_out * k:].reshape(k, d_in), best.fun


# ---- the problem ------------------------------------------------------------------------------


def test_loss_is_the_regression_loss(data):
    X, Y = data
    p = dm.RegressionProblem(X, Y)
    W = np.random.default_rng(1).standard_normal(p.shape)
    assert p.shape == (3, 5)
    assert p.loss(W) == pytest.approx(direct_loss(X, Y, W), rel=1e-12)
    assert p.loss(p.ols_solution) == pytest.approx(p.residual_loss, rel=1e-12)
    assert np.allclose(p.ols_solution, np.linalg.lstsq(X, Y, rcond=None)[0].T)
    assert np.allclose(p.predict(W), X @ W.T)
    assert np.allclose(p.input_covariance, X.T @ X / 40)
    assert np.allclose(p.cross_covariance, Y.T @ X / 40)


def test_gradient_matches_finite_differences(data):
    p = dm.RegressionProblem(*data)
    rng = np.random.default_rng(2)
    W, D = rng.standard_normal((2, *p.shape))
    h = 1e-6
    fd = (p.loss(W + h * D) - p.loss(W - h * D)) / (2 * h)
    assert np.vdot(p.gradient(W), D) == pytest.approx(fd, rel=1e-7)
    # Every entry, against the direct formula.
    G = np.zeros(p.shape)
    for i, j in itertools.product(*map(range, p.shape)):
        E = np.zeros(p.shape)
        E[i, j] = h
        G[i, j] = (direct_loss(*data, W + E) - direct_loss(*data, W - E)) / (2 * h)
    assert np.allclose(p.gradient(W), G, rtol=1e-6, atol=1e-8)


def test_factor_gradients_match_finite_differences(data):
    p = dm.RegressionProblem(*data)
    fs = dm.init_factors(p.shape, 2, scale=1.0, seed=3)
    _, grads = dm.gradients(p, fs)
    h = 1e-6
    rng = np.random.default_rng(4)
    D = [rng.standard_normal(f.shape) for f in fs]
    plus = p.loss(dm.product([f + h * d for f, d in zip(fs, D, strict=True)]))
    minus = p.loss(dm.product([f - h * d for f, d in zip(fs, D, strict=True)]))
    assert sum(np.vdot(g, d) for g, d in zip(grads, D, strict=True)) == pytest.approx(
        (plus - minus) / (2 * h), rel=1e-6)


def test_stacked_regression_problems(data):
    X, Y = data
    p1, p2 = dm.RegressionProblem(X, Y), dm.RegressionProblem(X, 2 * Y)
    s = dm.stack_problems([p1, p2])
    assert isinstance(s, dm.RegressionProblem) and s.batch == 2
    Ws = np.random.default_rng(5).standard_normal((2, *p1.shape))
    assert np.allclose(s.loss(Ws), [p1.loss(Ws[0]), p2.loss(Ws[1])], rtol=1e-12)
    with pytest.raises(ValueError, match="same number of samples"):
        dm.stack_problems([p1, dm.RegressionProblem(X[:30], Y[:30])])


def test_gradient_descent_reaches_least_squares(data):
    p = dm.RegressionProblem(*data)
    tr = dm.train(p, dm.init_factors(p.shape, 2, scale=1e-3, seed=0), lr=0.1, steps=4000)
    assert tr.error[-1] < 1e-10
    assert tr.loss[-1] == pytest.approx(p.residual_loss, rel=1e-9)


# ---- reduced-rank regression ------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2])
def test_reduced_rank_solution_matches_direct_fit(data, k):
    p = dm.RegressionProblem(*data)
    W_k = dm.reduced_rank_solution(p, k)
    W_fit, loss_fit = rank_fit(p, k)
    assert np.linalg.matrix_rank(W_k) == k
    assert p.loss(W_k) <= loss_fit + 1e-10
    assert np.linalg.norm(W_k - W_fit) / np.linalg.norm(W_k) < 1e-4


def test_reduced_rank_solution_beats_random_rank_k(data):
    p = dm.RegressionProblem(*data)
    rng = np.random.default_rng(6)
    W_1 = dm.reduced_rank_solution(p, 1)
    for _ in range(300):
        W = np.outer(rng.standard_normal(3), rng.standard_normal(5))
        W = W * (np.vdot(W, p.cross_covariance) / np.vdot(W @ p.input_covariance, W))  # best scale
        assert p.loss(W) >= p.loss(W_1) - 1e-12


def test_reduced_rank_path_ends(data):
    p = dm.RegressionProblem(*data)
    path = dm.reduced_rank_path(p)
    assert path.shape == (4, 3, 5)
    assert np.all(path[0] == 0)
    assert np.allclose(path[-1], p.ols_solution)
    losses = [p.loss(W) for W in path]
    assert np.all(np.diff(losses) < 0)


def test_whitened_reduced_rank_is_svd_truncation():
    p = dm.synthetic_regression([3.0, 2.0, 1.0], d_in=4, d_out=3, num_samples=20, seed=1)
    u, s, vt = np.linalg.svd(p.ols_solution)
    assert np.allclose(dm.reduced_rank_solution(p, 2), (u[:, :2] * s[:2]) @ vt[:2])
    # the same from a LeastSquaresProblem and from the covariances
    ls = dm.LeastSquaresProblem(p.ols_solution)
    assert np.allclose(dm.reduced_rank_solution(ls, 2), dm.reduced_rank_solution(p, 2))
    cov = (p.input_covariance, p.cross_covariance)
    assert np.allclose(dm.reduced_rank_solution(cov, 2), dm.reduced_rank_solution(p, 2))


def test_tied_singular_values_warn():
    cov = (np.eye(2), np.eye(2))
    with pytest.warns(RuntimeWarning, match="not unique"):
        dm.reduced_rank_solution(cov, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dm.reduced_rank_solution(cov, 2)


# ---- modes and synthetic data -----------------------------------------------------------------


def test_synthetic_covariances_are_exact():
    s, lam = [2.0, 1.0, 0.5], [1.5, 0.5, 1.0, 2.0, 0.7]
    p = dm.synthetic_regression(s, lam, d_out=4, num_samples=30, noise=0.4, seed=2)
    assert p.shape == (4, 5)
    assert np.allclose(np.linalg.svd(p.cross_covariance, compute_uv=False)[:3], s)
    assert np.allclose(np.sort(np.linalg.eigvalsh(p.input_covariance)), np.sort(lam))
    m = dm.regression_modes(p)
    assert np.allclose(m.strengths, s) and np.allclose(m.variances, lam[:3])
    assert np.allclose(m.values, np.array(s) / lam[:3])
    assert m.defect < 1e-12 and dm.codiagonality_defect(p) < 1e-12
    # Σ_x v_i = λ_i v_i: the co-diagonalizability assumption
    assert np.allclose(p.input_covariance @ m.right, m.right * m.variances)
    assert p.residual_loss > 0.1
    clean = dm.synthetic_regression(s, lam, d_out=4, num_samples=30, seed=2)
    assert np.allclose(clean.cross_covariance, p.cross_covariance)
    assert clean.residual_loss < 1e-20
    assert np.array_equal(p.X, dm.synthetic_regression(s, lam, d_out=4, num_samples=30, noise=0.4, seed=2).X)


def test_rotation_violates_the_assumption():
    s, lam = [2.0, 1.0, 0.5], [3.0, 0.5, 1.0, 2.0]
    p = dm.synthetic_regression(s, lam, d_out=3, seed=3, rotation=1.0)
    assert dm.codiagonality_defect(p) > 0.05
    assert np.allclose(np.sort(np.linalg.eigvalsh(p.input_covariance)), np.sort(lam))
    assert np.allclose(np.linalg.svd(p.cross_covariance, compute_uv=False), s)


def test_mode_solution_equals_reduced_rank_when_orders_agree():
    p = dm.synthetic_regression([1.0, 0.5, 0.25], [1.2, 0.9, 1.1], d_out=3, seed=4)
    m = dm.regression_modes(p)
    assert m.orders_agree
    for k in range(4):
        assert np.allclose(dm.mode_solution(p, k), dm.reduced_rank_solution(p, k), atol=1e-12)
    assert np.allclose(dm.mode_amplitudes(dm.mode_solution(p, 3), m), m.values)


def test_mode_solution_differs_when_orders_disagree():
    # s/√λ = 0.5 < 0.8: reduced-rank regression keeps mode 2 first, the dynamics learn mode 1 first.
    p = dm.synthetic_regression([1.0, 0.8], [4.0, 1.0], d_out=2, seed=5)
    m = dm.regression_modes(p)
    assert not m.orders_agree
    assert np.allclose(m.rrr_strengths, [0.5, 0.8])
    W1 = dm.reduced_rank_solution(p, 1)
    assert np.allclose(dm.mode_amplitudes(W1, m), [0.0, 0.8], atol=1e-12)
    assert np.allclose(dm.mode_amplitudes(dm.mode_solution(p, 1), m), [0.25, 0.0], atol=1e-12)
    assert p.loss(W1) < p.loss(dm.mode_solution(p, 1))


# ---- escape times and step sizes --------------------------------------------------------------


def test_escape_time_formulas():
    assert dm.escape_time(0.5, 1e-4) == pytest.approx(np.log(1e4) / 0.5)
    assert dm.escape_time(0.5, 1e-4, lr=0.2) == pytest.approx(np.log(1e4) / np.log(1.1))
    # small steps: iterations × η → the continuous time
    assert 1e-6 * dm.escape_time(0.5, 1e-4, lr=1e-6) == pytest.approx(dm.escape_time(0.5, 1e-4), rel=1e-6)
    assert np.allclose(dm.escape_time(np.array([1.0, 0.5]), 0.01), np.log(100) * np.array([1, 2]))


def test_sharpness_matches_finite_difference_hessian(data):
    p = dm.RegressionProblem(*data)
    fs = dm.init_factors(p.shape, 2, scale=0.5, seed=7)
    sizes = [f.size for f in fs]

    def grad(x):
        parts = [x[: sizes[0]].reshape(fs[0].shape), x[sizes[0]:].reshape(fs[1].shape)]
        return np.concatenate([g.ravel() for g in dm.gradients(p, parts)[1]])

    x0 = np.concatenate([f.ravel() for f in fs])
    h = 1e-6
    H = np.array([(grad(x0 + h * e) - grad(x0 - h * e)) / (2 * h) for e in np.eye(x0.size)])
    assert dm.sharpness(p, fs) == pytest.approx(np.linalg.eigvalsh(0.5 * (H + H.T))[-1], rel=1e-6)


def test_stability_limit_whitened_is_one_over_top_strength():
    p = dm.synthetic_regression([2.0, 1.0, 0.5], d_out=3, seed=8)
    assert dm.stability_limit(p) == pytest.approx(1 / 2.0, rel=1e-10)


def test_gd_converges_below_and_fails_above_the_stability_limit():
    p = dm.synthetic_regression([1.0, 0.5], [1.0, 0.7, 1.3], d_out=2, seed=9)
    limit = dm.stability_limit(p)
    fs = dm.init_factors(p.shape, 2, scale=1e-6, seed=0)
    below = dm.train(p, fs, lr=0.8 * limit, steps=3000)
    assert below.loss[-1] - p.residual_loss < 1e-12
    try:
        above = dm.train(p, fs, lr=1.1 * limit, steps=3000)
        assert above.loss[-1] - p.residual_loss > 1e-6
    except dm.DivergenceError:
        pass


# ---- bad inputs -------------------------------------------------------------------------------


def test_bad_inputs(data):
    X, Y = data
    with pytest.raises(ValueError, match="same samples"):
        dm.RegressionProblem(X, Y[:-1])
    with pytest.raises(ValueError, match="samples as rows"):
        dm.RegressionProblem(X[:, 0], Y)
    with pytest.raises(ValueError, match="NaN"):
        dm.RegressionProblem(np.where(X > 2, np.nan, X), Y)
    with pytest.raises(TypeError, match="real numbers"):
        dm.RegressionProblem(X.astype(complex), Y)
    p = dm.RegressionProblem(X, Y)
    for k in (-1, 4, 1.0, True):
        with pytest.raises(ValueError, match="k must be"):
            dm.reduced_rank_solution(p, k)
    with pytest.raises(ValueError, match="singular"):
        dm.reduced_rank_solution(dm.RegressionProblem(X[:3], Y[:3]), 1)
    with pytest.raises(TypeError, match="pair"):
        dm.reduced_rank_solution(3.0, 1)
    with pytest.raises(ValueError, match="square"):
        dm.reduced_rank_solution((np.ones((2, 3)), np.ones((2, 3))), 1)
    with pytest.raises(ValueError, match="match"):
        dm.reduced_rank_solution((np.eye(3), np.ones((2, 4))), 1)
    with pytest.raises(ValueError, match="symmetric"):
        dm.reduced_rank_solution((np.triu(np.ones((3, 3))), np.ones((2, 3))), 1)
    with pytest.raises(ValueError, match="single problem"):
        dm.reduced_rank_solution(dm.stack_problems([p, p]), 1)
    with pytest.raises(ValueError, match="no mode"):
        dm.regression_modes((np.eye(3), np.zeros((2, 3))))
    with pytest.raises(ValueError, match="k must be"):
        dm.mode_solution(p, 4)
    with pytest.raises(ValueError, match="matrices"):
        dm.mode_amplitudes(np.zeros((5, 3)), dm.regression_modes(p))
    with pytest.raises(ValueError, match="positive"):
        dm.synthetic_regression([1.0, -1.0])
    with pytest.raises(ValueError, match="one per input"):
        dm.synthetic_regression([1.0], [1.0, 2.0], d_in=3)
    with pytest.raises(ValueError, match="need d_in"):
        dm.synthetic_regression([1.0, 0.5, 0.2], d_in=3, d_out=2)
    with pytest.raises(ValueError, match="exceed d_in"):
        dm.synthetic_regression([1.0], d_in=3, num_samples=3, noise=0.1)
    with pytest.raises(ValueError, match="rotation"):
        dm.synthetic_regression([1.0], rotation=-1.0)
    with pytest.raises(ValueError, match="eps"):
        dm.escape_time(1.0, 1.5)
    with pytest.raises(ValueError, match="strength"):
        dm.escape_time(0.0, 0.1)
    with pytest.raises(ValueError, match="lr"):
        dm.escape_time(1.0, 0.1, lr=-1.0)
    with pytest.raises(ValueError, match="two factors"):
        dm.sharpness(p, dm.init_factors(p.shape, 3, scale=1.0, seed=0))
    with pytest.raises(TypeError, match="LeastSquaresProblem"):
        dm.stability_limit(dm.CompletionProblem.random(np.ones((3, 3)), 4, seed=0))
