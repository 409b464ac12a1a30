"""Ground-truth matrices, built as in the code of Arora, Cohen, Hu and Luo (2019)."""

from __future__ import annotations

import numpy as np

from ._validate import check_bool, check_integer, check_matrix_shape, check_seed


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

    Raises
    ------
    TypeError, ValueError
        If ``shape`` is not a pair of positive integers, ``rank`` not an integer in
        [1, min(n, m)], ``seed`` not a seed, ``symmetric`` not a bool, or ``symmetric`` with a
        non-square shape.
    """
    n, m = check_matrix_shape(shape)
    check_integer("rank", rank, minimum=1)
    if rank > min(n, m):
        raise ValueError(f"rank={rank} exceeds min(n, m)={min(n, m)} for shape {shape}")
    check_seed("seed", seed)
    symmetric = check_bool("symmetric", symmetric)
    if symmetric and n != m:
        raise ValueError(f"symmetric=True needs a square shape, got {shape}")
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, rank))
    v = u if symmetric else rng.standard_normal((m, rank))
    target = u @ v.T / np.sqrt(rank)
    return target * (np.sqrt(n * m) / np.linalg.norm(target))

