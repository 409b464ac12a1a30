"""The declarative description of a chapter that ``reproduce`` and the book read.

Each chapter package (``dmfnb/chapters/<name>/``) defines ``CHAPTER = Chapter(...)`` in its
``__init__``: its experiments in order (:class:`Step`), its closing checks and its tables beside
the papers'. Nothing here imports a chapter, so chapters and the runner never import each other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .report import CheckTable, Table

__all__ = ["Chapter", "Step"]


@dataclass(frozen=True)
class Step:
    """One experiment: ``run(p, earlier)`` returns its result; ``figure(result)`` draws it.

    ``earlier`` maps the names of the steps before this one to their results.
    """

    name: str
    run: Callable[[Any, Mapping[str, Any]], Any]
    figure: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Chapter:
    """A chapter as ``reproduce`` and the "Does it reproduce?" page see it.

    ``name`` is the notebook's file stem (``book/<name>.ipynb``). ``checks(p, results)`` and
    ``paper(p, results)`` take the results of ``steps`` by step name; ``paper`` returns the
    tables that put our numbers beside the papers'.
    """

    name: str
    steps: tuple[Step, ...]
    checks: Callable[[Any, Mapping[str, Any]], CheckTable]
    paper: Callable[[Any, Mapping[str, Any]], Sequence[Table]]

    def __post_init__(self):
        names = [s.name for s in self.steps]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"chapter {self.name!r}: steps need unique names, got {names}")

    def params(self, scale: str | None = None):
        """The chapter's ``Params`` at ``scale`` (default: ``DMFNB_SCALE``, else ``"default"``)."""
        from .scales import params

        return params(self.name, scale)

    def report(self, p, results: Mapping[str, Any]):
        """Checks and paper tables on ``results`` (every step's result, by step name), as a
        :class:`dmfnb.infra.reproduce.Report`; saved where ``DMFNB_REPORTS`` names a folder."""
        from .reproduce import report

        return report(self, p, results)
