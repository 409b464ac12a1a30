"""The training loop: gradient descent on the factors, for one run or a batch of B runs at once.

Data path: problem → factors → :func:`train` → :class:`Trajectory` → figure. The loop allocates
its buffers once (:class:`Backprop`) and spends each step in 3(N−1) matrix products, the problem's
loss and gradient, and N in-place updates.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from .factors import Backprop, check_factors, product
from .infra.backend import namespace, to_host
from .metrics import effective_rank

__all__ = ["DivergenceError", "Trajectory", "train"]

OPTIMIZERS = ("gd", "normalized")


class DivergenceError(FloatingPointError):
    """Raised when the loss becomes non-finite or explodes: the learning rate is too large."""


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
        (T, n, m) or (T, B, n, m) when ``keep_products=True``, else ``None``.
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

    @property
    def product(self) -> np.ndarray:
        """The final end-to-end matrix W = W_N ⋯ W_1."""
        return product(self.factors)


def _record_steps(record, steps: int) -> np.ndarray:
    if isinstance(record, str):
        if record != "log":
            raise ValueError(f"record must be 'log', a step interval or a list of steps, got {record!r}")
        grid = np.geomspace(1, max(steps, 1), 200)
        return np.unique(np.concatenate([[0], np.round(grid).astype(int), [steps]]))
    if np.isscalar(record):
        every = int(record)
        if every < 1:
            raise ValueError(f"record interval must be ≥ 1, got {record!r}")
        return np.unique(np.append(np.arange(0, steps + 1, every), steps))
    grid = np.unique(np.asarray(record, dtype=int))
    if grid.size == 0 or grid[0] < 0:
        raise ValueError("record steps must be non-negative integers")
    return grid[grid <= steps]


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
    backend: str | None = None,
) -> Trajectory:
    """Train the factors on ``problem`` by gradient descent and record the trajectory.

    Parameters
    ----------
    problem
        A problem from :mod:`dmfnb.problems` (single or stacked).
    factors
        Initial factors ``[W_1, …, W_N]``; copied, never modified. Stacked factors (B, ·, ·) run B
        trainings at once, with the same numbers as running them one by one.
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
    record
        ``"log"`` (about 200 log-spaced steps), an interval k (every k steps), or explicit steps.
        The final state is always recorded.
    top_k
        How many singular values to record.
    entries
        Entries (i, j) of W to record.
    keep_products
        Also record W itself at every record step (small problems).
    alpha, eps
        Parameters of the normalized step.
    explode
        Raise :class:`DivergenceError` when a loss exceeds ``explode`` × its initial value.
    progress
        Show a tqdm progress bar; default: for runs of ≥ 50,000 steps when the environment sets
        ``DMFNB_PROGRESS=1`` (as ``python -m dmfnb reproduce`` does).
    backend
        ``"numpy"`` or ``"cupy"`` (an NVIDIA GPU); default ``DMFNB_BACKEND`` or numpy. Inputs and
        the returned trajectory are numpy arrays either way (see :mod:`dmfnb.backend`).

    Returns
    -------
    Trajectory

    Raises
    ------
    DivergenceError
        If a loss becomes NaN/inf or explodes; the message gives the step, the run and a smaller
        learning rate to try.
    """
    factors = [f.copy() for f in check_factors(factors)]
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    problem._check(product(factors))  # shape and batch agreement, with a clear message
    dtype = np.result_type(*factors)
    if problem.dtype != dtype:
        # Mixed precision would silently run at the wider width: compute in the factors' dtype.
        problem = problem.astype(dtype)
    batch = factors[0].shape[0] if factors[0].ndim == 3 else problem.batch
    if factors[0].ndim == 2 and batch is not None:
        raise ValueError(
            f"the problem is a stack of {batch} problems but the factors are not stacked; "
            "stack one factor list per problem with dmfnb.stack_factors"
        )
    lr_arr = np.asarray(lr, dtype=float)
    if lr_arr.ndim > 1 or (lr_arr.ndim == 1 and (batch is None or lr_arr.shape[0] != batch)):
        raise ValueError(f"lr must be a number or one per run (shape ({batch},)), got shape {lr_arr.shape}")
    if not np.all(np.isfinite(lr_arr)) or np.any(lr_arr <= 0):
        raise ValueError(f"lr must be positive and finite, got {lr!r}")
    if tol is not None and not tol >= 0:
        raise ValueError(f"tol must be a non-negative number or None, got {tol!r}")
    entries = [tuple(int(x) for x in e) for e in entries]
    n, m = problem.shape
    for e in entries:
        if len(e) != 2 or not (0 <= e[0] < n and 0 <= e[1] < m):
            raise ValueError(f"entries must be pairs (i, j) inside the {n}×{m} matrix, got {e}")

    rec_steps = _record_steps(record, steps)
    xp = namespace(backend)
    if xp is not np:
        factors = [xp.asarray(f) for f in factors]
    # The loop computes with the problem on the device; records are taken on the host copy.
    bp = Backprop(problem if xp is np else problem.to_device(xp), factors, xp)
    runs = 1 if batch is None else batch
    lr_run = np.broadcast_to(lr_arr, (runs,)).astype(float)
    active = np.ones(runs, dtype=bool)
    stop_step = np.full(runs, steps)
    # Per-run multipliers with a (B, 1, 1) shape for broadcasting over matrices.
    shape3 = (runs, 1, 1) if batch is not None else ()
    v = np.zeros(runs)
    log: dict[str, list] = {k: [] for k in
                            ("steps", "loss", "error", "sv", "entries", "fro", "nuc", "erank", "W")}
    limit = None
    bar = _progress_bar(progress, steps)
    try:
        t = 0
        next_rec = 0
        while True:
            loss = bp.forward(factors)
            loss_run = np.atleast_1d(to_host(loss))
            if limit is None:
                limit = explode * np.maximum(loss_run, np.finfo(float).tiny)
            if not np.all(loss_run <= limit):
                _diverged(loss_run, limit, t, lr_run, batch)
            if tol is not None:
                newly = active & (loss_run <= tol)
                if newly.any():
                    stop_step[newly] = t
                    active &= ~newly
            finished = t >= steps or not active.any()
            if (next_rec < len(rec_steps) and t == rec_steps[next_rec]) or finished:
                _record(log, t, loss, problem, bp.W, top_k, entries, keep_products)
                while next_rec < len(rec_steps) and rec_steps[next_rec] <= t:
                    next_rec += 1
            if finished:
                break
            if optimizer == "gd":
                # Pre-scaling G by η (zero for finished runs) makes each update one subtraction.
                bp.backward(factors, xp.asarray((lr_run * active).reshape(shape3)) if batch is not None
                            else lr_run[0])
                for f, g in zip(factors, bp.grads, strict=True):
                    f -= g
            else:
                bp.backward(factors)
                sq = sum(xp.sum(g * g, axis=(-2, -1)) for g in bp.grads)
                v = alpha * v + (1 - alpha) * np.atleast_1d(to_host(sq))
                step = lr_run / (np.sqrt(v / (1 - alpha ** (t + 1))) + eps) * active
                step = xp.asarray(step.reshape(shape3)) if batch is not None else step[0]
                for f, g in zip(factors, bp.grads, strict=True):
                    g *= step
                    f -= g
            t += 1
            if bar is not None and t % 1000 == 0:
                bar.update(1000)
    finally:
        if bar is not None:
            bar.close()

    stop_step[active] = t
    final_loss = np.atleast_1d(log["loss"][-1])
    converged = final_loss <= tol if tol is not None else np.zeros(runs, dtype=bool)
    if batch is None:
        stop_step, converged = int(stop_step[0]), bool(converged[0])
    return Trajectory(
        steps=np.array(log["steps"]),
        loss=np.array(log["loss"]),
        error=np.array(log["error"]),
        singular_values=np.array(log["sv"]),
        entries=np.array(log["entries"]),
        frobenius=np.array(log["fro"]),
        nuclear=np.array(log["nuc"]),
        effective_rank=np.array(log["erank"]),
        factors=[to_host(f) for f in factors],
        stop_step=stop_step,
        converged=converged,
        products=np.array(log["W"]) if keep_products else None,
        info={"optimizer": optimizer, "lr": lr, "tol": tol},
    )


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


def _diverged(loss_run, limit, t, lr_run, batch):
    bad = int(np.flatnonzero(~(loss_run <= limit))[0])
    which = f" (run {bad} of the batch)" if batch is not None else ""
    value = loss_run[bad]
    what = "is not finite" if not np.isfinite(value) else f"exploded to {value:.3g}"
    raise DivergenceError(
        f"gradient descent diverged at step {t}{which}: the loss {what}. "
        f"The learning rate lr={lr_run[bad]:g} is too large for this problem and initialization; "
        f"try lr={lr_run[bad] / 10:g}."
    )


def _progress_bar(progress, steps):
    if progress is None:  # by default only long runs, and only where asked (the CLI asks)
        progress = os.environ.get("DMFNB_PROGRESS") == "1" and steps >= 50_000
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=steps, unit="step", mininterval=1.0)
