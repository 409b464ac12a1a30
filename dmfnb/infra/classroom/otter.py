"""A chapter in otter-grader's assignment format (``otter assign``), for students without a server.

nbgrader needs a course server; otter's student notebook checks itself: ``grader.check("q1")``
runs the public tests anywhere (Colab, Binder, a laptop), and ``otter run`` (or Gradescope) grades
a submission with the hidden ones too. :func:`otter_notebook` turns the instructor notebook into
otter's "master" notebook (format v1: raw ``# BEGIN QUESTION`` … ``# END QUESTION`` cells):

- each exercise's code answer becomes question ``q<n>`` (``n`` counts the chapter's exercises),
  worth the points of its nbgrader test, all or nothing: its solution region (``# BEGIN
  SOLUTION``, which otter replaces by ``...``) and its test, split into a public test (the
  lines students see in nbgrader too) and a hidden one (the ``### BEGIN HIDDEN TESTS`` lines);
- each written answer becomes the manually graded question ``q<n>_written``;
- every other cell is kept as it is, the Checks cell included.

The tests are the nbgrader test's own lines under ``Exercise(..., strict=True)``, which raises at
the first failed check instead of reporting a score.
"""

from __future__ import annotations

import re

import nbformat

__all__ = ["otter_notebook", "split_test"]


def _raw(text: str):
    return nbformat.v4.new_raw_cell(text)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _exercise(grade_id: str) -> str:
    return re.sub(r"-(answer|code|test)$", "", grade_id)


def split_test(source: str) -> tuple[str, str, list[str], list[str]]:
    """An nbgrader test cell of the book's shape (``with Exercise(...) as ex:``, its body, then
    ``ex.score``) as (the ``with`` line, the variable, the public body lines, the hidden ones)."""
    lines = source.split("\n")
    head = next(i for i, line in enumerate(lines) if line.startswith("with Exercise("))
    m = re.match(r"with (Exercise\(.*\)) as (\w+):$", lines[head])
    if not m:
        raise ValueError(f"not a test cell of the book's shape: {lines[head]!r}")
    public, hidden, in_hidden = [], [], False
    for line in lines[head + 1:]:
        if not line.startswith((" ", "\t")) and line.strip():
            break
        if "### BEGIN HIDDEN TESTS" in line:
            in_hidden = True
        elif "### END HIDDEN TESTS" in line:
            in_hidden = False
        else:
            (hidden if in_hidden else public).append(line)
    return m.group(1), m.group(2), public, hidden


def _strict(call: str) -> str:
    return call[:-1] + ", strict=True)"


def _test_cells(source: str) -> list:
    call, var, public, hidden = split_test(source)
    head = f"with {_strict(call)} as {var}:"
    cells = [nbformat.v4.new_code_cell("\n".join([head, *public]))]
    if hidden:
        config = '""" # BEGIN TEST CONFIG\nhidden: true\n""" # END TEST CONFIG'
        cells.append(nbformat.v4.new_code_cell("\n".join([config, head, *public, *hidden])))
    return cells


def _otter_solution(source: str) -> str:
    return re.sub(r"^(\s*)### (BEGIN|END) SOLUTION", r"\1# \2 SOLUTION", source, flags=re.M)


def otter_notebook(nb, name: str):
    """Otter's master notebook for the instructor notebook ``nb`` of chapter ``name``."""
    nb = nbformat.from_dict(nb)
    order: list[str] = []
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id", "")
        if gid.startswith("ex-") and _exercise(gid) not in order:
            order.append(_exercise(gid))
    tests = {_exercise(_meta(c)["grade_id"]): c for c in nb.cells
             if _meta(c).get("grade") and not _meta(c).get("solution") and c.cell_type == "code"
             and _meta(c).get("grade_id", "").startswith("ex-")}
    config = (f"# ASSIGNMENT CONFIG\nname: {name}\ninit_cell: true\ncheck_all_cell: true\n"
              "export_cell: false\nrun_tests: false\nsolutions_pdf: false\n"
              "tests:\n  files: true\n  ok_format: true\n")
    cells = [_raw(config)]
    for cell in nb.cells:
        meta = _meta(cell)
        gid = meta.get("grade_id", "")
        if not (gid.startswith("ex-") and meta.get("solution")):
            if cell in tests.values():
                continue  # moved into its question
            cell.metadata.pop("nbgrader", None)
            cells.append(cell)
            continue
        cell.metadata.pop("nbgrader", None)
        n = order.index(_exercise(gid)) + 1
        if cell.cell_type == "markdown":
            points = meta.get("points", 1)
            cells += [_raw(f"# BEGIN QUESTION\nname: q{n}_written\nmanual: true\npoints: {points}"),
                      nbformat.v4.new_markdown_cell(
                          f"**Question q{n}_written** ({points} point(s), graded by hand): "
                          "write your answer in the cell below."),
                      _raw("# BEGIN SOLUTION"), cell, _raw("# END SOLUTION"),
                      _raw("# END QUESTION")]
            continue
        test = tests.get(_exercise(gid))
        points = _meta(test).get("points", 1) if test is not None else 1
        cell.source = _otter_solution(cell.source)
        cells += [_raw(f"# BEGIN QUESTION\nname: q{n}\npoints: {points}\nall_or_nothing: true"),
                  nbformat.v4.new_markdown_cell(
                      f"**Question q{n}** ({points} point(s), autograded): complete the function "
                      f'below; `grader.check("q{n}")` checks your answer.'),
                  _raw("# BEGIN SOLUTION"), cell, _raw("# END SOLUTION")]
        if test is not None:
            cells += [_raw("# BEGIN TESTS"), *_test_cells(test.source), _raw("# END TESTS")]
        cells.append(_raw("# END QUESTION"))
    for i, cell in enumerate(cells):
        cell.id = cell.get("id") or f"otter-{i}"
    nb.cells = cells
    return nb
