"""The rendered site in a real browser: math typeset, figures loaded, every local asset found.

Uses headless Chromium (Debian's ``chromium``) driven by Playwright. Skipped, with the reason, where
either is missing; ``make test`` installs both. The site is built first if it is missing or older
than the chapters.
"""

from __future__ import annotations

import fcntl
import re
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
    # `make test` runs pytest on two xdist workers, and two test files use this fixture: the
    # lock lets one of them build a stale site while the other waits for it.
    (ROOT / "_build").mkdir(exist_ok=True)
    with open(ROOT / "_build" / ".site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not index.exists() or \
                index.stat().st_mtime < max(p.stat().st_mtime for p in _sources()):
            subprocess.run([str(Path(sys.executable).parent / "jupyter-book"), "build",
                            str(ROOT)], check=True, capture_output=True)
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
    raw = re.findall(r"\{(?:admonition|literalinclude|prf:\w+|exercise|solution[\w-]*|glue:\w+)\}",
                     page.inner_text("main"))
    assert not raw, f"{page_path}: directives shown as raw text (did not parse): {raw[:5]}"
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

# Elements that stick out of the article's column or scroll sideways, outside the selectors given
# (MathJax's hidden copy for screen readers and a hidden live widget have no width of their own).
_OVERFLOW = """(allowed) => {
  const article = document.querySelector('main article') || document.querySelector('main');
  const right = article.getBoundingClientRect().right + 1;
  const found = [], outer = [];
  for (const el of article.querySelectorAll('*')) {
    if (el.closest(allowed + ', mjx-assistive-mml, .jupyter-widgets')) continue;
    if (outer.some(o => o.contains(el))) continue;  // report the outermost box only
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    const style = getComputedStyle(el);
    const scrolls = el.scrollWidth > el.clientWidth + 1 && /(auto|scroll)/.test(style.overflowX);
    if (r.right > right || scrolls) {
      outer.push(el);
      found.push(`${el.tagName.toLowerCase()}.${el.className}`.slice(0, 60) + ': ' +
                 (el.textContent || el.getAttribute('src') || '').trim().slice(0, 50));
    }
  }
  return found;
}"""

# Display equations whose typeset formula runs into their equation number.
_EQNO_OVERLAP = """() => Array.from(document.querySelectorAll('main div.math'))
  .filter(d => d.querySelector('.eqno') && d.querySelector('mjx-math'))
  .filter(d => {
    const e = d.querySelector('.eqno').getBoundingClientRect();
    const m = d.querySelector('mjx-math').getBoundingClientRect();
    return m.right > e.left - 4 && m.left < e.right && m.bottom > e.top && m.top < e.bottom;
  })
  .map(d => `${d.id}: ${d.querySelector('.eqno').textContent.trim()}`)"""


# Captions narrower than their table's rows (the caption of a table stacked row by row on a
# phone, a table without columns, had shrunk to about 50 px: a word a line). A table's box
# may be wider than its rows, and a caption spanning the rows of a narrow table is fine.
_NARROW_CAPTIONS = """() => Array.from(document.querySelectorAll('main table caption'))
  .filter(c => {
    const rows = Array.from(c.closest('table').querySelectorAll('tr'))
      .map(r => r.getBoundingClientRect().width);
    return c.getBoundingClientRect().width < 0.9 * Math.max(0, ...rows);
  })
  .map(c => c.textContent.trim().slice(0, 50))"""


def _open(browser, site, page_path, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto((site / page_path).as_uri())
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
    return page


@pytest.mark.parametrize("page_path", _pages())
def test_nothing_is_wider_than_the_column(site, browser, page_path):
    """At 1280 px no table, output or equation inside the article sticks out or scrolls
    (code blocks may scroll), and no equation runs into its number."""
    page = _open(browser, site, page_path, 1280)
    wide = page.evaluate(_OVERFLOW, "pre, div.highlight")
    overlaps = page.evaluate(_EQNO_OVERLAP)
    page.close()
    assert not wide, f"{page_path}: wider than the column at 1280 px: {wide[:8]}"
    assert not overlaps, f"{page_path}: equations that run into their number: {overlaps}"


@pytest.mark.parametrize("page_path", _pages())
def test_a_phone_reads_the_page_without_scrolling_sideways(site, browser, page_path):
    """At 390 px (a phone) only code blocks may scroll: text, tables, figures and equations fit."""
    page = _open(browser, site, page_path, 390)
    wide = page.evaluate(_OVERFLOW, "pre, div.highlight")
    page_scrolls = page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1")
    narrow = page.evaluate(_NARROW_CAPTIONS)
    page.close()
    assert not wide, f"{page_path}: wider than a 390 px screen: {wide[:8]}"
    assert not page_scrolls, f"{page_path}: the whole page scrolls sideways at 390 px"
    assert not narrow, f"{page_path}: table captions squeezed into a narrow strip: {narrow[:4]}"


def _chapters_with_explorers() -> list[str]:
    return [f"book/{d.name}.html" for d in sorted((ROOT / "dmfnb" / "chapters").iterdir())
            if (d / "explorer.py").exists()]


@pytest.mark.parametrize("page_path", _chapters_with_explorers())
def test_explorers_respond_without_a_kernel(site, browser, page_path):
    """On the static site each chapter's explorer says it is precomputed, and moving any of its
    controls (keys on a slider, a choice in a menu) changes the figure; the live view, which would
    need a kernel, is not shown."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto((site / page_path).as_uri())
    explorer = page.locator("div.dmfnb-explorer")
    assert explorer.count() == 1, f"{page_path}: {explorer.count()} precomputed explorers, not 1"
    assert explorer.locator(".dmfnb-mode").is_visible(), f"{page_path}: no visible mode note"
    assert "Precomputed explorer" in explorer.locator(".dmfnb-mode").inner_text()
    live = page.locator(".dmfnb-live")
    assert all(not live.nth(i).is_visible() for i in range(live.count())), \
        f"{page_path}: the live explorer shows on the static site, where no kernel answers it"
    image = explorer.locator("img.dmfnb-frame")
    controls = explorer.locator("[data-index]")
    assert controls.count() >= 1
    for i in range(controls.count()):
        control = controls.nth(i)
        before = image.get_attribute("src")
        label = control.evaluate("c => c.parentNode.querySelector('output').textContent")
        if control.evaluate("c => c.tagName") == "SELECT":
            current = int(control.input_value())
            count = control.locator("option").count()
            control.select_option(index=(current + 1) % count)
        else:
            at_end = control.evaluate("c => c.value === c.max")
            control.focus()
            page.keyboard.press("Home" if at_end else "End")
        after = image.get_attribute("src")
        moved = control.evaluate("c => c.parentNode.querySelector('output').textContent")
        assert moved != label, f"{page_path}: control {i}'s shown value did not change"
        assert after != before, f"{page_path}: moving control {i} ({moved}) left the figure as it was"
        assert moved in image.get_attribute("alt"), f"{page_path}: alt text not updated"
    page.close()


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
