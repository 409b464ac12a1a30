"""Greedy Low-Rank Learning (GLRL) of Li, Luo & Lyu (2021) for the PSD factorization W = UUᵀ.

Explained in the chapter *R saddles for rank R* (``book/saddles.ipynb``). GLRL is the limit of
gradient flow on L(U) = ℓ(UUᵀ) from an infinitesimal initialization: start at W₀ = 0; at stage r take
the top eigenpair (λ_r, v_r) of −sym ∇ℓ(W_{r−1}); stop if λ_r ≤ 0 (then W_{r−1} is a second-order
stationary point over the PSD cone); otherwise append the tiny column ε·v_r to U and run gradient
descent on U until the gradient vanishes, giving W_r = UUᵀ of rank r.

The engine's factors are general (W = W_N ⋯ W_1). For a symmetric loss, a *mirror-symmetric*
factorization W_{N+1−j} = W_jᵀ (and a symmetric middle factor) stays mirror-symmetric under
gradient descent, so :func:`mirror_factors` lets :func:`dmfnb.train` run the PSD model at any
depth; at depth 2 it is W = UUᵀ with U = W_2, and the engine's step η is a step η/2 on
L(U) = ℓ(UUᵀ), whose gradient is (G + Gᵀ)U.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._validate import (
    as_matrix_stack,
    check_bool,
    check_integer,
    check_number,
    check_positive,
    check_seed,
)
from ..problems import check_problem

__all__ = [
    "GLRLResult",
    "greedy_low_rank",
    "mirror_factors",
    "symmetric_gradient",
    "symmetric_mask",
]


def _sym(G: np.ndarray) -> np.ndarray:
    return 0.5 * (G + G.T)


def symmetric_gradient(problem, U: np.ndarray) -> tuple[float, np.ndarray]:
    """Loss and gradient of L(U) = ℓ(UUᵀ): ∇_U L = (G + Gᵀ) U with G = ∇ℓ(UUᵀ)."""
    check_problem(problem)
    U = np.asarray(as_matrix_stack("U", U), dtype=float)
    if U.ndim != 2 or U.shape[0] != problem.shape[0] or problem.shape[0] != problem.shape[1]:
        raise ValueError(f"U must be an n×r matrix for a square n×n problem; got U {U.shape}, "
                         f"problem {problem.shape}")
    loss, G = problem.loss_and_gradient(U @ U.T)
    return float(loss), (G + G.T) @ U


def symmetric_mask(n: int, num_pairs: int, *, seed, diagonal: bool = True) -> np.ndarray:
    """A symmetric boolean n×n mask observing ``num_pairs`` random unordered pairs {i, j}.

    Pairs are drawn uniformly without replacement among the i ≤ j (or i < j when ``diagonal`` is
    false) and mirrored, so ``CompletionProblem(target, mask)`` has a symmetric gradient at
    symmetric W — what the PSD factorization needs.
    """
    check_positive("n", n, integer=True)
    check_positive("num_pairs", num_pairs, integer=True)
    check_seed("seed", seed)
    diagonal = check_bool("diagonal", diagonal)
    i, j = np.triu_indices(n, 0 if diagonal else 1)
    if num_pairs > i.size:
        raise ValueError(f"num_pairs={num_pairs} exceeds the {i.size} available pairs")
    rng = np.random.default_rng(seed)
    pick = rng.choice(i.size, size=num_pairs, replace=False)
    mask = np.zeros((n, n), dtype=bool)
    mask[i[pick], j[pick]] = True
    return mask | mask.T


def mirror_factors(n: int, depth: int, *, scale: float, seed=None) -> list[np.ndarray]:
    """Mirror-symmetric factors (W_{N+1−j} = W_jᵀ) whose product is ``scale``·I (PSD).

    W_j = scale^{1/N} Q_j for j ≤ N/2 with random orthogonal Q_j, the mirrored ones transposed, and
    a middle factor scale^{1/N}·I when N is odd. Gradient descent on a symmetric loss keeps the
    product symmetric; at depth 2 it is UUᵀ with U = W_2 = √scale·Q.
    """
    check_positive("n", n, integer=True)
    check_positive("depth", depth, integer=True)
    check_positive("scale", scale)
    check_seed("seed", seed)
    if depth < 2:
        raise ValueError("mirror factors need depth ≥ 2")
    rng = np.random.default_rng(seed)
    c = scale ** (1.0 / depth)
    half = []
    for _ in range(depth // 2):
        q, r = np.linalg.qr(rng.standard_normal((n, n)))
        half.append(c * q * np.sign(np.diag(r)))
    middle = [c * np.eye(n)] if depth % 2 else []
    return half + middle + [f.T.copy() for f in reversed(half)]


@dataclass(frozen=True)
class GLRLResult:
    """What :func:`greedy_low_rank` computed (frozen; the algorithm fills its lists).

    Attributes
    ----------
    stages
        W_1, W_2, …: the limit of each stage (W_r has rank r).
    factors
        The U of each stage (n × r).
    eigenvalues
        λ_r, the top eigenvalue of −sym ∇ℓ(W_{r−1}) that opened stage r; the last entry is the one
        that stopped the algorithm (≤ ``eig_tol``) unless ``max_rank`` did.
    directions
        v_r, the eigenvector along which stage r started.
    losses
        ℓ(W_r) for each stage.
    steps
        Gradient steps spent in each stage.
    converged
        Whether each stage reached ``grad_tol``.
    """

    stages: list[np.ndarray] = field(default_factory=list)
    factors: list[np.ndarray] = field(default_factory=list)
    eigenvalues: list[float] = field(default_factory=list)
    directions: list[np.ndarray] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    converged: list[bool] = field(default_factory=list)

    @property
    def rank(self) -> int:
        """Number of stages run (the rank of the final W)."""
        return len(self.stages)

    @property
    def final(self) -> np.ndarray:
        """The last stage's W (the zero matrix if no stage ran)."""
        return self.stages[-1] if self.stages else None


def greedy_low_rank(
    problem,
    *,
    lr: float,
    eps: float = 1e-8,
    max_rank: int | None = None,
    grad_tol: float = 1e-9,
    eig_tol: float = 1e-8,
    max_steps: int = 200_000,
) -> GLRLResult:
    """Greedy Low-Rank Learning (Li, Luo & Lyu 2021) on L(U) = ℓ(UUᵀ).

    Parameters
    ----------
    problem
        A square, unstacked problem whose gradient is symmetric at symmetric W (a PSD target with a
        symmetric mask or symmetric measurements, or least squares).
    lr
        Step of the gradient descent that approximates gradient flow inside each stage.
    eps
        Length of the column appended at each stage (the algorithm's ε → 0; small, but large
        enough to escape in a modest number of steps, ∝ ln(1/ε)/λ_r).
    max_rank
        Stop after this many stages (default n).
    grad_tol
        A stage ends when ‖∇_U L‖_F ≤ grad_tol, once the new column has escaped the saddle (the
        gradient norm first rose above ten times its value at the stage's start).
    eig_tol
        GLRL stops when the top eigenvalue of −sym ∇ℓ(W) is ≤ eig_tol.
    max_steps
        Safety limit on the gradient steps of one stage.

    Returns
    -------
    GLRLResult

    Raises
    ------
    TypeError, ValueError
        For a non-problem, a stacked or non-square problem, or a non-positive or non-numeric
        ``lr``, ``eps``, ``grad_tol``, ``max_rank`` or ``max_steps`` (``eig_tol`` may be any
        finite number).
    """
    check_problem(problem)
    n, m = problem.shape
    if n != m or problem.batch is not None:
        raise ValueError("GLRL needs one square problem (a PSD factorization W = UUᵀ)")
    check_positive("lr", lr)
    check_positive("eps", eps)
    max_rank = n if max_rank is None else max_rank
    check_positive("max_rank", max_rank, integer=True)
    check_positive("grad_tol", grad_tol)
    check_number("eig_tol", eig_tol)
    check_integer("max_steps", max_steps, minimum=1)
    result = GLRLResult()
    U = np.zeros((n, 0))
    while True:
        G = problem.gradient(U @ U.T)
        vals, vecs = np.linalg.eigh(-_sym(G))
        lam, v = float(vals[-1]), vecs[:, -1]
        result.eigenvalues.append(lam)
        if lam <= eig_tol or result.rank >= max_rank:
            break
        result.directions.append(v.copy())
        U = np.concatenate([U, eps * v[:, None]], axis=1)
        steps, ok, escaped, g_start = 0, False, False, None
        while steps < max_steps:
            loss, grad = symmetric_gradient(problem, U)
            if not np.isfinite(loss):
                raise FloatingPointError(f"GLRL stage {result.rank + 1} diverged; use a smaller lr "
                                         f"than {lr:g}")
            g = np.linalg.norm(grad)
            if g_start is None:
                g_start = max(g, grad_tol)
            # The stage starts next to a saddle, where the gradient is tiny too: it ends only
            # after the new column has escaped (the gradient rose well above its start value).
            escaped = escaped or g > 10.0 * g_start
            if escaped and g <= grad_tol:
                ok = True
                break
            U = U - lr * grad
            steps += 1
        result.stages.append(U @ U.T)
        result.factors.append(U.copy())
        result.losses.append(float(problem.loss(U @ U.T)))
        result.steps.append(steps)
        result.converged.append(ok)
    return result

