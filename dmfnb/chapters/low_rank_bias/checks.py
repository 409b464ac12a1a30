"""The closing checks of *Depth strengthens the low-rank bias*, as rows of a :class:`CheckTable`.

*Recovered* means a median error over ground truths ≤ 1e-3, *failed* ≥ 1e-2 (the thresholds of
:meth:`~dmfnb.chapters.low_rank_bias.compute.Sweep.transition`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Check, CheckTable, check
from .compute import (
    CommutingTest,
    Conjecture,
    InstanceStudy,
    OptimizerComparison,
    SolverAgreement,
    Sweep,
)
from .params import Params

__all__ = ["AUTHORS_HARDNESS", "checks"]

# The authors' m = 2000 completion instance (their code's logs, Arora et al. 2019): ground
# truth ‖W*‖_* ≈ 219.4, convex minimum ≈ 210.15, so truth − min = 9.25, 4.2 % of ‖W*‖_*; their
# depth-2 ‖W‖_* rose 215.5 → 217.2 as the init shrank.
AUTHORS_HARDNESS = 9.25 / 219.4


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


def _instance_rows(st: InstanceStudy) -> list[Check]:
    count = st.count
    rise, fall = int(st.rising().sum()), int((~st.rising()).sum())
    rh = st.relative_hardness()
    rows = [
        check("inst-fitted", "instance study: depth-2 runs that fitted (loss ≤ tol)",
              int(st.converged.sum()), eq=st.converged.size, fmt="g"),
        check("inst-t-grows", "instances where t (X_min → W*) grows as the init shrinks",
              int(st.t_grows().sum()), ge=int(np.ceil(0.9 * count)), fmt="g",
              measured=f"{int(st.t_grows().sum())} of {count}"),
        check("inst-tail-falls", "instances where the tail σ_{r+1} + … falls",
              int(st.tail_falls().sum()), eq=count, fmt="g",
              measured=f"{int(st.tail_falls().sum())} of {count}"),
        check("inst-deficit-falls", "instances where ‖W*‖_* − (σ_1 + … + σ_r) falls",
              int(st.deficit_falls().sum()), eq=count, fmt="g",
              measured=f"{int(st.deficit_falls().sum())} of {count}"),
        check("inst-both-directions", "fewer of (‖W‖_* rises, falls) over the instances",
              min(rise, fall), ge=1, fmt="g", measured=f"{rise} rise, {fall} fall"),
    ]
    if rise and fall:
        ratio = np.median(rh[st.rising()]) / np.median(rh[~st.rising()])
        rows.append(check(
            "inst-hardness-order", "median relative hardness, rising / falling instances",
            ratio, gt=1, fmt=".2f", measured=f"{ratio:.2f} ({np.median(rh[st.rising()]):.2%}"
            f" / {np.median(rh[~st.rising()]):.2%})"))
    else:
        rows.append(check("inst-hardness-order", "median relative hardness, rising / falling",
                          float("nan"), passed=False, measured="one direction only",
                          expected="> 1"))
    hard = rh >= AUTHORS_HARDNESS
    claim = f"instances as hard as the authors' ({AUTHORS_HARDNESS:.1%}) whose ‖W‖_* rises"
    if hard.any():
        up = int(st.rising()[hard].sum())
        rows.append(check("inst-authors-hard", claim, up, eq=int(hard.sum()), fmt="g",
                          measured=f"{up} of {int(hard.sum())}"))
    else:
        rows.append(check("inst-authors-hard", claim, 0, passed=False, measured="none that hard",
                          expected="every one of ≥ 1"))
    return rows


def _commuting_rows(ct: CommutingTest) -> list[Check]:
    deep = ct.deep()
    steps = np.diff(ct.distance, axis=1)
    return [
        check("comm-fitted", "commuting: runs that fitted the measurements (loss ≤ tol)",
              int(ct.converged.sum()), eq=ct.converged.size, fmt="g"),
        check("comm-baseline", "|tr X_c − cvxpy's min tr X over PSD X| / min",
              abs(ct.lp_trace - ct.min_trace) / ct.min_trace, le=1e-6, fmt=".2g"),
        check("comm-trace", "largest |tr W − min tr X| / min tr X, smallest init",
              ct.trace_gap().max(), le=1e-3, fmt=".2g"),
        check("comm-distance", "largest ‖W − X_c‖_F / ‖X_c‖_F, smallest init, depths "
              + ", ".join(str(int(d)) for d in ct.depths), ct.final_distance().max(), le=1e-2,
              fmt=".2g"),
        check("comm-approach", "‖W − X_c‖_F at each smaller init, every depth",
              steps.max() if steps.size else float("nan"), lt=0, fmt=".2g",
              expected="each step < 0"),
        check("comm-schatten-excess", "depths ≥ 3: least Σλ^{2/N}(W) / Σλ^{2/N}(rank-one fit)",
              ct.schatten_excess()[deep].min() if deep.any() else float("nan"), ge=1.1,
              fmt=".3g"),
        check("comm-schatten-minimizer",
              "depths ≥ 3: least ‖X_S − X_c‖_F / ‖X_c‖_F, X_S commuting Σλ^{2/N} min",
              ct.commuting_schatten_distance[deep].min() if deep.any() else float("nan"),
              ge=0.5, fmt=".3g"),
    ]


def checks(p: Params, results: Mapping[str, Any]) -> CheckTable:
    """The chapter's closing checks on ``results`` (keyed by the step names of ``CHAPTER``).

    1. Phase transition (completion and sensing): a count where depths 3–4 recover while depth 2
       and the nuclear norm fail, and a larger one where all recover.
    2. Every sweep used its scale's integrator (the normalized step, or the flow); depth 1 ends
       at the zero-fill error (within 1e-2; only where the sweep ran depth 1).
    3. Conjecture test: the depth-2 nuclear norm exceeds the convex minimum by more than 0.1 %;
       the mean distance to the minimum-nuclear-norm solution grows at every smaller init and by
       ≥ 10 % overall; the median error and the mean effective rank fall at every smaller init;
       the deeper factorizations land on the ground truth.
    4. Plain GD and the normalized step end within 5 % of ‖W*‖_F, errors within a factor 2.
    5. SCS and ADMM agree: norms within 1e-4, minimizers within 1e-3 (relative).
    6. Instance study: every run fitted; t grows on ≥ 90 % of the instances; the tail and the
       top-r deficit fall on every instance; both directions of ‖W‖_* occur, the rising
       instances are the harder ones (median), and every instance at least as hard as the
       authors' rises.
    7. Commuting case: every depth fitted and ends within 1e-3 of the minimum trace and 1e-2
       of the commuting minimum-trace solution, closer at every smaller init; at depths ≥ 3 a
       rank-one feasible matrix has a Schatten-2/N quasi-norm ≥ 10 % smaller, and the commuting
       Schatten-2/N minimizer lies ≥ 0.5 ‖X_c‖_F away.
    """
    rows: list[Check] = []
    sweeps = {kind: results[kind] for kind in ("completion", "sensing")}
    for kind, sweep in sweeps.items():
        rows += _transition_rows(kind, sweep)
    for kind, sweep in sweeps.items():
        rows.append(check(f"{kind}-optimizer", "the sweep's optimizer (the scale's)",
                          sweep.optimizer, eq=getattr(p, kind).integrator))
    completion = sweeps["completion"]
    if 1 in [int(d) for d in completion.depths]:  # the paper scale runs depths 2–4 only
        rows.append(check("depth1-zero-fill", "largest |depth-1 error − zero-fill error|",
                          completion.zero_fill_deviation(), le=1e-2, fmt=".2g"))
    rows += _conjecture_rows(results["nuclear_norm_test"])
    rows += _optimizer_rows(results["optimizer_comparison"])
    rows += _solver_rows(results["solver_agreement"])
    rows += _instance_rows(results["instances"])
    rows += _commuting_rows(results["commuting"])
    return CheckTable(tuple(rows))
