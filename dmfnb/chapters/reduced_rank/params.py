"""Parameters of the chapter *Reduced-rank regression* (``book/reduced_rank.ipynb``).

The defaults are the default scale (the chapter runs in seconds on two cores); :data:`PAPER`
states only what differs at the paper scale.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

__all__ = ["DEFAULT", "PAPER", "SCALES", "Params"]


@dataclass(frozen=True)
class Params:
    """The chapter's parameters at one scale (every field a number, a string or a tuple)."""

    # Which scale these are: "default" or "paper".
    scale: str = "default"
    # Data: the mode strengths s_i (singular values of Σ_yx), halving from mode to mode so that
    # the escapes are well separated.
    strengths: tuple[float, ...] = (1.0, 0.5, 0.25, 0.125)
    # Input variances λ (eigenvalues of Σ_x, d_in = 8): deliberately unequal (not the whitened
    # case), chosen so that the orders by s_i and by s_i/√λ_i agree.
    input_variances: tuple[float, ...] = (1.5, 1.0, 0.6, 0.4, 1.2, 0.8, 2.0, 0.3)
    # Number of outputs d_out.
    d_out: int = 6
    # Number of samples n.
    num_samples: int = 100
    # Scale of the output noise, orthogonal to the columns of X: a nonzero residual loss.
    noise: float = 0.5
    # Seed of the synthetic data (singular vectors, noise).
    data_seed: int = 0
    # Seed of the one random draw of initial factors (scaled to each ε) and of the direct fits.
    init_seed: int = 1
    # Dynamics: factors of scale ε, in decreasing order (the last is the smallest).
    eps_values: tuple[float, ...] = (1e-2, 1e-4, 1e-8)
    # Step η = lr_fraction × the stability limit η_crit.
    lr_fraction: float = 0.5
    # Iterations of every run at lr_fraction and large_lr_fraction (past the last escape).
    steps: int = 700
    # A small step, where gradient descent follows gradient flow (Saxe et al.'s 1/s clock).
    small_lr_fraction: float = 0.02
    # Iterations at the small step (escape times grow like 1/η).
    small_lr_steps: int = 9_000
    # A large step, where ln(1 + ηs) and ηs differ by up to 40 %.
    large_lr_fraction: float = 0.9
    # Step sizes of the sweep, in units of η_crit (the last one above the limit).
    lr_sweep: tuple[float, ...] = (0.5, 0.9, 0.99, 1.05)
    # Rotations θ of Σ_x away from the modes (the first must be 0: the assumption holds).
    rotations: tuple[float, ...] = (0.0, 0.5, 1.5)


DEFAULT = Params()

# Gidel et al.'s exact sizes are not recorded here; a larger version of the same setup.
PAPER = dataclasses.replace(
    DEFAULT,
    scale="paper",
    strengths=(1.0, 0.7, 0.5, 0.35, 0.25, 0.18),
    # λ evenly spaced from 2.0 down to 0.4 (d_in = 20)
    input_variances=(2.0, 1.916, 1.832, 1.747, 1.663, 1.579, 1.495, 1.411, 1.326, 1.242,
                     1.158, 1.074, 0.989, 0.905, 0.821, 0.737, 0.653, 0.568, 0.484, 0.4),
    d_out=20,
    num_samples=1000,
    eps_values=(1e-2, 1e-4, 1e-8, 1e-12),
    steps=2_500,
    small_lr_steps=25_000,
)

SCALES = {"default": DEFAULT, "paper": PAPER}
