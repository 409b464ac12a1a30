"""The convex baseline of Arora et al. (2019): minimum nuclear norm subject to the observations."""

from __future__ import annotations

import numpy as np

from .problems import CompletionProblem, SensingProblem

__all__ = ["SolverError", "min_nuclear_norm"]


class SolverError(RuntimeError):
    """No convex solver returned an optimal solution."""


def min_nuclear_norm(
    problem: CompletionProblem | SensingProblem,
    tol: float = 1e-3,
    *,
    solvers: tuple[str, ...] = ("SCS", "CLARABEL"),
    **solver_options,
) -> np.ndarray:
    """argmin ‖X‖_* subject to |X_ij − W*_ij| ≤ tol on observed entries (completion) or
    |⟨A_i, X⟩ − y_i| ≤ tol (sensing), solved with cvxpy as in the authors' code.

    Parameters
    ----------
    problem
        A single (unstacked) completion or sensing problem.
    tol
        Slack allowed on each observation (the authors use 1e-3).
    solvers
        cvxpy solvers tried in order until one reports an optimal solution.
    **solver_options
        Passed to ``cvxpy.Problem.solve``.

    Returns
    -------
    numpy.ndarray
        The minimizer X, shape (n, m).

    Raises
    ------
    SolverError
        When every solver fails or ends with a non-optimal status.
    """
    import cvxpy as cp

    if not isinstance(problem, (CompletionProblem, SensingProblem)):
        raise TypeError(
            f"min_nuclear_norm takes a CompletionProblem or SensingProblem, got {type(problem).__name__}"
        )
    if problem.batch is not None:
        raise ValueError("min_nuclear_norm takes one problem, not a stack; loop over the stack")
    if not tol >= 0:
        raise ValueError(f"tol must be ≥ 0, got {tol!r}")
    X = cp.Variable(problem.shape)
    if isinstance(problem, CompletionProblem):
        rows, cols = np.nonzero(problem.mask)
        residual = X[rows, cols] - problem.target[rows, cols]
    else:
        residual = problem._op @ cp.vec(X, order="C") - problem.observations
    prog = cp.Problem(cp.Minimize(cp.normNuc(X)), [cp.abs(residual) <= tol])
    failures = []
    for solver in solvers:
        try:
            prog.solve(solver=solver, **solver_options)
        except (cp.error.SolverError, ValueError) as exc:
            failures.append(f"{solver}: {exc}")
            continue
        if prog.status == cp.OPTIMAL and X.value is not None:
            return np.asarray(X.value)
        failures.append(f"{solver}: status {prog.status}")
    raise SolverError(
        "no solver found the minimum-nuclear-norm solution ("
        + "; ".join(failures)
        + "). Install SCS or Clarabel (both come with cvxpy) or pass solvers=(...)."
    )
