"""Experiments of the chapter *Norms may not explain implicit regularization*.

Razin & Cohen (2020)'s 2×2 completion problem: observe W₁₂ = 1, W₂₁ = 1, W₂₂ = 0 and
leave W₁₁ free. Every solution has det W = −1, so a factorization whose determinant
keeps its positive sign can only drive the loss to zero by sending |W₁₁| → ∞: every
norm diverges while W tends to rank 1.

Loss convention. The chapter reports the authors' loss ℓ(W) = ½ Σ_{observed}
(W_ij − W*_ij)². :class:`dmfnb.CompletionProblem` uses the mean over the m observed
entries, so ℓ = (m/2) · ``problem.loss`` and gradient descent with step η on ℓ is
gradient descent with step (m/2)·η on ``problem.loss`` (m = 3 here: the authors'
η = 3e-3 is the engine's 4.5e-3). The functions below take and return ½Σ quantities
and convert in one place (:func:`engine_lr`, :func:`half_sum_loss`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...engine import train
from ...factors import balanced_factors, product, stack_factors
from ...infra.parallel import map_jobs
from ...problems import CompletionProblem, stack_problems
from .params import Params

__all__ = [
    "Runs",
    "engine_lr",
    "half_sum_loss",
    "initial_factors",
    "make_problem",
    "negative_det",
    "perturbed",
    "run_depths",
    "train_runs",
    "unbalanced",
]

# The four entries of W, recorded at every record step (W₁₁, W₁₂, W₂₁, W₂₂).
ENTRIES = ((0, 0), (0, 1), (1, 0), (1, 1))


def make_problem(eps: float | None = None) -> CompletionProblem:
    """The 2×2 problem: target [[∗, 1], [1, 0]], or [[∗, −2], [0.5, ε]] for ``eps``.

    The unobserved entry (1, 1) of the target is stored as 0; it never enters the loss.
    """
    if eps is None:
        target = np.array([[0.0, 1.0], [1.0, 0.0]])
    else:
        target = np.array([[0.0, -2.0], [0.5, float(eps)]])
    mask = np.array([[False, True], [True, True]])
    return CompletionProblem(target, mask)


def _observed(problem: CompletionProblem) -> int:
    return int(np.max(problem.num_observed))


def engine_lr(lr: float, problem: CompletionProblem) -> float:
    """The engine's step for gradient descent with step ``lr`` on ½Σ: lr · m/2."""
    return lr * _observed(problem) / 2.0


def half_sum_loss(engine_loss, problem: CompletionProblem) -> np.ndarray:
    """The authors' ½Σ loss from the engine's mean loss: (m/2) · ``engine_loss``."""
    return np.asarray(engine_loss) * _observed(problem) / 2.0


def initial_factors(depth: int, *, std: float, init: str = "balanced",
                    det_sign: int = 1,
                    rng: np.random.Generator | int | None = None
                    ) -> list[np.ndarray]:
    """Initial factors of a depth-``depth`` factorization with sign det W(0) = ``det_sign``.

    ``init="balanced"`` (the setting of the theorem): W(0) has i.i.d. N(0, std²)
    entries and is split by its SVD into exactly balanced factors (the authors'
    balanced variant). ``init="gaussian"`` (the authors' code default): every entry of
    every factor i.i.d. N(0, std²), not balanced. Either way the draw is repeated until
    det W(0) has the requested sign, as in the authors' code.
    """
    if init not in ("balanced", "gaussian"):
        raise ValueError(f"init must be 'balanced' or 'gaussian', got {init!r}")
    if det_sign not in (1, -1):
        raise ValueError(f"det_sign must be +1 or −1, got {det_sign!r}")
    rng = np.random.default_rng(rng)
    while True:
        if init == "balanced":
            W0 = std * rng.standard_normal((2, 2))
            if np.sign(np.linalg.det(W0)) == det_sign:
                return balanced_factors(W0, depth, seed=rng)
        else:
            factors = [std * rng.standard_normal((2, 2)) for _ in range(depth)]
            if np.sign(np.linalg.det(product(factors))) == det_sign:
                return factors


def _first_below(loss: np.ndarray, level: float) -> np.ndarray:
    # Per run, the first record with loss ≤ level (record 0 where none is).
    return np.argmax(loss <= level, axis=0)


@dataclass(frozen=True, eq=False)
class Runs:
    """Stacked runs of one depth on one problem: what :func:`train_runs` recorded.

    Axes: T records (log-spaced steps), B runs (seeds), then the 2×2 matrix.
    Losses are ½Σ losses.

    Attributes
    ----------
    depth, init, det_sign
        Depth N, initialization kind, and the sign asked of det W(0).
    steps
        (T,) iteration of each record.
    loss, det, frobenius, nuclear, effective_rank
        (T, B) the ½Σ loss, det W, ‖W‖_F, ‖W‖_* and the effective rank per record.
    W
        (T, B, 2, 2) the end-to-end matrix per record.
    stop_step, converged
        (B,) iteration at which each run stopped, and whether it reached its tol.
    initial_det
        (B,) det W(0).
    factor_dets
        (B, N) det W_j of each factor at the end.
    final
        (B, 2, 2) the end-to-end matrix at the end.
    """

    depth: int
    init: str
    det_sign: int
    steps: np.ndarray
    loss: np.ndarray
    W: np.ndarray
    det: np.ndarray
    frobenius: np.ndarray
    nuclear: np.ndarray
    effective_rank: np.ndarray
    stop_step: np.ndarray
    converged: np.ndarray
    initial_det: np.ndarray
    factor_dets: np.ndarray
    final: np.ndarray

    @property
    def count(self) -> int:
        """The number of runs B."""
        return int(self.loss.shape[1])

    @property
    def w11(self) -> np.ndarray:
        """(T, B) the unobserved entry W₁₁ per record."""
        return self.W[..., 0, 0]

    def final_w11(self) -> np.ndarray:
        """(B,) W₁₁ at the last record."""
        return self.W[-1, :, 0, 0]

    def kept(self) -> np.ndarray:
        """(B,) True where det W kept the sign of det W(0) at every record."""
        return np.all(np.sign(self.det) == np.sign(self.initial_det), axis=0)

    def ratio(self) -> np.ndarray:
        """(T, B) |W₁₁|·√(2ℓ): 1 on the curve |W₁₁| = 1/√(2ℓ)."""
        return np.abs(self.w11) * np.sqrt(2 * self.loss)

    def ratio_below(self, level: float) -> np.ndarray:
        """|W₁₁|·√(2ℓ) at every record (any run) with ℓ ≤ ``level``, flattened."""
        return self.ratio()[self.loss <= level]

    def w11_at(self, level: float) -> np.ndarray:
        """(B,) W₁₁ at each run's first record with ℓ ≤ ``level`` (record 0 if none)."""
        k = _first_below(self.loss, level)
        return self.w11[k, np.arange(self.count)]

    def record_at(self, level: float, run: int = 0) -> int:
        """Index of run ``run``'s first record with ℓ ≤ ``level`` (×1.0001 for rounding)."""
        return int(np.argmax(self.loss[:, run] <= level * 1.0001))

    def schatten(self, p: float) -> np.ndarray:
        """(T, B) the Schatten-p (quasi-)norm (σ₁ᵖ + σ₂ᵖ)^{1/p} of W per record.

        A quasi-norm for 0 < p < 1, the nuclear norm at p = 1, the Frobenius norm at p = 2.
        """
        if not p > 0:
            raise ValueError(f"p must be > 0, got {p!r}")
        s = np.linalg.svd(self.W, compute_uv=False)
        # scaled by σ₁ so that small p cannot overflow or underflow σ₂ᵖ
        top = s[..., 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(top > 0, s[..., 1] / np.where(top > 0, top, 1.0), 0.0)
        return top * (1.0 + ratio**p) ** (1.0 / p)

    def divergence_rate(self, p: float, level: float) -> np.ndarray:
        """(B,) least-squares slope of ln ‖W‖_{S_p} against ln ℓ, records with ℓ ≤ ``level``.

        −1/2 when the (quasi-)norm grows like 1/√(2ℓ); NaN for a run with fewer than 3
        such records.
        """
        norm = self.schatten(p)
        out = np.full(self.count, np.nan)
        for b in range(self.count):
            m = (self.loss[:, b] <= level) & (self.loss[:, b] > 0)
            if m.sum() >= 3:
                out[b] = np.polyfit(np.log(self.loss[m, b]), np.log(norm[m, b]), 1)[0]
        return out

    def sigma2(self, run: int = 0) -> np.ndarray:
        """(T,) the smaller singular value σ₂(W) of run ``run`` per record."""
        return np.linalg.svd(self.W[:, run], compute_uv=False)[:, 1]

    def flips(self, run: int = 0) -> np.ndarray:
        """Records at which det W of run ``run`` has the opposite sign to det W(0)."""
        return np.flatnonzero(np.sign(self.det[:, run])
                              != np.sign(self.initial_det[run]))

    def run_steps(self) -> int:
        """Steps computed by the stacked batch: its longest run × its number of runs."""
        return int(self.stop_step.max()) * self.count


def train_runs(p: Params, problem: CompletionProblem, depth: int, *,
               det_sign: int = 1, init: str | None = None,
               lr: float | None = None, tol: float | None = None,
               max_steps: int | None = None, runs: int | None = None,
               seed: int | None = None, std: float | None = None,
               record: str | int = "log") -> Runs:
    """Train ``runs`` seeds of one depth on ``problem`` in one stacked computation.

    Parameters
    ----------
    p
        The chapter's parameters; each keyword below left at ``None`` takes its value
        from ``p`` (``p.init``, ``p.lr``, ``p.tol``, ``p.max_steps``, ``p.runs``,
        ``p.seed``, ``p.init_std``).
    problem, depth
        The 2×2 problem (:func:`make_problem`) and the depth N.
    det_sign
        The sign asked of det W(0) (+1 or −1).
    lr, tol
        Step and stopping loss, both in the ½Σ convention.
    record
        When to record: ``"log"`` (log-spaced) or an interval (see :func:`dmfnb.train`).

    Returns
    -------
    Runs
        The recorded trajectories. The starts come from one random stream per
        (seed, depth, sign, init kind), so every experiment draws its own.
    """
    init = p.init if init is None else init
    lr = p.lr if lr is None else lr
    tol = p.tol if tol is None else tol
    max_steps = p.max_steps if max_steps is None else max_steps
    runs = p.runs if runs is None else runs
    seed = p.seed if seed is None else seed
    std = p.init_std if std is None else std
    rng = np.random.default_rng([seed, depth, det_sign + 1, init == "gaussian"])
    starts = [initial_factors(depth, std=std, init=init, det_sign=det_sign,
                              rng=rng)
              for _ in range(runs)]
    stacked = stack_problems([problem] * runs)
    tr = train(stacked, stack_factors(starts), lr=engine_lr(lr, problem),
               steps=int(max_steps), tol=tol * 2.0 / _observed(problem),
               record=record, entries=ENTRIES,
               label=f"depth {depth}, {runs} seeds, det W(0) {'>' if det_sign > 0 else '<'} 0")
    W = tr.entries.reshape(len(tr.steps), runs, 2, 2)
    det = W[..., 0, 0] * W[..., 1, 1] - W[..., 0, 1] * W[..., 1, 0]
    return Runs(
        depth=int(depth),
        init=init,
        det_sign=int(det_sign),
        steps=np.asarray(tr.steps),
        loss=half_sum_loss(tr.loss, problem),
        W=W,
        det=det,
        frobenius=np.asarray(tr.frobenius),
        nuclear=np.asarray(tr.nuclear),
        effective_rank=np.asarray(tr.effective_rank),
        stop_step=np.asarray(tr.stop_step),
        converged=np.asarray(tr.converged),
        initial_det=np.array([np.linalg.det(product(f)) for f in starts]),
        factor_dets=np.stack([np.linalg.det(f) for f in tr.factors], axis=-1),
        final=product(tr.factors),
    )


def _train_unit(unit: tuple) -> Runs:
    p, problem, depth, keywords = unit
    return train_runs(p, problem, depth, **keywords)


def _train_all(p: Params, units, what: str) -> list[Runs]:
    """:func:`train_runs` for every ``(problem, depth, keywords)`` of ``units``, spread over
    ``DMFNB_JOBS`` processes (each unit seeds itself, so the numbers do not depend on them)."""
    return map_jobs(_train_unit, [(p, prob, d, kw) for prob, d, kw in units], desc=what)


def run_depths(p: Params, *, init: str | None = None,
               depths: tuple[int, ...] | None = None) -> dict[int, Runs]:
    """The main experiment: det W(0) > 0, ``p.runs`` seeds for each of ``p.depths``."""
    problem = make_problem()
    depths = tuple(p.depths if depths is None else depths)
    return dict(zip(depths, _train_all(p, [(problem, d, {"init": init}) for d in depths],
                                       f"depths {depths}"), strict=True))


def unbalanced(p: Params) -> dict[int, Runs]:
    """The authors' code default: each layer i.i.d. N(0, std²), det W(0) > 0."""
    return run_depths(p, init="gaussian", depths=p.unbalanced_depths)


def negative_det(p: Params) -> dict[int, Runs]:
    """The same problem from det W(0) < 0: it is solved with finite entries."""
    problem = make_problem()
    units = [(problem, d, {"det_sign": -1, "tol": p.negative_tol}) for d in p.negative_depths]
    return dict(zip(p.negative_depths, _train_all(p, units, "det W(0) < 0"), strict=True))


def perturbed(p: Params) -> dict[float, Runs]:
    """The target [[∗, −2], [0.5, ε]] from det W(0) < 0, one stacked batch per ε.

    Its solutions have det W = εW₁₁ + 1; keeping det < 0 while moving toward rank
    one gives W₁₁ → −1/ε.
    """
    units = [(make_problem(eps), p.perturbed_depth,
              {"det_sign": -1, "tol": p.perturbed_tol, "max_steps": p.perturbed_max_steps})
             for eps in p.epsilons]
    return dict(zip(p.epsilons, _train_all(p, units, "perturbed targets"), strict=True))
