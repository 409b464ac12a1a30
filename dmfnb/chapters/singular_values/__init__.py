"""The chapter *How singular values move* (``book/singular_values.ipynb``).

Arora et al. (2019)'s singular-value dynamics checked on one tiny step (and the singular-vector
rates derived from them), the rate and the alignment of the gradient along a run from the
authors' unbalanced Gaussian init, Saxe et al. (2014)'s
exact mode solutions, the plateau length against the init scale, and the authors' completion
figure. ``from dmfnb.chapters import singular_values as ch``; ``p = ch.params()``.
"""

from __future__ import annotations

from ...infra.chapter import Chapter, Step
from . import checks, compute, explorer, figures, tables
from .params import Params

__all__ = ["CHAPTER", "NAME", "Params", "checks", "compute", "explorer", "figures", "params",
           "report", "tables"]

NAME = "singular_values"

CHAPTER = Chapter(
    NAME,
    steps=(
        Step("rate_check", lambda p, _: compute.rate_check(p), figures.rate_check),
        Step("vector_check", lambda p, _: compute.vector_check(p)),
        Step("trajectory_probe", lambda p, _: compute.trajectory_probe(p),
             figures.alignment),
        Step("exact_modes", lambda p, _: compute.exact_modes(p), figures.exact_modes),
        Step("plateau_sweep", lambda p, _: compute.plateau_sweep(p), figures.plateau),
        Step("completion_dynamics", lambda p, _: compute.completion_dynamics(p),
             figures.completion_dynamics),
    ),
    checks=checks.checks,
    paper=tables.paper,
)

# Importing the params submodule (above) bound ``params`` to it on this package; from here on
# the name is the function, and later imports of the submodule, being cached, leave it so.
params = CHAPTER.params
report = CHAPTER.report
