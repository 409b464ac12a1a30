import numpy as np
import pytest
from conftest import PROBLEM_KINDS, make_problem

import dmfnb as dm


@pytest.mark.parametrize("kind", PROBLEM_KINDS)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("batched", [False, True])
def test_factor_gradients_match_finite_differences(kind, depth, batched, target):
    problem = make_problem(kind, target)
    runs = [dm.init_factors(target.shape, depth, scale=0.7, seed=s, width=4) for s in (3, 4)]
    factors = dm.stack_factors(runs) if batched else runs[0]
    loss, grads = dm.gradients(problem, factors)
    rng = np.random.default_rng(0)
    h = 1e-6
    for j in range(depth):
        D = rng.standard_normal(factors[j].shape)
        plus = [f.copy() for f in factors]
        minus = [f.copy() for f in factors]
        plus[j] += h * D
        minus[j] -= h * D
        fd = (problem.loss(dm.product(plus)) - problem.loss(dm.product(minus))) / (2 * h)
        analytic = np.sum(grads[j] * D, axis=(-2, -1))
        assert np.allclose(analytic, fd, rtol=1e-6, atol=1e-9), (j, analytic, fd)
    assert np.allclose(loss, problem.loss(dm.product(factors)), rtol=1e-14)


@pytest.mark.parametrize("kind", ["gaussian", "balanced", "identity", "orthogonal"])
def test_init_kinds_shapes_scale_and_determinism(kind):
    fs = dm.init_factors((6, 6), 3, scale=0.1, kind=kind, seed=1)
    assert [f.shape for f in fs] == [(6, 6)] * 3
    assert all(np.array_equal(a, b) for a, b in zip(fs, dm.init_factors(
        (6, 6), 3, scale=0.1, kind=kind, seed=1), strict=True))
    if kind != "gaussian":
        assert dm.balancedness(fs) < 1e-10
    if kind in ("identity", "orthogonal"):
        assert np.allclose(np.linalg.svd(dm.product(fs), compute_uv=False), 0.1)


def test_gaussian_init_matches_authors_scaling():
    norms = [np.linalg.norm(dm.product(dm.init_factors((100, 100), 3, scale=1e-3, seed=s)))
             for s in range(5)]
    assert np.mean(norms) == pytest.approx(10 * 1e-3, rel=0.2)  # ‖W(0)‖_F ≈ √n · scale


def test_rectangular_factor_shapes():
    fs = dm.init_factors((5, 3), 3, scale=1.0, seed=0, width=4)
    assert [f.shape for f in fs] == [(4, 3), (4, 4), (5, 4)]
    assert dm.product(fs).shape == (5, 3)


def test_balanced_factors_reproduce_the_product():
    W = np.random.default_rng(0).standard_normal((5, 4))
    for depth in (1, 2, 3, 5):
        fs = dm.balanced_factors(W, depth, seed=1)
        assert np.allclose(dm.product(fs), W, atol=1e-12)
        if depth > 1:
            assert dm.balancedness(fs) < 1e-12


def test_small_step_gd_keeps_balancedness(target):
    problem = dm.SensingProblem.random(target, 20, seed=1)
    fs = dm.init_factors(target.shape, 3, scale=0.5, kind="balanced", seed=2)
    traj = dm.train(problem, fs, lr=1e-4, steps=2000)
    # Under gradient flow balancedness is exactly conserved; GD drifts by O(lr²) per step.
    assert dm.balancedness(traj.factors) < 1e-5
    assert traj.loss[-1] < traj.loss[0]


def test_bad_factor_inputs():
    with pytest.raises(ValueError, match="depth must be a positive integer"):
        dm.init_factors((3, 3), 0, scale=1.0)
    with pytest.raises(ValueError, match="scale must be a finite number > 0"):
        dm.init_factors((3, 3), 2, scale=-1.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        dm.init_factors((3, 3), 2, scale=1.0, kind="xavier")
    with pytest.raises(ValueError, match="width must be a positive integer"):
        dm.init_factors((3, 3), 2, scale=1.0, width=0)
    with pytest.raises(ValueError, match=r"W_2 must accept W_1's output"):
        dm.product([np.ones((3, 2)), np.ones((3, 4))])
    with pytest.raises(ValueError, match="non-empty list"):
        dm.product([])
    with pytest.raises(ValueError, match="stack runs of one shape"):
        dm.stack_factors([[np.ones((2, 2))], [np.ones((3, 3))]])
