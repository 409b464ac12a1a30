"""Figures of *How singular values move*, each drawn at the book's column width (≤ 7 in)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ...infra.plotting import COLORS, depth_color
from .compute import (
    CompletionDynamics,
    ExactModes,
    ModeCurves,
    PlateauSweep,
    RateCheck,
    TrajectoryProbe,
)

__all__ = ["alignment", "completion_dynamics", "exact_modes", "modes", "plateau", "rate_check",
           "trajectory_rate"]

_MODE_COLORS = [COLORS[c] for c in ("blue", "orange", "green", "vermillion", "purple")]


def _grid(n: int, height: float) -> tuple[Figure, list, plt.Axes | None]:
    """n panels, two per row; a spare slot in the last row is returned for a legend."""
    rows = (n + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(7.0, height * rows), squeeze=False,
                             layout="constrained")
    flat = list(axes.ravel())
    spare = flat[n] if len(flat) > n else None
    if spare is not None:
        spare.axis("off")
    return fig, flat[:n], spare


def rate_check(res: RateCheck, *, depth: int = 3) -> Figure:
    """Top: relative error of the rate formula against the GD step η, balanced (solid) and
    unbalanced (dashed). Bottom: predicted against measured dσ_r/dt at ``depth``."""
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(7.0, 8.0), layout="constrained",
                                 gridspec_kw={"height_ratios": [1.25, 1]})
    lrs = res.lrs
    for d in res.depths:
        ax.loglog(lrs, res.sweep(d), "o-", color=depth_color(d), ms=4,
                  label=f"depth {d}, balanced")
        if d in res.unbalanced_depths():
            ax.loglog(lrs, res.sweep(d, "unbalanced"), "s--", color=depth_color(d), ms=4,
                      mfc="white", label=f"depth {d}, unbalanced")
    ax.loglog(lrs, 0.5 * lrs, ":", color="0.4", label=r"$\propto \eta$ (step error)")
    ax.set_xlabel(r"GD step size $\eta$")
    ax.set_ylabel(r"relative error of $\dot\sigma$ formula")
    ax.set_title("one GD step against the singular-value ODE")
    ax.set_ylim(1e-11, 30)
    # Below the axes: the curves fill the panel from corner to corner.
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    ex_b = res.examples["balanced"][depth]
    r = np.arange(1, len(ex_b.rate) + 1)
    bx.plot(r, ex_b.rate, "-", color="0.3", lw=2, label="predicted (formula)")
    for kind, marker, color in (("balanced", "o", COLORS["blue"]),
                                ("unbalanced", "x", COLORS["vermillion"])):
        ex = res.examples[kind].get(depth)
        if ex is not None:
            bx.plot(r, ex.fd_rate, marker, color=color, ms=9, mew=2, mfc="none", ls="none",
                    label=f"measured, {kind} start")
    bx.set_yscale("symlog", linthresh=1e-2)
    bx.set_xticks(r)
    bx.set_xlabel(r"index $r$ of the singular value")
    bx.set_ylabel(rf"$\dot\sigma_r$ (measured: $\Delta\sigma_r/\eta$, "
                  rf"$\eta$ = {res.table_lr:.0e})")
    bx.set_title(f"depth {depth}: same W, same ∇ℓ(W)")
    bx.legend(fontsize=8, loc="best")
    return fig


def _half_marks(ax, res: TrajectoryProbe, d: int, values) -> None:
    """Mark each target value's half-way point on a curve of ``values``."""
    run = res.runs[d]
    i = run.half_records(res.rank)
    ax.plot(run.steps[i], np.asarray(values)[i], "o", color=depth_color(d), ms=6,
            mfc="white", mew=1.5)


def alignment(res: TrajectoryProbe, *, align_tol: float | None = None) -> Figure:
    """Left: mean |UᵀGV| on the diagonal (solid) and off it (dashed), per depth, over GD
    iterations. Right: their ratio, with the half-way points of the target values marked."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(7.0, 4.3), layout="constrained")
    for d, run in res.runs.items():
        c = depth_color(d)
        ax.semilogy(run.steps, run.diag_mean, "-", color=c, lw=1.6, label=f"depth {d}, diag.")
        ax.semilogy(run.steps, run.off_mean, "--", color=c, lw=1.2,
                    label=f"depth {d}, off-diag.")
        bx.semilogy(run.steps, run.off_ratio, "-", color=c, lw=1.6, label=f"depth {d}")
        _half_marks(bx, res, d, run.off_ratio)
    if align_tol is not None:
        bx.axhline(align_tol, color="0.4", ls=":", lw=1, label="check's bound")
    bx.plot([], [], "o", color="0.3", mfc="white", label="value half-way up")
    ax.set_xlabel("GD iterations")
    ax.set_ylabel(r"mean $|U^\top \nabla\ell(W)\, V|$ entry")
    ax.set_title("diagonal vs off-diagonal", fontsize=10)
    bx.set_xlabel("GD iterations")
    bx.set_ylabel("off-diagonal / diagonal mean")
    bx.set_title("alignment ratio (0: aligned)", fontsize=10)
    for a in (ax, bx):
        a.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        # Below the axes: the curves cross every corner of the panels.
        a.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    return fig


def trajectory_rate(res: TrajectoryProbe) -> Figure:
    """σ-rate error (solid) and relative imbalance (dashed) along the Gaussian-init run."""
    fig, ax = plt.subplots(figsize=(7.0, 3.6), layout="constrained")
    for d, run in res.runs.items():
        c = depth_color(d)
        ax.semilogy(run.steps, run.rate_error, "-", color=c, lw=1.6,
                    label=rf"depth {d}: $\dot\sigma$ formula error")
        ax.semilogy(run.steps, run.imbalance_rel, "--", color=c, lw=1.2,
                    label=f"depth {d}: relative imbalance")
        _half_marks(ax, res, d, run.rate_error)
    ax.plot([], [], "o", color="0.3", mfc="white", label="value half-way up")
    ax.set_xlabel("GD iterations")
    ax.set_ylabel("relative size")
    ax.set_title(f"top {res.rank} singular values, Gaussian (unbalanced) start", fontsize=10)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def exact_modes(res: ExactModes) -> Figure:
    """GD singular values (markers) on the exact mode solutions (lines), one panel per depth."""
    fig, axes, spare = _grid(len(res.runs), 3.0)
    for ax, (d, run) in zip(axes, res.runs.items(), strict=True):
        every = max(1, len(run.t) // 30)
        for k, s in enumerate(res.strengths):
            c = _MODE_COLORS[k % len(_MODE_COLORS)]
            ax.plot(run.t, run.theory[:, k], color=c, lw=1.6, label=rf"$s$ = {s:g}")
            ax.plot(run.t[::every], run.sigma[::every, k], "o", color=c, ms=4, mfc="none")
        ax.set_title(f"depth {d}: " + ("Saxe's sigmoid" if d == 2 else "mode ODE"),
                     fontsize=10.5)
        ax.set_xlabel(r"gradient-flow time $t = \eta k$")
        ax.set_ylabel(r"$\sigma_r(t)$")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], ls="none", marker="o", color="0.3", mfc="none", ms=4))
    labels.append(rf"GD, $\eta$ = {res.lr:g}")
    handles.append(plt.Line2D([], [], color="0.3", lw=1.6))
    labels.append("exact solution")
    (spare or axes[-1]).legend(handles, labels, loc="center", fontsize=9)
    return fig


def plateau(res: PlateauSweep) -> Figure:
    """Lift time against init scale: GD (markers), exact integral (lines), asymptote (dashed)."""
    fig, ax = plt.subplots(figsize=(7.0, 4.6), layout="constrained")
    u0 = res.u0
    for d in res.depths:
        c = depth_color(d)
        ax.loglog(u0, res.times(d), "o", color=c, ms=6, mfc="none", label=f"depth {d}: GD")
        ax.loglog(u0, res.exact_times(d), "-", color=c, lw=1.4)
        ax.loglog(*res.asymptote(d), "--", color=c, lw=1, alpha=0.8)
    ax.plot([], [], "-", color="0.3", label=r"exact: $\int du\,/\,(N u^{2-2/N}(s-u))$")
    ax.plot([], [], "--", color="0.3",
            label=r"asymptote: $\ln(1/u_0)/2s$, $u_0^{-(1-2/N)}/((N-2)s)$")
    ax.invert_xaxis()
    ax.set_xlabel(r"initial mode strength $u_0$ (smaller to the right)")
    ax.set_ylabel(r"lift time $t(u = s/2)$")
    ax.set_title(rf"how long a mode of strength $s$ = {res.strength:g} waits")
    ax.legend(fontsize=8.5, loc="upper left")
    return fig


def completion_dynamics(res: CompletionDynamics) -> Figure:
    """The authors' dynamics figure: top singular values over GD iterations, one panel per
    depth."""
    fig, axes, spare = _grid(len(res.runs), 3.0)
    top = res.target_sv[0]
    for ax, (d, run) in zip(axes, res.runs.items(), strict=True):
        for k in range(run.sigma.shape[1]):
            ax.semilogy(run.steps, run.sigma[:, k], color=depth_color(d),
                        lw=1.6 if k < res.rank else 1.0, alpha=1.0 if k < res.rank else 0.6)
        for s in res.target_sv[: res.rank]:
            ax.axhline(s, color="0.4", ls="--", lw=0.9)
        ax.set_title(f"depth {d}: {run.lifted} lifted, error {run.final_error:.2g}",
                     fontsize=10.5)
        ax.set_xlabel("GD iterations")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        ax.set_ylim(1e-4, 2 * top)
        ax.set_ylabel(r"top $\sigma_k(W)$")
    handles = [plt.Line2D([], [], color="0.4", ls="--", lw=0.9)]
    labels = ["target's singular values"]
    for d in res.runs:
        handles.append(plt.Line2D([], [], color=depth_color(d), lw=1.6))
        labels.append(f"depth {d}: top {res.rank} bold, rest faint")
    (spare or axes[-1]).legend(handles, labels, loc="center", fontsize=9)
    return fig


def modes(c: ModeCurves) -> Figure:
    """The explorer's picture: u(t) at the chosen depth (bold), the other depths faint."""
    fig, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    for d, u in c.u.items():
        if d != c.depth:
            ax.plot(c.t, u, color=depth_color(d), alpha=0.45, lw=1.3, label=f"depth {d}")
    ax.plot(c.t, c.u[c.depth], color=depth_color(c.depth), lw=2.6, label=f"depth {c.depth}")
    ax.axvline(c.t_half, color=depth_color(c.depth), ls=":", lw=1.2)
    ax.axhline(c.strength, color="0.5", ls="--", lw=1)
    tmax = c.t[-1]
    if c.log_time:
        ax.set_xscale("log")
        ax.set_xlim(c.t[1], tmax)
    else:
        ax.set_xlim(0, tmax)
    ax.set_xlabel(r"gradient-flow time $t$")
    ax.set_ylabel(r"mode strength $u(t)$")
    ax.set_title(rf"depth {c.depth}, $u_0$ = {c.init_scale:.0e}, $s$ = {c.strength:g}: "
                 rf"lifts at $t \approx$ {c.t_half:.3g}")
    # Below the axes: wherever it sat inside, some depth's rise would run under it.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=len(c.u), fontsize=9)
    return fig
