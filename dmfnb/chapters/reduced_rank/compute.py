"""Experiments of the chapter *Reduced-rank regression* (``book/reduced_rank.ipynb``).

Two-layer linear regression trained by discrete gradient descent from a vanishing initialization
learns the reduced-rank regression solutions Ŵ_1, Ŵ_2, … in turn (Gidel, Bach & Lacoste-Julien
2019). Each experiment takes the chapter's parameters ``p`` (:mod:`.params`) first and returns a
frozen dataclass; same parameters, same numbers.

Axes used in the docstrings: T records (iterations), B initial scales ε (in the order of
``p.eps_values``, largest first), r modes (by decreasing strength s_i), K = r reduced-rank steps,
so K + 1 references Ŵ_0 = 0, Ŵ_1, …, Ŵ_K = W_ols.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ...engine import DivergenceError, train
from ...factors import init_factors, stack_factors
from ...problems import stack_problems
from ...theory.regression import (
    RegressionProblem,
    escape_time,
    mode_amplitudes,
    reduced_rank_path,
    reduced_rank_solution,
    regression_modes,
    stability_limit,
    synthetic_regression,
)

__all__ = [
    "ClosedForm",
    "Data",
    "Dynamics",
    "EscapeFit",
    "EscapeScaling",
    "Explore",
    "RotatedRun",
    "Staircase",
    "StepSizeSweep",
    "SweepRun",
    "Violation",
    "assumption_violation",
    "closed_form_vs_direct",
    "describe",
    "direct_rank_fit",
    "escape_scaling",
    "explore",
    "make_problem",
    "one_layer",
    "run_dynamics",
    "staircase",
    "step_size_sweep",
]


def _tuple(obj, name: str) -> None:
    # JSON gives lists back (dmfnb.infra.reproduce.decode): keep sequences of runs as tuples.
    object.__setattr__(obj, name, tuple(getattr(obj, name)))


# ---- the data ---------------------------------------------------------------------------------


def make_problem(p, *, rotation: float = 0.0) -> RegressionProblem:
    """The chapter's synthetic regression problem (co-diagonalizable unless ``rotation`` > 0).

    Parameters
    ----------
    p
        The chapter's parameters (strengths, input variances, sizes, noise, data seed).
    rotation
        Angle θ by which the eigenbasis of Σ_x is turned away from the modes (0: the
        co-diagonalizability assumption holds).
    """
    return synthetic_regression(
        p.strengths, p.input_variances, d_out=p.d_out, num_samples=p.num_samples,
        noise=p.noise, rotation=rotation, seed=p.data_seed,
    )


@dataclass(frozen=True)
class Data:
    """The chapter's regression problem in numbers.

    ``strengths``, ``variances`` and ``values`` have one entry per mode (r,): s_i, λ_i = v_iᵀΣ_xv_i
    and s_i/λ_i (the amplitude a mode reaches on its own). ``defect`` is the co-diagonalizability
    defect, ``residual_loss`` min ℓ, ``stability_limit`` η_crit.
    """

    num_samples: int
    d_in: int
    d_out: int
    residual_loss: float
    stability_limit: float
    defect: float
    strengths: np.ndarray
    variances: np.ndarray
    values: np.ndarray

    @property
    def rank(self) -> int:
        """Number of modes r."""
        return len(self.strengths)

    @property
    def rrr_strengths(self) -> np.ndarray:
        """s_i/√λ_i (r,): the order in which reduced-rank regression keeps the modes."""
        return self.strengths / np.sqrt(self.variances)

    @property
    def orders_agree(self) -> bool:
        """Whether the orders by s_i and by s_i/√λ_i agree (then the plateaus are the Ŵ_k)."""
        return bool(np.all(np.diff(self.rrr_strengths) < 0))


def describe(p) -> Data:
    """Sizes, residual loss, defect, stability limit and modes of :func:`make_problem`."""
    problem = make_problem(p)
    m = regression_modes(problem)
    return Data(problem.num_samples, problem.shape[1], problem.shape[0],
                float(problem.residual_loss), stability_limit(problem), float(m.defect),
                m.strengths, m.variances, m.values)


# ---- closed form against a direct fit ---------------------------------------------------------


def direct_rank_fit(problem: RegressionProblem, k: int, *, starts: int = 2, seed: int = 0,
                    max_polish: int = 5_000) -> np.ndarray:
    """Minimize ℓ(A B) over A (d_out × k), B (k × d_in) directly.

    L-BFGS from ``starts`` random points, then alternating least squares (A given B, B given A)
    until W = A B stops moving: a rank-constrained fit that knows nothing of the closed form,
    to check :func:`dmfnb.reduced_rank_solution` against.

    Returns
    -------
    numpy.ndarray
        The best W = A B found (d_out × d_in).
    """
    d_out, d_in = problem.shape
    if k == 0:
        return np.zeros((d_out, d_in))
    rng = np.random.default_rng(seed)

    def fun(x):
        A = x[: d_out * k].reshape(d_out, k)
        B = x[d_out * k:].reshape(k, d_in)
        loss, G = problem.loss_and_gradient(A @ B)
        return loss, np.concatenate([(G @ B.T).ravel(), (A.T @ G).ravel()])

    cov, cross = problem.input_covariance, problem.cross_covariance
    cov_pinv = np.linalg.pinv(cov, hermitian=True)
    best, best_loss = None, np.inf
    for _ in range(starts):
        x0 = rng.standard_normal(k * (d_out + d_in))
        res = minimize(fun, x0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
        A = res.x[: d_out * k].reshape(d_out, k)
        B = res.x[d_out * k:].reshape(k, d_in)
        # Polish by alternating least squares: each half-step solves its normal equations
        # exactly, so the fit reaches machine precision, which L-BFGS alone does not.
        W = A @ B
        for _ in range(max_polish):
            A = np.linalg.solve(B @ cov @ B.T, B @ cross.T).T
            B = np.linalg.lstsq(A, cross, rcond=None)[0] @ cov_pinv
            W_new = A @ B
            done = np.linalg.norm(W_new - W) <= 1e-14 * np.linalg.norm(W_new)
            W = W_new
            if done:
                break
        loss = problem.loss(W)
        if loss < best_loss:
            best_loss, best = loss, W
    return best


@dataclass(frozen=True)
class ClosedForm:
    """ℓ(Ŵ_k) from the closed form against a direct rank-k fit, k = 0 … r.

    ``k``, ``loss_closed``, ``loss_direct`` and ``distance`` (‖Ŵ_k − direct‖_F / ‖W_ols‖_F) have
    one entry per rank (r + 1,); ``data`` describes the problem.
    """

    k: np.ndarray
    loss_closed: np.ndarray
    loss_direct: np.ndarray
    distance: np.ndarray
    data: Data

    def max_distance(self) -> float:
        """Largest relative distance between the closed form and the direct fit."""
        return float(np.max(self.distance))

    def max_gain(self) -> float:
        """Largest ℓ(closed form) − ℓ(direct fit): > 0 where the direct fit does better."""
        return float(np.max(self.loss_closed - self.loss_direct))


def closed_form_vs_direct(p) -> ClosedForm:
    """ℓ(Ŵ_k) from the closed form against a direct rank-k fit, for every k = 0 … r."""
    problem = make_problem(p)
    ks = np.arange(len(p.strengths) + 1)
    closed = [reduced_rank_solution(problem, int(k)) for k in ks]
    direct = [direct_rank_fit(problem, int(k), seed=p.init_seed) for k in ks]
    scale = np.linalg.norm(problem.ols_solution)
    return ClosedForm(
        k=ks,
        loss_closed=np.array([problem.loss(W) for W in closed]),
        loss_direct=np.array([problem.loss(W) for W in direct]),
        distance=np.array([np.linalg.norm(a - b) / scale
                           for a, b in zip(closed, direct, strict=True)]),
        data=describe(p),
    )


# ---- gradient descent from a vanishing initialization -----------------------------------------


def _crossing(t: np.ndarray, y: np.ndarray, level: float) -> float:
    """First time y(t) ≤ level, linearly interpolated between records; NaN if never."""
    below = np.flatnonzero(y <= level)
    if below.size == 0:
        return np.nan
    i = below[0]
    if i == 0:
        return float(t[0])
    return float(t[i - 1] + (t[i] - t[i - 1]) * (y[i - 1] - level) / (y[i - 1] - y[i]))


@dataclass(frozen=True)
class Dynamics:
    """Gradient descent from factors of scale ε, one run per ε.

    Arrays: ``eps`` (B,); ``steps`` (T,) the recorded iterations; ``loss`` and ``excess``
    (T, B), excess = ℓ − min ℓ; ``amplitudes`` (T, B, r), u_iᵀ W v_i; ``values`` and
    ``strengths`` (r,), s_i/λ_i and s_i; ``distances`` (T, B, K+1), ‖W(t) − Ŵ_k‖_F to each
    reference; ``gaps`` (K,), ‖Ŵ_k − Ŵ_{k−1}‖_F; ``levels`` (K,), the loss halfway between
    consecutive references; ``ref_excess`` (K+1,), ℓ(Ŵ_k) − min ℓ; ``escape`` (B, K), the
    iteration at which the loss first drops below each level (NaN: never); ``plateau_ratio``
    (B, K−1), min_t ‖W(t) − Ŵ_k‖ over the distance from Ŵ_k to its nearer neighbour, for the
    intermediate k = 1 … K−1; ``final_excess`` (B,). ``diverged``: the step blew up (then the
    arrays hold one NaN record).
    """

    eps: np.ndarray
    lr: float
    depth: int
    steps: np.ndarray
    loss: np.ndarray
    excess: np.ndarray
    amplitudes: np.ndarray
    values: np.ndarray
    strengths: np.ndarray
    distances: np.ndarray
    gaps: np.ndarray
    levels: np.ndarray
    ref_excess: np.ndarray
    escape: np.ndarray
    plateau_ratio: np.ndarray
    final_excess: np.ndarray
    diverged: bool

    def index(self, eps: float | None = None) -> int:
        """Position of ``eps`` among the runs (default: the smallest ε)."""
        if eps is None:
            return int(np.argmin(self.eps))
        hits = np.flatnonzero(np.isclose(self.eps, eps, rtol=1e-9, atol=0))
        if hits.size == 0:
            raise KeyError(f"no run at ε = {eps:g}; runs at {list(self.eps)}")
        return int(hits[0])

    def rescaled_steps(self, eps: float | None = None) -> np.ndarray:
        """Iterations over ln(1/ε) (T,), for the run at ``eps`` (default: smallest)."""
        return self.steps / np.log(1.0 / self.eps[self.index(eps)])

    def relative_distances(self, eps: float | None = None) -> np.ndarray:
        """‖W − Ŵ_k‖_F / ‖Ŵ_k − Ŵ_{k−1}‖_F (T, K+1) at ``eps`` (k = 0 uses the first gap)."""
        gaps = np.concatenate([[self.gaps[0]], self.gaps])
        return self.distances[:, self.index(eps)] / gaps

    def closest(self, eps: float | None = None) -> np.ndarray:
        """min_t ‖W(t) − reference_k‖_F (K+1,) for the run at ``eps`` (default: smallest)."""
        return np.min(self.distances[:, self.index(eps)], axis=0)

    def last_escape(self, eps: float | None = None) -> float:
        """The last (weakest mode's) escape iteration at ``eps`` (NaN: never)."""
        return float(self.escape[self.index(eps), -1])


def run_dynamics(
    problem: RegressionProblem,
    *,
    eps_values,
    lr: float,
    steps: int,
    depth: int = 2,
    seed: int = 0,
    record_every: int = 1,
    references=None,
) -> Dynamics:
    """Gradient descent from factors of scale ε (product of scale ε²), one run per ε, batched.

    The building block of every experiment, taking a problem rather than the chapter's
    parameters (the exercises run it on their own data).

    Parameters
    ----------
    problem
        The regression problem.
    eps_values
        Initial scales ε (B,). The initial factors are one random draw (``seed``) multiplied by
        ε^{2/depth}, so only the scale changes between runs.
    lr, steps, depth, record_every
        Step size, iterations, number of factors, record interval.
    references
        Matrices (K+1, d_out, d_in) whose distance to W(t) is tracked (default: the
        reduced-rank path Ŵ_0 … Ŵ_r).

    Returns
    -------
    Dynamics
    """
    eps_values = np.asarray(eps_values, dtype=float)
    modes = regression_modes(problem)
    refs = reduced_rank_path(problem) if references is None else np.asarray(references)
    base = init_factors(problem.shape, depth, scale=1.0, seed=seed)
    runs = [[e ** (2.0 / depth) * f for f in base] for e in eps_values]
    B = len(eps_values)
    diverged = False
    try:
        tr = train(stack_problems([problem] * B), stack_factors(runs), lr=lr, steps=steps,
                   record=record_every, keep_products=True, top_k=min(problem.shape))
        W, t, loss = tr.products, tr.steps, tr.loss
    except DivergenceError:
        diverged = True
        t, loss = np.array([0]), np.full((1, B), np.nan)
        W = np.full((1, B, *problem.shape), np.nan)
    ref_loss = np.array([problem.loss(R) for R in refs])
    levels = 0.5 * (ref_loss[:-1] + ref_loss[1:])
    dist = np.linalg.norm(W[:, :, None] - refs[None, None], axis=(-2, -1))
    gaps = np.linalg.norm(np.diff(refs, axis=0), axis=(-2, -1))
    K = len(refs) - 1
    nearer = np.array([min(gaps[k - 1], gaps[k]) for k in range(1, K)])
    escape = np.array([[_crossing(t, loss[:, b], lv) for lv in levels] for b in range(B)])
    return Dynamics(
        eps=eps_values,
        lr=float(lr),
        depth=int(depth),
        steps=np.asarray(t),
        loss=loss,
        excess=loss - problem.residual_loss,
        amplitudes=mode_amplitudes(W, modes),
        values=modes.values,
        strengths=modes.strengths,
        distances=dist,
        gaps=gaps,
        levels=levels,
        ref_excess=ref_loss - problem.residual_loss,
        escape=escape,
        plateau_ratio=np.nanmin(dist[:, :, 1:K], axis=0) / nearer,
        final_excess=loss[-1] - problem.residual_loss,
        diverged=diverged,
    )


def _slopes(escape: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Least-squares slope of escape iteration against ln(1/ε), one per mode."""
    x = np.log(1.0 / eps)
    return np.polyfit(x, escape, 1)[0]


@dataclass(frozen=True)
class Staircase:
    """The main experiment: two-layer GD at η = ``lr_fraction`` × η_crit, every ε.

    ``run`` holds the trajectories (:class:`Dynamics`); ``stability_limit`` is η_crit;
    ``slopes`` (r,) the fitted dk_esc/d ln(1/ε); ``plateau_exponent`` (K−1,) the log–log slope
    of each intermediate plateau ratio against ε.
    """

    run: Dynamics
    stability_limit: float
    slopes: np.ndarray
    plateau_exponent: np.ndarray

    @property
    def lr(self) -> float:
        """The step η."""
        return self.run.lr

    @property
    def eps(self) -> np.ndarray:
        """The initial scales ε (B,)."""
        return self.run.eps

    def predicted_rescaled(self) -> np.ndarray:
        """Predicted rescaled escapes 1/ln(1 + ηs_i) (r,)."""
        return 1.0 / np.log1p(self.lr * self.run.strengths)

    def continuous_rescaled(self) -> np.ndarray:
        """Gradient-flow prediction in iterations, 1/(ηs_i) (r,)."""
        return 1.0 / (self.lr * self.run.strengths)

    def rescaled_escape(self) -> np.ndarray:
        """Measured escape iterations over ln(1/ε) (B, r)."""
        return self.run.escape / np.log(1.0 / self.eps)[:, None]

    def escape_error(self) -> np.ndarray:
        """|rescaled escape / (1/ln(1 + ηs_i)) − 1| (B, r)."""
        return np.abs(self.rescaled_escape() / self.predicted_rescaled() - 1)

    def ratios(self, eps: float | None = None) -> np.ndarray:
        """The intermediate plateau ratios (K−1,) at ``eps`` (default: the smallest ε)."""
        return self.run.plateau_ratio[self.run.index(eps)]

    def slope_error(self) -> np.ndarray:
        """|slope × ln(1 + ηs_i) − 1| (r,): the discrete clock's relative error."""
        return np.abs(self.slopes * np.log1p(self.lr * self.run.strengths) - 1)


def staircase(p) -> Staircase:
    """Two-layer GD at η = ``p.lr_fraction`` × the stability limit, from every ε."""
    problem = make_problem(p)
    limit = stability_limit(problem)
    lr = p.lr_fraction * limit
    run = run_dynamics(problem, eps_values=p.eps_values, lr=lr, steps=p.steps, seed=p.init_seed)
    ratio = np.maximum(run.plateau_ratio, 1e-300)
    # Log-log slope of the plateau distance against ε, one per intermediate plateau.
    exponent = np.polyfit(np.log(run.eps), np.log(ratio), 1)[0]
    return Staircase(run, limit, _slopes(run.escape, run.eps), exponent)


def one_layer(p) -> Dynamics:
    """The contrast: the same problem, a one-layer model W trained by GD from W(0) = ε² · noise."""
    problem = make_problem(p)
    limit = stability_limit(problem)
    return run_dynamics(problem, eps_values=p.eps_values, lr=p.lr_fraction * limit,
                        steps=p.steps, depth=1, seed=p.init_seed)


# ---- escape times -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EscapeFit:
    """Escape iterations at one step size.

    ``escape`` (B, r) the measured escape iterations; ``slopes`` (r,) their fitted slope against
    ln(1/ε); ``discrete`` (r,) the prediction 1/ln(1 + ηs_i); ``continuous`` (r,) 1/(ηs_i).
    """

    lr: float
    escape: np.ndarray
    slopes: np.ndarray
    discrete: np.ndarray
    continuous: np.ndarray

    def flow_slopes(self) -> np.ndarray:
        """η × slope (r,): the slope in gradient-flow time."""
        return self.lr * self.slopes

    def discrete_error(self) -> np.ndarray:
        """|slope / (1/ln(1 + ηs_i)) − 1| (r,)."""
        return np.abs(self.slopes / self.discrete - 1)


@dataclass(frozen=True)
class EscapeScaling:
    """Escape iterations against ln(1/ε) at a small step and a large one.

    ``eps`` (B,) and ``strengths`` (r,) as in the runs; ``flow_exponent`` is the log–log slope
    of the small step's η × slope against s_i, which Saxe et al.'s 1/s law puts at −1.
    """

    stability_limit: float
    eps: np.ndarray
    strengths: np.ndarray
    small: EscapeFit
    large: EscapeFit
    flow_exponent: float

    def flow_error(self) -> np.ndarray:
        """|η × slope × s_i − 1| at the small step (r,)."""
        return np.abs(self.small.flow_slopes() * self.strengths - 1)

    def continuous_miss(self) -> float:
        """|slope / (1/(ηs_1)) − 1| for mode 1 at the large step."""
        return float(abs(self.large.slopes[0] / self.large.continuous[0] - 1))


def escape_scaling(p) -> EscapeScaling:
    """Fit dk_esc/d ln(1/ε) at a small step (gradient-flow regime) and a large one.

    The fitted slopes come with the discrete prediction 1/ln(1 + η s_k) and the continuous one
    1/(η s_k), and the log–log exponent of the small-step slopes (in gradient-flow time
    η · slope) against s_k.
    """
    problem = make_problem(p)
    limit = stability_limit(problem)
    fits = {}
    for name, frac, steps in (("small", p.small_lr_fraction, p.small_lr_steps),
                              ("large", p.large_lr_fraction, p.steps)):
        lr = frac * limit
        run = run_dynamics(problem, eps_values=p.eps_values, lr=lr, steps=steps,
                           seed=p.init_seed, record_every=max(1, steps // 5000))
        s = run.strengths
        fits[name] = EscapeFit(
            lr=lr,
            escape=run.escape,
            slopes=_slopes(run.escape, run.eps),
            discrete=escape_time(s, np.exp(-1.0), lr=lr),
            continuous=escape_time(s, np.exp(-1.0)) / lr,
        )
    small = fits["small"]
    s = regression_modes(problem).strengths
    exponent = float(np.polyfit(np.log(s), np.log(small.slopes * small.lr), 1)[0])
    return EscapeScaling(limit, np.asarray(p.eps_values, dtype=float), s, small,
                         fits["large"], exponent)


# ---- what breaks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepRun:
    """One step size of :func:`step_size_sweep`, at the smallest ε.

    ``steps`` and ``excess`` (T,); ``ref_excess`` (K+1,); ``plateau_ratio`` (K−1,);
    ``escape`` (K,) measured and ``predicted`` (r,) leading-order escape iterations.
    """

    fraction: float
    lr: float
    steps: np.ndarray
    excess: np.ndarray
    ref_excess: np.ndarray
    plateau_ratio: np.ndarray
    final_excess: float
    diverged: bool
    escape: np.ndarray
    predicted: np.ndarray

    def max_ratio(self) -> float:
        """The largest intermediate plateau ratio (NaN if the run diverged)."""
        return float(np.max(self.plateau_ratio))


@dataclass(frozen=True)
class StepSizeSweep:
    """Two-layer GD at step sizes ``p.lr_sweep`` × η_crit, at the smallest ε; ``runs`` in
    the order of ``p.lr_sweep``."""

    stability_limit: float
    eps: float
    runs: tuple[SweepRun, ...]

    def __post_init__(self):
        _tuple(self, "runs")

    def at(self, fraction: float) -> SweepRun:
        """The run at η = ``fraction`` × η_crit."""
        for r in self.runs:
            if np.isclose(r.fraction, fraction):
                return r
        raise KeyError(f"no run at {fraction} η_crit; runs at {[r.fraction for r in self.runs]}")

    def by_fraction(self) -> tuple[SweepRun, ...]:
        """The runs sorted by step size."""
        return tuple(sorted(self.runs, key=lambda r: r.fraction))


def step_size_sweep(p) -> StepSizeSweep:
    """Two-layer GD at step sizes ``p.lr_sweep`` × the stability limit, at the smallest ε."""
    problem = make_problem(p)
    limit = stability_limit(problem)
    eps = [min(p.eps_values)]
    runs = []
    for frac in p.lr_sweep:
        run = run_dynamics(problem, eps_values=eps, lr=frac * limit, steps=p.steps,
                           seed=p.init_seed)
        runs.append(SweepRun(
            fraction=float(frac),
            lr=frac * limit,
            steps=run.steps,
            excess=run.excess[:, 0],
            ref_excess=run.ref_excess,
            plateau_ratio=run.plateau_ratio[0],
            final_excess=float(run.final_excess[0]),
            diverged=run.diverged,
            escape=run.escape[0],
            predicted=escape_time(run.strengths, eps[0], lr=frac * limit),
        ))
    return StepSizeSweep(limit, float(eps[0]), tuple(runs))


@dataclass(frozen=True)
class RotatedRun:
    """Two-layer GD on covariances rotated by θ (``rotation``), every ε.

    ``plateau_ratio`` (B, K−1); ``slopes``, ``predicted`` (1/ln(1+ηs_i)) and ``slope_error``
    (|slope/predicted − 1|) (r,); ``steps`` (T,); ``distances`` (T, K+1) and ``excess`` (T,)
    for the last ε of the run (the smallest); ``gaps`` (K,); ``ref_excess`` (K+1,).
    """

    rotation: float
    defect: float
    lr: float
    plateau_ratio: np.ndarray
    slopes: np.ndarray
    predicted: np.ndarray
    slope_error: np.ndarray
    steps: np.ndarray
    distances: np.ndarray
    gaps: np.ndarray
    excess: np.ndarray
    ref_excess: np.ndarray

    def ratios(self) -> np.ndarray:
        """The intermediate plateau ratios (K−1,) at the last (smallest) ε."""
        return self.plateau_ratio[-1]

    def relative_distances(self) -> np.ndarray:
        """‖W − Ŵ_k‖_F / ‖Ŵ_k − Ŵ_{k−1}‖_F (T, K+1) at the smallest ε."""
        return self.distances / np.concatenate([[self.gaps[0]], self.gaps])


@dataclass(frozen=True)
class Violation:
    """:func:`assumption_violation`: ``eps`` (B,) and one :class:`RotatedRun` per rotation, in
    the order of ``p.rotations`` (the first unrotated)."""

    eps: np.ndarray
    runs: tuple[RotatedRun, ...]

    def __post_init__(self):
        _tuple(self, "runs")

    @property
    def aligned(self) -> RotatedRun:
        """The first run (θ = 0: the assumption holds)."""
        return self.runs[0]

    @property
    def rotated(self) -> RotatedRun:
        """The last run (the largest rotation)."""
        return self.runs[-1]

    def farther(self) -> float:
        """How many times farther the rotated plateaus lie than the aligned ones (smallest ε)."""
        return float(np.max(self.rotated.ratios()) / np.max(self.aligned.ratios()))


def assumption_violation(p) -> Violation:
    """Rotate Σ_x away from the modes (``p.rotations``): defect, plateau distances, slopes.

    Each rotation runs at half its own stability limit (``p.lr_fraction``).
    """
    out = []
    for theta in p.rotations:
        problem = make_problem(p, rotation=theta)
        modes = regression_modes(problem)
        lr = p.lr_fraction * stability_limit(problem)
        run = run_dynamics(problem, eps_values=p.eps_values, lr=lr, steps=p.steps,
                           seed=p.init_seed)
        slopes = _slopes(run.escape, run.eps)
        pred = escape_time(modes.strengths, np.exp(-1.0), lr=lr)
        out.append(RotatedRun(
            rotation=float(theta),
            defect=float(modes.defect),
            lr=lr,
            plateau_ratio=run.plateau_ratio,
            slopes=slopes,
            predicted=pred,
            slope_error=np.abs(slopes / pred - 1.0),
            steps=run.steps,
            distances=run.distances[:, -1],
            gaps=run.gaps,
            excess=run.excess[:, -1],
            ref_excess=run.ref_excess,
        ))
    return Violation(np.asarray(p.eps_values, dtype=float), tuple(out))


# ---- the explorer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Explore:
    """One setting of the explorer: the run (:class:`Dynamics`, one ε) and its settings;
    ``scale`` is ‖W_ols‖_F, the unit of the distances drawn."""

    run: Dynamics
    log10_eps: float
    lr_fraction: float
    rotation: float
    depth: int
    scale: float


def explore(p, *, log10_eps: float = -8.0, lr_fraction: float | None = None,
            rotation: float = 0.0, depth: int = 2) -> Explore:
    """Run one setting of the explorer, long enough for the weakest mode to escape.

    Parameters
    ----------
    p
        The chapter's parameters.
    log10_eps
        log₁₀ of the initial scale ε.
    lr_fraction
        η over the stability limit (default ``p.lr_fraction``).
    rotation
        Angle θ of Σ_x away from the modes (0: the assumption holds).
    depth
        1: the linear model; 2: the two-layer network.
    """
    lr_fraction = float(p.lr_fraction) if lr_fraction is None else float(lr_fraction)
    problem = make_problem(p, rotation=rotation)
    eps = 10.0 ** log10_eps
    lr = lr_fraction * stability_limit(problem)
    # 1.4 × the weakest mode's leading-order escape covers its O(1) corrections; the cap keeps
    # a slider move under a second.
    steps = int(min(20_000, 1.4 * escape_time(min(p.strengths), eps, lr=lr) + 100))
    run = run_dynamics(problem, eps_values=[eps], lr=lr, steps=steps, depth=depth,
                       seed=p.init_seed, record_every=max(1, steps // 2000))
    return Explore(run, float(log10_eps), lr_fraction, float(rotation), int(depth),
                   float(np.linalg.norm(problem.ols_solution)))
