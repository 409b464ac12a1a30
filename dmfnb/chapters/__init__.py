"""One package per chapter of the book, all of the same shape.

``dmfnb/chapters/<name>/`` (``<name>`` = the notebook's file stem) holds:

- ``params.py``: the chapter's parameters as a frozen dataclass, one instance per scale;
- ``compute.py``: its experiments (numpy and the dmfnb core only), each ``f(p, ...)``;
- ``checks.py``: ``checks(p, results)``, the closing checks as rows;
- ``tables.py``: every table it shows, and ``paper(p, results)`` beside the papers';
- ``figures.py``: its figures; ``explorer.py``: ``figure(p, ...)`` and ``explorer(p)``;
- ``__init__.py``: ``CHAPTER``, the declarative list of reproduce steps.

Notebooks import a chapter as ``from dmfnb.chapters import <name> as ch``.
"""

from __future__ import annotations

import importlib
import pkgutil

__all__ = ["discover", "names"]


def names() -> list[str]:
    """The chapters' names (file stems of the notebooks), sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def discover() -> dict:
    """Chapter name → its :class:`dmfnb.infra.chapter.Chapter`, for every chapter package."""
    found = {}
    for name in names():
        module = importlib.import_module(f"{__name__}.{name}")
        found[name] = module.CHAPTER
    return found
