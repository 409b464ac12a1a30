"""The chapter's explorer: one staircase with your depth, rank, initialization and ratio."""

from __future__ import annotations

import dataclasses

from matplotlib.figure import Figure

from ...infra.plotting import interact
from . import figures
from .compute import run_staircase

__all__ = ["GRID", "explorer", "figure"]

# The settings drawn in advance for the static page (the rest stay at their defaults).
GRID = {"depth": [2, 3], "rank": [1, 3]}


def figure(p, depth: int = 3, rank: int = 3, log10_scale: float = -5.0,
           ratio: float = 2.0) -> Figure:
    """Run one staircase (depth, target rank, init 10^log10_scale, σ ratio) and draw it.

    The run uses ``p``'s steps, step size and detector at that depth; the title reports the
    detected drops and the final numerical rank.
    """
    q = dataclasses.replace(p, ratio=ratio, ranks=(rank,),
                            init_scale={**p.init_scale, depth: 10.0 ** log10_scale})
    res = run_staircase(q, depth)
    run = res.runs[0]
    fig = figures.staircase(res)
    fig.suptitle(f"depth {depth}, rank {rank}, init 1e{log10_scale:g}, ratio {ratio:g}: "
                 f"{run.count} drops, final rank {run.final_rank}", fontsize=10)
    fig.tight_layout()
    return fig


def explorer(p):
    """Interactive staircase: depth, target rank, init scale and singular-value ratio.

    Built on :func:`dmfnb.infra.plotting.interact`, so it also runs headless.
    """

    def draw(depth=3, rank=3, log10_scale=-5.0, ratio=2.0):
        return figure(p, depth, rank, log10_scale, ratio)

    return interact(draw, lambda w: dict(
        depth=w.IntSlider(value=3, min=2, max=4, description="depth"),
        rank=w.IntSlider(value=3, min=1, max=5, description="rank R"),
        log10_scale=w.FloatSlider(value=-5.0, min=-8.0, max=-2.0, step=0.5,
                                  description="log₁₀ init"),
        ratio=w.FloatSlider(value=2.0, min=1.2, max=4.0, step=0.1, description="σ ratio"),
    ), grid=GRID)
