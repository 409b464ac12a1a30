"""Argument checks shared by the public functions: each error names the parameter and the fix."""

from __future__ import annotations

import numpy as np


def as_matrix_stack(name: str, value, *, dtype=None) -> np.ndarray:
    """Return ``value`` as a float array of shape (n, m) or (B, n, m), or raise a clear error."""
    arr = np.asarray(value, dtype=dtype)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3):
        raise ValueError(
            f"{name} must be a matrix of shape (n, m) or a stack of shape (B, n, m); "
            f"got an array of shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite entries; pass finite numbers")
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float64)
    return arr


def check_positive(name: str, value: float, *, integer: bool = False, minimum: float = 0) -> None:
    """Raise ``ValueError`` unless ``value`` > ``minimum`` (or ≥ 1 for integers)."""
    if integer:
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer (≥ 1), got {value!r}")
        return
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr <= minimum):
        raise ValueError(f"{name} must be a finite number > {minimum}, got {value!r}")


def check_shape(name: str, arr: np.ndarray, expected: tuple[int, ...], hint: str) -> None:
    """Raise ``ValueError`` when the trailing dimensions of ``arr`` differ from ``expected``."""
    if arr.shape[-len(expected):] != tuple(expected):
        raise ValueError(
            f"{name} has shape {arr.shape} but its last dimensions must be {tuple(expected)}; {hint}"
        )
