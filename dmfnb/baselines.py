"""The convex baseline of Arora et al. (2019): minimum nuclear norm subject to the observations.

Explained in the chapter *Depth strengthens the low-rank bias*: Gunasekar et al. (2017) conjectured
that gradient descent on a depth-2 factorization from a vanishing initialization finds this solution.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from .problems import CompletionProblem, SensingProblem

__all__ = ["SolverError", "min_nuclear_norm"]

# Per-solver defaults, overridden by the caller's keyword arguments. SCS's default iteration cap
# (100 000) can cost a minute on an ill-conditioned instance; 20 000 is ample at the book's sizes.
_DEFAULT_OPTIONS = {"SCS": {"max_iters": 20_000}}


class SolverError(RuntimeError):
    """No convex solver returned an (acceptably) optimal solution."""


def _max_violation(problem, X) -> float:
    """Largest |residual| of ``X`` on the observations (entries or measurements)."""
    if isinstance(problem, CompletionProblem):
        return float(np.max(np.abs((X - problem.target)[problem.mask])))
    return float(np.max(np.abs(problem._apply(X) - problem.observations)))


def min_nuclear_norm(
    problem: CompletionProblem | SensingProblem,
    tol: float = 1e-3,
    *,
    solvers: tuple[str, ...] = ("SCS", "CLARABEL"),
    accept_inaccurate: bool = False,
    return_info: bool = False,
    **solver_options,
):
    """argmin ‖X‖_* subject to |X_ij − W*_ij| ≤ tol on observed entries (completion) or
    |⟨A_i, X⟩ − y_i| ≤ tol (sensing), solved with cvxpy as in the authors' code.

    Parameters
    ----------
    problem
        A single (unstacked) completion or sensing problem.
    tol
        Slack allowed on each observation (the authors use 1e-3); 0 asks for exact equality.
    solvers
        cvxpy solvers tried in order until one reports the status ``optimal``.
    accept_inaccurate
        If no solver reports ``optimal``, accept a solution whose status is
        ``optimal_inaccurate`` provided it violates no observation by more than 2·tol + 1e-6
        (a :class:`RuntimeWarning` says so). Default ``False``: raise :class:`SolverError`.
    return_info
        Also return a dict with ``status``, ``solver``, ``nuclear_norm`` (of the returned X),
        ``max_violation`` (largest residual on the observations), ``iterations`` (when the solver
        reports it) and ``seconds``.
    **solver_options
        Passed to ``cvxpy.Problem.solve`` for every solver (they replace the defaults, e.g. SCS's
        ``max_iters=20000``).

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, dict)
        The minimizer X, shape (n, m), and the info dict when ``return_info=True``.

    Raises
    ------
    TypeError
        If ``problem`` is not a completion or sensing problem.
    ValueError
        For a stacked problem, a negative or non-finite ``tol`` or an empty ``solvers``.
    SolverError
        When every solver fails or ends with an unacceptable status; the message lists each
        solver's status.
    """
    import cvxpy as cp

    if not isinstance(problem, (CompletionProblem, SensingProblem)):
        raise TypeError(
            f"min_nuclear_norm takes a CompletionProblem or SensingProblem, got {type(problem).__name__}"
        )
    if problem.batch is not None:
        raise ValueError("min_nuclear_norm takes one problem, not a stack; loop over the stack")
    if not (np.isscalar(tol) and np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number ≥ 0, got {tol!r}")
    if isinstance(solvers, str):
        solvers = (solvers,)
    if not solvers:
        raise ValueError("solvers is empty; name at least one cvxpy solver, e.g. ('SCS',)")
    X = cp.Variable(problem.shape)
    if isinstance(problem, CompletionProblem):
        rows, cols = np.nonzero(problem.mask)
        residual = X[rows, cols] - problem.target[rows, cols]
    else:
        residual = problem._op @ cp.vec(X, order="C") - problem.observations
    constraint = cp.abs(residual) <= tol if tol > 0 else residual == 0
    prog = cp.Problem(cp.Minimize(cp.normNuc(X)), [constraint])
    failures = []
    fallback = None
    for solver in solvers:
        options = {**_DEFAULT_OPTIONS.get(solver.upper(), {}), **solver_options}
        start = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Solution may be inaccurate")
                prog.solve(solver=solver, **options)
        except (cp.error.SolverError, ValueError) as exc:
            failures.append(f"{solver}: {exc}")
            continue
        seconds = time.perf_counter() - start
        status = prog.status
        if X.value is None or status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
            failures.append(f"{solver}: status {status}")
            continue
        value = np.array(X.value)
        info = {
            "status": status,
            "solver": solver,
            "nuclear_norm": float(np.linalg.svd(value, compute_uv=False).sum()),
            "max_violation": _max_violation(problem, value),
            "iterations": getattr(prog.solver_stats, "num_iters", None),
            "seconds": seconds,
        }
        if status == cp.OPTIMAL:
            return (value, info) if return_info else value
        failures.append(f"{solver}: status {status} (max violation {info['max_violation']:.2g})")
        if fallback is None and info["max_violation"] <= 2 * tol + 1e-6:
            fallback = (value, info)
    if accept_inaccurate and fallback is not None:
        value, info = fallback
        warnings.warn(
            f"min_nuclear_norm: {info['solver']} reported optimal_inaccurate; accepting it "
            f"(max violation {info['max_violation']:.2g} ≤ 2·tol)",
            RuntimeWarning,
            stacklevel=2,
        )
        return (value, info) if return_info else value
    raise SolverError(
        "no solver found the minimum-nuclear-norm solution ("
        + "; ".join(failures)
        + "). Raise the iteration limit (e.g. max_iters=100000 for SCS), try another solver "
        "(solvers=('CLARABEL',)), or pass accept_inaccurate=True."
    )
