"""One compiled pass for the loss and gradient of a sensing stack that shares its design.

Per step, a stack of sensing runs measuring with one (k × nm) operator A (nested designs, as in
the low_rank_bias chapter's sweeps) needs every run's residuals A·vec(W_b) − y_b and gradients
Aᵀ·r_b: two skinny matrix products with 9–21 columns, which OpenBLAS streams at about a third
of a matrix–vector product's speed (measured 2026-12-03 on this project's machine: 30–38 ms
for one 5000 × 10⁴ float32 product with 4–12 runs, 14 ms for one run as a matrix–vector
product). :func:`sensing_products` instead reads each row of A once per step and keeps it in
cache for both products (``benchmarks/bench_sensing.py``, 2026-12-03: 1.8–2.3× per step in
float32 and 1.2–1.4× in float64 with the native OpenBLAS kernel, 1.6–2.0× and 1.6–1.7× with
the Haswell one). :class:`dmfnb.SensingProblem` uses it for shared stacks, and the two numpy
products where numba is missing.
"""

from __future__ import annotations

import numpy as np

__all__ = ["sensing_products"]

_KERNEL = None


def _kernel():
    """The compiled pass, built on first use (numba compiles it once and caches it)."""
    global _KERNEL
    if _KERNEL is None:
        from numba import njit

        # Reassociation lets LLVM vectorize the dot products (the same inputs still give the
        # same numbers); without "nnan"/"ninf", NaNs and infinities propagate as in numpy.
        fast = {"reassoc", "contract"}

        @njit(cache=True, nogil=True, fastmath=fast)
        def dots4(o0, o1, o2, o3, v0, v1, v2, v3):
            # 16 dot products: 4 rows with 4 runs, 8 loads for 16 multiply-adds
            a00 = a01 = a02 = a03 = a10 = a11 = a12 = a13 = o0.dtype.type(0)
            a20 = a21 = a22 = a23 = a30 = a31 = a32 = a33 = o0.dtype.type(0)
            for j in range(o0.shape[0]):
                p, q, r, s = o0[j], o1[j], o2[j], o3[j]
                x = v0[j]
                a00 += p * x
                a01 += q * x
                a02 += r * x
                a03 += s * x
                x = v1[j]
                a10 += p * x
                a11 += q * x
                a12 += r * x
                a13 += s * x
                x = v2[j]
                a20 += p * x
                a21 += q * x
                a22 += r * x
                a23 += s * x
                x = v3[j]
                a30 += p * x
                a31 += q * x
                a32 += r * x
                a33 += s * x
            return (a00, a01, a02, a03, a10, a11, a12, a13,
                    a20, a21, a22, a23, a30, a31, a32, a33)

        @njit(cache=True, nogil=True, fastmath=fast)
        def dots1(o0, o1, o2, o3, v0):
            a00 = a01 = a02 = a03 = o0.dtype.type(0)
            for j in range(o0.shape[0]):
                x = v0[j]
                a00 += o0[j] * x
                a01 += o1[j] * x
                a02 += o2[j] * x
                a03 += o3[j] * x
            return a00, a01, a02, a03

        @njit(cache=True, nogil=True, fastmath=fast)
        def axpy4(o0, o1, o2, o3, g0, g1, g2, g3, c):
            # c: the 16 coefficients, run-major (a copy: no aliasing with the rows)
            for j in range(o0.shape[0]):
                p, q, r, s = o0[j], o1[j], o2[j], o3[j]
                g0[j] += c[0] * p + c[1] * q + c[2] * r + c[3] * s
                g1[j] += c[4] * p + c[5] * q + c[6] * r + c[7] * s
                g2[j] += c[8] * p + c[9] * q + c[10] * r + c[11] * s
                g3[j] += c[12] * p + c[13] * q + c[14] * r + c[15] * s

        @njit(cache=True, nogil=True, fastmath=fast)
        def axpy1(o0, o1, o2, o3, g0, c):
            for j in range(o0.shape[0]):
                g0[j] += c[0] * o0[j] + c[1] * o1[j] + c[2] * o2[j] + c[3] * o3[j]

        @njit(cache=True, nogil=True)
        def products(op, V, obs, weights, extent, grad, loss):
            k, runs = op.shape[0], V.shape[0]
            zero = np.zeros(op.shape[1], op.dtype)
            c = np.zeros((runs, 4), op.dtype)
            coef = np.zeros(16, op.dtype)
            lo = 0
            for i in range(0, k, 4):
                while lo < runs and extent[lo] <= i:
                    lo += 1  # runs before lo have used all their measurements
                if lo == runs:
                    break
                rows = min(4, k - i)
                o0 = op[i]
                o1 = op[i + 1] if rows > 1 else zero
                o2 = op[i + 2] if rows > 2 else zero
                o3 = op[i + 3] if rows > 3 else zero
                quads = lo + (runs - lo) // 4 * 4  # runs lo…quads go four at a time
                for b in range(lo, quads, 4):
                    d = dots4(o0, o1, o2, o3, V[b], V[b + 1], V[b + 2], V[b + 3])
                    for t in range(16):
                        c[b + t // 4, t % 4] = d[t]
                for b in range(quads, runs):
                    d1 = dots1(o0, o1, o2, o3, V[b])
                    for t in range(4):
                        c[b, t] = d1[t]
                for b in range(lo, runs):
                    for r in range(rows):
                        w = weights[b, i + r]
                        e = c[b, r] - obs[b, i + r]
                        loss[b] += w * e * e
                        c[b, r] = 2 * w * e
                    for r in range(rows, 4):
                        c[b, r] = 0
                for b in range(lo, quads, 4):
                    for t in range(16):
                        coef[t] = c[b + t // 4, t % 4]
                    axpy4(o0, o1, o2, o3, grad[b], grad[b + 1], grad[b + 2], grad[b + 3], coef)
                for b in range(quads, runs):
                    for t in range(4):
                        coef[t] = c[b, t]
                    axpy1(o0, o1, o2, o3, grad[b], coef)

        _KERNEL = products
    return _KERNEL


def sensing_products(op, V, observations, weights, extent, grad, loss) -> bool:
    """Loss and gradient of a stack of sensing runs sharing one design, in one pass over it.

    For each run b: ``loss[b] += Σ_i w_bi (⟨a_i, v_b⟩ − y_bi)²`` and
    ``grad[b] += Σ_i 2 w_bi (⟨a_i, v_b⟩ − y_bi) a_i`` over the rows a_i of ``op`` (k, nm), four
    rows at a time: their dot products with four runs' rows of ``V`` at once (16 sums from 8
    loads), then their share of those runs' gradients, while the four rows are still in cache.
    The operator is read from memory once per step, where the two BLAS products of a stack of
    9–21 runs stream it at a third of the machine's speed (skinny products: about 6.7 GB/s
    against 15 for a matrix–vector product; ``benchmarks/bench_sensing.py``). A run is skipped
    from the first row past its ``extent`` once the runs before it have stopped there too
    (runs ordered by extent, as in a stack of nested designs, skip all padding). ``V``,
    ``grad`` (B, nm), ``observations``, ``weights`` (B, k) and ``loss`` (B,) share ``op``'s dtype.

    Returns ``False`` (and computes nothing) without numba.
    """
    try:
        kernel = _kernel()
    except ImportError:
        return False
    kernel(op, V, observations, weights, extent, grad, loss)
    return True
