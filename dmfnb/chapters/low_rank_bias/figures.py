"""Figures of *Depth strengthens the low-rank bias*, each a matplotlib ``Figure`` at the column's
width (≤ 7 in, at most two panels in a row), in the book's Okabe–Ito colours."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ...infra.plotting import COLORS, depth_color
from .compute import (
    Conjecture,
    ExplorerRun,
    InstanceStudy,
    OptimizerComparison,
    Sweep,
    typical,
)

__all__ = ["conjecture", "explorer_view", "instances", "optimizers", "sweep", "sweeps"]

_ERROR = r"error $\|W-W^*\|_F^2/\|W^*\|_F^2$"


def _draw_sweep(ax, sw: Sweep, *, recover: float = 1e-3, fail: float = 1e-2) -> None:
    """Error against m / r(2n − r): median over ground truths (line), min–max band; hollow
    markers where some run had not reached the loss tolerance."""
    x = np.asarray(sw.ratios)
    for d in sw.depths:
        e, c = sw.errors(int(d)), depth_color(int(d))
        ax.plot(x, typical(e), "o-", color=c, label=f"depth {d}")
        ax.fill_between(x, e.min(axis=0), e.max(axis=0), color=c, alpha=0.18, lw=0)
        open_ = ~sw.converged_at(int(d)).all(axis=0)
        if open_.any():
            ax.plot(x[open_], typical(e)[open_], "o", mfc="white", color=c)
    if sw.has_nuclear:
        e = sw.nn_error
        ax.plot(x, typical(e), "s--", color=COLORS["vermillion"], label="min nuclear norm")
        ax.fill_between(x, e.min(axis=0), e.max(axis=0), color=COLORS["vermillion"],
                        alpha=0.12, lw=0)
    ax.axhspan(1e-12, recover, color=COLORS["green"], alpha=0.06, lw=0)
    ax.axhline(recover, color="0.4", lw=0.8, ls=":")
    ax.axhline(fail, color="0.4", lw=0.8, ls=":")
    dof = sw.dof
    ax.set(yscale="log", ylim=(1e-7, 20), xlabel=r"observations $m\,/\,r(2n-r)$",
           ylabel=_ERROR, title=f"{sw.kind}, {sw.shape[0]}×{sw.shape[1]}, rank {sw.rank}")
    top = ax.secondary_xaxis("top", functions=(lambda r: r * dof, lambda k: k / dof))
    top.set_xlabel("observations $m$", fontsize=9)


def _legend_below(fig: Figure, ax, height: float) -> None:
    # The bands fill the axes down to the recovered errors: the legend goes below the panels.
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8.5, frameon=False)
    fig.tight_layout(rect=(0, height, 1, 1))


def sweep(sw: Sweep) -> Figure:
    """One sweep's error against the number of observations (the reproduce command's figure)."""
    fig, ax = plt.subplots(figsize=(7, 4.6))
    _draw_sweep(ax, sw)
    _legend_below(fig, ax, 0.07)
    return fig


def sweeps(completion: Sweep, sensing: Sweep) -> Figure:
    """Both sweeps, completion above sensing."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(7, 8.6))
    _draw_sweep(a1, completion)
    _draw_sweep(a2, sensing)
    _legend_below(fig, a1, 0.04)
    return fig


def conjecture(conj: Conjecture) -> Figure:
    """Against the init scale: (a) where depth 2's nuclear norm sits between the convex minimum
    (0) and the ground truth's (1), with the deeper depths; (b) depth 2's distance to the ground
    truth and to the minimum-nuclear-norm solution; (c) its effective rank."""
    s = conj.init_scales
    lo, hi = conj.min_nuclear[:, None], conj.target_nuclear[:, None]
    pos = (conj.nuclear - lo) / (hi - lo)
    fig = plt.figure(figsize=(7, 7.6))
    grid = fig.add_gridspec(2, 2, height_ratios=(1.15, 1))
    a1, a2, a3 = (fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]),
                  fig.add_subplot(grid[1, 1]))
    a1.axhline(0.0, color=COLORS["vermillion"], ls="--", lw=1.5, label="min nuclear norm")
    a1.axhline(1.0, color="k", lw=1.2, label="ground truth")
    for g in range(pos.shape[0]):
        a1.plot(s, pos[g], "o-", color=depth_color(2), alpha=0.85,
                label="depth 2 (a line per ground truth)" if g == 0 else None)
    deep = (conj.deep_nuclear - lo[:, 0]) / (hi[:, 0] - lo[:, 0])
    for i, d in enumerate(conj.deep_depths):
        # Offset the deeper depths' markers sideways so they do not hide each other.
        a1.plot(np.full(deep.shape[1], s.max()) * (1.3 if i else 0.77), deep[i], "^", ms=9,
                color=depth_color(int(d)), alpha=0.85, label=f"depth {d} (init {s.max():g})")
    a1.set(xscale="log", xlabel=r"initialization scale ($\|W(0)\|_F \approx \sqrt{n}\cdot$"
           "scale)", ylabel="position of $\\|W\\|_*$\n(0: convex min, 1: truth)",
           title=f"(a) completion, m = {conj.observations}: nuclear norm")
    top = max(1.3, pos.max() + 0.1, deep.max() + 0.1)
    # Room below the data for the legend, which then covers no point.
    a1.set_ylim(min(-0.1, pos.min() - 0.1) - 0.9, top)
    a1.invert_xaxis()
    a1.legend(loc="lower center", ncol=2, fontsize=8.5)
    truth = np.sqrt(conj.error)  # ‖W − W*‖_F / ‖W*‖_F
    for vals, color, marker, label in (
            (truth, depth_color(2), "o-", "to the ground truth"),
            (conj.distance_to_min, COLORS["vermillion"], "s-", r"to $X_{\min}$")):
        a2.plot(s, np.median(vals, axis=0), marker, color=color, label=label)
        a2.fill_between(s, vals.min(0), vals.max(0), color=color, alpha=0.2, lw=0)
    a2.axhline(np.median(np.sqrt(conj.nn_error)), color=COLORS["vermillion"], ls="--", lw=1.2,
               label=r"$X_{\min}$ to the truth")
    a2.set(xscale="log", yscale="log", xlabel="initialization scale",
           ylabel=r"$\|A - B\|_F\,/\,\|W^*\|_F$", title="(b) depth 2: distances")
    low = min(truth.min(), conj.distance_to_min.min())
    # Room below the bands for the legend.
    a2.set_ylim(low / 2.2, None)
    a2.invert_xaxis()
    a2.legend(loc="lower left", fontsize=8)
    er = conj.effective_rank
    a3.plot(s, er.mean(0), "o-", color=depth_color(2), label="depth 2")
    a3.fill_between(s, er.min(0), er.max(0), color=depth_color(2), alpha=0.2, lw=0)
    a3.axhline(np.mean(conj.nn_effective_rank), color=COLORS["vermillion"], ls="--", lw=1.2,
               label=r"$X_{\min}$")
    a3.axhline(conj.rank, color="k", lw=1.2, label=f"true rank {conj.rank}")
    a3.set(xscale="log", xlabel="initialization scale", ylabel="effective rank",
           title="(c) depth 2: effective rank")
    a3.set_ylim(conj.rank - 0.5, max(er.max(), np.max(conj.nn_effective_rank)) + 0.8)
    a3.invert_xaxis()
    a3.legend(loc="upper right", fontsize=8, ncol=1)
    fig.tight_layout()
    return fig


def optimizers(opt: OptimizerComparison) -> Figure:
    """Left: error against iterations for both optimizers at the middle observation count;
    right: final errors of plain GD against those of the normalized step."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7, 3.6))
    k = len(opt.observations) // 2
    n, m = opt.shape
    for c in opt.curves:
        name = "GD" if c.optimizer == "gd" else "normalized"
        a1.plot(np.maximum(c.steps, 1), c.error[:, k], color=depth_color(c.depth),
                ls="-" if c.optimizer == "gd" else "--", label=f"depth {c.depth}, {name}")
    a1.set(xscale="log", yscale="log", xlabel="iterations", ylabel="reconstruction error",
           title=f"{n}×{m} completion, m = {opt.observations[k]}")
    a1.legend(fontsize=8, loc="lower left")
    lo = min(opt.gd.error.min(), opt.normalized.error.min()) / 3
    for i, d in enumerate(opt.depths):
        a2.plot(opt.normalized.error[i], opt.gd.error[i], "o", ms=7,
                color=depth_color(int(d)), label=f"depth {d}")
    a2.plot([lo, 3], [lo, 3], color="0.5", lw=1, label="equal")
    a2.set(xscale="log", yscale="log", xlabel="error, normalized step",
           ylabel="error, plain GD", title="final errors, every m")
    a2.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def explorer_view(r: ExplorerRun) -> Figure:
    """The explorer's view: the solution's singular values against the ground truth's, and the
    error along training."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7, 3.5))
    idx = np.arange(1, len(r.sv) + 1)
    c = depth_color(r.depth)
    a1.semilogy(idx, np.maximum(r.target_sv, 1e-8), "k_", ms=12, mew=2, label="ground truth")
    a1.semilogy(idx, np.maximum(r.sv, 1e-8), "o", color=c, ms=5, label=f"depth {r.depth}")
    a1.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    a1.set(xlabel="index $i$", ylabel=r"singular value $\sigma_i$", ylim=(1e-7, 100))
    a1.set_title(f"{r.kind}, m = {r.observations}, eff. rank {r.effective_rank:.2f}",
                 fontsize=10.5)
    a1.legend(fontsize=8, loc="upper right")
    a2.loglog(np.maximum(r.curve_steps, 1), r.curve_error, color=c, label=f"depth {r.depth}")
    a2.axhline(r.nn_error, color=COLORS["vermillion"], ls="--", label="min nuclear norm")
    a2.set(xlabel="iterations", ylabel="reconstruction error")
    a2.set_title(f"error {r.error:.1e} after {r.steps:,} steps"
                 + ("" if r.converged else " (capped)"), fontsize=10.5)
    a2.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def instances(st: InstanceStudy, authors_hardness: float | None = None) -> Figure:
    """The instance study: (a) the change of depth 2's ‖W‖_* from the largest init to the
    smallest against the instance's hardness; (b) how much the top-r deficit and the tail fall
    over the same change of init. ‖W‖_* rises exactly where the deficit falls by more than the
    tail (above the diagonal)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7, 3.5))
    up = st.rising()
    change = st.nuclear[:, -1] - st.nuclear[:, 0]
    hard = 100 * st.relative_hardness()
    tail_drop = st.tail[:, 0] - st.tail[:, -1]
    deficit_drop = st.deficit()[:, 0] - st.deficit()[:, -1]
    for sel, marker, color, label in ((up, "^", COLORS["blue"], r"$\|W\|_*$ rises"),
                                      (~up, "v", COLORS["vermillion"], r"$\|W\|_*$ falls")):
        a1.plot(hard[sel], change[sel], marker, color=color, ms=7, ls="none", label=label)
        a2.plot(tail_drop[sel], deficit_drop[sel], marker, color=color, ms=7, ls="none")
    a1.axhline(0, color="0.5", lw=0.8)
    if authors_hardness is not None:
        a1.axvline(100 * authors_hardness, color="k", ls=":", lw=1.2,
                   label="authors' instance")
    s0, s1 = st.init_scales[0], st.init_scales[-1]
    a1.set(xscale="log", xlabel=r"hardness $(\|W^*\|_* - \|X_{\min}\|_*)/\|W^*\|_*$ (%)",
           ylabel=rf"$\Delta\|W\|_*$, init {s0:g} → {s1:g}", title="(a) direction")
    a1.legend(fontsize=8, loc="upper left")
    top = 1.05 * max(tail_drop.max(), deficit_drop.max())
    a2.plot([0, top], [0, top], color="0.5", lw=1)
    a2.set(xlim=(0, top), ylim=(0, top), xlabel=r"fall of the tail $\sigma_{r+1}+\sigma_{r+2}+\cdots$",
           ylabel=r"fall of the deficit $\|W^*\|_*-(\sigma_1+\cdots+\sigma_r)$",
           title="(b) why: deficit against tail")
    fig.tight_layout()
    return fig
