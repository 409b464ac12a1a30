"""The chapter *R saddles for rank R* (``book/saddles.ipynb``).

Gradient descent from a small initialization on a rank-R target passes R saddles, one singular
value per stage (Cao et al. 2023); at depth 2 and infinitesimal initialization its path is
Greedy Low-Rank Learning (Li et al. 2021).
"""

from __future__ import annotations

from ...infra.chapter import Chapter, Step
from . import checks, compute, explorer, figures, tables
from .params import Params

__all__ = ["CHAPTER", "NAME", "Params", "checks", "compute", "explorer", "figures", "params",
           "report", "tables"]

NAME = "saddles"

CHAPTER = Chapter(
    NAME,
    steps=(
        Step("staircase", lambda p, _: compute.staircase(p), figures.losses),
        Step("landscape", lambda p, r: compute.landscape(p, r["staircase"])),
        Step("curvature_path", lambda p, r: compute.curvature_path(p, r["staircase"]),
             figures.curvature),
        Step("critical_points", lambda p, _: compute.critical_points(p), figures.spectrum),
        Step("glrl_comparison", lambda p, _: compute.glrl_comparison(p), figures.glrl),
        Step("nuclear_comparison", lambda p, _: compute.nuclear_comparison(p),
             figures.nuclear),
    ),
    checks=checks.checks,
    paper=tables.paper,
)

# Importing the params submodule (above) bound ``params`` to it on this package; from here on
# the name is the function, and later imports of the submodule, being cached, leave it so.
params = CHAPTER.params
report = CHAPTER.report
