"""Deep factorizations W = W_N ⋯ W_1: initializations, the end-to-end product and its gradients.

Ordering used everywhere in ``dmfnb``: ``factors[0]`` is W_1, the factor applied first (it touches
the columns of W), and ``factors[-1]`` is W_N. Factor j has shape (d_j, d_{j−1}) with d_0 = m and
d_N = n for an n×m end-to-end matrix. Every factor may carry a leading batch axis (B, d_j, d_{j−1}).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from ._validate import (
    as_matrix_stack,
    check_choice,
    check_float_dtype,
    check_integer,
    check_matrix_shape,
    check_number,
    check_seed,
    factor_arrays,
    show,
)
from .problems import check_problem

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
    w = min(n, m) if width is None else check_integer("width", width, minimum=1)
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

    Raises
    ------
    TypeError
        For arguments of the wrong type, or a ``dtype`` other than float32/float64 (an integer
        dtype would truncate the small entries to zeros; float16 is not supported by the SVDs).
    ValueError
        For a shape that is not a pair of positive integers, ``depth`` or ``width`` < 1, a scale
        that is not a positive finite number, an unknown ``kind``, or a scale so large that the
        factors overflow.
    """
    shape = check_matrix_shape(shape)
    check_integer("depth", depth, minimum=1)
    check_number("scale", scale, low=0)
    check_choice("kind", kind, INIT_KINDS)
    check_seed("seed", seed)
    dtype = check_float_dtype("dtype", dtype)
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
    factors = [f.astype(dtype, copy=False) for f in factors]
    _check_representable(factors, "scale", scale)
    return factors


def _check_representable(factors, name, value) -> None:
    """Raise if a factor overflowed (inf) or its entries all underflowed to zero in its dtype."""
    for f in factors:
        if not np.all(np.isfinite(f)) or (not np.any(f) and value > 0):
            raise ValueError(
                f"{name}={show(value)} is outside what {f.dtype} represents: the factors "
                f"{'overflow' if not np.all(np.isfinite(f)) else 'underflow to zero'}; use a "
                "scale nearer 1 or float64"
            )


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

    Returns
    -------
    list of numpy.ndarray
        The float64 factors, W_1 first.

    Raises
    ------
    TypeError, ValueError
        If ``W`` is not one finite real matrix, ``depth``/``width`` not positive integers, or
        ``seed`` not a seed.
    """
    W = as_matrix_stack("W", W)
    if W.ndim != 2:
        raise ValueError(f"W must be one matrix of shape (n, m), got shape {W.shape}")
    W = np.asarray(W, dtype=float)
    check_integer("depth", depth, minimum=1)
    check_seed("seed", seed)
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
    """Stack B factor lists of one shape into one list of (B, d_j, d_{j−1}) arrays.

    Raises
    ------
    TypeError, ValueError
        If ``runs`` is not a non-empty list of valid factor lists (see :func:`product`) of one
        shape, each unstacked.
    """
    if isinstance(runs, (np.ndarray, str)) or not hasattr(runs, "__iter__"):
        raise TypeError(f"runs must be a list of factor lists [[W_1, …, W_N], …], got {show(runs)}")
    runs = [check_factors(r, f"runs[{i}]") for i, r in enumerate(runs)]
    if not runs:
        raise ValueError("runs is empty; pass at least one list of factors")
    for i, r in enumerate(runs):
        if r[0].ndim != 2:
            raise ValueError(f"runs[{i}] is already stacked; pass unstacked factor lists")
    shapes = [f.shape for f in runs[0]]
    for i, r in enumerate(runs):
        if [f.shape for f in r] != shapes:
            raise ValueError(
                f"runs[{i}] has factor shapes {[f.shape for f in r]} but runs[0] has {shapes}; "
                "stack runs of one shape and depth"
            )
    return [np.stack([r[j] for r in runs]) for j in range(len(shapes))]


def check_factors(factors, name: str = "factors") -> list[np.ndarray]:
    """Validate a factor list (chained shapes, one batch size, finite) and return it as arrays.

    Raises ``TypeError`` for a non-list (a single array is refused: it would be read as a list of
    its rows) or non-float32/float64 factors, and ``ValueError`` for empty, non-finite or
    mismatched factors.
    """
    def chained(j, f, arrays):
        if j and f.shape[-1] != arrays[j - 1].shape[-2]:
            raise ValueError(
                f"{name}[{j}] (W_{j + 1}) has {f.shape[-1]} columns but {name}[{j - 1}] "
                f"(W_{j}) has {arrays[j - 1].shape[-2]} rows; W_{j + 1} must accept W_{j}'s output"
            )

    what = f"{name} must be a non-empty list [W_1, …, W_N] of matrices"
    return factor_arrays(factors, name, empty=what, too_few=f"{what}, got []", minimum=1,
                         shape="(d_out, d_in)", link=chained)


def product(factors: Sequence[np.ndarray]) -> np.ndarray:
    """The end-to-end matrix W = W_N ⋯ W_1 (``factors[0]`` = W_1 is applied first).

    Raises
    ------
    TypeError, ValueError
        If ``factors`` is not a non-empty list of finite float matrices with chained shapes.
    """
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
        Computed in the factors' dtype, like :func:`dmfnb.train`.

    Raises
    ------
    TypeError, ValueError
        For a non-problem, bad factors, factors of mixed dtypes, or a product whose shape does not
        match the problem.
    """
    check_problem(problem)
    factors = check_factors(factors)
    dtype = _one_dtype(factors)
    problem._check(product(factors))
    if problem.dtype != dtype and not _casts_output(problem):
        # Completion and least squares write their gradient into the factors' dtype buffer,
        # which numpy refuses for a wider problem: compute in the factors' dtype, as train does.
        problem = problem.astype(dtype)
    bp = Backprop(problem, factors)
    loss = bp.evaluate(factors)
    return loss, [g.copy() for g in bp.grads]


def _one_dtype(factors) -> np.dtype:
    """The common dtype of the factors; mixed float32/float64 lists are refused."""
    dtypes = {f.dtype for f in factors}
    if len(dtypes) > 1:
        raise TypeError(
            f"factors mix dtypes {sorted(str(d) for d in dtypes)}; convert them to one, e.g. "
            "[f.astype(np.float64) for f in factors]"
        )
    return factors[0].dtype


def _casts_output(problem) -> bool:
    # SensingProblem copies its gradient into ``out`` (casting); keep its numbers as they were.
    from .problems import SensingProblem

    return isinstance(problem, SensingProblem)


def balancedness(factors: Sequence[np.ndarray]) -> float:
    """max_j ‖W_{j+1}ᵀ W_{j+1} − W_j W_jᵀ‖_F / ‖W_j W_jᵀ‖_F: zero for a balanced factorization.

    0 for a single factor. A zero factor W_j makes its term undefined: it is then measured
    against ‖W_{j+1}ᵀW_{j+1}‖_F instead (and is 0 when both vanish).

    Raises
    ------
    TypeError, ValueError
        For invalid factors (see :func:`product`).
    """
    factors = check_factors(factors)
    worst = 0.0
    for lo, hi in itertools.pairwise(factors):
        a = np.swapaxes(hi, -1, -2) @ hi
        b = lo @ np.swapaxes(lo, -1, -2)
        num = np.linalg.norm(a - b, axis=(-2, -1))
        den = np.linalg.norm(b, axis=(-2, -1))
        # A zero W_j would give 0/0 or x/0: measure against the other side instead.
        den = np.where(den > 0, den, np.linalg.norm(a, axis=(-2, -1)))
        ratio = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        worst = max(worst, float(np.max(ratio)))
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
