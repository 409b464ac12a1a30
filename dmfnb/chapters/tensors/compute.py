"""Experiments of the chapter *Beyond matrices: tensor factorization*.

Razin, Maman & Cohen (2021): gradient descent on a CP factorization W = Σ_r w_r^1 ⊗ ⋯ ⊗ w_r^N
from a small init learns the components one at a time, so the number of significant
components climbs to the ground truth's CP rank and the tensor is recovered from few
observed entries. Four experiments: the component-norm law against a gradient step
(:func:`theorem_check`), incremental learning (:func:`incremental`), and recovery against the
number of observations (:func:`vs_observations`, with a matrix baseline) and against the init
scale (:func:`vs_init`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ...engine import train
from ...factors import init_factors, stack_factors
from ...flow import flow
from ...infra.parallel import jobs, map_jobs
from ...problems import CompletionProblem, stack_problems
from ...tensors import (
    TensorCompletionProblem,
    component_norms,
    cp_gradients,
    cp_product,
    cp_target,
    init_cp_factors,
    stack_cp_factors,
    stack_tensor_problems,
    tensor_rank,
)
from ...theory.dynamics import singular_value_rate
from ...theory.tensor_dynamics import component_norm_rate
from .params import Params

__all__ = [
    "Incremental",
    "Recovery",
    "TheoremCheck",
    "incremental",
    "make_problem",
    "matrix_case",
    "theorem_check",
    "train_tensor",
    "unfolding_baseline",
    "vs_init",
    "vs_observations",
]


def make_problem(p: Params, observed: int, seed: int) -> TensorCompletionProblem:
    """The ground truth of ``seed`` (CP rank ``p.truth_rank``) with ``observed`` random entries."""
    shape = (p.dim,) * p.order
    target = cp_target(shape, p.truth_rank, seed=[p.seed, 1, seed], norm=p.truth_norm)
    return TensorCompletionProblem.random(target, observed, seed=[p.seed, 2, seed])


def train_tensor(p: Params, problems: list[TensorCompletionProblem], stds: list[float], *,
                 steps: int, record, init_seed: int = 3, runs: list[int] | None = None):
    """Train one CP factorization per problem, all stacked; init std ``stds[b]`` for run b.

    ``runs[b]`` is run b's index in its experiment (default ``b``): it picks the init's seed,
    so a part of an experiment trained apart starts where it would in the whole stack.
    """
    shape = problems[0].shape
    runs = list(range(len(problems))) if runs is None else runs
    factors = [init_cp_factors(shape, p.components, std=s, seed=[p.seed, init_seed, b],
                               dtype=p.dtype)
               for b, s in zip(runs, stds, strict=True)]
    return train(stack_tensor_problems(problems), stack_cp_factors(factors), lr=p.lr,
                 steps=steps, optimizer="normalized", alpha=p.alpha, eps=p.eps, tol=p.tol,
                 record=record)


# -- the theorem ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class TheoremCheck:
    """The component-norm law against one small gradient step, per order and start.

    Attributes
    ----------
    orders
        (K,) the orders N tested.
    eta
        The gradient-descent step η of the finite difference (Δγ/η ≈ dγ/dt).
    gamma
        (K, 2, R) component norms at the start; axis 1 is the start (0 balanced, 1 Gaussian).
    measured
        (K, 2, R) (γ(η) − γ(0))/η after one GD step.
    balanced_law, general_law
        (K, 2, R) −N γ^{2−2/N}⟨∇ℓ, Ŵ_r⟩ and −γ² Σ_n ‖w_r^n‖⁻² ⟨∇ℓ, Ŵ_r⟩.
    imbalance
        (K, 2) max over components of max_n ‖w_r^n‖ / min_n ‖w_r^n‖ − 1 at the start.
    matrix_miss
        N = 2 with orthogonal components (an SVD): max |balanced law − singular-value ODE| over
        max |ODE| (Arora et al. 2019, depth 2).
    """

    orders: np.ndarray
    eta: float
    gamma: np.ndarray
    measured: np.ndarray
    balanced_law: np.ndarray
    general_law: np.ndarray
    imbalance: np.ndarray
    matrix_miss: float

    STARTS = ("balanced", "gaussian")

    def miss(self, law: str = "balanced") -> np.ndarray:
        """(K, 2) max_r |measured − law| / max_r |law|, per order and start."""
        pred = self.balanced_law if law == "balanced" else self.general_law
        return (np.max(np.abs(self.measured - pred), axis=-1)
                / np.max(np.abs(pred), axis=-1))


def _one_step_rate(problem, factors, eta):
    _, grads = cp_gradients(problem, factors)
    after = [f - eta * g for f, g in zip(factors, grads, strict=True)]
    return (component_norms(after) - component_norms(factors)) / eta


def matrix_case(p: Params) -> float:
    """N = 2, components from an SVD (orthogonal, balanced): the law against dσ/dt of depth 2."""
    d = p.theorem_dim
    rng = np.random.default_rng([p.seed, 9])
    W = rng.standard_normal((d, d))
    u, s, vt = np.linalg.svd(W)
    factors = [u * np.sqrt(s), vt.T * np.sqrt(s)]
    problem = TensorCompletionProblem.random(rng.standard_normal((d, d)), d * d - 3, seed=rng)
    _, law = component_norm_rate(problem, factors)
    G = problem.gradient(cp_product(factors))
    _, ode = singular_value_rate(W, G, 2)
    return float(np.max(np.abs(law - ode)) / np.max(np.abs(ode)))


def theorem_check(p: Params) -> TheoremCheck:
    """Δγ/η after one small GD step against both laws, from balanced and Gaussian starts."""
    out = {k: [] for k in ("gamma", "measured", "balanced", "general", "imbalance")}
    for N in p.theorem_orders:
        shape = (p.theorem_dim,) * N
        target = cp_target(shape, 2, seed=[p.seed, 5, N])
        m = min(p.theorem_observed * N, target.size)
        problem = TensorCompletionProblem.random(target, m, seed=[p.seed, 6, N])
        row = {k: [] for k in out}
        for kind in TheoremCheck.STARTS:
            f = init_cp_factors(shape, p.theorem_components, std=p.theorem_std, kind=kind,
                                seed=[p.seed, 7, N])
            gamma, bal = component_norm_rate(problem, f)
            _, gen = component_norm_rate(problem, f, balanced=False)
            norms = np.stack([np.linalg.norm(a, axis=0) for a in f])
            row["gamma"].append(gamma)
            row["measured"].append(_one_step_rate(problem, f, p.theorem_eta))
            row["balanced"].append(bal)
            row["general"].append(gen)
            row["imbalance"].append(float(np.max(norms.max(0) / norms.min(0)) - 1))
        for k in out:
            out[k].append(row[k])
    return TheoremCheck(
        orders=np.array(p.theorem_orders), eta=p.theorem_eta,
        gamma=np.array(out["gamma"]), measured=np.array(out["measured"]),
        balanced_law=np.array(out["balanced"]), general_law=np.array(out["general"]),
        imbalance=np.array(out["imbalance"]), matrix_miss=matrix_case(p))


# -- incremental learning ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Incremental:
    """Stacked runs from a small init: what the component norms did.

    Attributes
    ----------
    truth_rank, threshold, truth_norm
        R*, the significance fraction and ‖W*‖_F.
    steps
        (T,) iteration of each record.
    loss, error
        (T, B) training loss and reconstruction error ‖W − W*‖²/‖W*‖².
    norms
        (T, B, R) every component's norm ‖W_r‖.
    unobserved
        (B,) the final error on the unobserved entries.
    final_rank
        (B,) components above ``threshold`` × the largest at the end.
    """

    truth_rank: int
    threshold: float
    truth_norm: float
    steps: np.ndarray
    loss: np.ndarray
    error: np.ndarray
    norms: np.ndarray
    unobserved: np.ndarray
    final_rank: np.ndarray

    @property
    def count(self) -> int:
        """The number of runs B."""
        return int(self.loss.shape[1])

    def rank(self) -> np.ndarray:
        """(T, B) the number of components above ``threshold`` × ‖W*‖ (0 at a small init)."""
        return np.sum(self.norms > self.threshold * self.truth_norm, axis=-1)

    def top(self, k: int | None = None) -> np.ndarray:
        """(T, B, k) the k largest component norms at each record, descending."""
        k = self.truth_rank + 2 if k is None else k
        return -np.sort(-self.norms, axis=-1)[..., :k]

    def learned(self, run: int) -> np.ndarray:
        """Indices of run ``run``'s significant components at the end, in the order learned."""
        fin = self.norms[-1, run]
        big = np.flatnonzero(fin > self.threshold * self.truth_norm)
        return big[np.argsort([self.crossing(run, r, 0.5) for r in big], kind="stable")]

    def crossing(self, run: int, comp: int, fraction: float) -> int:
        """First step at which component ``comp`` exceeds ``fraction`` of its final norm."""
        x = self.norms[:, run, comp]
        return int(self.steps[np.argmax(x > fraction * x[-1])])

    def climbs_by_one(self) -> np.ndarray:
        """(B,) whether the rank climbed 0 → 1 → ⋯ → its final value one component at a time."""
        r = self.rank()
        return np.all((np.diff(r, axis=0) >= 0) & (np.diff(r, axis=0) <= 1), axis=0) & (r[0] == 0)

    def one_at_a_time(self) -> tuple[int, int]:
        """(pairs in which component k reached 90 % before k+1 reached 10 %, pairs): all runs."""
        good = total = 0
        for b in range(self.count):
            order = self.learned(b)
            for k, nxt in itertools.pairwise(order):
                total += 1
                good += self.crossing(b, k, 0.9) <= self.crossing(b, nxt, 0.1)
        return good, total

    def order_correlation(self) -> np.ndarray:
        """(B,) Spearman correlation of learning order with final size (1: largest first)."""
        out = []
        for b in range(self.count):
            order = self.learned(b)
            if order.size < 2:
                out.append(np.nan)
                continue
            size_rank = np.argsort(np.argsort(-self.norms[-1, b, order]))
            k = np.arange(order.size)
            out.append(float(np.corrcoef(k, size_rank)[0, 1]))
        return np.array(out)

    def jump_steps(self, run: int = 0) -> np.ndarray:
        """Steps at which run ``run``'s learned components crossed half their final norm."""
        return np.array([self.crossing(run, r, 0.5) for r in self.learned(run)])


def _incremental_unit(unit) -> tuple[np.ndarray, ...]:
    """Part of the incremental runs, here or in a worker: ``(p, problems, runs)`` gives their
    records (steps, loss, error, component norms) and final unobserved errors and ranks."""
    p, problems, runs = unit
    tr = train_tensor(p, problems, [p.init_std] * len(problems), steps=p.steps,
                      record=p.record_every, runs=runs)
    return (tr.steps, tr.loss, tr.error, tr.component_norms, *_final(p, problems, tr))


def _final(p: Params, problems, tr) -> tuple[np.ndarray, np.ndarray]:
    """(B,) unobserved errors and (B,) tensor ranks at the end of the stacked runs ``tr``."""
    final = tr.product
    return (np.array([q.unobserved_error(final[b]) for b, q in enumerate(problems)]),
            np.asarray(tensor_rank(tr.factors, threshold=p.rank_threshold)))


def _on_steps(steps: np.ndarray, own: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``rows``, recorded at ``own`` steps by a part that stopped at ``own[-1]``, on the longer
    grid ``steps``: past its stop a run is frozen, so its final row is what one stack of all
    the runs would have recorded there."""
    at = np.searchsorted(own, steps)
    hit = (at < len(own)) & (own[np.minimum(at, len(own) - 1)] == steps)
    return rows[np.where(hit, at, len(own) - 1)]


def incremental(p: Params) -> Incremental:
    """``p.seeds`` runs from init std ``p.init_std``, recording every ``p.record_every`` steps.

    The runs split into one stack per job, as the sweeps do; the records are those of one stack.
    """
    problems = [make_problem(p, p.observed, s) for s in range(p.seeds)]
    parts = np.array_split(np.arange(p.seeds), min(jobs(), p.seeds))
    outs = map_jobs(_incremental_unit,
                    [(p, [problems[b] for b in c], c.tolist()) for c in parts],
                    desc="tensors: incremental runs")
    steps = max((o[0] for o in outs), key=lambda s: s[-1])
    loss, error, norms = (np.concatenate([_on_steps(steps, o[0], o[k]) for o in outs], axis=1)
                          for k in (1, 2, 3))
    return Incremental(
        truth_rank=p.truth_rank, threshold=p.rank_threshold, truth_norm=p.truth_norm,
        steps=steps, loss=loss, error=error, norms=norms,
        unobserved=np.concatenate([o[4] for o in outs]),
        final_rank=np.concatenate([o[5] for o in outs]))


# -- recovery ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Recovery:
    """Final errors of a sweep: one setting per row, one seed per column.

    Attributes
    ----------
    swept, values
        The name of the swept setting ("observations" or "init std") and its (S,) values.
    tensor, matrix
        (S, B) errors on the unobserved entries of the CP factorization and of the baseline
        (matrix factorization of the mode-1 unfolding; NaN where not run).
    rank
        (S, B) the CP factorization's final tensor rank (significant components).
    loss
        (S, B) its final training loss.
    """

    swept: str
    values: np.ndarray
    tensor: np.ndarray
    matrix: np.ndarray
    rank: np.ndarray
    loss: np.ndarray

    def median(self, which: str = "tensor") -> np.ndarray:
        """(S,) median error over seeds of ``which`` ("tensor" or "matrix")."""
        return np.median(getattr(self, which), axis=1)

    def recovered(self, level: float, which: str = "tensor") -> np.ndarray:
        """(S,) seeds recovering the tensor (error below ``level``)."""
        return np.sum(getattr(self, which) < level, axis=1)


def unfolding_baseline(p: Params, problems: list[TensorCompletionProblem],
                       runs: list[int] | None = None) -> np.ndarray:
    """(B,) unobserved errors of a depth-``p.baseline_depth`` matrix factorization of the unfolding.

    The mode-1 unfolding is a d × d^{N−1} matrix of rank ≤ R*; it is completed from the same
    observed entries by the book's matrix engine from a small init: normalized GD, or its
    gradient flow to loss ≤ ``p.tol`` (``p.baseline_integrator``). ``runs``: the problems'
    indices in their sweep (default 0…B−1), which seed their inits, so that a part of a sweep
    gives the numbers of the whole.
    """
    d = p.dim
    runs = range(len(problems)) if runs is None else runs
    mats = [CompletionProblem(q.target.reshape(d, -1), q.mask.reshape(d, -1)) for q in problems]
    fs = [init_factors(mats[0].shape, p.baseline_depth, scale=p.baseline_scale,
                       seed=[p.seed, 8, b]) for b in runs]
    if p.baseline_integrator == "flow":
        W = [flow(m, f, time=1e9, tol=p.tol, record=[0.0], method="auto",
                  max_evaluations=p.baseline_steps).product for m, f in zip(mats, fs, strict=True)]
    else:
        W = train(stack_problems(mats), stack_factors(fs), lr=p.baseline_lr,
                  steps=p.baseline_steps, optimizer="normalized", record=[0]).product
    return np.array([q.unobserved_error(W[b].reshape(q.shape)) for b, q in enumerate(problems)])


def _sweep_unit(unit) -> tuple[np.ndarray, ...]:
    """One unit of a sweep, here or in a worker (:func:`map_jobs`): ``("tensor", p, problems,
    runs, stds)`` gives the runs' unobserved errors, tensor ranks and final losses;
    ``("baseline", p, problems, runs)`` the unfolding baseline's errors."""
    kind, p, problems, runs, *rest = unit
    if kind == "baseline":
        return (unfolding_baseline(p, problems, runs),)
    (stds,) = rest
    tr = train_tensor(p, problems, stds, steps=p.sweep_steps, record=[0], runs=runs)
    return (*_final(p, problems, tr), np.asarray(tr.loss[-1]))


def _sweep(p: Params, swept: str, values, problems, stds, baseline: bool) -> Recovery:
    # The runs split into one stack per job (a stack's step costs in proportion to its runs),
    # and so does the baseline. Every part takes every jobs-th run: the runs of the sparsest
    # settings go to the step cap, and contiguous parts put them all in one stack (paper scale,
    # observation sweep: 193 against 103 CPU s, with the baseline's 190 s beside them on two
    # cores). A run's init seed is its index, so its numbers do not depend on the split as long
    # as every stack takes the same evaluator (cp_evaluator): at both scales all take the dense
    # one, and the trajectories are bit-identical (tests/test_chapter_tensors.py); in float32
    # a recorded loss may differ in its last bit, its sum running in another order (measured
    # on the paper-scale incremental runs: factors, errors and norms identical, losses within
    # 7e-12 of 1e-5).
    S, B = len(values), len(problems)
    n = min(jobs(), B)
    parts = [np.arange(j, B, n) for j in range(n)]
    units = [("tensor", p, [problems[b] for b in c], c.tolist(), [stds[b] for b in c])
             for c in parts]
    if baseline:
        units += [("baseline", p, [problems[b] for b in c], c.tolist()) for c in parts]
    outs = map_jobs(_sweep_unit, units, desc=f"tensors: {swept} sweep")
    order = np.argsort(np.concatenate(parts))
    err, rank, loss = (np.concatenate(x)[order]
                       for x in zip(*outs[:n], strict=True))
    mat = (np.concatenate([o[0] for o in outs[n:]])[order] if baseline
           else np.full(err.shape, np.nan))
    return Recovery(swept, np.array(values), err.reshape(S, -1), mat.reshape(S, -1),
                    rank.reshape(S, -1), loss.reshape(S, -1))


def vs_observations(p: Params) -> Recovery:
    """Error on unobserved entries against the number observed, with the unfolding baseline."""
    problems = [make_problem(p, m, s) for m in p.sweep_observed for s in range(p.seeds)]
    return _sweep(p, "observations", p.sweep_observed, problems,
                  [p.init_std] * len(problems), baseline=True)


def vs_init(p: Params) -> Recovery:
    """Error on unobserved entries and tensor rank against the init std (fixed observations)."""
    problems = [make_problem(p, p.sweep_std_observed, s)
                for _ in p.sweep_stds for s in range(p.seeds)]
    stds = [std for std in p.sweep_stds for _ in range(p.seeds)]
    return _sweep(p, "init std", p.sweep_stds, problems, stds, baseline=False)


