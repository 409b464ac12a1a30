"""Tensor (CP) factorization: W = Σ_r w_r^1 ⊗ ⋯ ⊗ w_r^N, trained on observed entries.

The model of Razin, Maman & Cohen (2021), *Implicit Regularization in Tensor Factorization*:
an order-N tensor W of shape (d_1, …, d_N) written as a sum of R rank-one *components*
W_r = w_r^1 ⊗ ⋯ ⊗ w_r^N. Factor n is the matrix A_n = [w_1^n … w_R^n] of shape (d_n, R), so
``factors[n][:, r]`` is w_r^n. Every factor may carry a leading batch axis (B, d_n, R) for B
runs trained at once. The order N = 2 is the matrix case: W = A_1 A_2ᵀ, a depth-2 factorization.

:class:`TensorCompletionProblem` is tensor completion: the mean squared error on observed
entries, the convention of :class:`dmfnb.CompletionProblem` and of the authors' code.
:func:`dmfnb.train` trains CP factors on it with the same loop, optimizers, records and stopping
rules as the matrix factorizations (the chapter *Beyond matrices: tensor factorization*).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from ._validate import (
    as_real_array,
    check_choice,
    check_float_dtype,
    check_integer,
    check_number,
    check_seed,
    factor_arrays,
    show,
)
from .problems import take_runs

__all__ = [
    "CPBackprop",
    "CPDenseBackprop",
    "TensorCompletionProblem",
    "balance_cp_factors",
    "check_cp_factors",
    "component_norms",
    "cp_evaluator",
    "cp_gradients",
    "cp_product",
    "cp_target",
    "init_cp_factors",
    "stack_cp_factors",
    "stack_tensor_problems",
    "tensor_rank",
]

CP_INIT_KINDS = ("gaussian", "balanced")


def _check_dims(shape, name: str = "shape") -> tuple[int, ...]:
    """``shape`` as a tuple of ≥ 2 positive integers (an order-N tensor, N ≥ 2)."""
    hint = f"{name} must be a tuple (d_1, …, d_N) of N ≥ 2 positive integers"
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__"):
        raise TypeError(f"{hint}, got {show(shape)}")
    if len(shape) < 2:
        raise ValueError(f"{hint}, got {show(shape)} (order 1 is a vector: use N ≥ 2)")
    try:
        return tuple(check_integer(name, d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{hint}, got {show(shape)}") from None


def cp_target(shape: Sequence[int], rank: int, *, seed: int | np.random.Generator | None,
              norm: float = 1.0) -> np.ndarray:
    """A random tensor of CP rank ≤ ``rank``, built as in the authors' data generator.

    Every factor has i.i.d. standard normal entries; the tensor Σ_r w_r^1 ⊗ ⋯ ⊗ w_r^N is then
    rescaled to Frobenius norm ``norm`` (the authors' default is 1).

    Parameters
    ----------
    shape
        ``(d_1, …, d_N)``, N ≥ 2.
    rank
        Number of components R* ≥ 1.
    seed
        Seed or ``numpy.random.Generator``.
    norm
        ‖W*‖_F, a positive number.

    Returns
    -------
    numpy.ndarray
        The float64 tensor of shape ``shape``.

    Raises
    ------
    TypeError, ValueError
        For a shape that is not ≥ 2 positive integers, ``rank`` < 1, a bad seed or norm.
    """
    dims = _check_dims(shape)
    rank = check_integer("rank", rank, minimum=1)
    check_seed("seed", seed)
    norm = check_number("norm", norm, low=0, what="a positive finite number")
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal((d, rank)) for d in dims]
    W = cp_product(factors)
    return W * (norm / np.linalg.norm(W))


def check_cp_factors(factors, name: str = "factors") -> list[np.ndarray]:
    """Validate CP factors (N ≥ 2 matrices (d_n, R), or all (B, d_n, R)) and return them as arrays.

    Raises ``TypeError`` for a non-list or non-float32/float64 factors, and ``ValueError`` for
    fewer than two factors, empty, non-finite or mismatched factors (different R or B).
    """
    hint = f"{name} must be a list [A_1, …, A_N] of N ≥ 2 matrices of shape (d_n, R)"

    def one_rank(n, f, arrays):
        if f.shape[-1] != arrays[0].shape[-1]:
            raise ValueError(
                f"{name}[{n}] has {f.shape[-1]} components (columns) but {name}[0] has "
                f"{arrays[0].shape[-1]}; every factor holds one column per component"
            )

    too_few = (f"{hint}, got {len(factors)} factor(s)" if hasattr(factors, "__len__")
               else hint)
    arrays = factor_arrays(factors, name, empty=hint, too_few=too_few, minimum=2,
                           shape="(d_n, R)", link=one_rank)
    dtypes = {f.dtype for f in arrays}
    if len(dtypes) > 1:
        raise TypeError(
            f"{name} mix dtypes {sorted(str(d) for d in dtypes)}; convert them to one, e.g. "
            "[f.astype(np.float64) for f in factors]"
        )
    return arrays


def _khatri_rao(factors, out=None):
    """Rows of A_1 ⊙ ⋯ ⊙ A_k: (…, d_1⋯d_k, R), row (i_1, …, i_k) in C order; A_1 itself for
    k = 1. The last product is written into ``out`` when given (a buffer of the result's
    shape): a fresh array of that size costs its page faults on every step."""
    acc = factors[0]
    for n, f in enumerate(factors[1:], 2):
        shape = (*acc.shape[:-1], f.shape[-2], acc.shape[-1])
        dest = out.reshape(shape) if out is not None and n == len(factors) else None
        acc = np.multiply(acc[..., :, None, :], f[..., None, :, :], out=dest).reshape(
            *acc.shape[:-2], -1, acc.shape[-1])
    return acc


def cp_product(factors: Sequence[np.ndarray]) -> np.ndarray:
    """The tensor W = Σ_r A_1[:, r] ⊗ ⋯ ⊗ A_N[:, r], shape (d_1, …, d_N) or (B, d_1, …, d_N).

    Raises
    ------
    TypeError, ValueError
        For invalid factors (see :func:`check_cp_factors`).
    """
    factors = check_cp_factors(factors)
    stacked = factors[0].ndim == 3
    # The unfolding K_L K_Rᵀ of two Khatri–Rao products: one matrix product, never the
    # (…, ∏d_n, R) array of every component's tensor.
    k = len(factors) // 2
    W = np.matmul(_khatri_rao(factors[:k]), np.swapaxes(_khatri_rao(factors[k:]), -1, -2))
    dims = tuple(f.shape[-2] for f in factors)
    return W.reshape((factors[0].shape[0], *dims) if stacked else dims)


def component_norms(factors: Sequence[np.ndarray]) -> np.ndarray:
    """‖W_r‖_F = ∏_n ‖w_r^n‖ for every component: shape (R,) or (B, R).

    The Frobenius norm of a rank-one tensor is the product of its vectors' norms.
    """
    factors = check_cp_factors(factors)
    return np.prod([np.linalg.norm(f, axis=-2) for f in factors], axis=0)


def tensor_rank(factors: Sequence[np.ndarray], *, threshold: float = 0.01) -> np.ndarray | int:
    """The number of *significant* components: those with ‖W_r‖ > ``threshold`` · max_r ‖W_r‖.

    A measure of the tensor rank of the factorization (the CP rank is at most this count when
    the other components are negligible). An int, or (B,) ints for stacked factors.

    Raises
    ------
    TypeError, ValueError
        For invalid factors, or a threshold outside (0, 1).
    """
    threshold = check_number("threshold", threshold, low=0, high=1,
                             what="a number in (0, 1) (a fraction of the largest norm)")
    norms = component_norms(factors)
    count = np.sum(norms > threshold * norms.max(axis=-1, keepdims=True), axis=-1)
    return int(count) if np.ndim(count) == 0 else count


def init_cp_factors(
    shape: Sequence[int],
    components: int,
    *,
    std: float,
    kind: str = "gaussian",
    seed: int | np.random.Generator | None = None,
    dtype=np.float64,
) -> list[np.ndarray]:
    """Initial CP factors: every entry i.i.d. N(0, std²) (the authors' init), optionally balanced.

    Parameters
    ----------
    shape
        ``(d_1, …, d_N)``, the tensor's shape (N ≥ 2).
    components
        Number of components R ≥ 1 (the authors: R = ∏ of all d_n but the largest, 1000 for
        10×10×10×10).
    std
        Standard deviation of every entry, a positive number (the authors: 5e-3).
    kind
        ``"gaussian"``: as drawn. ``"balanced"``: each component's vectors then rescaled to one
        norm, their geometric mean, so ‖w_r^1‖ = ⋯ = ‖w_r^N‖ and W(0) is unchanged (the
        hypothesis of the component-norm dynamics; see :func:`balance_cp_factors`).
    seed
        Seed or ``numpy.random.Generator``.
    dtype
        float32 or float64.

    Returns
    -------
    list of numpy.ndarray
        ``factors[n]`` of shape (d_n, R).

    Raises
    ------
    TypeError, ValueError
        For a bad shape, ``components`` < 1, a non-positive std, an unknown kind, a bad seed or
        dtype, or a std so small or large that the factors underflow or overflow in ``dtype``.
    """
    dims = _check_dims(shape)
    components = check_integer("components", components, minimum=1)
    std = check_number("std", std, low=0, what="a positive finite number")
    check_choice("kind", kind, CP_INIT_KINDS)
    check_seed("seed", seed)
    dtype = check_float_dtype("dtype", dtype)
    rng = np.random.default_rng(seed)
    factors = [std * rng.standard_normal((d, components)) for d in dims]
    if kind == "balanced":
        factors = balance_cp_factors(factors)
    factors = [f.astype(dtype, copy=False) for f in factors]
    for f in factors:
        if not np.all(np.isfinite(f)) or not np.any(f):
            raise ValueError(f"std={show(std)} is outside what {dtype} represents; use a std "
                             "nearer 1 or float64")
    return factors


def balance_cp_factors(factors: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Rescale each component's vectors to one norm (their geometric mean); W is unchanged.

    After it, ‖w_r^n‖ = ‖W_r‖^{1/N} for every n: the balancedness that gradient flow conserves
    (d/dt ‖w_r^n‖² is the same for every n) and under which the component norms follow
    :func:`dmfnb.theory.tensor_dynamics.component_norm_rate`. A component with a zero vector is
    left as it is.
    """
    factors = check_cp_factors(factors)
    norms = np.stack([np.linalg.norm(f, axis=-2) for f in factors])  # (N, …, R)
    with np.errstate(divide="ignore", invalid="ignore"):
        target = np.exp(np.mean(np.log(norms), axis=0))
        scale = np.where(norms > 0, target / norms, 1.0)
    return [f * s[..., None, :] for f, s in zip(factors, scale, strict=True)]


def stack_cp_factors(runs: Sequence[Sequence[np.ndarray]]) -> list[np.ndarray]:
    """Stack B CP factor lists of one shape into one list of (B, d_n, R) arrays.

    Raises
    ------
    TypeError, ValueError
        If ``runs`` is not a non-empty list of unstacked factor lists of one shape.
    """
    if isinstance(runs, (np.ndarray, str)) or not hasattr(runs, "__iter__"):
        raise TypeError(f"runs must be a list of factor lists [[A_1, …, A_N], …], got {show(runs)}")
    runs = [check_cp_factors(r, f"runs[{i}]") for i, r in enumerate(runs)]
    if not runs:
        raise ValueError("runs is empty; pass at least one list of factors")
    shapes = [f.shape for f in runs[0]]
    for i, r in enumerate(runs):
        if r[0].ndim != 2:
            raise ValueError(f"runs[{i}] is already stacked; pass unstacked factor lists")
        if [f.shape for f in r] != shapes:
            raise ValueError(f"runs[{i}] has factor shapes {[f.shape for f in r]} but runs[0] "
                             f"has {shapes}; stack runs of one shape")
    return [np.stack([r[n] for r in runs]) for n in range(len(shapes))]


class TensorCompletionProblem:
    """Tensor completion: recover ``target`` from its entries at ``indices``.

    Loss (the convention of :class:`dmfnb.CompletionProblem` and of the authors' code, a mean
    squared error with no factor ½): with the m observed multi-indices k = (i_1, …, i_N),

        ℓ(W) = (1/m) Σ_k (W_k − W*_k)²,   ∇ℓ(W) = (2/m) P_Ω(W − W*).

    Parameters
    ----------
    target
        W*, shape (d_1, …, d_N) (N ≥ 2), or (B, d_1, …, d_N) for a stack of B problems.
    indices
        Integer array (m, N) of observed multi-indices, or (B, m, N) for a stack. Repeated
        indices are refused (each entry is observed once).
    weights
        Optional per-observation weights summing to 1 per problem, (m,) or (B, m); default
        1/m. Zero weights let a stack hold problems with different m (padding).

    Raises
    ------
    TypeError
        For a non-real target, non-integer indices or non-real weights.
    ValueError
        For non-finite or zero targets, indices out of range or repeated, shapes that do not
        agree, or weights that are negative or do not sum to 1.
    """

    def __init__(self, target, indices, weights=None):
        idx = np.asarray(indices) if not isinstance(indices, (str, bytes)) else None
        if idx is None or idx.dtype.kind not in "iu":
            raise TypeError(f"indices must be an integer array (m, N) or (B, m, N), got {show(indices)}")
        if idx.ndim not in (2, 3) or idx.shape[-2] == 0:
            raise ValueError(f"indices must have shape (m, N) or (B, m, N) with m ≥ 1, got {idx.shape}")
        stacked = idx.ndim == 3
        order = idx.shape[-1]
        target = as_real_array("target", target, what="a tensor (d_1, …, d_N) or a stack (B, …)")
        if order < 2 or target.ndim != order + stacked:
            raise ValueError(
                f"indices name {order} modes, so target must have {order + stacked} axes "
                f"({'(B, ' if stacked else '('}d_1, …, d_{order})), got shape {target.shape}"
            )
        if stacked and target.shape[0] != idx.shape[0]:
            raise ValueError(f"target is a stack of {target.shape[0]} but indices of "
                             f"{idx.shape[0]}; pass one index array per problem")
        dims = target.shape[stacked:]
        if np.any(idx < 0) or np.any(idx >= np.array(dims)):
            raise ValueError(f"indices must lie inside the tensor of shape {dims}; got entries "
                             f"from {idx.min(axis=tuple(range(idx.ndim - 1))).tolist()} to "
                             f"{idx.max(axis=tuple(range(idx.ndim - 1))).tolist()}")
        lead = target.shape[:1] if stacked else ()
        m = idx.shape[-2]
        if weights is None:
            weights = np.full((*lead, m), 1.0 / m)
        weights = as_real_array("weights", weights, what=f"an array of shape {(*lead, m)}")
        if weights.shape != (*lead, m):
            raise ValueError(f"weights must have shape {(*lead, m)}, got {weights.shape}")
        sums = weights.sum(axis=-1)
        if np.any(weights < 0) or not np.allclose(sums, 1.0, rtol=0, atol=1e-9):
            raise ValueError(f"weights must be non-negative and sum to 1 per problem, got sums "
                             f"{show(sums)}; divide them by their sum")
        flat = np.ravel_multi_index(tuple(np.moveaxis(idx, -1, 0)), dims)
        for b, row in enumerate(flat.reshape(-1, m)):
            live = row[(weights.reshape(-1, m)[b] > 0)]
            if np.unique(live).size != live.size:
                raise ValueError("indices repeat an observed entry; observe each entry once")
        norm2 = np.sum(target.reshape(*lead, -1) ** 2, axis=-1)
        if not np.all(np.isfinite(norm2) & (norm2 >= np.finfo(target.dtype).tiny)):
            raise ValueError("target must be nonzero and its squared norm finite; rescale it")
        self.target = target
        self.indices = idx.astype(np.intp)
        self.weights = weights.astype(target.dtype)
        self.num_observed = (np.count_nonzero(weights, axis=-1) if stacked
                             else int(np.count_nonzero(weights)))
        self._flat = flat
        self.values = np.take_along_axis(target.reshape(*lead, -1), flat, axis=-1) if stacked \
            else target.reshape(-1)[flat]

    @classmethod
    def random(cls, target, num_observed: int, *,
               seed: int | np.random.Generator | None) -> TensorCompletionProblem:
        """Observe ``num_observed`` entries drawn uniformly without replacement (as the authors).

        Raises
        ------
        TypeError, ValueError
            For a bad target, ``num_observed`` not an integer in [1, target.size], or a bad seed.
        """
        target = as_real_array("target", target, what="a tensor (d_1, …, d_N)")
        _check_dims(target.shape, "target.shape")
        num_observed = check_integer("num_observed", num_observed, minimum=1)
        check_seed("seed", seed)
        if num_observed > target.size:
            raise ValueError(f"num_observed={num_observed} exceeds the {target.size} entries of "
                             "the target")
        rng = np.random.default_rng(seed)
        flat = rng.choice(target.size, size=num_observed, replace=False)
        return cls(target, np.stack(np.unravel_index(flat, target.shape), axis=-1))

    # -- shape and data ----------------------------------------------------------------------

    @property
    def batch(self) -> int | None:
        """Number of stacked problems, or ``None`` for a single one."""
        return self.target.shape[0] if self.indices.ndim == 3 else None

    @property
    def shape(self) -> tuple[int, ...]:
        """``(d_1, …, d_N)``, the shape of the tensor."""
        return tuple(self.target.shape[self.batch is not None:])

    @property
    def order(self) -> int:
        """The order N of the tensor."""
        return len(self.shape)

    @property
    def dtype(self) -> np.dtype:
        """Floating dtype of the problem's data."""
        return self.target.dtype

    @property
    def mask(self) -> np.ndarray:
        """Boolean tensor (or stack) of the observed entries."""
        lead = self.target.shape[:1] if self.batch is not None else ()
        mask = np.zeros((*lead, int(np.prod(self.shape))), dtype=bool)
        live = self.weights > 0
        if lead:
            for b in range(lead[0]):
                mask[b, self._flat[b][live[b]]] = True
        else:
            mask[self._flat[live]] = True
        return mask.reshape(self.target.shape)

    def astype(self, dtype) -> TensorCompletionProblem:
        """A copy whose floating-point data has ``dtype``; ``self`` if it has."""
        dtype = check_float_dtype("dtype", dtype)
        if dtype == self.dtype:
            return self
        clone = copy.copy(self)
        for name in ("target", "weights", "values"):
            setattr(clone, name, getattr(self, name).astype(dtype))
        return clone

    def _take(self, runs) -> TensorCompletionProblem:
        """The problems ``runs`` (indices) of a stack: the engine sheds the runs that stopped."""
        return take_runs(self, runs)

    # -- loss on the full tensor -------------------------------------------------------------

    def _check(self, W) -> np.ndarray:
        W = as_real_array("W", W, what="a tensor")
        want = self.target.shape if self.batch is not None else self.shape
        if W.shape != want:
            raise ValueError(f"W has shape {W.shape} but this problem's tensor is {want}")
        return W

    def _gather(self, W) -> np.ndarray:
        if self.batch is None:
            return W.reshape(-1)[self._flat]
        return np.take_along_axis(W.reshape(self.batch, -1), self._flat, axis=-1)

    def loss_and_gradient(self, W, out=None):
        """ℓ(W) and ∇ℓ(W) on the full tensor ``W`` (unchecked; see :meth:`loss`)."""
        resid = self._gather(W) - self.values
        loss = np.sum(self.weights * resid * resid, axis=-1)
        grad = np.zeros(W.shape, dtype=W.dtype) if out is None else out
        grad[...] = 0
        flat = grad.reshape(self.batch or 1, -1)
        np.put_along_axis(flat, self._flat.reshape(flat.shape[0], -1),
                          (2 * self.weights * resid).reshape(flat.shape[0], -1), axis=-1)
        return (float(loss) if np.ndim(loss) == 0 else loss), grad

    def loss(self, W) -> np.ndarray | float:
        """ℓ(W) for the full tensor ``W`` (a float, or B losses for a stack)."""
        return self.loss_and_gradient(self._check(W))[0]

    def gradient(self, W) -> np.ndarray:
        """∇ℓ(W) = 2 Σ_k weight_k (W_k − W*_k) e_k, shaped like ``W``."""
        return self.loss_and_gradient(self._check(W))[1]

    def reconstruction_error(self, W) -> np.ndarray | float:
        """‖W − W*‖²_F / ‖W*‖²_F (the book's convention; the authors report its square root)."""
        W = self._check(W)
        axes = tuple(range(W.ndim - self.order, W.ndim))
        err = np.sum((W - self.target) ** 2, axis=axes) / np.sum(self.target**2, axis=axes)
        return float(err) if np.ndim(err) == 0 else err

    def unobserved_error(self, W) -> np.ndarray | float:
        """‖P_Ωᶜ(W − W*)‖²_F / ‖P_Ωᶜ W*‖²_F: the error on the entries never observed."""
        W = self._check(W)
        hidden = ~self.mask
        axes = tuple(range(W.ndim - self.order, W.ndim))
        err = (np.sum(np.where(hidden, W - self.target, 0) ** 2, axis=axes)
               / np.sum(np.where(hidden, self.target, 0) ** 2, axis=axes))
        return float(err) if np.ndim(err) == 0 else err

    # -- the engine's hooks ------------------------------------------------------------------

    def _engine_model(self):
        """The hooks :func:`dmfnb.train` uses to train CP factors on this problem."""
        return CP_MODEL


def stack_tensor_problems(problems: Sequence[TensorCompletionProblem]) -> TensorCompletionProblem:
    """Stack B single tensor problems of one shape into one batched problem.

    Problems may observe different numbers of entries: shorter index lists are padded with
    zero-weight observations, which add nothing to the loss or the gradient.
    """
    if isinstance(problems, (TensorCompletionProblem, np.ndarray, str)) or \
            not hasattr(problems, "__iter__"):
        raise TypeError(f"problems must be a list of tensor problems, got {show(problems)}")
    problems = list(problems)
    if not problems:
        raise ValueError("problems is empty; pass at least one problem")
    for i, p in enumerate(problems):
        if not isinstance(p, TensorCompletionProblem):
            raise TypeError(f"problems[{i}] is a {type(p).__name__}; pass TensorCompletionProblems")
        if p.batch is not None:
            raise ValueError(f"problems[{i}] is already a stack; pass single problems")
        if p.shape != problems[0].shape:
            raise ValueError(f"problems[{i}] has shape {p.shape} but problems[0] has "
                             f"{problems[0].shape}; stack problems of one shape")
    m = max(p.indices.shape[0] for p in problems)
    idx = np.zeros((len(problems), m, problems[0].order), dtype=np.intp)
    w = np.zeros((len(problems), m))
    for b, p in enumerate(problems):
        k = p.indices.shape[0]
        idx[b, :k] = p.indices
        # Padding observes a live entry again with weight 0: harmless, and in range.
        idx[b, k:] = p.indices[0]
        w[b, :k] = p.weights
    return TensorCompletionProblem(np.stack([p.target for p in problems]), idx, w)


class CPBackprop:
    """Preallocated loss-and-gradient evaluator of CP factors on a :class:`TensorCompletionProblem`.

    Works on the m observed entries only, never on the full tensor. Per step: gather the
    observed rows R_n = A_n[i_n] (m, R) of every factor; forward prefix products
    L_n = R_1 ⊙ ⋯ ⊙ R_n and predictions ŷ = Σ_r (L_{N−1} ⊙ R_N); residual weights
    c = 2·weight·(ŷ − y); backward suffix products T_n = c ⊙ R_n ⊙ ⋯ ⊙ R_N, so the rows of
    ∂ℓ/∂A_n are L_{n−1} ⊙ T_{n+1}; scatter-add them into (d_n, R) by one product with the
    one-hot matrix of mode n. That is N gathers, 3N − 3 elementwise products and N small
    matrix products, all into buffers allocated once. :func:`cp_evaluator` picks it or
    :class:`CPDenseBackprop`, whichever is cheaper for the problem's size.
    """

    def __init__(self, problem: TensorCompletionProblem, factors: list[np.ndarray]):
        self.problem = problem
        self.order = problem.order
        self.batch = problem.batch
        lead = 1 if self.batch is None else self.batch
        dtype = factors[0].dtype
        m, R = problem.indices.shape[-2], factors[0].shape[-1]
        self.dims = problem.shape
        idx = problem.indices.reshape(lead, m, self.order)
        # Row n of a stacked factor viewed as (B·d_n, R): run b's row i is b·d_n + i.
        offsets = np.arange(lead)[:, None]
        self.rows_index = [(idx[..., n] + offsets * d).reshape(-1) for n, d in enumerate(self.dims)]
        # One-hot (B, d_n, m): the scatter-add of mode n as one batched matrix product.
        self.onehot = []
        for n, d in enumerate(self.dims):
            e = np.zeros((lead, d, m), dtype)
            np.put_along_axis(e, idx[..., n][:, None, :], 1.0, axis=1)
            self.onehot.append(e)
        self.values = problem.values.reshape(lead, m).astype(dtype)
        self.weights2 = (2.0 * problem.weights).reshape(lead, m).astype(dtype)
        self.weights = problem.weights.reshape(lead, m).astype(dtype)
        self.rows = [np.empty((lead, m, R), dtype) for _ in self.dims]
        self.prefix = [None] + [np.empty((lead, m, R), dtype) for _ in range(self.order - 2)]
        self.prod = np.empty((lead, m, R), dtype)
        self.back = np.empty((lead, m, R), dtype)
        self.coef = np.empty((lead, m, 1), dtype)
        self.pred = np.empty((lead, m), dtype)
        shape = factors[0].shape[:-2]
        self._grads3 = [np.empty((lead, d, R), dtype) for d in self.dims]
        self.grads = [g.reshape(*shape, d, R) for g, d in zip(self._grads3, self.dims, strict=True)]
        self.loss = None

    def forward(self, factors) -> np.ndarray | float:
        """Gather, predict and keep what backward needs; return the loss (B losses for a stack)."""
        R = self.rows[0].shape[-1]
        for n, f in enumerate(factors):
            np.take(f.reshape(-1, R), self.rows_index[n], axis=0,
                    out=self.rows[n].reshape(-1, R))
        P = self.rows[0]
        for n in range(1, self.order - 1):
            P = np.multiply(P, self.rows[n], out=self.prefix[n])
        np.multiply(P, self.rows[-1], out=self.prod)
        np.sum(self.prod, axis=-1, out=self.pred)
        resid = np.subtract(self.pred, self.values, out=self.pred)
        loss = np.einsum("bm,bm,bm->b", self.weights, resid, resid)
        np.multiply(self.weights2, resid, out=self.coef[..., 0])
        self.loss = loss
        return float(loss[0]) if self.batch is None else loss

    def backward(self, factors, scale=None) -> None:
        """Fill ``grads`` with ∂ℓ/∂A_n (times ``scale``) from the last forward pass."""
        c = self.coef
        if scale is not None:
            c *= scale  # a number, or (B, 1, 1) per run
        N = self.order
        last = self.prefix[N - 2] if N > 2 else self.rows[0]
        np.multiply(last, c, out=self.prod)
        np.matmul(self.onehot[N - 1], self.prod, out=self._grads3[N - 1])
        T = np.multiply(self.rows[N - 1], c, out=self.back)
        for n in range(N - 2, 0, -1):
            left = self.prefix[n - 1] if n > 1 else self.rows[0]
            np.multiply(left, T, out=self.prod)
            np.matmul(self.onehot[n], self.prod, out=self._grads3[n])
            T = np.multiply(self.rows[n], T, out=self.back)
        np.matmul(self.onehot[0], T, out=self._grads3[0])

    def evaluate(self, factors, scale=None):
        """Loss, with ``grads`` filled: one forward and one backward pass."""
        loss = self.forward(factors)
        self.backward(factors, scale)
        return loss


class CPDenseBackprop:
    """Loss-and-gradient evaluator of CP factors through the full tensor (dense unfoldings).

    Same interface and numbers as :class:`CPBackprop` (up to round-off), another route: the
    modes split into a left group (the first ⌊N/2⌋) and a right group, with Khatri–Rao
    products K_L = A_1 ⊙ ⋯ ⊙ A_k (P_L × R) and K_R (P_R × R). Then the unfolding
    W = K_L K_Rᵀ (P_L × P_R), the weighted residual G = 2·weight ⊙ (W − W*) (zero off the
    observed entries), ∂ℓ/∂K_L = G K_R and ∂ℓ/∂K_R = Gᵀ K_L — three matrix products of
    P_L·P_R·R multiply-adds — and each factor's gradient by contracting its group's
    ∂ℓ/∂K with the group's other factors. Its cost does not depend on the number m of
    observed entries, where :class:`CPBackprop`'s grows with m·R·N; :func:`cp_evaluator`
    picks the cheaper one.
    """

    def __init__(self, problem: TensorCompletionProblem, factors: list[np.ndarray]):
        self.problem = problem
        self.order = N = problem.order
        self.batch = problem.batch
        self._lead = lead = 1 if self.batch is None else self.batch
        dtype = factors[0].dtype
        R = factors[0].shape[-1]
        self.dims = dims = problem.shape
        self.split = k = N // 2
        P_L, P_R = int(np.prod(dims[:k])), int(np.prod(dims[k:]))
        # 2·weight as a dense tensor (the gradient's factor; the loss takes half of it):
        # padding repeats an entry with weight 0, so add.
        weights = np.zeros((lead, P_L * P_R))
        flat = problem._flat.reshape(lead, -1)
        w = problem.weights.reshape(lead, -1)
        for b in range(lead):
            np.add.at(weights[b], flat[b], 2 * w[b])
        self.weights2 = weights.reshape(lead, P_L, P_R).astype(dtype)
        self.target = problem.target.reshape(lead, P_L, P_R).astype(dtype)
        self.left = self.right = None  # K_L, K_R of the last forward pass, in these buffers
        self._buffers = (np.empty((lead, P_L, R), dtype), np.empty((lead, P_R, R), dtype))
        self.W = np.empty((lead, P_L, P_R), dtype)
        self.G = np.empty((lead, P_L, P_R), dtype)
        self.dleft = np.empty((lead, P_L, R), dtype)
        self.dright = np.empty((lead, P_R, R), dtype)
        # Per half, the einsum contracting its ∂ℓ/∂K with all its factors but one.
        letters = "cdefghijklmnopq"
        self._specs = []
        for half in (dims[:k], dims[k:]):
            modes = letters[:len(half)]
            self._specs.append([
                ",".join([f"b{modes}r"] + [f"b{c}r" for c in modes if c != own]) + f"->b{own}r"
                for own in modes])
        shape = factors[0].shape[:-2]
        self._grads3 = [np.empty((lead, d, R), dtype) for d in dims]
        self.grads = [g.reshape(*shape, d, R) for g, d in zip(self._grads3, dims, strict=True)]
        self.loss = None

    def _halves(self, factors):
        f3 = [f.reshape(self._lead, *f.shape[-2:]) for f in factors]
        return f3[:self.split], f3[self.split:]

    def forward(self, factors) -> np.ndarray | float:
        """The unfolding and the weighted residual; return the loss (B losses for a stack)."""
        left, right = self._halves(factors)
        self.left = _khatri_rao(left, self._buffers[0])
        self.right = _khatri_rao(right, self._buffers[1])
        np.matmul(self.left, self.right.transpose(0, 2, 1), out=self.W)
        resid = np.subtract(self.W, self.target, out=self.W)
        np.multiply(self.weights2, resid, out=self.G)
        loss = 0.5 * np.einsum("bij,bij->b", self.G, resid)
        self.loss = loss
        return float(loss[0]) if self.batch is None else loss

    def backward(self, factors, scale=None) -> None:
        """Fill ``grads`` with ∂ℓ/∂A_n (times ``scale``) from the last forward pass."""
        if scale is not None:
            self.G *= scale  # a number, or (B, 1, 1) per run
        np.matmul(self.G, self.right, out=self.dleft)
        np.matmul(self.G.transpose(0, 2, 1), self.left, out=self.dright)
        first = 0
        for half, dK, specs in zip(self._halves(factors), (self.dleft, self.dright),
                                   self._specs, strict=True):
            dK = dK.reshape(self._lead, *(f.shape[-2] for f in half), -1)
            for j, spec in enumerate(specs):
                others = [f for i, f in enumerate(half) if i != j]
                np.einsum(spec, dK, *others, out=self._grads3[first + j])
            first += len(half)

    def evaluate(self, factors, scale=None):
        """Loss, with ``grads`` filled: one forward and one backward pass."""
        loss = self.forward(factors)
        self.backward(factors, scale)
        return loss


# The dense route costs 3·∏d_n·R multiply-adds in BLAS, the sparse one about 3N·m·R
# elementwise operations on (m, R) arrays, memory-bound once those leave the cache.
# Measured (benchmarks/bench_tensor.py, one BLAS thread, both kernels): ∏d_n = 10⁴, R = 1000:
# dense 21–26× faster at m = 2000 and 34–35× on the padded sweep stack of eight; 8³ entries,
# m = 200, R = 50: 3.5–4.5×. Below about 4096 entries × components both are bound by
# Python's per-call cost and the sparse route, with fewer calls, is faster (5³ entries,
# m = 50, R = 4: 22–39 µs against 27–47 µs).
_DENSE_PER_OBSERVATION = 8
_DENSE_MIN_WORK = 4096


def cp_evaluator(problem: TensorCompletionProblem, factors: list[np.ndarray]):
    """The cheaper evaluator for ``problem``: :class:`CPDenseBackprop` when the full tensor has
    at most 8·N·m entries (m observed per problem) and entries × components ≥ 4096, else
    :class:`CPBackprop`."""
    m = problem.indices.shape[-2]
    size = int(np.prod(problem.shape))
    if size <= _DENSE_PER_OBSERVATION * problem.order * m and \
            size * factors[0].shape[-1] >= _DENSE_MIN_WORK:
        return CPDenseBackprop(problem, factors)
    return CPBackprop(problem, factors)


def cp_gradients(problem: TensorCompletionProblem,
                 factors: Sequence[np.ndarray]) -> tuple[np.ndarray | float, list[np.ndarray]]:
    """Loss and its gradient with respect to every CP factor (checked; copies of the buffers).

    Raises
    ------
    TypeError, ValueError
        For a non-problem, bad factors, or factors that do not match the problem's shape.
    """
    problem = CP_MODEL.check_problem(problem)
    factors = check_cp_factors(factors)
    problem, _ = CP_MODEL.agree(problem, factors, factors[0].dtype)
    ev = cp_evaluator(problem, [np.ascontiguousarray(f) for f in factors])
    loss = ev.evaluate([np.ascontiguousarray(f) for f in factors])
    return loss, [g.copy() for g in ev.grads]


class _CPModel:
    """The engine's hooks for CP factors (see :func:`dmfnb.train`): checks, evaluator, records."""

    name = "cp"

    def check_problem(self, problem):
        if not isinstance(problem, TensorCompletionProblem):
            raise TypeError(f"problem must be a dmfnb.TensorCompletionProblem, got "
                            f"{type(problem).__name__}")
        return problem

    def check_factors(self, factors):
        return check_cp_factors(factors)

    def agree(self, problem, factors, dtype):
        """The problem in the factors' dtype, and the batch size; or a clear error."""
        dims = tuple(f.shape[-2] for f in factors)
        if dims != problem.shape:
            raise ValueError(f"the factors make a tensor of shape {dims} but the problem's is "
                             f"{problem.shape}; pass one factor (d_n, R) per mode")
        stacked = factors[0].ndim == 3
        if problem.batch is not None and not stacked:
            raise ValueError(f"the problem is a stack of {problem.batch} problems but the factors "
                             "are not stacked; stack one factor list per problem with "
                             "dmfnb.stack_cp_factors")
        if stacked and problem.batch is not None and factors[0].shape[0] != problem.batch:
            raise ValueError(f"the factors are a stack of {factors[0].shape[0]} but the problem "
                             f"of {problem.batch}; pass one factor list per stacked problem")
        if stacked and problem.batch is None:
            raise ValueError("stacked factors need a stacked problem: use "
                             "dmfnb.stack_tensor_problems (one problem per run)")
        if problem.dtype != dtype:
            problem = problem.astype(dtype)
        return problem, problem.batch

    def check_entries(self, entries, problem):
        hint = f"entries must be index tuples of the order-{problem.order} tensor, e.g. [(0,) * N]"
        if isinstance(entries, (str, bytes)) or not hasattr(entries, "__iter__"):
            raise TypeError(f"{hint}; got {show(entries)}")
        out = []
        for e in entries:
            if np.ndim(e) != 1 or len(e) != problem.order:
                raise ValueError(f"{hint}; got {show(e)}")
            try:
                idx = tuple(check_integer("entries", x, minimum=0) for x in e)
            except (TypeError, ValueError):
                raise ValueError(f"{hint}; got {show(e)}") from None
            if any(i >= d for i, d in zip(idx, problem.shape, strict=True)):
                raise ValueError(f"{hint}, inside the shape {problem.shape}; got {show(e)}")
            out.append(idx)
        return out

    def zero_loss(self, problem, dtype):
        return np.sum(problem.weights * problem.values**2, axis=-1)

    def evaluator(self, problem, factors, xp):
        if xp is not np:
            raise ValueError("tensor problems train on numpy only; use backend='numpy'")
        for n, f in enumerate(factors):
            if not f.flags.c_contiguous:
                factors[n] = np.ascontiguousarray(f)
        return cp_evaluator(problem, factors)

    def product(self, factors):
        return cp_product(factors)

    def record(self, log, t, loss, problem, ev, factors, top_k, entries, keep_products):
        W = cp_product(factors)
        lead = W.shape[:1] if problem.batch is not None else ()
        norms = component_norms(factors)
        log["steps"].append(t)
        log["loss"].append(np.copy(loss))
        log["error"].append(problem.reconstruction_error(W))
        log["sv"].append(np.zeros((*lead, 0)))
        log["entries"].append(np.stack([W[(..., *e)] for e in entries], axis=-1) if entries
                              else np.zeros((*lead, 0)))
        fro = np.sqrt(np.sum(W.reshape(*lead, -1) ** 2, axis=-1))
        log["fro"].append(fro)
        log["nuc"].append(np.full_like(fro, np.nan))
        log["erank"].append(np.full_like(fro, np.nan))
        log["comp"].append(norms)
        if keep_products:
            log["W"].append(W)


CP_MODEL = _CPModel()
