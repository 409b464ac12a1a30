"""The figures of *Reduced-rank regression*, drawn at the book's column width (7 in)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ...infra.plotting import COLORS
from .compute import Dynamics, EscapeScaling, Explore, Staircase, StepSizeSweep, Violation

__all__ = ["distances", "escape_scaling", "explorer", "staircase", "step_sizes", "violation"]

_EPS_STYLES = (":", "--", "-", "-.")
_RESCALED = r"iterations / $\ln(1/\varepsilon)$"
_REL_DISTANCE = r"$\|W - \hat W_k\|_F \,/\, \|\hat W_k - \hat W_{k-1}\|_F$"
_EXCESS = r"excess loss $\ell(W) - \min\,\ell$"


def _mode_colors() -> list[str]:
    # One Okabe–Ito colour per mode, black last (it is Ŵ_0's in the distance plots).
    return [COLORS[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]


def _ref_colors() -> list[str]:
    # Ŵ_0 = 0 in black, then Ŵ_k in the colour of mode k (the mode that Ŵ_k adds).
    return [COLORS["black"], *_mode_colors()]


def _eps_label(eps: float) -> str:
    return rf"$\varepsilon = 10^{{{round(np.log10(eps))}}}$"


def staircase(st: Staircase) -> Figure:
    """Excess loss and normalized mode amplitudes against iterations / ln(1/ε), one line style
    per ε; vertical lines at the predicted rescaled escapes 1/ln(1 + ηs_i)."""
    run = st.run
    colors = _mode_colors()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.0, 3.6), layout="constrained")
    for b, eps in enumerate(run.eps):
        x = run.rescaled_steps(eps)
        ls = _EPS_STYLES[b % len(_EPS_STYLES)]
        a1.semilogy(x, np.maximum(run.excess[:, b], 1e-16), ls=ls, color="k",
                    label=_eps_label(eps))
        for i in range(run.amplitudes.shape[-1]):
            a2.plot(x, run.amplitudes[:, b, i] / run.values[i], ls=ls, color=colors[i],
                    label=f"mode {i + 1}" if b == len(run.eps) - 1 else None)
    for k, e in enumerate(run.ref_excess[:-1]):
        a1.axhline(e, color="0.6", lw=0.9, zorder=0)
        a1.text(0.99, e, rf"$\hat W_{k}$", transform=a1.get_yaxis_transform(), ha="right",
                va="bottom", fontsize=9, color="0.3")
    predicted = st.predicted_rescaled()
    for i, tau in enumerate(predicted):
        for ax in (a1, a2):
            ax.axvline(tau, color=colors[i], lw=0.9, alpha=0.7)
    xmax = 1.25 * predicted[-1]
    a1.set(xlabel=_RESCALED, ylabel=_EXCESS, xlim=(0, xmax), ylim=(1e-6, 2),
           title="loss: a staircase")
    a2.set(xlabel=_RESCALED, ylabel=r"$u_i^\top W v_i \,/\, (s_i/\lambda_i)$", xlim=(0, xmax),
           ylim=(-0.05, 1.15), title="modes: one at a time")
    # The staircase leaves the lower left empty; the amplitudes fill their panel, so the modes'
    # legend goes below the figure.
    a1.legend(loc="lower left")
    fig.legend(*a2.get_legend_handles_labels(), loc="outside lower center", ncol=4)
    return fig


def distances(two: Staircase, one: Dynamics) -> Figure:
    """Relative distance ‖W(t) − Ŵ_k‖ / ‖Ŵ_k − Ŵ_{k−1}‖ at the smallest ε: two layers, one."""
    colors = _ref_colors()
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 3.6), sharey=True, layout="constrained")
    xmax = 1.25 * two.predicted_rescaled()[-1]
    for ax, run, title in ((axes[0], two.run, r"two layers: $W = W_2 W_1$"),
                           (axes[1], one, r"one layer: $W$")):
        x, rel = run.rescaled_steps(), run.relative_distances()
        for k in range(rel.shape[-1]):
            ax.semilogy(x, np.maximum(rel[:, k], 1e-12), color=colors[k], label=rf"$k = {k}$")
        ax.set(xlabel=_RESCALED, title=f"{title}, {_eps_label(np.min(run.eps))}", xlim=(0, xmax))
    axes[0].set(ylabel=_REL_DISTANCE, ylim=(1e-7, 5))
    fig.legend(*axes[0].get_legend_handles_labels(), title=r"$\hat W_k$",
               loc="outside right center")
    return fig


def escape_scaling(sc: EscapeScaling) -> Figure:
    """Left: escape iteration against ln(1/ε) at the large step, with lines of the discrete
    and continuous slopes. Right: η × slope against s_k for both steps (log–log)."""
    colors = _mode_colors()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.0, 3.9), layout="constrained")
    large = sc.large
    L = np.log(1.0 / sc.eps)
    grid = np.linspace(0, L.max() * 1.05, 50)
    for i in range(large.escape.shape[1]):
        T = large.escape[:, i]
        a1.plot(L, T, "o", color=colors[i], label=f"mode {i + 1}")
        # Offsets are O(1) and depend on the draw: each line goes through the dots' mean.
        c = np.mean(T - large.discrete[i] * L)
        a1.plot(grid, c + large.discrete[i] * grid, color=colors[i], lw=1.2)
        c2 = np.mean(T - large.continuous[i] * L)
        a1.plot(grid, c2 + large.continuous[i] * grid, color=colors[i], lw=1.0, ls="--")
    a1.plot([], [], color="0.4", label=r"$1/\ln(1+\eta s)$")
    a1.plot([], [], color="0.4", ls="--", label=r"$1/(\eta s)$")
    frac = large.lr / sc.stability_limit
    a1.set(xlabel=r"$\ln(1/\varepsilon)$", ylabel="escape iteration",
           title=rf"$\eta = {large.lr:.2f} = {frac:.2f}\,\eta_{{\rm crit}}$")
    a1.legend(fontsize=8, loc="upper left")
    s = sc.strengths
    sgrid = np.geomspace(s.min() / 1.3, s.max() * 1.3, 50)
    for fit, marker, color in ((sc.small, "o", "k"), (sc.large, "s", colors[3])):
        a2.loglog(s, fit.flow_slopes(), marker, color=color,
                  label=rf"measured, $\eta = {fit.lr:.2g}$")
    a2.loglog(sgrid, 1 / sgrid, color="k", lw=1.2, label=r"$1/s$ (gradient flow)")
    lr = large.lr
    a2.loglog(sgrid, lr / np.log1p(lr * sgrid), color=colors[3], lw=1.2, ls="--",
              label=rf"$\eta/\ln(1+\eta s)$, $\eta = {lr:.2g}$")
    a2.set(xlabel=r"mode strength $s$", ylabel=r"$\eta\, dk_{\rm esc}/d\ln(1/\varepsilon)$",
           title=r"per unit of $\ln(1/\varepsilon)$")
    a2.legend(fontsize=8, loc="upper right")
    return fig


def step_sizes(sw: StepSizeSweep) -> Figure:
    """Excess loss against iterations for step sizes around the stability limit."""
    colors = _mode_colors()
    fig, ax = plt.subplots(figsize=(7.0, 3.6), layout="constrained")
    for j, run in enumerate(sw.runs):
        ax.semilogy(run.steps, np.maximum(run.excess, 1e-16), color=colors[j],
                    label=rf"$\eta = {run.fraction:.2f}\,\eta_{{\rm crit}}$")
    for e in sw.runs[0].ref_excess[:-1]:
        ax.axhline(e, color="0.6", lw=0.9, zorder=0)
    ax.set(xlabel="iterations", ylabel=_EXCESS, ylim=(1e-8, 3),
           xlim=(0, 1.3 * max(r.predicted[-1] for r in sw.runs)),
           title=rf"{_eps_label(sw.eps)}; grey: $\ell(\hat W_k) - \min\,\ell$")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right center")
    return fig


def violation(vi: Violation) -> Figure:
    """Distance to each Ŵ_k at the smallest ε, one panel per rotation θ of Σ_x (two a row)."""
    colors = _ref_colors()
    runs = vi.runs
    rows = (len(runs) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(7.0, 3.0 * rows), sharey=True, squeeze=False,
                             layout="constrained")
    flat = axes.ravel()
    for ax, run in zip(flat, runs, strict=False):
        x = run.steps / np.log(1.0 / np.min(vi.eps))
        rel = run.relative_distances()
        for k in range(rel.shape[-1]):
            ax.semilogy(x, np.maximum(rel[:, k], 1e-12), color=colors[k], label=rf"$k = {k}$")
        ax.set(xlabel=_RESCALED, xlim=(0, 1.25 * run.predicted[-1]), ylim=(1e-7, 5),
               title=rf"$\theta = {run.rotation:.1f}$, defect {run.defect:.2f}")
    for row in axes:
        row[0].set(ylabel=_REL_DISTANCE)
    handles, labels = flat[0].get_legend_handles_labels()
    if len(runs) < len(flat):
        # An odd number of panels leaves a free slot: the legend goes there, off the data.
        spare = flat[len(runs)]
        spare.axis("off")
        spare.legend(handles, labels, title=r"$\hat W_k$", loc="center")
    else:
        fig.legend(handles, labels, title=r"$\hat W_k$", loc="outside right center")
    fig.suptitle(rf"relative distance to $\hat W_k$ at {_eps_label(np.min(vi.eps))}")
    return fig


def explorer(ex: Explore) -> Figure:
    """One view of the explorer: excess loss (with the reduced-rank losses dotted) and the
    distance to each Ŵ_k, both against iterations / ln(1/ε)."""
    run = ex.run
    colors = _ref_colors()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.0, 3.6), layout="constrained")
    x = run.rescaled_steps()
    if run.diverged:
        for ax in (a1, a2):
            ax.text(0.5, 0.5, "gradient descent diverged", transform=ax.transAxes, ha="center")
    else:
        a1.semilogy(x, np.maximum(run.excess[:, 0], 1e-16), color="k",
                    label=r"$\ell(W(t)) - \min\,\ell$")
        for k, e in enumerate(run.ref_excess[:-1]):
            a1.axhline(e, ls=":", color=colors[k % len(colors)], lw=1.2,
                       label=r"$\ell(\hat W_k) - \min\,\ell$" if k == 0 else None)
        for k in range(run.distances.shape[-1]):
            a2.semilogy(x, run.distances[:, 0, k] / ex.scale, color=colors[k % len(colors)],
                        label=rf"$k = {k}$")
        a1.legend(loc="lower left", fontsize=8)
        fig.legend(*a2.get_legend_handles_labels(), title=r"$\hat W_k$",
                   loc="outside right center", fontsize=8)
    a1.set(xlabel=_RESCALED, ylabel="excess loss", ylim=(1e-10, 2),
           title=rf"depth {ex.depth}, $\varepsilon = 10^{{{ex.log10_eps:g}}}$")
    a2.set(xlabel=_RESCALED, ylabel=r"$\|W - \hat W_k\|_F \,/\, \|W_{\rm ols}\|_F$",
           ylim=(1e-7, 3),
           title=rf"$\eta = {ex.lr_fraction:.2f}\,\eta_{{\rm crit}}$, $\theta = {ex.rotation:.1f}$")
    return fig
