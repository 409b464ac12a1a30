"""Student and instructor notebooks from the chapters, for nbgrader and for otter-grader.

The chapters follow nbgrader's conventions: a cell whose metadata says ``nbgrader.solution: true``
is an answer (code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, inside the exercise's
``exercise_…`` function, or a whole Markdown cell, which nbgrader also marks ``grade: true`` for
manual grading with points); a code cell with ``grade: true``, ``solution: false`` and
``locked: true`` is the exercise's autograded test (:mod:`.grading`), with its reference values
between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``; the chapter's closing Checks cell
is locked and carries no points.

``make assignments`` (``python -m dmfnb assignments``) writes, for every chapter with exercises:

- ``instructor/<chapter>.ipynb``: answers and tests intact, MyST written out as plain Markdown;
- ``student/<chapter>.ipynb``: what nbgrader would release (answers stubbed, hidden tests and
  outputs removed, checksums set), to hand out without a course server;
- ``nbgrader/``: a course folder (``nbgrader_config.py``, ``source/<chapter>/<chapter>.ipynb``)
  for nbgrader's ``generate_assignment`` → ``autograde`` workflow;
- ``otter/<chapter>.ipynb``: the same exercises in otter-assign's format (:mod:`.otter`), for
  ``otter assign`` and students' ``grader.check("q1")`` on Colab or Binder.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

from .markdown import Labels, bibliography, plain_notebook

__all__ = ["CODE_STUB", "make_assignments", "plain", "solution_cells", "student_notebook"]

# nbgrader's own stub, indented into the exercise's function: attempt() turns it into UNANSWERED.
CODE_STUB = '# YOUR CODE HERE\nraise NotImplementedError("Exercise: replace this line with your solution")'
TEXT_STUB = "YOUR ANSWER HERE"

NBGRADER_CONFIG = f'''"""nbgrader configuration of the course folder written by `make assignments`."""
c = get_config()  # noqa: F821
c.CourseDirectory.root = "."
# A chapter's experiments take seconds to minutes; nbgrader's default is 30 s per cell.
c.ExecutePreprocessor.timeout = 1800
# The stub the book's exercises expect (nbgrader's default, with a message).
c.ClearSolutions.code_stub = {{"python": {CODE_STUB!r}}}
c.ClearSolutions.text_stub = {TEXT_STUB!r}
'''


def solution_cells(nb) -> list[int]:
    """Indices of the cells nbgrader treats as answers."""
    return [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution")]


def student_notebook(nb):
    """The student version of a chapter: answers stubbed, outputs cleared, checks locked.

    Runs nbgrader's release pipeline minus its database steps: LockCells, ClearSolutions,
    ClearOutput, ClearHiddenTests, ClearMarkScheme, ComputeChecksums, CheckCellMetadata.
    """
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearHiddenTests,
        ClearMarkScheme,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )

    nb = nbformat.from_dict(nb)
    if not solution_cells(nb):
        raise ValueError("the notebook has no nbgrader solution cell; mark its exercise answers")
    clear = ClearSolutions(code_stub={"python": CODE_STUB}, text_stub=TEXT_STUB)
    for pre in (LockCells(), clear, ClearOutput(), ClearHiddenTests(), ClearMarkScheme(),
                ComputeChecksums(), CheckCellMetadata()):
        nb, _ = pre.preprocess(nb, {})
    return nb


def _write(nb, path: Path) -> None:
    """Write atomically: an interrupted run never leaves half a notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    nbformat.write(nb, tmp)
    os.replace(tmp, path)


def _documents(book: Path) -> list[Path]:
    return sorted([*book.glob("*.ipynb"), *book.glob("*.md")])


def plain(nb, path: Path, labels: Labels | None = None, bib: dict | None = None):
    """``nb`` (the chapter at ``path``) with its MyST written out as plain Markdown."""
    book = path.parent
    labels = labels or Labels.of(_documents(book))
    if bib is None:
        bibfile = book / "references.bib"
        bib = bibliography(bibfile) if bibfile.exists() else {}
    return plain_notebook(nb, labels, bib, path.stem, book)


def make_assignments(book: str | Path = "book", out: str | Path = "assignments") -> list[Path]:
    """Write the instructor, student, nbgrader and otter versions (see the module's docstring) of
    every chapter of ``book`` that has exercises; return the student notebooks' paths."""
    from nbgrader.preprocessors import ClearOutput

    from .otter import otter_notebook

    book, out = Path(book), Path(out)
    labels = Labels.of(_documents(book))
    bibfile = book / "references.bib"
    bib = bibliography(bibfile) if bibfile.exists() else {}
    written = []
    for src in sorted(book.glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        if not solution_cells(nb):
            continue
        instructor, _ = ClearOutput().preprocess(plain(nb, src, labels, bib), {})
        _write(instructor, out / "instructor" / src.name)
        _write(instructor, out / "nbgrader" / "source" / src.stem / src.name)
        _write(otter_notebook(instructor, src.stem), out / "otter" / src.name)
        student = out / "student" / src.name
        _write(student_notebook(instructor), student)
        written.append(student)
    if written:
        (out / "nbgrader").mkdir(parents=True, exist_ok=True)
        (out / "nbgrader" / "nbgrader_config.py").write_text(NBGRADER_CONFIG)
    return written
