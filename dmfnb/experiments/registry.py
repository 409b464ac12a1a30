"""Chapter name → (its experiments as :class:`dmfnb.reproduce.Step`, its table beside the papers')."""

from __future__ import annotations

from . import low_rank_bias, norms, reduced_rank, saddles, singular_values

CHAPTERS = {
    "singular_values": (singular_values.STEPS, singular_values.paper_table),
    "low_rank_bias": (low_rank_bias.STEPS, low_rank_bias.reproduce_table),
    "saddles": (saddles.STEPS, saddles.paper_table),
    "reduced_rank": (reduced_rank.STEPS, reduced_rank.paper_table),
    "norms": (norms.STEPS, norms.paper_table),
}
