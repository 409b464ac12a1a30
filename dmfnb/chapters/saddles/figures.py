"""Figures of the chapter *R saddles for rank R*, each drawn at the book's column width."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ...infra.plotting import COLORS, depth_color
from .compute import CriticalPoints, CurvaturePath, GlrlComparison, NuclearComparison, Staircase

__all__ = ["curvature", "glrl", "losses", "nuclear", "spectrum", "staircase"]

_PALETTE = [COLORS[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky")]


def losses(stair: Mapping[int, Staircase]) -> Figure:
    """One panel per depth (two per row): every rank's loss, the ends of its drops marked."""
    depths = list(stair)
    rows = (len(depths) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(7, 3.0 * rows), sharey=True, squeeze=False)
    flat = axes.ravel()
    for ax, depth in zip(flat, depths, strict=False):
        res = stair[depth]
        t = np.maximum(res.steps, 1)
        for i, run in enumerate(res.runs):
            color = _PALETTE[i % len(_PALETTE)]
            drops = f"{run.count} drop" + ("s" if run.count != 1 else "")
            ax.loglog(t, run.loss, color=color, label=f"$R = {run.rank}$ ({drops})")
            ends = run.drops[:, 1]
            ax.plot(t[ends], run.loss[ends], "v", color=color, ms=4)
        ax.set_title(rf"depth {depth}, init {res.init_scale:.0e}, $\eta = {res.lr:g}$",
                     fontsize=10)
        ax.legend(fontsize=8, loc="lower left")
    for ax in flat[len(depths):]:
        # The spare panel explains the markers instead of covering data.
        ax.axis("off")
        ax.legend(handles=[Line2D([], [], marker="v", ls="", color=COLORS["black"],
                                  label="end of a detected drop")], loc="center")
    for ax in axes[-1]:
        ax.set_xlabel("iteration")
    if len(depths) % 2:
        flat[len(depths) - 2].set_xlabel("iteration")
    for ax in axes[:, 0]:
        ax.set_ylabel(r"loss $\frac{1}{2}\|W - W^*\|_F^2$")
    fig.tight_layout()
    return fig


def staircase(res: Staircase, rank: int | None = None) -> Figure:
    """Loss (top) and singular values with the numerical rank (bottom) of one run, drops shaded.

    ``rank`` picks the run (default: the highest rank).
    """
    run = res.runs[-1] if rank is None else res.run(rank)
    fig, axes = plt.subplots(2, 1, figsize=(7, 5.6), sharex=True)
    ax1, ax2 = axes
    t = np.maximum(res.steps, 1)
    ax1.loglog(t, run.loss, color=depth_color(res.depth), label=f"depth {res.depth}")
    for a, b in run.drops:
        for ax in axes:
            ax.axvspan(t[a], t[b], color=COLORS["sky"], alpha=0.25, lw=0)
    for k, i in enumerate(run.plateaus):
        ax1.plot(t[i], run.loss[i], "o", color=COLORS["vermillion"], ms=6,
                 label="plateau (Hessian taken)" if k == 0 else None)
    ax1.set_ylabel("training loss")
    ax1.legend(loc="lower left")
    R = run.rank
    sv = run.singular_values
    for i in range(min(R + 2, sv.shape[1])):
        ax2.loglog(t, sv[:, i], color=COLORS["black"] if i < R else COLORS["orange"],
                   lw=1.4, alpha=0.9 if i < R else 0.6)
    ax2.axhline(run.rank_threshold, color=COLORS["purple"], ls="--", lw=1,
                label="rank threshold")
    ax2.set_ylim(bottom=max(sv[:, : R + 2].min() * 0.5, 1e-12))
    ax2.set_ylabel(r"singular values $\sigma_i(W)$")
    ax2.set_xlabel("iteration")
    twin = ax2.twinx()
    twin.step(t, run.numerical_rank, where="post", color=COLORS["vermillion"], lw=1.6)
    twin.set_ylabel("numerical rank", color=COLORS["vermillion"])
    twin.set_yticks(range(R + 1))
    twin.set_ylim(-0.2, R + 0.5)
    twin.grid(False)
    ax2.legend(loc="upper left")
    fig.tight_layout()
    return fig


def curvature(path: Mapping[int, CurvaturePath]) -> Figure:
    """The smallest Hessian eigenvalue along each depth's trajectory (symmetric-log axis)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for depth, d in path.items():
        ax.plot(np.maximum(d.steps, 1), d.lambda_min, "o-", ms=3, color=depth_color(depth),
                label=f"depth {depth}")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_ylim(top=1e-3)
    ax.axhline(0, color=COLORS["black"], lw=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$\lambda_{\min}(\nabla^2 L)$")
    rank = next(iter(path.values())).rank
    ax.set_title(f"rank-{rank} target: smallest Hessian eigenvalue along the run")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


def glrl(cmp: GlrlComparison) -> Figure:
    """Top: distance of the GD path to each GLRL stage (smallest scale). Bottom: the worst
    closest approach to an intermediate stage against the scale, with fitted slopes."""
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 7.2))
    styles = ["-", "--", ":", "-."]
    for depth, d in cmp.depths.items():
        t = np.maximum(d.steps, 1)
        for r in range(d.distance.shape[1]):
            ax1.loglog(t, d.distance[-1, r], styles[r % 4], color=depth_color(depth),
                       label=rf"depth {depth}, stage $W_{r + 1}$")
        ax2.loglog(cmp.scales, d.plateau_distance, "o-", color=depth_color(depth),
                   label=f"depth {depth} (slope {d.slope:.2f})")
    ax1.set_xlabel("iteration")
    ax1.set_ylabel(r"$\|W_{\mathrm{GD}}(t) - W_r\|_F \,/\, \|W^*\|_F$")
    ax1.set_title(rf"initialization $\alpha = {_tex_power(cmp.scales[-1])}$", fontsize=10)
    ax1.legend(fontsize=8, ncol=2, loc="lower left")
    ax2.set_xlabel(r"initialization scale $\alpha = \|W(0)\|_2$")
    ax2.set_ylabel(r"$\max_{r<R}\, \min_t \|W(t) - W_r\|_F \,/\, \|W^*\|_F$")
    ax2.legend(loc="lower right")
    ax2.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def spectrum(crit: CriticalPoints, k: int = 2) -> Figure:
    """Every Hessian eigenvalue, sorted, at the origin (left) and at the balanced W_k (right),
    one curve per depth (symmetric-log axis)."""
    fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), sharey=True)
    for ax, kk in zip(axes, (0, k), strict=True):
        for depth in crit.depths():
            c = crit.at(depth)[kk]
            ax.plot(np.arange(1, c.eigenvalues.size + 1), c.eigenvalues, ".-", ms=2, lw=1,
                    color=depth_color(depth), label=f"depth {depth}")
        ax.set_yscale("symlog", linthresh=1e-2)
        ax.axhline(0, color=COLORS["black"], lw=0.6)
        ax.set_xlabel("eigenvalue index (ascending)")
        ax.set_title("origin ($W = 0$)" if kk == 0 else rf"balanced $W_{{{kk}}}$", fontsize=10)
    axes[0].set_ylabel(r"Hessian eigenvalue $\lambda_i(\nabla^2 L)$")
    axes[1].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def nuclear(nn: NuclearComparison, name: str = "sparse") -> Figure:
    """tr W at the end of gradient descent against α, per depth, with GLRL's limit and the
    minimum trace as horizontal lines."""
    i = nn[name]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for depth, tr in i.gd_traces.items():
        ax.semilogx(i.scales, tr, "o-", color=depth_color(depth), label=f"GD, depth {depth}")
    ax.axhline(i.glrl_trace, color=COLORS["black"], ls="--", lw=1,
               label="GLRL's limit")
    ax.axhline(i.min_trace, color=COLORS["vermillion"], ls=":", lw=1.5,
               label=r"min $\mathrm{tr}\,X$ over PSD fits")
    ax.invert_xaxis()
    ax.set_xlabel(r"initialization scale $\alpha$ (shrinking to the right)")
    ax.set_ylabel(r"$\mathrm{tr}\,W = \|W\|_*$ at the end")
    ax.set_title(f"{i.pairs} observed pairs", fontsize=10)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    return fig


def _tex_power(x: float) -> str:
    # 1e-06 → 10^{-6} for mathtext.
    mantissa, exponent = f"{x:.0e}".split("e")
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa} \times {power}"
