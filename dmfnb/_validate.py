"""Argument checks shared by the public functions: each error names the parameter and the fix.

Convention: a value of the wrong *kind* (a string where a number belongs, ``None``, a bool, a
complex number, a non-problem) raises ``TypeError``; a value of the right kind that is out of range
(negative, NaN, a float where an integer belongs, a wrong shape) raises ``ValueError``. Every
message reads "<name> must be <what is accepted>, got <the value>". The checks run once, up front:
nothing here is called inside a training loop.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

# linalg (SVD, eigh, solve) supports only these; float16 and longdouble fail deep inside numpy.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def show(value) -> str:
    """A short ``repr`` of ``value`` for an error message (arrays by shape and dtype)."""
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_real(value) -> bool:
    """Whether ``value`` is a real scalar number (Python or numpy), bools excluded."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, np.ndarray):
        return value.ndim == 0 and value.dtype.kind in "fiu"
    return isinstance(value, numbers.Real)


def check_number(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = False,
    high_inclusive: bool = False,
    allow_inf: bool = False,
    what: str | None = None,
) -> float:
    """Return ``value`` as a float, or raise: ``TypeError`` for a non-number, ``ValueError`` out of range.

    ``low``/``high`` bound the value (exclusive unless ``*_inclusive``); NaN is always rejected,
    infinities unless ``allow_inf``. ``what`` words the accepted range ("a positive number").
    """
    if what is None:
        what = _range_words(low, high, low_inclusive, high_inclusive)
    if not _is_real(value):
        raise TypeError(f"{name} must be {what}, got {show(value)}")
    x = float(value)
    bad = np.isnan(x) or (np.isinf(x) and not allow_inf)
    if low is not None:
        bad = bad or (x < low if low_inclusive else x <= low)
    if high is not None:
        bad = bad or (x > high if high_inclusive else x >= high)
    if bad:
        raise ValueError(f"{name} must be {what}, got {show(value)}")
    return x


def _range_words(low, high, low_inclusive, high_inclusive) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'≥' if low_inclusive else '>'} {low:g}")
    if high is not None:
        parts.append(f"{'≤' if high_inclusive else '<'} {high:g}")
    return "a finite number" + (" " + " and ".join(parts) if parts else "")


def check_integer(name: str, value, *, minimum: int | None = 1, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` in [minimum, maximum], or raise a clear error.

    Integers (Python or numpy) only: a float such as 10.5 would be truncated, so every float is
    refused (``ValueError``); strings, ``None`` and bools raise ``TypeError``.
    """
    bounds = ("a positive integer (≥ 1)" if minimum == 1 and maximum is None
              else "a non-negative integer" if minimum == 0 and maximum is None
              else f"an integer in [{minimum}, {maximum}]" if minimum is not None and maximum is not None
              else "an integer")
    if isinstance(value, (bool, np.bool_)) or not _is_real(value):
        raise TypeError(f"{name} must be {bounds}, got {show(value)}")
    try:
        i = operator.index(value)
    except TypeError:
        raise ValueError(f"{name} must be {bounds} (not a float), got {show(value)}") from None
    if (minimum is not None and i < minimum) or (maximum is not None and i > maximum):
        raise ValueError(f"{name} must be {bounds}, got {show(value)}")
    return int(i)


def check_positive(name: str, value, *, integer: bool = False, minimum: float = 0) -> None:
    """Raise unless ``value`` > ``minimum`` and finite (or an integer ≥ 1 when ``integer``).

    A number, or an array of numbers all of which must pass; ``TypeError`` for non-numbers.
    """
    if integer:
        check_integer(name, value, minimum=1)
        return
    if isinstance(value, (np.ndarray, list, tuple)):
        arr = as_real_array(name, value, what="a positive number or an array of them")
        if np.any(arr <= minimum):
            raise ValueError(f"{name} must hold finite numbers > {minimum:g}, got {show(value)}")
        return
    check_number(name, value, low=minimum)


def check_bool(name: str, value) -> bool:
    """Return ``value`` as a bool; anything but ``True``/``False`` raises ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {show(value)}")
    return bool(value)


def check_choice(name: str, value, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of the strings ``choices``, else raise."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}, got {show(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_seed(name: str, seed) -> None:
    """Accept what :func:`numpy.random.default_rng` takes: None, ints ≥ 0 (or a list), a Generator."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.BitGenerator,
                                         np.random.SeedSequence)):
        return
    if isinstance(seed, (list, tuple, np.ndarray)) and len(seed) > 0:  # SeedSequence entropy
        for x in np.ravel(np.asarray(seed, dtype=object)):
            check_seed(name, x)
        return
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(
            f"{name} must be None, a non-negative integer or a numpy.random.Generator, got {show(seed)}"
        )
    if seed < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {seed!r}")


def check_float_dtype(name: str, dtype) -> np.dtype:
    """``dtype`` as a numpy dtype, float32 or float64 (the precisions numpy's linalg supports)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating dtype, float32 or float64, got {show(dtype)}") from None
    if dt not in FLOAT_DTYPES:  # a dtype, but the wrong one: a bad value
        raise ValueError(
            f"{name} must be a floating type, float32 or float64, got {dt}"
            + ("; integers would truncate the values" if dt.kind in "biu" else "")
            + ("; numpy's linear algebra (SVD) does not support it" if dt.kind == "f" else "")
        )
    return dt


def as_real_array(name: str, value, *, ndims: tuple[int, ...] | None = None, what: str = "an array",
                  dtype=None, allow_empty: bool = False) -> np.ndarray:
    """``value`` as a finite, non-empty real array with ``ndim`` in ``ndims``, or a clear error.

    Integer arrays and float16 become float64 (exactly); float32 and float64 are kept; bool,
    complex, strings, objects and longdouble raise ``TypeError``. ``dtype`` converts the result.
    """
    if value is None or isinstance(value, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be {what} of real numbers, got {show(value)}")
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):  # ragged nested lists
        raise ValueError(f"{name} must be {what} with rows of equal length, got {show(value)}") from None
    if arr.dtype.kind not in "fiu" or (arr.dtype.kind == "f" and arr.dtype.itemsize > 8):
        raise TypeError(f"{name} must hold real numbers (float32 or float64), got dtype {arr.dtype}")
    if ndims is not None and arr.ndim not in ndims:
        raise ValueError(f"{name} must be {what}; got an array of shape {arr.shape}")
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty (shape {arr.shape}); every dimension must be ≥ 1")
    # A finite sum proves every entry finite without a temporary as large as the array (the
    # sensing operators are large); only when it is not (NaN, inf, or overflow) look closer.
    if arr.dtype.kind == "f" and not all_finite(arr):
        raise ValueError(f"{name} contains NaN or infinite entries; pass finite numbers")
    if arr.dtype.kind != "f" or arr.dtype.itemsize < 4:
        arr = arr.astype(np.float64)
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    return arr


def all_finite(arr: np.ndarray) -> bool:
    """Whether every entry is finite; a finite sum proves it without an array-sized temporary."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf − inf or overflow: look closer
        return bool(np.isfinite(np.sum(arr)) or np.all(np.isfinite(arr)))


def as_matrix_stack(name: str, value, *, dtype=None) -> np.ndarray:
    """Return ``value`` as a float array of shape (n, m) or (B, n, m), or raise a clear error."""
    return as_real_array(
        name, value, ndims=(2, 3), dtype=dtype,
        what="a matrix of shape (n, m) or a stack of shape (B, n, m)",
    )


def check_shape(name: str, arr: np.ndarray, expected: tuple[int, ...], hint: str) -> None:
    """Raise ``ValueError`` when the trailing dimensions of ``arr`` differ from ``expected``."""
    if arr.shape[-len(expected):] != tuple(expected):
        raise ValueError(
            f"{name} has shape {arr.shape} but its last dimensions must be {tuple(expected)}; {hint}"
        )


def check_matrix_shape(shape) -> tuple[int, int]:
    """``shape`` as a pair (n, m) of positive integers (floats refused: they would be truncated)."""
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) != 2:
        raise TypeError(f"shape must be a pair (n, m) of positive integers, got {show(shape)}")
    try:
        n, m = (check_integer("shape", s) for s in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair (n, m) of positive integers, got {show(shape)}") from None
    return n, m


def factor_arrays(factors, name: str, *, empty: str, too_few: str, minimum: int, shape: str,
                  link=None) -> list[np.ndarray]:
    """``factors`` as a list of arrays, checked as every factor list of the package is.

    The list must hold at least ``minimum`` float32/float64 matrices, all 2-D or all 3-D (a
    batch) with one batch size, none empty, all finite. ``empty`` and ``too_few`` are the messages
    for a non-list and for too short a list; ``shape`` names one factor's shape, e.g.
    ``"(d_out, d_in)"``. ``link(j, f, arrays)`` raises for the model's own rule between factors
    (chained shapes, one component count), checked in order with the others.
    """
    if isinstance(factors, (np.ndarray, str, bytes)) or not hasattr(factors, "__len__"):
        raise TypeError(f"{empty}, got {show(factors)}" + (
            "; wrap a single matrix as [W]" if minimum == 1 else ""))
    if len(factors) < minimum:
        raise ValueError(too_few)
    arrays = []
    for j, f in enumerate(factors):
        try:
            arrays.append(np.asarray(f))
        except (ValueError, TypeError):
            raise ValueError(f"{name}[{j}] is not a matrix (ragged rows): {show(f)}") from None
    ndim = arrays[0].ndim
    for j, f in enumerate(arrays):
        if f.ndim not in (2, 3) or f.ndim != ndim:
            raise ValueError(f"{name}[{j}] has shape {f.shape}; every factor must be {shape}, "
                             f"or all (B, {shape[1:-1]}) for a batch")
        if f.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{name}[{j}] has dtype {f.dtype}; use float32 or float64 factors")
        if f.size == 0:
            raise ValueError(f"{name}[{j}] is empty (shape {f.shape}); every dimension must be ≥ 1")
        if link is not None:
            link(j, f, arrays)
        if ndim == 3 and f.shape[0] != arrays[0].shape[0]:
            raise ValueError(f"{name}[{j}] has batch size {f.shape[0]}, {name}[0] has "
                             f"{arrays[0].shape[0]}")
        if not all_finite(f):
            raise ValueError(f"{name}[{j}] contains NaN or infinite entries; pass finite factors")
    return arrays
