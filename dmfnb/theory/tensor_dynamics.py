"""Component-norm dynamics of a CP tensor factorization under gradient flow.

Razin, Maman & Cohen (2021): for W = Σ_r w_r^1 ⊗ ⋯ ⊗ w_r^N trained by gradient flow on ℓ(W),
the norm γ_r = ‖W_r‖ = ∏_n ‖w_r^n‖ of a component with γ_r > 0 moves at

    dγ_r/dt = −γ_r² (Σ_n ‖w_r^n‖⁻²) ⟨∇ℓ(W), Ŵ_r⟩,     Ŵ_r = W_r / γ_r   (any start),

and from a balanced start (‖w_r^1‖ = ⋯ = ‖w_r^N‖, which gradient flow conserves) this is

    dγ_r/dt = −N γ_r^{2 − 2/N} ⟨∇ℓ(W), Ŵ_r⟩,

the tensor analogue of Arora et al. (2019)'s dσ/dt = −N σ^{2−2/N} ⟨∇ℓ(W), u vᵀ⟩ (at N = 2 the
two coincide for orthogonal components). The chapter *Beyond matrices: tensor factorization*
checks both against finite-difference gradient steps.
"""

from __future__ import annotations

import numpy as np

from ..tensors import TensorCompletionProblem, check_cp_factors, component_norms, cp_product

__all__ = ["alignment", "blowup_time", "component_norm_rate"]


def alignment(problem: TensorCompletionProblem, factors) -> np.ndarray:
    """⟨∇ℓ(W), Ŵ_r⟩ for every component r (0 for a zero component): shape (R,) or (B, R).

    Computed from the observed entries: ∇ℓ(W) is supported on them.
    """
    if not isinstance(problem, TensorCompletionProblem):
        raise TypeError(f"problem must be a dmfnb.TensorCompletionProblem, got "
                        f"{type(problem).__name__}")
    factors = check_cp_factors(factors)
    G = problem.gradient(cp_product(factors))
    norms = np.stack([np.linalg.norm(f, axis=-2) for f in factors])
    units = [f / np.where(n > 0, n, 1.0)[..., None, :] for f, n in zip(factors, norms, strict=True)]
    # ⟨G, ⊗_n u_n⟩ = G contracted with one unit vector per mode.
    letters = "abcdefghijklmnopqrstuvw"[: len(factors)]
    lead = "z" if factors[0].ndim == 3 else ""
    spec = f"{lead}{letters}," + ",".join(f"{lead}{c}r" for c in letters) + f"->{lead}r"
    proj = np.einsum(spec, G, *units, optimize=True)
    return np.where(np.all(norms > 0, axis=0), proj, 0.0)


def component_norm_rate(problem: TensorCompletionProblem, factors, *,
                        balanced: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Predicted dγ_r/dt under gradient flow for every component of ``factors``.

    Parameters
    ----------
    problem
        The tensor completion problem (ℓ and its gradient).
    factors
        CP factors [A_1, …, A_N], (d_n, R) each (or stacked).
    balanced
        ``True``: the balanced-start law −N γ^{2−2/N} ⟨∇ℓ, Ŵ_r⟩ (its hypothesis: every
        ‖w_r^n‖ equal). ``False``: the law for any start, −γ² Σ_n ‖w_r^n‖⁻² ⟨∇ℓ, Ŵ_r⟩; the two
        agree exactly when the component is balanced.

    Returns
    -------
    gamma, rate
        The component norms γ_r and the predicted dγ_r/dt, each (R,) or (B, R).
    """
    factors = check_cp_factors(factors)
    N = len(factors)
    gamma = component_norms(factors)
    proj = alignment(problem, factors)
    if balanced:
        return gamma, -N * gamma ** (2.0 - 2.0 / N) * proj
    norms2 = np.stack([np.sum(f * f, axis=-2) for f in factors])
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(norms2 > 0, 1.0 / norms2, 0.0).sum(axis=0)
    return gamma, -gamma**2 * inv * proj


def blowup_time(gamma0, drive, order: int) -> np.ndarray:
    """Time at which dγ/dt = N c γ^{2−2/N} (c = −⟨∇ℓ, Ŵ⟩ held fixed) takes γ from γ₀ to ∞.

    For N ≥ 3 the exponent exceeds 1 and γ^{−(1−2/N)} falls linearly: the blow-up comes at
    t* = γ₀^{−(1−2/N)} / ((N − 2) c), a plateau followed by a jump. For N = 2 the growth is
    exponential (no finite blow-up: ``inf``). ``drive`` c must be positive (else ``inf``).
    """
    gamma0 = np.asarray(gamma0, dtype=float)
    drive = np.asarray(drive, dtype=float)
    if int(order) != order or order < 2:
        raise ValueError(f"order must be an integer N ≥ 2, got {order!r}")
    if order == 2:
        return np.full(np.broadcast(gamma0, drive).shape, np.inf)
    with np.errstate(divide="ignore"):
        t = gamma0 ** (-(1.0 - 2.0 / order)) / ((order - 2) * drive)
    return np.where(drive > 0, t, np.inf)
