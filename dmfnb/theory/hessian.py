"""The exact Hessian of a factorized loss L(W_1, …, W_N) = ℓ(W_N ⋯ W_1) with respect to every factor entry.

Explained in the chapter *R saddles for rank R* (``book/saddles.ipynb``), where it certifies that the
plateaus of gradient descent sit next to saddle points and that the end point is a second-order
critical point.

For a loss ℓ that is quadratic in W (completion, sensing, least squares — every problem of
:mod:`dmfnb.problems`) the Hessian has two parts. Write A_j = W_N ⋯ W_{j+1} (n × d_j) and
B_j = W_{j−1} ⋯ W_1 (d_{j−1} × m), so that W = A_j W_j B_j, and G = ∇ℓ(W):

- the Gauss–Newton part Jᵀ H_W J, with J the Jacobian of vec W (its block for factor j is
  A_j ⊗ B_jᵀ in row-major vec) and H_W = ∇²ℓ the (constant) Hessian of ℓ in W;
- the curvature of the product contracted with G: for factors j < k the block
  ⟨G, A_k Y M_{kj} X B_j⟩ with M_{kj} = W_{k−1} ⋯ W_{j+1}, for the perturbations X of W_j and Y of W_k.

Parameters are flattened factor by factor, W_1 first, each in row-major (C) order — the order of
:func:`flatten_factors`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg

from .._validate import as_matrix_stack, as_real_array, check_bool, check_choice, check_integer
from ..factors import check_factors, product
from ..problems import check_problem

__all__ = [
    "factor_hessian",
    "flatten_factors",
    "hessian_eigs",
    "hessian_vector_product",
    "loss_hessian",
    "unflatten_factors",
]


def _single(factors) -> list[np.ndarray]:
    factors = check_factors(factors)
    if factors[0].ndim != 2:
        raise ValueError("the Hessian is computed for one factorization; pass unstacked factors")
    return [np.asarray(f, dtype=float) for f in factors]


def _chain(mats: Sequence[np.ndarray], size: int) -> np.ndarray:
    """mats[-1] ⋯ mats[0] (the engine's order); the size×size identity for an empty list."""
    out = np.eye(size)
    for f in mats:
        out = f @ out
    return out


def flatten_factors(factors: Sequence[np.ndarray]) -> np.ndarray:
    """One vector of all factor entries: W_1 first, each factor in row-major order."""
    return np.concatenate([np.asarray(f, dtype=float).ravel() for f in _single(factors)])


def unflatten_factors(vector, like: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Split a parameter vector back into matrices shaped like the factors ``like``."""
    like = _single(like)
    vector = as_real_array("vector", vector, what="a flat parameter vector").astype(float)
    sizes = [f.size for f in like]
    if vector.shape != (sum(sizes),):
        raise ValueError(f"vector must have shape ({sum(sizes)},) for these factors, got {vector.shape}")
    parts = np.split(vector, np.cumsum(sizes)[:-1])
    return [p.reshape(f.shape) for p, f in zip(parts, like, strict=True)]


def _check_problem(problem, factors=None):
    check_problem(problem)
    if factors is not None:
        problem._check(product(factors))  # the factors' product must have the problem's shape
    if problem.batch is not None:
        raise ValueError("the Hessian is computed for one problem; pass an unstacked problem")


def _linear_part(problem):
    """D ↦ ∇²ℓ[D] = ∇ℓ(D) − ∇ℓ(0), exact because ∇ℓ is affine for a quadratic loss."""
    g0 = problem.gradient(np.zeros(problem.shape))

    def apply(D):
        return problem.gradient(D) - g0

    return apply


def loss_hessian(problem, *, check: bool = True) -> np.ndarray:
    """H_W = ∇²ℓ, the (nm × nm) Hessian of a quadratic loss in the end-to-end matrix (row-major vec).

    Built column by column from the affine gradient, H_W e_k = ∇ℓ(E_k) − ∇ℓ(0), with all nm unit
    matrices E_k evaluated as one stack. With ``check`` (default) the gradient is first tested for
    being affine, so a non-quadratic loss raises ``ValueError`` instead of giving a wrong Hessian.
    """
    _check_problem(problem)
    check = check_bool("check", check)
    n, m = problem.shape
    apply = _linear_part(problem)
    if check:
        rng = np.random.default_rng(0)
        D1, D2 = rng.standard_normal((2, n, m))
        lhs, rhs = apply(D1 + 2.0 * D2), apply(D1) + 2.0 * apply(D2)
        if not np.allclose(lhs, rhs, rtol=1e-8, atol=1e-10 * (1.0 + np.abs(rhs).max())):
            raise ValueError("the problem's gradient is not affine in W: the loss is not quadratic, "
                             "and this exact Hessian applies only to quadratic losses")
    size = n * m
    H = np.empty((size, size))
    chunk = max(1, 2_000_000 // max(size, 1))  # bound the temporary stack to ~16 MB
    eye = np.eye(size)
    for start in range(0, size, chunk):
        stop = min(size, start + chunk)
        H[:, start:stop] = apply(eye[start:stop].reshape(-1, n, m)).reshape(stop - start, size).T
    return 0.5 * (H + H.T)


def _prefix_suffix(factors, shape):
    """A_j = W_N ⋯ W_{j+1} and B_j = W_{j−1} ⋯ W_1 for every j (0-based lists)."""
    n, m = shape
    N = len(factors)
    A = [_chain(factors[j + 1:], factors[j].shape[0]) if j < N - 1 else np.eye(n) for j in range(N)]
    B = [_chain(factors[:j], m) for j in range(N)]
    return A, B


def factor_hessian(problem, factors: Sequence[np.ndarray], *, H_W: np.ndarray | None = None) -> np.ndarray:
    """The exact Hessian of L(W_1, …, W_N) = ℓ(W_N ⋯ W_1) in all factor entries, a dense (P × P) array.

    Parameters
    ----------
    problem
        One (unstacked) problem whose loss is quadratic in W: completion, sensing or least squares.
    factors
        ``[W_1, …, W_N]`` (unstacked).
    H_W
        Optional precomputed :func:`loss_hessian` of the problem (it does not depend on the factors),
        to save its construction when the Hessian is taken at many points.

    Returns
    -------
    numpy.ndarray
        Symmetric (P × P), P = Σ_j size(W_j), in the order of :func:`flatten_factors`.
    """
    factors = _single(factors)
    _check_problem(problem, factors)
    N = len(factors)
    n, m = problem.shape
    if H_W is None:
        H_W = loss_hessian(problem)
    else:
        H_W = as_matrix_stack("H_W", H_W)
        if H_W.shape != (n * m, n * m):
            raise ValueError(f"H_W must be the ({n * m}, {n * m}) loss_hessian(problem), got shape "
                             f"{H_W.shape}")
    W = _chain(factors, m)
    G = problem.gradient(W)
    A, B = _prefix_suffix(factors, (n, m))
    sizes = [f.size for f in factors]
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    # Gauss–Newton part: J = [A_j ⊗ B_jᵀ]_j.
    J = np.concatenate([np.kron(A[j], B[j].T) for j in range(N)], axis=1)
    H = J.T @ H_W @ J
    # Second-order part of the product, contracted with G (pairs of distinct factors).
    for j in range(N):
        for k in range(j + 1, N):
            C = A[k].T @ G @ B[j].T  # (d_k, d_{j−1})
            M = _chain(factors[j + 1:k], factors[j].shape[0])  # (d_{k−1}, d_j)
            dk, dk1 = factors[k].shape
            dj, dj1 = factors[j].shape
            block = np.einsum("ad,bc->abcd", C, M).reshape(dk * dk1, dj * dj1)
            H[offsets[k]:offsets[k + 1], offsets[j]:offsets[j + 1]] += block
            H[offsets[j]:offsets[j + 1], offsets[k]:offsets[k + 1]] += block.T
    return 0.5 * (H + H.T)


def hessian_vector_product(problem, factors: Sequence[np.ndarray], vector) -> np.ndarray:
    """The exact product of the Hessian with a vector, without forming the Hessian (O(N²) matmuls).

    ``vector`` and the result are flat, in the order of :func:`flatten_factors`. Differentiates the
    backward sweep ∂L/∂W_j = A_jᵀ G B_jᵀ along V = (V_1, …, V_N): the change of G is
    ∇²ℓ[Σ_k A_k V_k B_k], and A_j, B_j change through the factors they contain.
    """
    factors = _single(factors)
    _check_problem(problem, factors)
    N = len(factors)
    n, m = problem.shape
    V = unflatten_factors(vector, factors)
    A, B = _prefix_suffix(factors, (n, m))
    W = _chain(factors, m)
    G = problem.gradient(W)
    dW = sum(A[k] @ V[k] @ B[k] for k in range(N))
    dG = _linear_part(problem)(dW)

    def replaced(lo, hi, k, size):
        """W_hi ⋯ W_lo (0-based, inclusive range [lo, hi)) with factor k replaced by V_k."""
        mats = [V[i] if i == k else factors[i] for i in range(lo, hi)]
        return _chain(mats, size)

    out = []
    for j in range(N):
        dA = np.zeros_like(A[j])
        for k in range(j + 1, N):
            dA += replaced(j + 1, N, k, factors[j].shape[0])
        dB = np.zeros_like(B[j])
        for k in range(j):
            dB += replaced(0, j, k, m)
        out.append(A[j].T @ dG @ B[j].T + dA.T @ G @ B[j].T + A[j].T @ G @ dB.T)
    return np.concatenate([o.ravel() for o in out])


def hessian_eigs(H, k: int = 1, *, which: str = "smallest") -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` smallest (or largest) eigenvalues of a symmetric matrix and their eigenvectors.

    Uses :func:`scipy.linalg.eigh` with ``subset_by_index`` and the MRRR driver (``evr``), so only
    the requested eigenpairs are computed. Eigenvalues come in ascending order for ``"smallest"``
    and descending for ``"largest"``; ``vectors[:, i]`` belongs to ``values[i]`` (unit norm).
    """
    H = np.asarray(as_matrix_stack("H", H), dtype=float)
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H must be a square matrix, got shape {H.shape}")
    size = H.shape[0]
    try:
        check_integer("k", k, minimum=1, maximum=size)
    except TypeError:
        raise TypeError(f"k must be an integer between 1 and {size}, got {k!r}") from None
    except ValueError:
        raise ValueError(f"k must be an integer between 1 and {size}, got {k!r}") from None
    check_choice("which", which, ("smallest", "largest"))
    if not np.allclose(H, H.T, rtol=1e-8, atol=1e-12 * float(np.max(np.abs(H)))):
        raise ValueError("H must be symmetric (eigh reads one triangle only); pass (H + H.T) / 2")
    if which == "smallest":
        idx = [0, k - 1]
    elif which == "largest":
        idx = [size - k, size - 1]
    else:
        raise ValueError(f"which must be 'smallest' or 'largest', got {which!r}")
    values, vectors = scipy.linalg.eigh(H, subset_by_index=idx, driver="evr")
    if which == "largest":
        values, vectors = values[::-1], vectors[:, ::-1]
    return values, vectors
