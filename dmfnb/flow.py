"""Gradient flow, integrated with error control: the dynamics the theorems are about.

Gradient descent at a small step follows the flow dW_j/dt = −∂ℓ/∂W_j one step at a time; the
normalized step of Arora et al.'s code follows the same path (along the exact gradient, with one
adaptive step size), only faster. An adaptive Runge–Kutta method (scipy's ``RK45``, ``DOP853``)
follows that path too, taking long steps where it is straight (the plateaus) and short ones at the
jumps, so it needs far fewer gradient evaluations, and its tolerance says how close to the exact
flow it stays. ``benchmarks/bench_flow.py`` compares it with gradient descent on the authors'
100×100 completion instance.

Data path: problem → factors → :func:`flow` → :class:`dmfnb.Trajectory`, as for :func:`dmfnb.train`.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import DOP853, RK23, RK45
from scipy.optimize import brentq

from ._validate import check_choice, check_integer, check_number
from .engine import MATRIX, Trajectory, _check_entries, _model, _new_log, _record, _trajectory
from .factors import Backprop, check_factors, product
from .problems import check_problem
from .rkc import RKC, spectral_radius

__all__ = ["flow"]

METHODS = {"RK45": RK45, "DOP853": DOP853, "RK23": RK23, "RKC": RKC}
# "auto" checks every _CHECK_EVERY steps. RK45 moves to RKC when its step is at its stability
# limit (h·ρ above _STIFF; RK45's real stability interval is about 3.3, ρ is 1.2·|λ_max|). RKC
# moves back when, over its last _CHECK_EVERY steps, it cost more gradient evaluations per unit
# of flow time than RK45 did over its own last ones: a converging run can be stiff for a while
# and still cheaper under RK45, whose fifth order takes longer accurate steps than RKC's second.
# Each move back doubles the checks RK45 waits before it tries RKC again, since a flow that is
# not worth RKC now may be later (the stiff end of a run that does not recover).
_CHECK_EVERY = 25
_STIFF = 2.5
# A run with tol stops where its loss reaches tol·_INSIDE (see flow).
_INSIDE = 1 - 1e-6


def flow(problem, factors, *, time: float, tol: float | None = None, rtol: float = 1e-6,
         atol: float = 1e-12, method: str = "RK45", record="log", top_k: int = 10,
         entries=(), max_evaluations: int = 10_000_000) -> Trajectory:
    """Integrate the gradient flow of ``problem``'s loss over the factors, from ``factors``.

    Parameters
    ----------
    problem
        One (unstacked) matrix problem from :mod:`dmfnb.problems`.
    factors
        Initial factors ``[W_1, …, W_N]`` (2-D arrays); copied, never modified. The flow is
        integrated in float64 whatever their dtype.
    time
        Flow time to integrate to, a number > 0 (one unit is a gradient step of size 1).
    tol
        Stop where the loss first reaches ``tol``: checked at the end of each integrator step,
        then located inside that step on the method's dense output (Brent's method, loss
        evaluations only); ``None``: integrate to ``time``.
    rtol, atol
        The integrator's relative and absolute tolerances (per coordinate of the factors).
    method
        ``"RK45"`` (Dormand–Prince 5(4)), ``"DOP853"`` (order 8), ``"RK23"``, ``"RKC"`` (the
        Runge–Kutta–Chebyshev method of :mod:`dmfnb.rkc`, for stiff flows) or ``"auto"``: RK45
        until its steps are held at its stability limit (checked every 25 steps: step × the
        spectral radius of the Jacobian), then RKC, and back to RK45 whenever RKC costs more
        gradient evaluations per unit of flow time than RK45 did (measured over the last 25
        steps of each). Near the end of a deep run the flow is stiff and RK45 crawls: on the
        authors' 100×100 depth-4 instance with m = 1000 observations ``"auto"`` took 13 920
        evaluations where RK45 took 57 128, for the same error to 4 digits
        (``benchmarks/bench_flow.py``).
    record
        ``"log"``: time 0 and 200 log-spaced times from ``time``·1e-6 to ``time``; or explicit
        increasing flow times in [0, ``time``]. Records between integrator steps come from the
        method's dense output. The start and the final state are always recorded.
    top_k, entries
        As in :func:`dmfnb.train`.
    max_evaluations
        Stop (not converged) once the integrator has used this many gradient evaluations: the
        flow's counterpart of :func:`dmfnb.train`'s ``steps``.

    Returns
    -------
    Trajectory
        ``time`` holds each record's flow time and ``steps`` the gradient evaluations used by
        then; ``stop_step`` is the total; ``info`` has ``"time"`` (where it stopped), ``"method"``,
        ``"switched"`` (the flow times where ``"auto"`` changed method, a tuple), ``"rtol"``,
        ``"evaluations"`` and ``"stopped"`` (``"tol"``, ``"time"`` or ``"evaluations"``).

    Raises
    ------
    TypeError, ValueError
        For a problem, factors or options that :func:`dmfnb.train` would also reject, a stacked
        problem or stacked factors (integrate one run at a time), or a tensor problem.
    RuntimeError
        When the integrator fails (its step size underflows).
    """
    if _model(problem) is not MATRIX:
        raise TypeError("flow integrates matrix factorizations; for a tensor problem use "
                        "dmfnb.train")
    check_problem(problem)
    initial = check_factors(factors)
    if problem.batch is not None or initial[0].ndim != 2:
        raise ValueError("flow integrates one run: pass one problem and one list of 2-D factors "
                         "(dmfnb.train trains stacks)")
    problem._check(product(initial))
    end = check_number("time", time, low=0, what="a positive flow time")
    if tol is not None:
        check_number("tol", tol, low=0, low_inclusive=True, what="a non-negative number or None")
    check_number("rtol", rtol, low=0, what="a positive relative tolerance")
    check_number("atol", atol, low=0, what="a positive absolute tolerance")
    check_choice("method", method, (*METHODS, "auto"))
    top_k = check_integer("top_k", top_k, minimum=1)
    max_evaluations = check_integer("max_evaluations", max_evaluations, minimum=1)
    entries = _check_entries(entries, problem.shape)
    times = _record_times(record, end)

    problem = problem.astype(np.float64) if problem.dtype != np.float64 else problem
    shapes = [f.shape for f in initial]
    cuts = np.cumsum([f.size for f in initial])[:-1]
    bp = Backprop(problem, [f.astype(np.float64) for f in initial])
    evaluations = 0

    def unpack(y):
        return [part.reshape(s) for part, s in zip(np.split(y, cuts), shapes, strict=True)]

    def rhs(_t, y):
        nonlocal evaluations
        evaluations += 1
        bp.evaluate(unpack(y))
        return -np.concatenate([g.ravel() for g in bp.grads])

    log = _new_log()
    stamps: list[float] = []

    def _above(t, dense, aim):
        return bp.forward(unpack(dense(t))) - aim

    def take(t, y):
        fs = unpack(y)
        loss = bp.forward(fs)
        _record(log, evaluations, loss, problem, bp.W, top_k, entries, False)
        stamps.append(float(t))
        return loss

    y0 = np.concatenate([f.ravel() for f in initial]).astype(np.float64)
    solver = METHODS["RK45" if method == "auto" else method](rhs, 0.0, y0, end, rtol=rtol,
                                                              atol=atol)
    switches: list[float] = []
    steps, auto = 0, _Auto()
    loss = take(0.0, y0)
    t_end, y_end = 0.0, y0
    aim = None if tol is None else tol * _INSIDE
    k = 1 if times.size and times[0] == 0.0 else 0
    converged = tol is not None and loss <= tol
    while not converged and solver.status == "running":
        t_old = solver.t
        message = solver.step()
        if solver.status == "failed":
            raise RuntimeError(f"the integrator failed at flow time {t_old:.6g}: {message}; "
                               "loosen rtol/atol or shorten time")
        t_end, y_end = solver.t, solver.y
        loss = bp.forward(unpack(y_end))
        converged = tol is not None and loss <= tol
        dense = None
        if converged and loss < aim:
            # Stop where the loss crosses tol, found on the step's interpolant. A long step
            # overshoots it: stopping at the step's end left the completion sweep's medians at
            # m = 5000 up to 16% below the authors' step run's (which stops at its first step
            # past tol); at the crossing they are within 2%. Aim just inside tol so that the
            # root's round-off cannot leave the stop above it.
            dense = solver.dense_output()
            t_end = brentq(_above, t_old, t_end, args=(dense, aim),
                           xtol=1e-9 * (t_end - t_old))
            y_end = dense(t_end)
        while k < times.size and times[k] < t_end:
            dense = dense or solver.dense_output()
            take(times[k], dense(times[k]))
            k += 1
        steps += 1
        if method == "auto" and steps % _CHECK_EVERY == 0:
            solver = auto.check(solver, rhs, end, rtol, atol, evaluations, switches)
        if evaluations >= max_evaluations:
            break
    stopped = "tol" if converged else ("time" if solver.status == "finished" else "evaluations")
    take(t_end, y_end)
    final = unpack(y_end.copy())
    return _trajectory(
        log, [f.astype(initial[0].dtype) for f in final], stop_step=evaluations,
        converged=bool(converged), keep_products=False, time=np.array(stamps),
        info={"optimizer": "flow", "method": method, "switched": tuple(switches), "rtol": rtol,
              "atol": atol, "tol": tol,
              "time": float(t_end), "evaluations": evaluations, "stopped": stopped,
              "model": MATRIX.name})


class _Auto:
    """The state of ``method="auto"`` between its checks: which method is cheaper, measured."""

    def __init__(self):
        self.mark = (0.0, 0)            # (flow time, evaluations) at the last check
        self.rate = {RK45: None, RKC: None}  # evaluations per unit of flow time, last measured
        self.wait, self.backoff = 0, 1  # checks before RK45 may try RKC again

    def check(self, solver, rhs, end, rtol, atol, evaluations, switches):
        """The solver to go on with."""
        kind = type(solver)
        t_mark, e_mark = self.mark
        if solver.t > t_mark:
            self.rate[kind] = (evaluations - e_mark) / (solver.t - t_mark)
        # the spectral radius and a new solver's first evaluations count toward the next rate
        self.mark = (float(solver.t), evaluations)
        if kind is RKC:
            if None in self.rate.values() or self.rate[RKC] <= self.rate[RK45]:
                return solver
            self.wait, self.backoff = self.backoff, 2 * self.backoff
            other = RK45
        else:
            if self.wait:
                self.wait -= 1
                return solver
            rho, _ = spectral_radius(rhs, solver.t, solver.y, solver.f)
            if solver.step_size * rho <= _STIFF:
                return solver
            other = RKC
        switches.append(float(solver.t))
        return other(rhs, solver.t, solver.y, end, rtol=rtol, atol=atol,
                     first_step=solver.step_size)


def _record_times(record, end: float) -> np.ndarray:
    if isinstance(record, str):
        check_choice("record", record, ("log",))
        return np.concatenate([[0.0], np.geomspace(end * 1e-6, end, 200)])
    try:
        times = np.asarray(record, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("record must be 'log' or a sequence of flow times") from None
    if times.ndim != 1 or not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0) \
            or (times.size and (times[0] < 0 or times[-1] > end)):
        raise ValueError(f"record must be increasing flow times in [0, time = {end:g}]")
    return times
