"""The closing checks of *Reduced-rank regression*: every claim of the chapter as a row."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

import numpy as np

from ...infra.report import CheckTable, check

__all__ = ["checks"]


def checks(p, results: Mapping[str, Any]) -> CheckTable:
    """The chapter's checks on ``results`` (step name → result, every step of ``CHAPTER``).

    The bounds are those of the theorem's regime at both scales: the closed form is exact (to
    the direct fit's 1e-4), the plateaus at the smallest ε lie within 1 % of a gap of the Ŵ_k,
    and the clocks hold to 1 % (discrete) and 2 % (gradient flow, where the small step still
    adds an O(η) bias).
    """
    cf = results["closed_form_vs_direct"]
    st = results["staircase"]
    one = results["one_layer"]
    sc = results["escape_scaling"]
    sw = results["step_size_sweep"]
    vi = results["assumption_violation"]
    data = cf.data
    eps_min = f"ε = {np.min(st.eps):.0e}"

    err = st.escape_error()
    small_run, large_run = sw.by_fraction()[0], sw.by_fraction()[-1]
    stable = [r for r in sw.by_fraction() if r.fraction < 1]
    blur = [r.max_ratio() for r in sw.by_fraction()]
    large_ok = large_run.diverged or large_run.final_excess > 1e-4
    aligned, rotated = vi.aligned, vi.rotated

    rows = (
        # 1. The closed form.
        check("closed-form", "max ‖Ŵ_k − direct rank-k fit‖ / ‖W_ols‖ over k",
              cf.max_distance(), lt=1e-4),
        check("closed-form-loss", "max ℓ(Ŵ_k) − ℓ(direct fit) over k (closed form never worse)",
              cf.max_gain(), le=1e-10),
        check("codiagonal", "co-diagonalizability defect of the data", data.defect, lt=1e-12),
        check("orders-agree", "orders by s_i and by s_i/√λ_i agree", data.orders_agree,
              eq=True, measured="yes" if data.orders_agree
              else f"no: s/√λ = {np.round(data.rrr_strengths, 3)}"),
        # 2. The plateaus are the Ŵ_k.
        check("plateaus", f"max plateau ratio min_t ‖W − Ŵ_k‖ / gap_k at {eps_min}",
              np.max(st.ratios()), lt=1e-2),
        check("plateaus-shrink", "max change of a plateau ratio as ε shrinks (negative: closer)",
              np.max(np.diff(st.run.plateau_ratio, axis=0)), lt=0),
        check("converges", f"final excess loss ℓ − min ℓ at {eps_min}",
              st.run.final_excess[st.run.index()], lt=1e-8),
        # 3. The curves collapse.
        check("collapse", f"max |rescaled escape / (1/ln(1+ηs_i)) − 1| at {eps_min}",
              np.max(err[st.run.index()]), lt=0.05),
        check("collapse-sharpens", f"max over modes of that error at {eps_min} over its "
              f"value at ε = {np.max(st.eps):.0e}",
              np.max(err[st.run.index()] / err[int(np.argmax(st.eps))]), lt=1),
        # 4. The discrete clock.
        check("clock-discrete", f"max |slope · ln(1+ηs_i) − 1| at η = {p.lr_fraction} η_crit",
              np.max(st.slope_error()), lt=0.01),
        check("clock-discrete-large", "max |slope · ln(1+ηs_i) − 1| at "
              f"η = {p.large_lr_fraction} η_crit",
              np.max(np.abs(sc.large.slopes * np.log1p(sc.large.lr * data.strengths) - 1)),
              lt=0.01),
        check("clock-not-continuous", "|slope / (1/(ηs_1)) − 1| for mode 1 at "
              f"η = {p.large_lr_fraction} η_crit", sc.continuous_miss(), gt=0.1),
        # 5. The gradient-flow clock.
        check("clock-flow", f"max |η · slope · s_i − 1| at η = {p.small_lr_fraction} η_crit",
              np.max(sc.flow_error()), lt=0.02),
        check("flow-exponent", "exponent a of η · slope ∝ s^a (Saxe et al.: −1)",
              sc.flow_exponent, gt=-1.02, lt=-0.98, fmt=".4g", expected="−1 ± 0.02"),
        # 6. One layer learns every mode at once.
        check("one-layer-far", "one layer: min plateau ratio (never near an intermediate Ŵ_k)",
              np.min(one.plateau_ratio), gt=0.3),
        check("one-layer-no-clock", "one layer: max spread of an escape iteration across ε",
              np.max(np.ptp(one.escape, axis=0)), lt=0.01),
        # 7. The step size.
        check("small-step-converges", f"final excess at η = {small_run.fraction} η_crit",
              small_run.final_excess, lt=1e-8),
        check("small-step-plateaus", f"max plateau ratio at η = {small_run.fraction} η_crit",
              small_run.max_ratio(), lt=1e-2),
        check("stable-converge", "max final excess over the steps below η_crit "
              f"({', '.join(f'{r.fraction}' for r in stable)})",
              max(r.final_excess for r in stable), lt=1e-8),
        check("plateaus-blur", "min growth factor of the max plateau ratio from one step size "
              "to the next", min(b / a for a, b in pairwise(blur)), gt=1),
        check("above-limit", f"final excess at η = {large_run.fraction} η_crit (no convergence)",
              large_run.final_excess, passed=large_ok,
              measured="diverged" if large_run.diverged else f"{large_run.final_excess:.3g}",
              expected="> 0.0001 or divergence"),
        # 8. The assumption.
        check("first-rotation", "the first rotation θ (the aligned reference)",
              aligned.rotation, eq=0.0),
        check("aligned-plateaus", f"θ = 0: max plateau ratio at {eps_min}",
              np.max(aligned.ratios()), lt=1e-2),
        check("aligned-clock", "θ = 0: max |slope / (1/ln(1+ηs_i)) − 1|",
              np.max(aligned.slope_error), lt=0.01),
        check("rotated-farther", f"θ = {rotated.rotation}: max plateau ratio over θ = 0's "
              f"at {eps_min}", vi.farther(), gt=10),
        check("rotated-clock", f"θ = {rotated.rotation}: max |slope / (1/ln(1+ηs_i)) − 1|",
              np.max(rotated.slope_error), gt=0.01),
    )
    return CheckTable(rows, title="Checks: reduced-rank regression")
