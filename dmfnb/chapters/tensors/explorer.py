"""The explorer of the chapter *Beyond matrices: tensor factorization*.

One run with the order, init std, number of observations and seed under the reader's control:
the component norms and the tensor rank over training.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from matplotlib.figure import Figure

from ...infra.plotting import interact
from . import figures
from .compute import Incremental, make_problem, train_tensor
from .params import Params

__all__ = ["explorer", "figure"]


def figure(p: Params, *, order: int | None = None, log10_std: float | None = None,
           observed: int | None = None, seed: int = 0) -> Figure:
    """One view: component norms and tensor rank of one run (``p.explorer_steps`` steps)."""
    q = dataclasses.replace(p, order=p.order if order is None else int(order))
    std = q.init_std if log10_std is None else 10.0 ** float(log10_std)
    m = q.observed if observed is None else int(observed)
    m = min(m, q.dim**q.order)
    problem = make_problem(q, m, seed)
    tr = train_tensor(q, [problem], [std], steps=q.explorer_steps, record=q.record_every)
    res = Incremental(truth_rank=q.truth_rank, threshold=q.rank_threshold,
                      truth_norm=q.truth_norm, steps=tr.steps, loss=tr.loss, error=tr.error,
                      norms=tr.component_norms, unobserved=np.array([0.0]),
                      final_rank=np.array([0]))
    return figures.components(res)


def explorer(p: Params):
    """Interactive :func:`figure` (built on :func:`dmfnb.infra.plotting.interact`)."""
    std0 = float(np.log10(p.init_std))

    def draw(order=p.order, log10_std=std0, observed=p.observed, seed=0):
        return figure(p, order=order, log10_std=log10_std, observed=observed, seed=seed)

    return interact(draw, lambda w: dict(
        order=w.ToggleButtons(options=[2, 3, 4], value=p.order, description="order"),
        log10_std=w.FloatSlider(value=std0, min=-3.5, max=-0.5, step=0.25,
                                description="log10 std"),
        observed=w.IntSlider(value=p.observed, min=20, max=500, step=10,
                             description="observed"),
        seed=w.IntSlider(value=0, min=0, max=20, description="seed"),
    ), grid={"order": [2, 3, 4], "observed": sorted({p.observed // 2, p.observed})})
