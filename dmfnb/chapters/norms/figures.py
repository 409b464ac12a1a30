"""The figures of the chapter *Norms may not explain implicit regularization*.

Every figure is drawn at the book's column width (7 in) with at most two panels in a
row; the loss axis is reversed, so training reads left to right.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ...infra.plotting import COLORS, depth_color
from .compute import Runs

__all__ = ["entry_vs_loss", "negative", "norms", "perturbed", "schatten",
           "sigma2", "trajectory"]

WIDTH = 7.0
LOSS = r"loss $\ell$ ($\frac{1}{2}\sum$ squared errors)"
W11 = r"$|W_{11}|$"
CURVE = r"$1/\sqrt{2\ell}$"


def _curve(ax, low: float, high: float = 0.5) -> None:
    grid = np.geomspace(max(low, 1e-8), high, 100)
    ax.plot(grid, 1 / np.sqrt(2 * grid), "--", color="0.35", lw=1.2, label=CURVE,
            zorder=2)


def _entry_axes(ax, res: Runs, run: int = 0, *, reference: bool = True):
    """|W₁₁| of one run against the loss, coloured by iteration, on ``ax``."""
    steps = np.maximum(res.steps, 1)
    loss, w11 = res.loss[:, run], np.abs(res.w11[:, run])
    keep = loss > 0
    sc = ax.scatter(loss[keep], w11[keep], c=steps[keep], s=9, cmap="viridis",
                    norm=LogNorm(vmin=1, vmax=max(steps.max(), 10)), zorder=3)
    if reference:
        _curve(ax, loss.min())
        ax.legend(loc="upper left")
    ax.set(xscale="log", yscale="log", xlabel=LOSS, ylabel=W11,
           title=f"depth {res.depth}")
    ax.invert_xaxis()
    return sc


def entry_vs_loss(runs: Mapping[int, Runs], run: int = 0) -> Figure:
    """|W₁₁| against the loss for one seed per depth, two panels per row."""
    n = len(runs)
    rows = (n + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(WIDTH, 3.3 * rows + 0.4),
                             sharey=True, squeeze=False, layout="constrained")
    sc = None
    for ax, res in zip(axes.flat, runs.values(), strict=False):
        sc = _entry_axes(ax, res, run)
        ax.set_ylim(1e-3, 200)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes[:, 1]:
        ax.set_ylabel("")
    if sc is not None:
        fig.colorbar(sc, ax=axes.ravel().tolist(), label="iteration", shrink=0.8)
    return fig


def norms(runs: Mapping[int, Runs], run: int = 0) -> Figure:
    """‖W‖_F, ‖W‖_* (left) and effective rank − 1 (right) against the loss, per depth."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    for d, res in runs.items():
        loss, c = res.loss[:, run], depth_color(d)
        a1.plot(loss, res.frobenius[:, run], color=c)
        a1.plot(loss, res.nuclear[:, run], color=c, ls=":")
        a2.plot(loss, res.effective_rank[:, run] - 1, color=c)
    for ax in (a1, a2):
        ax.set(xscale="log", yscale="log", xlabel=LOSS)
        ax.invert_xaxis()
    a1.set(ylabel="norm of $W$", title="norms")
    a2.set(ylabel="effective rank − 1", title="effective rank")
    styles = [Line2D([], [], color="0.3", label=r"$\|W\|_F$"),
              Line2D([], [], color="0.3", ls=":", label=r"$\|W\|_*$")]
    # both legends in the left panel's empty corners: the right panel's curves fill it
    a1.add_artist(a1.legend(handles=styles, loc="upper left"))
    a1.legend(handles=[Line2D([], [], color=depth_color(d), label=f"depth {d}")
                       for d in runs], loc="lower right")
    return fig


def _p_label(p: float) -> str:
    # mathtext fractions for 1/2 and 2/3; the norms p = 1, 2 named
    name = {1.0: " (nuclear)", 2.0: " (Frobenius)"}.get(float(p), "")
    for num, den in ((1, 2), (2, 3)):
        if np.isclose(p, num / den):
            return rf"$p = {num}/{den}$"
    return rf"$p = {p:g}$" + name


def schatten(runs: Mapping[int, Runs], ps: tuple[float, ...], run: int = 0,
             depths: tuple[int, ...] | None = None) -> Figure:
    """Schatten-p (quasi-)norms of W against the loss, one panel per depth (two at most).

    By default the first depth ≥ 3 (its determinant kept) beside depth 2 (flipped):
    the first follows 1/√(2ℓ) for every p, the second levels off.
    """
    if depths is None:
        deep = [d for d in runs if d >= 3]
        depths = tuple(deep[:1]) + ((2,) if 2 in runs else ())
    depths = tuple(depths)[:2]
    colors = [COLORS[c] for c in ("vermillion", "purple", "blue", "green", "orange",
                                  "sky")]
    fig, axes = plt.subplots(1, min(2, len(depths)), figsize=(WIDTH, 3.9), sharey=True,
                             squeeze=False, layout="constrained")
    for ax, d in zip(axes[0], depths, strict=True):
        res = runs[d]
        loss = res.loss[:, run]
        for k, p in enumerate(ps):
            ax.plot(loss, res.schatten(p)[:, run], color=colors[k % len(colors)],
                    ls=("-", "--", "-.", ":")[k % 4], lw=1.6, label=_p_label(p))
        _curve(ax, float(loss.min()), 1.0)
        kept = "kept" if res.kept()[run] else "flipped"
        ax.set(xscale="log", yscale="log", xlabel=LOSS,
               title=rf"depth {d}: $\det W$ {kept}")
        ax.invert_xaxis()
    axes[0, 0].set_ylabel("Schatten-$p$ (quasi-)norm of $W$")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    # one legend under both panels: the curves fill the upper right of each
    fig.legend(handles, labels, loc="outside lower center", ncol=3,
               title=r"Schatten-$p$: $\|W\|_{S_p} = (\sigma_1^p + \sigma_2^p)^{1/p}$")
    return fig


def sigma2(runs: Mapping[int, Runs], run: int = 0) -> Figure:
    """σ₂(W) against iterations per depth; crosses where det W has flipped sign."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2), layout="constrained")
    for d, res in runs.items():
        s, c = res.sigma2(run), depth_color(d)
        ax.plot(res.steps, s, color=c, label=f"depth {d}")
        flips = res.flips(run)
        if flips.size:
            ax.plot(res.steps[flips], s[flips], "x", color=c, ms=6,
                    label=f"depth {d}: " + r"$\det W < 0$")
    ax.set(xscale="log", yscale="log", xlabel="iteration",
           ylabel=r"$\sigma_2(W)$ (smaller singular value)", ylim=(1e-10, 10))
    ax.legend(loc="lower left")
    return fig


def negative(positive: Runs, negative: Runs) -> Figure:
    """|W₁₁| against the loss at one depth from det W(0) > 0 and from det W(0) < 0."""
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2), layout="constrained")
    for b in range(positive.count):
        ax.plot(positive.loss[:, b], np.abs(positive.w11[:, b]), color=COLORS["blue"],
                label=r"$\det W(0) > 0$" if b == 0 else None)
    for b in range(negative.count):
        ax.plot(negative.loss[:, b], np.abs(negative.w11[:, b]),
                color=COLORS["vermillion"],
                label=r"$\det W(0) < 0$" if b == 0 else None)
    _curve(ax, float(negative.loss[-1].min()))
    ax.set(xscale="log", yscale="log", xlabel=LOSS, ylabel=W11, ylim=(1e-6, 1e3),
           title=f"depth {positive.depth}, {positive.count} seeds each")
    ax.invert_xaxis()
    ax.legend(loc="upper left")
    return fig


def perturbed(runs: Mapping[float, Runs]) -> Figure:
    """−W₁₁ against the loss for the first converged run of each ε; 1/ε dashed."""
    colors = [COLORS[c] for c in ("blue", "orange", "green", "vermillion", "purple",
                                  "sky")]
    fig, ax = plt.subplots(figsize=(WIDTH, 4.2), layout="constrained")
    shown = []
    for k, (eps, res) in enumerate(runs.items()):
        ok = np.flatnonzero(res.converged)
        if ok.size == 0:
            continue
        c, b = colors[k % len(colors)], int(ok[0])
        ax.plot(res.loss[:, b], -res.w11[:, b], color=c,
                label=rf"$\varepsilon = {eps:g}$ (run {b})")
        ax.axhline(1 / eps, color=c, ls="--", lw=1)
        shown.append(eps)
    depth = next(iter(runs.values())).depth
    ax.set(xscale="log", yscale="log", ylim=(1e-2, 3 / min(shown, default=1.0)),
           xlabel=LOSS, ylabel=r"$-W_{11}$",
           title=r"target $[[\ast, -2], [0.5, \varepsilon]]$, $\det W(0) < 0$, "
           f"depth {depth}")
    ax.invert_xaxis()
    ax.legend(loc="upper left")
    return fig


def trajectory(res: Runs, run: int = 0) -> Figure:
    """One run: |W₁₁| against the loss (left) and |det W| with flipped records (right)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(WIDTH, 3.6), layout="constrained")
    sc = _entry_axes(a1, res, run)
    # one colour bar at the figure's edge, so neither panel's labels collide with it
    fig.colorbar(sc, ax=[a1, a2], label="iteration", shrink=0.9)
    loss, det = res.loss[:, run], res.det[:, run]
    a2.plot(loss, np.abs(det), color="k")
    flips = res.flips(run)
    a2.plot(loss[flips], np.abs(det[flips]), "x", color=COLORS["vermillion"],
            label=f"sign flipped ({len(flips)} records)")
    sign = ">" if res.det_sign > 0 else "<"
    a2.set(xscale="log", yscale="log", xlabel=LOSS, ylabel=r"$|\det W|$",
           title=rf"$\det W(0) {sign} 0$, {res.init}, "
                 f"{int(res.stop_step[run]):,} steps")
    a2.invert_xaxis()
    a2.legend(loc="lower center")
    return fig
