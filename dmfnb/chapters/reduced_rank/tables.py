"""The tables of *Reduced-rank regression*, each a :class:`~dmfnb.infra.report.Table`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Table
from .compute import ClosedForm, Data, Dynamics, EscapeScaling, Staircase, StepSizeSweep, Violation

__all__ = ["data", "direct_fit", "escape", "modes", "numbers", "paper", "plateau", "scaling",
           "step_size", "violation"]


def data(d: Data) -> Table:
    """The data in numbers: sizes, residual loss, defect, orders, stability limit."""
    rows = (
        ("samples n", d.num_samples),
        ("inputs d_in", d.d_in),
        ("outputs d_out", d.d_out),
        ("residual loss min ℓ", f"{d.residual_loss:.4f}"),
        ("co-diagonalizability defect", f"{d.defect:.1e}"),
        ("orders by s_i and s_i/√λ_i agree", d.orders_agree),
        ("stability limit η_crit", f"{d.stability_limit:.4f}"),
    )
    return Table(("quantity", "value"), rows, title="The data")


def modes(d: Data) -> Table:
    """One row per mode: strength s_i, input variance λ_i, s_i/√λ_i and the optimum s_i/λ_i."""
    rows = tuple((i + 1, d.strengths[i], d.variances[i], d.rrr_strengths[i], d.values[i])
                 for i in range(d.rank))
    return Table(("mode", "s_i", "λ_i", "s_i/√λ_i", "s_i/λ_i"), rows, title="The modes",
                 formats={"s_i": ".3f", "λ_i": ".2f", "s_i/√λ_i": ".3f", "s_i/λ_i": ".3f"})


def direct_fit(cf: ClosedForm) -> Table:
    """The closed-form Ŵ_k against a direct rank-k fit: losses and relative distance."""
    rows = tuple(zip(cf.k, cf.loss_closed, cf.loss_direct, cf.distance, strict=True))
    return Table(("k", "ℓ(Ŵ_k)", "ℓ(direct fit)", "distance"), rows,
                 title="Closed form against a direct rank-k fit",
                 formats={"ℓ(Ŵ_k)": ".10f", "ℓ(direct fit)": ".10f", "distance": ".1e"},
                 note="distance: ‖Ŵ_k − direct fit‖_F / ‖W_ols‖_F")


def escape(st: Staircase) -> Table:
    """Rescaled escape iterations k_i / ln(1/ε) for every ε against the two predictions."""
    cols = [f"ε = {e:.0e}" for e in st.eps]
    resc, disc, cont = st.rescaled_escape(), st.predicted_rescaled(), st.continuous_rescaled()
    rows = tuple((i + 1, *resc[:, i], disc[i], cont[i]) for i in range(resc.shape[1]))
    columns = ("mode", *cols, "1/ln(1+ηs)", "1/(ηs)")
    return Table(columns, rows, title="Rescaled escape iteration k_i / ln(1/ε)",
                 formats={c: ".3f" for c in columns[1:]})


def plateau(st: Staircase, one: Dynamics) -> Table:
    """Plateau ratios min_t ‖W − Ŵ_k‖ / gap_k for every ε, two layers then one layer, and the
    fitted exponent of the two-layer ratios against ε (ratio ∝ ε^exponent)."""
    K = st.run.plateau_ratio.shape[1]
    ks = [f"k = {k}" for k in range(1, K + 1)]
    rows = [("two layers", f"{e:.0e}", *st.run.plateau_ratio[b]) for b, e in enumerate(st.eps)]
    rows += [("one layer", f"{e:.0e}", *one.plateau_ratio[b]) for b, e in enumerate(one.eps)]
    rows.append(("two layers", "exponent", *st.plateau_exponent))
    return Table(("model", "ε", *ks), tuple(rows),
                 title="Plateau ratio min_t ‖W − Ŵ_k‖ / gap_k",
                 formats={k: ".3g" for k in ks},
                 note="exponent: the log–log slope of the ratio against ε")


def scaling(sc: EscapeScaling) -> Table:
    """Fitted escape slopes at the small step (in flow time) and at the large step."""
    small, large = sc.small, sc.large
    rows = tuple((i + 1, small.flow_slopes()[i], 1 / sc.strengths[i], large.slopes[i],
                  large.discrete[i], large.continuous[i]) for i in range(len(sc.strengths)))
    columns = ("mode", "η·slope", "1/s", "slope", "1/ln(1+ηs)", "1/(ηs)")
    return Table(columns, rows,
                 title=f"Escape slopes dk/d ln(1/ε): η·slope at η = {small.lr:.3f}, "
                       f"slope at η = {large.lr:.3f}",
                 formats={c: ".3f" for c in columns[1:]},
                 note=f"log–log exponent of η·slope against s: {sc.flow_exponent:.4f} "
                      "(the 1/s law: −1)")


def step_size(sw: StepSizeSweep) -> Table:
    """Plateau ratio, final excess loss and last escape for each step size of the sweep."""
    rows = tuple((r.fraction, r.max_ratio(), r.final_excess,
                  "never" if np.isnan(r.escape[-1]) else r.escape[-1], r.predicted[-1])
                 for r in sw.runs)
    return Table(("η/η_crit", "max ratio", "final excess", "last escape", "predicted"), rows,
                 title=f"Step sizes around η_crit = {sw.stability_limit:.4f}, ε = {sw.eps:.0e}",
                 formats={"η/η_crit": ".2f", "max ratio": ".2e", "final excess": ".2e",
                          "last escape": ".1f", "predicted": ".1f"},
                 note="max ratio: largest plateau ratio; last escape: the weakest mode's; "
                      "predicted: ln(1/ε)/ln(1+ηs)")


def violation(vi: Violation) -> Table:
    """Defect, largest plateau ratio per ε and largest escape-slope error for each rotation."""
    cols = [f"ε = {e:.0e}" for e in vi.eps]
    rows = tuple((r.rotation, r.defect, *np.max(r.plateau_ratio, axis=1),
                  np.max(r.slope_error)) for r in vi.runs)
    columns = ("θ", "defect", *cols, "slope error")
    return Table(columns, rows, title="Rotated covariances: max plateau ratio at each ε",
                 formats={"θ": ".1f", "defect": ".3f", **{c: ".1e" for c in cols},
                          "slope error": ".2%"},
                 note="slope error: max |slope / (1/ln(1+ηs_i)) − 1| over the modes")


def paper(p, results: Mapping[str, Any]) -> list[Table]:
    """Our numbers beside what the theorems say (Gidel et al. 2019; Saxe et al. 2014)."""
    cf = results["closed_form_vs_direct"]
    st = results["staircase"]
    one = results["one_layer"]
    sc = results["escape_scaling"]
    i = st.run.index()
    rows = (
        ("closed form vs direct rank-k fit, distance", f"{cf.max_distance():.1e}", "0"),
        (f"plateau ratio at ε = {st.eps[i]:.0e}", f"{np.max(st.ratios()):.1e}",
         "→ 0 as ε → 0 (Gidel)"),
        ("escape vs 1/ln(1+ηs_i), rel. error", f"{np.max(st.escape_error()[i]):.1%}",
         "→ 0 as ε → 0 (Gidel)"),
        ("one layer: min plateau ratio", f"{np.min(one.plateau_ratio):.2f}",
         "O(1): no staircase"),
        ("flow time ∝ s^a: exponent a", f"{sc.flow_exponent:.3f}", "−1 (Saxe)"),
    )
    return [Table(("quantity", "ours", "paper"), rows,
                  title=f"Reduced-rank regression beside the papers ({p.scale} scale)",
                  note="Gidel: Gidel et al. (2019); Saxe: Saxe et al. (2014)")]


def numbers(p, results: Mapping[str, Any]) -> dict[str, Any]:
    """The numbers the chapter's prose quotes, by name (glued as ``reduced_rank-<name>``)."""
    cf = results["closed_form_vs_direct"]
    st = results["staircase"]
    one = results["one_layer"]
    sc = results["escape_scaling"]
    sw = results["step_size_sweep"]
    vi = results["assumption_violation"]
    lo, hi = st.run.index(), int(np.argmax(st.eps))
    err = st.escape_error()
    last = sw.by_fraction()[-1]
    return {
        "modes": cf.data.rank,
        "strengths": ", ".join(f"{s:.3g}" for s in cf.data.strengths),
        "defect": cf.data.defect,
        "lr-crit": cf.data.stability_limit,
        "direct-distance": cf.max_distance(),
        "lr": st.lr,
        "eps-min": float(st.eps[lo]),
        "eps-max": float(st.eps[hi]),
        "plateau-min-eps": float(np.max(st.ratios())),
        "plateau-max-eps": float(np.max(st.run.plateau_ratio[hi])),
        "exponent-min": float(np.min(st.plateau_exponent)),
        "exponent-max": float(np.max(st.plateau_exponent)),
        "escape-error-min-eps": float(np.max(err[lo])),
        "escape-error-max-eps": float(np.max(err[hi])),
        "lr-large": sc.large.lr,
        "slope-error-large": float(np.max(sc.large.discrete_error())),
        "continuous-miss": sc.continuous_miss(),
        "flow-exponent": sc.flow_exponent,
        "one-layer-min": float(np.min(one.plateau_ratio)),
        "last-fraction": last.fraction,
        "last-excess": last.final_excess,
        "rotated-defect": vi.rotated.defect,
        "rotated-farther": vi.farther(),
        "rotated-slope-error": float(np.max(vi.rotated.slope_error)),
    }
