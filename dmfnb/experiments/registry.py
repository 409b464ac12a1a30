"""Chapter name → (its experiments as :class:`dmfnb.reproduce.Step`, its table beside the papers')."""

from __future__ import annotations

from ..reproduce import Step
from . import low_rank_bias as lx
from . import norms, reduced_rank, saddles, singular_values

CHAPTERS = {
    "singular_values": (singular_values.STEPS, singular_values.paper_table),
    "low_rank_bias": (
        [
            Step("completion", lambda p, _: lx.observation_sweep(p, "completion"), lx.sweep_figure),
            Step("sensing", lambda p, _: lx.observation_sweep(p, "sensing"), lx.sweep_figure),
            Step("nuclear_norm_test", lambda p, _: lx.nuclear_norm_test(p), lx.plot_nuclear_norm_test),
            Step("optimizer_comparison", lambda p, _: lx.optimizer_comparison(p), lx.plot_optimizers),
        ],
        lx.reproduce_table,
    ),
    "saddles": (saddles.STEPS, saddles.paper_table),
    "reduced_rank": (reduced_rank.STEPS, reduced_rank.paper_table),
    "norms": (norms.STEPS, norms.paper_table),
}
