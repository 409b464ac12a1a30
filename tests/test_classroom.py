"""Assignments: answers never leak into student notebooks; a student's Run All runs the chapter
through; every exercise with a computable answer has an autograded test; generated notebooks are
plain Markdown."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dmfnb.chapters import names
from dmfnb.infra.classroom import make_assignments, solution_cells, student_notebook
from dmfnb.infra.classroom.grading import UNANSWERED, Exercise, attempt
from dmfnb.infra.classroom.otter import split_test

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
CHAPTERS = [BOOK / f"{name}.ipynb" for name in names()]
MYST = ("```{", "{cite", "{eq}", "{prf:", "{numref}", "{ref}", "{glue:")


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
        _cell("code", "from dmfnb.infra.classroom.grading import Exercise, attempt"),
        _cell("markdown", "Compute the square of 12."),
        _cell("code", "def exercise_square():\n    ### BEGIN SOLUTION\n    return 12 ** 2\n"
                      "    ### END SOLUTION\n\n\nanswer = attempt(exercise_square)",
              solution=True, grade_id="toy-answer"),
        _cell("markdown", "Why?\n\nBecause 12 · 12 = 144.", solution=True, grade=True, points=1,
              grade_id="toy-why"),
        _cell("code", 'with Exercise("toy", points=2) as ex:\n    ex.number(answer)\n'
                      "    ### BEGIN HIDDEN TESTS\n    ex.close(answer, 144)\n"
                      "    ### END HIDDEN TESTS\nex.score",
              grade=True, points=2, grade_id="toy-check", locked=True),
        _cell("code", "after = 'the rest of the chapter ran'"),
    ]
    return nb


def _run(nb):
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def _result(cell) -> str:
    return next(o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result")


def test_toy_student_version_stubs_answers_and_hides_tests():
    student = student_notebook(_toy())
    text = "\n".join(c.source for c in student.cells)
    assert "12 ** 2" not in text and "Because" not in text and "ex.close" not in text
    assert "YOUR ANSWER HERE" in text and "raise NotImplementedError" in text
    check = student.cells[4]
    assert "ex.number(answer)" in check.source and check.metadata["nbgrader"]["locked"]


def test_toy_scores_full_marks_answered_and_zero_unanswered_and_runs_through():
    assert _result(_run(_toy()).cells[4]) == "2.0"
    student = _run(student_notebook(_toy()))            # no error: Run All goes on
    assert "not answered yet" in student.cells[2].outputs[0].text
    assert _result(student.cells[4]) == "0.0"
    assert student.cells[5].execution_count


def test_grading_messages_help_a_student_who_is_close():
    with Exercise("x", points=1) as ex:
        ex.close(0.1001, 0.1, rtol=1e-6, what="the limit", hint="it is 1/s_1")
    assert ex.score == 0 and "you are close" in ex.failed[0] and "1/s_1" in ex.failed[0]
    with Exercise("x", points=1) as ex:
        ex.array(UNANSWERED, shape=(2,))
        ex.close(UNANSWERED[0], 1.0)                    # an error inside is a failed check
    assert ex.score == 0 and "not answered" in ex.summary()
    with pytest.raises(AssertionError, match="expected shape"):
        with Exercise("x", strict=True) as ex:
            ex.array([1.0], shape=(2,))
    assert attempt(lambda: None) is UNANSWERED


def test_notebook_without_exercises_is_refused():
    with pytest.raises(ValueError, match="no nbgrader solution cell"):
        student_notebook(nbformat.v4.new_notebook())


@pytest.fixture(scope="module")
def assignments(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    make_assignments(BOOK, out)
    return out


def _nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_code_exercise_has_an_autograded_test(chapter):
    nb = nbformat.read(chapter, as_version=4)
    ids = {_nbg(c).get("grade_id"): c for c in nb.cells if _nbg(c)}
    code = [g for g, c in ids.items() if c.cell_type == "code" and _nbg(c)["solution"]]
    assert code, f"{chapter.name}: no code exercise"
    for gid in code:
        label = gid.removesuffix("-code")
        test = ids.get(f"{label}-test")
        assert test is not None, f"{chapter.name}: {label} has no autograded test cell"
        meta = _nbg(test)
        assert meta["grade"] and meta["locked"] and not meta["solution"] and meta["points"] > 0
        assert "remove-cell" in test.metadata.get("tags", []), "tests stay off the site"
        _, _, public, hidden = split_test(test.source)
        assert public and hidden, f"{label}: a public check and hidden reference values"
        assert re.search(r"^answer_\w+ = attempt\(exercise_\w+\)$", ids[gid].source, re.M)
    for gid, c in ids.items():
        if c.cell_type == "markdown" and _nbg(c)["solution"]:
            assert _nbg(c)["grade"] and _nbg(c)["points"] > 0, f"{gid}: a graded written answer"
    checks = _nbg(ids[f"{chapter.stem}-checks"])
    assert checks["locked"] and not checks["grade"] and "points" not in checks


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_answers_never_leak(chapter, assignments):
    nb = nbformat.read(chapter, as_version=4)
    answers = solution_cells(nb)
    assert len(answers) >= 2, f"{chapter.name}: mark at least two exercise answers for nbgrader"
    student = nbformat.read(assignments / "student" / chapter.name, as_version=4)
    student_text = "\n".join(c.source for c in student.cells)
    # What the reader sees anyway: the other cells, with the included chapter code written out.
    instructor = nbformat.read(assignments / "instructor" / chapter.name, as_version=4)
    public = "\n".join(c.source for c in instructor.cells if not _nbg(c).get("solution"))
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
    hidden = [c.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
              for c in nb.cells if "### BEGIN HIDDEN TESTS" in c.source]
    # A reference line that repeats the exercise's given data is no leak either.
    visible = "\n".join(re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS", "", c.source,
                                flags=re.S) for c in nb.cells)
    for line in "\n".join(hidden).splitlines():
        if len(line.strip()) > 12 and line.strip() not in visible:
            assert line not in student_text, f"{chapter.name}: hidden test leaked: {line!r}"


@pytest.mark.parametrize("folder", ["student", "instructor", "otter", "nbgrader/source/*"])
def test_generated_notebooks_are_plain_markdown(assignments, folder):
    paths = sorted(assignments.glob(f"{folder}/*.ipynb"))
    assert {p.stem for p in paths} >= {c.stem for c in CHAPTERS}
    for path in paths:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            for needle in MYST:
                assert needle not in cell.source, f"{path.name}: {needle!r} left in {cell.source[:80]!r}"
            assert not re.search(r"^\s*\([^()\s]+\)=\s*$", cell.source, re.M), f"{path.name}: a (label)="


def test_plain_markdown_reads_as_the_book_does(assignments):
    nb = nbformat.read(assignments / "instructor" / "reduced_rank.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "> **Theorem 1** (Reduced-rank solutions in turn (discrete gradient descent))" in text
    assert "> **Exercise 1** (The stability limit for whitened inputs)" in text
    assert "Gidel et al. (2019)" in text and "(Izenman, 1975)" in text
    assert re.search(r"\(eq\. \d+\)", text) and "\\tag{1}" in text
    assert "def escape_scaling" in text or "```python" in text     # included code that ran


def test_student_chapter_runs_all_the_way_through(assignments):
    """Run All on a student notebook of the quickest chapter: the stubs do not stop the Explorer,
    the Checks or the Summary; every autograded test reports 0 points."""
    nb = nbformat.read(assignments / "student" / "reduced_rank.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(BOOK)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "every cell ran"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    tests = [c for c in code if _nbg(c).get("grade")]
    assert tests and all(_result(c) == "0.0" for c in tests)
    checks = next(c for c in code if _nbg(c).get("grade_id") == "reduced_rank-checks")
    assert checks.execution_count > tests[-1].execution_count
