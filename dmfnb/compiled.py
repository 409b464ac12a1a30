"""Gradient-descent steps compiled with numba, for small dense problems.

A step of :func:`dmfnb.train` on a 2×2 or 20×20 problem is a few thousand flops spread over
some thirty numpy calls: Python's per-call cost, not arithmetic, sets its time (about 54 µs per
step for a stack of four depth-3 2×2 runs, measured). :func:`gd_stepper` gives the loop a
compiled function that takes plain GD steps between the loop's events, the same steps in the
same order: the forward products, the loss and its gradient ``(W − W*) ⊙ weight`` (completion:
``weight = 2/m · P_Ω``; least squares: ``weight = 1``), the backward products and the in-place
updates. It returns at the first step where the loop has something to do (a record, a run
reaching ``tol``, a loss above the divergence limit, the last step) without taking that step,
so the loop's own code still does every record, stop and error. The numbers agree with the
numpy path to rounding (the sums run in another order; ``tests/test_compiled.py``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_WORK", "gd_stepper"]

# The compiled steps take a stack when runs × (largest factor dimension)³ is at most this: above
# it numpy's BLAS products are as fast or faster (benchmarks/bench_engine.py, depth 3, numpy ÷
# compiled per step, Haswell / native kernel: 2×2 ×1 run 75 / 72, ×4 runs 19 / 23; 10×10 ×4
# 2.9 / 2.9; 20×20 ×1 2.3 / 2.2, ×4 1.03 / 0.92; 30×30 ×1 1.05 / 0.95).
MAX_WORK = 20_000

_KERNEL = None


def _kernel():
    """The compiled step loop, built on first use (numba compiles it once and caches it)."""
    global _KERNEL
    if _KERNEL is None:
        from numba import njit

        # Each entry sums its k terms in increasing k, the loops ordered so that the innermost
        # runs along contiguous rows (which LLVM vectorizes without reassociating the sums).
        @njit(cache=True, nogil=True)
        def _matmul(a, b, out):
            for i in range(a.shape[0]):
                for j in range(b.shape[1]):
                    out[i, j] = a[i, 0] * b[0, j]
                for k in range(1, a.shape[1]):
                    for j in range(b.shape[1]):
                        out[i, j] += a[i, k] * b[k, j]

        @njit(cache=True, nogil=True)
        def _matmul_tn(a, b, out):  # aᵀ b
            for i in range(a.shape[1]):
                for j in range(b.shape[1]):
                    out[i, j] = a[0, i] * b[0, j]
            for k in range(1, a.shape[0]):
                for i in range(a.shape[1]):
                    for j in range(b.shape[1]):
                        out[i, j] += a[k, i] * b[k, j]

        @njit(cache=True, nogil=True)
        def _matmul_nt(a, b, out, bt):  # a bᵀ, through bt = bᵀ (scratch of at least b's size)
            t = bt[:b.shape[1], :b.shape[0]]
            for j in range(b.shape[0]):
                for k in range(b.shape[1]):
                    t[k, j] = b[j, k]
            _matmul(a, t, out)

        @njit(cache=True, nogil=True)
        def steps(F, prefix, grads, back, G, target, weight, scale, t, t_stop, tol, use_tol,
                  limit, active, loss, bt):
            depth, runs = len(F), G.shape[0]
            n, m = G.shape[1], G.shape[2]
            while t < t_stop:
                for b in range(runs):
                    P = F[0][b]
                    for j in range(1, depth):
                        _matmul(F[j][b], P, prefix[j - 1][b])
                        P = prefix[j - 1][b]
                    s = G[b, 0, 0] * 0
                    for i in range(n):
                        for k in range(m):
                            diff = P[i, k] - target[b, i, k]
                            g = diff * weight[b, i, k]
                            G[b, i, k] = g
                            s += g * diff
                    loss[b] = 0.5 * s
                for b in range(runs):
                    if not loss[b] <= limit[b]:
                        return t
                    if use_tol and active[b] and loss[b] <= tol:
                        return t
                for b in range(runs):
                    Gb = G[b]
                    for i in range(n):
                        for k in range(m):
                            Gb[i, k] *= scale[b]
                    B = Gb
                    for j in range(depth - 1, 0, -1):
                        prev = F[0][b] if j == 1 else prefix[j - 2][b]
                        _matmul_nt(B, prev, grads[j][b], bt)
                        nxt = grads[0][b] if j == 1 else back[j - 1][b]
                        _matmul_tn(F[j][b], B, nxt)
                        B = nxt
                    for j in range(depth):
                        f, g = F[j][b], grads[j][b]
                        for i in range(f.shape[0]):
                            for k in range(f.shape[1]):
                                f[i, k] -= g[i, k]
                t += 1
            return t

        _KERNEL = steps
    return _KERNEL


def _stack3(a):
    """A (B, ·, ·) view of a matrix or a stack (writes go through to ``a``)."""
    return a if a.ndim == 3 else a[None]


def gd_stepper(problem, factors, bp, xp):
    """A function taking the loop's plain GD steps in compiled code, or ``None`` where it does not
    apply (then the loop takes every step in numpy).

    It applies to :class:`~dmfnb.CompletionProblem` and :class:`~dmfnb.LeastSquaresProblem`
    (without input covariance) on the numpy backend, with two or more C-ordered factors, when
    the stack is small: runs × (largest factor dimension)³ ≤ ``MAX_WORK``.

    Returns
    -------
    callable or None
        ``step(t, t_stop, scale, tol, limit, active) -> t``: advance ``factors`` in place from
        step ``t`` until ``t_stop`` or the first step whose loss is above ``limit`` (or not a
        number) or, with ``tol`` not None, reaches ``tol`` in an active run; that step is not
        taken. ``scale`` holds each run's η (0 for finished runs), ``limit`` and ``active`` one
        value per run.
    """
    from .problems import CompletionProblem, LeastSquaresProblem

    if xp is not np or len(factors) < 2 or not all(f.flags.c_contiguous for f in factors):
        return None
    side = max(max(f.shape[-2:]) for f in factors)
    runs = factors[0].shape[0] if factors[0].ndim == 3 else 1
    if runs * side**3 > MAX_WORK:
        return None
    if type(problem) is CompletionProblem:
        weight = problem._weight2
    elif type(problem) is LeastSquaresProblem and problem.input_covariance is None:
        weight = np.ones_like(problem.target)
    else:
        return None
    try:
        kernel = _kernel()
    except ImportError:  # numba is a dependency; without it the numpy loop does the same steps
        return None
    dtype = factors[0].dtype
    F = tuple(_stack3(f) for f in factors)
    target = np.ascontiguousarray(np.broadcast_to(_stack3(problem.target), (runs, *problem.shape)),
                                  dtype=dtype)
    weight = np.ascontiguousarray(np.broadcast_to(_stack3(weight), target.shape), dtype=dtype)
    # The loop's own buffers serve as scratch: its next forward pass overwrites them.
    prefix = tuple(_stack3(a) for a in bp.prefix[1:])
    grads = tuple(_stack3(a) for a in bp.grads)
    back = tuple(_stack3(a) for a in bp.back)  # back[j − 1] holds W_jᵀ B_j, j ≥ 2
    G = _stack3(bp.G)
    loss = np.empty(runs)
    bt = np.empty((side, side), dtype)

    def step(t, t_stop, scale, tol, limit, active):
        return int(kernel(F, prefix, grads, back, G, target, weight,
                          np.asarray(scale, dtype=dtype), int(t), int(t_stop),
                          0.0 if tol is None else float(tol), tol is not None,
                          np.asarray(limit, dtype=float), np.asarray(active, dtype=np.bool_),
                          loss, bt))

    return step
