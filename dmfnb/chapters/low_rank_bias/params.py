"""Parameters of the chapter *Depth strengthens the low-rank bias* (``book/low_rank_bias.ipynb``).

``DEFAULT`` runs the chapter in about two minutes on two cores; ``PAPER`` is the authors' 100×100
rank-5 setting (Arora et al. 2019), stating only what differs.

Observation counts are multiples of the degrees of freedom r(2n − r) of a rank-r n×n matrix:
231 for 40×40 rank 3 (×1, 1.5, 1.75, 2, 2.5, 3, 4), 76 for 20×20 rank 2 (×1, 1.25, 1.5, 1.75, 2,
3), 975 for the authors' 100×100 rank 5.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["DEFAULT", "INTEGRATORS", "PAPER", "SCALES", "STUDIES", "Commuting", "Instance", "Params", "Small",
           "Studies", "studies"]


INTEGRATORS = ("normalized", "flow")


@dataclass(frozen=True)
class Instance:
    """One recovery task of the sweeps (completion or sensing)."""

    # n×m size of the ground truth
    shape: tuple[int, int]
    # its rank r
    rank: int
    # the observation counts m of the sweep, increasing
    observations: tuple[int, ...]
    # runs per stacked batch; None: all runs of a depth in one stack (small matrices gain
    # from stacking, 100×100 ones do not, and separate stacks spread over DMFNB_JOBS)
    stack: int | None = None
    # normalized step for this task; None: Params.lr
    lr: float | None = None
    # step cap for this task; None: Params.max_steps
    max_steps: int | None = None
    # precision of the trainings (the flow always integrates in float64)
    dtype: str = "float64"
    # "normalized": the authors' normalized step lr; "flow": dmfnb.flow, the gradient flow
    # integrated with error control (rtol 1e-6; RK45, then RKC once the flow is stiff), one run
    # at a time, to the same loss
    integrator: str = "normalized"

    def __post_init__(self):
        if self.integrator not in INTEGRATORS:
            raise ValueError(f"integrator must be one of {INTEGRATORS}, got {self.integrator!r}")


@dataclass(frozen=True)
class Small:
    """The small instance: plain GD against the normalized step, and the explorer."""

    # n×m size of the ground truth
    shape: tuple[int, int] = (20, 20)
    # its rank
    rank: int = 2
    # observation counts of the optimizer comparison (both sides of the transition)
    observations: tuple[int, ...] = (114, 152, 228)
    # the explorer's default observation count
    explorer_observations: int = 152


@dataclass(frozen=True)
class Params:
    """The chapter's parameters; the defaults are the default scale."""

    # which scale these are ("default" or "paper")
    scale: str = "default"
    # fixes every ground truth, mask, measurement and initialization
    seed: int = 0
    # ground truths per observation count (medians over them)
    ground_truths: int = 3
    # completion sweep
    completion: Instance = field(default_factory=lambda: Instance(
        (40, 40), 3, (231, 347, 404, 462, 578, 693, 924)))
    # sensing costs m·n² per step and per convex solve: a smaller instance
    sensing: Instance = field(default_factory=lambda: Instance(
        (20, 20), 2, (76, 95, 114, 133, 152, 228)))
    # depths of the sweeps
    depths: tuple[int, ...] = (1, 2, 3, 4)
    # Gaussian layers, ‖W(0)‖_F ≈ √n · init_scale
    init_scale: float = 1e-3
    # normalized step ("GroupRMSprop"); authors 1e-3 at 100×100
    lr: float = 3e-3
    # stop at training loss ≤ tol (the authors' rule)
    tol: float = 1e-6
    # runs still above tol are drawn hollow
    max_steps: int = 20_000
    # |X_ij − W*_ij| ≤ nuclear_tol in the convex baseline
    nuclear_tol: float = 1e-3
    # solvers of the convex baseline, tried in order
    solvers: tuple[str, ...] = ("SCS",)
    # the completion count of the conjecture test (at the transition)
    conjecture_observations: int = 462
    # depth-2 init scales of the conjecture test (three decades)
    conjecture_init_scales: tuple[float, ...] = (1e-3, 1e-4, 1e-5, 1e-6)
    # the small instance (optimizer comparison, explorer)
    small: Small = field(default_factory=Small)
    # depths of the optimizer comparison
    gd_depths: tuple[int, ...] = (2, 3)
    # plain GD's constant step
    gd_lr: float = 1.0
    # plain GD's step cap
    gd_max_steps: int = 20_000


DEFAULT = Params()

# The authors' 100×100 rank 5. Completion integrates the gradient flow with error control
# (dmfnb.flow, method "auto": RK45, and RKC while the flow is stiff and RKC is cheaper; rtol 1e-6)
# instead of the authors' normalized step lr 1e-3, which traces the same path: the whole sweep in
# about 200 CPU s instead of 632 s, with the median errors within 2% of the normalized step's at
# m = 2000 and 5000 (a flow run stops where its loss crosses tol, inside its last step;
# benchmarks/bench_flow.py, README "Paper scale"). Each completion run is its own unit and the
# runs spread over DMFNB_JOBS processes. A sensing step costs 4·m·n² flops per run; a sensing
# stack shares its measurement matrices (read once per step for all its runs, in one compiled
# pass, dmfnb/sensing_pass.py, skipping each run's padding); stacks of 12 runs of neighbouring
# counts stop separately and spread over the jobs. Sensing also takes the normalized step at
# 1e-2 in float32 with a cap of 6000 steps: on the m = 2000 instance at depth 3 that ends at
# error 1.35e-5, against 1.24e-5 for the authors' 1e-3 run to loss 1e-6 (32 310
# steps, 4.7× the CPU time; float64 gives the same digits at 2.3× the time); the capped runs stall
# at loss ≈ 2e-6 (benchmarks/bench_sweep.py). The convex baseline is solved by ADMM: SCS takes
# minutes per sensing instance; the 21 sensing problems share one nested design and are solved as
# one stack (benchmarks/bench_nuclear.py).
PAPER = dataclasses.replace(
    DEFAULT,
    scale="paper",
    completion=Instance((100, 100), 5, (1000, 1500, 2000, 2500, 3000, 4000, 5000), stack=1,
                        integrator="flow"),
    sensing=Instance((100, 100), 5, (1000, 1500, 2000, 2500, 3000, 4000, 5000), stack=12,
                     lr=1e-2, max_steps=6_000, dtype="float32"),
    depths=(2, 3, 4),
    lr=1e-3,
    max_steps=200_000,  # the authors allow 1e6; converged runs stop far earlier
    solvers=("ADMM",),
    conjecture_observations=2000,
)

SCALES = {"default": DEFAULT, "paper": PAPER}


@dataclass(frozen=True)
class Commuting:
    """A commuting sensing problem (Arora et al. 2019, Section 2): A_k = diag(a_k).

    With two diagonal measurements of a 3×3 matrix the feasible diagonal PSD matrices form a
    segment between diag(1, 1, 0) (trace 2, rank 2: the minimum trace) and diag(0, 0, 2.5)
    (trace 2.5, rank 1: the ground truth, and the least Σ λ^{2/N} on that segment for N ≥ 3,
    since 2.5^{2/3} < 2 and 2.5^{1/2} < 2).
    """

    # the diagonals a_k of the measurement matrices, one row per measurement
    diagonals: tuple[tuple[float, ...], ...] = ((1.0, 1.0, 0.8), (5.0, 0.0, 2.0))
    # the ground truth's eigenvalues (its diagonal in the basis Q)
    truth: tuple[float, ...] = (0.0, 0.0, 2.5)
    # depths N; the init is W_j(0) = α^{1/N} I (the theorem's)
    depths: tuple[int, ...] = (2, 3, 4)
    # α per depth, decreasing: depth 2 approaches its limit only like α^{1/5} here, depths
    # 3–4 faster; the plateau before a deep run moves lasts ∝ α^{−(1−2/N)} (at depth 4 and
    # α = 1e-6 over 60 000 steps)
    inits: tuple[tuple[float, ...], ...] = ((1e-4, 1e-8, 1e-12), (1e-2, 1e-4, 1e-6),
                                            (1e-2, 1e-3, 1e-4))
    # plain gradient descent (the theorem is about gradient flow), its step and cap
    lr: float = 5e-3
    max_steps: int = 40_000
    # stop at training loss ≤ tol: the residuals (≈ 1e-7) are far below the distances measured
    tol: float = 1e-14


@dataclass(frozen=True)
class Studies:
    """The instance-by-instance conjecture study and the commuting case.

    Kept out of :class:`Params` so that the recorded paper-scale run
    (``book/reproduced/low_rank_bias-paper.json``), whose fingerprint lists every field of
    ``Params``, stays valid; ``studies(p)`` gives the settings of ``p.scale``.
    """

    # completion instances of the study: a small matrix near its transition (20×20 rank 2,
    # r(2n − r) = 76: m = 1.75 and 2 times that), one stack of all runs
    instances: Instance = field(default_factory=lambda: Instance((20, 20), 2, (133, 152)))
    # ground truths per observation count (each a separate instance)
    ground_truths: int = 12
    # the commuting problem
    commuting: Commuting = field(default_factory=Commuting)


STUDIES = {
    "default": Studies(),
    # the authors' size around their m = 2000 (1.8–2.3 times r(2n − r) = 975); each 100×100 run
    # is its own unit (the flow), as in the paper-scale sweeps: 46 s of wall time on two cores.
    "paper": Studies(instances=Instance((100, 100), 5, (1750, 2000, 2250), stack=1,
                                        integrator="flow"),
                     ground_truths=10),
}


def studies(p: Params) -> Studies:
    """The :class:`Studies` settings of ``p``'s scale."""
    if p.scale not in STUDIES:
        raise ValueError(f"p.scale must be one of {sorted(STUDIES)}, got {p.scale!r}")
    return STUDIES[p.scale]
