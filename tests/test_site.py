"""The rendered site in a real browser: math typeset, figures loaded, every local asset found.

Uses headless Chromium (Debian's ``chromium``) driven by Playwright. Skipped, with the reason, where
either is missing; ``make test`` installs both. The site is built first if it is missing or older
than the chapters.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _pages() -> list[str]:
    """Every page of the table of contents, as paths relative to the site root."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc.get("chapters", [])]
    return [f"{Path(f).with_suffix('')}.html" for f in files]


def _sources() -> list[Path]:
    return [*ROOT.glob("book/*.ipynb"), *ROOT.glob("book/*.md"), ROOT / "_config.yml",
            ROOT / "_toc.yml"]


@pytest.fixture(scope="module")
def site() -> Path:
    index = HTML / "index.html"
    if not index.exists() or index.stat().st_mtime < max(p.stat().st_mtime for p in _sources()):
        subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT)],
                       check=True, capture_output=True)
    return HTML


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; `make test` does it)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.mark.parametrize("page_path", _pages())
def test_page_renders(site, browser, page_path):
    page = browser.new_page()
    problems: list[str] = []
    page.on("requestfailed", lambda r: problems.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: problems.append(f"{r.url}: HTTP {r.status}") if r.status >= 400
            else None)
    page.on("request", lambda r: problems.append(f"network request to {r.url}")
            if not r.url.startswith(("file:", "data:", "blob:", "about:")) else None)
    page.goto((site / page_path).as_uri())
    if page.locator(".math").count():  # Sphinx marks every formula with class "math"
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
        assert page.locator("mjx-container").count() > 0, f"{page_path}: no math was typeset"
        assert page.locator("mjx-merror").count() == 0, f"{page_path}: MathJax reported an error"
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src.slice(0, 80))")
    assert not broken, f"{page_path}: images that did not load: {broken}"
    # Figures need alt text; a widget's live plot (drawn by the widget, beside its captioned static
    # stand-in) is the one image that cannot carry any.
    missing_alt = page.evaluate(
        "() => Array.from(document.querySelectorAll('main img'))"
        ".filter(i => !i.alt && !i.closest('.jupyter-widgets')).map(i => i.src.slice(0, 80))")
    assert not missing_alt, f"{page_path}: figures without alt text: {missing_alt}"
    widgets = page.locator("script[type='application/vnd.jupyter.widget-view+json']").count()
    if widgets:
        assert page.locator(".jupyter-widgets").count() > 0, f"{page_path}: widgets did not render"
    assert not problems, f"{page_path}: failed or external loads: {problems}"
    if (ROOT / page_path).with_suffix(".ipynb").exists():  # a chapter: download and launch buttons
        html = page.content()
        for needle in ("btn-download-source-button", "btn-download-pdf-button",
                       "https://mybinder.org/v2/gh/", "https://colab.research.google.com/github/"):
            assert needle in html, f"{page_path}: missing {needle}"
    page.close()


# Text of at least 8 pt at the book style's 110 dpi, shown at ≥ 9 px: a figure may be shrunk
# to no less than this fraction of its natural width.
MIN_FIGURE_SCALE = 9 / (8 * 110 / 72)

_OVERFLOW = """() => {
  const article = document.querySelector('main article') || document.querySelector('main');
  const right = article.getBoundingClientRect().right + 1;
  const found = [];
  for (const el of article.querySelectorAll('*')) {
    if (el.closest('pre, div.highlight, .jupyter-widgets, mjx-assistive-mml')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    const style = getComputedStyle(el);
    const scrolls = el.scrollWidth > el.clientWidth + 1 && /(auto|scroll)/.test(style.overflowX);
    if (r.right > right || scrolls) {
      found.push(`${el.tagName.toLowerCase()}.${el.className}`.slice(0, 60) + ': ' +
                 (el.textContent || el.getAttribute('src') || '').trim().slice(0, 50));
    }
  }
  return found;
}"""


@pytest.mark.parametrize("page_path", _pages())
def test_nothing_is_wider_than_the_column(site, browser, page_path):
    """At 1280 px no table, output or equation inside the article sticks out or scrolls
    (code blocks may scroll)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((site / page_path).as_uri())
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
    wide = page.evaluate(_OVERFLOW)
    page.close()
    assert not wide, f"{page_path}: wider than the column at 1280 px: {wide[:8]}"


@pytest.mark.parametrize("page_path", _pages())
def test_figures_are_drawn_for_the_column(site, browser, page_path):
    """Every figure is shown at ≥ MIN_FIGURE_SCALE of its natural size at 1280 px, so its text
    (≥ 8 pt at the book's dpi) reads at ≥ 9 px."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((site / page_path).as_uri())
    shrunk = page.evaluate(
        "(minScale) => Array.from(document.querySelectorAll('main article img'))"
        ".filter(i => i.naturalWidth > 0 && i.clientWidth > 0 && !i.closest('.jupyter-widgets'))"
        ".filter(i => i.clientWidth / i.naturalWidth < minScale)"
        ".map(i => `${i.alt.slice(0, 50)} (${i.naturalWidth} px shown at ${i.clientWidth} px)`)",
        MIN_FIGURE_SCALE)
    page.close()
    assert not shrunk, f"{page_path}: figures drawn too wide for the column: {shrunk}"


def test_verdict_page_shows_the_recorded_paper_scale_results(site):
    """The page and the committed records agree: every recorded check appears, with its values."""
    import json
    from html import unescape

    text = unescape((site / "book" / "verdict.html").read_text())
    for record in sorted((ROOT / "book" / "reproduced").glob("*-paper.json")):
        data = json.loads(record.read_text())
        assert f"Run on {data['date']}" in text, f"{record.name}: its date is not on the page"
        for row in data["checks"]:
            for key in ("name", "measured", "expected"):
                assert row[key] in text, f"{record.name}: check {row['name']}'s {key} is not on the page"
