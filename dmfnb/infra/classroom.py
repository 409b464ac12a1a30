"""Student and instructor notebooks from the chapters, with nbgrader's own preprocessors.

The chapters follow nbgrader's conventions: a cell whose metadata says ``nbgrader.solution: true``
is an answer (code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, or a whole markdown
cell, which nbgrader also marks ``grade: true`` for manual grading); a code cell with
``grade: true`` and ``solution: false`` is an autograder check, kept and locked for students.
``make assignments`` (``python -m dmfnb assignments``) writes ``assignments/student/*.ipynb`` with the
answers replaced by stubs and ``assignments/instructor/*.ipynb`` with them intact.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat

__all__ = ["CODE_STUB", "make_assignments", "solution_cells", "student_notebook"]

CODE_STUB = '# YOUR CODE HERE\nraise NotImplementedError("Exercise: replace this line with your solution")'
TEXT_STUB = "YOUR ANSWER HERE"


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


def make_assignments(book: str | Path = "book", out: str | Path = "assignments") -> list[Path]:
    """Write ``out/student/<chapter>.ipynb`` and ``out/instructor/<chapter>.ipynb`` for every
    chapter of ``book`` that has exercises; return the student notebooks' paths."""
    from nbgrader.preprocessors import ClearOutput

    written = []
    for src in sorted(Path(book).glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        if not solution_cells(nb):
            continue
        instructor, _ = ClearOutput().preprocess(nbformat.from_dict(nb), {})
        _write(instructor, Path(out) / "instructor" / src.name)
        student = Path(out) / "student" / src.name
        _write(student_notebook(nb), student)
        written.append(student)
    return written
