"""Experiments of the chapter *Depth strengthens the low-rank bias* (``book/low_rank_bias.ipynb``).

Arora, Cohen, Hu & Luo (2019), Section 2: recover a low-rank matrix from few entries (completion)
or few random linear measurements (sensing) with deep factorizations of depth 1–4, and compare with
the minimum-nuclear-norm solution that Gunasekar et al. (2017) conjectured depth 2 converges to.

Every sweep is one batched computation per depth: all ground truths × observation counts (× init
scales) are stacked with :func:`dmfnb.stack_problems` / :func:`dmfnb.stack_factors` and trained
together with the authors' normalized step (``optimizer="normalized"``) until the training loss is
≤ ``p.tol`` (or the step cap). Every function takes the chapter's parameters ``p``
(:class:`~dmfnb.chapters.low_rank_bias.params.Params`) first; same parameters, same numbers.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ...baselines import (
    ADMM,
    SolverError,
    _acceptable,
    _max_violation,
    admm_nuclear_norm,
    min_nuclear_norm,
    min_trace_psd,
)
from ...engine import train
from ...factors import init_factors, stack_factors
from ...flow import flow
from ...infra.parallel import map_jobs
from ...metrics import effective_rank, nuclear_norm
from ...problems import CompletionProblem, SensingProblem, stack_problems
from ...targets import low_rank_target
from .params import INTEGRATORS, Instance, Params, Studies, studies

__all__ = [
    "CommutingTest",
    "Conjecture",
    "Curve",
    "ExplorerRun",
    "Finals",
    "InstanceStudy",
    "OptimizerComparison",
    "SolverAgreement",
    "Sweep",
    "Transition",
    "commuting_test",
    "degrees_of_freedom",
    "explorer_run",
    "instance_study",
    "make_problems",
    "nuclear_norm_test",
    "observation_sweep",
    "optimizer_comparison",
    "solver_agreement",
    "typical",
]

_ROLES = {"target": 1, "observe": 2, "init": 3, "explore": 4}


# The flow's integrator: RK45, and RKC once the flow turns stiff (dmfnb.flow).
FLOW_METHOD = "auto"


def _rng_seed(p: Params, role: str, *ids: int) -> np.random.SeedSequence:
    """A seed for numpy's generator, distinct for every (role, ids) and fixed by ``p.seed``.

    The entropy list [p.seed, role, *ids] as a :class:`numpy.random.SeedSequence`: the very
    stream ``default_rng`` draws from that list, in a form the core's seed check accepts.
    """
    return np.random.SeedSequence([int(p.seed), _ROLES[role], *(int(i) for i in ids)])


def degrees_of_freedom(shape, rank: int) -> int:
    """r(n + m − r): the dimension of the manifold of n×m matrices of rank r."""
    n, m = shape
    return int(rank * (n + m - rank))


def typical(x, axis: int = 0) -> np.ndarray:
    """The median over ground truths (axis 0): with few draws near a threshold, where one draw
    may fail by orders of magnitude, the middle one is the typical outcome."""
    return np.median(np.asarray(x, dtype=float), axis=axis)


def _instance(p: Params, kind: str) -> Instance:
    if kind not in ("completion", "sensing"):
        raise ValueError(f"kind must be 'completion' or 'sensing', got {kind!r}")
    return getattr(p, kind)


def _lr(p: Params, kind: str) -> float:
    block = _instance(p, kind)
    return float(p.lr if block.lr is None else block.lr)


def _max_steps(p: Params, kind: str) -> int:
    block = _instance(p, kind)
    return int(p.max_steps if block.max_steps is None else block.max_steps)


def make_problems(p: Params, kind: str = "completion", observations=None,
                  ground_truths: int | None = None) -> list[list]:
    """The problems of a sweep: a list over ground truths of lists over observation counts.

    Ground truth g is ``low_rank_target`` with a seed fixed by (``p.seed``, g). Completion
    observes entries drawn with a seed fixed by (``p.seed``, g, m). Sensing measures every ground
    truth with the first m of one sequence of Gaussian matrices (seeded by ``p.seed``): the
    designs are nested, and a stack of sensing problems shares one array of matrices
    (:class:`dmfnb.SensingProblem`), read once per step for all runs. Either way the same (g, m)
    gives the same problem in every experiment of the chapter.
    """
    block = _instance(p, kind)
    shape, rank = tuple(block.shape), int(block.rank)
    observations = [int(m) for m in (block.observations if observations is None
                                     else observations)]
    ground_truths = int(p.ground_truths if ground_truths is None else ground_truths)
    targets = [low_rank_target(shape, rank, seed=_rng_seed(p, "target", g, rank, *shape))
               for g in range(ground_truths)]
    if kind == "completion":
        return [[CompletionProblem.random(t, m, seed=_rng_seed(p, "observe", g, m, 0))
                 for m in observations] for g, t in enumerate(targets)]
    design = SensingProblem.random(targets[0], max(observations),
                                   seed=_rng_seed(p, "observe", 1, *shape)).measurements
    return [[SensingProblem(t, design[:m]) for m in observations] for t in targets]


def _init_stack(shape, depth: int, scales, seeds) -> list[np.ndarray]:
    """Stacked initial factors: run b from init scale ``scales[b]`` and seed ``seeds[b]``."""
    return stack_factors([init_factors(shape, depth, scale=float(s), seed=sd)
                          for s, sd in zip(scales, seeds, strict=True)])


def _work(unit: tuple) -> dict:
    """One unit of a sweep, run here or in a worker process (:func:`map_jobs`):
    ``("train", stacked problem, depth, scales, seeds, lr, tol, max_steps)`` returns each run's
    final numbers and matrix (``product``); ``("flow", problem, depth, scale, seed, tol,
    max_evaluations)`` the same for one run of the gradient flow (:func:`dmfnb.flow`, its
    ``steps`` counting gradient evaluations); ``("nuclear", problem, tol, solvers)`` the convex
    solution's (its matrix as ``product``, shape (1, n, m))."""
    start = time.process_time()
    unit = (unit[0], _built(unit[1]), *unit[2:])
    if unit[0] == "train":
        _, problem, depth, scales, seeds, lr, tol, max_steps = unit
        factors = _init_stack(problem.shape, depth, scales, seeds)
        tr = train(problem, [f.astype(problem.dtype) for f in factors], lr=lr,
                   steps=max_steps, optimizer="normalized", tol=tol, record=[0],
                   progress=False)
        out = {"error": tr.error[-1], "effective_rank": tr.effective_rank[-1],
               "nuclear": tr.nuclear[-1], "steps": np.asarray(tr.stop_step),
               "converged": np.asarray(tr.converged), "product": tr.product}
    elif unit[0] == "flow":
        _, problem, depth, scale, seed, tol, max_evaluations = unit
        tr = flow(problem, init_factors(problem.shape, depth, scale=scale, seed=seed),
                  time=1e9, tol=tol, record=[0.0], method=FLOW_METHOD,
                  max_evaluations=max_evaluations)
        out = {"error": tr.error[-1], "effective_rank": tr.effective_rank[-1],
               "nuclear": tr.nuclear[-1], "steps": np.asarray(tr.stop_step),
               "converged": np.asarray(tr.converged), "product": tr.product[None]}
    elif unit[0] == "nuclear" and unit[1].batch is not None:
        out = _nuclear_stack(*unit[1:3])
    else:
        _, problem, tol, solvers = unit
        with warnings.catch_warnings():
            # SCS flags some solves "inaccurate"; min_nuclear_norm checks their constraints.
            warnings.simplefilter("ignore", RuntimeWarning)
            X, info = min_nuclear_norm(problem, tol=tol, solvers=solvers,
                                       accept_inaccurate=True, return_info=True)
        out = {"error": problem.reconstruction_error(X), "nuclear": info["nuclear_norm"],
               "effective_rank": effective_rank(X), "optimal": info["status"] == "optimal",
               "product": X[None]}
    out["cpu_seconds"] = time.process_time() - start
    return out


# Over-relaxation of the stacked sensing solve: on the paper scale's 21 problems 1.9 took 750
# CPU s against 890 at admm_nuclear_norm's 1.6 (fewer iterations for 20 of them, 1.02–1.31×),
# solutions 3.6e-5 apart (‖ΔX‖_F/‖X‖_F), errors within 0.4% (README, "Paper scale").
_STACK_RELAX = 1.9
# ρ's jump for the runs whose iterate keeps a rank the observations pin down (admm_nuclear_norm's
# rank_boost): on the same 21 problems, side by side, 447 against 794 CPU s; the 12 problems
# that recover took 1.5–3.2× fewer iterations, the other 9 the same solves to the last bit;
# solutions ≤ 3.7e-5 apart, errors within 0.5% (README, "Paper scale").
_STACK_BOOST = 16.0


def _nuclear_stack(problem, tol: float) -> dict:
    """The ADMM baseline of every run of a stacked problem in one computation, as the
    ``"nuclear"`` unit of :func:`_work` returns it run by run; like
    ``min_nuclear_norm(..., accept_inaccurate=True)``, a run stopped by the iteration cap counts
    only if no observation is off by more than 2·tol + 1e-6 (and is not ``optimal``)."""
    X, info = admm_nuclear_norm(problem, tol, relax=_STACK_RELAX, rank_boost=_STACK_BOOST)
    off = _max_violation(problem, X)
    bad = ~info["converged"] & ~_acceptable(off, tol)
    if bad.any():
        raise SolverError(f"ADMM did not converge on runs {np.flatnonzero(bad).tolist()} of the "
                          f"stack (largest violations {off[bad].max():.2g}); raise max_iters")
    return {"error": problem.reconstruction_error(X), "nuclear": nuclear_norm(X),
            "effective_rank": effective_rank(X), "optimal": info["converged"], "product": X}


@dataclass(frozen=True)
class _SensingStack:
    """Runs of a sensing sweep, stacked where they are used: a worker rebuilds the shared design
    from its seed (about a second for 5000 × 10⁴ entries) instead of receiving it pickled (400 MB
    in float64, and as much again in pickle buffers), which kept the paper scale above 2 GB."""

    p: Params
    observations: tuple[int, ...]
    ground_truths: int
    # (ground truth, count index) of each run, in stack order
    runs: tuple[tuple[int, int], ...]
    dtype: str = "float64"

    def build(self):
        grid = make_problems(self.p, "sensing", self.observations, self.ground_truths)
        return stack_problems([grid[g][k] for g, k in self.runs]).astype(self.dtype)


def _built(problem):
    """``problem``, or the stack a :class:`_SensingStack` describes."""
    return problem.build() if isinstance(problem, _SensingStack) else problem


def _stacks(block: Instance, problems,
            recipe: _SensingStack | None = None) -> list[tuple[slice, object]]:
    """``problems`` cut into the units of ``block``'s runs: stacks of ``block.stack`` runs (all
    in one stack when None) in ``block.dtype`` (small matrices gain from stacking, 100×100 ones
    do not, and separate stacks stop separately and spread over the jobs), or one float64 problem
    per run for the flow. Built once, shared by every depth. With ``recipe`` (describing all of
    ``problems``, in order) each stack is the part of the recipe a worker builds instead."""
    if block.integrator == "flow":
        return [(slice(i, i + 1), prob) for i, prob in enumerate(problems)]
    size = int(block.stack or len(problems))
    parts = [slice(i, i + size) for i in range(0, len(problems), size)]
    if recipe is not None:
        return [(part, dataclasses.replace(recipe, runs=recipe.runs[part], dtype=block.dtype))
                for part in parts]
    return [(part, stack_problems(problems[part]).astype(block.dtype)) for part in parts]


def _train_units(block: Instance, stacks, depth: int, scales, seeds, *, lr: float, tol: float,
                 max_steps: int) -> list[tuple]:
    """Run b of ``stacks`` (see :func:`_stacks`) at ``depth`` from ``scales[b]``, ``seeds[b]``:
    with the normalized step ``lr`` (at most ``max_steps`` steps), or by the flow (at most
    ``max_steps`` gradient evaluations), to loss ≤ ``tol``."""
    if block.integrator == "flow":
        return [("flow", prob, depth, float(scales[part][0]), seeds[part][0], tol, max_steps)
                for part, prob in stacks]
    return [("train", stacked, depth, scales[part], seeds[part], lr, tol, max_steps)
            for part, stacked in stacks]


def _kind_units(p: Params, kind: str, stacks, depth: int, scales, seeds) -> list[tuple]:
    """:func:`_train_units` with the step, tolerance and cap of ``kind``'s sweep."""
    return _train_units(_instance(p, kind), stacks, depth, scales, seeds, lr=_lr(p, kind),
                        tol=float(p.tol), max_steps=_max_steps(p, kind))


def _nuclear_units(p: Params, problems, recipe: _SensingStack | None = None) -> list[tuple]:
    """The convex solves of ``problems``: one unit each, except that ADMM takes sensing problems
    sharing one nested design in a single stacked unit, which reads the measurement matrices once
    per iteration for all of them (``benchmarks/bench_nuclear.py --stack``); ``recipe``, when
    given, describes that stack (built by the worker)."""
    tol, solvers = float(p.nuclear_tol), tuple(p.solvers)
    if solvers == (ADMM,) and len(problems) > 1 and isinstance(problems[0], SensingProblem):
        stacked = stack_problems(problems)
        if stacked.shared:
            return [("nuclear", recipe or stacked, tol, solvers)]
    return [("nuclear", prob, tol, solvers) for prob in problems]


def _gather(outs: list[dict]) -> dict:
    """Concatenate the units' per-run arrays; add up their CPU seconds."""
    res = {k: np.concatenate([np.atleast_1d(o[k]) for o in outs])
           for k in outs[0] if k != "cpu_seconds"}
    res["cpu_seconds"] = float(sum(o["cpu_seconds"] for o in outs))
    return res


def _run(plan: dict, what: str) -> dict:
    """Run the units of every group (a depth, or ``"nuclear"``) in one :func:`map_jobs` call, so
    the jobs overlap groups; return each group's gathered results. ``what`` labels the progress
    bar."""
    units = [u for group in plan.values() for u in group]
    groups = ", ".join(f"depth {g}" if isinstance(g, int) else str(g) for g in plan)
    outs = iter(map_jobs(_work, units, desc=f"{what} ({groups})"))
    return {name: _gather([next(outs) for _ in group]) for name, group in plan.items()}


# ---- the observation sweep ---------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """Where the deep factorizations recover and the shallow ones and the convex baseline do not.

    ``window`` (observation counts where every depth in ``deep`` has median error ≤ ``recover``
    while every depth in ``shallow`` and the nuclear-norm solution have median error ≥ ``fail``),
    ``all_recover`` (counts where all of them are ≤ ``recover``), ``window_ratios`` (the window as
    multiples of r(2n − r)) and ``median``: method (a depth, or ``"nuclear"``) → (K,) median
    errors over ground truths.
    """

    window: np.ndarray
    all_recover: np.ndarray
    window_ratios: np.ndarray
    median: dict
    recover: float
    fail: float


@dataclass(frozen=True)
class Sweep:
    """Reconstruction error against the number of observations, per depth and for the convex
    baseline (:func:`observation_sweep`).

    Axes: D depths (``depths``), G ground truths, K observation counts (``observations``).
    ``error``, ``effective_rank``, ``nuclear``, ``steps``, ``converged``: (D, G, K);
    ``nn_error``, ``nn_norm``, ``nn_effective_rank``, ``nn_optimal``: (G, K) for the
    minimum-nuclear-norm solution (``None`` without the baseline); ``zero_fill`` (G, K) the
    zero-filled matrix's error (completion; ``None`` for sensing); ``target_nuclear`` (G,);
    ``ratios`` (K,) = m / r(2n − r); ``cpu_seconds``: "depth d" / "nuclear norm" → seconds.
    """

    kind: str
    shape: tuple[int, int]
    rank: int
    observations: np.ndarray
    ratios: np.ndarray
    depths: np.ndarray
    init_scale: float
    lr: float
    tol: float
    optimizer: str
    max_steps: int
    dtype: str
    solvers: tuple[str, ...]
    target_nuclear: np.ndarray
    error: np.ndarray
    effective_rank: np.ndarray
    nuclear: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    nn_error: np.ndarray | None = None
    nn_norm: np.ndarray | None = None
    nn_effective_rank: np.ndarray | None = None
    nn_optimal: np.ndarray | None = None
    zero_fill: np.ndarray | None = None
    cpu_seconds: dict = field(default_factory=dict)
    wall_seconds: float = 0.0

    def __post_init__(self):
        # JSON brings tuples back as lists; keep the declared types.
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "solvers", tuple(self.solvers))

    @property
    def has_nuclear(self) -> bool:
        """Whether the sweep solved the convex baseline."""
        return self.nn_error is not None

    @property
    def dof(self) -> int:
        """r(2n − r), the degrees of freedom of the ground truths."""
        return degrees_of_freedom(self.shape, self.rank)

    def _depth(self, depth: int) -> int:
        depths = [int(d) for d in self.depths]
        if int(depth) not in depths:
            raise KeyError(f"the sweep ran depths {depths}, not {depth}")
        return depths.index(int(depth))

    def index(self, observations: int) -> int:
        """The position of an observation count (K axis)."""
        obs = [int(m) for m in self.observations]
        if int(observations) not in obs:
            raise KeyError(f"the sweep ran m = {obs}, not {observations}")
        return obs.index(int(observations))

    def errors(self, method) -> np.ndarray:
        """(G, K) errors of a depth, or of ``"nuclear"`` (the convex baseline)."""
        if method == "nuclear":
            if self.nn_error is None:
                raise KeyError("the sweep ran without the nuclear-norm baseline")
            return self.nn_error
        return self.error[self._depth(method)]

    def median(self, method) -> np.ndarray:
        """(K,) median error over ground truths of a depth or of ``"nuclear"``."""
        return typical(self.errors(method))

    def converged_at(self, depth: int) -> np.ndarray:
        """(G, K) whether each run of ``depth`` reached the loss tolerance."""
        return self.converged[self._depth(depth)]

    def nearest(self, ratio: float) -> int:
        """The position of the count whose m / r(2n − r) is closest to ``ratio`` (log scale)."""
        return int(np.argmin(np.abs(np.log(np.asarray(self.ratios) / ratio))))

    def zero_fill_deviation(self) -> float:
        """Largest |depth-1 error − zero-fill error| over all runs (completion with depth 1)."""
        return float(np.abs(self.errors(1) - self.zero_fill).max())

    def transition(self, *, recover: float = 1e-3, fail: float = 1e-2, deep=(3, 4),
                   shallow=(2,)) -> Transition:
        """The :class:`Transition` of the medians over ground truths; depths the sweep did not
        run are left out of ``deep`` and ``shallow``."""
        depths = [int(d) for d in self.depths]
        deep = tuple(d for d in deep if d in depths)
        shallow = tuple(d for d in shallow if d in depths)
        if not deep:
            raise ValueError(f"the sweep has none of the deep depths; it ran depths {depths}")
        med = {d: self.median(d) for d in (*deep, *shallow)}
        med["nuclear"] = self.median("nuclear")
        deep_ok = np.all([med[d] <= recover for d in deep], axis=0)
        others_fail = np.all([med[k] >= fail for k in (*shallow, "nuclear")], axis=0)
        every_ok = np.all([med[k] <= recover for k in (*deep, *shallow, "nuclear")], axis=0)
        obs = np.asarray(self.observations)
        window = deep_ok & others_fail
        return Transition(obs[window], obs[every_ok], np.asarray(self.ratios)[window], med,
                          recover, fail)


def observation_sweep(p: Params, kind: str = "completion", *, depths=None, observations=None,
                      ground_truths: int | None = None, nuclear: bool = True,
                      integrator: str | None = None) -> Sweep:
    """Reconstruction error against the number of observations, for every depth and the convex
    baseline.

    Every depth trains all ground truths × observation counts (init scale ``p.init_scale``,
    normalized step ``p.lr`` or the kind's own ``lr``, stop at loss ≤ ``p.tol``), in stacks of
    the kind's ``stack`` runs; stacks and convex solves run on ``DMFNB_JOBS`` processes.
    ``depths``, ``observations`` and ``ground_truths`` default to the parameters'; ``nuclear``
    solves the convex baseline too. ``integrator`` (default: the kind's ``integrator``)
    ``"flow"`` follows the same path as the normalized step by integrating the gradient flow
    with error control instead (:func:`dmfnb.flow`, one run per unit, at most the kind's step
    cap in gradient evaluations; ``benchmarks/bench_flow.py`` compares the two).
    """
    if integrator is not None:
        if integrator not in INTEGRATORS:
            raise ValueError(f"integrator must be one of {INTEGRATORS}, got {integrator!r}")
        p = dataclasses.replace(p, **{kind: dataclasses.replace(_instance(p, kind),
                                                                 integrator=integrator)})
    start = time.perf_counter()
    block = _instance(p, kind)
    shape, rank = tuple(block.shape), int(block.rank)
    depths = [int(d) for d in (p.depths if depths is None else depths)]
    grid = make_problems(p, kind, observations, ground_truths)
    G, K = len(grid), len(grid[0])
    # Runs in order of observation count (then ground truth), so that a stack of ``stack`` runs
    # holds neighbouring counts: a sensing stack then pads to a similar number of measurements.
    order = [(g, k) for k in range(K) for g in range(G)]
    flat = [grid[g][k] for g, k in order]
    obs = np.array([int(prob.num_observed) for prob in grid[0]])
    seeds = {d: [_rng_seed(p, "init", d, g * K + k) for g, k in order] for d in depths}
    # Sensing stacks and the stacked convex solve go as recipes: each worker builds its own.
    recipe = (_SensingStack(p, tuple(int(m) for m in obs), G, tuple(order))
              if kind == "sensing" else None)
    stacks = _stacks(block, flat, recipe)
    plan = {d: _kind_units(p, kind, stacks, d, [p.init_scale] * (G * K), seeds[d])
            for d in depths}
    if nuclear:
        # First, so that a long stacked ADMM unit starts at once, beside the trainings.
        plan = {"nuclear": _nuclear_units(p, flat, recipe), **plan}
    zero_fill = None
    if kind == "completion":
        zero_fill = np.array([[prob.zero_fill_error() for prob in row] for row in grid])
    target_nuclear = np.array([nuclear_norm(row[0].target) for row in grid])
    # The units hold what they need (a sensing stack as a recipe): the design here (400 MB at
    # the paper scale) goes before the workers build theirs.
    del grid, flat, stacks
    done = _run(plan, f"{kind}, {G} ground truths × {K} counts")
    final = {key: np.array([done[d][key].reshape(K, G).T for d in depths])
             for key in ("error", "effective_rank", "nuclear", "steps", "converged")}
    cpu = {f"depth {d}": done[d]["cpu_seconds"] for d in depths}
    baseline = {}
    if nuclear:
        nn = done["nuclear"]
        baseline = {name: nn[key].reshape(K, G).T for key, name in (
            ("error", "nn_error"), ("nuclear", "nn_norm"),
            ("effective_rank", "nn_effective_rank"), ("optimal", "nn_optimal"))}
        cpu["nuclear norm"] = nn["cpu_seconds"]
    return Sweep(
        kind=kind, shape=shape, rank=rank, observations=obs,
        ratios=obs / degrees_of_freedom(shape, rank), depths=np.array(depths),
        init_scale=float(p.init_scale), lr=_lr(p, kind), tol=float(p.tol),
        optimizer=block.integrator, max_steps=_max_steps(p, kind),
        dtype="float64" if block.integrator == "flow" else block.dtype,
        solvers=tuple(p.solvers),
        target_nuclear=target_nuclear, **final, **baseline, zero_fill=zero_fill, cpu_seconds=cpu,
        wall_seconds=time.perf_counter() - start)


# ---- Gunasekar et al.'s conjecture -------------------------------------------------------------


@dataclass(frozen=True)
class Conjecture:
    """Depth 2 over init scales against the convex minimum (:func:`nuclear_norm_test`).

    Axes: G ground truths, S init scales (``init_scales``), D deeper depths (``deep_depths``).
    ``min_nuclear`` (G,) the convex minimum; ``target_nuclear`` (G,); ``nn_error``,
    ``nn_effective_rank`` (G,) of the convex solution; ``nuclear``, ``error``,
    ``effective_rank``, ``converged`` (G, S) for depth 2, and ``distance_to_min`` (G, S) =
    ‖W − X_min‖_F / ‖W*‖_F, its distance to the convex solution; ``deep_nuclear``,
    ``deep_error``, ``deep_effective_rank``, ``deep_converged`` (D, G) for the deeper
    factorizations (from the sweep's init scale).
    """

    observations: int
    rank: int
    init_scales: np.ndarray
    min_nuclear: np.ndarray
    target_nuclear: np.ndarray
    nn_error: np.ndarray
    nn_effective_rank: np.ndarray
    nuclear: np.ndarray
    error: np.ndarray
    effective_rank: np.ndarray
    converged: np.ndarray
    distance_to_min: np.ndarray
    deep_depths: np.ndarray
    deep_nuclear: np.ndarray
    deep_error: np.ndarray
    deep_effective_rank: np.ndarray
    deep_converged: np.ndarray

    def relative_gap(self) -> np.ndarray:
        """(G, S) (‖W‖_* − min ‖X‖_*) / min ‖X‖_* of depth 2."""
        return (self.nuclear - self.min_nuclear[:, None]) / self.min_nuclear[:, None]

    def gap(self) -> np.ndarray:
        """(S,) mean over ground truths of ‖W‖_* − min ‖X‖_* of depth 2."""
        return (self.nuclear - self.min_nuclear[:, None]).mean(axis=0)

    def mean_distance(self) -> np.ndarray:
        """(S,) mean over ground truths of depth 2's ‖W − X_min‖_F / ‖W*‖_F."""
        return self.distance_to_min.mean(axis=0)

    def median_error(self) -> np.ndarray:
        """(S,) median over ground truths of depth 2's error."""
        return np.median(self.error, axis=0)

    def mean_effective_rank(self) -> np.ndarray:
        """(S,) mean over ground truths of depth 2's effective rank."""
        return self.effective_rank.mean(axis=0)

    def _deep(self, depth: int) -> int:
        depths = [int(d) for d in self.deep_depths]
        if int(depth) not in depths:
            raise KeyError(f"the test ran deeper depths {depths}, not {depth}")
        return depths.index(int(depth))

    def deep_median_error(self, depth: int) -> float:
        """Median error over ground truths of a deeper factorization."""
        return float(np.median(self.deep_error[self._deep(depth)]))

    def deep_norm_ratio(self, depth: int) -> np.ndarray:
        """(G,) ‖W‖_* / ‖W*‖_* of a deeper factorization."""
        return self.deep_nuclear[self._deep(depth)] / self.target_nuclear

    def deep_norm_deviation(self, depth: int) -> float:
        """Median over ground truths of |‖W‖_*/‖W*‖_* − 1| of a deeper factorization."""
        return float(np.median(np.abs(self.deep_norm_ratio(depth) - 1)))

    def deep_median_effective_rank(self, depth: int) -> float:
        """Median effective rank over ground truths of a deeper factorization."""
        return float(np.median(self.deep_effective_rank[self._deep(depth)]))

    def deep_mean_effective_rank(self, depth: int) -> float:
        """Mean effective rank over ground truths of a deeper factorization."""
        return float(np.mean(self.deep_effective_rank[self._deep(depth)]))


def nuclear_norm_test(p: Params, *, observations: int | None = None, init_scales=None,
                      deep_depths=(3, 4)) -> Conjecture:
    """Gunasekar et al.'s conjecture near the transition: depth 2 over init scales against the
    convex minimum.

    Completion problems at ``p.conjecture_observations`` (the same instances as the sweep) for
    every ground truth. Depth 2 is trained from every scale in ``p.conjecture_init_scales``, the
    depths in ``deep_depths`` from ``p.init_scale``; all runs of one depth in one stacked batch.
    """
    m = int(p.conjecture_observations if observations is None else observations)
    scales = [float(s) for s in (p.conjecture_init_scales if init_scales is None
                                 else init_scales)]
    problems = [row[0] for row in make_problems(p, "completion", [m])]
    G, S = len(problems), len(scales)
    repeated = _stacks(p.completion, [prob for prob in problems for _ in scales])
    plan = {2: _kind_units(p, "completion", repeated, 2, [s for _ in problems for s in scales],
                           [_rng_seed(p, "init", 2, 10_000 + b) for b in range(G * S)])}
    once = _stacks(p.completion, problems)
    for d in deep_depths:
        plan[d] = _kind_units(p, "completion", once, d, [p.init_scale] * G,
                              [_rng_seed(p, "init", d, 10_000 + g) for g in range(G)])
    plan["nuclear"] = _nuclear_units(p, problems)
    done = _run(plan, f"conjecture test, {G} ground truths")
    nn = done["nuclear"]
    W2 = done[2]["product"].reshape(G, S, *problems[0].shape)
    distance = np.array([
        [np.linalg.norm(W - X) for W in row] / np.linalg.norm(prob.target)
        for row, X, prob in zip(W2, nn["product"], problems, strict=True)])
    two = {key: done[2][key].reshape(G, S)
           for key in ("nuclear", "error", "effective_rank", "converged")}
    deep = {f"deep_{key}": np.array([done[d][key] for d in deep_depths])
            for key in ("nuclear", "error", "effective_rank", "converged")}
    return Conjecture(
        observations=m, rank=int(p.completion.rank), init_scales=np.array(scales),
        min_nuclear=nn["nuclear"], nn_error=nn["error"],
        nn_effective_rank=nn["effective_rank"],
        target_nuclear=np.array([nuclear_norm(prob.target) for prob in problems]),
        **two, distance_to_min=distance, deep_depths=np.array(deep_depths), **deep)


# ---- two convex solvers ------------------------------------------------------------------------


@dataclass(frozen=True)
class SolverAgreement:
    """The convex baseline solved two ways (:func:`solver_agreement`).

    Axes: two solvers (``solvers``), G ground truths. ``nuclear`` and ``seconds`` (2, G);
    ``norm_gap`` (G,) the relative difference of the two nuclear norms and ``distance`` (G,) =
    ‖X₁ − X₂‖_F / ‖X₁‖_F.
    """

    solvers: tuple[str, ...]
    nuclear: np.ndarray
    seconds: np.ndarray
    norm_gap: np.ndarray
    distance: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "solvers", tuple(self.solvers))


def solver_agreement(p: Params, solvers=("SCS", "ADMM")) -> SolverAgreement:
    """The convex baseline solved two ways on the conjecture's instances (one per ground truth).

    cvxpy's SCS is the authors' solver; ADMM (:func:`dmfnb.admm_nuclear_norm`) is what the paper
    scale uses.
    """
    problems = [row[0] for row in make_problems(p, "completion",
                                                [int(p.conjecture_observations)])]
    sols = [[min_nuclear_norm(prob, float(p.nuclear_tol), solvers=(s,), return_info=True)
             for prob in problems] for s in solvers]
    nuc = np.array([[info["nuclear_norm"] for _, info in row] for row in sols])
    X1, X2 = ([X for X, _ in row] for row in sols)
    return SolverAgreement(
        solvers=tuple(solvers), nuclear=nuc,
        seconds=np.array([[info["seconds"] for _, info in row] for row in sols]),
        norm_gap=np.abs(nuc[1] - nuc[0]) / nuc[0],
        distance=np.array([np.linalg.norm(a - b) / np.linalg.norm(a)
                           for a, b in zip(X1, X2, strict=True)]))


# ---- plain GD against the normalized step ------------------------------------------------------


@dataclass(frozen=True)
class Curve:
    """One stacked training's error curve: ``steps`` (T,), ``error`` (T, K) per count."""

    optimizer: str
    depth: int
    steps: np.ndarray
    error: np.ndarray


@dataclass(frozen=True)
class Finals:
    """Final numbers of one optimizer: ``error``, ``effective_rank``, ``steps``, ``converged``,
    each (D, K) over depths × observation counts."""

    error: np.ndarray
    effective_rank: np.ndarray
    steps: np.ndarray
    converged: np.ndarray


@dataclass(frozen=True)
class OptimizerComparison:
    """Plain GD against the normalized step (:func:`optimizer_comparison`).

    Axes: D depths (``depths``), K observation counts (``observations``). ``finals``:
    ``"gd"`` / ``"normalized"`` → :class:`Finals`; ``curves``: one :class:`Curve` per
    (optimizer, depth); ``distance`` (D, K) = ‖W_gd − W_normalized‖_F / ‖W*‖_F.
    """

    shape: tuple[int, int]
    rank: int
    observations: np.ndarray
    depths: np.ndarray
    gd_lr: float
    lr: float
    finals: dict
    curves: list
    distance: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def gd(self) -> Finals:
        """Plain gradient descent's final numbers."""
        return self.finals["gd"]

    @property
    def normalized(self) -> Finals:
        """The normalized step's final numbers."""
        return self.finals["normalized"]

    def both_converged(self) -> np.ndarray:
        """(D, K) whether both optimizers fitted the observations."""
        return self.gd.converged & self.normalized.converged

    def error_ratio(self) -> float:
        """The largest factor between the two optimizers' errors where both fitted."""
        both = self.both_converged()
        return float(2 ** np.abs(np.log2(self.gd.error[both] / self.normalized.error[both])).max())


def _train_stack(p: Params, problems, depth: int, scales, seeds, *, lr: float, optimizer: str,
                 max_steps: int):
    """Train one stacked batch: problem b from init scale ``scales[b]`` and seed ``seeds[b]``."""
    factors = _init_stack(problems[0].shape, depth, scales, seeds)
    return train(stack_problems(problems), factors, lr=lr, steps=int(max_steps),
                 optimizer=optimizer, tol=float(p.tol), record="log", top_k=10)


def _small_target(p: Params) -> np.ndarray:
    shape, rank = tuple(p.small.shape), int(p.small.rank)
    return low_rank_target(shape, rank, seed=_rng_seed(p, "explore", rank, *shape))


def optimizer_comparison(p: Params) -> OptimizerComparison:
    """Plain gradient descent against the normalized step on a small completion instance.

    One ground truth of shape ``p.small.shape`` and rank ``p.small.rank``, the observation
    counts ``p.small.observations``, depths ``p.gd_depths``, the same initial factors for both
    optimizers.
    """
    target = _small_target(p)
    obs = [int(m) for m in p.small.observations]
    problems = [CompletionProblem.random(target, m, seed=_rng_seed(p, "explore", m))
                for m in obs]
    finals, curves, products = {}, [], {}
    for opt, lr, steps in (("gd", p.gd_lr, p.gd_max_steps), ("normalized", p.lr, p.max_steps)):
        cols = {k: [] for k in ("error", "effective_rank", "steps", "converged")}
        for d in p.gd_depths:
            seeds = [_rng_seed(p, "explore", d, b) for b in range(len(obs))]
            tr = _train_stack(p, problems, d, [p.init_scale] * len(obs), seeds, lr=lr,
                              optimizer=opt, max_steps=steps)
            cols["error"].append(tr.error[-1])
            cols["effective_rank"].append(tr.effective_rank[-1])
            cols["steps"].append(np.asarray(tr.stop_step))
            cols["converged"].append(np.asarray(tr.converged))
            curves.append(Curve(opt, int(d), tr.steps, tr.error))
            products[(opt, d)] = tr.product
        finals[opt] = Finals(**{k: np.array(v) for k, v in cols.items()})
    scale = np.linalg.norm(target)
    distance = np.array([np.linalg.norm(products[("gd", d)] - products[("normalized", d)],
                                        axis=(-2, -1)) / scale for d in p.gd_depths])
    return OptimizerComparison(
        shape=tuple(p.small.shape), rank=int(p.small.rank), observations=np.array(obs),
        depths=np.array(p.gd_depths), gd_lr=float(p.gd_lr), lr=float(p.lr), finals=finals,
        curves=curves, distance=distance)


# ---- the explorer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplorerRun:
    """One training on the small instance (:func:`explorer_run`).

    ``target_sv``, ``sv`` (n,): singular values of the ground truth and of the solution;
    ``curve_steps`` (T,), ``curve_error`` (T,): the error along training; ``nn_error``,
    ``nn_effective_rank``: the minimum-nuclear-norm solution's.
    """

    kind: str
    shape: tuple[int, int]
    rank: int
    observations: int
    depth: int
    init_scale: float
    target_sv: np.ndarray
    sv: np.ndarray
    error: float
    effective_rank: float
    steps: int
    converged: bool
    nn_error: float
    nn_effective_rank: float
    curve_steps: np.ndarray
    curve_error: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))


def explorer_run(p: Params, *, observations: int | None = None, depth: int = 3,
                 init_scale: float = 1e-3, kind: str = "completion") -> ExplorerRun:
    """One training on the small instance ``p.small``, with its minimum-nuclear-norm solution."""
    shape, rank = tuple(p.small.shape), int(p.small.rank)
    m = int(p.small.explorer_observations if observations is None else observations)
    target = _small_target(p)
    cls = CompletionProblem if kind == "completion" else SensingProblem
    prob = cls.random(target, m, seed=_rng_seed(p, "explore", m, kind == "sensing"))
    tr = train(prob, init_factors(shape, depth, scale=float(init_scale),
                                  seed=_rng_seed(p, "explore", depth)),
               lr=p.lr, steps=int(p.max_steps), optimizer="normalized", tol=float(p.tol),
               top_k=min(shape))
    nn = _run({"nuclear": _nuclear_units(p, [prob])}, "explorer")["nuclear"]
    return ExplorerRun(
        kind=kind, shape=shape, rank=rank, observations=m, depth=int(depth),
        init_scale=float(init_scale), target_sv=np.linalg.svd(target, compute_uv=False),
        sv=tr.singular_values[-1], error=float(tr.error[-1]),
        effective_rank=float(tr.effective_rank[-1]), steps=int(tr.stop_step),
        converged=bool(tr.converged), nn_error=float(nn["error"][0]),
        nn_effective_rank=float(nn["effective_rank"][0]), curve_steps=tr.steps,
        curve_error=tr.error)


# ---- the conjecture, instance by instance ------------------------------------------------------


@dataclass(frozen=True)
class InstanceStudy:
    """Depth 2 over init scales on many completion instances (:func:`instance_study`).

    Axes: I instances (a ground truth at an observation count; ``ground_truth`` (I,) and
    ``observations`` (I,) name them), S init scales (``init_scales``, decreasing).
    ``target_nuclear``, ``min_nuclear``, ``nn_error`` (I,): the truth's nuclear norm, the convex
    minimum and the convex solution's error; ``nuclear``, ``top``, ``tail`` (I, S): depth 2's
    ‖W‖_*, the sum of its top-r singular values and of the rest (σ_{r+1}, …); ``t`` (I, S) the
    fraction of the way from X_min to the truth, ⟨W − X_min, W* − X_min⟩ / ‖W* − X_min‖²_F;
    ``error``, ``converged`` (I, S).
    """

    shape: tuple[int, int]
    rank: int
    init_scales: np.ndarray
    ground_truth: np.ndarray
    observations: np.ndarray
    target_nuclear: np.ndarray
    min_nuclear: np.ndarray
    nn_error: np.ndarray
    nuclear: np.ndarray
    top: np.ndarray
    tail: np.ndarray
    t: np.ndarray
    error: np.ndarray
    converged: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))

    @property
    def count(self) -> int:
        """The number of instances I."""
        return len(self.ground_truth)

    def hardness(self) -> np.ndarray:
        """(I,) ‖W*‖_* − min ‖X‖_*: how far below the truth the convex problem can go."""
        return self.target_nuclear - self.min_nuclear

    def relative_hardness(self) -> np.ndarray:
        """(I,) the hardness as a fraction of ‖W*‖_*."""
        return self.hardness() / self.target_nuclear

    def gap(self) -> np.ndarray:
        """(I, S) ‖W‖_* − ‖W*‖_* = tail − deficit."""
        return self.nuclear - self.target_nuclear[:, None]

    def deficit(self) -> np.ndarray:
        """(I, S) ‖W*‖_* − (σ_1 + … + σ_r)(W): what the top r singular values lack."""
        return self.target_nuclear[:, None] - self.top

    def direction(self) -> np.ndarray:
        """(I,) +1 where ‖W‖_* rises from the largest init to the smallest, −1 where it falls."""
        return np.sign(self.nuclear[:, -1] - self.nuclear[:, 0]).astype(int)

    def predicted(self) -> np.ndarray:
        """(I,) the direction that closing the gap predicts at the largest init:
        sign(deficit − tail), +1 (rise) where the top r lack more than the tail adds."""
        return np.sign(self.deficit()[:, 0] - self.tail[:, 0]).astype(int)

    def rising(self) -> np.ndarray:
        """(I,) whether ‖W‖_* rises as the init shrinks."""
        return self.direction() > 0

    def t_grows(self) -> np.ndarray:
        """(I,) whether t is larger at the smallest init than at the largest."""
        return self.t[:, -1] > self.t[:, 0]

    def tail_falls(self) -> np.ndarray:
        """(I,) whether the spurious tail is smaller at the smallest init than at the largest."""
        return self.tail[:, -1] < self.tail[:, 0]

    def deficit_falls(self) -> np.ndarray:
        """(I,) whether the top-r deficit is smaller at the smallest init."""
        return self.deficit()[:, -1] < self.deficit()[:, 0]


def instance_study(p: Params, study: Studies | None = None) -> InstanceStudy:
    """Gunasekar et al.'s conjecture instance by instance, as the init shrinks.

    ``study.ground_truths`` ground truths × the counts ``study.instances.observations`` of a
    ``study.instances`` completion task, each one instance. Depth 2 starts from W(0) = α·W₀
    for every α in ``p.conjecture_init_scales``, with one Gaussian direction W₀ per instance
    (the conjecture's family), normalized step ``p.lr`` to loss ``p.tol``; the convex baseline
    as in the sweeps (``p.solvers``, slack ``p.nuclear_tol``).
    """
    study = studies(p) if study is None else study
    block = study.instances
    shape, rank = tuple(block.shape), int(block.rank)
    scales = [float(s) for s in p.conjecture_init_scales]
    G, S = int(study.ground_truths), len(scales)
    problems, gts, obs = [], [], []
    for g in range(G):
        target = low_rank_target(shape, rank, seed=_rng_seed(p, "target", 100 + g, rank, *shape))
        for m in block.observations:
            problems.append(CompletionProblem.random(
                target, int(m), seed=_rng_seed(p, "observe", 100 + g, int(m), 0)))
            gts.append(g)
            obs.append(int(m))
    runs = [prob for prob in problems for _ in scales]
    # The same seed for every scale of an instance: W(0) = α·W₀ with one W₀.
    seeds = [_rng_seed(p, "init", 2, 20_000 + i) for i in range(len(problems)) for _ in scales]
    run_scales = [s for _ in problems for s in scales]
    units = _train_units(block, _stacks(block, runs), 2, run_scales, seeds,
                         lr=float(block.lr or p.lr), tol=float(p.tol),
                         max_steps=int(block.max_steps or p.max_steps))
    done = _run({2: units, "nuclear": _nuclear_units(p, problems)},
                f"instance study, {len(problems)} instances")
    count = len(problems)
    W = done[2]["product"].reshape(count, S, *shape)
    X = done["nuclear"]["product"]
    sv = np.linalg.svd(W, compute_uv=False)  # (I, S, n)
    truth = np.array([prob.target for prob in problems])
    gap = truth - X
    t = (np.einsum("isab,iab->is", W - X[:, None], gap)
         / np.einsum("iab,iab->i", gap, gap)[:, None])
    return InstanceStudy(
        shape=shape, rank=rank, init_scales=np.array(scales), ground_truth=np.array(gts),
        observations=np.array(obs),
        target_nuclear=np.array([nuclear_norm(x) for x in truth]),
        min_nuclear=done["nuclear"]["nuclear"], nn_error=done["nuclear"]["error"],
        nuclear=sv.sum(axis=-1), top=sv[..., :rank].sum(axis=-1),
        tail=sv[..., rank:].sum(axis=-1), t=t, error=done[2]["error"].reshape(count, S),
        converged=done[2]["converged"].reshape(count, S))


# ---- commuting measurements --------------------------------------------------------------------


@dataclass(frozen=True)
class CommutingTest:
    """Depths 2–4 from W_j(0) = α^{1/N} I on a commuting sensing problem (:func:`commuting_test`).

    Axes: D depths (``depths``), S init scales per depth (``inits`` (D, S), decreasing).
    ``distance`` (D, S) = ‖W − X_c‖_F / ‖X_c‖_F to the commuting minimum-trace solution X_c;
    ``trace``, ``min_eigenvalue``, ``schatten`` (Σ λ_i^{2/N} of W, N the row's depth),
    ``steps``, ``converged`` (D, S). ``min_trace``: cvxpy's minimum of tr X over all PSD X
    fitting the measurements; ``lp_trace`` = tr X_c (the best vertex of the commuting
    solutions); ``rank_one_schatten`` (D,) Σ λ^{2/N} of the rank-one feasible PSD matrix
    Q vvᵀ Qᵀ, v = √diag(X_c), and ``rank_one_violation`` its largest residual;
    ``commuting_schatten_distance`` (D,) ‖X_S − X_c‖_F / ‖X_c‖_F for X_S the commuting
    feasible matrix of least Σ λ^{2/N}; ``truth_distance`` = ‖W* − X_c‖_F / ‖X_c‖_F;
    ``off_diagonal`` the largest off-diagonal |W_ij| of any run (the iterates stay diagonal).
    """

    depths: np.ndarray
    inits: np.ndarray
    distance: np.ndarray
    trace: np.ndarray
    min_eigenvalue: np.ndarray
    schatten: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    min_trace: float
    lp_trace: float
    rank_one_schatten: np.ndarray
    rank_one_violation: float
    commuting_schatten_distance: np.ndarray
    truth_distance: float
    off_diagonal: float

    def _depth(self, depth: int) -> int:
        depths = [int(d) for d in self.depths]
        if int(depth) not in depths:
            raise KeyError(f"the test ran depths {depths}, not {depth}")
        return depths.index(int(depth))

    def final_distance(self) -> np.ndarray:
        """(D,) the distance to X_c at each depth's smallest init."""
        return self.distance[:, -1]

    def trace_gap(self) -> np.ndarray:
        """(D,) |tr W − min tr X| / min tr X at each depth's smallest init."""
        return np.abs(self.trace[:, -1] - self.min_trace) / self.min_trace

    def schatten_excess(self) -> np.ndarray:
        """(D,) Σ λ^{2/N}(W) / Σ λ^{2/N}(rank-one feasible matrix) at the smallest init: above
        1, W is not the Schatten-2/N minimizer."""
        return self.schatten[:, -1] / self.rank_one_schatten

    def deep(self) -> np.ndarray:
        """(D,) whether the depth is ≥ 3 (where the Schatten-2/N quasi-norm is not a norm)."""
        return np.asarray(self.depths) >= 3


def _commuting_vertices(diagonals: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """The vertices of {w ≥ 0 : diagonals @ w = y}: the basic feasible solutions.

    A concave function bounded below, such as Σ w_i^p with p ≤ 1, attains its minimum over this
    polyhedron at a vertex, so the vertices hold every minimizer we need.
    """
    k, n = diagonals.shape
    out = []
    for basis in itertools.combinations(range(n), k):
        sub = diagonals[:, basis]
        if abs(np.linalg.det(sub)) < 1e-12:
            continue
        wb = np.linalg.solve(sub, y)
        if wb.min() < -1e-12:
            continue
        w = np.zeros(n)
        w[list(basis)] = np.maximum(wb, 0.0)
        out.append(w)
    if not out:
        raise ValueError("the commuting problem has no non-negative solution")
    return out


def commuting_test(p: Params, study: Studies | None = None) -> CommutingTest:
    """Arora et al.'s commuting case: every depth from α^{1/N} I heads for the minimum trace.

    The measurement matrices are A_k = diag(a_k) (``study.commuting.diagonals``): symmetric
    and commuting. The ground truth is diag(``truth``). Each depth trains from
    W_j(0) = α^{1/N} I for every α of its row of ``inits`` by plain gradient descent (a stack
    per depth).
    """
    cfg = (studies(p) if study is None else study).commuting
    a = np.array(cfg.diagonals, dtype=float)
    w_true = np.array(cfg.truth, dtype=float)
    n = a.shape[1]
    # Diagonal A_k: every product of diagonal matrices is diagonal to the last bit, so the
    # iterates commute with the A_k exactly, as in the theorem. (A rotated copy Q diag(a_k) Qᵀ
    # commutes only up to round-off, and at depth ≥ 3 from a tiny init that round-off grows.)
    A = np.array([np.diag(row) for row in a])
    truth = np.diag(w_true)
    y = a @ w_true
    vertices = _commuting_vertices(a, y)
    w_c = min(vertices, key=lambda w: w.sum())
    X_c = np.diag(w_c)
    scale = np.linalg.norm(X_c)
    _, info = min_trace_psd(A, y)
    v = np.sqrt(w_c)
    rank_one = np.outer(v, v)
    problem = SensingProblem(truth, A)
    rows = {k: [] for k in ("distance", "trace", "min_eigenvalue", "schatten", "steps",
                            "converged")}
    rank_one_s, schatten_dist = [], []
    ev1 = np.clip(np.linalg.eigvalsh(rank_one), 0, None)
    off = []
    for depth, inits in zip(cfg.depths, cfg.inits, strict=True):
        q = 2.0 / int(depth)
        factors = stack_factors([init_factors((n, n), int(depth), scale=float(s),
                                              kind="identity") for s in inits])
        tr = train(stack_problems([problem] * len(inits)), factors, lr=float(cfg.lr),
                   steps=int(cfg.max_steps), optimizer="gd", tol=float(cfg.tol), record=[0],
                   progress=False)
        W = tr.product
        ev = np.linalg.eigvalsh((W + W.transpose(0, 2, 1)) / 2)
        rows["distance"].append(np.linalg.norm(W - X_c, axis=(1, 2)) / scale)
        rows["trace"].append(np.trace(W, axis1=1, axis2=2))
        rows["min_eigenvalue"].append(ev[:, 0])
        rows["schatten"].append((np.clip(ev, 0, None) ** q).sum(axis=1))
        rows["steps"].append(np.asarray(tr.stop_step))
        rows["converged"].append(np.asarray(tr.converged))
        rank_one_s.append(float((ev1 ** q).sum()))
        off.append(np.abs(W - np.einsum("bii->bi", W)[:, :, None] * np.eye(n)).max())
        w_s = min(vertices, key=lambda w, q=q: float((w ** q).sum()))
        schatten_dist.append(np.linalg.norm(w_s - w_c) / scale)
    return CommutingTest(
        depths=np.array(cfg.depths), inits=np.array(cfg.inits, dtype=float),
        **{k: np.array(v) for k, v in rows.items()}, min_trace=float(info["trace"]),
        lp_trace=float(w_c.sum()), rank_one_schatten=np.array(rank_one_s),
        rank_one_violation=float(np.abs(np.einsum("kij,ij->k", A, rank_one) - y).max()),
        commuting_schatten_distance=np.array(schatten_dist),
        truth_distance=float(np.linalg.norm(truth - X_c) / scale),
        off_diagonal=float(np.max(off)))
