"""The chapter's explorer: one training on the small instance, with sliders."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ...infra.plotting import interact
from . import figures
from .compute import explorer_run
from .params import Params

__all__ = ["explorer", "figure"]


def figure(p: Params, *, observations: int | None = None, depth: int = 3,
           log10_init: float = -3.0, kind: str = "completion") -> Figure:
    """The explorer's figure for one setting of its controls (defaults: its initial state).

    Parameters
    ----------
    p
        The chapter's parameters (``p.small`` is the instance).
    observations
        Number of observed entries or measurements (default ``p.small.explorer_observations``).
    depth
        Depth of the factorization.
    log10_init
        log10 of the initialization scale.
    kind
        ``"completion"`` or ``"sensing"``.
    """
    run = explorer_run(p, observations=observations, depth=depth,
                       init_scale=10.0 ** log10_init, kind=kind)
    return figures.explorer_view(run)


def explorer(p: Params):
    """Interactive :func:`figure`: observations, depth, init scale, completion or sensing.

    Built on :func:`dmfnb.infra.plotting.interact`, so it also runs headless.
    """
    m0 = int(p.small.explorer_observations)
    n = int(np.prod(p.small.shape))

    def draw(observations=m0, depth=3, log10_init=-3.0, kind="completion"):
        return figure(p, observations=observations, depth=depth, log10_init=log10_init,
                      kind=kind)

    return interact(draw, lambda w: dict(
        observations=w.IntSlider(value=m0, min=max(10, n // 20), max=n // 2, step=5,
                                 description="observations", continuous_update=False),
        depth=w.ToggleButtons(options=[1, 2, 3, 4], value=3, description="depth"),
        log10_init=w.FloatSlider(value=-3.0, min=-6.0, max=0.0, step=0.5,
                                 description="log10 init", continuous_update=False),
        kind=w.ToggleButtons(options=["completion", "sensing"], value="completion",
                             description="task"),
    ), grid={"observations": sorted({m0 // 2, m0, 2 * m0}), "depth": [2, 3]})
