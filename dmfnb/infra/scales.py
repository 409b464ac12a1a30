"""The one scale switch: ``DMFNB_SCALE`` picks every chapter's parameters.

``DMFNB_SCALE`` unset (or ``default``) picks sizes that run each chapter in about a minute on two
cores; ``DMFNB_SCALE=paper`` picks the authors' exact sizes where the paper gives them and
otherwise a larger instance. Each chapter's values live in ``dmfnb/chapters/<name>/params.py`` as a
frozen dataclass whose defaults are the default scale; its paper scale is built from it with
``dataclasses.replace``, so the paper block states only what differs.
"""

from __future__ import annotations

import importlib
import os

__all__ = ["SCALES", "current_scale", "params"]

SCALES = ("default", "paper")


def current_scale() -> str:
    """The scale chosen by the environment variable ``DMFNB_SCALE`` (default ``"default"``)."""
    scale = os.environ.get("DMFNB_SCALE", "default").strip().lower() or "default"
    if scale not in SCALES:
        raise ValueError(f"DMFNB_SCALE must be one of {SCALES}, got {scale!r}")
    return scale


def params(chapter: str, scale: str | None = None):
    """Parameters of ``chapter`` at ``scale`` (default: :func:`current_scale`).

    Returns the chapter's frozen ``Params`` dataclass for that scale (``p.scale`` names it),
    e.g. ``p = dmfnb.infra.scales.params("norms"); p.depths``.
    """
    from ..chapters import names

    scale = current_scale() if scale is None else scale
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if chapter not in names():
        raise ValueError(f"unknown chapter {chapter!r}; known: {names()}")
    module = importlib.import_module(f"dmfnb.chapters.{chapter}.params")
    return module.SCALES[scale]
