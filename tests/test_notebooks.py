"""Every chapter keeps the book's shape: stored without outputs, listed in the table of contents,
learning goals first, checks and a summary last, exercises with solutions, a Colab set-up cell
pointing at the repository named in _config.yml; results shown as tables, glued into the prose,
and the code that ran one click away."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from dmfnb.chapters import names

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [ROOT / "book" / f"{name}.ipynb" for name in names()]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
# A width in a format spec ({x:>10}, {x:10.3f}): a table padded by hand.
PADDING = re.compile(r"\{[^{}\n]*:[^{}\n]*?(?:[<>^]\d+|:?(?<![.\d])\d+(?:\.\d+)?[a-zA-Z%]?)\}")
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def _headings(nb) -> list[str]:
    return [line for c in nb.cells if c.cell_type == "markdown"
            for line in c.source.splitlines() if line.startswith("## ")]


def test_every_notebook_is_a_chapter_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = [c["file"] for c in toc["chapters"]]
    assert {f"book/{p.stem}" for p in NOTEBOOKS} <= set(listed)
    # The "Does it reproduce?" page gathers the chapters' reports, so it comes after them.
    assert listed.index("book/verdict") > max(listed.index(f"book/{p.stem}") for p in CHAPTERS)
    assert {p.stem for p in NOTEBOOKS} == {*names(), "verdict"}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(notebook):
    nb = nbformat.read(notebook, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "store without outputs"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_shape(chapter):
    nb = nbformat.read(chapter, as_version=4)
    first = nb.cells[0].source
    assert re.match(r"^\([\w-]+\)=\n# ", first), "first cell: a label line, then the # title"
    assert "Learning goals" in first, "the first cell states the learning goals"
    heads = _headings(nb)
    assert heads.index("## Checks") < heads.index("## Summary") == len(heads) - 1
    text = "\n".join(c.source for c in nb.cells)
    solutions = text.count("{solution}") + text.count("{solution-start}")
    assert text.count("{exercise}") >= 2 and solutions >= text.count("{exercise}")
    assert "{prf:theorem}" in text, "the chapter states its theorem"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_colab_cell_installs_from_the_configured_repository(chapter):
    nb = nbformat.read(chapter, as_version=4)
    cell = nb.cells[1]
    url, branch = CONFIG["repository"]["url"], CONFIG["repository"]["branch"]
    assert cell.cell_type == "code" and f'REPO = "{url}"' in cell.source, (
        f"{chapter.name}: the second cell must install dmfnb from {url} on Colab; after changing "
        "repository.url in _config.yml, update this line in every chapter")
    assert f'git+{{REPO}}@{branch}"' in cell.source, f"{chapter.name}: install from branch {branch}"
    assert "remove-cell" in cell.metadata.get("tags", [])


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_links_the_introduction_and_another_chapter(chapter):
    nb = nbformat.read(chapter, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    labels = {re.match(r"^\(([\w-]+)\)=", nbformat.read(p, as_version=4).cells[0].source).group(1)
              for p in CHAPTERS if p != chapter}
    assert re.search(r"\{prf:ref\}`(thm|conj)-intro-", text), "cite a theorem of the introduction"
    assert any(f"{{ref}}`{label}`" in text for label in labels), "link another chapter"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_results_flow_as_values(chapter):
    nb = nbformat.read(chapter, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    setup = code[1]
    assert f"from dmfnb.chapters import {chapter.stem} as ch" in setup and "ch.params()" in setup
    padded = [m.group(0) for src in code for m in PADDING.finditer(src)]
    assert not padded, f"tables are Table values, not padded text: {padded[:3]}"
    checks = [src for src in code if "ch.report(" in src]
    assert len(checks) == 1 and "rep.checks.require()" in checks[0], (
        "one Checks cell: rep = ch.report(p, results); rep.checks.require()")
    assert "{glue:text}" in md, "numbers quoted in the prose are glued from the results"
    include = f"```{{literalinclude}} ../dmfnb/chapters/{chapter.stem}/compute.py"
    assert include in md and ":pyobject:" in md, "each experiment shows the code that ran"
    for fn in re.findall(r":pyobject: (\w+)", md):
        assert f"def {fn}(" in (ROOT / "dmfnb" / "chapters" / chapter.stem / "compute.py").read_text()


# CommonMark: a backtick fence's info string may not contain a backtick, so such a "directive"
# renders as a paragraph of raw text (use a colon fence, ::::{admonition} …, instead).
BACKTICK_INFO = re.compile(r"^[ \t]*`{3,}(?=[^`\n])[^\n]*`", re.M)


@pytest.mark.parametrize("page", [*CHAPTERS, ROOT / "book" / "intro.md"], ids=lambda p: p.stem)
def test_directive_fences_parse(page):
    if page.suffix == ".md":
        sources = [page.read_text()]
    else:
        sources = [c.source for c in nbformat.read(page, as_version=4).cells
                   if c.cell_type == "markdown"]
    bad = [m.group(0) for src in sources for m in BACKTICK_INFO.finditer(src)]
    assert not bad, f"backtick fences with a backtick in their info string: {bad[:3]}"
