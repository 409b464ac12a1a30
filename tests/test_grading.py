"""End to end, with the graders' own commands: the exercises grade the student's work.

nbgrader (a course server's workflow): ``make assignments``' course folder, ``nbgrader
generate_assignment`` and ``nbgrader autograde`` on three submissions per chapter, scores read from
the gradebook. otter-grader (no server): ``otter assign`` on the otter export, then ``otter run``
on the same kinds of submission. Two of the quickest chapters for nbgrader, one for otter.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dmfnb.infra.classroom import make_assignments

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BIN = Path(sys.executable).parent
CHAPTERS = ["reduced_rank", "saddles"]     # about 10 s and 15 s per execution
OTTER_CHAPTER = "reduced_rank"


def _env(tmp: Path) -> dict:
    # nbgrader's database steps call alembic from the venv's bin/; reports stay out of _build.
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DMFNB_REPORTS": str(tmp / "reports"), "OPENBLAS_NUM_THREADS": "1"}


def _run(args, cwd: Path, env: dict, timeout: int = 600) -> str:
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, f"{' '.join(map(str, args))} failed:\n{out.stdout}\n{out.stderr}"
    return out.stdout + out.stderr


def _grade_id(cell) -> str:
    return cell.metadata.get("nbgrader", {}).get("grade_id", "")


def _tests(nb) -> dict[str, float]:
    """grade_id → points of the autograded test cells."""
    return {_grade_id(c): float(c.metadata["nbgrader"]["points"]) for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}


def _answer_wrongly(nb, label: str):
    """The instructor's solutions with ``label``'s answer scaled by 1.5 (a wrong value, the
    right type and shape)."""
    nb = nbformat.from_dict(nb)
    cell = next(c for c in nb.cells if _grade_id(c) == f"{label}-code")
    cell.source, n = re.subn(r"= attempt\((exercise_\w+)\)$",
                             r"= attempt(lambda: 1.5 * np.asarray(\1(), float))", cell.source,
                             flags=re.M)
    assert n == 1
    return nb


def _first_exercise(nb) -> str:
    return next(_grade_id(c)[:-5] for c in nb.cells if _grade_id(c).endswith("-test"))


TAMPERED = "1.0  # full marks, please"


@pytest.fixture(scope="module")
def nbgrader_course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nbgrader")
    make_assignments(BOOK, tmp / "assignments")
    course = tmp / "assignments" / "nbgrader"
    env = _env(tmp)
    kinds = {}
    for name in CHAPTERS:
        _run([BIN / "nbgrader", "generate_assignment", name], course, env)
        source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
        release = nbformat.read(course / "release" / name / f"{name}.ipynb", as_version=4)
        label = _first_exercise(source)
        tampered = _answer_wrongly(source, label)
        for cell in tampered.cells:          # edit two locked cells: the test and the Checks
            if _grade_id(cell) in (f"{label}-test", f"{name}-checks"):
                cell.source = TAMPERED
        kinds[name] = label
        for student, nb in (("solutions", source), ("untouched", release),
                            ("tampered", tampered)):
            path = course / "submitted" / student / name / f"{name}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
        _run([BIN / "nbgrader", "autograde", name], course, env, timeout=900)
    return course, kinds


@pytest.mark.parametrize("name", CHAPTERS)
def test_nbgrader_scores_the_students_work(nbgrader_course, name):
    from nbgrader.api import Gradebook

    course, kinds = nbgrader_course
    source = nbformat.read(course / "source" / name / f"{name}.ipynb", as_version=4)
    tests = _tests(source)
    wrong = f"{kinds[name]}-test"
    assert len(tests) >= 2 and f"{name}-checks" not in tests, "the Checks cell carries no points"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        scores = {}
        for student in ("solutions", "untouched", "tampered"):
            sub = gb.find_submission_notebook(name, name, student)
            per_test = {g: gb.find_grade(g, name, name, student).auto_score for g in tests}
            scores[student] = (sub.code_score, sub.max_code_score, per_test)
    total = sum(tests.values())
    print(f"\n{name}: nbgrader autograded scores (of {total:g}):",
          {s: v[0] for s, v in scores.items()})
    assert scores["solutions"][:2] == (total, total), scores["solutions"]
    assert scores["untouched"][0] == 0, scores["untouched"]
    assert scores["tampered"][0] == total - tests[wrong], scores["tampered"]
    assert scores["tampered"][2][wrong] == 0
    autograded = nbformat.read(course / "autograded" / "tampered" / name / f"{name}.ipynb",
                               as_version=4)
    restored = {_grade_id(c): c.source for c in autograded.cells}
    original = {_grade_id(c): c.source for c in source.cells}
    for gid in (wrong, f"{name}-checks"):
        assert restored[gid] == original[gid] != TAMPERED, f"{gid} was not restored"


@pytest.fixture(scope="module")
def otter_results(tmp_path_factory):
    if shutil.which("otter", path=str(BIN)) is None:
        pytest.skip("otter-grader is not installed")
    tmp = tmp_path_factory.mktemp("otter")
    make_assignments(BOOK, tmp / "assignments")
    master = tmp / "assignments" / "otter" / f"{OTTER_CHAPTER}.ipynb"
    env = _env(tmp)
    _run([BIN / "otter", "assign", master, tmp / "dist"], tmp, env)
    zips = list((tmp / "dist" / "autograder").glob("*.zip"))
    assert len(zips) == 1
    solution = nbformat.read(tmp / "dist" / "autograder" / master.name, as_version=4)
    student = nbformat.read(tmp / "dist" / "student" / master.name, as_version=4)
    assert any('grader.check("q1")' in c.source for c in student.cells)
    # otter's student notebook holds no hidden test and no solution
    hidden = (tmp / "dist" / "autograder" / "tests" / "q1.py").read_text()
    public = (tmp / "dist" / "student" / "tests" / "q1.py").read_text()
    assert "'hidden': True" in hidden and "'hidden': True" not in public
    assert "dm.stability_limit(whitened)" not in "\n".join(c.source for c in student.cells)
    wrong = nbformat.from_dict(solution)
    cell = next(c for c in wrong.cells if "= attempt(exercise_rr_stability)" in c.source)
    cell.source = cell.source.replace("= attempt(exercise_rr_stability)",
                                      "= attempt(lambda: 1.5 * exercise_rr_stability())")
    results = {}
    for kind, nb in (("solutions", solution), ("untouched", student), ("wrong", wrong)):
        folder = tmp / kind
        folder.mkdir()
        nbformat.write(nb, folder / master.name)
        _run([BIN / "otter", "run", "-a", zips[0], "-o", folder, folder / master.name], folder, env)
        results[kind] = json.loads((folder / "results.json").read_text())
    return results


def _otter_scores(result) -> dict[str, float]:
    """Question → score, from otter's results (Gradescope's format: one entry per question)."""
    return {t["name"]: t["score"] for t in result["tests"] if "score" in t}


def test_otter_scores_the_students_work(otter_results):
    scores = {kind: _otter_scores(r) for kind, r in otter_results.items()}
    print("\notter scores per question:", scores)
    auto = [q for q in scores["solutions"] if "written" not in q]
    assert auto == ["q1", "q2", "q3"]
    assert all(scores["solutions"][q] == 1 for q in auto), scores["solutions"]
    assert all(scores["untouched"][q] == 0 for q in auto), scores["untouched"]
    assert scores["wrong"]["q1"] == 0 and all(scores["wrong"][q] == 1 for q in ("q2", "q3"))
