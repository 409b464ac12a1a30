"""On the site, an exercise's answer is visible only inside its dropdown.

Each code answer sits between sphinx-exercise's gated ``solution-start``/``solution-end`` (with
``:class: dropdown``), so its code and outputs fold away with the written solution; the autograded
test cells (with their hidden reference values) are removed from the page. Checked in headless
Chromium against the built site (``make book``), using the executed notebooks' own outputs.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from test_site import HTML, browser, site  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("*.ipynb")
                  if '"solution": true' in p.read_text())


def _nbg(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _solution_lines(name: str) -> list[str]:
    """Distinctive lines the chapter's code answers print, from the build's executed notebook."""
    executed = ROOT / "_build" / "jupyter_execute" / "book" / f"{name}.ipynb"
    if not executed.exists():
        pytest.skip(f"{executed} is missing: build the book first (make book)")
    nb = nbformat.read(executed, as_version=4)
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "code" and _nbg(cell).get("solution"):
            for out in cell.get("outputs", []):
                text = out.get("text", "") or out.get("data", {}).get("text/plain", "")
                lines += [ln.strip() for ln in text.splitlines() if len(ln.strip()) >= 20]
    return lines


def _hidden_tests(name: str) -> list[str]:
    nb = nbformat.read(ROOT / "book" / f"{name}.ipynb", as_version=4)
    return [line.strip() for c in nb.cells if "### BEGIN HIDDEN TESTS" in c.source
            for line in c.source.split("### BEGIN HIDDEN TESTS")[1]
            .split("### END HIDDEN TESTS")[0].splitlines() if len(line.strip()) >= 20]


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_answer_is_visible_with_the_dropdowns_closed(site, browser, name):  # noqa: F811
    page = browser.new_page()
    page.goto((site / f"book/{name}.html").as_uri())
    page.wait_for_load_state("load")
    html = page.content()
    for line in _hidden_tests(name):
        assert line not in html, f"{name}: a hidden test is on the page: {line!r}"
    solutions = page.locator("main .solution")
    assert solutions.count() > 0, f"{name}: no solution on the page"
    visible = page.locator("main").inner_text()
    printed = [ln for ln in _solution_lines(name) if ln in html]
    for line in printed:
        assert line not in visible, f"{name}: an answer's output is visible: {line!r}"
    code = page.evaluate("""() => Array.from(document.querySelectorAll('main .cell'))
        .filter(c => c.offsetParent !== null && /def exercise_/.test(c.innerText))
        .map(c => c.innerText.slice(0, 80))""")
    assert not code, f"{name}: an answer's code is visible: {code}"
    # Opening the dropdowns shows them: the check above can see an answer when there is one.
    for toggle in page.locator("main .solution .toggle-button, main .solution summary").all():
        toggle.click()
    page.wait_for_timeout(300)
    opened = page.locator("main").inner_text()
    assert "def exercise_" in opened and all(line in opened for line in printed[:3]), (
        f"{name}: the answers did not show in their opened dropdowns")
    page.close()
