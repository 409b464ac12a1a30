"""Assignments: answers never leak into student notebooks; unanswered ones fail readably."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from dmfnb.chapters import names
from dmfnb.infra.classroom import make_assignments, solution_cells, student_notebook

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = [BOOK / f"{name}.ipynb" for name in names()]


def _cell(kind, source, **nbgrader):
    cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": False, "solution": False,
                                     "grade": False, **nbgrader}
    return cell


def _toy():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        _cell("markdown", "Compute the square of 12."),
        _cell("code", "### BEGIN SOLUTION\nanswer = 12 ** 2\n### END SOLUTION",
              solution=True, grade_id="toy-answer"),
        _cell("markdown", "Why?\n\nBecause 12 · 12 = 144.", solution=True, grade=True, points=1,
              grade_id="toy-why"),
        _cell("code", 'assert answer == 144, f"expected 144, got {answer}"',
              grade=True, points=1, grade_id="toy-check", locked=True),
    ]
    return nb


def _run(nb):
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()


def test_toy_student_version_stubs_answers_and_keeps_checks():
    student = student_notebook(_toy())
    text = "\n".join(c.source for c in student.cells)
    assert "12 ** 2" not in text and "Because" not in text
    assert "YOUR ANSWER HERE" in text and "raise NotImplementedError" in text
    check = student.cells[3]
    assert "assert answer == 144" in check.source and check.metadata["nbgrader"]["locked"]


def test_toy_instructor_passes_and_student_fails_readably():
    _run(_toy())
    with pytest.raises(CellExecutionError, match=r"NotImplementedError.*Exercise: replace this line"):
        _run(student_notebook(_toy()))


def test_notebook_without_exercises_is_refused():
    nb = nbformat.v4.new_notebook()
    with pytest.raises(ValueError, match="no nbgrader solution cell"):
        student_notebook(nb)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_answers_never_leak(chapter, tmp_path):
    nb = nbformat.read(chapter, as_version=4)
    answers = solution_cells(nb)
    assert len(answers) >= 2, f"{chapter.name}: mark at least two exercise answers for nbgrader"
    make_assignments(BOOK, tmp_path)
    student = nbformat.read(tmp_path / "student" / chapter.name, as_version=4)
    instructor = nbformat.read(tmp_path / "instructor" / chapter.name, as_version=4)
    assert [c.source for c in instructor.cells] == [c.source for c in nb.cells]
    student_text = "\n".join(c.source for c in student.cells)
    # A line an answer shares with the question (a given formula, a line of code) is no leak.
    public = "\n".join(c.source for i, c in enumerate(nb.cells) if i not in answers)
    for i in answers:
        src = nb.cells[i].source
        if nb.cells[i].cell_type == "code":
            body = src.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
        else:
            body = src
        for line in body.splitlines():
            # Directive syntax (fences, options, comments) may recur elsewhere; prose and code may not.
            if len(line.strip()) > 12 and not line.lstrip().startswith((":", "`", "#")) and (
                    line not in public):
                assert line not in student_text, f"{chapter.name}: answer leaked: {line!r}"
    checks = [c.source for c in nb.cells
              if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"]["solution"]]
    assert all(src in student_text for src in checks), "autograder checks must be kept"


def test_unanswered_student_chapter_fails_with_a_readable_message(tmp_path):
    """A real chapter (the quickest one): the student version runs until the first stub."""
    make_assignments(BOOK, tmp_path)
    nb = nbformat.read(tmp_path / "student" / "reduced_rank.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(BOOK)}})
    with pytest.raises(CellExecutionError, match=r"NotImplementedError.*Exercise: replace this line"):
        client.execute()
    stub = next(i for i, c in enumerate(nb.cells) if "raise NotImplementedError" in c.source)
    assert all(c.get("execution_count") for c in nb.cells[:stub] if c.cell_type == "code"), (
        "every cell before the first exercise must run")
