"""The explorer of the chapter *Norms may not explain implicit regularization*.

One run on the 2×2 problem with the depth, initialization scale and kind, step, sign
of det W(0) and stopping loss under the reader's control.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ...infra.plotting import interact
from . import figures
from .compute import make_problem, train_runs
from .params import Params

__all__ = ["GRID", "explorer", "figure"]

# The settings drawn in advance for the static page (the rest stay at their defaults).
GRID = {"depth": [2, 3], "det_sign": [1, -1]}


def figure(p: Params, *, depth: int = 3, log10_std: float | None = None,
           lr: float | None = None, det_sign: int = 1, init: str = "balanced",
           seed: int = 0, log10_tol: float = -3.0) -> Figure:
    """One view of the explorer: |W₁₁| and |det W| against the loss for one run.

    The run stops at loss 10^``log10_tol`` or after ``p.explorer_max_steps`` steps;
    ``log10_std`` and ``lr`` default to ``p.init_std`` and ``p.lr``.
    """
    std = p.init_std if log10_std is None else 10.0 ** float(log10_std)
    res = train_runs(p, make_problem(), depth, det_sign=det_sign, init=init,
                     lr=p.lr if lr is None else float(lr), tol=10.0 ** log10_tol,
                     max_steps=int(p.explorer_max_steps), runs=1, seed=seed,
                     std=std)
    return figures.trajectory(res)


def explorer(p: Params):
    """Interactive :func:`figure`: depth, init scale and kind, step, sign of det W(0).

    Built on :func:`dmfnb.infra.plotting.interact`, so it also runs headless.
    """
    std0 = float(np.log10(p.init_std))

    def draw(depth=3, log10_std=std0, lr=float(p.lr), det_sign=1, init="balanced",
             seed=0, log10_tol=-3.0):
        return figure(p, depth=depth, log10_std=log10_std, lr=lr, det_sign=det_sign,
                      init=init, seed=seed, log10_tol=log10_tol)

    return interact(draw, lambda w: dict(
        depth=w.ToggleButtons(options=[2, 3, 4], value=3, description="depth"),
        log10_std=w.FloatSlider(value=std0, min=-3.0, max=-0.5, step=0.1,
                                description="log10 std"),
        lr=w.FloatLogSlider(value=float(p.lr), base=10, min=-4, max=-1.5, step=0.1,
                            description="η"),
        det_sign=w.ToggleButtons(options=[("det > 0", 1), ("det < 0", -1)], value=1,
                                 description="det W(0)"),
        init=w.ToggleButtons(options=["balanced", "gaussian"], value="balanced",
                             description="init"),
        seed=w.IntSlider(value=0, min=0, max=20, description="seed"),
        log10_tol=w.FloatSlider(value=-3.0, min=-4.0, max=-1.0, step=0.5,
                                description="log10 tol"),
    ), grid=GRID)
