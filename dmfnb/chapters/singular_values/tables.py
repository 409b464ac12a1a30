"""Every table of *How singular values move*, and our numbers beside the papers'."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Table
from .compute import (
    CompletionDynamics,
    ExactModes,
    PlateauSweep,
    RateCheck,
    TrajectoryProbe,
    VectorCheck,
)

__all__ = ["alignment", "completion", "exact", "final_singular_values", "paper",
           "plateau_fits", "plateau_times", "rate", "trajectory_rate", "vectors"]


def rate(res: RateCheck) -> Table:
    """The rate check at ``res.table_lr``: relative errors per depth, balanced and not."""
    rows = []
    for d in res.depths:
        unbalanced = d in res.unbalanced_depths()
        rows.append((d, res.sigma_error_at(d), res.matrix_error_at(d),
                     res.sigma_error_at(d, "unbalanced") if unbalanced else None,
                     res.imbalance_at(d) if unbalanced else None))
    return Table(("depth", "σ̇ err, bal.", "Ẇ err, bal.", "σ̇ err, unbal.", "imbalance"),
                 tuple(rows),
                 title=f"One GD step, η = {res.table_lr:.0e}: errors relative to the "
                       "predicted rates",
                 formats={"σ̇ err, bal.": ".2e", "Ẇ err, bal.": ".2e",
                          "σ̇ err, unbal.": ".2e", "imbalance": ".2f"})


def vectors(res: VectorCheck) -> Table:
    """The singular-vector rates against one GD step, per shape and depth, balanced and not."""
    rows = []
    for shape in res.shapes:
        for d in res.depths:
            i = res._at(shape, d)
            rows.append((f"{shape[0]}×{shape[1]}", d, res.error_at(shape, d),
                         res.order(shape, d), res.error_at(shape, d, "unbalanced"),
                         float(res.imbalance["unbalanced"][i])))
    return Table(("W", "depth", "err, bal.", "slope in η", "err, unbal.", "imbalance"),
                 tuple(rows),
                 title=f"U̇, V̇ against one GD step, η = {res.lr:.0e}: relative errors",
                 formats={"err, bal.": ".2e", "slope in η": ".3f", "err, unbal.": ".2e",
                          "imbalance": ".2f"},
                 note=f"slope: log error(η = {res.lr_large:g}) − log error(η = {res.lr:g}), "
                      "over log of their ratio")


def trajectory_rate(res: TrajectoryProbe) -> Table:
    """σ-rate error and imbalance along the Gaussian-init run: start, first lift, end."""
    rows = []
    for d, run in res.runs.items():
        first = int(run.half_records(res.rank)[0])
        for label, i in (("start", 0), ("σ₁ half-way", first), ("end", -1)):
            rows.append((d, label, int(run.steps[i]), float(run.rate_error[i]),
                         float(run.imbalance_abs[i]), float(run.imbalance_rel[i])))
    return Table(("depth", "when", "iteration", "σ̇ error", "imbalance", "relative"),
                 tuple(rows),
                 title=f"σ-rate formula along the run (top {res.rank} values)",
                 formats={"iteration": ",d", "σ̇ error": ".1e", "imbalance": ".2e",
                          "relative": ".1e"},
                 note="imbalance: max_j ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖_F; relative: over "
                      "‖W_jW_jᵀ‖_F")


def alignment(res: TrajectoryProbe) -> Table:
    """The authors' alignment measure at the start, at each half-way point, and at the end."""
    rows = []
    for d, run in res.runs.items():
        half = run.half_records(res.rank)
        points = [("start", 0)] + [(f"σ{k + 1} half-way", int(i))
                                   for k, i in enumerate(half)] + [("end", -1)]
        for label, i in points:
            rows.append((d, label, int(run.steps[i]), float(run.diag_mean[i]),
                         float(run.off_mean[i]), float(run.off_ratio[i]),
                         float(run.block_share[i])))
    return Table(("depth", "when", "iteration", "diag", "off-diag", "ratio",
                  f"top-{res.rank} share"), tuple(rows),
                 title="Alignment: mean |UᵀGV| on and off the diagonal",
                 formats={"iteration": ",d", "diag": ".1e", "off-diag": ".1e",
                          "ratio": ".3f", f"top-{res.rank} share": ".3f"},
                 note=f"top-{res.rank} share: ‖off-diagonal‖_F / ‖·‖_F of the top "
                      f"{res.rank}×{res.rank} block")


def exact(res: ExactModes) -> Table:
    """Largest gap between GD and the exact mode solutions, per depth, step and mode."""
    modes = tuple(f"s = {s:g}" for s in res.strengths)
    rows = []
    for d, run in res.runs.items():
        rows.append((d, run.lr, run.steps, *run.deviation))
        rows.append((d, run.lr_double, run.steps_double, *run.deviation_double))
    return Table(("depth", "η", "iterations", *modes), tuple(rows),
                 title=f"max_t |σ_GD − u_exact| / s per mode, u₀ = {res.u0:g}",
                 formats={"η": ".1e", "iterations": ",d", **{m: ".2e" for m in modes}})


def plateau_times(res: PlateauSweep) -> Table:
    """Lift times T (u reaches s/2) by GD, in gradient-flow time, per u₀ and depth."""
    cols = tuple(f"depth {d}" for d in res.depths)
    rows = tuple((u, *(res.times(d)[i] for d in res.depths)) for i, u in enumerate(res.u0))
    return Table(("u₀", *cols), rows,
                 title=f"Lift time T (u reaches s/2 = {res.strength / 2:g}) by GD",
                 formats={"u₀": ".1e", **{c: ".4g" for c in cols}})


def plateau_fits(res: PlateauSweep) -> Table:
    """The fitted plateau laws T = a·g(u₀) + b beside the theory, per depth.

    Depth 2: g = ln(1/u₀); depth N ≥ 3: g = u₀^{−α}. ``α, no b`` is the log-log slope fitted
    without the constant b, biased by the final rise.
    """
    rows = []
    for d in res.depths:
        fit = res.fits.get(d)
        power = fit is not None and fit.law == "power"
        rows.append((d, res.gap(d), res.growth(d),
                     None if fit is None else fit.a,
                     None if fit is None else res.theory_a(d),
                     fit.exponent if power else None,
                     res.theory_exponent(d) if power else None,
                     fit.b if power else None,
                     res.naive_exponent(d) if power else None))
    return Table(("depth", "max gap", "T ratio", "a", "a theory", "α", "α theory", "b",
                  "α, no b"), tuple(rows),
                 title="Fitted laws: gap = max |T/T_exact − 1|, T ratio = T(min u₀)/T(max u₀)",
                 formats={"max gap": ".1e", "T ratio": ".5g", "a": ".4f", "a theory": ".4f",
                          "α": ".4f", "α theory": ".4f", "b": "+.2f", "α, no b": ".4f"},
                 note="depth 1: no plateau, T → ln 2; depth 2: g = ln(1/u₀); "
                      "depth N ≥ 3: g = u₀^(−α)")


def completion(res: CompletionDynamics) -> Table:
    """Final errors, lifted counts and the iterations at which each value is half-way up."""
    r = res.rank
    rows = tuple((d, run.final_error, run.final_loss, run.lifted,
                  ", ".join(f"{x:,}" for x in run.half_steps[: r + 2]))
                 for d, run in res.runs.items())
    target = ", ".join(f"{x:.2f}" for x in res.target_sv[:r])
    return Table(("depth", "error", "loss", "lifted", "half-way iterations, σ₁, σ₂, …"), rows,
                 title=f"Target σ: {target}; zero-fill error {res.zero_fill:.4f}",
                 formats={"error": ".3g", "loss": ".1e"})


def final_singular_values(res: CompletionDynamics, lift_rtol: float | None = None) -> Table:
    """The final top singular values of W, one column per depth."""
    cols = tuple(f"depth {d}" for d in res.depths)
    k = len(next(iter(res.runs.values())).final_sigma)
    rows = tuple((i + 1, *(res.runs[d].final_sigma[i] for d in res.depths)) for i in range(k))
    note = "" if lift_rtol is None else f"lifted: final σ_k > {lift_rtol:g}·σ₁"
    return Table(("k", *cols), rows, title="Final top singular values σ_k",
                 formats={c: ".3g" for c in cols}, note=note)


def paper(p, results: Mapping[str, Any]) -> list[Table]:
    """Our numbers beside the theory's and the papers', from the results of ``CHAPTER``.

    Parameters
    ----------
    p
        The chapter's parameters.
    results
        Step name → result.

    Returns
    -------
    list of Table
        The singular-value dynamics against the theory, and the completion figure against
        Arora et al. (2019).
    """
    rows = []
    r = results["rate_check"]
    lo, hi = r.unbalanced_range()
    rows.append((f"σ-rate error, balanced, η = {r.table_lr:.0e}", f"{r.balanced_max():.1e}",
                 "O(η): exact for the flow (Arora 2019)"))
    rows.append(("σ-rate error, unbalanced, same W", f"{lo:.2f}–{hi:.2f}",
                 "not covered by the theorem"))
    v = results["vector_check"]
    rows.append((f"U̇, V̇ error, balanced, η = {v.lr:.0e}", f"{v.balanced_max():.1e}",
                 "O(η) (formula derived here)"))
    rows.append(("U̇, V̇ error, unbalanced, same W", f"{v.unbalanced_min():.2f} or more",
                 "not covered"))
    t = results["trajectory_probe"]
    for d in t.depths:
        rows.append((f"σ-rate error, Gaussian start, depth {d}: start → end",
                     f"{t.early_error(d):.1e} → {t.late_error(d):.1e}",
                     "exact once balanced"))
        rows.append((f"off/diag |UᵀGV| at the lifts, depth {d}",
                     f"{np.max(t.lift_ratios(d)):.2f} at most",
                     "off-diag. below diag. (their Fig. 3)"))
    e = results["exact_modes"]
    for d, run in e.runs.items():
        rows.append((f"max |σ_GD − u_exact|/s, depth {d}", f"{run.max_deviation():.2%}",
                     "0 as η → 0 (Saxe 2014)"))
    pl = results["plateau_sweep"]
    for d, f in pl.fits.items():
        if f.law == "log":
            rows.append((f"plateau slope in ln(1/u₀), depth {d}", f"{f.a:.4f}",
                         f"1/(2s) = {pl.theory_slope():.4f}"))
        else:
            rows.append((f"plateau exponent of 1/u₀, depth {d}", f"{f.exponent:.4f}",
                         f"1 − 2/N = {pl.theory_exponent(d):.4f}"))
    theory = Table(("quantity", "ours", "paper"), tuple(rows),
                   title="Singular-value dynamics against the theory")

    c = results["completion_dynamics"]
    q = p.completion
    rows = []
    if 1 in c.runs:
        rows.append(("depth 1 error", f"{c.runs[1].final_error:.3f}",
                     f"zero-fill ({c.zero_fill:.3f} here; ≈ 0.8)"))
    if 2 in c.runs:
        rows.append((f"depth 2 lifted σ (top {q.top_k})", str(c.runs[2].lifted),
                     "≈ 10: 5 large, ≈ 5 small"))
    if 3 in c.runs:
        run3 = c.runs[3]
        rows.append(("depth 3 lifted σ", str(run3.lifted),
                     f"exactly the rank ({c.rank}), staggered"))
        rows.append((f"depth 3 error at {q.authors_steps:,} iterations",
                     f"{run3.error_at(q.authors_steps):.1e}",
                     "1.67e-3 (their run's minimum; another draw)"))
        rows.append((f"depth 3 error at {int(run3.steps[-1]):,} iterations",
                     f"{run3.final_error:.1e}",
                     "2.6e-5 (adaptive step, loss 1e-6)"))
    figure = Table(("quantity", "ours", "paper"), tuple(rows),
                   title=f"Completion {q.size}×{q.size}, rank {c.rank}, m = {q.observations} "
                         f"({p.scale} scale)",
                   note="Paper: Arora et al. (2019), 100×100 rank 5, m = 2000, plain GD.")
    return [theory, figure]
