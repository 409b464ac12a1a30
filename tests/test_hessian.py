import numpy as np
import pytest
from conftest import PROBLEM_KINDS, make_problem

import dmfnb as dm
from dmfnb.theory.hessian import flatten_factors, hessian_vector_product


def _fd_hessian(problem, factors, h=1e-5):
    """Central finite differences of dm.gradients, column by column."""
    theta = flatten_factors(factors)
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        gp = flatten_factors(dm.gradients(problem, dm.unflatten_factors(theta + e, factors))[1])
        gm = flatten_factors(dm.gradients(problem, dm.unflatten_factors(theta - e, factors))[1])
        cols.append((gp - gm) / (2 * h))
    return np.array(cols).T


@pytest.mark.parametrize("kind", PROBLEM_KINDS)
@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_hessian_matches_finite_differences_of_gradients(kind, depth, target):
    problem = make_problem(kind, target)
    factors = dm.init_factors(target.shape, depth, scale=0.8, seed=3, width=3)
    H = dm.factor_hessian(problem, factors)
    fd = _fd_hessian(problem, factors)
    assert H.shape == (fd.shape[0],) * 2
    assert np.allclose(H, H.T)
    scale = np.abs(H).max()
    assert np.abs(H - fd).max() <= 1e-6 * scale, np.abs(H - fd).max() / scale


@pytest.mark.parametrize("kind", PROBLEM_KINDS)
@pytest.mark.parametrize("depth", [2, 3])
def test_hessian_vector_product_matches_dense(kind, depth, target):
    problem = make_problem(kind, target)
    factors = dm.init_factors(target.shape, depth, scale=1.3, seed=5)
    H = dm.factor_hessian(problem, factors)
    rng = np.random.default_rng(1)
    for _ in range(3):
        v = rng.standard_normal(H.shape[0])
        assert np.allclose(hessian_vector_product(problem, factors, v), H @ v, rtol=1e-10,
                           atol=1e-10 * np.abs(H).max())


def test_loss_hessian_of_least_squares_with_covariance():
    target = dm.low_rank_target((4, 3), 2, seed=0)
    rng = np.random.default_rng(2)
    X = rng.standard_normal((10, 3))
    cov = X.T @ X / 10
    problem = dm.LeastSquaresProblem(target, cov)
    assert np.allclose(dm.loss_hessian(problem), np.kron(np.eye(4), cov))
    comp = dm.CompletionProblem.random(target, 5, seed=1)
    assert np.allclose(dm.loss_hessian(comp), np.diag(2.0 * comp.mask.ravel() / 5))


def test_origin_of_depth_two_least_squares_has_eigenvalue_minus_top_singular_value():
    # L = ½‖W₂W₁ − W*‖²: at the origin the Hessian is the bilinear form −2⟨W*, YX⟩/2, whose
    # smallest eigenvalue is −σ₁(W*).
    target = dm.low_rank_target((5, 5), 3, seed=4)
    problem = dm.LeastSquaresProblem(target)
    zeros = [np.zeros((5, 5)), np.zeros((5, 5))]
    vals, vecs = dm.hessian_eigs(dm.factor_hessian(problem, zeros), 2)
    s = np.linalg.svd(target, compute_uv=False)
    assert np.isclose(vals[0], -s[0])
    # the eigenvector's W₂ part points along u₁, its W₁ part along v₁
    u, _, vt = np.linalg.svd(target)
    V1, V2 = dm.unflatten_factors(vecs[:, 0], zeros)
    assert np.isclose(np.linalg.norm(u[:, 0] @ V2), np.linalg.norm(V2))
    assert np.isclose(np.linalg.norm(V1 @ vt[0]), np.linalg.norm(V1))


def test_hessian_eigs_matches_numpy():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((12, 12))
    H = A + A.T
    ref = np.linalg.eigvalsh(H)
    lo, vlo = dm.hessian_eigs(H, 3)
    hi, vhi = dm.hessian_eigs(H, 2, which="largest")
    assert np.allclose(lo, ref[:3]) and np.allclose(hi, ref[::-1][:2])
    assert np.allclose(H @ vlo, vlo * lo) and np.allclose(H @ vhi, vhi * hi)
    with pytest.raises(ValueError, match="which"):
        dm.hessian_eigs(H, 1, which="middle")
    with pytest.raises(ValueError, match="k must"):
        dm.hessian_eigs(H, 0)


def test_flatten_roundtrip_and_errors(target):
    factors = dm.init_factors(target.shape, 3, scale=1.0, seed=0, width=4)
    back = dm.unflatten_factors(flatten_factors(factors), factors)
    assert all(np.array_equal(a, b) for a, b in zip(back, factors, strict=True))
    with pytest.raises(ValueError, match="shape"):
        dm.unflatten_factors(np.zeros(3), factors)
    stacked = dm.stack_factors([factors, factors])
    with pytest.raises(ValueError, match="unstacked"):
        dm.factor_hessian(dm.LeastSquaresProblem(target), stacked)


def test_non_quadratic_loss_is_refused(target):
    class Quartic(dm.LeastSquaresProblem):
        def loss_and_gradient(self, W, out=None):
            d = W - self.target
            return 0.25 * float(np.sum(d**4)), d**3

    with pytest.raises(ValueError, match="not quadratic"):
        dm.loss_hessian(Quartic(target))
