"""Every table of *Depth strengthens the low-rank bias*, as :class:`~dmfnb.infra.report.Table`.

Errors are ‖W − W*‖²_F / ‖W*‖²_F; medians are over ground truths. ``paper(p, results)`` puts our
numbers beside the authors' (Arora et al. 2019, 100×100 rank 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Table
from .compute import (
    CommutingTest,
    Conjecture,
    InstanceStudy,
    OptimizerComparison,
    SolverAgreement,
    Sweep,
    degrees_of_freedom,
    typical,
)
from .params import Params

__all__ = ["AUTHORS", "commuting", "conjecture_deep", "conjecture_inits", "conjecture_norms",
           "instance_summary", "instances", "optimizers", "paper", "paper_errors",
           "paper_findings", "setup", "solvers", "step_sizes", "sweep", "transitions",
           "zero_fill"]

# The authors' numbers for the 100×100 rank-5 setting (reconstruction error), read from their
# code's logs and blog post (the book's papers notes, §1): (low, high) ranges.
AUTHORS = {
    ("completion", 2000): {"nuclear": (0.106, 0.106), 2: (0.025, 0.10), 3: (2.6e-5, 2.6e-5),
                           4: (2e-5, 4e-5)},
    ("completion", 5000): {"nuclear": (1e-6, 1e-6), 2: (5e-6, 1e-4), 3: (4e-6, 4e-6),
                           4: (4e-6, 4e-6)},
    ("sensing", 2000): {"nuclear": (7e-4, 7e-4), 2: (4e-4, 3e-2), 3: (1e-5, 1e-5),
                        4: (1e-5, 1e-5)},
}
# The authors' size: r(2n − r) = 975 for 100×100 rank 5.
PAPER_DOF = degrees_of_freedom((100, 100), 5)


def _name(method) -> str:
    return "nuclear" if method == "nuclear" else f"depth {int(method)}"


def _size(shape) -> str:
    return "×".join(str(int(s)) for s in shape)


def _ints(values) -> str:
    return ", ".join(str(int(v)) for v in values) or "none"


def setup(p: Params) -> Table:
    """The two recovery tasks of the sweeps: size, rank, degrees of freedom, counts."""
    rows = []
    for kind in ("completion", "sensing"):
        block = getattr(p, kind)
        rows.append((kind, _size(block.shape), block.rank,
                     degrees_of_freedom(block.shape, block.rank), _ints(block.observations)))
    return Table(("task", "size", "rank", "r(2n−r)", "observations m"), tuple(rows),
                 title=f"The sweeps ({p.scale} scale)",
                 note=f"depths {', '.join(map(str, p.depths))}; {p.ground_truths} ground truths; "
                      f"init scale {p.init_scale:g}; stop at loss {p.tol:g}")


def sweep(sw: Sweep) -> Table:
    """Median error for every observation count and method; ``capped`` names the depths where
    some run stopped at the step cap above the loss tolerance."""
    methods = [int(d) for d in sw.depths] + (["nuclear"] if sw.has_nuclear else [])
    names = [f"N={m}" if m != "nuclear" else "nuclear" for m in methods]
    medians = {m: sw.median(m) for m in methods}
    rows = []
    for k, m in enumerate(sw.observations):
        capped = [str(int(d)) for d in sw.depths if not sw.converged_at(int(d))[:, k].all()]
        rows.append((int(m), float(sw.ratios[k]), *(float(medians[x][k]) for x in methods),
                     ", ".join(capped) or "–"))
    return Table(("m", "m/dof", *names, "capped"), tuple(rows),
                 title=f"{sw.kind.capitalize()}, {_size(sw.shape)}, rank {sw.rank}: "
                       "median error",
                 formats={"m/dof": ".2f", **{n: ".2g" for n in names}},
                 note=f"N: depth; capped: depths with a run stopped at {sw.max_steps:,} "
                      + (f"gradient evaluations; gradient flow (RK45, then RKC), {sw.dtype}"
                         if sw.optimizer == "flow" else f"steps; lr {sw.lr:g}, {sw.dtype}"))


def transitions(sweeps: Mapping[str, Sweep]) -> Table:
    """Per task, the counts where only depths 3–4 recover, and where all recover."""
    rows = []
    for kind, sw in sweeps.items():
        pt = sw.transition()
        rows.append((kind, _ints(pt.window),
                     ", ".join(f"{r:.2f}" for r in pt.window_ratios) or "none",
                     _ints(pt.all_recover)))
    pt = next(iter(sweeps.values())).transition()
    return Table(("task", "only 3–4: m", "m/dof", "all recover: m"), tuple(rows),
                 title="Where depth makes the difference",
                 note=f"only 3–4: depths 3–4 ≤ {pt.recover:g}, depth 2 and nuclear norm "
                      f"≥ {pt.fail:g} (medians)")


def zero_fill(sw: Sweep) -> Table:
    """Depth 1 against the zero-filled matrix, per observation count (completion); the depth-1
    column is empty where the sweep did not run depth 1 (the paper scale)."""
    n2 = float(np.prod(sw.shape))
    ran = 1 in [int(d) for d in sw.depths]
    depth1 = sw.median(1) if ran else [None] * len(sw.observations)
    rows = tuple((int(m), float(z), 1 - int(m) / n2, e) for m, z, e in
                 zip(sw.observations, typical(sw.zero_fill), depth1, strict=True))
    note = (f"largest |depth-1 − zero-fill| over all runs: {sw.zero_fill_deviation():.1e}"
            if ran else "the sweep ran no depth 1")
    return Table(("m", "zero-fill", "1 − m/n²", "depth 1"), rows,
                 title="Depth 1 ends at the zero-fill (medians)",
                 formats={"zero-fill": ".3f", "1 − m/n²": ".3f", "depth 1": ".3f"},
                 note=note)


def conjecture_norms(conj: Conjecture) -> Table:
    """Nuclear norms per ground truth: the truth's, the convex minimum, depth 2 at each init."""
    G = len(conj.min_nuclear)
    rows = [("ground truth ‖W*‖_*", *conj.target_nuclear),
            ("convex min ‖X‖_*", *conj.min_nuclear)]
    rows += [(f"depth 2, init {s:g}", *conj.nuclear[:, i])
             for i, s in enumerate(conj.init_scales)]
    cols = tuple(f"g={g}" for g in range(G))
    return Table(("nuclear norm", *cols), tuple(rows),
                 title=f"Completion, m = {conj.observations}: nuclear norms",
                 formats={c: ".3f" for c in cols}, note="g: ground truth")


def conjecture_inits(conj: Conjecture) -> Table:
    """Depth 2 at each init scale, and the convex solution: error, effective rank, distance."""
    rows = [(f"{s:g}", float(e), float(r), float(d)) for s, e, r, d in zip(
        conj.init_scales, conj.median_error(), conj.mean_effective_rank(),
        conj.mean_distance(), strict=True)]
    rows.append(("convex", float(np.median(conj.nn_error)),
                 float(np.mean(conj.nn_effective_rank)), None))
    return Table(("init", "error", "eff. rank", "to X_min"), tuple(rows),
                 title="Depth 2 as the init shrinks",
                 formats={"error": ".2e", "eff. rank": ".2f", "to X_min": ".3f"},
                 note="error: median; eff. rank and to X_min = ‖W − X_min‖_F/‖W*‖_F: means")


def conjecture_deep(conj: Conjecture) -> Table:
    """The deeper factorizations at the conjecture's instances."""
    G = len(conj.target_nuclear)
    cols = tuple(f"g={g}" for g in range(G))
    rows = tuple((int(d), conj.deep_median_error(int(d)), conj.deep_mean_effective_rank(int(d)),
                  *conj.deep_norm_ratio(int(d))) for d in conj.deep_depths)
    return Table(("depth", "error", "eff. rank", *cols), rows,
                 title="Deeper factorizations: ‖W‖_*/‖W*‖_* per ground truth",
                 formats={"error": ".2e", "eff. rank": ".2f", **{c: ".4f" for c in cols}},
                 note="error: median; eff. rank: mean; g: ground truth")


def solvers(agree: SolverAgreement) -> Table:
    """The minimum nuclear norms from both solvers, and their time per solve."""
    G = agree.nuclear.shape[1]
    cols = tuple(f"g={g}" for g in range(G))
    rows = tuple((name, *agree.nuclear[i], float(agree.seconds[i].mean()))
                 for i, name in enumerate(agree.solvers))
    return Table(("solver", *cols, "s/solve"), rows, title="Two convex solvers",
                 formats={**{c: ".4f" for c in cols}, "s/solve": ".2f"},
                 note=f"relative gap of the norms ≤ {agree.norm_gap.max():.1e}; "
                      f"‖X₁ − X₂‖_F/‖X₁‖_F ≤ {agree.distance.max():.1e}")


def optimizers(opt: OptimizerComparison) -> Table:
    """Plain GD against the normalized step: errors, steps, distance between the endpoints."""
    rows = []
    for i, d in enumerate(opt.depths):
        for k, m in enumerate(opt.observations):
            rows.append((int(d), int(m), opt.gd.error[i, k], opt.normalized.error[i, k],
                         int(opt.gd.steps[i, k]), int(opt.normalized.steps[i, k]),
                         opt.distance[i, k]))
    return Table(("depth", "m", "err GD", "err norm.", "steps GD", "steps norm.", "distance"),
                 tuple(rows),
                 title=f"{_size(opt.shape)} completion, rank {opt.rank}: plain GD "
                       f"(lr {opt.gd_lr:g}) vs normalized (lr {opt.lr:g})",
                 formats={"err GD": ".2e", "err norm.": ".2e", "steps GD": ",d",
                          "steps norm.": ",d", "distance": ".1e"},
                 note="distance: ‖W_GD − W_norm‖_F/‖W*‖_F")


def step_sizes(runs: Mapping[float, Sweep]) -> Table:
    """Error and effective rank per ground truth, and mean steps, for sweeps that differ only in
    the step size (``runs``: lr → a sweep at one observation count)."""
    rows = []
    first = next(iter(runs.values()))
    for d in first.depths:
        for lr, sw in runs.items():
            i = [int(x) for x in sw.depths].index(int(d))
            for g in range(sw.error.shape[1]):
                rows.append((int(d), f"{lr:g}", g, sw.error[i, g, 0],
                             sw.effective_rank[i, g, 0], int(sw.steps[i, g, 0])))
    return Table(("depth", "lr", "g", "error", "eff. rank", "steps"), tuple(rows),
                 title=f"Completion, m = {int(first.observations[0])}: two step sizes",
                 formats={"error": ".1e", "eff. rank": ".2f", "steps": ",d"},
                 note="g: ground truth")


def _arrow(a: float, b: float, fmt: str = ".2f") -> str:
    return f"{a:{fmt}}→{b:{fmt}}"


def instances(st: InstanceStudy) -> Table:
    """Per instance: hardness, ‖W‖_* − ‖W*‖_* at the largest and smallest init, the direction,
    and how the tail, the top-r deficit and t move between them."""
    s0, s1 = st.init_scales[0], st.init_scales[-1]
    gap, deficit = st.gap(), st.deficit()
    rows = tuple(
        (int(st.ground_truth[i]), int(st.observations[i]), 100 * st.relative_hardness()[i],
         gap[i, 0], gap[i, -1], "rise" if st.rising()[i] else "fall",
         _arrow(st.tail[i, 0], st.tail[i, -1]), _arrow(deficit[i, 0], deficit[i, -1]),
         _arrow(st.t[i, 0], st.t[i, -1]))
        for i in np.argsort(st.relative_hardness()))
    return Table(("g", "m", "hard %", f"gap {s0:g}", f"gap {s1:g}", "‖W‖_*", "tail",
                  "deficit", "t"), rows,
                 title=f"Depth 2 on {st.count} completion instances "
                       f"({_size(st.shape)}, rank {st.rank})",
                 formats={"hard %": ".2f", f"gap {s0:g}": "+.3f", f"gap {s1:g}": "+.3f"},
                 note=f"sorted by hardness (‖W*‖_* − min ‖X‖_*)/‖W*‖_*; gap = ‖W‖_* − ‖W*‖_* "
                      f"= tail − deficit; arrows: init {s0:g} → {s1:g}")


def instance_summary(st: InstanceStudy) -> Table:
    """The rising and the falling instances side by side (medians)."""
    rows = []
    for name, sel in (("rises", st.rising()), ("falls", ~st.rising())):
        if not sel.any():
            rows.append((name, 0, None, None, None, None))
            continue
        rows.append((name, int(sel.sum()), float(np.median(100 * st.relative_hardness()[sel])),
                     float(np.median(st.nn_error[sel])), float(np.median(st.gap()[sel, 0])),
                     float(np.median(st.t[sel, -1]))))
    return Table(("‖W‖_*", "instances", "hard %", "convex err", "gap first", "t last"),
                 tuple(rows), title="Which instances rise (medians)",
                 formats={"hard %": ".2f", "convex err": ".3f", "gap first": "+.3f",
                          "t last": ".2f"},
                 note=f"gap first: ‖W‖_* − ‖W*‖_* at init {st.init_scales[0]:g}; t last: "
                      f"at {st.init_scales[-1]:g}")


def commuting(ct: CommutingTest) -> Table:
    """Per depth: the distance to the commuting minimum-trace solution at each init, the trace
    and the Schatten-2/N value at the smallest, against the rank-one feasible matrix's."""
    rows = []
    for i, d in enumerate(ct.depths):
        inits = " → ".join(f"{a:.0e}" for a in ct.inits[i])
        rows.append((int(d), inits, " → ".join(f"{x:.1e}" for x in ct.distance[i]),
                     float(ct.trace[i, -1]), float(ct.schatten[i, -1]),
                     float(ct.rank_one_schatten[i]), float(ct.commuting_schatten_distance[i])))
    return Table(("N", "α", "‖W − X_c‖/‖X_c‖", "tr W", "Σλ^{2/N}", "rank one", "X_S"),
                 tuple(rows), title="Commuting measurements: every depth → minimum trace",
                 formats={"tr W": ".4f", "Σλ^{2/N}": ".3f", "rank one": ".3f", "X_S": ".2f"},
                 note=f"min tr X over PSD X (cvxpy) {ct.min_trace:.6f}; rank one: Σλ^{{2/N}} "
                      f"of vvᵀ, v = √diag X_c; X_S: ‖X_S − X_c‖/‖X_c‖ for the commuting "
                      f"Σλ^{{2/N}} minimizer; truth at {ct.truth_distance:.2f}")


def _paper_range(lo: float, hi: float) -> str:
    return f"{lo:.3g}" if lo == hi else f"{lo:.3g}–{hi:.3g}"


def _matching(sw: Sweep, m: int, max_ratio: float = 1.3) -> int | None:
    """Our count for the authors' ``m``: the same m, else the nearest multiple of r(2n − r)
    within a factor ``max_ratio``, else ``None``."""
    if int(m) in [int(x) for x in sw.observations]:
        return sw.index(m)
    k = sw.nearest(m / PAPER_DOF)
    return k if abs(np.log(sw.ratios[k] / (m / PAPER_DOF))) <= np.log(max_ratio) else None


def paper_errors(sweeps: Mapping[str, Sweep]) -> list[Table]:
    """Our errors beside the authors', one table per (task, m) they report.

    Each uses our run at the same m when there is one (paper scale), else the run whose
    m / r(2n − r) is closest to theirs, if within a factor 1.3.
    """
    tables = []
    for (kind, m), ref in AUTHORS.items():
        sw = sweeps.get(kind)
        if sw is None:
            continue
        k = _matching(sw, m)
        if k is None:
            continue
        rows = []
        for method, (lo, hi) in ref.items():
            if method == "nuclear" and not sw.has_nuclear:
                continue
            if method != "nuclear" and method not in [int(d) for d in sw.depths]:
                continue
            vals = sw.errors(method)[:, k]
            rows.append((_name(method), _paper_range(lo, hi), float(typical(vals)),
                         float(vals.min()), float(vals.max())))
        if rows:
            tables.append(Table(
                ("method", "paper", "ours", "min", "max"), tuple(rows),
                title=f"{kind.capitalize()} error: paper m = {m} ({m / PAPER_DOF:.2f}·dof), "
                      f"ours m = {int(sw.observations[k])} ({sw.ratios[k]:.2f}·dof)",
                formats={"ours": ".2g", "min": ".2g", "max": ".2g"},
                note=f"paper 100×100 rank 5; ours {_size(sw.shape)} rank {sw.rank}, "
                     f"median (min, max) of {sw.error.shape[1]} ground truths"))
    return tables


def paper_findings(sweeps: Mapping[str, Sweep], conj: Conjecture | None = None,
                   study: InstanceStudy | None = None) -> Table:
    """The phase-transition windows and the conjecture test beside the authors' findings."""
    rows = []
    expected = {"completion": "includes 2.05", "sensing": "– (all recover at 2.05)"}
    for kind, sw in sweeps.items():
        if sw.has_nuclear:
            pt = sw.transition()
            rows.append((f"{kind}: only 3–4 recover, m/dof",
                         ", ".join(f"{r:.2f}" for r in pt.window_ratios) or "none",
                         expected[kind]))
    note = ""
    if conj is not None:
        gap, dist = conj.gap(), conj.mean_distance()
        rows.append(("depth 2: ‖W‖_* − min ‖X‖_*", f"{gap[0]:.2f} → {gap[-1]:.2f}",
                     "> 0 (‖W‖_* 215.5 → 217.2)"))
        rows.append(("depth 2: ‖W − X_min‖_F/‖W*‖_F", f"{dist[0]:.3f} → {dist[-1]:.3f}",
                     "grows"))
        note = (f"depth 2: means over ground truths as the init shrinks "
                f"{conj.init_scales[0]:g} → {conj.init_scales[-1]:g}")
    if study is not None:
        from .checks import AUTHORS_HARDNESS

        rise = int(study.rising().sum())
        hard = study.relative_hardness() >= AUTHORS_HARDNESS
        rows.append(("depth 2: ‖W‖_* per instance", f"{rise} rise, {study.count - rise} fall",
                     "rises 215.5 → 217.2"))
        rows.append((f"rising, hardness ≥ {AUTHORS_HARDNESS:.1%}",
                     f"{int(study.rising()[hard].sum())} of {int(hard.sum())}",
                     f"theirs: {AUTHORS_HARDNESS:.1%}, rises"))
    return Table(("quantity", "ours", "paper"), tuple(rows),
                 title="Phase transition and the nuclear-norm conjecture", note=note)


def paper(p: Params, results: Mapping[str, Any]) -> list[Table]:
    """The chapter's numbers beside the papers' (the reproduce command and page)."""
    sweeps = {kind: results[kind] for kind in ("completion", "sensing") if kind in results}
    return [*paper_errors(sweeps), paper_findings(sweeps, results.get("nuclear_norm_test"),
                                                  results.get("instances"))]
