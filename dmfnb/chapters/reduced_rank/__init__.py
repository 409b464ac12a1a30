"""Chapter *Reduced-rank regression, one rank at a time* (``book/reduced_rank.ipynb``).

Two-layer linear regression trained by discrete gradient descent from a vanishing
initialization passes the reduced-rank regression solutions Ŵ_1, Ŵ_2, … in turn, on a clock
ln(1/ε)/ln(1 + ηs_i) (Gidel, Bach & Lacoste-Julien 2019); a one-layer model learns every mode at
once. ``from dmfnb.chapters import reduced_rank as ch``; ``p = ch.params()``.
"""

from __future__ import annotations

from ...infra.chapter import Chapter, Step
from . import checks, compute, explorer, figures, tables
from .params import Params

__all__ = ["CHAPTER", "NAME", "Params", "checks", "compute", "explorer", "figures", "params",
           "report", "tables"]

NAME = "reduced_rank"

CHAPTER = Chapter(
    NAME,
    steps=(
        Step("closed_form_vs_direct", lambda p, _: compute.closed_form_vs_direct(p)),
        Step("staircase", lambda p, _: compute.staircase(p), figures.staircase),
        Step("one_layer", lambda p, _: compute.one_layer(p)),
        Step("escape_scaling", lambda p, _: compute.escape_scaling(p), figures.escape_scaling),
        Step("step_size_sweep", lambda p, _: compute.step_size_sweep(p), figures.step_sizes),
        Step("assumption_violation", lambda p, _: compute.assumption_violation(p),
             figures.violation),
    ),
    checks=checks.checks,
    paper=tables.paper,
)

# Importing the params submodule (above) bound ``params`` to it on this package; from here on
# the name is the function, and later imports of the submodule, being cached, leave it so.
params = CHAPTER.params
report = CHAPTER.report
