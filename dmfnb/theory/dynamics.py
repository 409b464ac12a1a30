"""Continuous-time theory: Arora et al.'s singular-value and singular-vector dynamics and Saxe et
al.'s exact mode solutions.

Explained in the chapter *How singular values move*. Time here is gradient-flow time: t steps of
gradient descent with learning rate η correspond to time η·t.

Every rate here assumes what the theorems assume: gradient *flow* (a GD step matches it to O(η)),
factors balanced at t = 0 (W_{j+1}ᵀW_{j+1} = W_j W_jᵀ, then preserved), and, for the singular
vectors, distinct nonzero singular values (an analytic SVD with simple spectrum).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import quad, solve_ivp

from .._validate import (
    as_matrix_stack,
    as_real_array,
    check_integer,
    check_number,
    check_positive,
    show,
)

__all__ = [
    "SVDRates",
    "end_to_end_rate",
    "integrate_mode",
    "mode_rate",
    "mode_time",
    "plateau_time",
    "saxe_mode",
    "singular_value_rate",
    "singular_vector_rate",
]


def singular_value_rate(W, G, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Right side of Arora et al. (2019)'s singular-value ODE for every singular value of W.

    Under gradient flow from a balanced start, dσ_r/dt = −N (σ_r²)^{1−1/N} ⟨∇ℓ(W), u_r v_rᵀ⟩.

    Parameters
    ----------
    W
        End-to-end matrix, (n, m).
    G
        ∇ℓ(W), the gradient of the loss with respect to W, same shape.
    depth
        N ≥ 1.

    Returns
    -------
    sigma, rate
        The singular values of W (descending) and dσ_r/dt for each.
    """
    W = as_matrix_stack("W", W)
    G = as_matrix_stack("G", G)
    if G.shape != W.shape:
        raise ValueError(f"G has shape {G.shape} but W has {W.shape}; pass ∇ℓ(W), shaped like W")
    check_positive("depth", depth, integer=True)
    u, s, vt = np.linalg.svd(W, full_matrices=False)
    proj = np.einsum("...ir,...ij,...rj->...r", u, G, vt)
    return s, -depth * (s * s) ** (1.0 - 1.0 / depth) * proj


@dataclass(frozen=True)
class SVDRates:
    """The thin SVD W = U diag(σ) Vᵀ and its time derivative under the end-to-end flow.

    Axes: ``u`` and ``du`` are (n, k), ``v`` and ``dv`` (m, k), ``sigma`` and ``dsigma`` (k,),
    k = min(n, m), columns ordered by decreasing σ (numpy's SVD: σ ≥ 0, one sign per pair
    (u_r, v_r), which a caller comparing two SVDs must align).
    """

    u: np.ndarray
    sigma: np.ndarray
    v: np.ndarray
    du: np.ndarray
    dsigma: np.ndarray
    dv: np.ndarray


def singular_vector_rate(W, G, depth: int) -> SVDRates:
    """U̇, σ̇, V̇ of W = U diag(σ) Vᵀ when W follows :func:`end_to_end_rate`.

    Derived here (not copied from a paper) from the end-to-end flow and first-order SVD
    perturbation. With A = UᵀẆV, the analytic SVD moves as
    u̇_r = Σ_{r'≠r} u_{r'} (σ_r A_{r'r} + σ_{r'} A_{rr'})/(σ_r² − σ_{r'}²) + (I − UUᵀ)Ẇ v_r/σ_r
    and v̇_r likewise with (σ_{r'} A_{r'r} + σ_r A_{rr'}) and (I − VVᵀ)Ẇᵀu_r/σ_r. In the singular
    bases the end-to-end flow is A_{r'r} = −c_{r'r} G̃_{r'r}, G̃ = UᵀGV, with the geometric sum
    c_{r'r} = Σ_j σ_{r'}^{2(j−1)/N} σ_r^{2(N−j)/N} = (σ_r² − σ_{r'}²)/(σ_r^{2/N} − σ_{r'}^{2/N}),
    which cancels the SVD's denominator:

        u̇_r = −Σ_{r'≠r} u_{r'} (σ_r G̃_{r'r} + σ_{r'} G̃_{rr'}) / (σ_r^{2/N} − σ_{r'}^{2/N})
              − σ_r^{1−2/N} (I − UUᵀ) G v_r,
        v̇_r = −Σ_{r'≠r} v_{r'} (σ_{r'} G̃_{r'r} + σ_r G̃_{rr'}) / (σ_r^{2/N} − σ_{r'}^{2/N})
              − σ_r^{1−2/N} (I − VVᵀ) Gᵀ u_r,
        σ̇_r = −N σ_r^{2−2/N} G̃_{rr}.

    Only the j = 1 (j = N) term of the flow reaches the orthogonal complement of U (V), since
    (WWᵀ)^p annihilates it for p > 0. So the vectors rotate at rates ∝ 1/(σ_r^{2/N} −
    σ_{r'}^{2/N}), driven by the *off-diagonal* entries of UᵀGV: when those vanish (the gradient
    is "aligned" with the SVD) the vectors stand still and each σ_r moves on its own.

    Parameters
    ----------
    W
        End-to-end matrix, (n, m), with distinct nonzero singular values.
    G
        ∇ℓ(W), same shape.
    depth
        N ≥ 1.

    Returns
    -------
    SVDRates

    Raises
    ------
    ValueError
        If W and G differ in shape or are not matrices, ``depth`` is not a positive integer, or W
        has a repeated or zero singular value (the SVD is then not differentiable: the rates
        divide by σ_r^{2/N} − σ_{r'}^{2/N} and by σ_r).
    """
    W, G = _matrix_and_gradient(W, G, depth)
    u, s, vt = np.linalg.svd(W, full_matrices=False)
    v = vt.T
    p = s ** (2.0 / depth)
    gap = p[None, :] - p[:, None]  # gap[r', r] = σ_r^{2/N} − σ_{r'}^{2/N}
    off = ~np.eye(len(s), dtype=bool)
    if s[-1] <= 0 or np.any(gap[off] == 0):
        raise ValueError("W must have distinct nonzero singular values for its SVD to be "
                         f"differentiable, got σ = {show(s)}")
    Gt = u.T @ G @ v
    inv = np.zeros_like(gap)
    inv[off] = 1.0 / gap[off]
    # Ω_U[r', r] and Ω_V[r', r]: the coefficients of u_{r'} in u̇_r and of v_{r'} in v̇_r.
    omega_u = -(Gt * s[None, :] + s[:, None] * Gt.T) * inv
    omega_v = -(s[:, None] * Gt + Gt.T * s[None, :]) * inv
    power = s ** (1.0 - 2.0 / depth)
    Gv = G @ v
    Gtu = G.T @ u
    du = u @ omega_u - (Gv - u @ (u.T @ Gv)) * power
    dv = v @ omega_v - (Gtu - v @ (v.T @ Gtu)) * power
    dsigma = -depth * s ** (2.0 - 2.0 / depth) * np.diag(Gt)
    return SVDRates(u=u, sigma=s, v=v, du=du, dsigma=dsigma, dv=dv)


def _matrix_and_gradient(W, G, depth) -> tuple[np.ndarray, np.ndarray]:
    """W and ∇ℓ(W) as one shape of matrix, and a positive integer depth (else ValueError)."""
    W = as_matrix_stack("W", W)
    G = as_matrix_stack("G", G)
    if G.shape != W.shape or W.ndim != 2:
        raise ValueError(f"W and G must be matrices of one shape, got {W.shape} and {G.shape}")
    check_positive("depth", depth, integer=True)
    return W, G


def end_to_end_rate(W, G, depth: int) -> np.ndarray:
    """dW/dt = −Σ_{j=1}^{N} (WWᵀ)^{(j−1)/N} ∇ℓ(W) (WᵀW)^{(N−j)/N} (Arora, Cohen, Hazan 2018)."""
    W, G = _matrix_and_gradient(W, G, depth)
    u, s, vt = np.linalg.svd(W, full_matrices=True)
    n, m = W.shape
    sl = np.zeros(n)
    sl[: len(s)] = s
    sr = np.zeros(m)
    sr[: len(s)] = s
    Gt = u.T @ G @ vt.T
    # In the singular bases the sum is an elementwise weight: Σ_j σ_i^{2(j−1)/N} σ_k^{2(N−j)/N}.
    j = np.arange(1, depth + 1)[:, None, None]
    weight = np.sum(sl[None, :, None] ** (2.0 * (j - 1) / depth)
                    * sr[None, None, :] ** (2.0 * (depth - j) / depth), axis=0)
    return -u @ (weight * Gt) @ vt


def mode_rate(u, s: float, depth: int):
    """du/dt = N u^{2−2/N} (s − u): one mode of strength s, loss ½(u − s)², balanced start.

    Raises
    ------
    TypeError, ValueError
        If ``u`` is not finite real number(s), ``s`` not a finite number, or ``depth`` not an
        integer ≥ 1.
    """
    u = as_real_array("u", u, what="a number or an array of numbers", allow_empty=True)
    check_number("s", s)
    check_integer("depth", depth, minimum=1)
    return _mode_rate(u, s, depth)


def _mode_rate(u, s, depth):
    # Unchecked: the integrators call it at every evaluation.
    u = np.asarray(u, dtype=float)
    return depth * np.abs(u) ** (2.0 - 2.0 / depth) * (s - u)


def saxe_mode(t, s: float, u0: float) -> np.ndarray:
    """Saxe et al. (2014)'s exact depth-2 solution u(t) = s e^{2st} / (e^{2st} − 1 + s/u₀).

    Solves du/dt = 2u(s − u) (time constant τ = 1), a sigmoid from u₀ to s.
    """
    check_positive("s", s)
    check_positive("u0", u0)
    t = as_real_array("t", t, what="a time or an array of times", allow_empty=True).astype(float)
    # Written with e^{−2st} so large times neither overflow nor lose precision.
    decay = np.exp(-2.0 * s * t)
    return s / (1.0 + (s / u0 - 1.0) * decay)


def integrate_mode(t, s: float, u0: float, depth: int, *, rtol: float = 1e-10) -> np.ndarray:
    """u(t) for du/dt = N u^{2−2/N} (s − u), u(0) = u₀, integrated by scipy (DOP853).

    Exact ground truth for the depth-N factorization of a whitened full-observation problem from an
    aligned balanced start; at N = 2 it reproduces :func:`saxe_mode`.

    Parameters
    ----------
    t
        Increasing times ≥ 0 at which to report u.
    s, u0
        Mode strength and initial value (0 < u₀ < s).
    depth
        N ≥ 1.
    """
    check_positive("s", s)
    check_positive("u0", u0)
    check_positive("depth", depth, integer=True)
    check_number("rtol", rtol, low=0, high=1)
    t = as_real_array("t", t, ndims=(1,), what="a 1-D array of increasing times ≥ 0",
                      allow_empty=True).astype(float)
    if t.ndim != 1 or np.any(np.diff(t) < 0) or (t.size and t[0] < 0):
        raise ValueError("t must be a 1-D array of increasing times ≥ 0")
    if t.size == 0:
        return np.empty(0)

    # Once u has settled on s to within round-off, stop integrating: the rest is u = s. Without
    # this an explicit method would crawl across a long saturated tail at its stability limit.
    def settled(_, y):
        return abs(s - y[0]) - 0.1 * rtol * s

    settled.terminal = True
    sol = solve_ivp(
        lambda _, y: _mode_rate(y, s, depth), (0.0, float(t[-1])), [u0],
        method="DOP853", t_eval=t, rtol=rtol, atol=u0 * rtol, events=settled,
    )
    if not sol.success:
        raise RuntimeError(f"mode ODE integration failed: {sol.message}")
    u = np.full(t.shape, float(s))
    u[: sol.y.shape[1]] = sol.y[0]
    return u


def mode_time(s: float, u0: float, uf: float, depth: int) -> float:
    """Time for a mode to grow from u₀ to u_f: ∫ du / (N u^{2−2/N} (s − u)), by scipy quad.

    At depth 2 this is (1/2s) ln[u_f (s − u₀) / (u₀ (s − u_f))] (Saxe et al. 2014).
    """
    check_positive("s", s)
    check_positive("u0", u0)
    check_positive("depth", depth, integer=True)
    check_number("uf", uf)
    if not u0 < uf < s:
        raise ValueError(f"need 0 < u0 < uf < s, got u0={u0}, uf={uf}, s={s}")
    # Substituting u = e^x spreads the integrand evenly over the decades it crosses.
    val, _ = quad(lambda x: np.exp(x) / _mode_rate(np.exp(x), s, depth),
                  np.log(u0), np.log(uf), limit=200, epsabs=0, epsrel=1e-10)
    return val


def plateau_time(s: float, u0: float, depth: int) -> float:
    """Leading-order time a mode of strength s spends near zero, starting from u₀ ≪ s.

    The small-u₀ asymptote of :func:`mode_time` (u₀ → s/2), from Saxe et al. (2014):

    - depth 1: ln 2 (du/dt = s − u relaxes at rate 1: no plateau, no dependence on u₀ or s);
    - depth 2: ln(s/u₀) / (2s), logarithmic in 1/u₀;
    - depth N ≥ 3: u₀^{−(1−2/N)} / ((N − 2) s), the blow-up time of du/dt = N s u^{2−2/N}, a power of 1/u₀.
    """
    check_positive("s", s)
    check_positive("u0", u0)
    check_positive("depth", depth, integer=True)
    if not u0 < s:
        raise ValueError(f"need 0 < u0 < s, got u0={u0}, s={s}")
    if depth == 1:
        return float(np.log(2.0))
    if depth == 2:
        return float(np.log(s / u0) / (2.0 * s))
    return float(u0 ** (-(1.0 - 2.0 / depth)) / ((depth - 2) * s))
