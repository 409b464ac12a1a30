"""Every chapter keeps the book's shape: stored without outputs, listed in the table of contents,
learning goals first, checks and a summary last, exercises with solutions, a Colab set-up cell
pointing at the repository named in _config.yml."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def _headings(nb) -> list[str]:
    return [line for c in nb.cells if c.cell_type == "markdown"
            for line in c.source.splitlines() if line.startswith("## ")]


def test_every_chapter_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = {c["file"] for c in toc["chapters"]}
    assert {f"book/{p.stem}" for p in CHAPTERS} <= listed


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_shape(chapter):
    nb = nbformat.read(chapter, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "store without outputs"
    first = nb.cells[0].source
    assert re.match(r"^\([\w-]+\)=\n# ", first), "first cell: a label line, then the # title"
    assert "Learning goals" in first, "the first cell states the learning goals"
    heads = _headings(nb)
    assert heads.index("## Checks") < heads.index("## Summary") == len(heads) - 1
    text = "\n".join(c.source for c in nb.cells)
    assert text.count("{exercise}") >= 2 and text.count("{solution}") >= text.count("{exercise}")
    assert "{prf:theorem}" in text, "the chapter states its theorem"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_colab_cell_installs_from_the_configured_repository(chapter):
    nb = nbformat.read(chapter, as_version=4)
    cell = nb.cells[1]
    url = f"git+{CONFIG['repository']['url']}@{CONFIG['repository']['branch']}"
    assert cell.cell_type == "code" and url in cell.source, (
        f"{chapter.name}: the second cell must install dmfnb from {url} on Colab; after changing "
        "repository.url in _config.yml, update this line in every chapter")
    assert "remove-cell" in cell.metadata.get("tags", [])


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_links_the_introduction_and_another_chapter(chapter):
    nb = nbformat.read(chapter, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    labels = {re.match(r"^\(([\w-]+)\)=", nbformat.read(p, as_version=4).cells[0].source).group(1)
              for p in CHAPTERS if p != chapter}
    assert re.search(r"\{prf:ref\}`(thm|conj)-intro-", text), "cite a theorem of the introduction"
    assert any(f"{{ref}}`{label}`" in text for label in labels), "link another chapter"
