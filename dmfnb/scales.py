"""The one place that maps ``DMFNB_SCALE`` to every experiment's parameters.

``DMFNB_SCALE`` unset (or ``default``) picks sizes that run each chapter in about a minute on two
cores; ``DMFNB_SCALE=paper`` picks the authors' exact sizes. Each chapter owns one block below.
"""

from __future__ import annotations

import os
from types import MappingProxyType, SimpleNamespace

__all__ = ["SCALES", "current_scale", "params"]

SCALES = ("default", "paper")

_PARAMS = {
    # ---- chapter: How singular values move (book/singular_values.ipynb) ----
    "singular_values": {
        "default": {},
        "paper": {},
    },
    # ---- chapter: Depth and the low-rank bias (book/low_rank_bias.ipynb) ----
    "low_rank_bias": {
        "default": {},
        "paper": {},
    },
    # ---- chapter: One saddle per rank (book/saddles.ipynb) ----
    "saddles": {
        "default": {},
        "paper": {},
    },
    # ---- chapter: Reduced-rank regression (book/reduced_rank.ipynb) ----
    "reduced_rank": {
        "default": {},
        "paper": {},
    },
    # ---- chapter: Norms may not explain it (book/norms.ipynb) ----
    "norms": {
        "default": {},
        "paper": {},
    },
}


def current_scale() -> str:
    """The scale chosen by the environment variable ``DMFNB_SCALE`` (default ``"default"``)."""
    scale = os.environ.get("DMFNB_SCALE", "default").strip().lower() or "default"
    if scale not in SCALES:
        raise ValueError(f"DMFNB_SCALE must be one of {SCALES}, got {scale!r}")
    return scale


def params(experiment: str, scale: str | None = None) -> SimpleNamespace:
    """Parameters of ``experiment`` at ``scale`` (default: :func:`current_scale`).

    Returns a namespace, e.g. ``p = dmfnb.params("low_rank_bias"); p.depths``; ``p.scale`` names
    the scale used.
    """
    if experiment not in _PARAMS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {sorted(_PARAMS)}")
    scale = current_scale() if scale is None else scale
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    values = {**_PARAMS[experiment]["default"], **_PARAMS[experiment][scale]}
    return SimpleNamespace(scale=scale, **values)


PARAMS = MappingProxyType(_PARAMS)
