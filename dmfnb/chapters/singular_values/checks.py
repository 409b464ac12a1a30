"""The closing checks of *How singular values move*: measured numbers against the theory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Check, CheckTable, check
from .compute import (
    CompletionDynamics,
    ExactModes,
    PlateauSweep,
    RateCheck,
    TrajectoryProbe,
    VectorCheck,
)

__all__ = ["checks", "completion_checks", "exact_checks", "plateau_checks", "rate_checks",
           "trajectory_checks", "vector_checks"]


def rate_checks(p, rate: RateCheck) -> list[Check]:
    """The rate from balanced starts: small and first order in η; wrong from unbalanced ones."""
    q = p.rate
    eta = f"η = {rate.table_lr:.0e}"
    lo, hi = q.order_slope
    below = f"< {q.tol:g}"
    rows = []
    for d in rate.depths:
        rows.append(check(f"rate-sigma-{d}",
                          f"depth {d}, balanced: σ-rate error at {eta}",
                          rate.sigma_error_at(d), lt=q.tol, fmt=".2e", expected=below))
        rows.append(check(f"rate-e2e-{d}",
                          f"depth {d}, balanced: end-to-end rate error at {eta}",
                          rate.matrix_error_at(d), lt=q.tol, fmt=".2e", expected=below))
        # At depth 1 the end-to-end step is exact; the σ error still comes from the SVD's
        # curvature, so only depths ≥ 2 must show the Euler step's first-order error.
        if d > 1:
            slope = rate.order(d, q.order_lrs)
            rows.append(check(f"rate-order-{d}",
                              f"depth {d}, balanced: slope of log error against log η, "
                              f"η in [{q.order_lrs[0]:g}, {q.order_lrs[1]:g}]",
                              slope, ge=lo, le=hi, fmt=".3f",
                              expected=f"in [{lo:g}, {hi:g}] (first order)"))
    for d in rate.unbalanced_depths():
        rows.append(check(f"rate-unbalanced-{d}",
                          f"depth {d}, unbalanced: σ-rate error at {eta}",
                          rate.sigma_error_at(d, "unbalanced"), gt=10 * q.tol, fmt=".2e",
                          expected=f"> {10 * q.tol:g}"))
    return rows


def vector_checks(p, vec: VectorCheck) -> list[Check]:
    """The singular-vector rates from balanced starts: small, first order in η; wrong when
    unbalanced. Each row takes the worst of the shapes (square and tall)."""
    q = p.vectors
    eta = f"η = {vec.lr:.0e}"
    lo, hi = q.order_slope
    shapes = ", ".join(f"{a}×{b}" for a, b in vec.shapes)
    rows = []
    for d in vec.depths:
        worst = max(vec.error_at(s, d) for s in vec.shapes)
        rows.append(check(f"vector-{d}",
                          f"depth {d}, balanced ({shapes}): U̇, V̇ error at {eta}",
                          worst, lt=q.tol, fmt=".2e", expected=f"< {q.tol:g}"))
        slopes = [vec.order(s, d) for s in vec.shapes]
        far = max(slopes, key=lambda x: abs(x - 1))
        rows.append(check(f"vector-order-{d}",
                          f"depth {d}, balanced: slope of log error against log η, "
                          f"η = {vec.lr:g} → {vec.lr_large:g} (farthest from 1)",
                          far, ge=lo, le=hi, fmt=".3f",
                          expected=f"in [{lo:g}, {hi:g}] (first order)"))
        least = min(vec.error_at(s, d, "unbalanced") for s in vec.shapes)
        rows.append(check(f"vector-unbalanced-{d}",
                          f"depth {d}, unbalanced, same W: smallest U̇, V̇ error at {eta}",
                          least, gt=10 * q.tol, fmt=".2e", expected=f"> {10 * q.tol:g}"))
    return rows


def trajectory_checks(p, probe: TrajectoryProbe) -> list[Check]:
    """Along a Gaussian-init completion run: the σ-rate off at the start and right by the end,
    the absolute imbalance conserved, the gradient aligned with the SVD while values lift."""
    q = p.trajectory
    rows = []
    for d, run in probe.runs.items():
        rows.append(check(f"traj-rate-early-{d}",
                          f"depth {d}, Gaussian start: σ-rate error at t = 0 (not balanced)",
                          probe.early_error(d), gt=q.early_min, fmt=".2e",
                          expected=f"> {q.early_min:g}"))
        rows.append(check(f"traj-rate-late-{d}",
                          f"depth {d}, Gaussian start: σ-rate error after "
                          f"{int(run.steps[-1]):,} iterations",
                          probe.late_error(d), lt=q.rate_tol, fmt=".2e",
                          expected=f"< {q.rate_tol:g}"))
        rows.append(check(f"traj-conserved-{d}",
                          f"depth {d}: |‖imbalance‖(end) / ‖imbalance‖(0) − 1|",
                          run.conservation_gap(), lt=q.conserve_tol, fmt=".2e",
                          expected=f"< {q.conserve_tol:g}"))
        ratios = probe.lift_ratios(d)
        rows.append(check(f"align-lift-{d}",
                          f"depth {d}: off-diag / diag mean of |UᵀGV|, largest at the "
                          f"{probe.rank} half-way points",
                          float(np.max(ratios)), lt=q.align_tol, fmt=".3f",
                          expected=f"< {q.align_tol:g}"))
        rows.append(check(f"align-init-{d}",
                          f"depth {d}: the same ratio at t = 0 (no alignment yet)",
                          float(run.off_ratio[0]), gt=q.align_tol, fmt=".3f",
                          expected=f"> {q.align_tol:g}"))
    return rows


def exact_checks(p, exact: ExactModes) -> list[Check]:
    """GD within ``p.exact.tol`` of the exact mode solutions, the gap first order in η.

    Integrator checks: from an aligned balanced start on full observation the theorem reduces
    to the scalar mode ODE by construction, so these rows test GD (and the ODE solver) against
    that ODE's exact solution, not the theorem itself.
    """
    q = p.exact
    lo, hi = q.doubling
    rows = []
    for d, run in exact.runs.items():
        rows.append(check(f"exact-{d}",
                          f"integrator, depth {d}: max_t |σ_GD − u_exact| / s over the modes",
                          run.max_deviation(), lt=q.tol, fmt=".2%",
                          expected=f"< {q.tol:.0%}"))
        rows.append(check(f"exact-order-{d}",
                          f"integrator, depth {d}: growth of that gap when η doubles",
                          run.doubling_ratio(), ge=lo, le=hi, fmt=".3f",
                          expected=f"in [{lo:g}, {hi:g}] (first order: 2)"))
    return rows


def plateau_checks(p, plat: PlateauSweep) -> list[Check]:
    """Lift times on the exact integral; fitted laws on the theory; no plateau at depth 1."""
    q = p.plateau
    rows = [check(f"plateau-{d}",
                  f"integrator, depth {d}: GD lift times, max |T/T_exact − 1|",
                  plat.gap(d), lt=q.tol, fmt=".1e", expected=f"< {q.tol:.0%}")
            for d in plat.depths]
    if 1 in plat.depths:
        rows.append(check("plateau-no-wait-1",
                          "depth 1: T(smallest u₀) / T(largest u₀), no plateau",
                          plat.growth(1), lt=q.depth1_growth, fmt=".4f",
                          expected=f"< {q.depth1_growth:g}"))
    for d, fit in plat.fits.items():
        if fit.law == "log":
            got, theory, what = fit.a, plat.theory_slope(), "slope a of T against ln(1/u₀)"
            theory_text = f"1/(2s) = {theory:.4f}"
        else:
            got, theory, what = fit.exponent, plat.theory_exponent(d), "exponent α of 1/u₀"
            theory_text = f"1 − 2/N = {theory:.4f}"
        gap = abs(got / theory - 1)
        rows.append(check(f"plateau-law-{d}", f"depth {d}: fitted {what}", gap,
                          lt=q.exponent_tol, measured=f"{got:.4f} (off {gap:.2%})",
                          expected=f"{theory_text} within {q.exponent_tol:.0%}"))
    return rows


def completion_checks(p, dyn: CompletionDynamics) -> list[Check]:
    """Depth 1 at zero-fill; depth 3 lifts exactly the rank, staggered; depth 2 lifts more."""
    q = p.completion
    r = dyn.rank
    run2, run3 = dyn.runs[2], dyn.runs[3]
    stagger = dyn.stagger(3)
    gaps = dyn.half_step_gaps(3)
    zero_gap = dyn.zero_fill_gap(1)
    rows = [
        check("completion-zero-fill-1",
              "depth 1: final error against the zero-fill error, gap",
              zero_gap, lt=q.zero_fill_tol, expected=f"< {q.zero_fill_tol:.0%}",
              measured=f"{zero_gap:.2e} ({dyn.runs[1].final_error:.4f} vs "
                       f"{dyn.zero_fill:.4f})"),
        check("completion-rank-3", "depth 3: lifted singular values (target rank)",
              run3.lifted, eq=r),
        check("completion-error-3",
              f"depth 3: reconstruction error after {int(run3.steps[-1]):,} iterations",
              run3.final_error, lt=q.error_tol, fmt=".2e", expected=f"< {q.error_tol:g}"),
        check("completion-vs-2", "depth 3 error against a tenth of depth 2's",
              run3.final_error, lt=run2.final_error / 10, fmt=".2e"),
        check("completion-rank-2", "depth 2: lifted singular values, more than the rank",
              run2.lifted, gt=r, fmt=".0f"),
        check("completion-stagger-3",
              "depth 3: largest σ_(k+1)/final as σ_k is half-way up",
              float(np.max(stagger)) if stagger.size else 0.0, lt=q.stagger_tol, fmt=".2%",
              expected=f"< {q.stagger_tol:.0%}"),
        # Strictly increasing half-way iterations: the smallest gap between them is positive
        # (with one lifted value there is nothing to order, and the check holds trivially).
        check("completion-order-3",
              "depth 3: fewest iterations between half-way points",
              int(np.min(gaps)) if gaps.size else None, fmt=",d",
              measured=f"{int(np.min(gaps)):,}" if gaps.size else "– (one value)",
              passed=bool(np.all(gaps > 0)), expected="> 0 (strictly increasing)"),
    ]
    return rows


def checks(p, results: Mapping[str, Any]) -> CheckTable:
    """Every closing check of the chapter, on the results of the steps of ``CHAPTER``.

    Parameters
    ----------
    p
        The chapter's parameters.
    results
        Step name → result: ``rate_check``, ``vector_check``, ``trajectory_probe``,
        ``exact_modes``, ``plateau_sweep``, ``completion_dynamics``.

    Returns
    -------
    CheckTable
    """
    return CheckTable((
        *rate_checks(p, results["rate_check"]),
        *vector_checks(p, results["vector_check"]),
        *trajectory_checks(p, results["trajectory_probe"]),
        *exact_checks(p, results["exact_modes"]),
        *plateau_checks(p, results["plateau_sweep"]),
        *completion_checks(p, results["completion_dynamics"]),
    ))
