"""Chapter *Norms may not explain implicit regularization* (``book/norms.ipynb``).

Razin & Cohen (2020)'s 2×2 completion [[∗, 1], [1, 0]]: from det W(0) > 0 every norm
diverges while W tends to rank one. Import as ``from dmfnb.chapters import norms as ch``.
"""

from __future__ import annotations

from ...infra.chapter import Chapter, Step
from . import checks, compute, explorer, figures, tables
from .params import Params

__all__ = ["CHAPTER", "NAME", "Params", "checks", "compute", "explorer", "figures", "params",
           "report", "tables"]

NAME = "norms"

CHAPTER = Chapter(
    NAME,
    steps=(
        Step("depths", lambda p, _: compute.run_depths(p), figures.norms),
        Step("unbalanced", lambda p, _: compute.unbalanced(p)),
        Step("negative_det", lambda p, _: compute.negative_det(p)),
        Step("perturbed", lambda p, _: compute.perturbed(p), figures.perturbed),
    ),
    checks=checks.checks,
    paper=tables.paper,
)

# Importing the params submodule (above) bound ``params`` to it on this package; from here on
# the name is the function, and later imports of the submodule, being cached, leave it so.
params = CHAPTER.params
report = CHAPTER.report
