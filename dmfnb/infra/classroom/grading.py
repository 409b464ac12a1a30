"""What a chapter's exercise cells call: :func:`attempt` runs an answer, :class:`Exercise` grades it.

A code exercise is a function the student completes and a name that holds its result::

    def exercise_rr_stability():
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

    answer_rr_stability = attempt(exercise_rr_stability)

In a student notebook the solution region is a stub (``raise NotImplementedError`` from nbgrader,
``...`` from otter); :func:`attempt` turns it into :data:`UNANSWERED` and says so, so *Run All*
goes on through the Explorer, the Checks and the Summary. The test cell after it::

    with Exercise("ex-rr-stability", points=1) as ex:
        ex.number(answer_rr_stability, "the stability limit")
        ### BEGIN HIDDEN TESTS
        ex.close(answer_rr_stability, 0.5, rtol=1e-6, what="the stability limit")
        ### END HIDDEN TESTS
    ex.score

never raises in a notebook: it prints what passed and what did not, and its last expression is
the points earned, which nbgrader's autograder reads as the cell's (partial-credit) score: all the
points when every check passes, 0 otherwise. ``Exercise(..., strict=True)`` (otter's tests) raises
an ``AssertionError`` at the first failed check instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["UNANSWERED", "Exercise", "attempt", "is_answered"]


class _Unanswered:
    """The value of an exercise's answer while its function is still a stub."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNANSWERED"

    def __bool__(self) -> bool:
        return False


UNANSWERED = _Unanswered()


def is_answered(value: Any) -> bool:
    """False for the stubs' results: :data:`UNANSWERED`, ``None`` and ``...``."""
    return not (value is UNANSWERED or value is None or value is Ellipsis)


def attempt(solve: Callable[[], Any]) -> Any:
    """``solve()``, or :data:`UNANSWERED` (with a note) while ``solve`` is a stub.

    A stub is a function that raises ``NotImplementedError`` (nbgrader's) or returns ``None`` or
    ``...`` (otter's). Any other error is the student's own, and is raised as usual.
    """
    name = getattr(solve, "__name__", "exercise")
    try:
        value = solve()
    except NotImplementedError:
        value = UNANSWERED
    if not is_answered(value):
        print(f"{name}: not answered yet (complete it and return your answer); "
              "the rest of the chapter still runs.")
        return UNANSWERED
    return value


def _show(value: Any) -> str:
    arr = np.asarray(value)
    if arr.ndim == 0:
        return f"{arr.item():.6g}" if np.issubdtype(arr.dtype, np.number) else repr(value)
    return np.array2string(arr, precision=4, threshold=12)


class Exercise:
    """The checks of one exercise's answer; use as ``with Exercise(label, points) as ex:``.

    Each check records a failure with a message that says what was expected and, for a number
    that is close, how close. In a notebook the ``with`` block never raises: an error inside it
    (an unanswered exercise, a malformed answer) is one more failed check. ``score`` is
    ``points`` when every check passed and 0 otherwise.
    """

    def __init__(self, label: str, points: float = 1, *, strict: bool = False):
        self.label, self.points, self.strict = label, float(points), strict
        self.passed: list[str] = []
        self.failed: list[str] = []
        self._unanswered = False

    # -- the context manager -------------------------------------------------------------
    def __enter__(self) -> Exercise:
        return self

    def __exit__(self, kind, err, tb) -> bool:
        if err is not None and not self.strict:
            self.failed.append(f"the checks stopped at an error: {kind.__name__}: {err}")
        if not self.strict:
            print(self.summary())
        return not self.strict

    @property
    def score(self) -> float:
        """The points earned: all of them when every check passed, else 0."""
        return self.points if self.passed and not self.failed else 0.0

    def summary(self) -> str:
        head = f"{self.label}: {self.score:g}/{self.points:g} point(s)"
        if self._unanswered:
            return f"{head} — not answered yet."
        if not self.failed:
            return f"{head} — all {len(self.passed)} check(s) shown here passed."
        return "\n".join([f"{head} — {len(self.failed)} check(s) failed:",
                          *(f"  ✗ {m}" for m in self.failed),
                          *(f"  ✓ {m}" for m in self.passed)])

    # -- recording -----------------------------------------------------------------------
    def _record(self, ok: bool, message: str) -> bool:
        if ok:
            self.passed.append(message)
        elif self.strict:
            raise AssertionError(f"{self.label}: {message}")
        else:
            self.failed.append(message)
        return ok

    def answered(self, value: Any, what: str = "the answer") -> None:
        """The exercise's function returned something (it is not a stub any more)."""
        self._given(value, what)

    def _given(self, value: Any, what: str) -> bool:
        if is_answered(value):
            return True
        if not self._unanswered:
            self._unanswered = True
            self._record(False, f"{what}: not answered yet")
        return False

    # -- checks ----------------------------------------------------------------------------
    def true(self, condition: Any, message: str) -> None:
        """A property of the answer, stated in ``message``."""
        self._record(bool(condition), message)

    def number(self, value: Any, what: str = "the answer") -> None:
        """A single finite real number."""
        if not self._given(value, what):
            return
        try:
            ok = np.ndim(value) == 0 and math.isfinite(float(value))
        except (TypeError, ValueError):
            ok = False
        self._record(ok, f"{what} is a finite number (got {value!r:.60})")

    def array(self, value: Any, shape: Sequence[int] | None = None, what: str = "the answer") -> None:
        """Finite real numbers, with ``shape`` when given (a tuple of numbers counts as 1-D)."""
        arr = self._numbers(value, what)
        if arr is None:
            return
        if shape is not None and arr.shape != tuple(shape):
            self._record(False, f"{what}: expected shape {tuple(shape)}, got {arr.shape}")
            return
        self._record(bool(np.all(np.isfinite(arr))), f"{what}: {arr.size} finite number(s)" + (
            f" of shape {tuple(shape)}" if shape is not None else ""))

    def close(self, value: Any, expected: Any, *, what: str = "the answer", rtol: float = 1e-6,
              atol: float = 0.0, hint: str = "") -> None:
        """``value`` equals ``expected`` within ``atol + rtol·|expected|``, entry by entry.

        When it is off but within 10 % (or 10 tolerances), the message says so and gives ``hint``.
        """
        got = self._numbers(value, what)
        if got is None:
            return
        want = np.asarray(expected, dtype=float)
        if got.shape != want.shape:
            self._record(False, f"{what}: expected shape {want.shape}, got {got.shape}")
            return
        bound = atol + rtol * np.abs(want)
        off = np.abs(got - want)
        if np.all(off <= bound):
            self._record(True, f"{what} = {_show(got)}")
            return
        scale = np.maximum(np.abs(want), atol if atol else 1e-300)
        rel = float(np.max(off / scale))
        message = f"{what}: got {_show(got)}, expected {_show(want)} (tolerance {rtol:g} relative"
        message += f", {atol:g} absolute)" if atol else ")"
        if rel < 0.1 or np.all(off <= 10 * bound):
            message += f"; you are close (off by {100 * rel:.2g} %)"
            if hint:
                message += f": {hint}"
        self._record(False, message)

    def between(self, value: Any, lo: float, hi: float, what: str = "the answer") -> None:
        """Every entry of ``value`` lies in ``[lo, hi]``."""
        arr = self._numbers(value, what)
        if arr is None:
            return
        self._record(bool(np.all((arr >= lo) & (arr <= hi))),
                     f"{what} in [{lo:g}, {hi:g}] (got {_show(arr)})")

    def _numbers(self, value: Any, what: str) -> np.ndarray | None:
        if not self._given(value, what):
            return None
        try:
            return np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            self._record(False, f"{what}: expected numbers, got {value!r:.60}")
            return None
