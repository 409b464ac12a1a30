"""Spectral measures of a matrix (or a stack of matrices): ranks and norms."""

from __future__ import annotations

import numpy as np

from ._validate import as_matrix_stack, as_real_array, check_number

__all__ = ["effective_rank", "nuclear_norm", "numerical_rank", "schatten"]


def _svals(W, singular_values=None):
    if singular_values is not None:
        s = as_real_array("singular_values", singular_values, ndims=(1, 2),
                          what="an array of singular values, shape (k,) or (B, k)")
        if np.any(s < 0):
            raise ValueError("singular_values must be non-negative (they are σ_i ≥ 0 of W)")
        return s
    return np.linalg.svd(as_matrix_stack("W", W), compute_uv=False)


def _scalar(x):
    return float(x) if np.ndim(x) == 0 else x


def effective_rank(W, *, singular_values=None) -> float | np.ndarray:
    """Effective rank of Roy & Vetterli (2007): exp(−Σ p_i ln p_i) with p_i = σ_i / Σ_j σ_j.

    Between 1 (rank one) and rank W (equal singular values); 0 for the zero matrix.
    ``singular_values`` may be passed to skip the SVD.

    Raises
    ------
    TypeError, ValueError
        If ``W`` is not a finite real matrix (stack), or ``singular_values`` not finite and ≥ 0.
    """
    s = _svals(W, singular_values)
    total = s.sum(axis=-1, keepdims=True)
    p = np.divide(s, total, out=np.zeros_like(s), where=total > 0)
    logp = np.log(p, out=np.zeros_like(p), where=p > 0)
    erank = np.exp(-np.sum(p * logp, axis=-1))
    return _scalar(np.where(total[..., 0] > 0, erank, 0.0))


def schatten(W, p: float) -> float | np.ndarray:
    """Schatten p-(quasi-)norm (Σ σ_i^p)^{1/p}; p = 1 nuclear, p = 2 Frobenius, 0 < p < 1 quasi-norms.

    Raises
    ------
    TypeError, ValueError
        If ``W`` is not a finite real matrix (stack), or ``p`` not a finite number > 0.
    """
    check_number("p", p, low=0, what="> 0 (a finite number; p = 1 is the nuclear norm)")
    s = _svals(W)
    with np.errstate(over="ignore", under="ignore"):
        total = np.sum(s**p, axis=-1)
    norm = total ** (1.0 / p)
    top = s[..., 0]
    bad = ~np.isfinite(norm) | ((norm == 0) & (top > 0))
    if np.any(bad):
        # σ^p overflowed (or underflowed) for a large p: factor out σ_max, exact in exact
        # arithmetic. Only where needed, so every representable result keeps its digits.
        safe = np.where(top > 0, top, 1.0)[..., None]
        scaled = np.sum((s / safe) ** p, axis=-1) ** (1.0 / p) * safe[..., 0]
        norm = np.where(bad, scaled, norm)
    return _scalar(norm)


def nuclear_norm(W) -> float | np.ndarray:
    """Nuclear norm ‖W‖_* = Σ σ_i."""
    return _scalar(np.sum(_svals(W), axis=-1))


def numerical_rank(W, *, rtol: float = 1e-2, atol: float = 0.0) -> int | np.ndarray:
    """Number of singular values above max(atol, rtol · σ_max).

    The default relative tolerance 1e-2 counts the directions a factorization has *learned*; use
    a tiny ``rtol`` for the algebraic rank.

    Raises
    ------
    TypeError, ValueError
        If ``W`` is not a finite real matrix (stack), or ``rtol``/``atol`` not finite numbers ≥ 0.
    """
    check_number("rtol", rtol, low=0, low_inclusive=True)
    check_number("atol", atol, low=0, low_inclusive=True)
    s = _svals(W)
    thresh = np.maximum(atol, rtol * s[..., :1])
    r = np.sum(s > thresh, axis=-1)
    return int(r) if np.ndim(r) == 0 else r
