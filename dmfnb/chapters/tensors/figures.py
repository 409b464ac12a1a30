"""The figures of the chapter *Beyond matrices: tensor factorization*.

Every figure is drawn at the book's column width (7 in) with at most two panels in a row.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, NullFormatter

from ...infra.plotting import COLORS
from .compute import Incremental, Recovery, TheoremCheck

__all__ = ["components", "init_scale", "law", "observations"]

WIDTH = 7.0


def components(res: Incremental, run: int = 0) -> Figure:
    """Left: the largest component norms of one run; right: the rank of every run."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(WIDTH, 3.2), layout="constrained")
    top = res.top()[:, run]
    for k in range(top.shape[1]):
        ax.plot(res.steps, top[:, k], lw=1.6, label=f"#{k + 1}")
    ax.axhline(res.threshold * res.truth_norm, color="0.4", ls=":", lw=1)
    ax.set(yscale="log", xlabel="iteration", ylabel=r"component norm $\|W_r\|$",
           title=f"run {run}: largest components")
    # Below the axes: the plateaus of the later components fill the lower right at every scale.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=min(top.shape[1], 7),
              fontsize=8, frameon=False, handlelength=1.2, columnspacing=1.0)
    rank = res.rank()
    for b in range(res.count):
        bx.step(res.steps, rank[:, b], where="post", lw=1.4, label=f"run {b}")
    bx.axhline(res.truth_rank, color="0.4", ls="--", lw=1, label="CP rank of W*")
    bx.set(xlabel="iteration", ylabel="significant components", title="tensor rank")
    bx.legend(loc="lower right", fontsize=8)
    bx.yaxis.set_major_locator(MaxNLocator(integer=True))
    for a in (ax, bx):
        # 10⁵ steps at the paper scale: a ×10⁵ offset instead of colliding six-digit labels
        a.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4), useMathText=True)
    return fig


def law(res: TheoremCheck) -> Figure:
    """Measured Δγ/η against the balanced law, balanced starts (left) and Gaussian (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.2), layout="constrained")
    markers = "os^Dv"
    for j, (ax, start) in enumerate(zip(axes, res.STARTS, strict=True)):
        lim = 0.0
        for k, N in enumerate(res.orders):
            x, y = res.balanced_law[k, j], res.measured[k, j]
            ax.scatter(x, y, marker=markers[k % 5], s=28, label=f"N = {N}")
            lim = max(lim, float(np.max(np.abs(np.concatenate([x, y])))))
        ax.plot([-lim, lim], [-lim, lim], color="0.4", lw=1, ls="--")
        ax.set(xlabel=r"law $-N\gamma^{2-2/N}\langle\nabla\ell,\hat W_r\rangle$",
               ylabel=r"measured $\Delta\gamma/\eta$", title=f"{start} start")
        ax.legend(fontsize=8)
    return fig


def observations(res: Recovery) -> Figure:
    """Unobserved error against the number of observations: CP factorization and baseline."""
    fig, ax = plt.subplots(figsize=(WIDTH * 0.62, 3.2), layout="constrained")
    for which, color, label in (("tensor", COLORS["blue"], "CP factorization"),
                                ("matrix", COLORS["orange"], "matrix factorization of "
                                 "the unfolding")):
        vals = getattr(res, which)
        for b in range(vals.shape[1]):
            ax.scatter(res.values, vals[:, b], color=color, s=12, alpha=0.5)
        ax.plot(res.values, res.median(which), color=color, marker="o", label=label)
    ax.set(yscale="log", xlabel="observed entries", ylabel="error on unobserved entries")
    ax.legend(fontsize=8)
    return fig


def init_scale(res: Recovery) -> Figure:
    """Unobserved error (left) and tensor rank (right) against the init std."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(WIDTH, 3.0), layout="constrained")
    for b in range(res.tensor.shape[1]):
        ax.scatter(res.values, res.tensor[:, b], color=COLORS["blue"], s=12, alpha=0.5)
        bx.scatter(res.values, res.rank[:, b], color=COLORS["green"], s=12, alpha=0.5)
    ax.plot(res.values, res.median("tensor"), color=COLORS["blue"], marker="o")
    bx.plot(res.values, res.rank.mean(axis=1), color=COLORS["green"], marker="o")
    ax.set(xscale="log", yscale="log", xlabel="init std", ylabel="error on unobserved entries")
    bx.set(xscale="log", xlabel="init std", ylabel="tensor rank (final)")
    bx.yaxis.set_major_locator(MaxNLocator(integer=True))
    for a in (ax, bx):
        # the swept stds as the ticks: within a decade the log axis labels its minor ticks,
        # which collide
        a.set_xticks(res.values, [f"{v:g}" for v in res.values])
        a.xaxis.set_minor_formatter(NullFormatter())
    return fig
