"""The "Does it reproduce?" page (``book/verdict.ipynb``): every chapter's checks and its
numbers beside the papers', at the default scale and at the paper scale.

Default scale: each chapter notebook saves its report as it runs in the book's build
(``DMFNB_REPORTS``, set by the Makefile); a report that is missing, or made by other parameters or
code, is recomputed here headless. Paper scale: the committed records in ``book/reproduced/``,
written by ``python -m dmfnb reproduce CHAPTER --scale paper --record book/reproduced``.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from .report import Table
from .reproduce import Report, chapters, fingerprint, load_summary, reproduce
from .scales import params

__all__ = ["default_reports", "overview", "record", "recorded_reports", "titles"]


def titles(book: str | Path) -> dict[str, str]:
    """Chapter → the title of its notebook (its first ``#`` heading: the one place it is written),
    in the order of the book's table of contents (``../_toc.yml`` beside ``book``)."""
    import nbformat
    import yaml

    toc = Path(book).resolve().parent / "_toc.yml"
    listed = ([Path(c["file"]).name for c in yaml.safe_load(toc.read_text()).get("chapters", [])]
              if toc.exists() else [])
    known = chapters()
    order = [n for n in listed if n in known] + sorted(set(known) - set(listed))
    found = {}
    for name in order:
        nb = nbformat.read(Path(book) / f"{name}.ipynb", as_version=4)
        match = re.search(r"^# (.+)$", nb.cells[0].source, re.M)
        found[name] = match.group(1).strip() if match else name
    return found


def default_reports(folder: str | Path | None = None) -> dict[str, Report]:
    """Chapter → its default-scale :class:`Report`, read from ``folder`` (default
    ``$DMFNB_REPORTS``) where it is current, recomputed otherwise (saying why)."""
    folder = folder or os.environ.get("DMFNB_REPORTS")
    reports = {}
    for name in chapters():
        expected = fingerprint(name, params(name, "default"))
        path = Path(folder) / f"{name}-default.json" if folder else None
        rep = load_summary(path) if path else None
        if rep is not None and rep.fingerprint == expected:
            reports[name] = rep
            continue
        why = ("no report saved by its notebook" if rep is None
               else "its saved report was made by other parameters or code")
        print(f"{name}: {why}; computing it here")
        out = Path(folder) / "runs" if folder else Path(tempfile.mkdtemp(prefix="dmfnb-"))
        reports[name] = reproduce(name, "default", out)
    return reports


def recorded_reports(folder: str | Path) -> dict[str, Report | None]:
    """Chapter → its committed paper-scale :class:`Report`, or ``None`` where none is recorded."""
    return {name: load_summary(Path(folder) / f"{name}-paper.json") for name in chapters()}


def _cell(rep: Report | None) -> str:
    if rep is None:
        return "not recorded yet"
    n, bad = len(rep.checks), len(rep.checks.failed)
    return f"{n - bad}/{n} {'✓' if not bad else '✗'}"


def overview(default: dict[str, Report], paper: dict[str, Report | None],
             titles: dict[str, str]) -> Table:
    """One row per chapter (in the order of ``titles``, where given): checks passed at each scale,
    and when the paper scale was run."""
    order = [n for n in titles if n in default] or list(default)
    rows = tuple((titles.get(name, name), _cell(default[name]), _cell(paper.get(name)),
                  paper[name].date if paper.get(name) else "–")
                 for name in order)
    return Table(("chapter", "default scale", "paper scale", "paper run on"), rows,
                 title="Checks passed, by chapter and scale")


def record(report: Report, folder: str | Path) -> Path:
    """Write ``report`` as ``folder/<chapter>-<scale>.json`` (the committed paper-scale record)."""
    path = Path(folder) / f"{report.chapter}-{report.scale}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.to_json(), indent=1, ensure_ascii=False) + "\n")
    return path
