"""The Runge–Kutta–Chebyshev method: an explicit integrator for stiff gradient flows.

A gradient flow dy/dt = −∇L(y) has the Jacobian −∇²L, a symmetric matrix: its eigenvalues are
real. Near the end of a deep factorization's run they spread over many decades (the directions
already fitted are steep, the last ones to converge are flat), and an explicit method with a
small stability region, such as RK45, must then take steps of about 3/λ_max however smooth the
path is: on the 100×100 depth-4 completion run with m = 1000 observations, 57 000 gradient
evaluations, almost all of them spent crawling along a smooth path (benchmarks/bench_flow.py).

The second-order RKC method of Sommeijer, Shampine & Verwer (1997) builds each step from s
stages whose stability polynomial is a shifted Chebyshev polynomial: its real stability interval
grows like 0.65·s², so a step of length h costs about √(h·λ_max) evaluations instead of h·λ_max,
with the error of a second-order method. It needs no Jacobian, only an estimate of the spectral
radius λ_max (a few evaluations of a nonlinear power iteration, renewed every 25 steps), and
suits exactly the real-spectrum problems gradient flows are. scipy has no such method; this is
a scipy :class:`~scipy.integrate.OdeSolver`, so :func:`dmfnb.flow` drives it like RK45.

Reference: B. P. Sommeijer, L. F. Shampine, J. G. Verwer, "RKC: an explicit solver for parabolic
PDEs", J. Comput. Appl. Math. 88 (1997) 315–326, eqs. (2.5)–(2.8) and §3 (error estimate,
spectral radius).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import DenseOutput, OdeSolver

__all__ = ["RKC", "spectral_radius", "stability_interval"]

# Damping of the stability polynomial (the paper's ε = 2/13): keeps |R(z)| ≤ 1 − ε/3 inside
# the interval, so the stages stay stable in floating point.
_EPS = 2.0 / 13.0
# The most stages a step may take: the interval grows like s², rounding in the recurrences too.
_MAX_STAGES = 250
# Steps between two estimates of the spectral radius (the paper's choice).
_RHO_EVERY = 25


def _coefficients(s: int):
    """w0, w1, and the b_j, T_j(w0) (j = 0…s) of the s-stage method (eqs. 2.5–2.8)."""
    w0 = 1.0 + _EPS / s**2
    T, dT, ddT = np.zeros(s + 1), np.zeros(s + 1), np.zeros(s + 1)
    T[0], T[1], dT[1] = 1.0, w0, 1.0
    for j in range(2, s + 1):
        T[j] = 2 * w0 * T[j - 1] - T[j - 2]
        dT[j] = 2 * T[j - 1] + 2 * w0 * dT[j - 1] - dT[j - 2]
        ddT[j] = 4 * dT[j - 1] + 2 * w0 * ddT[j - 1] - ddT[j - 2]
    w1 = dT[s] / ddT[s]
    b = np.zeros(s + 1)
    b[2:] = ddT[2:] / dT[2:] ** 2
    b[0] = b[1] = b[2]
    return w0, w1, b, T


def stability_interval(s: int) -> float:
    """β(s): the s-stage method is stable on the real interval [−β(s), 0] (≈ 0.65·s²)."""
    w0, w1, _, _ = _coefficients(s)
    return (1.0 + w0) / w1


def spectral_radius(fun, t, y, f, v=None) -> tuple[float, np.ndarray]:
    """1.2 × |the largest eigenvalue| of ∂f/∂y at (t, y), with f = fun(t, y), by the nonlinear
    power iteration of Sommeijer et al. (1997, §3): at most 20 evaluations, usually 3–6 when
    ``v`` (the direction it returned last time) is passed back. Returns (ρ, direction)."""
    v = f if v is None else v
    ynorm, vnorm = np.linalg.norm(y), np.linalg.norm(v)
    if vnorm == 0.0:
        v, vnorm = np.ones_like(y), np.sqrt(y.size)
    delta = np.sqrt(np.finfo(float).eps) * max(ynorm, 1e-8 * np.sqrt(y.size))
    direction = v * (delta / vnorm)
    sigma = 0.0
    for it in range(20):
        df = fun(t, y + direction) - f
        dnorm = np.linalg.norm(df)
        previous, sigma = sigma, dnorm / delta
        if dnorm == 0.0:
            break
        direction = df * (delta / dnorm)
        if it >= 1 and abs(sigma - previous) <= 0.01 * max(sigma, 1e-12):
            break
    return 1.2 * sigma, direction


class RKC(OdeSolver):
    """Second-order Runge–Kutta–Chebyshev method with error control (Sommeijer et al. 1997).

    For problems whose Jacobian has a real (or nearly real) spectrum, such as gradient flows.
    Each step picks the fewest stages s whose stability interval covers h·ρ, with ρ a power-
    iteration estimate of the spectral radius, and accepts the step when the paper's error
    estimate (1/15)[12(y_n − y_{n+1}) + 6h(f_n + f_{n+1})] is within ``atol + rtol·|y|`` in the
    root-mean-square norm. Dense output is the cubic Hermite interpolant of the step's ends.

    Parameters
    ----------
    fun, t0, y0, t_bound
        As for any scipy ODE solver, for an autonomous system (a gradient flow does not depend on
        t): the inner stages evaluate ``fun`` at the step's start time. ``y`` real.
    rtol, atol
        Relative and absolute tolerances.
    first_step
        Initial step; default: from the first estimate of ρ.
    vectorized
        Accepted for :func:`scipy.integrate.solve_ivp`, which passes it; ``fun`` is always
        called on one state.
    """

    def __init__(self, fun, t0, y0, t_bound, rtol=1e-3, atol=1e-6, first_step=None,
                 vectorized=False):
        super().__init__(fun, t0, y0, t_bound, vectorized=False)
        self.rtol, self.atol = float(rtol), float(atol)
        self.f = self.fun(self.t, self.y)
        self._v = None  # the power iteration's last direction (its warm start)
        self._spectral_radius()
        self._since_rho = 0
        h = first_step if first_step is not None else 0.5 / max(self.rho, 1e-12)
        self.h_abs = min(abs(h), abs(t_bound - t0))
        self.stages = 0
        self._old = None

    def _spectral_radius(self) -> float:
        self.rho, self._v = spectral_radius(self.fun, self.t, self.y, self.f, self._v)
        return self.rho

    def _step_impl(self):
        t, y, f = self.t, self.y, self.f
        h_abs = min(self.h_abs, abs(self.t_bound - t))
        while True:
            # The fewest stages whose stability interval covers h·ρ (≈ 0.65 s² ≥ hρ).
            s = max(2, int(np.ceil(np.sqrt(1.0 + 1.54 * h_abs * self.rho))))
            if s > _MAX_STAGES:
                s = _MAX_STAGES
                h_abs = min(h_abs, stability_interval(s) / self.rho)
            h = h_abs * self.direction
            w0, w1, b, T = _coefficients(s)
            a = 1.0 - b * T
            prev, cur = y, y + (b[1] * w1 * h) * f
            for j in range(2, s + 1):
                mu = 2.0 * b[j] * w0 / b[j - 1]
                nu = -b[j] / b[j - 2]
                mut = 2.0 * b[j] * w1 / b[j - 1]
                gt = -a[j - 1] * mut
                nxt = ((1.0 - mu - nu) * y + mu * cur + nu * prev
                       + (mut * h) * self.fun(t, cur) + (gt * h) * f)
                prev, cur = cur, nxt
            f_new = self.fun(t + h, cur)
            est = (12.0 * (y - cur) + 6.0 * h * (f + f_new)) / 15.0
            scale = self.atol + self.rtol * np.maximum(np.abs(y), np.abs(cur))
            err = float(np.sqrt(np.mean((est / scale) ** 2)))
            if not np.isfinite(err):
                err = np.inf
            factor = 10.0 if err == 0.0 else min(10.0, max(0.1, 0.8 * err ** (-1.0 / 3.0)))
            if err <= 1.0:
                break
            h_abs *= min(factor, 0.5)
            if h_abs < 10 * np.abs(np.nextafter(t, self.direction * np.inf) - t):
                return False, "the step size underflowed"
            # A rejected step may mean that ρ grew: estimate it again.
            self._spectral_radius()
            self._since_rho = 0
        self._old = (t, y, f, h)
        self.t_old, self.t, self.y, self.f = t, t + h, cur, f_new
        self.stages = s
        self.h_abs = h_abs * factor
        self._since_rho += 1
        if self._since_rho >= _RHO_EVERY:
            self._spectral_radius()
            self._since_rho = 0
        return True, None

    def _dense_output_impl(self):
        t, y, f, h = self._old
        return _Hermite(t, self.t, y, f, self.y, self.f, h)


class _Hermite(DenseOutput):
    """The cubic Hermite interpolant of one step from its ends and their derivatives."""

    def __init__(self, t_old, t, y0, f0, y1, f1, h):
        super().__init__(t_old, t)
        self._parts = (y0, h * f0, y1, h * f1)
        self._h = h

    def _call_impl(self, t):
        y0, hf0, y1, hf1 = self._parts
        x = (np.asarray(t) - self.t_old) / self._h
        h00, h10 = 2 * x**3 - 3 * x**2 + 1, x**3 - 2 * x**2 + x
        h01, h11 = -2 * x**3 + 3 * x**2, x**3 - x**2
        if np.ndim(x) == 0:
            return h00 * y0 + h10 * hf0 + h01 * y1 + h11 * hf1
        return (np.outer(y0, h00) + np.outer(hf0, h10) + np.outer(y1, h01)
                + np.outer(hf1, h11))
