"""The closing checks of *Depth strengthens the low-rank bias*, as rows of a :class:`CheckTable`.

*Recovered* means a median error over ground truths ≤ 1e-3, *failed* ≥ 1e-2 (the thresholds of
:meth:`~dmfnb.chapters.low_rank_bias.compute.Sweep.transition`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Check, CheckTable, check
from .compute import Conjecture, OptimizerComparison, SolverAgreement, Sweep
from .params import Params

__all__ = ["checks"]


def _chain(values, fmt: str) -> str:
    return " → ".join(format(float(v), fmt) for v in values)


def _transition_rows(kind: str, sweep: Sweep) -> list[Check]:
    pt = sweep.transition()
    window = [int(m) for m in pt.window]
    every = [int(m) for m in pt.all_recover]
    rows = [check(f"{kind}-window",
                  f"counts m with depths 3–4 ≤ {pt.recover:g}, depth 2 and nuclear "
                  f"≥ {pt.fail:g}",
                  len(window), ge=1, measured=f"{len(window)} (m = {window})",
                  expected="≥ 1 count")]
    claim = f"largest m where all recover (≤ {pt.recover:g}), above the window"
    top = max(every) if every else float("nan")
    if window:
        rows.append(check(f"{kind}-all-recover", claim, top, gt=max(window), fmt="g",
                          measured=f"m = {every}" if every else "none"))
    else:
        rows.append(check(f"{kind}-all-recover", claim, top, passed=False,
                          measured=f"m = {every}", expected="above the window (there is none)"))
    return rows


def _conjecture_rows(conj: Conjecture) -> list[Check]:
    dist, err, erank = conj.mean_distance(), conj.median_error(), conj.mean_effective_rank()
    rows = [
        check("conj-gap", "depth 2: smallest (‖W‖_* − min ‖X‖_*)/min ‖X‖_*",
              conj.relative_gap().min(), gt=1e-3, fmt=".2g"),
        check("conj-distance-grows",
              "depth 2: mean ‖W − X_min‖_F/‖W*‖_F as the init shrinks",
              np.diff(dist).min(), gt=0, measured=_chain(dist, ".3f"),
              expected="each step > 0"),
        check("conj-distance-growth", "depth 2: last / first mean distance to X_min",
              dist[-1] / dist[0], ge=1.1, measured=f"{dist[-1] / dist[0]:.3g} "
              f"({dist[0]:.3f} → {dist[-1]:.3f})"),
        check("conj-error-falls", "depth 2: median error as the init shrinks",
              np.diff(err).max(), lt=0, measured=_chain(err, ".2g"), expected="each step < 0"),
        check("conj-erank-falls", "depth 2: mean effective rank as the init shrinks",
              np.diff(erank).max(), lt=0, measured=_chain(erank, ".2f"),
              expected="each step < 0"),
    ]
    for d in conj.deep_depths:
        d = int(d)
        er = conj.deep_median_effective_rank(d)
        rows += [
            check(f"conj-depth{d}-error", f"depth {d}: median error", conj.deep_median_error(d),
                  le=1e-3, fmt=".2g"),
            check(f"conj-depth{d}-norm", f"depth {d}: median |‖W‖_*/‖W*‖_* − 1|",
                  conj.deep_norm_deviation(d), le=1e-3, fmt=".2g"),
            check(f"conj-depth{d}-erank",
                  f"depth {d}: |median effective rank − true rank {conj.rank}|",
                  abs(er - conj.rank), le=0.1, fmt=".2g",
                  measured=f"{abs(er - conj.rank):.2g} (effective rank {er:.3f})"),
        ]
    return rows


def _optimizer_rows(opt: OptimizerComparison) -> list[Check]:
    both = opt.both_converged()
    rows = [check("opt-fitted", "runs fitted by both plain GD and normalized step",
                  int(both.sum()), ge=both.size - 1, fmt="g",
                  measured=f"{int(both.sum())} of {both.size}")]
    if both.any():
        rows += [
            check("opt-distance", "largest ‖W_GD − W_norm‖_F/‖W*‖_F, both fitted",
                  opt.distance[both].max(), le=0.05, fmt=".2g"),
            check("opt-error-ratio", "largest factor between their errors, both fitted",
                  opt.error_ratio(), lt=2, fmt=".2f"),
        ]
    return rows


def _solver_rows(agree: SolverAgreement) -> list[Check]:
    a, b = agree.solvers
    return [
        check("solvers-norm", f"{a} vs {b}: largest relative gap of the minimum norms",
              agree.norm_gap.max(), le=1e-4, fmt=".2g"),
        check("solvers-minimizer", f"{a} vs {b}: largest ‖X₁ − X₂‖_F/‖X₁‖_F",
              agree.distance.max(), le=1e-3, fmt=".2g"),
    ]


def checks(p: Params, results: Mapping[str, Any]) -> CheckTable:
    """The chapter's closing checks on ``results`` (keyed by the step names of ``CHAPTER``).

    1. Phase transition (completion and sensing): a count where depths 3–4 recover while depth 2
       and the nuclear norm fail, and a larger one where all recover.
    2. Every sweep used the normalized step; depth 1 ends at the zero-fill error (within 1e-2;
       only where the sweep ran depth 1).
    3. Conjecture test: the depth-2 nuclear norm exceeds the convex minimum by more than 0.1 %;
       the mean distance to the minimum-nuclear-norm solution grows at every smaller init and by
       ≥ 10 % overall; the median error and the mean effective rank fall at every smaller init;
       the deeper factorizations land on the ground truth.
    4. Plain GD and the normalized step end within 5 % of ‖W*‖_F, errors within a factor 2.
    5. SCS and ADMM agree: norms within 1e-4, minimizers within 1e-3 (relative).
    """
    rows: list[Check] = []
    sweeps = {kind: results[kind] for kind in ("completion", "sensing")}
    for kind, sweep in sweeps.items():
        rows += _transition_rows(kind, sweep)
    for kind, sweep in sweeps.items():
        rows.append(check(f"{kind}-optimizer", "the sweep's optimizer", sweep.optimizer,
                          eq="normalized"))
    completion = sweeps["completion"]
    if 1 in [int(d) for d in completion.depths]:  # the paper scale runs depths 2–4 only
        rows.append(check("depth1-zero-fill", "largest |depth-1 error − zero-fill error|",
                          completion.zero_fill_deviation(), le=1e-2, fmt=".2g"))
    rows += _conjecture_rows(results["nuclear_norm_test"])
    rows += _optimizer_rows(results["optimizer_comparison"])
    rows += _solver_rows(results["solver_agreement"])
    return CheckTable(tuple(rows))
