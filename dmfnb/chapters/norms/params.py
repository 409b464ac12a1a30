"""Parameters of the chapter *Norms may not explain implicit regularization*.

Razin & Cohen (2020)'s 2×2 completion [[∗, 1], [1, 0]]; every loss and step is in their ½Σ
convention (see :mod:`dmfnb.chapters.norms.compute`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["DEFAULT", "PAPER", "SCALES", "Params"]


@dataclass(frozen=True)
class Params:
    """The chapter's parameters; the defaults are the default scale (about 15 s of CPU)."""

    # Which scale these values are ("default" or "paper").
    scale: str = "default"
    # Depths of the main experiment (det W(0) > 0): 2 flips its determinant, ≥ 3 diverge.
    depths: tuple[int, ...] = (2, 3, 4)
    # Seeds per depth, trained stacked in one computation.
    runs: int = 4
    # Base seed; each (depth, sign, init kind) draws from its own stream of it.
    seed: int = 0
    # The authors' std: of W(0) for "balanced", per layer for "gaussian".
    init_std: float = 8e-3
    # The theorem's setting: W(0) ~ N(0, std²) split into balanced factors by its SVD.
    init: str = "balanced"
    # The authors' η for the ½Σ loss, as in their current code (commit a0093b3; the first
    # commit used the mean loss with 5e-3). The engine's mean loss takes η × 3/2.
    lr: float = 3e-3
    # Stop at ½Σ loss ≤ tol (the authors: 1e-4).
    tol: float = 1e-3
    # Step cap of the main runs; far above what tol needs, so every run stops at tol.
    max_steps: int = 6_000_000
    # |W₁₁|·√(2ℓ) and the divergence rate of the norms are checked from this loss down
    # (above it the curve is still bending).
    fit_from: float = 1e-2
    # Schatten-p (quasi-)norms followed along the trajectory: p = 1/2 and 2/3 are the
    # quasi-norms that weight decay on depth 4 and 3 would minimize (p = 2/N), p = 1 the
    # nuclear norm, p = 2 the Frobenius norm; the theorem says every one diverges.
    schatten_ps: tuple[float, ...] = (0.5, 2 / 3, 1.0, 2.0)
    # Depths of the authors' code default: each layer i.i.d. N(0, std²), not balanced.
    unbalanced_depths: tuple[int, ...] = (3,)
    # Depths started from det W(0) < 0.
    negative_depths: tuple[int, ...] = (2, 3, 4)
    # Their stopping loss: small enough to show W₁₁ has stopped moving.
    negative_tol: float = 1e-6
    # ε of the perturbed target [[∗, −2], [0.5, ε]] (W₁₁ → −1/ε).
    epsilons: tuple[float, ...] = (0.5, 0.2, 0.1)
    # Depth of the perturbed-target runs.
    perturbed_depth: int = 3
    # Stopping loss of the perturbed runs, and their step cap (runs that miss it are reported).
    perturbed_tol: float = 1e-7
    perturbed_max_steps: int = 400_000
    # Step cap of one explorer run (keeps a widget move to a few seconds).
    explorer_max_steps: int = 400_000


DEFAULT = Params()

PAPER = dataclasses.replace(
    DEFAULT,
    scale="paper",
    tol=1e-4,                                # the authors' stopping loss
    unbalanced_depths=(2, 3, 4),
    epsilons=(0.5, 0.1, 0.05),               # ε = 0.01 needs far more than 5e6 steps to reach −1/ε
    perturbed_tol=1e-9,
    perturbed_max_steps=3_000_000,
)

SCALES = {"default": DEFAULT, "paper": PAPER}
