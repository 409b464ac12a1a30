"""Experiments of the chapter *How singular values move* (``book/singular_values.ipynb``).

Every experiment takes the chapter's parameters ``p`` (:mod:`.params`) first, is deterministic
given the seeds in ``p``, and returns a frozen dataclass:

- :func:`rate_check` → :class:`RateCheck`: Arora et al. (2019)'s singular-value rate against one
  tiny GD step, from balanced and unbalanced factors of the same matrix.
- :func:`vector_check` → :class:`VectorCheck`: the singular-*vector* rates (derived in
  :func:`dmfnb.theory.dynamics.singular_vector_rate`) against one tiny GD step.
- :func:`trajectory_probe` → :class:`TrajectoryProbe`: the σ-rate, the imbalance and the
  alignment of the gradient along a completion run from the authors' Gaussian init.
- :func:`exact_modes` → :class:`ExactModes`: GD from an aligned balanced start against Saxe et
  al. (2014)'s exact mode solutions.
- :func:`plateau_sweep` → :class:`PlateauSweep`: how long a mode waits near zero, against u₀.
- :func:`completion_dynamics` → :class:`CompletionDynamics`: the authors' dynamics figure.
- :func:`mode_curves` → :class:`ModeCurves`: the scalar mode ODE, for the explorer.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from ...engine import train
from ...factors import balanced_factors, balancedness, gradients, init_factors, product
from ...infra.parallel import map_jobs
from ...problems import CompletionProblem, LeastSquaresProblem, SensingProblem, stack_problems
from ...targets import low_rank_target
from ...theory import dynamics as dyn

__all__ = [
    "CompletionDynamics",
    "CompletionRun",
    "ExactModes",
    "ExactRun",
    "ModeCurves",
    "PlateauFit",
    "PlateauSweep",
    "ProbeRun",
    "RateCheck",
    "RateStep",
    "TrajectoryProbe",
    "VectorCheck",
    "VectorStep",
    "completion_dynamics",
    "crossing_time",
    "exact_modes",
    "factor_flow",
    "fit_plateau_law",
    "mode_curves",
    "plateau_sweep",
    "predicted_lift_steps",
    "rate_check",
    "rate_errors",
    "trajectory_probe",
    "unbalance",
    "vector_check",
    "vector_errors",
]

KINDS = ("balanced", "unbalanced")


def _tuple(obj, *names: str) -> None:
    # JSON brings tuples back as lists: keep a decoded result equal to the one computed.
    for name in names:
        object.__setattr__(obj, name, tuple(getattr(obj, name)))


# --------------------------------------------------------------------------------------------
# 1. The rate, checked on one tiny step
# --------------------------------------------------------------------------------------------

def unbalance(factors, strength: float, *, seed) -> list[np.ndarray]:
    """The same product W_N ⋯ W_1, factored unbalanced: W_j → A_j W_j A_{j−1}⁻¹.

    Parameters
    ----------
    factors
        ``[W_1, …, W_N]``.
    strength
        Each hidden A_j = I + strength·Z/√width with Z standard normal (A_0 = A_N = I), so
        ``strength`` sets how far the factorization moves from balance while the end-to-end
        matrix stays exactly the same.
    seed
        Seed of the A_j.

    Returns
    -------
    list of ndarray
        The unbalanced factors (a copy of ``factors`` at depth 1: nothing to unbalance).
    """
    rng = np.random.default_rng(seed)
    factors = [np.array(f, dtype=float) for f in factors]
    depth = len(factors)
    if depth == 1:
        return factors
    A = [None] + [np.eye(f.shape[0]) + strength * rng.standard_normal((f.shape[0],) * 2)
                  / np.sqrt(f.shape[0]) for f in factors[:-1]] + [None]
    out = []
    for j, f in enumerate(factors):
        g = f if A[j] is None else f @ np.linalg.inv(A[j])
        out.append(g if A[j + 1] is None else A[j + 1] @ g)
    return out


@dataclass(frozen=True)
class RateStep:
    """One GD step of size η against the predicted rates.

    ``sigma``, ``rate`` and ``fd_rate`` are (r,), one entry per singular value of W (descending):
    σ_r, the formula's dσ_r/dt, and the measured Δσ_r/η. ``sigma_error`` is
    ‖Δσ/η − σ̇‖_∞ / ‖σ̇‖_∞ and ``matrix_error`` is ‖ΔW/η − Ẇ‖_F / ‖Ẇ‖_F.
    """

    sigma: np.ndarray
    rate: np.ndarray
    fd_rate: np.ndarray
    sigma_error: float
    matrix_error: float


def rate_errors(problem, factors, lr: float) -> RateStep:
    """One GD step of size ``lr`` on ``factors``, compared with the predicted rates.

    Parameters
    ----------
    problem
        A problem of :mod:`dmfnb.problems`.
    factors
        ``[W_1, …, W_N]``.
    lr
        The step η.

    Returns
    -------
    RateStep
        The change over the step against :func:`dmfnb.singular_value_rate` and
        :func:`dmfnb.end_to_end_rate`.
    """
    depth = len(factors)
    W0 = product(factors)
    G = problem.gradient(W0)
    _, grads = gradients(problem, factors)
    W1 = product([f - lr * g for f, g in zip(factors, grads, strict=True)])
    sigma0, rate = dyn.singular_value_rate(W0, G, depth)
    sigma1 = np.linalg.svd(W1, compute_uv=False)
    fd_sigma = (sigma1 - sigma0) / lr
    e2e = dyn.end_to_end_rate(W0, G, depth)
    fd_W = (W1 - W0) / lr
    return RateStep(
        sigma=sigma0, rate=rate, fd_rate=fd_sigma,
        sigma_error=float(np.max(np.abs(fd_sigma - rate)) / np.max(np.abs(rate))),
        matrix_error=float(np.linalg.norm(fd_W - e2e) / np.linalg.norm(e2e)),
    )


@dataclass(frozen=True)
class RateCheck:
    """The rate formula against one GD step, for each depth, start and step size.

    Axes: ``sigma_error[kind]`` and ``matrix_error[kind]`` are (depth, lr), rows following
    ``depths`` and columns ``lrs``, for ``kind`` in ``"balanced"``/``"unbalanced"`` (NaN at depth
    1 unbalanced: one factor has nothing to unbalance). ``imbalance[kind]`` is (depth,), the
    :func:`dmfnb.balancedness` of each start. ``examples[kind][depth]`` is the step at
    ``table_lr`` (the ``lrs`` entry nearest ``p.rate.lr``); depth 1 has no unbalanced example.
    """

    depths: tuple[int, ...]
    lrs: np.ndarray
    sigma_error: dict[str, np.ndarray]
    matrix_error: dict[str, np.ndarray]
    imbalance: dict[str, np.ndarray]
    examples: dict[str, dict[int, RateStep]]
    table_lr: float
    table_index: int

    def __post_init__(self):
        _tuple(self, "depths")

    def _row(self, depth: int) -> int:
        return self.depths.index(depth)

    def sigma_error_at(self, depth: int, kind: str = "balanced") -> float:
        """Relative error of the singular-value rate at ``table_lr`` (NaN: no such start)."""
        return float(self.sigma_error[kind][self._row(depth), self.table_index])

    def matrix_error_at(self, depth: int, kind: str = "balanced") -> float:
        """Relative error of the end-to-end rate at ``table_lr``."""
        return float(self.matrix_error[kind][self._row(depth), self.table_index])

    def sweep(self, depth: int, kind: str = "balanced") -> np.ndarray:
        """(lr,): the singular-value rate error against every step size of ``lrs``."""
        return self.sigma_error[kind][self._row(depth)]

    def imbalance_at(self, depth: int, kind: str = "unbalanced") -> float:
        """Imbalance of the start (0 for the balanced ones; NaN at depth 1 unbalanced)."""
        return float(self.imbalance[kind][self._row(depth)])

    def order(self, depth: int, lrs: tuple[float, float]) -> float:
        """Log-log slope of the balanced error against η over ``lrs[0] ≤ η ≤ lrs[1]``."""
        sel = (self.lrs >= lrs[0]) & (self.lrs <= lrs[1])
        err = self.sigma_error["balanced"][self._row(depth), sel]
        return float(np.polyfit(np.log(self.lrs[sel]), np.log(err), 1)[0])

    def unbalanced_depths(self) -> tuple[int, ...]:
        """The depths with an unbalanced start (N ≥ 2)."""
        return tuple(d for d in self.depths if d > 1)

    def unbalanced_range(self) -> tuple[float, float]:
        """(smallest, largest) unbalanced error at ``table_lr`` over depths ≥ 2."""
        errs = [self.sigma_error_at(d, "unbalanced") for d in self.unbalanced_depths()]
        return min(errs), max(errs)

    def balanced_max(self) -> float:
        """Largest balanced singular-value rate error at ``table_lr`` over every depth."""
        return max(self.sigma_error_at(d) for d in self.depths)


def rate_check(p) -> RateCheck:
    """Finite-difference check of the singular-value and end-to-end rates on a sensing problem.

    For each depth of ``p.rate.depths``: a balanced start (``init_factors(kind="balanced")``) and
    an unbalanced factorization of the *same* product (:func:`unbalance`), one GD step of each
    size in ``p.rate.lrs``.

    Parameters
    ----------
    p
        The chapter's parameters (uses ``p.rate``).

    Returns
    -------
    RateCheck
    """
    q = p.rate
    target = low_rank_target(q.shape, q.rank, seed=q.seed)
    problem = SensingProblem.random(target, q.observations, seed=q.seed + 1)
    lrs = np.asarray(q.lrs, dtype=float)
    sigma_error, matrix_error, imbalance, examples = {}, {}, {}, {}
    for kind in KINDS:
        se = np.full((len(q.depths), len(lrs)), np.nan)
        me = np.full_like(se, np.nan)
        bal = []
        examples[kind] = {}
        for i, depth in enumerate(q.depths):
            fs = init_factors(q.shape, depth, scale=q.init_scale, kind="balanced",
                              seed=q.seed + 10 + depth)
            if kind == "unbalanced":
                if depth == 1:
                    bal.append(np.nan)
                    continue  # one factor: nothing to unbalance
                fs = unbalance(fs, q.unbalance, seed=q.seed + 20 + depth)
            bal.append(0.0 if depth == 1 else balancedness(fs))
            for k, lr in enumerate(lrs):
                res = rate_errors(problem, fs, lr)
                se[i, k], me[i, k] = res.sigma_error, res.matrix_error
            examples[kind][depth] = rate_errors(problem, fs, q.lr)
        sigma_error[kind], matrix_error[kind] = se, me
        imbalance[kind] = np.array(bal)
    k = int(np.argmin(np.abs(lrs - q.lr)))
    return RateCheck(depths=tuple(q.depths), lrs=lrs, sigma_error=sigma_error,
                     matrix_error=matrix_error, imbalance=imbalance, examples=examples,
                     table_lr=float(lrs[k]), table_index=k)


# --------------------------------------------------------------------------------------------
# 1b. The singular vectors, checked on one tiny step
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VectorStep:
    """One GD step of size η against the predicted singular-vector rates.

    ``u_error`` is ‖ΔU/η − U̇‖_F / ‖U̇‖_F and ``v_error`` the same for V, with the singular vectors
    of the stepped W sign-aligned to those of W (numpy fixes each pair (u_r, v_r) only up to a
    common sign); U̇, V̇ from :func:`dmfnb.theory.dynamics.singular_vector_rate`.
    """

    u_error: float
    v_error: float

    @property
    def error(self) -> float:
        """The larger of the two relative errors."""
        return max(self.u_error, self.v_error)


def vector_errors(problem, factors, lr: float) -> VectorStep:
    """One GD step of size ``lr`` on ``factors``: the change of U and V against the formula.

    Parameters
    ----------
    problem
        A problem of :mod:`dmfnb.problems`.
    factors
        ``[W_1, …, W_N]``; W must have distinct nonzero singular values.
    lr
        The step η.

    Returns
    -------
    VectorStep
    """
    W0 = product(factors)
    rates = dyn.singular_vector_rate(W0, problem.gradient(W0), len(factors))
    _, grads = gradients(problem, factors)
    W1 = product([f - lr * g for f, g in zip(factors, grads, strict=True)])
    u1, _, vt1 = np.linalg.svd(W1, full_matrices=False)
    # A tiny step turns each vector by O(η): flip the pairs that numpy returned reversed.
    sign = np.sign(np.sum(u1 * rates.u, axis=0))
    u1, v1 = u1 * sign, vt1.T * sign
    du, dv = (u1 - rates.u) / lr, (v1 - rates.v) / lr
    return VectorStep(
        u_error=float(np.linalg.norm(du - rates.du) / np.linalg.norm(rates.du)),
        v_error=float(np.linalg.norm(dv - rates.dv) / np.linalg.norm(rates.dv)))


@dataclass(frozen=True)
class VectorCheck:
    """The singular-vector formula against one GD step, per shape, depth and start.

    Axes: ``error[kind]`` and ``error_large[kind]`` are (shape, depth), rows following
    ``shapes`` and columns ``depths``: the relative error (:attr:`VectorStep.error`) at ``lr``
    and at ``lr_large``, for ``kind`` in ``"balanced"``/``"unbalanced"``; ``imbalance[kind]``
    (shape, depth) is the :func:`dmfnb.balancedness` of each start.
    """

    shapes: tuple[tuple[int, int], ...]
    depths: tuple[int, ...]
    lr: float
    lr_large: float
    error: dict[str, np.ndarray]
    error_large: dict[str, np.ndarray]
    imbalance: dict[str, np.ndarray]

    def __post_init__(self):
        _tuple(self, "depths")
        object.__setattr__(self, "shapes", tuple(tuple(s) for s in self.shapes))

    def _at(self, shape, depth) -> tuple[int, int]:
        return self.shapes.index(tuple(shape)), self.depths.index(depth)

    def error_at(self, shape, depth: int, kind: str = "balanced") -> float:
        """Relative error of the vector rates at ``lr``."""
        return float(self.error[kind][self._at(shape, depth)])

    def order(self, shape, depth: int) -> float:
        """log₁₀(error at lr_large / error at lr) / log₁₀(lr_large / lr), balanced: 1 if O(η)."""
        i = self._at(shape, depth)
        ratio = self.error_large["balanced"][i] / self.error["balanced"][i]
        return float(np.log(ratio) / np.log(self.lr_large / self.lr))

    def balanced_max(self) -> float:
        """Largest balanced error at ``lr`` over shapes and depths."""
        return float(np.max(self.error["balanced"]))

    def unbalanced_min(self) -> float:
        """Smallest unbalanced error at ``lr`` over shapes and depths."""
        return float(np.min(self.error["unbalanced"]))


def vector_check(p) -> VectorCheck:
    """Finite-difference check of the singular-vector rates on a sensing problem.

    For each shape of ``p.vectors.shapes`` and depth of ``p.vectors.depths``: a balanced start
    and an unbalanced factorization of the same product (:func:`unbalance`), one GD step at
    ``lr`` and one at ``lr_large`` (:func:`vector_errors`).

    Parameters
    ----------
    p
        The chapter's parameters (uses ``p.vectors``).

    Returns
    -------
    VectorCheck
    """
    q = p.vectors
    error, error_large, imbalance = {}, {}, {}
    for kind in KINDS:
        e = np.full((len(q.shapes), len(q.depths)), np.nan)
        e2, imb = e.copy(), e.copy()
        for i, shape in enumerate(q.shapes):
            target = low_rank_target(shape, q.rank, seed=q.seed)
            problem = SensingProblem.random(target, q.observations, seed=q.seed + 1)
            for k, depth in enumerate(q.depths):
                fs = init_factors(shape, depth, scale=q.init_scale, kind="balanced",
                                  seed=q.seed + 10 + depth)
                if kind == "unbalanced":
                    fs = unbalance(fs, q.unbalance, seed=q.seed + 20 + depth)
                imb[i, k] = balancedness(fs)
                e[i, k] = vector_errors(problem, fs, q.lr).error
                e2[i, k] = vector_errors(problem, fs, q.lr_large).error
        error[kind], error_large[kind], imbalance[kind] = e, e2, imb
    return VectorCheck(shapes=tuple(tuple(s) for s in q.shapes), depths=tuple(q.depths),
                       lr=q.lr, lr_large=q.lr_large, error=error, error_large=error_large,
                       imbalance=imbalance)


# --------------------------------------------------------------------------------------------
# 1c. Along a training run from the authors' unbalanced Gaussian start
# --------------------------------------------------------------------------------------------

def factor_flow(problem, factors) -> np.ndarray:
    """dW/dt of W = W_N ⋯ W_1 under gradient flow on the *factors*, whatever their balance.

    Ẇ = Σ_j W_N ⋯ W_{j+1} Ẇ_j W_{j−1} ⋯ W_1 with Ẇ_j = −∂ℓ/∂W_j: the motion the factors
    actually produce, to compare with :func:`dmfnb.end_to_end_rate` (which assumes balance).

    Parameters
    ----------
    problem
        A problem of :mod:`dmfnb.problems`.
    factors
        ``[W_1, …, W_N]``.

    Returns
    -------
    ndarray
        (n, m): Ẇ.
    """
    _, grads = gradients(problem, factors)
    depth = len(factors)
    # below[j] = W_{j−1} ⋯ W_1 (identity for j = 0), above[j] = W_N ⋯ W_{j+1}.
    below = [np.eye(factors[0].shape[1])]
    for f in factors[:-1]:
        below.append(f @ below[-1])
    above = [np.eye(factors[-1].shape[0])]
    for f in factors[:0:-1]:
        above.append(above[-1] @ f)
    above = above[::-1]
    return -sum(above[j] @ grads[j] @ below[j] for j in range(depth))


@dataclass(frozen=True)
class ProbeRun:
    """One depth of :func:`trajectory_probe`; every array is (record,) unless said otherwise.

    ``steps`` iteration numbers; ``sigma`` (record, rank + 1) the top singular values;
    ``error`` the reconstruction error; ``rate_error`` max_{r ≤ rank} |σ̇_r − formula_r| /
    max_{r ≤ rank} |formula_r|, with σ̇_r = u_rᵀẆv_r from the factors' own flow
    (:func:`factor_flow`) and the formula of :func:`dmfnb.singular_value_rate`;
    ``imbalance_abs`` max_j ‖W_{j+1}ᵀW_{j+1} − W_jW_jᵀ‖_F and ``imbalance_rel`` the same over
    ‖W_jW_jᵀ‖_F (:func:`dmfnb.balancedness`); ``diag_mean`` and ``off_mean`` the mean
    diagonal and off-diagonal entries of |UᵀGV| (full SVD, G = ∇ℓ(W): the authors' log);
    ``block_share`` ‖off-diagonal‖_F / ‖·‖_F of its top rank × rank block.
    """

    depth: int
    steps: np.ndarray
    sigma: np.ndarray
    error: np.ndarray
    rate_error: np.ndarray
    imbalance_abs: np.ndarray
    imbalance_rel: np.ndarray
    diag_mean: np.ndarray
    off_mean: np.ndarray
    block_share: np.ndarray

    @property
    def off_ratio(self) -> np.ndarray:
        """(record,): off-diagonal mean / diagonal mean of |UᵀGV| (0: perfectly aligned)."""
        return self.off_mean / self.diag_mean

    def half_records(self, rank: int) -> np.ndarray:
        """(rank,): the record at which each top value first reaches half its final size."""
        final = self.sigma[-1]
        return np.array([int(np.argmax(self.sigma[:, k] >= 0.5 * final[k]))
                         for k in range(rank)])

    def conservation_gap(self) -> float:
        """|‖imbalance‖(end) / ‖imbalance‖(0) − 1|: 0 if the absolute imbalance is conserved."""
        return float(abs(self.imbalance_abs[-1] / self.imbalance_abs[0] - 1))


@dataclass(frozen=True)
class TrajectoryProbe:
    """Completion by plain GD from Gaussian (unbalanced) factors, probed every few steps.

    ``runs[depth]`` is one :class:`ProbeRun` per depth; ``rank`` the target's rank.
    """

    rank: int
    lr: float
    runs: dict[int, ProbeRun]

    @property
    def depths(self) -> tuple[int, ...]:
        """The depths run, in order."""
        return tuple(self.runs)

    def early_error(self, depth: int) -> float:
        """σ-rate error at t = 0."""
        return float(self.runs[depth].rate_error[0])

    def late_error(self, depth: int) -> float:
        """σ-rate error at the last record."""
        return float(self.runs[depth].rate_error[-1])

    def lift_ratios(self, depth: int) -> np.ndarray:
        """(rank,): the authors' off/diagonal ratio when each target value is half-way up."""
        run = self.runs[depth]
        return run.off_ratio[run.half_records(self.rank)]


def trajectory_probe(p) -> TrajectoryProbe:
    """Matrix completion by plain GD from the authors' Gaussian init, probed as it trains.

    Every ``p.trajectory.every`` iterations: the σ-rate formula against the motion the
    (unbalanced) factors actually produce, the absolute and relative imbalance, and the
    authors' alignment measure, the diagonal against the off-diagonal mass of |UᵀGV|.

    Parameters
    ----------
    p
        The chapter's parameters (uses ``p.trajectory``).

    Returns
    -------
    TrajectoryProbe
    """
    q = p.trajectory
    n, r = q.size, q.rank
    target = low_rank_target((n, n), r, seed=q.seed)
    problem = CompletionProblem.random(target, q.observations, seed=q.seed + 1)
    off = ~np.eye(n, dtype=bool)
    runs = {}
    for depth in q.depths:
        fs = init_factors((n, n), depth, scale=q.init_scale, kind="gaussian",
                          seed=q.seed + 10 + depth)
        rec = {k: [] for k in ("steps", "sigma", "error", "rate_error", "imbalance_abs",
                               "imbalance_rel", "diag_mean", "off_mean", "block_share")}
        for step in range(0, q.steps + 1, q.every):
            if step:
                fs = train(problem, fs, lr=q.lr, steps=q.every, record=q.every).factors
            W = product(fs)
            G = problem.gradient(W)
            u, s, vt = np.linalg.svd(W)
            true = np.einsum("ir,ij,jr->r", u[:, :r], factor_flow(problem, fs), vt[:r].T)
            formula = dyn.singular_value_rate(W, G, depth)[1][:r]
            B = np.abs(u.T @ G @ vt.T)
            block = B[:r, :r]
            rec["steps"].append(step)
            rec["sigma"].append(s[: r + 1])
            rec["error"].append(float(problem.reconstruction_error(W)))
            rec["rate_error"].append(float(np.max(np.abs(true - formula))
                                           / np.max(np.abs(formula))))
            rec["imbalance_abs"].append(max(
                float(np.linalg.norm(hi.T @ hi - lo @ lo.T))
                for lo, hi in itertools.pairwise(fs)))
            rec["imbalance_rel"].append(balancedness(fs))
            rec["diag_mean"].append(float(np.mean(np.diag(B))))
            rec["off_mean"].append(float(np.mean(B[off])))
            rec["block_share"].append(float(np.linalg.norm(block - np.diag(np.diag(block)))
                                            / np.linalg.norm(block)))
        runs[depth] = ProbeRun(depth=depth, **{k: np.array(v) for k, v in rec.items()})
    return TrajectoryProbe(rank=r, lr=q.lr, runs=runs)


# --------------------------------------------------------------------------------------------
# 2. Exact solutions: aligned balanced starts on full observation
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExactRun:
    """GD at one depth from an aligned balanced start, at step ``lr`` and at ``lr_double``.

    Axes: ``t`` is (record,), gradient-flow time η·k; ``sigma`` (GD) and ``theory`` (exact
    solution) are (record, mode), modes following the strengths; ``deviation`` and
    ``deviation_double`` are (mode,): max_t |σ_r − u_r| / s_r at η and at 2η.
    """

    depth: int
    lr: float
    steps: int
    t: np.ndarray
    sigma: np.ndarray
    theory: np.ndarray
    deviation: np.ndarray
    lr_double: float
    steps_double: int
    deviation_double: np.ndarray

    def max_deviation(self) -> float:
        """Largest gap to the exact solution over modes and time, at η (relative to s)."""
        return float(self.deviation.max())

    def doubling_ratio(self) -> float:
        """How much the largest gap grows when η doubles (first order in η: 2)."""
        return float(self.deviation_double.max() / self.deviation.max())

    def crossing(self, mode: int, level: float) -> float:
        """Gradient-flow time at which GD's singular value ``mode`` first reaches ``level``."""
        return float(crossing_time(self.t, self.sigma[:, mode], level)[0])


@dataclass(frozen=True)
class ExactModes:
    """GD on ½‖W − W*‖²_F from an aligned balanced start against the exact mode solutions.

    ``strengths`` is (mode,), the target's singular values s_r; ``u0`` every mode's start;
    ``runs[depth]`` one :class:`ExactRun` per depth.
    """

    strengths: np.ndarray
    u0: float
    lr: float
    runs: dict[int, ExactRun]

    @property
    def depths(self) -> tuple[int, ...]:
        """The depths run, in order."""
        return tuple(self.runs)

    def max_deviations(self) -> dict[int, float]:
        """Depth → largest gap to the exact solution at η."""
        return {d: r.max_deviation() for d, r in self.runs.items()}


def exact_modes(p) -> ExactModes:
    """GD on ½‖W − W*‖²_F from an aligned balanced start, against the exact mode solutions.

    W* = U diag(s) Vᵀ with random orthonormal U, V and strengths ``p.exact.strengths``; the
    start W(0) = u₀ U Vᵀ is split into balanced factors, so every singular value of W follows
    the scalar ODE du/dt = N u^{2−2/N}(s − u): Saxe's sigmoid at depth 2,
    :func:`dmfnb.integrate_mode` otherwise. Runs at step ``p.exact.lr`` and at twice it, to
    show the gap is first order in η.

    Parameters
    ----------
    p
        The chapter's parameters (uses ``p.exact``).

    Returns
    -------
    ExactModes
    """
    q = p.exact
    s = np.asarray(q.strengths, dtype=float)
    rng = np.random.default_rng(q.seed)
    n, m = q.shape
    U = np.linalg.qr(rng.standard_normal((n, len(s))))[0]
    V = np.linalg.qr(rng.standard_normal((m, len(s))))[0]
    problem = LeastSquaresProblem(U * s @ V.T)
    u0 = q.init_scale
    runs = {}
    for depth in q.depths:
        horizon = q.horizon * dyn.mode_time(s.min(), u0, 0.99 * s.min(), depth)
        got = {}
        for mult in (2, 1):
            lr = q.lr * mult
            steps = int(np.ceil(horizon / lr))
            fs = balanced_factors(U * u0 @ V.T, depth, seed=q.seed + depth)
            tr = train(problem, fs, lr=lr, steps=steps, record=max(1, steps // q.records),
                       top_k=len(s))
            t = tr.steps * lr
            theory = np.stack([dyn.saxe_mode(t, sk, u0) if depth == 2
                               else dyn.integrate_mode(t, sk, u0, depth) for sk in s], axis=1)
            dev = np.max(np.abs(tr.singular_values - theory), axis=0) / s
            got[mult] = (lr, steps, t, tr.singular_values, theory, dev)
        lr, steps, t, sigma, theory, dev = got[1]
        lr2, steps2, *_, dev2 = got[2]
        runs[depth] = ExactRun(depth=depth, lr=lr, steps=steps, t=t, sigma=sigma,
                               theory=theory, deviation=dev, lr_double=lr2,
                               steps_double=steps2, deviation_double=dev2)
    return ExactModes(strengths=s, u0=u0, lr=q.lr, runs=runs)


# --------------------------------------------------------------------------------------------
# 3. How long a mode waits
# --------------------------------------------------------------------------------------------

def crossing_time(t, values, level) -> np.ndarray:
    """First time each column of ``values`` reaches ``level`` (linear interpolation).

    Parameters
    ----------
    t
        (record,) times.
    values
        (record,) or (record, run).
    level
        One number, or one per run.

    Returns
    -------
    ndarray
        (run,): the crossing times; NaN where a run never reaches its level.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    level = np.broadcast_to(np.asarray(level, dtype=float), values.shape[1:])
    out = np.full(values.shape[1], np.nan)
    for b in range(values.shape[1]):
        above = np.flatnonzero(values[:, b] >= level[b])
        if above.size == 0:
            continue
        i = above[0]
        if i == 0:
            out[b] = t[0]
            continue
        v0, v1 = values[i - 1, b], values[i, b]
        out[b] = t[i - 1] + (level[b] - v0) / (v1 - v0) * (t[i] - t[i - 1])
    return out


@dataclass(frozen=True)
class PlateauFit:
    """A fitted plateau law T = a·g(u₀) + b.

    ``law`` is ``"log"`` (g = ln(1/u₀), depth 2; ``exponent`` is ``None``) or ``"power"``
    (g = u₀^{−α}, depth N ≥ 3, α = ``exponent``).
    """

    law: str
    a: float
    b: float
    exponent: float | None = None


def fit_plateau_law(u0, T, depth: int) -> PlateauFit:
    """Fit the plateau law to measured lift times T(u₀).

    Parameters
    ----------
    u0, T
        (init,) initial values and their lift times.
    depth
        N ≥ 2. Depth 2: T = a ln(1/u₀) + b (theory a = 1/(2s)). Depth N ≥ 3: T = a u₀^{−α} + b
        (theory α = 1 − 2/N, a = 1/((N − 2)s)); b absorbs the time spent on the final rise.

    Returns
    -------
    PlateauFit
    """
    u0 = np.asarray(u0, dtype=float)
    T = np.asarray(T, dtype=float)
    if depth == 2:
        a, b = np.polyfit(np.log(1 / u0), T, 1)
        return PlateauFit("log", float(a), float(b))
    alpha0 = 1 - 2 / depth
    a0 = T.max() * u0.min() ** alpha0
    (a, alpha, b), _ = curve_fit(lambda x, a, al, b: a * x ** (-al) + b, u0, T,
                                 p0=(a0, alpha0, 0.0), sigma=T, maxfev=20000)
    return PlateauFit("power", float(a), float(b), float(alpha))


@dataclass(frozen=True)
class PlateauSweep:
    """Lift time of one mode (time to reach s/2) against its initial value, per depth.

    Axes: ``u0`` is (init,); ``measured`` (GD), ``predicted`` (:func:`dmfnb.mode_time`) and
    ``asymptotic`` (:func:`dmfnb.plateau_time`) are (depth, init), rows following ``depths``.
    ``fits[depth]`` is the fitted :class:`PlateauFit` for every depth ≥ 2.
    """

    u0: np.ndarray
    strength: float
    depths: tuple[int, ...]
    measured: np.ndarray
    predicted: np.ndarray
    asymptotic: np.ndarray
    fits: dict[int, PlateauFit]

    def __post_init__(self):
        _tuple(self, "depths")

    def _row(self, depth: int) -> int:
        return self.depths.index(depth)

    def times(self, depth: int) -> np.ndarray:
        """(init,): GD's lift times at ``depth``."""
        return self.measured[self._row(depth)]

    def exact_times(self, depth: int) -> np.ndarray:
        """(init,): the exact integral's lift times at ``depth``."""
        return self.predicted[self._row(depth)]

    def gap(self, depth: int) -> float:
        """max over u₀ of |T_GD / T_exact − 1|."""
        r = self._row(depth)
        return float(np.max(np.abs(self.measured[r] / self.predicted[r] - 1)))

    def growth(self, depth: int) -> float:
        """T(smallest u₀) / T(largest u₀): how much the wait grows over the sweep."""
        T = self.times(depth)
        return float(T[np.argmin(self.u0)] / T[np.argmax(self.u0)])

    def theory_slope(self) -> float:
        """1/(2s): the depth-2 slope of T against ln(1/u₀)."""
        return 0.5 / self.strength

    @staticmethod
    def theory_exponent(depth: int) -> float:
        """1 − 2/N: the exponent of 1/u₀ at depth N ≥ 3."""
        return 1 - 2 / depth

    def theory_a(self, depth: int) -> float:
        """The theory's prefactor a: 1/(2s) at depth 2, 1/((N − 2)s) at depth N ≥ 3."""
        return self.theory_slope() if depth == 2 else 1 / ((depth - 2) * self.strength)

    def asymptote(self, depth: int, points: int = 60) -> tuple[np.ndarray, np.ndarray]:
        """(u₀, T): the small-u₀ asymptote :func:`dmfnb.plateau_time` on a fine log grid."""
        u = np.logspace(np.log10(self.u0.min()), np.log10(self.u0.max()), points)
        return u, np.array([dyn.plateau_time(self.strength, x, depth) for x in u])

    def naive_exponent(self, depth: int) -> float:
        """The log-log slope of T against 1/u₀, fitted without the constant b."""
        return float(-np.polyfit(np.log(self.u0), np.log(self.times(depth)), 1)[0])


def plateau_sweep(p) -> PlateauSweep:
    """Lift time of one mode (time to reach s/2) against the init scale u₀, for each depth.

    One batched GD run per depth over the stacked 1×1 problems ℓ = ½(w − s)² with balanced
    factors w_j = u₀^{1/N}: exactly the mode ODE. Each run's step η is its predicted lift time
    divided by ``p.plateau.steps``, so every run is resolved by the same number of steps.

    Parameters
    ----------
    p
        The chapter's parameters (uses ``p.plateau``).

    Returns
    -------
    PlateauSweep
    """
    q = p.plateau
    u0 = np.asarray(q.inits, dtype=float)
    s = float(q.strength)
    measured, predicted, asymptotic, fits = [], [], [], {}
    problem = stack_problems([LeastSquaresProblem(np.array([[s]])) for _ in u0])
    for depth in q.depths:
        pred = np.array([dyn.mode_time(s, u, 0.5 * s, depth) for u in u0])
        lr = pred / q.steps
        steps = int(1.2 * q.steps)
        fs = [np.stack([np.full((1, 1), u ** (1 / depth)) for u in u0]) for _ in range(depth)]
        tr = train(problem, fs, lr=lr, steps=steps, record=1, top_k=1)
        values = tr.singular_values[:, :, 0]  # records × runs
        # Run b has its own time axis t = η_b · step.
        T = np.array([crossing_time(tr.steps * lr[b], values[:, b], 0.5 * s)[0]
                      for b in range(len(u0))])
        measured.append(T)
        predicted.append(pred)
        asymptotic.append([dyn.plateau_time(s, u, depth) for u in u0])
        if depth >= 2:
            fits[depth] = fit_plateau_law(u0, T, depth)
    return PlateauSweep(u0=u0, strength=s, depths=tuple(q.depths), measured=np.array(measured),
                        predicted=np.array(predicted), asymptotic=np.array(asymptotic),
                        fits=fits)


# --------------------------------------------------------------------------------------------
# 4. The authors' dynamics figure
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CompletionRun:
    """One depth of the completion figure.

    Axes: ``steps`` (record,) iteration numbers; ``sigma`` (record, k) the top singular values;
    ``error`` and ``loss`` (record,). ``lifted`` counts the final σ_k above ``lift_rtol``·σ_1;
    ``half_steps`` (min(lifted, k),) is the iteration at which each lifted value first reaches
    half its final size, and ``next_at_half`` σ_{k+1}(that iteration) / σ_{k+1}(end).
    """

    depth: int
    steps: np.ndarray
    sigma: np.ndarray
    error: np.ndarray
    loss: np.ndarray
    final_error: float
    final_loss: float
    lifted: int
    half_steps: np.ndarray
    next_at_half: np.ndarray

    @property
    def final_sigma(self) -> np.ndarray:
        """(k,): the top singular values at the end."""
        return self.sigma[-1]

    def error_at(self, step: int) -> float:
        """Reconstruction error at the first record at or after iteration ``step``."""
        i = min(int(np.searchsorted(self.steps, step)), len(self.steps) - 1)
        return float(self.error[i])


@dataclass(frozen=True)
class CompletionDynamics:
    """Matrix completion by plain GD from W(0) = u₀·I, one :class:`CompletionRun` per depth.

    ``target_sv`` is (k,), the target's top singular values; ``zero_fill`` the error of the
    matrix that keeps the observed entries and is zero elsewhere; ``rank`` the target's rank.
    """

    target_sv: np.ndarray
    zero_fill: float
    rank: int
    runs: dict[int, CompletionRun]

    @property
    def depths(self) -> tuple[int, ...]:
        """The depths run, in order."""
        return tuple(self.runs)

    def zero_fill_gap(self, depth: int = 1) -> float:
        """|final error / zero-fill error − 1|."""
        return abs(self.runs[depth].final_error / self.zero_fill - 1)

    def stagger(self, depth: int) -> np.ndarray:
        """(≤ rank − 1,): σ_{k+1}'s fraction of its final value when σ_k is half-way up."""
        return self.runs[depth].next_at_half[: self.rank - 1]

    def half_step_gaps(self, depth: int) -> np.ndarray:
        """(≤ rank − 1,): iterations between successive half-way points of the top values."""
        return np.diff(self.runs[depth].half_steps[: self.rank])


def predicted_lift_steps(p, depth: int) -> np.ndarray:
    """Iteration at which each target value of the completion figure is half-way up, by the
    one-mode ODE (no run: only the target is built).

    The authors' mean loss (1/m)Σ_Ω(W_ij − W*_ij)² pulls a spread-out mode of strength σ* at
    rate ⟨∇ℓ, u vᵀ⟩ ≈ (2/m)(m/n²)(σ − σ*): the mode ODE with time scaled by κ = 2/n², so the
    half-way time is :func:`dmfnb.mode_time` (σ*, u₀, σ*/2, N) / (κ η) iterations. Modes are
    taken as independent (the singular vectors fixed): a prediction, not a bound.

    Parameters
    ----------
    p
        The chapter's parameters (uses ``p.completion``).
    depth
        N ≥ 2.

    Returns
    -------
    ndarray
        (rank,): predicted iterations, strongest value first.
    """
    q = p.completion
    n = q.size
    target = low_rank_target((n, n), q.rank, seed=q.seed)
    sv = np.linalg.svd(target, compute_uv=False)[: q.rank]
    kappa = 2.0 / n**2
    return np.array([dyn.mode_time(s, q.init_scale, s / 2, depth) / (kappa * q.lr)
                     for s in sv])


def _completion_run(unit) -> CompletionRun:
    """One depth of :func:`completion_dynamics`, here or in a worker (:func:`map_jobs`)."""
    q, problem, depth = unit
    n = q.size
    fs = init_factors((n, n), depth, scale=q.init_scale, kind="identity")
    tr = train(problem, fs, lr=q.lr, steps=q.steps, record=q.record, top_k=q.top_k,
               label=f"completion dynamics, depth {depth}")
    S = tr.singular_values
    final = S[-1]
    lifted = int(np.sum(final > q.lift_rtol * final[0]))
    k_max = min(lifted, S.shape[1])
    half_idx = [int(np.argmax(S[:, k] >= 0.5 * final[k])) for k in range(k_max)]
    next_at_half = [float(S[half_idx[k], k + 1] / final[k + 1])
                    for k in range(min(k_max, S.shape[1] - 1))]
    return CompletionRun(
        depth=depth, steps=tr.steps, sigma=S, error=tr.error, loss=tr.loss,
        final_error=float(tr.error[-1]), final_loss=float(tr.loss[-1]), lifted=lifted,
        half_steps=tr.steps[half_idx], next_at_half=np.array(next_at_half))


def completion_dynamics(p) -> CompletionDynamics:
    """Matrix completion by plain GD from W(0) = u₀·I (identity factors).

    Records the top ``p.completion.top_k`` singular values every ``p.completion.record``
    iterations and counts the *lifted* ones: final σ_k > ``lift_rtol`` · σ_1. For each lifted
    value the iteration at which it first reaches half its final size, and how far the next one
    has risen by then (σ_{k+1}(t_k) / σ_{k+1}(end): small means the jumps are staggered). The
    depths run on ``DMFNB_JOBS`` processes (the deepest first: it takes longest).

    Parameters
    ----------
    p
        The chapter's parameters (uses ``p.completion``).

    Returns
    -------
    CompletionDynamics
    """
    q = p.completion
    target = low_rank_target((q.size, q.size), q.rank, seed=q.seed)
    problem = CompletionProblem.random(target, q.observations, seed=q.seed + 1)
    depths = sorted(q.depths, reverse=True)
    done = map_jobs(_completion_run, [(q, problem, d) for d in depths],
                    desc="completion dynamics")
    by_depth = dict(zip(depths, done, strict=True))
    return CompletionDynamics(
        target_sv=np.linalg.svd(target, compute_uv=False)[: q.top_k],
        zero_fill=float(problem.zero_fill_error()), rank=q.rank,
        runs={d: by_depth[d] for d in q.depths})


# --------------------------------------------------------------------------------------------
# 5. The explorer's mode ODE
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModeCurves:
    """u(t) of the scalar mode ODE du/dt = N u^{2−2/N}(s − u) on one time grid.

    Axes: ``t`` is (time,); ``u[depth]`` is (time,) for the chosen ``depth`` and every depth of
    ``p.explorer.others``. ``t_half`` is the chosen depth's lift time (u = s/2) and ``t_asym``
    its small-u₀ asymptote (:func:`dmfnb.plateau_time`).
    """

    depth: int
    init_scale: float
    strength: float
    log_time: bool
    t: np.ndarray
    u: dict[int, np.ndarray]
    t_half: float
    t_asym: float


def mode_curves(p, depth: int, init_scale: float, strength: float, *,
                log_time: bool = False) -> ModeCurves:
    """Integrate the mode ODE at ``depth`` and at the comparison depths of ``p.explorer``.

    Parameters
    ----------
    p
        The chapter's parameters (uses ``p.explorer.others`` and ``p.explorer.points``).
    depth, init_scale, strength
        N, u₀ and s.
    log_time
        Log-spaced time grid (five decades below the end), for waits that span decades.

    Returns
    -------
    ModeCurves
    """
    s = float(strength)
    t_half = dyn.mode_time(s, init_scale, 0.5 * s, depth)
    tmax = 2.5 * t_half + 2.0 / s
    points = p.explorer.points
    if log_time:
        t = np.concatenate([[0.0], np.logspace(np.log10(tmax) - 5, np.log10(tmax), points - 1)])
    else:
        t = np.linspace(0.0, tmax, points)
    depths = sorted({*p.explorer.others, depth})
    u = {d: dyn.integrate_mode(t, s, init_scale, d) for d in depths}
    return ModeCurves(depth=depth, init_scale=float(init_scale), strength=s, log_time=log_time,
                      t=t, u=u, t_half=t_half, t_asym=dyn.plateau_time(s, init_scale, depth))
