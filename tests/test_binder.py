"""Binder installs requirements.txt and nothing else: a fresh venv from it must run a chapter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "book" / "reduced_rank.ipynb"  # the quickest chapter (about 10 s)


@pytest.mark.skipif(not CHAPTER.exists(), reason="chapter not written yet")
def test_requirements_txt_alone_runs_a_chapter(tmp_path, monkeypatch):
    venv = tmp_path / "binder"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # pip resolves `-e .` against the working directory, as Binder does from the repository root.
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "-r", "requirements.txt"],
                   cwd=ROOT, check=True, capture_output=True)
    subprocess.run([str(py), "-m", "ipykernel", "install", "--prefix", str(venv), "--name",
                    "binder-test"], check=True, capture_output=True)
    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join(
        filter(None, [str(venv / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")])))
    nb = nbformat.read(CHAPTER, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="binder-test",
                   resources={"metadata": {"path": str(CHAPTER.parent)}}).execute()
    out = subprocess.run([str(py), "-c", "import dmfnb, sys; print(dmfnb.__file__)"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert Path(out.stdout.strip()).is_relative_to(ROOT), "the venv must use this checkout's dmfnb"
