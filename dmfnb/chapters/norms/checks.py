"""The closing checks of the chapter *Norms may not explain implicit regularization*.

One row per claim (and per depth or ε), each a measured number against the bound the
theory gives. Within a depth the worst run is measured, so a row passes exactly when
every run passes, and its text names the worst run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Check, CheckTable, check
from .compute import Runs
from .params import Params

__all__ = ["checks"]

# |W₁₁|·√(2ℓ) within 5 % of 1 (balanced), or of |1 + det W| (unbalanced).
FIT_TOL = 0.05
# Fewer records than this below p.fit_from would make the fit checks vacuous.
MIN_RECORDS = 10
# Norms may not decrease from ℓ = 1e-1 on, beyond rounding (relative).
NORM_LOSS = 0.1
NORM_DROP = 1e-9
# ‖W‖·√(2ℓ) at the end: at least this (the norms follow 1/√(2ℓ)).
NORM_FINAL = 0.95
# Final effective rank within this of 1.
RANK_TOL = 1e-3
# Depth 2: a plateau, far below the curve.
PLATEAU = 0.5
# det W(0) < 0: W₁₁ frozen after this loss, to this relative change.
FROZEN_FROM = 1e-5
FROZEN_TOL = 0.01
# Perturbed target: |εW₁₁ + 1| below this (W₁₁ within 2 % of −1/ε).
PERTURBED_TOL = 0.02


def _worst(values: np.ndarray, *, largest: bool = True) -> tuple[float, int]:
    # (worst value, its run): the largest (or smallest) over runs.
    b = int(np.argmax(values) if largest else np.argmin(values))
    return float(values[b]), b


def _balanced(p: Params, d: int, res: Runs) -> list[Check]:
    """Checks 1–3 at one depth ≥ 3 from det W(0) > 0."""
    kept = res.kept()
    r = res.ratio_below(p.fit_from)
    miss = float(np.max(np.abs(r - 1))) if r.size else np.inf
    small = res.loss < 0.5
    q = np.sqrt(2 * res.loss[small])
    gap = float((np.abs(res.w11[small]) - (1 - q) ** 2 / q).min())
    rows = [
        check(f"det-sign-{d}", f"depth {d}: runs keeping sign(det W)",
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
        check(f"bound-{d}",
              f"depth {d}: min |W₁₁| − (1−√(2ℓ))²/√(2ℓ), ℓ < 1/2", gap, ge=0),
    ]
    # From ℓ = 1e-1 on, per run: the norms' worst relative step and final ‖W‖√(2ℓ).
    drops, finals, ranks, falls = [], [], [], []
    for b in range(res.count):
        late = res.loss[:, b] <= NORM_LOSS
        q_end = np.sqrt(2 * res.loss[-1, b])
        for name in ("frobenius", "nuclear"):
            x = getattr(res, name)[late, b]
            drops.append((float(np.min(np.diff(x) / x[:-1])), name, b))
            finals.append((float(x[-1] * q_end), name, b))
        er = res.effective_rank[late, b]
        ranks.append(float(er[-1] - 1))
        falls.append(float(er[-1] - er[0]))
    drop, name, b = min(drops)
    rows.append(check(f"norms-grow-{d}",
                      f"depth {d}: min relative step of ‖W‖_F, ‖W‖_* (ℓ ≤ {NORM_LOSS:g})",
                      drop, ge=-NORM_DROP, measured=f"{drop:.2e} ({name}, run {b})"))
    final, name, b = min(finals)
    rows.append(check(f"norms-final-{d}", f"depth {d}: min final ‖W‖·√(2ℓ)", final,
                      ge=NORM_FINAL, measured=f"{final:.3f} ({name}, run {b})"))
    rank, b = _worst(np.array(ranks))
    rows.append(check(f"rank-one-{d}", f"depth {d}: max final effective rank − 1",
                      rank, le=RANK_TOL, measured=f"{rank:.2e} (run {b})"))
    fall, b = _worst(np.array(falls))
    rows.append(check(f"rank-falls-{d}",
                      f"depth {d}: max change of effective rank from ℓ = {NORM_LOSS:g}",
                      fall, lt=0, measured=f"{fall:.3g} (run {b})"))
    return rows


def _depth_two(res: Runs) -> list[Check]:
    """Check 4: depth 2 flips det W and plateaus below the curve."""
    flipped = ~res.kept()
    ratio, b = _worst(res.ratio()[-1])
    return [
        check("flip-2", "depth 2: runs whose det W changed sign", int(flipped.sum()),
              eq=res.count, measured=f"{flipped.sum()}/{res.count}"),
        check("plateau-2", "depth 2: max final |W₁₁|√(2ℓ)", ratio, lt=PLATEAU,
              measured=f"{ratio:.3f} (run {b})"),
    ]


def _unbalanced(p: Params, d: int, res: Runs) -> list[Check]:
    """Check 5: unbalanced start at depth ≥ 3: the law |W₁₁|√(2ℓ) ≈ |1 + det W|."""
    late = res.loss <= p.fit_from
    miss = res.law_miss()[late]
    worst = float(miss.max()) if miss.size else np.inf
    return [
        check(f"law-records-{d}", f"unbalanced depth {d}: records with ℓ ≤ {p.fit_from:g}",
              int(late.sum()), gt=MIN_RECORDS, fmt="g"),
        check(f"law-{d}", f"unbalanced depth {d}: max ||W₁₁|√(2ℓ) − |1 + det W||",
              worst, le=FIT_TOL, fmt=".4f", expected=f"≤ {FIT_TOL:g}"),
    ]


def _negative(p: Params, d: int, res: Runs) -> list[Check]:
    """Check 6: from det W(0) < 0 a finite solution, reached with W₁₁ frozen."""
    conv, kept = res.converged, res.kept()
    q = np.sqrt(2 * res.loss[-1])
    off = np.abs(res.det[-1] + 1)
    allowed = np.abs(res.final_w11()) * q + 2 * q + q**2
    excess, b = _worst(off - allowed)
    w_end = res.final_w11()
    move, m = _worst(np.abs(w_end - res.w11_at(FROZEN_FROM)) / np.maximum(1, np.abs(w_end)))
    return [
        check(f"neg-converged-{d}", f"det<0, depth {d}: runs reaching ℓ ≤ {p.negative_tol:g}",
              int(conv.sum()), eq=res.count, measured=f"{conv.sum()}/{res.count}"),
        check(f"neg-sign-{d}", f"det<0, depth {d}: runs keeping sign(det W)",
              int(kept.sum()), eq=res.count, measured=f"{kept.sum()}/{res.count}"),
        check(f"neg-det-{d}", f"det<0, depth {d}: final |det W + 1| (worst run)", excess,
              passed=bool(np.all(off <= allowed)),
              measured=f"{off[b]:.2e}, allowed {allowed[b]:.2e} (run {b})",
              expected="≤ (|W₁₁| + 2)√(2ℓ) + 2ℓ"),
        check(f"neg-frozen-{d}",
              f"det<0, depth {d}: max relative move of W₁₁ after ℓ = {FROZEN_FROM:g}",
              move, lt=FROZEN_TOL, measured=f"{move:.2e} (run {m})"),
    ]


def _perturbed(p: Params, eps: float, res: Runs) -> list[Check]:
    """Check 7: perturbed target: W₁₁ → −1/ε from det W(0) < 0."""
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
    for d, res in results["unbalanced"].items():
        if d >= 3:
            rows += _unbalanced(p, d, res)
    for d, res in results["negative_det"].items():
        rows += _negative(p, d, res)
    for eps, res in results["perturbed"].items():
        rows += _perturbed(p, eps, res)
    return CheckTable(tuple(rows), title="Checks: norms")
