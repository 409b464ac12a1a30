"""Parameters of the chapter *How singular values move* (``book/singular_values.ipynb``).

The defaults are the default scale (the whole notebook in about a minute on two cores);
:data:`PAPER` runs the two completion experiments (the authors' dynamics figure, and the
Gaussian-init probe run) at the authors' size, 100×100 rank 5 with m = 2000, and changes
nothing else.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["DEFAULT", "PAPER", "SCALES", "Completion", "Exact", "Explorer", "Params",
           "Plateau", "Rate", "Trajectory", "Vectors"]


@dataclass(frozen=True)
class Rate:
    """One tiny GD step on a sensing problem from balanced (and unbalanced) starts."""

    # n×m of the sensing target: small, so every SVD of the check is exact to rounding
    shape: tuple[int, int] = (6, 6)
    # rank of the random target W* (low_rank_target)
    rank: int = 2
    # number of Gaussian measurements ⟨A_i, W⟩: a loss with no special structure
    observations: int = 30
    # target from seed, measurements from seed + 1, factors from seed + 10 + N, unbalancing
    # matrices from seed + 20 + N
    seed: int = 0
    # depths N at which the rate formula is tested (depth 1 is plain calculus)
    depths: tuple[int, ...] = (1, 2, 3, 4)
    # scale of the balanced start: W(0) of order one, so the rates are far from zero
    init_scale: float = 1.0
    # strength of the random invertible A_j that unbalance the factors of the same W
    unbalance: float = 0.5
    # the step sizes η of the sweep: 1e-10 … 1e-2, into rounding on the left, past
    # first order on the right
    lrs: tuple[float, ...] = tuple(10.0 ** k for k in range(-10, -1))
    # the step of the table and of the checks: small, yet well above rounding
    lr: float = 1e-6
    # relative error the formula must reach from a balanced start (×10: the unbalanced floor)
    tol: float = 1e-3
    # the first-order slope of error against η is fitted over this range of η
    order_lrs: tuple[float, float] = (1e-5, 1e-2)
    # the slope must lie in this range (1: the Euler step's error)
    order_slope: tuple[float, float] = (0.9, 1.1)


@dataclass(frozen=True)
class Vectors:
    """One tiny GD step against the singular-*vector* rates, from balanced and unbalanced starts."""

    # shapes of W: square, and tall, so that the term along the orthogonal complement of U,
    # −σ_r^{1−2/N}(I − UUᵀ)G v_r, is tested too
    shapes: tuple[tuple[int, int], ...] = ((6, 6), (6, 4))
    # rank of the random target, number of Gaussian measurements (as in Rate)
    rank: int = 2
    observations: int = 30
    # target from seed, measurements from seed + 1, factors from seed + 10 + N, unbalancing
    # matrices from seed + 20 + N: the square case starts where Rate's does
    seed: int = 0
    # depths at which the vector formula is tested
    depths: tuple[int, ...] = (2, 3, 4)
    # W(0) of order one, with well-separated singular values (the rates divide by their gaps)
    init_scale: float = 1.0
    # strength of the random A_j that unbalance the same W (as in Rate)
    unbalance: float = 0.5
    # the step of the check, and one 100× larger: the error must grow 100× (first order)
    lr: float = 1e-6
    lr_large: float = 1e-4
    # relative error the formula must reach from a balanced start (×10: the unbalanced floor)
    tol: float = 1e-3
    # log₁₀(error(lr_large)/error(lr)) / 2 must lie in this range (1: the Euler step's error)
    order_slope: tuple[float, float] = (0.9, 1.1)


@dataclass(frozen=True)
class Trajectory:
    """A completion run from the authors' *unbalanced* Gaussian start, probed as it goes."""

    # n of the n×n target, its rank and the observed entries: m/(r(2n−r)) ≈ 2 as in the paper
    size: int = 30
    rank: int = 3
    observations: int = 350
    # target from seed, mask from seed + 1, factors from seed + 10 + N
    seed: int = 0
    # depths probed (the authors plot the alignment at depth 2)
    depths: tuple[int, ...] = (2, 3)
    # Gaussian init of the authors' code: ‖W(0)‖_F ≈ √n · init_scale, not balanced
    init_scale: float = 1e-3
    # plain GD; 10× the authors' 0.01 so the run takes seconds, still far below the stability
    # limit 2/(N σ₁^{2−2/N} · 2/m) ≈ 2 here (the imbalance drifts by < 1%, an O(η²) effect)
    lr: float = 0.1
    # iterations, and the probe interval (every probe: one SVD and one gradient)
    steps: int = 8000
    every: int = 25
    # σ-rate error on the top `rank` values at the end must be below this
    rate_tol: float = 1e-2
    # ... and at t = 0 above this: the Gaussian start is not balanced, the formula is off
    early_min: float = 0.1
    # |‖imbalance‖(end) / ‖imbalance‖(0) − 1| below this: the absolute imbalance is conserved
    conserve_tol: float = 0.05
    # off-diagonal / diagonal mean of |UᵀGV| (the authors' measure) below this when each
    # target value is half-way up, and above it at t = 0 (no alignment yet)
    align_tol: float = 0.5


@dataclass(frozen=True)
class Exact:
    """Full observation, aligned balanced start, small step: the exact mode solutions."""

    # n×m of the target U diag(s) Vᵀ with random orthonormal U, V
    shape: tuple[int, int] = (5, 3)
    # the target's singular values s_r: each is one mode
    strengths: tuple[float, ...] = (2.0, 1.0, 0.5)
    # U, V from seed; the balanced split of W(0) from seed + N
    seed: int = 0
    # depths compared with Saxe's sigmoid (N = 2) and the integrated mode ODE (N ≥ 3)
    depths: tuple[int, ...] = (2, 3, 4)
    # every mode starts at u₀ (W(0) = u₀ U Vᵀ)
    init_scale: float = 1e-3
    # GD step η (the run is repeated at 2η to show the gap is first order in η)
    lr: float = 5e-4
    # run until horizon × the weakest mode's time to reach 99% of s
    horizon: float = 1.1
    # about this many records per run
    records: int = 800
    # max_t |σ_GD − u_exact| / s must stay below this (1%)
    tol: float = 0.01
    # doubling η must multiply the gap by a factor in this range (first order: 2)
    doubling: tuple[float, float] = (1.7, 2.3)


@dataclass(frozen=True)
class Plateau:
    """Lift time of one mode against its initial value, four decades of u₀."""

    # initial values u₀ = 10^{-k/2}, k = 4 … 12: 1e-2 down to 1e-6
    inits: tuple[float, ...] = tuple(10.0 ** (-k / 2) for k in range(4, 13))
    # depths of the sweep (depth 1 never waits)
    depths: tuple[int, ...] = (1, 2, 3, 4)
    # strength s of the mode
    strength: float = 1.0
    # every run's step is its predicted lift time / steps, so all are equally resolved
    steps: int = 10_000
    # GD lift times must match the exact integral to this relative gap (1%)
    tol: float = 0.01
    # fitted slope (N = 2) and exponents (N ≥ 3) within this relative gap of the theory
    exponent_tol: float = 0.05
    # depth 1's lift time may grow at most by this factor over the sweep (theory: 1.5%)
    depth1_growth: float = 1.05


@dataclass(frozen=True)
class Completion:
    """The authors' dynamics figure, shrunk: 40×40 rank 3, m/(r(2n−r)) ≈ 2 as in the paper."""

    # n of the n×n target
    size: int = 40
    # rank of the target
    rank: int = 3
    # observed entries m
    observations: int = 480
    # target from seed, mask from seed + 1
    seed: int = 0
    # depths of the figure
    depths: tuple[int, ...] = (1, 2, 3)
    # W(0) = init_scale · I through identity factors (balanced), as the authors
    init_scale: float = 1e-3
    # plain GD step, as the authors
    lr: float = 0.01
    # iterations, as the authors
    steps: int = 200_000
    # the authors' iteration count: the paper table quotes our depth-3 error there
    authors_steps: int = 200_000
    # record every this many iterations
    record: int = 100
    # how many singular values are recorded
    top_k: int = 10
    # a singular value is lifted when its final value exceeds lift_rtol · σ_1
    lift_rtol: float = 1e-2
    # staggered: σ_{k+1} below this fraction of its final value when σ_k is half-way up
    stagger_tol: float = 0.1
    # depth 3's final reconstruction error must be below this
    error_tol: float = 1e-3
    # depth 1 must end within this relative gap of the zero-fill error
    zero_fill_tol: float = 0.02


@dataclass(frozen=True)
class Explorer:
    """The explorer of the scalar mode ODE du/dt = N u^{2−2/N}(s − u)."""

    # the depth, log₁₀ u₀ and strength s it starts at
    depth: int = 3
    log10_init: float = -3.0
    strength: float = 1.0
    # the depths drawn faintly beside the chosen one
    others: tuple[int, ...] = (1, 2, 3, 4, 5)
    # points of the time grid
    points: int = 400


@dataclass(frozen=True)
class Params:
    """Every parameter of the chapter, one block per experiment."""

    # the scale these values belong to ("default" or "paper")
    scale: str = "default"
    # the rate checked on one tiny step
    rate: Rate = field(default_factory=Rate)
    # the singular-vector rates checked on one tiny step
    vectors: Vectors = field(default_factory=Vectors)
    # the rate and the alignment along a Gaussian-init completion run
    trajectory: Trajectory = field(default_factory=Trajectory)
    # exact mode solutions
    exact: Exact = field(default_factory=Exact)
    # how long a mode waits
    plateau: Plateau = field(default_factory=Plateau)
    # the authors' completion figure
    completion: Completion = field(default_factory=Completion)
    # the mode-ODE explorer
    explorer: Explorer = field(default_factory=Explorer)


DEFAULT = Params()

# Arora et al. (2019)'s dynamics figure: 100×100 rank 5, m = 2000, plain GD, lr 0.01, identity
# init 1e-3; we run 3e5 iterations, the authors 2e5 (the paper table quotes ours at 2e5).
PAPER = dataclasses.replace(
    DEFAULT, scale="paper",
    trajectory=dataclasses.replace(
        DEFAULT.trajectory, size=100, rank=5, observations=2000, steps=30_000, every=100),
    completion=dataclasses.replace(
        DEFAULT.completion, size=100, rank=5, observations=2000, record=200,
        # Why more iterations than the authors, and the same error_tol as the default: our
        # loss, init, lr, target and sampling are those of their main.py/gen_gt.py, and the
        # mean loss moves a mode at rate ≈ (2/n²)·σ*, 3× slower per step at n = 100 than at 40.
        # The weakest target value is then half-way up only after ≈ 1.4e5 of the 2e5 steps
        # (mode ODE; the chapter glues it), so at 2e5 depth 3 is still in its final descent
        # (error ÷ ≈ 14 over the last 5e4 steps) and the error there depends on the draw:
        # 5.3e-3, 5.3e-2, 1.2e-2 for seeds 0, 1, 2 (measured), the authors' 1.67e-3 (their
        # minimum over the run) inside that spread. A 1e-2 bound at 2e5 would test the draw,
        # not the theory; at 3e5 the descent is over and the default's 1e-3 applies.
        steps=300_000,
    ),
)
SCALES = {"default": DEFAULT, "paper": PAPER}
