"""The book's figure style: colour-blind-safe colours (Okabe & Ito), white backgrounds, readable text."""

from __future__ import annotations

import functools

import matplotlib as mpl

__all__ = ["COLORS", "depth_color", "interact", "use_book_style"]

# Okabe–Ito palette: distinguishable under the common colour-vision deficiencies.
COLORS = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}
_CYCLE = [COLORS[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]
_DEPTH = {1: COLORS["black"], 2: COLORS["orange"], 3: COLORS["blue"], 4: COLORS["green"],
          5: COLORS["purple"]}


def depth_color(depth: int) -> str:
    """One colour per depth, the same in every chapter."""
    return _DEPTH.get(depth, COLORS["vermillion"])


def use_book_style() -> None:
    """Set matplotlib defaults for the book (white figures that stay readable in dark mode)."""
    mpl.rcParams.update({
        "axes.prop_cycle": mpl.cycler(color=_CYCLE),
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "axes.facecolor": "white",
        "figure.dpi": 110,
        "figure.figsize": (7.0, 4.2),
        "font.size": 11,
        "axes.titlesize": 12,
        "axes.labelsize": 11,
        "legend.fontsize": 9.5,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "lines.linewidth": 1.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def interact(draw, controls):
    """An explorer: ``ipywidgets.interact`` over ``draw``, showing the figure it draws.

    ``controls`` receives the ipywidgets module and returns the keyword arguments of ``draw`` mapped
    to widgets. ``interact`` draws once at the defaults, so the explorer also runs headless (nbval,
    the book build); without ipywidgets it just shows the default figure and returns ``None``.
    """
    import matplotlib.pyplot as plt

    @functools.wraps(draw)
    def show(**kwargs):
        draw(**kwargs)
        plt.show()

    try:
        import ipywidgets as w
    except ImportError:
        show()
        return None
    return w.interact(show, **controls(w))
