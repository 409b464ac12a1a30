"""The tables of the chapter *Beyond matrices: tensor factorization*.

Each function returns a :class:`dmfnb.infra.report.Table`; :func:`paper` puts our setup and
numbers beside Razin, Maman & Cohen (2021)'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...infra.report import Table
from .compute import Incremental, Recovery, TheoremCheck
from .params import PAPER, Params

__all__ = ["incremental", "law", "paper", "recovery", "settings"]


def settings(p: Params) -> Table:
    """The scale and the settings every experiment shares."""
    rows = (("scale", p.scale), ("tensor", f"order {p.order}, {p.dim} per mode"),
            ("ground truth", f"CP rank {p.truth_rank}, ‖W*‖ = {p.truth_norm:g}"),
            ("components R", p.components), ("init std", p.init_std),
            ("optimizer", f"normalized GD, η = {p.lr:g}, eps = {p.eps:g}"),
            ("precision", p.dtype), ("seeds per setting", p.seeds))
    return Table(("setting", "value"), rows, title="Settings")


def law(res: TheoremCheck) -> Table:
    """Per order and start: the miss of the balanced and of the general law."""
    bal, gen = res.miss("balanced"), res.miss("general")
    rows = tuple((int(N), start, float(res.imbalance[k, j]), float(bal[k, j]),
                  float(gen[k, j]))
                 for k, N in enumerate(res.orders) for j, start in enumerate(res.STARTS))
    return Table(("order N", "start", "imbalance", "balanced law miss", "general law miss"),
                 rows, title=f"Component-norm law vs one GD step (η = {res.eta:g})",
                 note="miss = max_r |Δγ_r/η − law_r| / max_r |law_r|; imbalance = "
                      "max_r max_n ‖w_r^n‖ / min_n ‖w_r^n‖ − 1.",
                 formats={"imbalance": ".2f", "balanced law miss": ".2e",
                          "general law miss": ".2e"})


def incremental(res: Incremental) -> Table:
    """Per run: the steps of the jumps, the final rank and the unobserved error."""
    corr = res.order_correlation()
    rows = tuple((b, ", ".join(str(s) for s in res.jump_steps(b)), int(res.rank()[-1, b]),
                  float(corr[b]), float(res.unobserved[b])) for b in range(res.count))
    return Table(("run", "jump steps", "final rank", "order vs size", "unobserved error"),
                 rows, title="Incremental learning: one component at a time",
                 note="jump step: when a component passes half its final norm; order vs "
                      "size: Spearman correlation of learning order with final norm.",
                 formats={"order vs size": ".2f", "unobserved error": ".2e"})


def recovery(res: Recovery) -> Table:
    """Median errors (and ranks) over seeds for each value of the swept setting."""
    has_matrix = not np.all(np.isnan(res.matrix))
    rows = []
    for k, v in enumerate(res.values):
        row = [float(v), float(res.median("tensor")[k]),
               f"{int(res.recovered(1e-2)[k])}/{res.tensor.shape[1]}",
               float(res.rank.mean(axis=1)[k])]
        if has_matrix:
            row.append(float(res.median("matrix")[k]))
        rows.append(tuple(row))
    cols = [res.swept, "tensor error", "recovered", "mean tensor rank"]
    formats = {res.swept: "g", "tensor error": ".2e", "mean tensor rank": ".3g"}
    if has_matrix:
        cols.append("unfolding baseline")
        formats["unfolding baseline"] = ".2e"
    return Table(tuple(cols), tuple(rows),
                 title=f"Recovery against the {res.swept}",
                 note="errors on the unobserved entries, ‖P(W − W*)‖²/‖P W*‖² (medians over "
                      "seeds); recovered: error < 1e-2.", formats=formats)


def paper(p: Params, results: Mapping[str, Any]) -> list[Table]:
    """Our setup and numbers beside the authors'."""
    inc = results["incremental"]
    rows = (("order, size per mode", f"{PAPER.order}, {PAPER.dim}", f"{p.order}, {p.dim}"),
            ("CP rank of the truth", PAPER.truth_rank, p.truth_rank),
            ("observed entries", PAPER.observed, p.observed),
            ("components", PAPER.components, p.components),
            ("init std", PAPER.init_std, p.init_std),
            ("optimizer", "GroupRMSprop, lr 1e-2", f"normalized GD, lr {p.lr:g}"),
            ("precision", "float32 (torch's default)", p.dtype),
            ("step cap", "10⁶; plots: first 1.3·10⁴", f"{p.steps:,}; sweeps {p.sweep_steps:,}"),
            ("learned", f"one at a time, to rank {PAPER.truth_rank}",
             f"ranks {inc.rank()[-1].tolist()}"),
            ("unobserved error", "≈ 0 by step 1.2·10⁴ (one run)",
             f"worst {inc.unobserved.max():.1e}, best {inc.unobserved.min():.1e}"))
    return [Table(("", "Razin, Maman & Cohen (2021)", "here"), rows,
                  title="Setup and incremental learning beside the paper",
                  note="The authors' setup is read from their code (noamrazin/imp_reg_in_tf), their "
                       "plot from its example_plots (tc_mse_rec_ord4).")]
