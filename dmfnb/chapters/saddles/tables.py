"""Every table of the chapter *R saddles for rank R*, as :class:`~dmfnb.infra.report.Table`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...infra.report import Table
from .compute import CriticalPoints, GlrlComparison, Landscape, NuclearComparison, Staircase

__all__ = ["critical", "ends", "glrl_distances", "glrl_stages", "nuclear", "nuclear_gd", "paper",
           "plateaus", "stages", "summary"]


def stages(stair: Mapping[int, Staircase]) -> Table:
    """Per run: drops detected, the numerical rank on each plateau and at the end, final loss."""
    rows = [(depth, r.rank, r.count, " ".join(map(str, r.plateau_ranks())), r.final_rank,
             float(r.loss[-1]))
            for depth, res in stair.items() for r in res.runs]
    return Table(("depth", "R", "drops", "rank on each plateau", "final rank", "final loss"),
                 tuple(rows), title="The detected staircase", formats={"final loss": ".1e"})


def plateaus(land: Landscape) -> Table:
    """Per plateau: gradient, λ_min against the prediction, alignment with the next pair."""
    rows = [(r.depth, r.rank, r.stage, r.step, r.grad_ratio, r.lambda_min, r.predicted,
             r.ratio, r.alignment_u, r.alignment_v) for r in land.plateaus]
    return Table(("N", "R", "k", "step", "‖∇L‖/max", "λ_min", "pred.", "ratio", "align u",
                  "align v"), tuple(rows), title="The Hessian at each plateau",
                 formats={"‖∇L‖/max": ".1e", "λ_min": ".4f", "pred.": ".4f", "ratio": ".3f",
                          "align u": ".3f", "align v": ".3f"},
                 note="pred.: the scalar model (eq-saddles-lmin); ratio = λ_min / pred.")


def ends(land: Landscape) -> Table:
    """Per end point: loss, extreme eigenvalues, flat and curved directions against R(n+m−R)."""
    rows = [(r.depth, r.rank, r.loss, r.lambda_min, r.lambda_max, r.flat, r.curved,
             r.curved_expected, r.size) for r in land.ends]
    return Table(("N", "R", "loss", "λ_min", "λ_max", "flat", "curved", "R(n+m−R)",
                  "params"), tuple(rows), title="The Hessian at each end point",
                 formats={"loss": ".1e", "λ_min": ".2e", "λ_max": ".2f"})


def glrl_stages(cmp: GlrlComparison) -> Table:
    """GLRL's stages: the eigenvalue that opened each, its rank, loss and steps."""
    g = cmp.glrl
    rows = [(r + 1, float(g.eigenvalues[r]), rank, float(g.losses[r]), int(g.steps[r]))
            for r, rank in enumerate(cmp.stage_ranks())]
    return Table(("stage r", "λ_r", "rank W_r", "loss ℓ(W_r)", "steps"), tuple(rows),
                 title=f"GLRL: {g.rank} stages",
                 formats={"λ_r": ".4f", "loss ℓ(W_r)": ".2e"},
                 note=f"stopped with λ = {cmp.stop_eigenvalue:.1e}")


def glrl_distances(cmp: GlrlComparison) -> Table:
    """Closest approach of GD to the GLRL plateaus, per scale α and depth, with the slopes."""
    depths = list(cmp.depths)
    rows = [(float(a), *(float(cmp.depths[d].plateau_distance[i]) for d in depths))
            for i, a in enumerate(cmp.scales)]
    cols = tuple(f"depth {d}" for d in depths)
    slopes = ", ".join(f"depth {d} {cmp.depths[d].slope:.2f}" for d in depths)
    return Table(("α", *cols), tuple(rows),
                 title="max_r min_t ‖W(t) − W_r‖/‖W*‖ over the plateaus W_1 … W_{R−1}",
                 formats={"α": ".0e", **{c: ".2e" for c in cols}},
                 note=f"log–log slope in α: {slopes}")


def critical(crit: CriticalPoints) -> Table:
    """Per depth and k: the Hessian's sign counts at the balanced factorization of W_k, its
    gradient, an unbalanced factorization's gradient, and the order of the escape."""
    rows = [(c.depth, c.k, *c.counts(), c.lambda_min, c.lambda_max, c.grad_balanced,
             c.grad_unbalanced, c.escape_order) for c in crit.points]
    return Table(("N", "k", "λ < 0", "λ = 0", "λ > 0", "λ_min", "λ_max", "‖∇L‖ bal.",
                  "‖∇L‖ unbal.", "order"), tuple(rows),
                 title=f"Exact factorizations of W_k (rank-{crit.rank} target)",
                 formats={"λ_min": ".2e", "λ_max": ".2f", "‖∇L‖ bal.": ".0e",
                          "‖∇L‖ unbal.": ".3f", "order": ".3f"},
                 note=f"unbal.: same W_k, W_2 … W_N moved by c = {crit.unbalance:g}; "
                      "order: of the loss decrease along the escape path")


def nuclear(nn: NuclearComparison) -> Table:
    """Per instance: GLRL's limit against the minimum-trace PSD fit and the unconstrained
    minimum nuclear norm."""
    rows = []
    for i in nn.instances.values():
        W = i.glrl_stages[-1]
        rows.append((i.name, i.pairs, len(i.glrl_stages), i.glrl_trace, i.min_trace,
                     i.relative_gap, i.rank_of(i.psd_min), i.error(W), i.error(i.psd_min),
                     i.nuclear_min, i.nuclear_min_eig))
    return Table(("", "pairs", "rk", "tr GLRL", "min tr", "gap", "rk min", "err",
                  "err min", "‖X‖_*", "λ_min X"), tuple(rows),
                 title="GLRL's limit and the minimum nuclear norm",
                 formats={"tr GLRL": ".4f", "min tr": ".4f", "gap": ".1e",
                          "err": ".0e", "err min": ".0e", "‖X‖_*": ".3f",
                          "λ_min X": ".0e"},
                 note="rk: GLRL's stages; min tr: over PSD fits; gap: relative; "
                      "‖X‖_*: min over all X\n(min_nuclear_norm), λ_min X its lowest "
                      "eigenvalue; err: ‖W − W*‖_F/‖W*‖_F")


def nuclear_gd(nn: NuclearComparison, name: str = "sparse") -> Table:
    """Gradient descent on one instance: tr W and the distance to GLRL's limit per α."""
    i = nn[name]
    depths = list(i.gd_traces)
    rows = [(float(a), *(v for d in depths
                         for v in (float(i.gd_traces[d][j]), float(i.gd_distance[d][j]))))
            for j, a in enumerate(i.scales)]
    cols = tuple(c for d in depths for c in (f"tr W, N = {d}", f"to GLRL, N = {d}"))
    return Table(("α", *cols), tuple(rows),
                 title=f"Gradient descent on the {i.pairs}-pair instance",
                 formats={"α": ".0e", **{c: (".4f" if c.startswith("tr") else ".1e")
                                         for c in cols}},
                 note=f"to GLRL: ‖W − W_GLRL‖_F/‖W*‖_F; tr W_GLRL = {i.glrl_trace:.4f}, "
                      f"min tr = {i.min_trace:.4f}")


def summary(stair: Mapping[int, Staircase], land: Landscape) -> Table:
    """Per depth: drops per rank, the range of plateau λ_min and of measured/predicted, the
    largest plateau gradient and the smallest alignment."""
    rows = []
    for depth, res in stair.items():
        sel = land.plateaus_at(depth)
        lams = [r.lambda_min for r in sel]
        ratios = [r.ratio for r in sel]
        rows.append((depth, " ".join(map(str, res.counts())), min(lams), max(lams),
                     min(ratios), max(ratios), max(r.grad_ratio for r in sel),
                     min(r.alignment for r in sel)))
    return Table(("N", "drops", "min λ_min", "max λ_min", "min ratio", "max ratio",
                  "max ‖∇L‖", "min align"), tuple(rows), title="The plateaus, per depth",
                 formats={"min λ_min": ".3f", "max λ_min": ".4f", "min ratio": ".3f",
                          "max ratio": ".3f", "max ‖∇L‖": ".3f", "min align": ".3f"},
                 note="drops: for the targets of rank "
                      + ", ".join(map(str, next(iter(stair.values())).ranks()))
                      + "; ratio: measured λ_min / predicted; ‖∇L‖: over the run's largest")


def paper(p, results: Mapping[str, Any]) -> list[Table]:
    """Our numbers beside what Cao et al. (2023) and Li et al. (2021) state."""
    rows = []
    for depth, res in results["staircase"].items():
        ranks = res.ranks()
        rows.append((f"depth {depth}: loss drops, R = {', '.join(map(str, ranks))}",
                     ", ".join(map(str, res.counts())), "R each (Cao et al.)"))
    land = results["landscape"]
    negative = sum(r.lambda_min < 0 for r in land.plateaus)
    rows.append(("plateaus with λ_min < 0", f"{negative}/{len(land.plateaus)}",
                 "all (Cao et al.)"))
    worst = min(r.relative_min for r in land.ends)
    rows.append(("end points: min λ_min/λ_max", f"{worst:.1e}", "≥ 0 (second-order critical)"))
    cmp = results["glrl_comparison"]
    shallow, deep = min(cmp.depths), max(cmp.depths)
    rows.append((f"GD→GLRL slope in α, depth {shallow} / {deep}",
                 f"{cmp.depths[shallow].slope:.2f} / {cmp.depths[deep].slope:.2f}",
                 f"depth {deep} steeper (Li et al.)"))
    crit = results["critical_points"]
    neg = ", ".join(f"{d}: {max(c.counts()[0] for c in crit.at(d))}" for d in crit.depths())
    rows.append(("saddles W_k: λ < 0 (most), N =", neg, "none at N ≥ 3 (ours)"))
    sp = results["nuclear_comparison"]["sparse"]
    rows.append((f"{sp.pairs} pairs: tr W_GLRL vs min tr (PSD)",
                 f"{sp.glrl_trace:.3f} vs {sp.min_trace:.3f}", "can differ (Li et al.)"))
    return [Table(("quantity", "ours", "paper"), tuple(rows),
                  title=f"R saddles for rank R beside the papers ({p.scale} scale)")]
