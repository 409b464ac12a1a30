"""The closing checks of the chapter *Norms may not explain implicit regularization*.

One row per claim (and per depth or ε), each a measured number against the bound the
theory gives. Within a depth the worst run is measured, so a row passes exactly when
every run passes, and its text names the worst run.

Razin & Cohen's theorem is for gradient flow from a balanced start with det W(0) > 0,
conditional on ℓ → 0; the runs are gradient descent. So the rows test: that the runs
meet the condition ℓ → 0 (``converged``); that gradient descent at depth ≥ 3 keeps the
sign (``det-sign``, the authors' empirical finding, no theorem); that |W₁₁| and every
Schatten (quasi-)norm diverge at the rate 1/√(2ℓ) (``fit``, ``schatten-rate``,
``norms-grow``); and that the rank falls to one (``rank-one``, ``rank-falls``). No row
restates an inequality that holds for every W at loss ℓ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Check, CheckTable, check
from .compute import Runs
from .params import Params

__all__ = ["checks"]

# |W₁₁|·√(2ℓ) within 5 % of 1 (a diverging entry on the curve 1/√(2ℓ)).
FIT_TOL = 0.05
# Fewer records than this below p.fit_from would make the fit checks vacuous.
MIN_RECORDS = 10
# Norms may not decrease from ℓ = 1e-1 on, beyond rounding (relative).
NORM_LOSS = 0.1
NORM_DROP = 1e-9
# d ln‖W‖_{S_p} / d ln ℓ within this of −1/2 from p.fit_from down (a bounded norm gives 0).
RATE_TOL = 0.02
# Final effective rank within this of 1.
RANK_TOL = 1e-3
# Depth 2: a plateau, far below the curve.
PLATEAU = 0.5
# det W(0) < 0: W₁₁ frozen after this loss, to this relative change.
FROZEN_FROM = 1e-5
FROZEN_TOL = 0.01
# det W(0) < 0: final |W₁₁|√(2ℓ) below this (≈ 1 on the diverging branch).
FINITE = 0.1
# Perturbed target: |εW₁₁ + 1| below this (W₁₁ within 2 % of −1/ε).
PERTURBED_TOL = 0.02


def _worst(values: np.ndarray, *, largest: bool = True) -> tuple[float, int]:
    # (worst value, its run): the largest (or smallest) over runs.
    b = int(np.argmax(values) if largest else np.argmin(values))
    return float(values[b]), b


def _p(p: float) -> str:
    # 2/3 reads better than 0.667 in a row's text
    return "2/3" if np.isclose(p, 2 / 3) else f"{p:g}"


def _balanced(p: Params, d: int, res: Runs) -> list[Check]:
    """Depth ≥ 3 from a balanced det W(0) > 0: condition, sign, divergence, rank."""
    kept, conv = res.kept(), res.converged
    r = res.ratio_below(p.fit_from)
    miss = float(np.max(np.abs(r - 1))) if r.size else np.inf
    rows = [
        check(f"converged-{d}", f"depth {d}: runs reaching ℓ ≤ {p.tol:g} (ℓ → 0)",
              int(conv.sum()), eq=res.count, measured=f"{conv.sum()}/{res.count}"),
        check(f"det-sign-{d}", f"depth {d}: runs keeping sign(det W) (GD, empirical)",
              int(kept.sum()), eq=res.count,
              measured=f"{kept.sum()}/{res.count}"
                       + (f" (flipped: runs {np.flatnonzero(~kept).tolist()})"
                          if not kept.all() else "")),
        check(f"fit-records-{d}", f"depth {d}: records with ℓ ≤ {p.fit_from:g}",
              r.size, gt=MIN_RECORDS, fmt="g"),
        check(f"fit-{d}", f"depth {d}: max |1 − |W₁₁|√(2ℓ)|, ℓ ≤ {p.fit_from:g}",
              miss, le=FIT_TOL, expected=f"≤ {FIT_TOL:g}",
              measured=(f"{miss:.4f} (range {r.min():.4f}–{r.max():.4f})"
                        if r.size else "no records")),
    ]
    # The divergence rate of every Schatten (quasi-)norm, worst over p and runs.
    rates = [(float(abs(x + 0.5)) if np.isfinite(x) else np.inf, q, b)
             for q in p.schatten_ps
             for b, x in enumerate(res.divergence_rate(q, p.fit_from))]
    rate, q, b = max(rates)
    slope = res.divergence_rate(q, p.fit_from)[b]
    rows.append(check(
        f"schatten-rate-{d}",
        f"depth {d}: max |d ln‖W‖_Sp/d ln ℓ + 1/2|, p ∈ "
        f"{{{', '.join(_p(x) for x in p.schatten_ps)}}}, ℓ ≤ {p.fit_from:g}",
        rate, le=RATE_TOL, expected=f"≤ {RATE_TOL:g}",
        measured=f"{rate:.4f} (slope {slope:.4f}, p = {_p(q)}, run {b})"))
    # From ℓ = 1e-1 on, per run and p: the (quasi-)norms' worst relative step.
    drops, ranks, falls = [], [], []
    for b in range(res.count):
        late = res.loss[:, b] <= NORM_LOSS
        for q in p.schatten_ps:
            x = res.schatten(q)[late, b]
            drops.append((float(np.min(np.diff(x) / x[:-1])), q, b))
        er = res.effective_rank[late, b]
        ranks.append(float(er[-1] - 1))
        falls.append(float(er[-1] - er[0]))
    drop, q, b = min(drops)
    rows.append(check(f"norms-grow-{d}",
                      f"depth {d}: min relative step of ‖W‖_Sp over p (ℓ ≤ {NORM_LOSS:g})",
                      drop, ge=-NORM_DROP, measured=f"{drop:.2e} (p = {_p(q)}, run {b})"))
    rank, b = _worst(np.array(ranks))
    rows.append(check(f"rank-one-{d}", f"depth {d}: max final effective rank − 1",
                      rank, le=RANK_TOL, measured=f"{rank:.2e} (run {b})"))
    fall, b = _worst(np.array(falls))
    rows.append(check(f"rank-falls-{d}",
                      f"depth {d}: max change of effective rank from ℓ = {NORM_LOSS:g}",
                      fall, lt=0, measured=f"{fall:.3g} (run {b})"))
    return rows


def _depth_two(res: Runs) -> list[Check]:
    """Depth 2 under GD (empirical): det W flips and |W₁₁| plateaus below the curve."""
    flipped = ~res.kept()
    ratio, b = _worst(res.ratio()[-1])
    return [
        check("flip-2", "depth 2: runs whose det W changed sign (GD, empirical)", int(flipped.sum()),
              eq=res.count, measured=f"{flipped.sum()}/{res.count}"),
        check("plateau-2", "depth 2: max final |W₁₁|√(2ℓ)", ratio, lt=PLATEAU,
              measured=f"{ratio:.3f} (run {b})"),
    ]


def _unbalanced(results: Mapping[int, Runs]) -> list[Check]:
    """Unbalanced start, depths ≥ 3 (outside the theorem): det W does flip."""
    deep = [res for d, res in results.items() if d >= 3]
    if not deep:
        return []
    flipped = sum(int((~res.kept()).sum()) for res in deep)
    total = sum(res.count for res in deep)
    depths = ", ".join(str(res.depth) for res in deep)
    return [check("unbal-flips", f"unbalanced, depth {depths}: runs whose det W changed sign",
                  flipped, ge=1, fmt="g",
                  measured=f"{flipped}/{total}", expected="≥ 1")]


def _negative(p: Params, d: int, res: Runs) -> list[Check]:
    """det W(0) < 0 (outside the theorem): a finite solution, reached with W₁₁ frozen."""
    conv, kept = res.converged, res.kept()
    finite, f = _worst(np.abs(res.final_w11()) * np.sqrt(2 * res.loss[-1]))
    w_end = res.final_w11()
    move, m = _worst(np.abs(w_end - res.w11_at(FROZEN_FROM)) / np.maximum(1, np.abs(w_end)))
    return [
        check(f"neg-converged-{d}", f"det<0, depth {d}: runs reaching ℓ ≤ {p.negative_tol:g}",
              int(conv.sum()), eq=res.count, measured=f"{conv.sum()}/{res.count}"),
        check(f"neg-sign-{d}", f"det<0, depth {d}: runs keeping sign(det W)",
              int(kept.sum()), eq=res.count, measured=f"{kept.sum()}/{res.count}"),
        check(f"neg-finite-{d}", f"det<0, depth {d}: max final |W₁₁|√(2ℓ) (≈ 1 if diverging)",
              finite, lt=FINITE, measured=f"{finite:.2e} (run {f})"),
        check(f"neg-frozen-{d}",
              f"det<0, depth {d}: max relative move of W₁₁ after ℓ = {FROZEN_FROM:g}",
              move, lt=FROZEN_TOL, measured=f"{move:.2e} (run {m})"),
    ]


def _perturbed(p: Params, eps: float, res: Runs) -> list[Check]:
    """Perturbed target (outside the theorem): W₁₁ → −1/ε from det W(0) < 0."""
    ok = res.converged
    miss = np.abs(eps * res.final_w11()[ok] + 1)
    worst = float(miss.max()) if miss.size else 0.0
    kept = res.kept()[ok]
    return [
        check(f"pert-converged-{eps:g}", f"ε = {eps:g}: runs reaching ℓ ≤ {p.perturbed_tol:g}",
              int(ok.sum()), ge=res.count / 2, fmt="g",
              measured=f"{ok.sum()}/{res.count}", expected=f"≥ {res.count / 2:g}"),
        check(f"pert-sign-{eps:g}", f"ε = {eps:g}: converged runs keeping det W < 0",
              int(kept.sum()), eq=int(ok.sum()), measured=f"{kept.sum()}/{ok.sum()}"),
        check(f"pert-w11-{eps:g}", f"ε = {eps:g}: max |εW₁₁ + 1|, converged runs",
              worst, lt=PERTURBED_TOL, fmt=".2e", expected=f"< {PERTURBED_TOL:g}"),
    ]


def checks(p: Params, results: Mapping[str, Any]) -> CheckTable:
    """The chapter's closing checks on the results of every step of ``CHAPTER``."""
    runs = results["depths"]
    rows: list[Check] = []
    for d, res in runs.items():
        if d >= 3:
            rows += _balanced(p, d, res)
    if 2 in runs:
        rows += _depth_two(runs[2])
    rows += _unbalanced(results["unbalanced"])
    for d, res in results["negative_det"].items():
        rows += _negative(p, d, res)
    for eps, res in results["perturbed"].items():
        rows += _perturbed(p, eps, res)
    return CheckTable(tuple(rows), title="Checks: norms")
