"""The training loop: gradient descent on the factors, for one run or a batch of B runs at once.

Data path: problem → factors → :func:`train` → :class:`Trajectory` → figure. The loop allocates
its buffers once (:class:`Backprop`) and spends each step in 3(N−1) matrix products, the problem's
loss and gradient, and N in-place updates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ._validate import (
    as_real_array,
    check_bool,
    check_choice,
    check_integer,
    check_number,
    show,
)
from .compiled import gd_stepper
from .factors import Backprop, _one_dtype, check_factors, product
from .infra.backend import namespace, to_host
from .metrics import effective_rank
from .problems import check_problem

__all__ = ["DivergenceError", "Trajectory", "train"]

OPTIMIZERS = ("gd", "normalized")


class DivergenceError(FloatingPointError):
    """Raised when the loss becomes non-finite or explodes: the learning rate is too large.

    The inputs are validated before the first step, so this error is about the step size (or
    the initialization), never about bad data.
    """


@dataclass
class Trajectory:
    """What :func:`train` recorded. For a batch of B runs every per-record array has a run axis.

    Attributes
    ----------
    steps
        (T,) iteration numbers at which the records were taken.
    loss, error
        (T,) or (T, B): training loss and reconstruction error ‖W − W*‖²_F / ‖W*‖²_F.
    singular_values
        (T, k) or (T, B, k): the top ``k`` singular values of W.
    entries
        (T, E) or (T, B, E): the recorded entries W[i, j], in the order asked for.
    frobenius, nuclear, effective_rank
        (T,) or (T, B): ‖W‖_F, ‖W‖_*, and the effective rank of Roy & Vetterli (2007).
    products
        (T, n, m) or (T, B, n, m) when ``keep_products=True``, else ``None`` (for a tensor
        problem, the tensor: (T, d_1, …, d_N) or (T, B, d_1, …, d_N)).
    time
        (T,) the flow time of each record, for a trajectory of :func:`dmfnb.flow` (whose
        ``steps`` count gradient evaluations); ``None`` for gradient descent.
    component_norms
        Tensor (CP) problems only, else ``None``: (T, R) or (T, B, R), the norm ‖W_r‖ of every
        component. For them ``singular_values`` has no columns and ``nuclear`` and
        ``effective_rank`` are NaN (see :mod:`dmfnb.tensors`).
    factors
        The final factors (a list, W_1 first).
    stop_step
        Iteration at which each run stopped: reached ``tol``, or ``steps``.
    converged
        Whether each run reached ``tol``.
    """

    steps: np.ndarray
    loss: np.ndarray
    error: np.ndarray
    singular_values: np.ndarray
    entries: np.ndarray
    frobenius: np.ndarray
    nuclear: np.ndarray
    effective_rank: np.ndarray
    factors: list[np.ndarray]
    stop_step: np.ndarray | int
    converged: np.ndarray | bool
    products: np.ndarray | None = None
    info: dict = field(default_factory=dict)
    component_norms: np.ndarray | None = None
    time: np.ndarray | None = None

    @property
    def product(self) -> np.ndarray:
        """The final end-to-end matrix W = W_N ⋯ W_1 (for CP factors, the final tensor)."""
        if self.info.get("model") == "cp":
            from .tensors import cp_product

            return cp_product(self.factors)
        return product(self.factors)


def _record_steps(record, steps: int) -> np.ndarray:
    if isinstance(record, str):
        if record != "log":
            raise ValueError(f"record must be 'log', a step interval or a list of steps, got {record!r}")
        grid = np.geomspace(1, max(steps, 1), 200)
        return np.unique(np.concatenate([[0], np.round(grid).astype(int), [steps]]))
    if np.isscalar(record) or isinstance(record, (bool, np.bool_)) or record is None:
        every = check_integer("record", record, minimum=1)
        return np.unique(np.append(np.arange(0, steps + 1, every), steps))
    # Explicit steps must be integers: a float list would be truncated (1.5 → 1) silently.
    grid = as_real_array("record", record, ndims=(1,), what="'log', a step interval or a list of steps")
    if np.any(grid != np.round(grid)) or np.any(grid < 0):
        raise ValueError(f"record steps must be non-negative integers, got {show(record)}")
    grid = np.unique(grid.astype(int))
    return grid[grid <= steps]


def _check_entries(entries, shape) -> list[tuple[int, int]]:
    """``entries`` as a list of in-range integer pairs (i, j), or a clear error."""
    n, m = shape
    hint = "entries must be pairs (i, j) in a list, e.g. [(0, 1), (2, 3)]"
    if isinstance(entries, (str, bytes)) or not hasattr(entries, "__iter__"):
        raise TypeError(f"{hint}; got {show(entries)}")
    entries = list(entries)
    out = []
    for e in entries:
        if np.ndim(e) == 0:  # a flat pair (1, 2) iterates into numbers, not pairs
            raise TypeError(f"{hint}; got {show(entries)} (for one entry write [(i, j)])")
        pair = tuple(e)
        ok = len(pair) == 2
        if ok:
            try:
                pair = tuple(check_integer("entries", x, minimum=0) for x in pair)
            except (TypeError, ValueError):
                ok = False
        if not ok or not (pair[0] < n and pair[1] < m):
            raise ValueError(f"{hint}, of integers inside the {n}×{m} matrix; got {show(e)}")
        out.append(pair)
    return out


def _check_lr(lr, batch) -> np.ndarray:
    what = "a positive number, or one per run (an array of shape (B,))"
    if isinstance(lr, (bool, np.bool_, str, bytes)) or lr is None:
        raise TypeError(f"lr must be {what}, got {show(lr)}")
    try:
        lr_arr = np.asarray(lr, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"lr must be {what}, got {show(lr)}") from None
    if np.asarray(lr).dtype.kind not in "fiu":
        raise TypeError(f"lr must be {what}, got {show(lr)}")
    if lr_arr.ndim > 1 or (lr_arr.ndim == 1 and (batch is None or lr_arr.shape[0] != batch)):
        raise ValueError(f"lr must be a number or one per run (shape ({batch},)), got shape {lr_arr.shape}")
    if not np.all(np.isfinite(lr_arr)) or np.any(lr_arr <= 0):
        raise ValueError(f"lr must be positive and finite, got {lr!r}")
    return lr_arr


def train(
    problem,
    factors,
    *,
    lr,
    steps: int,
    optimizer: str = "gd",
    tol: float | None = None,
    record="log",
    top_k: int = 10,
    entries=(),
    keep_products: bool = False,
    alpha: float = 0.99,
    eps: float = 1e-4,
    explode: float = 1e6,
    progress: bool | None = None,
    label: str | None = None,
    backend: str | None = None,
) -> Trajectory:
    """Train the factors on ``problem`` by gradient descent and record the trajectory.

    Parameters
    ----------
    problem
        A problem from :mod:`dmfnb.problems` (single or stacked), or a
        :class:`dmfnb.TensorCompletionProblem` (then ``factors`` are CP factors).
    factors
        Initial factors ``[W_1, …, W_N]``; copied, never modified. Stacked factors (B, ·, ·) run B
        trainings at once, with the same numbers as running them one by one. For a tensor
        problem, CP factors ``[A_1, …, A_N]`` of shape (d_n, R) (see :mod:`dmfnb.tensors`).
    lr
        Learning rate η, a number or one per run (shape (B,)).
    steps
        Maximum number of iterations.
    optimizer
        ``"gd"``: W_j ← W_j − η ∂ℓ/∂W_j. ``"normalized"``: the globally normalized step of
        Arora et al. (2019)'s code ("GroupRMSprop"): v ← αv + (1−α) Σ_j ‖∂ℓ/∂W_j‖²_F,
        v̂ = v/(1−α^t), W_j ← W_j − η/(√v̂ + eps) · ∂ℓ/∂W_j — gradient descent along the exact
        gradient with one adaptive step size per run.
    tol
        Stop a run once its loss is ≤ ``tol`` (the authors use 1e-6). ``None``: run all steps.
        A stopped run of a stack is frozen and leaves the stack's computation (the others go
        on at the cost of their own number).
    record
        ``"log"`` (about 200 log-spaced steps), an interval k (every k steps), or explicit steps.
        The final state is always recorded.
    top_k
        How many singular values to record (at most min(n, m) exist), an integer ≥ 1.
    entries
        Entries (i, j) of W to record: a list of integer pairs, e.g. ``[(0, 1)]``.
    keep_products
        Also record W itself at every record step (small problems).
    alpha, eps
        Parameters of the normalized step: 0 ≤ alpha < 1 (alpha = 1 would divide by 1 − α^t = 0)
        and eps > 0.
    explode
        Divergence threshold, a number > 1 (``numpy.inf`` turns the test off, leaving only
        non-finite losses). A run diverges when its loss becomes NaN/inf or exceeds ``explode`` ×
        its *scale*, the larger of the initial loss ℓ(W(0)) and the loss ℓ(0) of the zero matrix.
        The scale is never tiny: a run started at (or near) the solution, with ℓ(W(0)) ≈ 0, may
        fluctuate at round-off level without being called divergent, since it is measured against
        ℓ(0), the size of the data.
    progress
        Show a tqdm progress bar; default: for runs of ≥ 50,000 steps when the environment sets
        ``DMFNB_PROGRESS=1`` (as ``python -m dmfnb reproduce`` does).
    label
        What the progress bar names as this run (e.g. ``"depth 3, seed 2"``).
    backend
        ``"numpy"`` or ``"cupy"`` (an NVIDIA GPU); default ``DMFNB_BACKEND`` or numpy. Inputs and
        the returned trajectory are numpy arrays either way (see :mod:`dmfnb.backend`).

    Returns
    -------
    Trajectory

    Raises
    ------
    TypeError
        For arguments of the wrong type: a problem that is not a :mod:`dmfnb.problems` problem,
        factors that are not a list of float32/float64 matrices of one dtype, a non-numeric
        ``lr``/``tol``/``alpha``/``eps``/``explode``, ``entries`` not a list of pairs, and so on.
    ValueError
        For values out of range (negative ``steps`` or ``lr``, ``alpha`` ∉ [0, 1), ``explode`` ≤ 1,
        entries outside the matrix, non-finite factors, shapes that do not match the problem).
    DivergenceError
        If a loss becomes NaN/inf or explodes; the message gives the step, the run and a smaller
        learning rate to try.
    """
    model = _model(problem)
    model.check_problem(problem)
    initial = model.check_factors(factors)
    dtype = _one_dtype(initial)  # mixed widths would fail inside the in-place updates
    factors = [f.copy() for f in initial]
    steps = check_integer("steps", steps, minimum=0)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if tol is not None:
        check_number("tol", tol, low=0, low_inclusive=True, what="a non-negative number or None")
    top_k = check_integer("top_k", top_k, minimum=1)
    keep_products = check_bool("keep_products", keep_products)
    check_number("alpha", alpha, low=0, high=1, low_inclusive=True,
                 what="a number in [0, 1) (the decay of the normalized step)")
    check_number("eps", eps, low=0, what="a positive finite number")
    explode = check_number("explode", explode, low=1, allow_inf=True,
                           what="a number > 1 (numpy.inf: only non-finite losses diverge)")
    if progress is not None:
        check_bool("progress", progress)
    problem, batch = model.agree(problem, factors, dtype)
    lr_arr = _check_lr(lr, batch)
    entries = model.check_entries(entries, problem)

    rec_steps = _record_steps(record, steps)
    runs = 1 if batch is None else batch
    # The divergence scale: the initial loss, but never below ℓ(0), the size of the data, so that a
    # start at the solution (loss ≈ 0) does not turn round-off into "divergence". Capped at the
    # largest float so that an infinite loss still exceeds it when explode is inf.
    zero_loss = model.zero_loss(problem, dtype)
    floor = np.broadcast_to(np.asarray(zero_loss, dtype=float), (runs,))
    xp = namespace(backend)
    bp = model.evaluator(problem, factors, xp)
    lr_run = np.broadcast_to(lr_arr, (runs,)).astype(float)
    active = np.ones(runs, dtype=bool)
    stop_step = np.full(runs, steps)
    # Per-run multipliers with a (B, 1, 1) shape for broadcasting over matrices.
    shape3 = (-1, 1, 1) if batch is not None else ()
    v = np.zeros(runs)
    log = _new_log()
    limit = None
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a string naming the run, got {type(label).__name__}")
    bar = _progress_bar(progress, steps, label)
    # Plain GD on a small dense problem: compiled steps between the loop's events.
    fast = gd_stepper(problem, factors, bp, xp) if optimizer == "gd" else None
    # A stack sheds the runs that reach tol: the per-run arrays above and ``factors`` then hold
    # only the runs still stepping, ``ids`` their places in the stack, and ``full`` (the whole
    # stack's factors) and ``frozen`` (its losses) are brought up to date at each record. A run
    # that stops early costs nothing from then on, and each run's numbers are those it has in
    # the whole stack. Not for the compiled steps, whose problems are small, nor on a GPU.
    shed = batch is not None and fast is None and xp is np and hasattr(problem, "_take")
    ids = full = frozen = loss_run = None
    stopped = False  # some run in the evaluator has stopped since the last shed
    try:
        t = 0
        next_rec = 0
        shown = 0
        while True:
            if fast is not None and limit is not None:
                stop_at = rec_steps[next_rec] if next_rec < len(rec_steps) else steps
                t = fast(t, min(stop_at, steps), lr_run * active, tol, limit, active)
                if bar is not None and t - shown >= 1000:
                    bar.update(t // 1000 * 1000 - shown)
                    shown = t // 1000 * 1000
            if stopped:
                stopped = False
                if ids is None:
                    ids, full, frozen = np.arange(runs), factors, np.zeros(runs)
                else:
                    _scatter(full, factors, ids)
                frozen[ids] = loss_run
                ids, lr_run, v, limit = ids[active], lr_run[active], v[active], limit[active]
                factors = [f[ids] for f in full]
                active = active[active]
                bp = model.evaluator(problem._take(ids), factors, xp)
            loss = bp.forward(factors)
            loss_run = np.atleast_1d(to_host(loss))
            if limit is None:
                scale = np.maximum(np.maximum(loss_run, floor), np.finfo(float).tiny)
                limit = np.minimum(explode * scale, np.finfo(float).max)
            if not (loss_run <= limit).all():  # the method: a third of np.all's cost per step
                _diverged(loss_run, limit, t, lr_run, batch, problem, initial, optimizer,
                          model, ids)
            if tol is not None:
                newly = active & (loss_run <= tol)
                if newly.any():
                    stop_step[newly if ids is None else ids[newly]] = t
                    active &= ~newly
                    stopped = shed
            finished = t >= steps or not active.any()
            if (next_rec < len(rec_steps) and t == rec_steps[next_rec]) or finished:
                if ids is None:
                    model.record(log, t, loss, problem, bp, factors, top_k, entries,
                                 keep_products)
                else:
                    _scatter(full, factors, ids)
                    frozen[ids] = loss_run
                    model.record(log, t, frozen.copy(), problem, None, full, top_k, entries,
                                 keep_products)
                while next_rec < len(rec_steps) and rec_steps[next_rec] <= t:
                    next_rec += 1
            if finished:
                break
            # Step multipliers go to the factors' dtype: a float32 array times a float64
            # scalar runs numpy's float64 loop with a cast on every element (5× slower).
            if optimizer == "gd":
                # Pre-scaling G by η (zero for finished runs) makes each update one subtraction.
                bp.backward(factors, _multiplier(xp, lr_run * active, shape3, dtype, batch))
                for f, g in zip(factors, bp.grads, strict=True):
                    f -= g
            else:
                bp.backward(factors)
                sq = sum(xp.sum(g * g, axis=(-2, -1)) for g in bp.grads)
                v = alpha * v + (1 - alpha) * np.atleast_1d(to_host(sq))
                step = lr_run / (np.sqrt(v / (1 - alpha ** (t + 1))) + eps) * active
                step = _multiplier(xp, step, shape3, dtype, batch)
                for f, g in zip(factors, bp.grads, strict=True):
                    g *= step
                    f -= g
            t += 1
            if bar is not None and t % 1000 == 0:
                bar.update(t - shown)
                shown = t
    finally:
        if bar is not None:
            bar.close()

    if ids is not None:
        _scatter(full, factors, ids)
        factors = full
    stop_step[active if ids is None else ids[active]] = t
    final_loss = np.atleast_1d(log["loss"][-1])
    converged = final_loss <= tol if tol is not None else np.zeros(runs, dtype=bool)
    if batch is None:
        stop_step, converged = int(stop_step[0]), bool(converged[0])
    return _trajectory(log, [to_host(f) for f in factors], stop_step=stop_step,
                       converged=converged, keep_products=keep_products,
                       info={"optimizer": optimizer, "lr": lr, "tol": tol, "model": model.name})


def _new_log() -> dict[str, list]:
    """The records :func:`_record` appends to, one list per quantity."""
    return {k: [] for k in ("steps", "loss", "error", "sv", "entries", "fro", "nuc", "erank",
                            "comp", "W")}


def _trajectory(log, factors, *, stop_step, converged, keep_products, info,
                time=None) -> Trajectory:
    """The :class:`Trajectory` of a finished run from its records (train's and flow's)."""
    return Trajectory(
        steps=np.array(log["steps"]),
        loss=np.array(log["loss"]),
        error=np.array(log["error"]),
        singular_values=np.array(log["sv"]),
        entries=np.array(log["entries"]),
        frobenius=np.array(log["fro"]),
        nuclear=np.array(log["nuc"]),
        effective_rank=np.array(log["erank"]),
        factors=factors,
        stop_step=stop_step,
        converged=converged,
        products=np.array(log["W"]) if keep_products else None,
        info=info,
        component_norms=np.array(log["comp"]) if log["comp"] else None,
        time=time,
    )


class _MatrixModel:
    """The engine's hooks for deep matrix factorizations W = W_N ⋯ W_1 (the default model).

    A problem may name other hooks through a ``_engine_model()`` method (the CP factorization
    of :mod:`dmfnb.tensors` does): ``check_problem``, ``check_factors``, ``agree`` (problem in
    the factors' dtype, and the batch size), ``check_entries``, ``zero_loss``, ``evaluator``
    (an object with ``forward(factors) -> loss``, ``backward(factors, scale)`` and ``grads``),
    ``record`` and ``product``. The loop itself, the optimizers and the stopping rules are shared.
    """

    name = "matrix"

    def check_problem(self, problem):
        return check_problem(problem)

    def check_factors(self, factors):
        return check_factors(factors)

    def agree(self, problem, factors, dtype):
        problem._check(product(factors))  # shape and batch agreement, with a clear message
        if problem.dtype != dtype:
            # Mixed precision would silently run at the wider width: compute in the factors' dtype.
            problem = problem.astype(dtype)
        batch = factors[0].shape[0] if factors[0].ndim == 3 else problem.batch
        if factors[0].ndim == 2 and batch is not None:
            raise ValueError(
                f"the problem is a stack of {batch} problems but the factors are not stacked; "
                "stack one factor list per problem with dmfnb.stack_factors"
            )
        return problem, batch

    def check_entries(self, entries, problem):
        return _check_entries(entries, problem.shape)

    def zero_loss(self, problem, dtype):
        return problem.loss_and_gradient(np.zeros(problem.target.shape, dtype))[0]

    def evaluator(self, problem, factors, xp):
        if xp is not np:
            factors[:] = [xp.asarray(f) for f in factors]
        # The loop computes with the problem on the device; records are taken on the host copy.
        return Backprop(problem if xp is np else problem.to_device(xp), factors, xp)

    def product(self, factors):
        return product(factors)

    def record(self, log, t, loss, problem, bp, factors, top_k, entries, keep_products):
        # bp is None once the evaluator holds only some runs of the stack
        W = product(factors) if bp is None else bp.W
        _record(log, t, loss, problem, W, top_k, entries, keep_products)


MATRIX = _MatrixModel()


def _model(problem):
    """The hooks that train ``problem``'s model: its own, or the matrix factorization's."""
    hooks = getattr(problem, "_engine_model", None)
    return hooks() if callable(hooks) else MATRIX


def _record(log, t, loss, problem, W, top_k, entries, keep_products):
    W = to_host(W)
    s = np.linalg.svd(W, compute_uv=False)
    log["steps"].append(t)
    log["loss"].append(np.copy(to_host(loss)))
    log["error"].append(problem.reconstruction_error(W))
    log["sv"].append(s[..., :top_k])
    log["entries"].append(np.stack([W[..., i, j] for i, j in entries], axis=-1) if entries
                          else np.zeros((*W.shape[:-2], 0)))
    log["fro"].append(np.sqrt(np.sum(s * s, axis=-1)))
    log["nuc"].append(np.sum(s, axis=-1))
    log["erank"].append(effective_rank(W, singular_values=s))
    if keep_products:
        log["W"].append(W.copy())


def _scatter(full, factors, sel) -> None:
    """Write the stepped runs ``sel`` back into the whole stack's factors."""
    for whole, part in zip(full, factors, strict=True):
        whole[sel] = part


def _multiplier(xp, per_run: np.ndarray, shape3: tuple, dtype, batch):
    """The per-run step multipliers in the factors' dtype: a (B, 1, 1) array for a stack, a
    scalar for one run."""
    if batch is None:
        return dtype.type(per_run[0])
    return xp.asarray(per_run.reshape(shape3).astype(dtype))


def _diverged(loss_run, limit, t, lr_run, batch, problem, initial, optimizer, model,
              ids=None):
    # ``ids``: the stack's run of each entry once the stack has shed some (None: all runs)
    here = int(np.flatnonzero(~(loss_run <= limit))[0])
    bad = here if ids is None else int(ids[here])
    which = f" (run {bad} of the batch)" if batch is not None else ""
    value = loss_run[here]
    what = "is not finite" if not np.isfinite(value) else f"exploded to {value:.3g}"
    lr = lr_run[here]
    suggestion = lr / 10
    if optimizer == "gd" and model is MATRIX:  # the curvature estimate is the matrix model's
        suggestion = min(suggestion, _safe_lr(problem, initial, bad))
    raise DivergenceError(
        f"gradient descent diverged at step {t}{which}: the loss {what}. "
        f"The learning rate lr={lr:g} is too large for this problem and initialization; "
        f"try lr={float(f'{suggestion:.2g}'):g}."
    )


def _safe_lr(problem, initial, run: int) -> float:
    """1/λ for the largest Hessian curvature λ met at the start and at the balanced solution.

    Gradient descent is stable near a point only for lr < 2/λ there. A dividing-by-ten guess fails
    when the step is far too large (a large initialization) or when the curvature grows on the way
    (deep factorizations sharpen as they fit), so the suggestion takes the curvature at the start
    and at the flattest factorization of the target, where training ends. Runs only on the
    error path; returns inf when it cannot tell.
    """
    from .factors import balanced_factors

    try:
        f0 = [np.asarray(f[run] if f.ndim == 3 else f, dtype=np.float64) for f in initial]
        single = _single_problem(problem, run)
        target = single.target
        solution = balanced_factors(target, len(f0), width=f0[0].shape[0], seed=0)
        if [f.shape for f in solution] != [f.shape for f in f0]:
            solution = None
        lam = _curvature(single, f0)
        if solution is not None:
            lam = max(lam, _curvature(single, solution))
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return np.inf
    return 1.0 / lam if lam > 0 and np.isfinite(lam) else np.inf


def _single_problem(problem, run: int):
    """Problem ``run`` of a stack (the problem itself when it is not a stack), in float64."""
    problem = problem.astype(np.float64)
    if problem.batch is None:
        return problem
    import copy

    single = copy.copy(problem)
    for name, value in vars(problem).items():
        # Shared data (one covariance, one measurement array for the whole stack) stays as is.
        stacked_ndim = {"input_covariance": 3, "measurements": 4}.get(name)
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            continue
        if stacked_ndim is None or value.ndim == stacked_ndim:
            setattr(single, name, value[run])
    if hasattr(single, "num_observed") and np.ndim(single.num_observed):
        single.num_observed = int(single.num_observed)
    return single


def _curvature(problem, factors, iters: int = 40) -> float:
    """Largest |eigenvalue| of the Hessian of ℓ(W_N ⋯ W_1), by power iteration on finite differences."""
    rng = np.random.default_rng(0)
    bp = Backprop(problem, factors)
    v = [rng.standard_normal(f.shape) for f in factors]
    size = np.sqrt(sum(np.vdot(f, f) for f in factors))
    lam = 0.0
    for _ in range(iters):
        norm = np.sqrt(sum(np.vdot(x, x) for x in v))
        if not norm > 0:
            return lam
        v = [x / norm for x in v]
        h = 1e-5 * max(1.0, size)
        bp.evaluate([f + h * x for f, x in zip(factors, v, strict=True)])
        plus = [g.copy() for g in bp.grads]
        bp.evaluate([f - h * x for f, x in zip(factors, v, strict=True)])
        v = [(p - g) / (2 * h) for p, g in zip(plus, bp.grads, strict=True)]
        lam = float(np.sqrt(sum(np.vdot(x, x) for x in v)))
    return lam


def _progress_bar(progress, steps, label=None):
    if progress is None:  # by default only long runs, and only where asked (the CLI asks)
        progress = os.environ.get("DMFNB_PROGRESS") == "1" and steps >= 50_000
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, unit="step", mininterval=1.0, desc=label)
