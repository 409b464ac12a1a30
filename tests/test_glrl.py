import numpy as np
import pytest

import dmfnb as dm
from dmfnb.theory.glrl import symmetric_gradient


def _psd_target(n=6, eigenvalues=(4.0, 2.0, 1.0), seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    k = len(eigenvalues)
    return (Q[:, :k] * np.array(eigenvalues)) @ Q[:, :k].T


def test_symmetric_gradient_matches_finite_differences():
    target = _psd_target()
    problem = dm.CompletionProblem(target, dm.symmetric_mask(6, 12, seed=1))
    U = np.random.default_rng(2).standard_normal((6, 3))
    loss, grad = symmetric_gradient(problem, U)
    assert np.isclose(loss, problem.loss(U @ U.T))
    D = np.random.default_rng(3).standard_normal(U.shape)
    h = 1e-6
    plus, minus = symmetric_gradient(problem, U + h * D), symmetric_gradient(problem, U - h * D)
    fd = (plus[0] - minus[0]) / (2 * h)
    assert np.isclose(np.sum(grad * D), fd, rtol=1e-6)
    with pytest.raises(ValueError, match="n×r"):
        symmetric_gradient(problem, np.zeros((5, 2)))


def test_symmetric_mask():
    mask = dm.symmetric_mask(8, 10, seed=0)
    assert np.array_equal(mask, mask.T)
    assert np.sum(np.triu(mask)) == 10
    assert not np.any(np.diag(dm.symmetric_mask(8, 28, seed=0, diagonal=False)))
    with pytest.raises(ValueError, match="exceeds"):
        dm.symmetric_mask(3, 7, seed=0)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_mirror_factors_are_mirror_symmetric_and_stay_so(depth):
    fs = dm.mirror_factors(5, depth, scale=0.3, seed=1)
    assert np.allclose(dm.product(fs), 0.3 * np.eye(5))
    for j in range(depth):
        assert np.allclose(fs[j], fs[depth - 1 - j].T)
    problem = dm.CompletionProblem(_psd_target(5, (3.0, 1.0)), dm.symmetric_mask(5, 9, seed=2))
    traj = dm.train(problem, fs, lr=0.5, steps=200)
    W = traj.product
    assert np.allclose(W, W.T, atol=1e-12)
    assert np.linalg.eigvalsh(W).min() > -1e-10


def test_engine_step_is_half_a_step_on_uut():
    problem = dm.CompletionProblem(_psd_target(), dm.symmetric_mask(6, 14, seed=4))
    U = np.random.default_rng(5).standard_normal((6, 6)) * 0.3
    lr = 0.1
    after = dm.train(problem, [U.T.copy(), U.copy()], lr=lr, steps=1, record=[1]).factors[1]
    _, grad = symmetric_gradient(problem, U)
    assert np.allclose(after, U - lr / 2 * grad)


def test_glrl_on_full_observations_is_the_truncated_eigendecomposition():
    target = _psd_target(6, (4.0, 2.0, 1.0), seed=3)
    res = dm.greedy_low_rank(dm.LeastSquaresProblem(target), lr=0.05, eps=1e-10, grad_tol=1e-10)
    vals, vecs = np.linalg.eigh(target)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    assert res.rank == 3 and all(res.converged)
    assert np.allclose(res.eigenvalues[:3], vals[:3], rtol=1e-8)
    assert res.eigenvalues[-1] <= 1e-8
    for r, W_r in enumerate(res.stages, start=1):
        assert np.allclose(W_r, (vecs[:, :r] * vals[:r]) @ vecs[:, :r].T, atol=1e-8)
        assert dm.numerical_rank(W_r, rtol=1e-6) == r
        assert res.factors[r - 1].shape == (6, r)
    assert np.allclose(res.final, target, atol=1e-8)


def test_glrl_on_completion_adds_one_rank_per_stage_and_fits():
    target = _psd_target(8, (6.0, 3.0), seed=1)
    problem = dm.CompletionProblem(target, dm.symmetric_mask(8, 28, seed=6))
    res = dm.greedy_low_rank(problem, lr=1.0, eps=1e-10, grad_tol=1e-10)
    assert res.rank >= 2 and all(res.converged)
    assert all(dm.numerical_rank(W, rtol=1e-6) == r for r, W in enumerate(res.stages, start=1))
    assert np.all(np.diff(res.losses) < 0)
    assert res.losses[-1] < 1e-15
    assert res.steps[0] > 0  # the first stage escaped the origin instead of stopping at once
    limited = dm.greedy_low_rank(problem, lr=1.0, eps=1e-10, grad_tol=1e-10, max_rank=1)
    assert limited.rank == 1 and np.allclose(limited.stages[0], res.stages[0])


def test_glrl_errors():
    target = dm.low_rank_target((4, 3), 1, seed=0)
    with pytest.raises(ValueError, match="square"):
        dm.greedy_low_rank(dm.LeastSquaresProblem(target), lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        dm.greedy_low_rank(dm.LeastSquaresProblem(_psd_target()), lr=0.0)
    with pytest.raises(ValueError, match="depth"):
        dm.mirror_factors(4, 1, scale=1.0)

