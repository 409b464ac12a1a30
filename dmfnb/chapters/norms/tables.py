"""The tables of the chapter *Norms may not explain implicit regularization*.

Each function returns a :class:`dmfnb.infra.report.Table` (an HTML table in the notebook,
text in the CLI); :func:`paper` puts our numbers beside Razin & Cohen (2020)'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Table
from .compute import Runs, engine_lr, make_problem
from .params import Params

__all__ = ["convention", "depths", "flips", "negative", "norms_at", "paper",
           "perturbed", "perturbed_summary", "problem", "schatten", "settings",
           "speed", "unbalanced"]


def _kept(res: Runs) -> str:
    return f"{int(res.kept().sum())}/{res.count}"


def settings(p: Params) -> Table:
    """The scale and the settings every experiment shares."""
    rows = (("scale", p.scale), ("depths", ", ".join(map(str, p.depths))),
            ("seeds per depth", p.runs), ("stop at loss ℓ ≤", p.tol),
            ("step η on the ½Σ loss", p.lr), ("init std", p.init_std),
            ("init", p.init))
    return Table(("setting", "value"), rows, title="Settings")


def problem() -> Table:
    """The 2×2 completion problem: target entries and which are observed."""
    prob = make_problem()
    rows = tuple((f"W{i + 1}{j + 1}",
                  float(prob.target[i, j]) if prob.mask[i, j] else "∗",
                  bool(prob.mask[i, j]))
                 for i in range(2) for j in range(2))
    return Table(("entry", "target", "observed"), rows, title="The problem",
                 formats={"target": "g"})


def convention(p: Params) -> Table:
    """The chapter's step and stopping loss in the ½Σ and the engine's mean convention."""
    prob = make_problem()
    rows = (("step η", p.lr, engine_lr(p.lr, prob)),
            ("stop at loss", p.tol, p.tol * 2 / 3))
    return Table(("quantity", "½Σ loss", "engine (mean)"), rows,
                 title="Loss convention: ℓ = (3/2) ℓ_dm",
                 formats={"½Σ loss": ".3g", "engine (mean)": ".3g"})


def depths(p: Params, runs: Mapping[int, Runs]) -> Table:
    """Per depth (det W(0) > 0): steps, final |W₁₁|, the range of |W₁₁|√(2ℓ), det W."""
    rows = []
    for d, res in runs.items():
        r = res.ratio_below(p.fit_from)
        rows.append((d, float(res.stop_step.mean()),
                     float(np.abs(res.final_w11()).mean()),
                     float(r.min()), float(r.max()), _kept(res),
                     float(res.det[-1].mean()),
                     float(res.effective_rank[-1].mean())))
    return Table(("depth", "steps", "|W11|", "ratio min", "ratio max", "kept",
                  "det W", "eff. rank"), tuple(rows),
                 title="det W(0) > 0, balanced: means over seeds at the end",
                 note=f"ratio = |W11|√(2ℓ) over the records with ℓ ≤ {p.fit_from:g}; "
                      "kept: runs keeping sign(det W).",
                 formats={"steps": ",.0f", "|W11|": ".2f", "ratio min": ".3f",
                          "ratio max": ".3f", "det W": ".2g",
                          "eff. rank": ".5f"})


def norms_at(p: Params, runs: Mapping[int, Runs], run: int = 0) -> Table:
    """‖W‖_F, ‖W‖_* and the effective rank of one seed at ℓ = 1e-1, 1e-2 and ``p.tol``."""
    rows = []
    for d, res in runs.items():
        for level in (1e-1, 1e-2, p.tol):
            k = res.record_at(level, run)
            loss = float(res.loss[k, run])
            rows.append((d, loss, float(res.frobenius[k, run]),
                         float(res.nuclear[k, run]), 1 / np.sqrt(2 * loss),
                         float(res.effective_rank[k, run])))
    return Table(("depth", "loss", "‖W‖_F", "‖W‖_*", "1/√(2ℓ)", "eff. rank"),
                 tuple(rows), title=f"Norms and effective rank, seed {run}",
                 formats={"loss": ".2g", "‖W‖_F": ".3f", "‖W‖_*": ".3f",
                          "1/√(2ℓ)": ".3f", "eff. rank": ".6f"})


def schatten(p: Params, runs: Mapping[int, Runs]) -> Table:
    """Per depth and p: the divergence rate of ‖W‖_{S_p} and its final value × √(2ℓ)."""
    rows = []
    for d, res in runs.items():
        q_end = np.sqrt(2 * res.loss[-1])
        for q in p.schatten_ps:
            rate = res.divergence_rate(q, p.fit_from)
            final = res.schatten(q)[-1] * q_end
            rows.append((d, "2/3" if np.isclose(q, 2 / 3) else f"{q:g}",
                         float(rate.min()), float(rate.max()),
                         float(res.schatten(q)[-1].mean()), float(final.mean())))
    return Table(("depth", "p", "rate min", "rate max", "‖W‖_Sp", "‖W‖_Sp√(2ℓ)"),
                 tuple(rows), title="Schatten-p (quasi-)norms, at the end",
                 note=f"rate: slope of ln‖W‖_Sp against ln ℓ over ℓ ≤ {p.fit_from:g} "
                      "(−1/2: growing like 1/√(2ℓ)), over seeds; the last two "
                      "columns are means over seeds.",
                 formats={"rate min": ".4f", "rate max": ".4f", "‖W‖_Sp": ".2f",
                          "‖W‖_Sp√(2ℓ)": ".4f"})


def unbalanced(runs: Mapping[int, Runs]) -> Table:
    """Per run of the unbalanced start: sign kept, final det W, |W₁₁| and the law."""
    rows = []
    for d, res in runs.items():
        kept, ratio = res.kept(), res.ratio()[-1]
        for b in range(res.count):
            det = float(res.det[-1, b])
            rows.append((d, b, bool(kept[b]), det, abs(float(res.final_w11()[b])),
                         float(ratio[b]), abs(1 + det)))
    return Table(("depth", "run", "kept", "det W", "|W11|", "|W11|√(2ℓ)",
                  "|1 + det W|"), tuple(rows),
                 title="Unbalanced (authors' default) init, at the end",
                 formats={"det W": ".2g", "|W11|": ".2f", "|W11|√(2ℓ)": ".3f",
                          "|1 + det W|": ".3f"})


def negative(runs: Mapping[int, Runs]) -> Table:
    """Per run from det W(0) < 0: W₁₁ at ℓ = 1e-3, 1e-5 and at the end; final ℓ, det."""
    rows = []
    for d, res in runs.items():
        at3, at5 = res.w11_at(1e-3), res.w11_at(1e-5)
        for b in range(res.count):
            rows.append((d, b, float(at3[b]), float(at5[b]),
                         float(res.final_w11()[b]), float(res.loss[-1, b]),
                         float(res.det[-1, b])))
    return Table(("depth", "run", "W11 ℓ=1e-3", "W11 ℓ=1e-5", "W11",
                  "ℓ", "det W"), tuple(rows), title="det W(0) < 0, at the end",
                 formats={"W11 ℓ=1e-3": ".4f", "W11 ℓ=1e-5": ".4f",
                          "W11": ".4f", "ℓ": ".1e", "det W": ".4f"})


def perturbed(runs: Mapping[float, Runs]) -> Table:
    """Per run of the perturbed target: converged, steps, final ℓ, W₁₁ against −1/ε."""
    rows = []
    for eps, res in runs.items():
        kept = res.kept()
        for b in range(res.count):
            rows.append((eps, b, bool(res.converged[b]), int(res.stop_step[b]),
                         float(res.loss[-1, b]), float(res.final_w11()[b]),
                         -1 / eps, bool(kept[b])))
    return Table(("ε", "run", "conv.", "steps", "ℓ", "W11", "−1/ε", "kept"),
                 tuple(rows), title="Perturbed target [[∗, −2], [0.5, ε]]",
                 note="conv.: reached the stopping loss; kept: det W stayed < 0.",
                 formats={"ε": "g", "steps": ",d", "ℓ": ".1e", "W11": ".3f",
                          "−1/ε": ".2f"})


def perturbed_summary(runs: Mapping[float, Runs]) -> Table:
    """Per ε: converged runs and their mean W₁₁ against −1/ε."""
    rows = []
    for eps, res in runs.items():
        ok = res.converged
        w11 = float(res.final_w11()[ok].mean()) if ok.any() else None
        rows.append((eps, f"{int(ok.sum())}/{res.count}", w11, -1 / eps))
    return Table(("ε", "converged", "W11 (mean)", "−1/ε"), tuple(rows),
                 title="Perturbed target: converged runs",
                 formats={"ε": "g", "W11 (mean)": ".3f", "−1/ε": ".3f"})


def flips(runs: Mapping[float, Runs]) -> Table:
    """Per step size η: runs whose det W flipped, final |W₁₁| per run, mean steps."""
    rows = []
    for lr, res in runs.items():
        w11 = ", ".join(f"{abs(w):.2f}" for w in res.final_w11())
        rows.append((lr, f"{int((~res.kept()).sum())}/{res.count}", w11,
                     float(res.stop_step.mean())))
    return Table(("η", "flipped", "final |W11| per run", "steps"), tuple(rows),
                 formats={"η": "g", "steps": ",.0f"})


def speed(timing: Mapping[str, tuple[float, Mapping[Any, Runs]]]) -> Table:
    """CPU time and run-steps per second of each experiment: {name: (CPU s, results)}."""
    rows = []
    for name, (cpu, results) in timing.items():
        total = sum(res.run_steps() for res in results.values())
        rows.append((name, cpu, total, total / cpu))
    return Table(("experiment", "CPU s", "run-steps", "run-steps/s"), tuple(rows),
                 formats={"CPU s": ".1f", "run-steps": ",d", "run-steps/s": ",.0f"})


def paper(p: Params, results: Mapping[str, Any]) -> list[Table]:
    """Our numbers beside Razin & Cohen (2020)'s: |W₁₁| on the curve, signs, W₁₁ → −1/ε."""
    rows = []
    for d, res in results["depths"].items():
        loss = float(res.loss[-1].max())
        w11 = np.abs(res.final_w11())
        if d >= 3:
            theirs = f"1/√(2ℓ) = {1 / np.sqrt(2 * loss):.1f}; 70.7 at 1e-4"
        else:
            theirs = "plateau, ≈ 0.7–9"
        rows.append((f"depth {d}: |W11| at ℓ = {loss:.1e}",
                     f"{w11.min():.1f}–{w11.max():.1f}", theirs))
        rows.append((f"depth {d}: sign(det W) kept", _kept(res),
                     "all runs" if d >= 3 else "may flip"))
    for eps, res in results["perturbed"].items():
        rows.append((f"ε = {eps:g}: W11, median of runs",
                     f"{np.median(res.final[:, 0, 0]):.3f}", f"−1/ε = {-1 / eps:.3f}"))
    return [Table(("quantity", "ours", "paper"), tuple(rows),
                  title="Beside Razin & Cohen (2020)")]
