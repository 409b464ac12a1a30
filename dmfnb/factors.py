"""Deep factorizations W = W_N ⋯ W_1: initializations, the end-to-end product and its gradients.

Ordering used everywhere in ``dmfnb``: ``factors[0]`` is W_1, the factor applied first (it touches
the columns of W), and ``factors[-1]`` is W_N. Factor j has shape (d_j, d_{j−1}) with d_0 = m and
d_N = n for an n×m end-to-end matrix. Every factor may carry a leading batch axis (B, d_j, d_{j−1}).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ._validate import check_positive
from .targets import _check_shape

__all__ = [
    "balanced_factors",
    "balancedness",
    "gradients",
    "init_factors",
    "product",
    "stack_factors",
]

INIT_KINDS = ("gaussian", "balanced", "identity", "orthogonal")


def _widths(shape, depth, width):
    n, m = shape
    w = min(n, m) if width is None else width
    check_positive("width", w, integer=True)
    return [m] + [w] * (depth - 1) + [n]


def init_factors(
    shape: tuple[int, int],
    depth: int,
    *,
    scale: float,
    kind: str = "gaussian",
    seed: int | np.random.Generator | None = None,
    width: int | None = None,
    dtype=np.float64,
) -> list[np.ndarray]:
    """Initial factors of a depth-``depth`` factorization of an n×m matrix.

    Parameters
    ----------
    shape
        ``(n, m)``, the shape of the end-to-end matrix W = W_N ⋯ W_1.
    depth
        Number of factors N ≥ 1.
    scale
        Size of the initialization; the meaning depends on ``kind``:

        - ``"gaussian"`` (Arora et al. 2019's code): every entry of every factor i.i.d.
          N(0, s²) with s = scale^{1/N}/√width, so ‖W(0)‖_F ≈ √n · scale for square W.
          Not balanced.
        - ``"balanced"``: the gaussian product W(0), split by its SVD into exactly balanced
          factors (W_{j+1}ᵀW_{j+1} = W_j W_jᵀ) with the same product; see :func:`balanced_factors`.
        - ``"identity"``: each factor scale^{1/N}·I (rectangular identities at the ends), so
          W(0) = scale·I. Balanced for square W.
        - ``"orthogonal"``: each factor scale^{1/N} times a random orthogonal matrix. Balanced for
          square W.
    kind
        One of ``"gaussian"``, ``"balanced"``, ``"identity"``, ``"orthogonal"``.
    seed
        Seed or ``numpy.random.Generator``.
    width
        Hidden width d_1 = … = d_{N−1}; default ``min(n, m)`` (full width).
    dtype
        Floating dtype of the factors (float64 by default).

    Returns
    -------
    list of numpy.ndarray
        ``factors[0]`` = W_1 (shape (width, m)) … ``factors[-1]`` = W_N (shape (n, width)).
    """
    shape = _check_shape(shape)
    check_positive("depth", depth, integer=True)
    check_positive("scale", scale)
    if kind not in INIT_KINDS:
        raise ValueError(f"kind must be one of {INIT_KINDS}, got {kind!r}")
    dims = _widths(shape, depth, width)
    rng = np.random.default_rng(seed)
    c = scale ** (1.0 / depth)
    if kind in ("gaussian", "balanced"):
        # dims[1] is the hidden width (n at depth 1): ‖W(0)‖_F ≈ √n·scale as in the authors' code.
        s = c / np.sqrt(dims[1])
        factors = [s * rng.standard_normal((dims[j + 1], dims[j])) for j in range(depth)]
        if kind == "balanced":
            factors = balanced_factors(product(factors), depth, width=width, seed=rng)
    elif kind == "identity":
        factors = [c * np.eye(dims[j + 1], dims[j]) for j in range(depth)]
    else:
        factors = [c * _orthogonal(rng, dims[j + 1], dims[j]) for j in range(depth)]
    return [f.astype(dtype, copy=False) for f in factors]


def _orthogonal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """Random matrix with orthonormal columns (rows ≥ cols) or rows, Haar distributed."""
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q *= np.sign(np.diag(r))
    return q if rows >= cols else q.T


def balanced_factors(
    W, depth: int, *, width: int | None = None, seed: int | np.random.Generator | None = None
) -> list[np.ndarray]:
    """Exactly balanced factors whose product is ``W``.

    With W = U S Vᵀ (thin SVD, r = min(n, m, width) values kept), the factors are
    W_1 = Q_1 S^{1/N} Vᵀ, W_j = Q_j S^{1/N} Q_{j−1}ᵀ, W_N = U S^{1/N} Q_{N−1}ᵀ with random
    Q_j (width × r, orthonormal columns), so that W_{j+1}ᵀ W_{j+1} = W_j W_jᵀ for every j — the
    balancedness under which Arora et al.'s singular-value dynamics hold. The product equals W
    exactly when rank W ≤ width.

    Parameters
    ----------
    W
        The end-to-end matrix, shape (n, m).
    depth
        Number of factors N ≥ 1.
    width
        Hidden width (default ``min(n, m)``).
    seed
        Seed or generator for the Q_j.
    """
    W = np.asarray(W, dtype=float)
    if W.ndim != 2:
        raise ValueError(f"W must be one matrix of shape (n, m), got shape {W.shape}")
    check_positive("depth", depth, integer=True)
    if depth == 1:
        return [W.copy()]
    dims = _widths(W.shape, depth, width)
    rng = np.random.default_rng(seed)
    u, s, vt = np.linalg.svd(W, full_matrices=False)
    r = min(len(s), dims[1])
    root = s[:r] ** (1.0 / depth)
    qs = [_orthogonal(rng, dims[1], r) for _ in range(depth - 1)]
    factors = [qs[0] * root @ vt[:r]]
    factors += [qs[j] * root @ qs[j - 1].T for j in range(1, depth - 1)]
    factors.append(u[:, :r] * root @ qs[-1].T)
    return factors


def stack_factors(runs: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """Stack B factor lists of one shape into one list of (B, d_j, d_{j−1}) arrays."""
    runs = [list(r) for r in runs]
    if not runs:
        raise ValueError("runs is empty; pass at least one list of factors")
    shapes = [f.shape for f in runs[0]]
    for i, r in enumerate(runs):
        if [f.shape for f in r] != shapes:
            raise ValueError(
                f"runs[{i}] has factor shapes {[f.shape for f in r]} but runs[0] has {shapes}; "
                "stack runs of one shape and depth"
            )
    return [np.stack([r[j] for r in runs]) for j in range(len(shapes))]


def check_factors(factors) -> list[np.ndarray]:
    """Validate a factor list (chained shapes, one batch size, finite) and return it as arrays."""
    if isinstance(factors, np.ndarray) or len(factors) == 0:
        raise ValueError("factors must be a non-empty list [W_1, …, W_N] of matrices")
    factors = [np.asarray(f) for f in factors]
    ndim = factors[0].ndim
    for j, f in enumerate(factors):
        if f.ndim not in (2, 3) or f.ndim != ndim:
            raise ValueError(
                f"factors[{j}] has shape {f.shape}; every factor must be (d_out, d_in), or all "
                "(B, d_out, d_in) for a batch"
            )
        if f.dtype.kind != "f":
            raise TypeError(f"factors[{j}] has dtype {f.dtype}; use floating-point factors")
        if j and f.shape[-1] != factors[j - 1].shape[-2]:
            raise ValueError(
                f"factors[{j}] (W_{j + 1}) has {f.shape[-1]} columns but factors[{j - 1}] "
                f"(W_{j}) has {factors[j - 1].shape[-2]} rows; W_{j + 1} must accept W_{j}'s output"
            )
        if ndim == 3 and f.shape[0] != factors[0].shape[0]:
            raise ValueError(f"factors[{j}] has batch size {f.shape[0]}, factors[0] has "
                             f"{factors[0].shape[0]}")
    return factors


def product(factors: Sequence[np.ndarray]) -> np.ndarray:
    """The end-to-end matrix W = W_N ⋯ W_1 (``factors[0]`` = W_1 is applied first)."""
    factors = check_factors(factors)
    W = factors[0]
    for f in factors[1:]:
        W = f @ W
    return W.copy() if len(factors) == 1 else W


def gradients(problem, factors: Sequence[np.ndarray]) -> tuple[np.ndarray | float, list[np.ndarray]]:
    """Loss and its gradient with respect to every factor.

    With P_j = W_j ⋯ W_1 and G = ∇ℓ(W), the gradient of factor j is
    (W_N ⋯ W_{j+1})ᵀ G P_{j−1}ᵀ, computed by one forward and one backward sweep: 3(N−1) matrix
    products per evaluation, not O(N²).

    Returns
    -------
    loss, grads
        ``loss`` as ``problem.loss`` returns it; ``grads[j]`` has the shape of ``factors[j]``.
    """
    factors = check_factors(factors)
    problem._check(product(factors))
    bp = Backprop(problem, factors)
    loss = bp.evaluate(factors)
    return loss, [g.copy() for g in bp.grads]


def balancedness(factors: Sequence[np.ndarray]) -> float:
    """max_j ‖W_{j+1}ᵀ W_{j+1} − W_j W_jᵀ‖_F / ‖W_j W_jᵀ‖_F: zero for a balanced factorization."""
    factors = check_factors(factors)
    worst = 0.0
    for lo, hi in itertools.pairwise(factors):
        a = np.swapaxes(hi, -1, -2) @ hi
        b = lo @ np.swapaxes(lo, -1, -2)
        worst = max(worst, float(np.max(np.linalg.norm(a - b, axis=(-2, -1))
                                        / np.linalg.norm(b, axis=(-2, -1)))))
    return worst


class Backprop:
    """Preallocated forward/backward sweep computing the loss and every factor's gradient.

    With P_j = W_j ⋯ W_1 and G = ∇ℓ(W): forward P_j = W_j P_{j−1}; backward
    B_N = G, grad_j = B_j P_{j−1}ᵀ, B_{j−1} = W_jᵀ B_j, and grad_1 = B_1.
    """

    def __init__(self, problem, factors: list[np.ndarray], xp=np):
        self.problem = problem
        self.xp = xp
        self.depth = len(factors)
        lead = factors[0].shape[:-2]
        if problem.batch is not None:
            lead = (problem.batch,)
        dtype = np.result_type(*factors)
        m = factors[0].shape[-1]
        self.prefix = [None] + [
            xp.empty((*lead, f.shape[-2], m), dtype) for f in factors[1:]
        ]
        self.grads = [xp.empty((*lead, *f.shape[-2:]), dtype) for f in factors]
        self.back = [xp.empty((*lead, f.shape[-1], m), dtype) for f in factors[1:]]
        self.G = self.grads[0] if self.depth == 1 else xp.empty((*lead, *problem.shape), dtype)
        # Transposed views of the prefix buffers never change: make them once (tiny problems
        # spend much of a step in such Python-level calls).
        self.prefix_T = [None] + [b.swapaxes(-1, -2) for b in self.prefix[1:]]
        self.W = None

    def forward(self, factors):
        """Compute W = W_N ⋯ W_1 (kept as ``self.W``), the loss and G = ∇ℓ(W); return the loss."""
        P = factors[0]
        for j in range(1, self.depth):
            P = self.xp.matmul(factors[j], P, out=self.prefix[j])
        self.W = P
        loss, G = self.problem.loss_and_gradient(P, out=self.G)
        if G is not self.G:  # a problem that ignored ``out``
            self.G[...] = G
        return loss

    def backward(self, factors, scale=None):
        """Fill ``self.grads`` with ∂ℓ/∂W_j (times ``scale`` if given) from the last forward pass."""
        back, matmul = self.G, self.xp.matmul
        if scale is not None:
            back *= scale
        for j in range(self.depth - 1, 0, -1):
            matmul(back, factors[0].swapaxes(-1, -2) if j == 1 else self.prefix_T[j - 1], out=self.grads[j])
            nxt = self.grads[0] if j == 1 else self.back[j - 1]
            back = matmul(factors[j].swapaxes(-1, -2), back, out=nxt)

    def evaluate(self, factors, scale=None):
        """Loss, with ``self.grads`` filled: one forward and one backward pass."""
        loss = self.forward(factors)
        self.backward(factors, scale)
        return loss
