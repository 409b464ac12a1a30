"""The closing checks of the chapter *R saddles for rank R*, as rows of a :class:`CheckTable`.

Each row takes the worst case over the runs it covers (so it fails as soon as one run does) and
names that run in its measured value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Check, CheckTable, check
from .compute import CriticalPoints, GlrlComparison, Landscape, NuclearComparison, Staircase

__all__ = ["checks", "critical_checks", "glrl_checks", "landscape_checks", "nuclear_checks",
           "stage_checks"]


def _runs(seq) -> str:
    # Per-run values side by side, runs separated by "|": "0 | 0 1 | 0 1 2" for three runs.
    return " | ".join(" ".join(str(v) for v in s) if isinstance(s, tuple) else str(s)
                      for s in seq)


def stage_checks(stair: Mapping[int, Staircase]) -> list[Check]:
    """Per depth: R drops; rank k on plateau k and R at the end; rises of +1, one per drop."""
    rows = []
    for depth, res in stair.items():
        runs = res.runs
        ranks = res.ranks()
        tag = f"depth {depth}, runs R = {', '.join(map(str, ranks))}"
        rows.append(check(f"d{depth}-drops", f"{tag}: drops detected", res.counts(),
                          eq=ranks, measured=_runs(res.counts()), expected=f"= {_runs(ranks)}"))
        got = tuple(r.plateau_ranks() for r in runs)
        want = tuple(tuple(range(r.rank)) for r in runs)
        rows.append(check(f"d{depth}-plateau-ranks", f"{tag}: numerical rank on each plateau",
                          got, eq=want, measured=_runs(got), expected=f"= {_runs(want)}"))
        final = tuple(r.final_rank for r in runs)
        rows.append(check(f"d{depth}-final-rank", f"{tag}: final numerical rank", final,
                          eq=ranks, measured=_runs(final), expected=f"= {_runs(ranks)}"))
        changes = [r.rank_changes() for r in runs]
        counts = tuple(len(c) for c in changes)
        steps = sorted({int(v) for c in changes for v in c})
        ok = counts == ranks and set(steps) <= {1}
        rows.append(check(f"d{depth}-rises", f"{tag}: rank changes (count; sizes)", counts,
                          passed=ok, measured=f"{_runs(counts)}; sizes {steps}",
                          expected=f"= {_runs(ranks)}; sizes [1]"))
        per_drop = tuple(r.rises_per_drop() for r in runs)
        want = tuple((1,) * r.rank for r in runs)
        rows.append(check(f"d{depth}-rise-per-drop", f"{tag}: rank rises inside each drop",
                          per_drop, eq=want, measured=_runs(per_drop),
                          expected=f"= {_runs(want)}"))
    return rows


def landscape_checks(land: Landscape) -> list[Check]:
    """Per depth: plateaus are saddles (small gradient, λ_min < 0 along the next pair, as
    predicted) and end points are second-order critical with R(n+m−R) curved directions."""
    rows = []
    for depth in land.depths():
        plats = land.plateaus_at(depth)

        def worst(key, pick, plats=plats):
            r = pick(plats, key=key)
            return key(r), f"R = {r.rank}, k = {r.stage}"

        g, where = worst(lambda r: r.grad_ratio, max)
        rows.append(check(f"d{depth}-plateau-gradient",
                          f"depth {depth}: max over plateaus of ‖∇L‖ / max_t ‖∇L‖", g,
                          le=0.1, measured=f"{g:.3g} ({where})"))
        lam, where = worst(lambda r: r.lambda_min, max)
        rows.append(check(f"d{depth}-plateau-negative",
                          f"depth {depth}: largest plateau λ_min", lam, lt=0,
                          measured=f"{lam:.3e} ({where})"))
        a, where = worst(lambda r: r.alignment, min)
        rows.append(check(f"d{depth}-plateau-alignment",
                          f"depth {depth}: min alignment with (u_k+1, v_k+1), both sides", a,
                          ge=0.95, measured=f"{a:.3f} ({where})"))
        d, where = worst(lambda r: r.partial_svd_distance, max)
        rows.append(check(f"d{depth}-plateau-partial-svd",
                          f"depth {depth}: max over plateaus of ‖W − W_k‖ / ‖W*‖", d,
                          le=0.05, measured=f"{d:.2e} ({where})"))
        # The scalar model is exact at depth 2 and leading-order at depth ≥ 3.
        tol = 0.02 if depth == 2 else 0.25
        e, where = worst(lambda r: abs(r.ratio - 1), max)
        rows.append(check(f"d{depth}-plateau-prediction",
                          f"depth {depth}: max |λ_min / predicted − 1| over plateaus", e,
                          le=tol, measured=f"{e:.3g} ({where})"))
        ends = land.ends_at(depth)
        low = min(ends, key=lambda r: r.relative_min)
        rows.append(check(f"d{depth}-end-second-order",
                          f"depth {depth}: min over end points of λ_min / λ_max",
                          low.relative_min, ge=-1e-6,
                          measured=f"{low.relative_min:.2e} (R = {low.rank})"))
        curved = tuple(r.curved for r in ends)
        want = tuple(r.curved_expected for r in ends)
        rows.append(check(f"d{depth}-end-curved",
                          f"depth {depth}: curved Hessian directions at the end, R = "
                          f"{_runs(tuple(r.rank for r in ends))}", curved, eq=want,
                          measured=_runs(curved), expected=f"= R(n+m−R) = {_runs(want)}"))
    return rows


def glrl_checks(p, cmp: GlrlComparison) -> list[Check]:
    """GLRL stops at rank ``p.glrl_rank`` on a fit; GD approaches its plateaus as α shrinks,
    polynomially faster at the deeper of ``p.glrl_depths``."""
    glrl = cmp.glrl
    ranks = cmp.stage_ranks()
    rows = [
        check("glrl-rank", "GLRL stages run", glrl.rank, eq=p.glrl_rank),
        check("glrl-stop", "GLRL: the eigenvalue λ that stopped it", cmp.stop_eigenvalue,
              le=1e-8, fmt=".1e"),
        check("glrl-loss", "GLRL: loss of the final stage", float(glrl.losses[-1]), le=1e-12,
              fmt=".1e"),
        check("glrl-stage-ranks", "GLRL: rank of each stage W_r", ranks,
              eq=tuple(range(1, glrl.rank + 1)), measured=_runs(ranks),
              expected=f"= {_runs(tuple(range(1, glrl.rank + 1)))}"),
    ]
    for depth, d in cmp.depths.items():
        step = float(np.max(np.diff(d.plateau_distance)))
        rows.append(check(f"glrl-d{depth}-monotone",
                          f"depth {depth}: largest change of the GLRL distance as α shrinks",
                          step, lt=0, fmt=".2e", expected="< 0"))
    shallow, deep = min(cmp.depths), max(cmp.depths)
    s2, s3 = cmp.depths[shallow].slope, cmp.depths[deep].slope
    rows.append(check("glrl-slope",
                      f"log–log slope of the distance in α: depth {deep} vs 2 × depth {shallow}",
                      s3, ge=2 * s2, fmt=".2f",
                      expected=f"≥ 2 × {s2:.2f} = {2 * s2:.2f}"))
    gap = cmp.gap(shallow, deep)
    rows.append(check("glrl-gap",
                      f"at α = {cmp.scales[-1]:.0e}: depth-{shallow} / depth-{deep} distance",
                      gap, ge=100, fmt=".1f"))
    return rows


def critical_checks(crit: CriticalPoints) -> list[Check]:
    """Balanced factorizations of W_k are critical, an unbalanced one is not; the saddles are
    strict at depth 2 and degenerate at depth ≥ 3, where the loss falls at order N."""
    pts = crit.points
    worst = max(pts, key=lambda c: c.grad_balanced / c.next_sv)
    rows = [check("crit-balanced",
                  "balanced factorizations of W_k, k < R, all depths: max ‖∇L‖ / σ_{k+1}",
                  worst.grad_balanced / worst.next_sv, le=1e-10, fmt=".1e",
                  measured=f"{worst.grad_balanced / worst.next_sv:.1e} "
                           f"(N = {worst.depth}, k = {worst.k})")]
    off = max(pts, key=lambda c: abs(c.grad_ratio - 1))
    gap = max(c.product_gap / c.next_sv for c in pts)
    low = min(c.grad_unbalanced / c.next_sv for c in pts)
    ok = abs(off.grad_ratio - 1) <= 1e-6 and gap <= 1e-12
    rows.append(check("crit-unbalanced",
                      f"unbalanced factorizations of the same W_k (c = {crit.unbalance:g}): "
                      "‖∇L‖ against c^(N−1) σ_{k+1}; same product", abs(off.grad_ratio - 1),
                      passed=ok,
                      measured=f"max |ratio − 1| {abs(off.grad_ratio - 1):.1e} "
                               f"(N = {off.depth}, k = {off.k}); min ‖∇L‖/σ_{{k+1}} {low:.3g}; "
                               f"max |ΔW|/σ_{{k+1}} {gap:.1e}",
                      expected="|ratio − 1| ≤ 1e-6 (‖∇L‖ ≠ 0); |ΔW| ≤ 1e-12"))
    for depth in crit.depths():
        at = crit.at(depth)
        if depth == 2:
            e = max(abs(c.lambda_min / -c.next_sv - 1) for c in at)
            rows.append(check("d2-saddle-strict",
                              "depth 2, exact saddles W_k: max |λ_min / (−σ_{k+1}) − 1|", e,
                              le=1e-8, fmt=".1e"))
        else:
            c = min(at, key=lambda c: c.lambda_min / c.zero_level)
            neg = tuple(x.counts()[0] for x in at)
            rows.append(check(f"d{depth}-saddle-degenerate",
                              f"depth {depth}, exact saddles W_k, k = 0…{crit.rank - 1}: "
                              "negative Hessian eigenvalues; min λ_min", neg,
                              eq=(0,) * len(at),
                              measured=f"{_runs(neg)}; min λ_min {c.lambda_min:.1e} (k = {c.k})",
                              expected=f"= {_runs((0,) * len(at))} (|λ| ≤ {c.zero_level:.0e} "
                                       "is zero)"))
        o = max(at, key=lambda c: abs(c.escape_order - depth))
        rows.append(check(f"d{depth}-escape-order",
                          f"depth {depth}: order in τ of the loss decrease along the escape "
                          "path", abs(o.escape_order - depth), le=0.05,
                          measured=f"{o.escape_order:.4f} (k = {o.k})",
                          expected=f"{depth} ± 0.05"))
    return rows


def nuclear_checks(nn: NuclearComparison) -> list[Check]:
    """On the sparse instance GLRL's limit fits the observations with a larger trace than the
    PSD minimum; gradient descent moves towards GLRL, not the minimum, as α shrinks."""
    sp = nn["sparse"]
    rows = [
        check("nn-gap", f"{sp.pairs} pairs: (tr W_GLRL − min tr) / min tr over PSD fits",
              sp.relative_gap, ge=0.01, fmt=".3f",
              measured=f"{sp.relative_gap:.3f} ({sp.glrl_trace:.4f} vs {sp.min_trace:.4f})"),
    ]
    fit = max(sp.glrl_violation, sp.psd_violation)
    rows.append(check("nn-fit", "both fit: max residual on the observed entries; GLRL stages "
                      "converged", fit, passed=fit <= 1e-5 and sp.glrl_converged,
                      measured=f"GLRL {sp.glrl_violation:.1e}, min tr {sp.psd_violation:.1e}; "
                               f"converged {sp.glrl_converged}",
                      expected="≤ 1e-5; converged True"))
    shallow, deep = min(sp.gd_traces), max(sp.gd_traces)
    steps = np.diff(sp.gd_traces[shallow])
    rows.append(check(f"nn-d{shallow}-away",
                      f"depth {shallow} GD as α shrinks: smallest rise of tr W (away from the "
                      "minimum)", float(steps.min()), gt=0, fmt=".3g",
                      measured=f"{steps.min():.3g} (tr {sp.gd_traces[shallow][0]:.3f} → "
                               f"{sp.gd_traces[shallow][-1]:.3f})"))
    dist = float(sp.gd_distance[deep][-1])
    rows.append(check(f"nn-d{deep}-glrl",
                      f"depth {deep} GD from α = {sp.scales[-1]:.0e}: "
                      "‖W − W_GLRL‖ / ‖W*‖", dist, le=1e-3, fmt=".1e"))
    return rows


def checks(p, results: Mapping[str, Any]) -> CheckTable:
    """The chapter's closing checks on ``results`` (keyed by the step names of ``CHAPTER``)."""
    return CheckTable((
        *stage_checks(results["staircase"]),
        *landscape_checks(results["landscape"]),
        *critical_checks(results["critical_points"]),
        *glrl_checks(p, results["glrl_comparison"]),
        *nuclear_checks(results["nuclear_comparison"]),
    ))
