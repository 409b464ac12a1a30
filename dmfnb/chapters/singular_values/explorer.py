"""Explorer of the scalar mode ODE du/dt = N u^{2−2/N}(s − u): depth, u₀ and s as sliders."""

from __future__ import annotations

from matplotlib.figure import Figure

from ...infra.plotting import interact
from . import compute, figures

__all__ = ["GRID", "explorer", "figure"]

# The settings drawn in advance for the static page (the rest stay at their defaults).
GRID = {"depth": [1, 2, 3, 4], "log10_init": [-6.0, -3.0, -1.0], "strength": [1.0, 2.0]}


def figure(p, depth: int | None = None, log10_init: float | None = None,
           strength: float | None = None, log_time: bool = False) -> Figure:
    """The explorer's figure: u(t) at ``depth`` (bold), the depths of ``p.explorer.others``
    faint, and the predicted lift time (dotted).

    Parameters
    ----------
    p
        The chapter's parameters; ``None`` controls take ``p.explorer``'s values.
    depth, log10_init, strength
        N, log₁₀ u₀ and s.
    log_time
        Logarithmic time axis, for waits that span decades.

    Returns
    -------
    Figure
    """
    q = p.explorer
    depth = q.depth if depth is None else depth
    log10_init = q.log10_init if log10_init is None else log10_init
    strength = q.strength if strength is None else strength
    curves = compute.mode_curves(p, depth, 10.0 ** log10_init, strength, log_time=log_time)
    return figures.modes(curves)


def explorer(p):
    """Sliders for depth, log₁₀ u₀ and s, and a log-time checkbox, over :func:`figure`.

    Each change integrates the scalar ODE afresh (milliseconds). Works headless: building it
    draws the figure once at ``p.explorer``'s values.
    """
    q = p.explorer

    def draw(depth: int, log10_init: float, strength: float, log_time: bool) -> Figure:
        return figure(p, depth, log10_init, strength, log_time)

    def controls(w) -> dict:
        return {
            "depth": w.IntSlider(value=q.depth, min=1, max=6, description="depth N"),
            "log10_init": w.FloatSlider(value=q.log10_init, min=-8, max=-1, step=0.5,
                                        description="log₁₀ u₀"),
            "strength": w.FloatSlider(value=q.strength, min=0.25, max=4, step=0.25,
                                      description="strength s"),
            "log_time": w.Checkbox(value=False, description="log time axis"),
        }

    return interact(draw, controls, grid=GRID)
