"""Chapter *Depth strengthens the low-rank bias* (``book/low_rank_bias.ipynb``).

Arora, Cohen, Hu & Luo (2019): deeper factorizations recover a low-rank matrix from fewer
observations than depth 2 and the minimum nuclear norm, and depth 2 does not converge to the
minimum-nuclear-norm solution (Gunasekar et al. 2017's conjecture). Use as
``from dmfnb.chapters import low_rank_bias as ch``; ``p = ch.params()``.
"""

from __future__ import annotations

from ...infra.chapter import Chapter, Step
from . import checks, compute, explorer, figures, tables
from .params import Params, studies

__all__ = ["CHAPTER", "NAME", "Params", "checks", "compute", "explorer", "figures", "params",
           "report", "studies", "tables"]

NAME = "low_rank_bias"

CHAPTER = Chapter(
    NAME,
    steps=(
        Step("completion", lambda p, _: compute.observation_sweep(p, "completion"),
             figures.sweep),
        Step("sensing", lambda p, _: compute.observation_sweep(p, "sensing"), figures.sweep),
        Step("nuclear_norm_test", lambda p, _: compute.nuclear_norm_test(p),
             figures.conjecture),
        Step("optimizer_comparison", lambda p, _: compute.optimizer_comparison(p),
             figures.optimizers),
        # Not a step of the old reproduce list, but the closing checks compare the two solvers.
        Step("solver_agreement", lambda p, _: compute.solver_agreement(p)),
        Step("instances", lambda p, _: compute.instance_study(p),
             lambda r: figures.instances(r, checks.AUTHORS_HARDNESS)),
        Step("commuting", lambda p, _: compute.commuting_test(p)),
    ),
    checks=checks.checks,
    paper=tables.paper,
)

# Importing the params submodule (above) bound ``params`` to it on this package; from here on
# the name is the function, and later imports of the submodule, being cached, leave it so.
params = CHAPTER.params
report = CHAPTER.report
