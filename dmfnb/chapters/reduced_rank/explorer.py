"""The explorer of *Reduced-rank regression*: ε, η / η_crit, the rotation θ and the depth."""

from __future__ import annotations

from matplotlib.figure import Figure

from ...infra.plotting import interact
from . import compute, figures

__all__ = ["GRID", "explorer", "figure"]

# The settings drawn in advance for the static page (the rest stay at their defaults).
GRID = {"log10_eps": [-8.0, -4.0], "rotation": [0.0, 1.0], "depth": [1, 2]}


def figure(p, *, log10_eps: float = -8.0, lr_fraction: float | None = None,
           rotation: float = 0.0, depth: int = 2) -> Figure:
    """One view of the explorer: excess loss and distance to each Ŵ_k against
    iterations / ln(1/ε).

    Parameters
    ----------
    p
        The chapter's parameters.
    log10_eps
        log₁₀ of the initial scale ε.
    lr_fraction
        η over the stability limit (default ``p.lr_fraction``).
    rotation
        Angle θ of Σ_x away from the modes (0: the assumption holds).
    depth
        1: the linear model; 2: the two-layer network.
    """
    ex = compute.explore(p, log10_eps=log10_eps, lr_fraction=lr_fraction, rotation=rotation,
                         depth=depth)
    return figures.explorer(ex)


def explorer(p):
    """Interactive :func:`figure`: sliders for ε, η / η_crit and θ, buttons for the depth.

    Built on :func:`dmfnb.infra.plotting.interact`, so it also runs headless.
    """

    def draw(log10_eps=-8.0, lr_fraction=float(p.lr_fraction), rotation=0.0, depth=2):
        return figure(p, log10_eps=log10_eps, lr_fraction=lr_fraction, rotation=rotation,
                      depth=depth)

    return interact(draw, lambda w: dict(
        log10_eps=w.FloatSlider(value=-8.0, min=-12.0, max=-1.0, step=0.5,
                                description="log10 ε"),
        lr_fraction=w.FloatSlider(value=float(p.lr_fraction), min=0.05, max=1.1, step=0.05,
                                  description="η / η_crit"),
        rotation=w.FloatSlider(value=0.0, min=0.0, max=2.0, step=0.1, description="rotation θ"),
        depth=w.ToggleButtons(options=[1, 2], value=2, description="depth"),
    ), grid=GRID)
