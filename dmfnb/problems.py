"""Losses on the end-to-end matrix W: matrix completion, matrix sensing, full-observation least squares.

Every problem maps a matrix ``W`` of shape (n, m), or a stack of shape (B, n, m), to its loss and to
the gradient of the loss with respect to ``W``. A problem may itself be a stack of B independent
problems of one shape (see :func:`stack_problems`); then ``loss`` returns B numbers, one per run.
The chapters explain the setups: completion and sensing in *Depth and the low-rank bias*, least
squares in *How singular values move*.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from . import sensing_pass
from ._validate import (
    as_matrix_stack,
    as_real_array,
    check_float_dtype,
    check_integer,
    check_seed,
    check_shape,
    show,
)

__all__ = [
    "CompletionProblem",
    "LeastSquaresProblem",
    "Problem",
    "SensingProblem",
    "check_problem",
    "stack_problems",
]


def _frob2(x: np.ndarray) -> np.ndarray | float:
    """Squared Frobenius norm over the last two axes (a float for one matrix)."""
    if x.ndim == 2:
        return float(np.vdot(x, x))
    return np.einsum("bij,bij->b", x, x)


def _inner(x: np.ndarray, y: np.ndarray) -> np.ndarray | float:
    if x.ndim == 2 and y.ndim == 2:
        return float(np.vdot(x, y))
    if x.shape != y.shape:
        x, y = np.broadcast_arrays(x, y)
    return np.einsum("bij,bij->b", x, y)


def _check_target(target) -> np.ndarray:
    """The target as a float matrix (stack) whose squared norm is a normal positive float.

    ``reconstruction_error`` divides by ‖W*‖²_F: a zero target, or one so small (large) that the
    square underflows to 0 (overflows to inf) in its dtype, would make every error inf or NaN.
    """
    target = as_matrix_stack("target", target)
    _check_target_norm(target)
    return target


def _check_target_norm(target: np.ndarray) -> None:
    norm2 = np.atleast_1d(_frob2(target))
    tiny = np.finfo(target.dtype).tiny
    if not np.all(np.isfinite(norm2) & (norm2 >= tiny)):
        which = int(np.flatnonzero(~(np.isfinite(norm2) & (norm2 >= tiny)))[0])
        where = f" (problem {which} of the stack)" if target.ndim == 3 else ""
        raise ValueError(
            f"target{where} has squared Frobenius norm {norm2[which]:.3g} in {target.dtype}: "
            "the reconstruction error ‖W − W*‖²/‖W*‖² is relative to it, so the target must be "
            "nonzero and neither underflow nor overflow when squared; rescale it (e.g. to entries "
            "of order 1)"
        )


class Problem:
    """Base class: a loss ℓ(W) on the end-to-end matrix with a known ground truth ``target``.

    Subclasses implement :meth:`loss_and_gradient`; ``loss``, ``gradient`` and
    ``reconstruction_error`` follow from it.
    """

    target: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, m)``, the shape of the end-to-end matrix."""
        return self.target.shape[-2:]

    @property
    def batch(self) -> int | None:
        """Number of stacked problems, or ``None`` for a single one."""
        return self.target.shape[0] if self.target.ndim == 3 else None

    @property
    def dtype(self) -> np.dtype:
        """Floating dtype of the problem's data."""
        return self.target.dtype

    def astype(self, dtype) -> Problem:
        """A copy whose floating-point data has ``dtype`` (e.g. float32 for speed); ``self`` if it has."""
        dtype = check_float_dtype("dtype", dtype)
        if dtype == self.dtype:
            return self
        clone = self._map_arrays(lambda a: a.astype(dtype) if a.dtype.kind == "f" else a)
        # A target fine in float64 may under- or overflow in float32: say so now, not as inf later.
        _check_target_norm(clone.target)
        return clone

    def to_device(self, xp) -> Problem:
        """A copy whose arrays live in the array module ``xp`` (:mod:`cupy`), for the engine."""
        return self._map_arrays(xp.asarray)

    def _map_arrays(self, convert) -> Problem:
        """A shallow copy with ``convert`` applied to every numpy array attribute."""
        clone = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, np.ndarray):
                setattr(clone, name, convert(value))
        return clone

    def _take(self, runs) -> Problem:
        """The problems ``runs`` (indices) of a stack, sharing what the whole stack shares: the
        engine sheds the runs that have stopped."""
        return take_runs(self, runs, self._shared_arrays())

    def _shared_arrays(self) -> tuple[str, ...]:
        """Array attributes of a stack that all its problems share (no run axis)."""
        return ()

    def loss_and_gradient(
        self, W: np.ndarray, out: np.ndarray | None = None
    ) -> tuple[np.ndarray | float, np.ndarray]:
        """Loss at ``W`` and its gradient, written into ``out`` when given (the engine's fast path).

        Unchecked, for speed: ``W`` must already have the problem's shape and dtype. Use
        :meth:`loss` and :meth:`gradient` for checked evaluations.
        """
        raise NotImplementedError

    def loss(self, W) -> np.ndarray | float:
        """ℓ(W): a float for one matrix, an array of B losses for a stack.

        Raises
        ------
        TypeError, ValueError
            If ``W`` is not a finite real matrix (stack) of the problem's shape.
        """
        return self.loss_and_gradient(self._check(W))[0]

    def gradient(self, W) -> np.ndarray:
        """∇ℓ(W), the gradient with respect to the end-to-end matrix, same shape as ``W``."""
        return self.loss_and_gradient(self._check(W))[1]

    def reconstruction_error(self, W) -> np.ndarray | float:
        """‖W − W*‖²_F / ‖W*‖²_F: 1 for the zero matrix, 0 for exact recovery.

        The constructors refuse a target whose squared norm is 0 or not a normal float, so the
        division is always defined.
        """
        W = self._check(W)
        return _frob2(W - self.target) / _frob2(self.target)

    def _check(self, W) -> np.ndarray:
        W = as_matrix_stack("W", W)
        check_shape("W", W, self.shape, f"this problem's matrix is {self.shape[0]}×{self.shape[1]}")
        if W.ndim == 3 and self.batch is not None and W.shape[0] != self.batch:
            raise ValueError(
                f"W is a stack of {W.shape[0]} matrices but the problem is a stack of "
                f"{self.batch}; pass one matrix per stacked problem"
            )
        return W


class CompletionProblem(Problem):
    """Matrix completion: recover ``target`` from the entries where ``mask`` is true.

    Loss (the convention of Arora et al. 2019's code): the mean over the m observed entries of the
    squared error, with no factor ½,

        ℓ(W) = (1/m) Σ_{(i,j) observed} (W_ij − W*_ij)²,   ∇ℓ(W) = (2/m) P_Ω(W − W*).

    Parameters
    ----------
    target
        The ground truth W*, shape (n, m) or a stack (B, n, m).
    mask
        Boolean array of the same shape: which entries are observed (at least one per problem).

    Raises
    ------
    TypeError
        If ``target`` is not real, or ``mask`` is not boolean (0/1 integers are accepted).
    ValueError
        For non-finite or zero targets, a mask of another shape, or a problem observing nothing.
    """

    def __init__(self, target, mask):
        self.target = _check_target(target)
        mask = _as_mask(mask)
        if mask.shape != self.target.shape:
            raise ValueError(
                f"mask has shape {mask.shape} but target has shape {self.target.shape}; "
                "pass one boolean per entry of the target"
            )
        counts = mask.sum(axis=(-2, -1), keepdims=True)
        if np.any(counts == 0):
            raise ValueError("mask observes no entry; observe at least one entry per problem")
        self.mask = mask
        self.num_observed = counts[..., 0, 0] if mask.ndim == 3 else int(counts[0, 0])
        # 2·P_Ω/m precomputed so the gradient costs one subtraction and one product.
        self._weight2 = mask * (2.0 / counts)

    @classmethod
    def random(
        cls, target, num_observed: int, *, seed: int | np.random.Generator | None
    ) -> CompletionProblem:
        """Observe ``num_observed`` entries of ``target`` drawn uniformly without replacement.

        Raises
        ------
        TypeError, ValueError
            For a bad target, ``num_observed`` not an integer in [1, target.size], or a bad seed.
        """
        target = _check_target(target)
        if target.ndim != 2:
            raise ValueError("CompletionProblem.random takes one target matrix; stack afterwards")
        check_integer("num_observed", num_observed, minimum=1)
        check_seed("seed", seed)
        if num_observed > target.size:
            raise ValueError(
                f"num_observed={num_observed} exceeds the {target.size} entries of the target"
            )
        rng = np.random.default_rng(seed)
        mask = np.zeros(target.size, dtype=bool)
        mask[rng.choice(target.size, size=num_observed, replace=False)] = True
        return cls(target, mask.reshape(target.shape))

    def loss_and_gradient(self, W, out=None):
        diff = W - self.target
        grad = np.multiply(diff, self._weight2, out=out)
        return 0.5 * _inner(grad, diff), grad

    def zero_fill_error(self) -> np.ndarray | float:
        """Reconstruction error of the observed entries with zeros elsewhere (≈ 1 − m/(nm))."""
        return self.reconstruction_error(np.where(self.mask, self.target, 0.0))

    def _stack(self, problems):
        return CompletionProblem(
            np.stack([p.target for p in problems]), np.stack([p.mask for p in problems])
        )


class SensingProblem(Problem):
    """Matrix sensing: recover ``target`` from m linear measurements y_i = ⟨A_i, W*⟩.

    Loss (Arora et al. 2019's convention): the mean squared residual, no factor ½,

        ℓ(W) = (1/m) Σ_i (⟨A_i, W⟩ − y_i)²,   ∇ℓ(W) = (2/m) Σ_i (⟨A_i, W⟩ − y_i) A_i.

    Parameters
    ----------
    target
        The ground truth W*, shape (n, m) or a stack (B, n, m).
    measurements
        The matrices A_i, shape (k, n, m), or (B, k, n, m) for a stack with its own matrices per
        problem. A stack of targets with one (k, n, m) array *shares* the measurements: each step
        then reads them once for all B problems (one matrix product instead of B).
    weights
        Optional per-measurement weights summing to 1 per problem, shape (k,) or (B, k); the
        default 1/k. Zero weights let stacks of problems with different k share one array.

    Raises
    ------
    TypeError
        If the target, measurements or weights are not real numbers.
    ValueError
        For non-finite or zero data, mismatched shapes, no measurement (k = 0), or weights that
        are negative or do not sum to 1 per problem.
    """

    def __init__(self, target, measurements, weights=None):
        self.target = _check_target(target)
        A = as_real_array("measurements", measurements, ndims=(3, 4), dtype=self.target.dtype,
                          what="an array of k ≥ 1 matrices, shape (k, n, m) or (B, k, n, m)")
        lead = self.target.shape[:-2]
        per_problem = A.ndim == self.target.ndim + 1 and A.shape[:len(lead)] == lead
        shared = bool(lead) and A.ndim == 3
        if A.shape[-2:] != self.target.shape[-2:] or not (per_problem or shared):
            raise ValueError(
                f"measurements must have shape {(*lead, 'k', *self.shape)}"
                + (f" or {('k', *self.shape)} (shared by the stack)" if lead else "")
                + f", got {A.shape}"
            )
        k = A.shape[-3]
        if weights is None:
            weights = np.full((*lead, k), 1.0 / k)
        weights = as_real_array("weights", weights, dtype=self.target.dtype,
                                what=f"an array of shape {(*lead, k)}")
        if weights.shape != (*lead, k):
            raise ValueError(f"weights must have shape {(*lead, k)}, got {weights.shape}")
        sums = weights.sum(axis=-1)
        if np.any(weights < 0) or not np.allclose(sums, 1.0, rtol=0, atol=1e-5):
            raise ValueError(
                f"weights must be non-negative and sum to 1 per problem, got sums {show(sums)}; "
                "divide them by their sum"
            )
        self.measurements = A
        self.weights = weights
        self.num_observed = np.count_nonzero(weights, axis=-1) if lead else int(k)
        self.observations = self._apply(self.target)

    @property
    def shared(self) -> bool:
        """Whether a stack of problems shares one array of measurement matrices."""
        return self.measurements.ndim == 3 and self.target.ndim == 3

    def _shared_arrays(self) -> tuple[str, ...]:
        return ("measurements",) if self.shared else ()

    @property
    def _op(self) -> np.ndarray:
        # The operator as a (k × nm) matrix (a view): one matrix product forward, one back.
        A = self.measurements
        return A.reshape(*A.shape[:-2], -1)

    @classmethod
    def random(
        cls, target, num_observed: int, *, seed: int | np.random.Generator | None
    ) -> SensingProblem:
        """Draw ``num_observed`` measurement matrices with i.i.d. N(0, 1/n²) entries (n = rows).

        The matrices are drawn one after another from one generator, so with the same seed the
        first k of a larger draw are the k of a smaller one (nested designs).
        """
        target = _check_target(target)
        if target.ndim != 2:
            raise ValueError("SensingProblem.random takes one target matrix; stack afterwards")
        check_integer("num_observed", num_observed, minimum=1)
        check_seed("seed", seed)
        rng = np.random.default_rng(seed)
        A = rng.standard_normal((num_observed, *target.shape)) / target.shape[0]
        return cls(target, A)

    def _apply(self, W):
        if self.shared:  # (B, nm) @ (nm, k): one product for the whole stack
            return W.reshape(W.shape[0], -1) @ self._op.T
        vec = W.reshape(*W.shape[:-2], -1, 1)
        return np.matmul(self._op, vec)[..., 0]

    def loss_and_gradient(self, W, out=None):
        if self.shared and isinstance(self.measurements, np.ndarray):
            return self._shared_loss_and_gradient(W, out)
        resid = self._apply(W) - self.observations
        wr = 2.0 * self.weights * resid
        if self.shared:
            grad = (wr @ self._op).reshape(W.shape)
        else:
            grad = np.matmul(wr[..., None, :], self._op)[..., 0, :].reshape(W.shape)
        if out is not None:
            out[...] = grad
            grad = out
        loss = np.sum(self.weights * resid**2, axis=-1)
        return (float(loss) if np.ndim(loss) == 0 else loss), grad

    def _shared_loss_and_gradient(self, W, out):
        # One compiled pass over the operator for both products (dmfnb.sensing_pass:
        # the operator read once per step, and faster than two BLAS products for a stack;
        # benchmarks/bench_sensing.py). Runs whose measurements have all been used (zero weights
        # from there on: a stack of nested designs pads every run to the longest) leave the pass
        # once they lead the stack, so a stack ordered by count costs about what its runs measure.
        op, V = self._op, np.ascontiguousarray(W.reshape(W.shape[0], -1))
        k = op.shape[0]
        # per run, 1 + the index of its last measurement with a nonzero weight
        extent = k - np.argmax(self.weights[:, ::-1] != 0, axis=-1)
        grad, loss = np.zeros(V.shape, dtype=V.dtype), np.zeros(V.shape[0], dtype=V.dtype)
        if not (V.dtype == op.dtype and sensing_pass.sensing_products(
                op, V, self.observations, self.weights, extent, grad, loss)):
            resid = V @ op.T - self.observations
            grad = (2.0 * self.weights * resid) @ op
            loss = np.sum(self.weights * resid**2, axis=-1)
        if out is None:
            return loss, grad.reshape(W.shape)
        out[...] = grad.reshape(W.shape)
        return loss, out

    def _stack(self, problems):
        targets = np.stack([p.target for p in problems])
        longest = max((p.measurements for p in problems), key=len)
        k = len(longest)
        w = np.zeros((len(problems), k), dtype=self.dtype)
        for b, p in enumerate(problems):
            w[b, : p.weights.shape[0]] = p.weights
        if all(_is_prefix(p.measurements, longest) for p in problems):
            # Every problem measures with the first k_b of the same matrices: share them.
            return SensingProblem(targets, longest, w)
        A = np.zeros((len(problems), k, *self.shape), dtype=self.dtype)
        for b, p in enumerate(problems):
            A[b, : p.measurements.shape[0]] = p.measurements
        return SensingProblem(targets, A, w)


def _as_mask(mask) -> np.ndarray:
    """``mask`` as a bool array; 0/1 numbers are accepted, anything else would be cast silently."""
    if mask is None or isinstance(mask, (str, bytes)):
        raise TypeError(f"mask must be a boolean array, got {show(mask)}")
    try:
        arr = np.asarray(mask)
    except (ValueError, TypeError):
        raise ValueError(
            f"mask must be a boolean array with rows of equal length, got {show(mask)}"
        ) from None
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"mask must be a boolean array, got dtype {arr.dtype}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError("mask must hold booleans (or only 0 and 1), got other values; pass which "
                         "entries are observed, e.g. np.isfinite(data), not the values themselves")
    return arr.astype(bool)


def _is_prefix(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` is the very memory of ``b[:len(a)]`` (a view: equal without comparing values)."""
    return (a.shape[1:] == b.shape[1:] and len(a) <= len(b) and a.dtype == b.dtype
            and a.strides == b.strides and a.ctypes.data == b.ctypes.data)


class LeastSquaresProblem(Problem):
    """Full observation: ℓ(W) = ½ tr[(W − W*) Σ (W − W*)ᵀ], ∇ℓ(W) = (W − W*) Σ.

    With ``input_covariance`` Σ = I (the default) this is ½‖W − W*‖²_F, the whitened-input
    regression of Saxe et al. (2014), whose mode strengths are the singular values of W*.
    A regression ½n⁻¹‖Y − X Wᵀ‖²_F equals this loss up to a constant with Σ = XᵀX/n and
    W* = (YᵀX/n) Σ⁻¹.

    Parameters
    ----------
    target
        W*, shape (n, m) or a stack (B, n, m).
    input_covariance
        Optional symmetric positive semidefinite Σ of shape (m, m) (or (B, m, m)).

    Raises
    ------
    TypeError, ValueError
        For a non-finite or zero target, or a covariance of the wrong shape, not symmetric or
        with a negative eigenvalue (the loss would be unbounded below and training would blow up).
    """

    def __init__(self, target, input_covariance=None):
        self.target = _check_target(target)
        self.input_covariance = None
        if input_covariance is not None:
            cov = as_matrix_stack("input_covariance", input_covariance)
            m = self.shape[1]
            check_shape("input_covariance", cov, (m, m), f"pass an {m}×{m} covariance")
            if cov.ndim == 3 and (self.target.ndim != 3 or cov.shape[0] != self.target.shape[0]):
                raise ValueError(
                    f"input_covariance is a stack of {cov.shape[0]} but the target has shape "
                    f"{self.target.shape}; pass one (m, m) covariance, or one per stacked target"
                )
            scale = float(np.max(np.abs(cov)))
            if not np.allclose(cov, np.swapaxes(cov, -1, -2), rtol=1e-5, atol=1e-8 * scale):
                raise ValueError("input_covariance must be symmetric; pass (S + S.T) / 2")
            low = float(np.min(np.linalg.eigvalsh(cov.astype(np.float64))))
            if low < -1e-8 * scale:
                raise ValueError(
                    f"input_covariance must be positive semidefinite, but its smallest eigenvalue "
                    f"is {low:.3g}; a covariance such as X.T @ X / n is"
                )
            self.input_covariance = cov

    def _shared_arrays(self) -> tuple[str, ...]:
        cov = self.input_covariance
        return ("input_covariance",) if cov is not None and cov.ndim == 2 else ()

    def loss_and_gradient(self, W, out=None):
        if self.input_covariance is None:
            grad = np.subtract(W, self.target, out=out)
            return 0.5 * _frob2(grad), grad
        diff = W - self.target
        grad = np.matmul(diff, self.input_covariance, out=out)
        return 0.5 * _inner(grad, diff), grad

    def _stack(self, problems):
        covs = [p.input_covariance for p in problems]
        if all(c is None for c in covs):
            return LeastSquaresProblem(np.stack([p.target for p in problems]))
        m = self.shape[1]
        covs = [np.eye(m) if c is None else c for c in covs]
        return LeastSquaresProblem(np.stack([p.target for p in problems]), np.stack(covs))


def take_runs(stack, runs, shared=()):
    """A shallow copy of a stacked problem (any kind) with the runs ``runs`` of every array
    attribute, except those named in ``shared`` (no run axis) and scalars."""
    clone = copy.copy(stack)
    for name, value in vars(stack).items():
        if isinstance(value, np.ndarray) and value.ndim and name not in shared:
            setattr(clone, name, value[runs])
    return clone


def stack_problems(problems: Sequence[Problem]) -> Problem:
    """Stack B single problems of one kind and shape into one batched problem.

    The stacked problem's ``loss`` returns one number per problem, and :func:`dmfnb.train` runs
    all B trainings in one computation with the same numbers as running them one by one.
    """
    if isinstance(problems, (Problem, np.ndarray, str)) or not hasattr(problems, "__iter__"):
        raise TypeError(f"problems must be a list of problems, got {type(problems).__name__}")
    problems = list(problems)
    if not problems:
        raise ValueError("problems is empty; pass at least one problem")
    first = problems[0]
    for i, p in enumerate(problems):
        check_problem(p, f"problems[{i}]")
        if type(p) is not type(first):
            raise TypeError(
                f"problems[{i}] is a {type(p).__name__} but problems[0] is a "
                f"{type(first).__name__}; stack problems of one kind"
            )
        if p.batch is not None:
            raise ValueError(f"problems[{i}] is already a stack; pass single problems")
        if p.shape != first.shape:
            raise ValueError(
                f"problems[{i}] has shape {p.shape} but problems[0] has {first.shape}; "
                "stack problems of one shape"
            )
    return first._stack(problems)


def check_problem(problem, name: str = "problem"):
    """``problem``, checked: raise ``TypeError`` unless it is a :class:`Problem` with data."""
    if not isinstance(problem, Problem) or not hasattr(problem, "target"):
        raise TypeError(
            f"{name} must be a problem such as dmfnb.CompletionProblem(target, mask), "
            f"got {type(problem).__name__}"
        )
    return problem
