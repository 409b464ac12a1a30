"""Chapter *Beyond matrices: tensor factorization* (``book/tensors.ipynb``).

Razin, Maman & Cohen (2021): gradient descent on a CP factorization from a small init learns
its components one at a time, a bias toward low tensor rank. Import as
``from dmfnb.chapters import tensors as ch``.
"""

from __future__ import annotations

from ...infra.chapter import Chapter, Step
from . import checks, compute, explorer, figures, tables
from .params import Params

__all__ = ["CHAPTER", "NAME", "Params", "checks", "compute", "explorer", "figures", "params",
           "report", "tables"]

NAME = "tensors"

CHAPTER = Chapter(
    NAME,
    steps=(
        Step("theorem", lambda p, _: compute.theorem_check(p), figures.law),
        Step("incremental", lambda p, _: compute.incremental(p), figures.components),
        Step("observations", lambda p, _: compute.vs_observations(p), figures.observations),
        Step("init", lambda p, _: compute.vs_init(p), figures.init_scale),
    ),
    checks=checks.checks,
    paper=tables.paper,
)

# Importing the params submodule (above) bound ``params`` to it on this package; from here on
# the name is the function, and later imports of the submodule, being cached, leave it so.
params = CHAPTER.params
report = CHAPTER.report
