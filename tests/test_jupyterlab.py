"""A chapter reads in JupyterLab: jupyterlab-myst renders its theorems and exercises.

Starts JupyterLab on 127.0.0.1 (no token, a free port, a bounded wait), opens one chapter in
headless Chromium and checks that the ``{prf:theorem}`` and ``{exercise}`` blocks are rendered as
blocks, not shown as raw MyST. The server is stopped at the end. Skipped where JupyterLab,
jupyterlab-myst, Chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_site import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHAPTER = "book/norms.ipynb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed")
    pytest.importorskip("jupyterlab_myst", reason="jupyterlab-myst is not installed")
    home = tmp_path_factory.mktemp("lab")
    # Render every cell at once (JupyterLab 4 otherwise renders only the cells in view).
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    (settings / "tracker.jupyterlab-settings").write_text('{"windowingMode": "none"}')
    port = _free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "HOME": str(home)}
    server = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.allow_root=True",
         "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={ROOT}",
         f"--LabApp.user_settings_dir={home / 'settings'}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "w"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start:\n{(home / 'server.log').read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


def test_chapter_renders_theorems_and_exercises_in_jupyterlab(lab, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(f"{lab}/lab/tree/{CHAPTER}")
    page.wait_for_selector(".jp-Notebook .jp-MarkdownCell", timeout=90_000)
    page.wait_for_function("() => document.querySelectorAll("
                           "'.jp-Notebook .jp-MarkdownCell .myst').length >= 10", timeout=60_000)
    page.wait_for_timeout(1000)
    # jupyterlab-myst renders each Markdown cell into a ``.myst`` block; a theorem or an
    # exercise is an ``aside`` with a header ("Theorem 1 (…)", "Exercise 1 (…)").
    rendered = page.evaluate("""() => Array.from(
        document.querySelectorAll('.jp-Notebook .jp-MarkdownCell .myst')).map(e => e.innerText)""")
    blocks = page.evaluate("""() => Array.from(
        document.querySelectorAll('.jp-Notebook .jp-MarkdownCell aside'))
        .map(e => e.className.split(' ')[0] + ' :: ' + e.innerText.trim().slice(0, 80))""")
    page.close()
    assert len(rendered) >= 10, f"only {len(rendered)} Markdown cells rendered by jupyterlab-myst"
    text = "\n".join(rendered)
    for raw in ("{prf:theorem}", "{prf:corollary}", "{exercise}", "{solution}"):
        assert raw not in text, f"raw MyST {raw!r} shown in JupyterLab"
    theorems = [b for b in blocks if " :: Theorem " in b]
    exercises = [b for b in blocks if " :: Exercise " in b]
    assert theorems, f"no theorem block rendered; blocks: {blocks[:10]}"
    assert exercises, f"no exercise block rendered; blocks: {blocks[:10]}"
