"""Ground-truth matrices, built as in the code of Arora, Cohen, Hu and Luo (2019)."""

from __future__ import annotations

import numpy as np

from ._validate import check_positive


def low_rank_target(
    shape: tuple[int, int],
    rank: int,
    *,
    seed: int | np.random.Generator | None,
    symmetric: bool = False,
) -> np.ndarray:
    """Random rank-``rank`` matrix whose entries have root-mean-square 1.

    Built as ``U Vᵀ / √r`` with standard normal ``U`` (n×r) and ``V`` (m×r), then rescaled so
    that ``‖W*‖_F = √(n m)``; for the authors' 100×100 rank-5 setting ``‖W*‖_F = 100``.

    Parameters
    ----------
    shape
        ``(n, m)``, the size of the matrix.
    rank
        Its rank ``r`` (at most ``min(n, m)``).
    seed
        Seed or ``numpy.random.Generator``; the same seed gives the same matrix.
    symmetric
        If true, ``V = U`` (requires a square shape) and the matrix is positive semidefinite.

    Returns
    -------
    numpy.ndarray
        The ``n × m`` target, float64.
    """
    n, m = _check_shape(shape)
    check_positive("rank", rank, integer=True)
    if rank > min(n, m):
        raise ValueError(f"rank={rank} exceeds min(n, m)={min(n, m)} for shape {shape}")
    if symmetric and n != m:
        raise ValueError(f"symmetric=True needs a square shape, got {shape}")
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, rank))
    v = u if symmetric else rng.standard_normal((m, rank))
    target = u @ v.T / np.sqrt(rank)
    return target * (np.sqrt(n * m) / np.linalg.norm(target))


def _check_shape(shape) -> tuple[int, int]:
    try:
        n, m = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair (n, m) of positive integers, got {shape!r}") from None
    if n < 1 or m < 1:
        raise ValueError(f"shape must be a pair (n, m) of positive integers, got {shape!r}")
    return n, m
