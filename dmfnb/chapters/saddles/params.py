"""Parameters of the chapter *R saddles for rank R* (``book/saddles.ipynb``).

:data:`DEFAULT` runs the chapter in about a minute on two cores; :data:`PAPER` states only what
differs at the paper scale.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["DEFAULT", "PAPER", "SCALES", "Params"]


@dataclass(frozen=True)
class Params:
    """The saddles chapter's parameters; the defaults are the default scale."""

    scale: str = "default"
    # ---- staircase: least squares ½‖W − W*‖² on n×n rank-R targets, σ_i/σ_{i+1} = ratio
    shape: tuple[int, int] = (10, 10)  # n × m of every target (and width n of the factors)
    ranks: tuple[int, ...] = (1, 2, 3, 4)  # target ranks R, trained stacked at each depth
    ratio: float = 2.0  # σ_i/σ_{i+1}: a geometric ladder keeps the stages apart
    depths: tuple[int, ...] = (2, 3, 4)
    target_seed: int = 0  # the rank-R target uses seed target_seed + R
    init_seed: int = 100  # the b-th run of a stack uses seed init_seed + b
    # Plain GD from an orthogonal (balanced) init of end-to-end scale init_scale[N]; deeper
    # factorizations wait polynomially long on a plateau, so they start larger and run longer.
    init_scale: dict[int, float] = field(default_factory=lambda: {2: 1e-6, 3: 1e-5, 4: 1e-4})
    lr: dict[int, float] = field(default_factory=lambda: {2: 0.02, 3: 0.01, 4: 0.005})
    steps: dict[int, int] = field(default_factory=lambda: {2: 3_000, 3: 25_000, 4: 45_000})
    records: int = 300  # log-spaced records (factors kept at each)
    # Stage detection: a drop falls faster than 1/t (v > drop_rate) by ≥ min_drop overall.
    drop_rate: float = 1.0
    min_drop: float = 2.0
    rank_tol: float = 0.05  # numerical rank: σ_i(W) > rank_tol · σ_1(W*)
    hessian_k: int = 3  # smallest Hessian eigenvalues taken at each plateau
    flat_tol: float = 1e-6  # flat: |λ| ≤ flat_tol · λ_max
    curvature_rank: int = 3  # the run whose λ_min is followed along the whole trajectory
    curvature_points: int = 100  # records at which that Hessian is taken
    # ---- GLRL: PSD completion, n×n rank-3 target, symmetric mask of glrl_pairs pairs
    glrl_n: int = 10
    glrl_rank: int = 3
    glrl_pairs: int = 45  # observed unordered pairs {i, j}, mirrored
    glrl_seed: int = 11  # target; mask glrl_seed + 1; GD start glrl_seed + 2
    glrl_lr: float = 1.0  # GD step inside each GLRL stage
    glrl_eps: float = 1e-10  # GLRL's appended column ε v_r
    glrl_grad_tol: float = 1e-10  # a GLRL stage ends at ‖∇L‖ ≤ glrl_grad_tol
    glrl_depths: tuple[int, ...] = (2, 3)
    glrl_scales: tuple[float, ...] = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6)  # GD starts W(0) = α I
    glrl_gd_lr: dict[int, float] = field(default_factory=lambda: {2: 2.0, 3: 1.0})
    glrl_steps: dict[int, int] = field(default_factory=lambda: {2: 20_000, 3: 20_000})
    # ---- critical points: exact factorizations of W_k = Σ_{i≤k} σ_i u_i v_iᵀ of the
    # rank-max(ranks) target, k = 0 … R − 1, at every depth of ``depths``
    crit_seed: int = 7  # the random hidden bases Q_j of the balanced factorizations
    unbalance: float = 0.5  # c: the unbalanced factorization moves W_2 … W_N by c along the path
    escape_tau: float = 0.05  # τ at which the order of the loss decrease is read (τ and 2τ)
    zero_tol: float = 1e-9  # a Hessian eigenvalue is zero when |λ| ≤ zero_tol · σ_1(W*)
    # ---- GLRL against the nuclear norm: an nn_n × nn_n target built like the GLRL one (rank
    # glrl_rank, seed glrl_seed; at the default scale the same target), fewer observed pairs
    nn_n: int = 10
    nn_pairs: int = 33  # observed pairs; 45 (glrl_pairs) let both recover W* exactly
    nn_lr: float = 0.5  # GLRL's step here: 1.0 oscillates on this sparser mask (measured)
    nn_tol: float = 1e-6  # slack of dm.min_nuclear_norm on each observed entry
    nn_gap: float = 0.01  # (tr W_GLRL − min tr) / min tr above this: they differ


DEFAULT = Params()

# Cao et al. publish no code or setup; "paper" runs the same study at 20×20 with smaller
# initializations and finer records.
PAPER = dataclasses.replace(
    DEFAULT,
    scale="paper",
    shape=(20, 20),
    records=500,
    init_scale={2: 1e-8, 3: 1e-6, 4: 1e-5},
    lr={2: 0.01, 3: 0.005, 4: 0.002},
    steps={2: 10_000, 3: 150_000, 4: 300_000},
    curvature_points=150,
    glrl_n=20,
    glrl_pairs=150,
    glrl_scales=(1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8),
    glrl_steps={2: 60_000, 3: 60_000},
)

SCALES = {"default": DEFAULT, "paper": PAPER}
