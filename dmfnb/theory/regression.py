"""Linear regression with a two-layer linear network: reduced-rank solutions and escape times.

Explained in the chapter *Reduced-rank regression* (Gidel, Bach & Lacoste-Julien 2019; Saxe et al. 2014).

Convention. ``dmfnb`` predicts with column vectors: an input x ∈ ℝ^{d_in} gives the output W x, with
W = W_2 W_1 of shape (d_out, d_in). On data X (n × d_in) and Y (n × d_out) with samples as rows
the predictions are X Wᵀ and the loss is

    ℓ(W) = ½ n⁻¹ ‖Y − X Wᵀ‖²_F = ½ tr(W Σ_x Wᵀ) − tr(Σ_yx Wᵀ) + ½ n⁻¹ ‖Y‖²_F,

with Σ_x = XᵀX/n (d_in × d_in) and Σ_yx = YᵀX/n (d_out × d_in); ∇ℓ(W) = W Σ_x − Σ_yx.
Gidel et al. write the same model as X W₁W₂ with their W₁ (d_in × r) and W₂ (r × d_out): their
W₁W₂ is our Wᵀ, their W₁ our W_1ᵀ, their W₂ our W_2ᵀ, and their Σ_xy = XᵀY/n is our Σ_yxᵀ.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm

from .._validate import (
    as_matrix_stack,
    as_real_array,
    check_integer,
    check_number,
    check_positive,
    check_seed,
)
from ..factors import balanced_factors, check_factors
from ..problems import LeastSquaresProblem

__all__ = [
    "RegressionModes",
    "RegressionProblem",
    "codiagonality_defect",
    "escape_time",
    "mode_amplitudes",
    "mode_solution",
    "reduced_rank_path",
    "reduced_rank_solution",
    "regression_modes",
    "sharpness",
    "stability_limit",
    "synthetic_regression",
]


def _as_data(name: str, value) -> np.ndarray:
    arr = as_real_array(name, value, ndims=(2, 3),
                        what="samples as rows, shape (n, d) or a stack (B, n, d)")
    return arr.astype(np.float64, copy=False)


def _sym(a: np.ndarray) -> np.ndarray:
    return 0.5 * (a + np.swapaxes(a, -1, -2))


class RegressionProblem(LeastSquaresProblem):
    """Least-squares regression ℓ(W) = ½ n⁻¹ ‖Y − X Wᵀ‖²_F for the end-to-end matrix W (d_out × d_in).

    It is a :class:`~dmfnb.LeastSquaresProblem` whose target is the ordinary least-squares solution
    W_ols = Σ_yx Σ_x⁺ and whose input covariance is Σ_x = XᵀX/n, plus the constant residual
    ½ n⁻¹ ‖Y − X W_olsᵀ‖²_F, so :meth:`loss` is the regression loss itself (not just the excess).
    ``reconstruction_error`` is ‖W − W_ols‖²_F / ‖W_ols‖²_F.

    Parameters
    ----------
    X
        Inputs, shape (n, d_in) (one sample per row), or a stack (B, n, d_in).
    Y
        Outputs, shape (n, d_out), or a stack (B, n, d_out).

    Attributes
    ----------
    input_covariance
        Σ_x = XᵀX/n, shape (d_in, d_in).
    cross_covariance
        Σ_yx = YᵀX/n, shape (d_out, d_in) — the transpose of Gidel et al.'s Σ_xy.
    residual_loss
        ½ n⁻¹ ‖Y − X W_olsᵀ‖²_F, the smallest loss any W reaches.
    num_samples
        n.
    """

    def __init__(self, X, Y):
        X = _as_data("X", X)
        Y = _as_data("Y", Y)
        if X.ndim != Y.ndim or X.shape[:-1] != Y.shape[:-1]:
            raise ValueError(
                f"X has shape {X.shape} and Y has shape {Y.shape}; they need the same samples "
                "(and stack size): X is (n, d_in), Y is (n, d_out)"
            )
        n = X.shape[-2]
        Xt = np.swapaxes(X, -1, -2)
        cov_x = _sym(Xt @ X / n)
        cov_yx = np.swapaxes(Y, -1, -2) @ X / n
        target = cov_yx @ np.linalg.pinv(cov_x, hermitian=True)
        super().__init__(target, cov_x)
        self.X = X
        self.Y = Y
        self.num_samples = n
        self.cross_covariance = cov_yx
        resid = Y - X @ np.swapaxes(target, -1, -2)
        res = 0.5 * np.sum(resid * resid, axis=(-2, -1)) / n
        self.residual_loss = float(res) if np.ndim(res) == 0 else res

    @property
    def ols_solution(self) -> np.ndarray:
        """The ordinary least-squares (minimum-norm) solution W_ols = Σ_yx Σ_x⁺, shape (d_out, d_in)."""
        return self.target

    def loss_and_gradient(self, W, out=None):
        loss, grad = super().loss_and_gradient(W, out=out)
        return loss + self.residual_loss, grad

    def predict(self, W, X=None) -> np.ndarray:
        """Predictions X Wᵀ (rows are samples) on ``X`` (default: the training inputs)."""
        W = self._check(W)
        X = self.X if X is None else _as_data("X", X)
        if X.shape[-1] != self.shape[1]:
            raise ValueError(f"X has {X.shape[-1]} features per sample but W takes {self.shape[1]}; "
                             "pass inputs of shape (samples, d_in)")
        return X @ np.swapaxes(W, -1, -2)

    def _stack(self, problems):
        if any(p.X.shape != self.X.shape or p.Y.shape != self.Y.shape for p in problems):
            raise ValueError("stack regression problems with the same number of samples and dimensions")
        return RegressionProblem(np.stack([p.X for p in problems]), np.stack([p.Y for p in problems]))


def _covariances(problem_or_covs):
    """(Σ_x, Σ_yx) from a single :class:`RegressionProblem` or from a pair of matrices."""
    if isinstance(problem_or_covs, LeastSquaresProblem):
        p = problem_or_covs
        if p.batch is not None:
            raise ValueError("pass a single problem, not a stack")
        if isinstance(p, RegressionProblem):
            return p.input_covariance, p.cross_covariance
        cov_x = np.eye(p.shape[1]) if p.input_covariance is None else p.input_covariance
        return cov_x, p.target @ cov_x
    try:
        cov_x, cov_yx = problem_or_covs
    except (TypeError, ValueError):
        raise TypeError(
            "pass a RegressionProblem (or LeastSquaresProblem) or a pair (Σ_x, Σ_yx) of matrices, "
            f"got {type(problem_or_covs).__name__}"
        ) from None
    cov_x = np.asarray(as_matrix_stack("Σ_x", cov_x), dtype=float)
    cov_yx = np.asarray(as_matrix_stack("Σ_yx", cov_yx), dtype=float)
    if cov_x.ndim != 2 or cov_x.shape[0] != cov_x.shape[1]:
        raise ValueError(f"Σ_x must be a square matrix (d_in × d_in), got shape {cov_x.shape}")
    if cov_yx.ndim != 2 or cov_yx.shape[1] != cov_x.shape[0]:
        raise ValueError(
            f"Σ_yx must have shape (d_out, {cov_x.shape[0]}) to match Σ_x, got {cov_yx.shape}"
        )
    if not (np.all(np.isfinite(cov_x)) and np.all(np.isfinite(cov_yx))):
        raise ValueError("covariances contain NaN or infinite entries")
    if not np.allclose(cov_x, cov_x.T):
        raise ValueError("Σ_x must be symmetric")
    return _sym(cov_x), cov_yx


def _inv_sqrt(cov_x: np.ndarray) -> np.ndarray:
    evals, evecs = np.linalg.eigh(cov_x)
    if evals[0] <= 1e-12 * max(evals[-1], np.finfo(float).tiny):
        raise ValueError(
            f"Σ_x is singular (smallest eigenvalue {evals[0]:.3g}); reduced-rank regression needs an "
            "invertible input covariance: use more samples than input dimensions"
        )
    return (evecs / np.sqrt(evals)) @ evecs.T


def reduced_rank_solution(problem, k: int) -> np.ndarray:
    """The rank-k reduced-rank regression solution Ŵ_k = argmin_{rank W ≤ k} ℓ(W) (Izenman 1975).

    In this package's orientation (prediction W x),

        Ŵ_k = [Σ_yx Σ_x^{−1/2}]_k Σ_x^{−1/2},

    where [·]_k keeps the k largest singular values — the transpose of Gidel et al.'s
    Σ_x^{−1/2}[Σ_x^{−1/2}Σ_xy]_k. Ŵ_0 = 0; for k ≥ rank Σ_yx it is the least-squares solution.

    Parameters
    ----------
    problem
        A single :class:`RegressionProblem` (or :class:`~dmfnb.LeastSquaresProblem`), or a pair
        ``(Σ_x, Σ_yx)`` with Σ_x symmetric positive definite (d_in × d_in), Σ_yx (d_out × d_in).
    k
        The rank, 0 ≤ k ≤ min(d_out, d_in).

    Warns
    -----
    RuntimeWarning
        When σ_k = σ_{k+1}: the solution is then not unique and one of them is returned.
    """
    cov_x, cov_yx = _covariances(problem)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= min(cov_yx.shape):
        raise ValueError(f"k must be an integer rank in [0, {min(cov_yx.shape)}], got {k!r}")
    inv_sqrt = _inv_sqrt(cov_x)
    u, s, vt = np.linalg.svd(cov_yx @ inv_sqrt, full_matrices=False)
    if 0 < k < len(s) and s[k - 1] - s[k] <= 1e-10 * max(s[0], np.finfo(float).tiny) and s[k - 1] > 0:
        warnings.warn(
            f"singular values {k} and {k + 1} of Σ_yx Σ_x^(-1/2) are equal ({s[k - 1]:.6g}); the rank-{k} "
            "reduced-rank solution is not unique", RuntimeWarning, stacklevel=2,
        )
    return (u[:, :k] * s[:k]) @ vt[:k] @ inv_sqrt


def reduced_rank_path(problem, max_rank: int | None = None) -> np.ndarray:
    """Ŵ_0, Ŵ_1, …, Ŵ_K stacked into an array of shape (K + 1, d_out, d_in).

    ``max_rank`` K defaults to the rank of Σ_yx (numerical, relative tolerance 1e-10).
    """
    cov_x, cov_yx = _covariances(problem)
    if max_rank is not None:
        check_integer("max_rank", max_rank, minimum=0, maximum=min(cov_yx.shape))
    if max_rank is None:
        s = np.linalg.svd(cov_yx, compute_uv=False)
        max_rank = int(np.sum(s > 1e-10 * max(s[0], np.finfo(float).tiny)))
    return np.stack([reduced_rank_solution((cov_x, cov_yx), k) for k in range(max_rank + 1)])


@dataclass(frozen=True)
class RegressionModes:
    """The components ("modes") of a regression problem, ordered by strength s_1 > s_2 > ….

    Attributes
    ----------
    strengths
        s_i, the nonzero singular values of Σ_yx (equivalently of Gidel et al.'s Σ_xy).
    left, right
        u_i (columns, d_out × r) and v_i (columns, d_in × r): Σ_yx = Σ_i s_i u_i v_iᵀ.
    variances
        λ_i = v_iᵀ Σ_x v_i, the input variance along v_i (the eigenvalue of Σ_x when the
        co-diagonalizability assumption holds).
    values
        s_i / λ_i, the amplitude u_iᵀ W v_i that mode i reaches when learned on its own.
    defect
        :func:`codiagonality_defect` of the problem (0 when the assumption holds).
    """

    strengths: np.ndarray
    left: np.ndarray
    right: np.ndarray
    variances: np.ndarray
    values: np.ndarray
    defect: float

    @property
    def rank(self) -> int:
        """Number of modes r."""
        return len(self.strengths)

    @property
    def rrr_strengths(self) -> np.ndarray:
        """s_i / √λ_i: the singular values that rank the modes in reduced-rank regression."""
        return self.strengths / np.sqrt(self.variances)

    @property
    def orders_agree(self) -> bool:
        """Whether ranking by s_i and by s_i/√λ_i give the same order (then mode_solution = Ŵ_k)."""
        return bool(np.all(np.diff(self.rrr_strengths) < 0))


def regression_modes(problem, *, rtol: float = 1e-10) -> RegressionModes:
    """Decompose Σ_yx = Σ_i s_i u_i v_iᵀ (s_i > rtol · s_1) and attach λ_i = v_iᵀ Σ_x v_i.

    Under the co-diagonalizability assumption (Σ_x v_i = λ_i v_i) the two-layer dynamics decouple
    into one scalar dynamics per mode: the amplitude w_i = u_iᵀ W v_i follows gradient descent on
    ½ λ_i w_i² − s_i w_i, factorized as w_i = a_i b_i.
    """
    cov_x, cov_yx = _covariances(problem)
    check_positive("rtol", rtol)
    u, s, vt = np.linalg.svd(cov_yx, full_matrices=False)
    r = int(np.sum(s > rtol * max(s[0], np.finfo(float).tiny)))
    if r == 0:
        raise ValueError("Σ_yx is zero: the outputs are uncorrelated with the inputs, there is no mode")
    u, s, v = u[:, :r], s[:r], vt[:r].T
    lam = np.einsum("ir,ij,jr->r", v, cov_x, v)
    return RegressionModes(s, u, v, lam, s / lam, codiagonality_defect((cov_x, cov_yx)))


def codiagonality_defect(problem) -> float:
    """‖Σ_x M − M Σ_x‖_F / (‖Σ_x‖_F ‖M‖_F) with M = Σ_yxᵀ Σ_yx (Gidel et al.'s Σ_xy Σ_xyᵀ).

    Zero exactly when Σ_x and M commute, i.e. when one orthonormal basis diagonalizes both; with
    distinct s_i that means every right singular vector v_i of Σ_yx is an eigenvector of Σ_x —
    the co-diagonalizability assumption. Between 0 and √2.
    """
    cov_x, cov_yx = _covariances(problem)
    M = cov_yx.T @ cov_yx
    denom = np.linalg.norm(cov_x) * np.linalg.norm(M)
    if denom == 0:
        return 0.0
    return float(np.linalg.norm(cov_x @ M - M @ cov_x) / denom)


def mode_solution(problem, k: int) -> np.ndarray:
    """Σ_{i ≤ k} (s_i/λ_i) u_i v_iᵀ: the k strongest modes (by s_i), each at its own optimum.

    Under the co-diagonalizability assumption this is where the two-layer dynamics from a vanishing
    initialization rests after learning k modes. It equals the reduced-rank solution Ŵ_k when the
    order by s_i agrees with the order by s_i/√λ_i (always for whitened inputs, Σ_x = I); see
    :attr:`RegressionModes.orders_agree`.
    """
    modes = regression_modes(problem)
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or not 0 <= k <= modes.rank:
        raise ValueError(f"k must be an integer in [0, {modes.rank}] (the number of modes), got {k!r}")
    return (modes.left[:, :k] * modes.values[:k]) @ modes.right[:, :k].T


def mode_amplitudes(W, modes: RegressionModes) -> np.ndarray:
    """w_i = u_iᵀ W v_i for every mode; ``W`` may carry leading axes (…, d_out, d_in)."""
    if not isinstance(modes, RegressionModes):
        raise TypeError(f"modes must be the RegressionModes of regression_modes(problem), got "
                        f"{type(modes).__name__}")
    W = as_real_array("W", W, what="a matrix (…, d_out, d_in)")
    if W.ndim < 2:
        raise ValueError(f"W must be a matrix (…, d_out, d_in), got shape {W.shape}")
    W = np.asarray(W, dtype=float)
    if W.shape[-2:] != (modes.left.shape[0], modes.right.shape[0]):
        raise ValueError(
            f"W has shape {W.shape} but the modes belong to {modes.left.shape[0]}×{modes.right.shape[0]} "
            "matrices"
        )
    return np.einsum("ir,...ij,jr->...r", modes.left, W, modes.right)


def escape_time(strength, eps, lr: float | None = None):
    """Leading-order time for a mode of strength s to leave zero from factors of scale ε.

    Each factor starts at scale ε, so the mode's amplitude starts at ε². In the linear regime the
    factors grow like e^{s t} under gradient flow and like (1 + η s)^k under gradient descent, so
    the amplitude becomes of order one after

    - ``lr=None``: t ≈ ln(1/ε) / s (gradient-flow time; Saxe et al. 2014),
    - ``lr=η``: k ≈ ln(1/ε) / ln(1 + η s) iterations (Gidel et al. 2019).

    O(1) corrections (the initial overlap, the amplitude called "escaped") are left out: they
    shrink relative to ln(1/ε) as ε → 0.
    """
    s = as_real_array("strength", strength, what="a positive number or an array of them").astype(float)
    e = as_real_array("eps", eps, what="a number in (0, 1) or an array of them").astype(float)
    if np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"strength must be positive, got {strength!r}")
    if np.any(~np.isfinite(e)) or np.any(e <= 0) or np.any(e >= 1):
        raise ValueError(f"eps must lie in (0, 1), got {eps!r}")
    if lr is None:
        out = np.log(1.0 / e) / s
    else:
        check_positive("lr", lr)
        out = np.log(1.0 / e) / np.log1p(lr * s)
    return float(out) if np.ndim(out) == 0 else out


def sharpness(problem, factors) -> float:
    """Largest eigenvalue of the Hessian of the two-layer loss (W_1, W_2) ↦ ℓ(W_2 W_1).

    Exact for quadratic losses ℓ(W) = ½ tr(W Σ Wᵀ) − … (:class:`RegressionProblem`,
    :class:`~dmfnb.LeastSquaresProblem`): the Hessian's quadratic form is
    ⟨D Σ, D⟩ + 2⟨∇ℓ(W), Δ_2 Δ_1⟩ with D = W_2 Δ_1 + Δ_2 W_1. The matrix is formed explicitly, so
    keep the problem small (a few hundred parameters).
    """
    if not isinstance(problem, LeastSquaresProblem) or problem.batch is not None:
        raise TypeError("sharpness needs a single LeastSquaresProblem or RegressionProblem")
    factors = check_factors(factors)
    if len(factors) != 2 or factors[0].ndim != 2:
        raise ValueError("sharpness takes the two factors [W_1, W_2] of one (unstacked) network")
    W1, W2 = factors
    h, d_in = W1.shape
    d_out = W2.shape[0]
    cov = np.eye(d_in) if problem.input_covariance is None else problem.input_covariance
    G = problem.gradient(W2 @ W1)
    p1, p2 = h * d_in, d_out * h
    # D for every basis direction: Δ_1 = E_ab gives W_2[:, a] e_bᵀ; Δ_2 = E_ca gives e_c W_1[a, :].
    D = np.zeros((p1 + p2, d_out, d_in))
    D[:p1] = np.einsum("ia,bj->abij", W2, np.eye(d_in)).reshape(p1, d_out, d_in)
    D[p1:] = np.einsum("ci,aj->caij", np.eye(d_out), W1).reshape(p2, d_out, d_in)
    flat = D.reshape(p1 + p2, -1)
    H = flat @ (D @ cov).reshape(p1 + p2, -1).T
    # Cross term 2⟨G, Δ_2 Δ_1⟩: Δ_1 = E_ab, Δ_2 = E_ca' gives G[c, b] when a' = a.
    cross = np.zeros((h, d_in, d_out, h))
    for a in range(h):
        cross[a, :, :, a] = G.T
    H[:p1, p1:] += cross.reshape(p1, p2)
    H[p1:, :p1] += cross.reshape(p1, p2).T
    return float(np.linalg.eigvalsh(_sym(H))[-1])


def stability_limit(problem, *, width: int | None = None) -> float:
    """2 / sharpness at the balanced two-layer factorization of the least-squares solution.

    Gradient descent started near zero stays nearly balanced (W_2ᵀW_2 − W_1W_1ᵀ is conserved by
    the flow and starts at O(ε²)), and the balanced factorization is the flattest of all
    factorizations of a matrix, so step sizes above this value cannot converge to any global
    minimum. The value is for the full-width network (``width`` = min(d_out, d_in) by default).
    """
    if not isinstance(problem, LeastSquaresProblem) or problem.batch is not None:
        raise TypeError("stability_limit needs a single LeastSquaresProblem or RegressionProblem")
    factors = balanced_factors(problem.target, 2, width=width, seed=0)
    return 2.0 / sharpness(problem, factors)


def synthetic_regression(
    strengths,
    input_variances=None,
    *,
    d_in: int | None = None,
    d_out: int | None = None,
    num_samples: int | None = None,
    noise: float = 0.0,
    rotation: float = 0.0,
    seed: int | np.random.Generator | None = None,
) -> RegressionProblem:
    """Synthetic data X, Y whose covariances are exactly prescribed.

    Σ_yx = Σ_i s_i u_i v_iᵀ with random orthonormal u_i, v_i and the given ``strengths`` s_i; Σ_x has
    eigenvalues ``input_variances`` λ_1 … λ_{d_in}. With ``rotation = 0`` its eigenvectors are the
    v_i (λ_i along v_i for i ≤ r, the remaining λ on the complement), so Σ_x and Σ_yx are
    co-diagonalizable (Gidel et al.'s assumption) and mode i has amplitude s_i/λ_i at the optimum.
    With ``rotation = θ > 0`` the eigenbasis of Σ_x is turned by exp(θ A), A a random skew-symmetric
    matrix of spectral norm 1, which violates the assumption while keeping s_i and the spectrum of Σ_x.

    X = √n Q diag(√λ) Rᵀ with Q (n × d_in) orthonormal, so XᵀX/n = Σ_x exactly; Y = X W_olsᵀ + N with
    W_ols = Σ_yx Σ_x⁻¹ and noise N orthogonal to the columns of X (so it leaves Σ_yx unchanged and
    sets the residual loss ≈ ½ noise² d_out (n − d_in)/n).

    Parameters
    ----------
    strengths
        s_1, …, s_r > 0 (any order; modes keep the given order, pass them decreasing).
    input_variances
        λ_1, …, λ_{d_in} > 0 (the first r go with the r modes); default all ones (whitened inputs).
    d_in, d_out
        Dimensions (defaults: ``len(input_variances)`` or r, and r).
    num_samples
        n ≥ d_in (default 4 · d_in); n > d_in is needed when ``noise`` > 0.
    noise
        Standard deviation of the output noise (orthogonal to the inputs).
    rotation
        θ ≥ 0, how far the eigenbasis of Σ_x turns away from the v_i.
    seed
        Seed or ``numpy.random.Generator``.
    """
    s = as_real_array("strengths", strengths, ndims=(1,),
                      what="a non-empty 1-D list of positive numbers").astype(float)
    if s.ndim != 1 or s.size == 0 or np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"strengths must be a non-empty 1-D list of positive numbers, got {strengths!r}")
    r = s.size
    if input_variances is None:
        d_in = r if d_in is None else check_integer("d_in", d_in, minimum=1)
        lam = np.ones(d_in)
    else:
        lam = as_real_array("input_variances", input_variances, ndims=(1,),
                            what="a 1-D list of positive numbers").astype(float)
        if lam.ndim != 1 or np.any(~np.isfinite(lam)) or np.any(lam <= 0):
            raise ValueError(
                f"input_variances must be a 1-D list of positive numbers, got {input_variances!r}"
            )
        d_in = lam.size if d_in is None else d_in
        if lam.size != d_in:
            raise ValueError(f"input_variances has {lam.size} entries but d_in = {d_in}; give one per input")
    d_out = r if d_out is None else d_out
    check_positive("d_in", d_in, integer=True)
    check_positive("d_out", d_out, integer=True)
    if r > min(d_in, d_out):
        raise ValueError(f"{r} strengths need d_in ≥ {r} and d_out ≥ {r}, got d_in={d_in}, d_out={d_out}")
    n = 4 * d_in if num_samples is None else num_samples
    check_positive("num_samples", n, integer=True)
    check_number("noise", noise, low=0, low_inclusive=True)
    check_number("rotation", rotation, low=0, low_inclusive=True)
    check_seed("seed", seed)
    if n < d_in or (noise > 0 and n == d_in):
        raise ValueError(f"num_samples={n} must exceed d_in={d_in} (strictly when noise > 0)")
    rng = np.random.default_rng(seed)

    def orth(k):
        q, rr = np.linalg.qr(rng.standard_normal((k, k)))
        return q * np.sign(np.diag(rr))

    U, V = orth(d_out), orth(d_in)
    cov_yx = (U[:, :r] * s) @ V[:, :r].T
    R = V
    if rotation > 0:
        A = rng.standard_normal((d_in, d_in))
        A = A - A.T
        A /= np.linalg.norm(A, 2)
        R = expm(rotation * A) @ V
    Q = np.linalg.qr(rng.standard_normal((n, d_in)))[0]
    X = np.sqrt(n) * (Q * np.sqrt(lam)) @ R.T
    cov_x = (R * lam) @ R.T
    W_ols = cov_yx @ np.linalg.inv(cov_x)
    Y = X @ W_ols.T
    if noise > 0:
        Z = rng.standard_normal((n, d_out))
        Y = Y + noise * (Z - Q @ (Q.T @ Z))
    return RegressionProblem(X, Y)
