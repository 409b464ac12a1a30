"""What a chapter reports, as data: check rows and tables.

A chapter's closing checks are a :class:`CheckTable` of :class:`Check` rows (what is measured,
the measured value, the bound, passed or not); every other table it shows is a :class:`Table`.
Both render as HTML in a notebook and as text in the CLI, and both turn into plain JSON records
for the "Does it reproduce?" page, so a number is computed once and shown everywhere.
"""

from __future__ import annotations

import html
import math
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Check", "CheckFailure", "CheckTable", "Table", "check", "glue"]


def _fmt(value: Any, spec: str | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if spec is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return format(value, spec)
    if isinstance(value, float):
        return format(value, ".4g")
    return str(value)


def _plain(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars become Python numbers."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", 1) == 0:
        return item()
    return value


@dataclass(frozen=True, repr=False)
class Table:
    """A table as data: column names, rows of values, per-column format specs.

    ``formats`` maps a column to a :func:`format` spec (``".3g"``, ``",d"``, ``".1%"``) applied
    to numbers in that column; other values are shown as they are. Render with ``_repr_html_``
    (notebooks), ``str`` (CLI) or :meth:`to_json` (the reproduce page).
    """

    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    title: str = ""
    formats: Mapping[str, str] = field(default_factory=dict)
    note: str = ""

    def __post_init__(self):
        columns = tuple(str(c) for c in self.columns)
        rows = tuple(tuple(_plain(v) for v in r) for r in self.rows)
        for i, r in enumerate(rows):
            if len(r) != len(columns):
                raise ValueError(f"row {i} of table {self.title!r} has {len(r)} cells for "
                                 f"{len(columns)} columns {columns}")
        unknown = set(self.formats) - set(columns)
        if unknown:
            raise ValueError(f"formats name columns {sorted(unknown)} not in {columns}")
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "formats", dict(self.formats))

    @classmethod
    def from_records(cls, records: Sequence[Mapping[str, Any]], **kwargs) -> Table:
        """A table from a list of dicts with the same keys (the keys are the columns)."""
        if not records:
            raise ValueError("from_records needs at least one record")
        columns = tuple(records[0])
        return cls(columns, tuple(tuple(r[c] for c in columns) for r in records), **kwargs)

    def cells(self) -> list[list[str]]:
        """Every cell formatted as text, row by row."""
        specs = [self.formats.get(c) for c in self.columns]
        return [[_fmt(v, s) for v, s in zip(r, specs, strict=True)] for r in self.rows]

    def column(self, name: str) -> list:
        """The raw values of one column."""
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def frame(self):
        """The table as a :class:`pandas.DataFrame` of raw values."""
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=list(self.columns))

    def _repr_html_(self) -> str:
        frame = self.frame()
        specs = {c: (lambda v, s=s: _fmt(v, s)) for c, s in
                 ((c, self.formats.get(c)) for c in self.columns)}
        style = frame.style.format(specs).hide(axis="index")
        # Tables of more than three columns become one block per row on a phone (book/static/dmfnb.css):
        # each cell then shows its column's name, from data-label.
        wide = " dmfnb-wide" if len(self.columns) > 3 else ""
        style = style.set_table_attributes(f'class="dmfnb-table{wide}"')
        if self.title:
            style = style.set_caption(self.title)
        labels = [html.escape(str(c), quote=True) for c in self.columns]
        out = re.sub(r'<td ([^>]*?)class="data (row\d+) col(\d+)"',
                     lambda m: (f'<td {m.group(1)}data-label="{labels[int(m.group(3))]}" '
                                f'class="data {m.group(2)} col{m.group(3)}"'),
                     style.to_html())
        return out + (f'<p class="dmfnb-table-note">{self.note}</p>' if self.note else "")

    def __str__(self) -> str:
        cells = [list(self.columns), *self.cells()]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = [self.title] if self.title else []
        lines.append("  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells[1:]]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    __repr__ = __str__

    def to_json(self) -> dict:
        """Plain JSON: title, columns, raw rows, formats, note."""
        return {"title": self.title, "columns": list(self.columns),
                "rows": [list(r) for r in self.rows], "formats": dict(self.formats),
                "note": self.note}

    @classmethod
    def from_json(cls, data: Mapping) -> Table:
        return cls(tuple(data["columns"]), tuple(tuple(r) for r in data["rows"]),
                   title=data.get("title", ""), formats=data.get("formats", {}),
                   note=data.get("note", ""))


@dataclass(frozen=True)
class Check:
    """One closing check of a chapter: a measured value against what the theorem demands.

    ``claim`` says what is measured, in words; ``measured`` and ``expected`` are the two sides
    as text (``expected`` includes the relation and tolerance, e.g. ``"≤ 0.05"``); ``value`` is
    the raw measured number where there is one (JSON, the reproduce page's comparisons).
    """

    name: str
    claim: str
    measured: str
    expected: str
    passed: bool
    value: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "passed", bool(self.passed))
        value = _plain(self.value)
        object.__setattr__(self, "value", None if value is None else float(value))

    @property
    def message(self) -> str:
        """The assertion message: what was measured against what was expected."""
        return f"{self.name}: {self.claim}: measured {self.measured}, expected {self.expected}"


_OPS = {"≤": operator.le, "≥": operator.ge, "<": operator.lt, ">": operator.gt}


def check(name: str, claim: str, value, *, le=None, ge=None, lt=None, gt=None, eq=None,
          fmt: str = ".3g", measured: str | None = None, expected: str | None = None,
          passed: bool | None = None) -> Check:
    """A :class:`Check` row from a measured ``value`` and its bound(s).

    Give one or two of ``le``/``ge``/``lt``/``gt`` (a number each) or ``eq`` (any value compared
    with ``==``, e.g. a count or a tuple of ranks). For a claim that is not a bound, give
    ``passed`` with ``measured`` and ``expected`` in words. ``value`` may be a number, a bool
    or any value that ``str`` shows well; ``fmt`` formats numbers.
    """
    bounds = {"≤": le, "≥": ge, "<": lt, ">": gt}
    given = {op: b for op, b in bounds.items() if b is not None}
    if passed is None:
        if eq is not None:
            if given:
                raise ValueError("give either eq or the bounds le/ge/lt/gt, not both")
            passed = bool(value == eq)
            expected = expected or f"= {_fmt(_plain(eq), fmt)}"
        elif given:
            v = float(value)
            passed = math.isfinite(v) and all(_OPS[op](v, float(b)) for op, b in given.items())
            expected = expected or " and ".join(f"{op} {_fmt(float(b), fmt)}"
                                                for op, b in given.items())
        else:
            raise ValueError(f"check {name!r}: give a bound (le, ge, lt, gt or eq) or passed=")
    elif expected is None:
        raise ValueError(f"check {name!r}: with passed=, say what was expected (expected=)")
    raw = _plain(value)
    number = float(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) else None
    if measured is None:
        measured = _fmt(raw, fmt)
    return Check(name, claim, measured, expected, bool(passed), number)


class CheckFailure(AssertionError):
    """Raised by :meth:`CheckTable.require` when a check failed; lists every failed row."""


@dataclass(frozen=True, repr=False)
class CheckTable:
    """A chapter's closing checks: rows of :class:`Check`, shown as a table."""

    checks: tuple[Check, ...]
    title: str = "Checks"

    def __post_init__(self):
        checks = tuple(self.checks)
        if not checks:
            raise ValueError("a CheckTable needs at least one check")
        bad = [c for c in checks if not isinstance(c, Check)]
        if bad:
            raise TypeError(f"CheckTable rows must be Check, got {type(bad[0]).__name__}")
        names = [c.name for c in checks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"check names must be unique; repeated: {dup}")
        object.__setattr__(self, "checks", checks)

    def __iter__(self):
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def __getitem__(self, name: str) -> Check:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(f"no check named {name!r}; checks: {[c.name for c in self.checks]}")

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    @property
    def passed(self) -> bool:
        return not self.failed

    def table(self) -> Table:
        return Table(("check", "what is measured", "measured", "expected", "passed"),
                     tuple((c.name, c.claim, c.measured, c.expected, "✓" if c.passed else "✗ FAILED")
                           for c in self.checks),
                     title=f"{self.title}: {len(self) - len(self.failed)}/{len(self)} passed")

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def __str__(self) -> str:
        return str(self.table())

    __repr__ = __str__

    def require(self) -> CheckTable:
        """Return ``self`` when every check passed; else raise :class:`CheckFailure` naming
        each failed check with its measured and expected values."""
        if self.failed:
            lines = "\n".join(f"  - {c.message}" for c in self.failed)
            raise CheckFailure(f"{len(self.failed)} of {len(self)} checks failed:\n{lines}")
        return self

    def to_json(self) -> list[dict]:
        return [{"name": c.name, "claim": c.claim, "measured": c.measured,
                 "expected": c.expected, "passed": c.passed, "value": c.value}
                for c in self.checks]

    @classmethod
    def from_json(cls, rows: Iterable[Mapping], title: str = "Checks") -> CheckTable:
        return cls(tuple(Check(r["name"], r["claim"], r["measured"], r["expected"], r["passed"],
                               r.get("value")) for r in rows), title=title)


class _Text(str):
    # A string glued as itself: myst-nb shows text/plain, which for a str would add quotes.
    def __repr__(self) -> str:
        return str(self)


def glue(name: str, value) -> None:
    """Glue a result into the chapter's prose: myst-nb's ``glue``, without display.

    In the notebook's Markdown, ``{glue:text}`name:.3g``` shows a glued number with that format
    and ``{glue:text}`name``` a glued string. Where myst-nb is not installed (Binder, Colab)
    there is no page to glue into, and this does nothing.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:
        return
    value = _plain(value)
    _glue(name, _Text(value) if isinstance(value, str) else value, display=False)
