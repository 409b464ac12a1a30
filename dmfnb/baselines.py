"""The convex baseline of Arora et al. (2019): minimum nuclear norm subject to the observations.

Explained in the chapter *Depth strengthens the low-rank bias*: Gunasekar et al. (2017) conjectured
that gradient descent on a depth-2 factorization from a vanishing initialization finds this solution.

Two ways to solve it: cvxpy (SCS, Clarabel; the authors' choice, used at the book's default sizes)
and ``"ADMM"``, a first-order splitting written here for the authors' 100×100 sizes. cvxpy hands
SCS a semidefinite cone of side n + m and, for sensing, a dense (m_obs × nm) constraint matrix:
at 100×100 with 2000 Gaussian measurements SCS had not finished after 10 minutes (measured), while
the splitting below needs one 100×100 SVD and two products with the measurement matrix per
iteration (``benchmarks/bench_nuclear.py`` times both).
"""

from __future__ import annotations

import itertools
import time
import warnings

import numpy as np

from ._validate import check_bool, check_integer, check_number, show
from .problems import CompletionProblem, SensingProblem

__all__ = ["SolverError", "admm_nuclear_norm", "min_nuclear_norm", "min_trace_psd"]

# Per-solver defaults, overridden by the caller's keyword arguments. SCS's default iteration cap
# (100 000) can cost a minute on an ill-conditioned instance; 20 000 is ample at the book's sizes.
_DEFAULT_OPTIONS = {"SCS": {"max_iters": 20_000}}
ADMM = "ADMM"


class SolverError(RuntimeError):
    """No convex solver returned an (acceptably) optimal solution."""


def _max_violation(problem, X) -> float | np.ndarray:
    """Largest |residual| of ``X`` on the observations (entries or measurements); for a stack,
    each run's on its own observations (padding left out)."""
    if isinstance(problem, CompletionProblem):
        resid = np.where(problem.mask, X - problem.target, 0.0)
        off = np.abs(resid).max(axis=(-2, -1))
    else:
        valid = problem.weights > 0
        off = np.abs(np.where(valid, problem._apply(X) - problem.observations, 0.0)).max(axis=-1)
    return float(off) if np.ndim(off) == 0 else off


def _acceptable(violation, tol: float):
    """Whether a solution short of ``optimal`` is accepted (``accept_inaccurate``): no
    observation off by more than 2·tol + 1e-6."""
    return violation <= 2 * tol + 1e-6


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
    |⟨A_i, X⟩ − y_i| ≤ tol (sensing), solved with cvxpy as in the authors' code, or by ADMM.

    Parameters
    ----------
    problem
        A single (unstacked) completion or sensing problem.
    tol
        Slack allowed on each observation (the authors use 1e-3); 0 asks for exact equality.
    solvers
        Tried in order until one reports the status ``optimal``: cvxpy solver names (``"SCS"``,
        ``"CLARABEL"``, …) or ``"ADMM"`` for :func:`admm_nuclear_norm` (for 100×100 and larger).
    accept_inaccurate
        If no solver reports ``optimal``, accept a solution whose status is
        ``optimal_inaccurate`` provided it violates no observation by more than 2·tol + 1e-6
        (a :class:`RuntimeWarning` says so). Default ``False``: raise :class:`SolverError`.
    return_info
        Also return a dict with ``status``, ``solver``, ``nuclear_norm`` (of the returned X),
        ``max_violation`` (largest residual on the observations), ``iterations`` (when the solver
        reports it) and ``seconds``.
    **solver_options
        Passed to every solver (``cvxpy.Problem.solve`` or :func:`admm_nuclear_norm`); they
        replace the defaults, e.g. SCS's ``max_iters=20000``.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, dict)
        The minimizer X, shape (n, m), and the info dict when ``return_info=True``.

    Raises
    ------
    TypeError
        If ``problem`` is not a completion or sensing problem, ``tol`` is not a number,
        ``solvers`` not solver names, or a flag not a bool.
    ValueError
        For a stacked problem, a negative or non-finite ``tol`` or an empty ``solvers``.
    SolverError
        When every solver fails or ends with an unacceptable status; the message lists each
        solver's status.
    """
    _check_problem(problem, tol)
    if isinstance(solvers, str):
        solvers = (solvers,)
    if not hasattr(solvers, "__iter__") or not all(isinstance(x, str) for x in solvers):
        raise TypeError(f"solvers must be solver names such as ('SCS', 'CLARABEL') or 'ADMM', "
                        f"got {show(solvers)}")
    solvers = tuple(solvers)
    if not solvers:
        raise ValueError("solvers is empty; name at least one cvxpy solver, e.g. ('SCS',), or 'ADMM'")
    check_bool("accept_inaccurate", accept_inaccurate)
    check_bool("return_info", return_info)
    failures = []
    fallback = None
    for solver in solvers:
        options = {**_DEFAULT_OPTIONS.get(solver.upper(), {}), **solver_options}
        start = time.perf_counter()
        try:
            if solver.upper() == ADMM:
                value, status, iterations = _solve_admm(problem, tol, options)
            else:
                value, status, iterations = _solve_cvxpy(problem, tol, solver, options)
        except _SolverFailed as exc:
            failures.append(f"{solver}: {exc}")
            continue
        info = {
            "status": status,
            "solver": solver,
            "nuclear_norm": float(np.linalg.svd(value, compute_uv=False).sum()),
            "max_violation": _max_violation(problem, value),
            "iterations": iterations,
            "seconds": time.perf_counter() - start,
        }
        if status == "optimal":
            return (value, info) if return_info else value
        failures.append(f"{solver}: status {status} (max violation {info['max_violation']:.2g})")
        if fallback is None and _acceptable(info["max_violation"], tol):
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
        + "). Raise the iteration limit (e.g. max_iters=100000), try another solver "
        "(solvers=('CLARABEL',) or ('ADMM',)), or pass accept_inaccurate=True."
    )


class _SolverFailed(Exception):
    """A solver raised, or returned no usable solution."""


def _check_problem(problem, tol, stack: bool = False) -> None:
    if not isinstance(problem, (CompletionProblem, SensingProblem)):
        raise TypeError(
            f"min_nuclear_norm takes a CompletionProblem or SensingProblem, got {type(problem).__name__}"
        )
    if problem.batch is not None and not stack:
        raise ValueError("min_nuclear_norm takes one problem, not a stack; loop over the stack")
    check_number("tol", tol, low=0, low_inclusive=True)


def _solve_cvxpy(problem, tol, solver, options):
    import cvxpy as cp

    X = cp.Variable(problem.shape)
    if isinstance(problem, CompletionProblem):
        rows, cols = np.nonzero(problem.mask)
        residual = X[rows, cols] - problem.target[rows, cols]
    else:
        residual = problem._op @ cp.vec(X, order="C") - problem.observations
    constraint = cp.abs(residual) <= tol if tol > 0 else residual == 0
    prog = cp.Problem(cp.Minimize(cp.normNuc(X)), [constraint])
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            prog.solve(solver=solver, **options)
    except (cp.error.SolverError, ValueError) as exc:
        raise _SolverFailed(str(exc)) from exc
    if X.value is None or prog.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE):
        raise _SolverFailed(f"status {prog.status}")
    return np.array(X.value), prog.status, getattr(prog.solver_stats, "num_iters", None)


def _solve_admm(problem, tol, options):
    X, info = admm_nuclear_norm(problem, tol, **options)
    return X, "optimal" if info["converged"] else "optimal_inaccurate", info["iterations"]


def _segments(counts):
    """Cut rows 0…max(counts) of a nested design where a run's count ends: (runs that measure
    with those rows, as a mask, and the rows, a slice), so a stack's products skip the rows past
    each run's own count instead of multiplying padding (with counts 1000…5000, almost half of
    the stack's rows)."""
    edges = np.unique(np.concatenate([[0], counts]))
    return [(counts > lo, slice(int(lo), int(hi))) for lo, hi in itertools.pairwise(edges)]


def _graph(problem):
    """The observations of every run as one linear map, padded to k values per run.

    Returns ``(y, valid, apply, adjoint, solve)``: ``y``, ``valid`` (B, k) the observed values
    (0 where padded) and which are observed; ``apply(X, runs)`` the (b, k) values A_r(X_r),
    ``adjoint(v, runs)`` the (b, n, m) matrices A_rᵀ(v_r), ``solve(v, runs)`` (I + A_r A_rᵀ)⁻¹ v_r,
    for the runs ``runs`` of the stack (B = 1 for a single problem). A padded value has a zero
    row in A_r, so its z stays 0 and the per-run arithmetic is that of the unpadded problem.
    """
    from scipy.linalg import cho_factor, cho_solve, cholesky, solve_triangular

    n, m = problem.shape
    B = problem.batch or 1
    if isinstance(problem, CompletionProblem):
        # A selects entries: z lives on all nm entries, zero off the mask; AAᵀ = I on the mask.
        valid = problem.mask.reshape(B, n * m)
        y = np.where(valid, np.asarray(problem.target, dtype=float).reshape(B, -1), 0.0)
        return (y, valid,
                lambda X, runs: X.reshape(len(runs), -1) * valid[runs],
                lambda v, runs: (v * valid[runs]).reshape(-1, n, m),
                lambda v, runs: np.where(valid[runs], v / 2, v))
    op = np.asarray(problem._op, dtype=float)  # no copy of a float64 design
    valid = (problem.weights > 0).reshape(B, -1)
    y = np.where(valid, problem.observations.reshape(valid.shape), 0.0)
    if op.ndim == 2:
        counts = valid.sum(axis=1)
        if np.array_equal(valid, np.arange(op.shape[0]) < counts[:, None]):
            # Nested designs: run r measures with the first k_r rows of op. The Cholesky factor
            # of I + A_r A_rᵀ is the leading k_r×k_r block of L, that of I + op opᵀ, and a
            # triangular solve with L on a right side that is zero past k_r, zeroed again between
            # the two passes, gives the runs' solves in two products with L for the whole stack.
            gram = op @ op.T
            gram.flat[::len(gram) + 1] += 1.0  # I + op opᵀ, without a second k×k array
            # gram is symmetric: its transpose is the Fortran-ordered array LAPACK factors in
            # place.
            L = cholesky(gram.T, lower=True, overwrite_a=True, check_finite=False)
            del gram

            def solve(v, runs):
                keep = valid[runs].T
                w = solve_triangular(L, np.where(keep, v.T, 0.0), lower=True,
                                     check_finite=False)
                w = solve_triangular(L, np.where(keep, w, 0.0), lower=True, trans="T",
                                     check_finite=False)
                return np.where(keep, w, v.T).T

            def apply(X, runs):
                X, out = X.reshape(len(runs), -1), np.zeros((len(runs), op.shape[0]))
                for live, rows in _segments(counts[runs]):
                    out[live, rows] = X[live] @ op[rows].T
                return out

            def adjoint(v, runs):
                out = np.zeros((len(runs), n * m))
                for live, rows in _segments(counts[runs]):
                    out[live] += v[live, rows] @ op[rows]
                return out.reshape(-1, n, m)

            return y, valid, apply, adjoint, solve
        op = np.broadcast_to(op, (B, *op.shape))
    ops = op * valid[:, :, None]
    factors = [cho_factor(np.eye(a.shape[0]) + a @ a.T) for a in ops]

    def solve(v, runs):
        return np.stack([cho_solve(factors[r], row) for r, row in zip(runs, v, strict=True)])

    return (y, valid, lambda X, runs: np.matmul(ops[runs], X.reshape(len(runs), -1, 1))[..., 0],
            lambda v, runs: np.matmul(v[:, None, :], ops[runs])[:, 0].reshape(-1, n, m), solve)


def admm_nuclear_norm(
    problem: CompletionProblem | SensingProblem,
    tol: float = 1e-3,
    *,
    rho: float = 1.0,
    relax: float = 1.6,
    rank_boost: float = 1.0,
    max_iters: int = 20_000,
    eps_abs: float = 1e-7,
    eps_rel: float = 1e-6,
) -> tuple[np.ndarray, dict]:
    """min ‖X‖_* s.t. |A(X) − y| ≤ tol by ADMM in graph form (Parikh & Boyd 2014, §4.4).

    The splitting minimizes ‖X‖_* + I_box(z) over pairs (X, z) on the graph z = A(X). Each
    iteration is a singular-value soft-threshold at 1/ρ, a clip of z to [y − tol, y + tol], and
    the projection onto the graph, which needs A, Aᵀ and one solve with I + AAᵀ (factored once;
    it does not depend on ρ, so ρ adapts freely by residual balancing, Boyd et al. 2011 §3.4.1).
    Stops when the primal and dual residuals are below ``eps_abs``·√(nm + k) +
    ``eps_rel``·(size of the iterates) (Boyd et al. §3.3.1).

    A stack of problems (:func:`dmfnb.stack_problems`) is solved run by run in one computation,
    each run with its own ρ and stopping test: the products with A and Aᵀ become matrix products
    for all runs still iterating. A sensing stack whose runs measure with the first k_r matrices
    of one design (nested designs, as in the low-rank-bias sweeps) also shares one factorization:
    ``benchmarks/bench_nuclear.py --stack`` measures the gain.

    Parameters
    ----------
    problem, tol
        As in :func:`min_nuclear_norm` (which calls this for ``solvers=("ADMM",)``), or a stack.
    rho
        Initial penalty ρ (the threshold is 1/ρ); adapted as the iterations go.
    relax
        Over-relaxation α in (0, 2) (Boyd et al. §3.4.3); 1.6 took 1.3–1.7× fewer iterations
        than 1 on completion and sensing tests (measured).
    rank_boost
        Factor ≥ 1 by which ρ jumps, once, for a run whose thresholded iterate has kept one rank
        k for 50 iterations with 2·k(n + m − k) ≤ its number of observations (twice the
        dimension of the rank-k matrices: the observations pin such an iterate down). ρ is then
        held while the rank k keeps k(n + m − k) ≤ the observations, and balanced again where it
        does not. Residual balancing settles such runs at a ρ where they converge slowly; 1 (the
        default) never jumps. Measured with 16 on sensing problems that recover (50×50 rank 3,
        70×70 rank 5): 1.8–2.7× fewer iterations (2695–4214 before); on the paper scale's 21
        sensing problems 1.5–3.2× for the 12 that recover, the others' solves unchanged to the
        last bit (the bound never held there).
    max_iters, eps_abs, eps_rel
        Iteration cap (per run) and stopping tolerances.

    Returns
    -------
    X : numpy.ndarray
        The thresholded iterate (exactly low-rank), shape (n, m), or (B, n, m) for a stack.
    info : dict
        ``converged``, ``iterations``, ``rho`` (final), ``primal_residual``, ``dual_residual``:
        numbers, or arrays of B for a stack.

    Raises
    ------
    TypeError, ValueError
        For a problem or ``tol`` as in :func:`min_nuclear_norm`, ``rho``/``eps_abs``/``eps_rel``
        not positive numbers, ``relax`` outside (0, 2), or ``max_iters`` not a positive integer.
    """
    _check_problem(problem, tol, stack=True)
    for name, value in (("rho", rho), ("eps_abs", eps_abs), ("eps_rel", eps_rel)):
        check_number(name, value, low=0, what="a positive number")
    check_number("relax", relax, low=0, high=2, what="a number in (0, 2) (1 = plain ADMM)")
    check_number("rank_boost", rank_boost, low=1, low_inclusive=True,
                 what="a number ≥ 1 (1 = no jump)")
    check_integer("max_iters", max_iters, minimum=1)
    y, valid, apply, adjoint, solve = _graph(problem)
    B, n, m = len(y), *problem.shape
    lo, hi = np.where(valid, y - tol, 0.0), np.where(valid, y + tol, 0.0)
    root = np.sqrt(n * m + valid.sum(axis=1))
    # The state of the runs still iterating (``runs`` indexes them in the stack); a run that
    # stops leaves it, so later products involve only the others.
    runs = np.arange(B)
    x, z = np.zeros((B, n, m)), np.zeros(y.shape)
    ux, uz = np.zeros_like(x), np.zeros_like(z)  # scaled dual variables
    r = np.full(B, float(rho))
    observed = valid.sum(axis=1)
    # Per run: the rank of the last thresholded iterate, for how many iterations it has kept it
    # within the bound of ``rank_boost``'s jump, and whether ρ has jumped.
    rank, settled, boosted = np.full(B, -1), np.zeros(B, int), np.zeros(B, bool)
    out = {"X": np.zeros((B, n, m)), "converged": np.zeros(B, bool),
           "iterations": np.zeros(B, int), "rho": np.zeros(B),
           "primal_residual": np.zeros(B), "dual_residual": np.zeros(B)}
    iterations = 0
    while runs.size:
        iterations += 1
        U, s, Vt = np.linalg.svd(x - ux, full_matrices=False)
        s = np.maximum(s - 1.0 / r[:, None], 0.0)
        xh = (U * s[:, None, :]) @ Vt
        k = np.count_nonzero(s, axis=1)
        dim = k * (n + m - k)  # of the rank-k matrices
        pinned = (k > 0) & (dim <= observed[runs])
        settled = np.where(pinned & (2 * dim <= observed[runs]) & (k == rank), settled + 1, 0)
        rank = k
        zh = np.clip(z - uz, lo[runs], hi[runs])
        # Over-relaxation (Boyd et al. 2011, §3.4.3): project a point past the prox output.
        xr, zr = relax * xh + (1 - relax) * x, relax * zh + (1 - relax) * z
        cx, cz = xr + ux, zr + uz
        lam = solve(cz - apply(cx, runs), runs)
        x_new, z_new = cx + adjoint(lam, runs), cz - lam
        ux += xr - x_new
        uz += zr - z_new
        primal = np.sqrt(_sq(xh - x_new) + _sq(zh - z_new))
        dual = r * np.sqrt(_sq(x_new - x) + _sq(z_new - z))
        x, z = x_new, z_new
        eps_pri = root[runs] * eps_abs + eps_rel * np.maximum(np.sqrt(_sq(xh) + _sq(zh)),
                                                              np.sqrt(_sq(x) + _sq(z)))
        eps_dual = root[runs] * eps_abs + eps_rel * r * np.sqrt(_sq(ux) + _sq(uz))
        done = (primal <= eps_pri) & (dual <= eps_dual)
        stop = done | (iterations >= max_iters)
        if stop.any():
            ids = runs[stop]
            for key, value in (("X", xh[stop]), ("converged", done[stop]), ("rho", r[stop]),
                               ("primal_residual", primal[stop]),
                               ("dual_residual", dual[stop])):
                out[key][ids] = value
            out["iterations"][ids] = iterations
            go = ~stop
            runs, x, z, ux, uz, r = runs[go], x[go], z[go], ux[go], uz[go], r[go]
            primal, dual = primal[go], dual[go]
            rank, settled, boosted, pinned = rank[go], settled[go], boosted[go], pinned[go]
        up, down = primal > 10 * dual, dual > 10 * primal
        scale = np.where(up, 2.0, np.where(down, 0.5, 1.0))
        if rank_boost > 1:
            jump = ~boosted & (settled >= 50)
            scale = np.where(jump, rank_boost, np.where(boosted & pinned, 1.0, scale))
            boosted |= jump
        r = r * scale
        ux /= scale[:, None, None]
        uz /= scale[:, None]
    X = out.pop("X")
    if problem.batch is None:
        return X[0], {key: value[0].item() for key, value in out.items()}
    return X, out


def _sq(a) -> np.ndarray:
    """Squared Frobenius norm of each run of a stacked array (leading axis)."""
    a = a.reshape(len(a), -1)
    return np.einsum("ij,ij->i", a, a)


def min_trace_psd(measurements, observations, *, solver: str = "CLARABEL", **solver_options):
    """argmin tr X over symmetric positive semidefinite X with ⟨A_k, X⟩ = y_k for every k.

    For PSD matrices the trace is the nuclear norm, so this is the convex problem whose minimum
    Gunasekar et al. (2017) and Arora et al. (2019) prove gradient flow attains when the A_k are
    symmetric and commute and the factors start at α^{1/N} I, α → 0. The minimizer need not be
    unique (with commuting A_k any PSD X with the same diagonal in their common eigenbasis has
    the same trace and observations); the minimum is.

    Parameters
    ----------
    measurements
        The matrices A_k, shape (k, n, n), each symmetric.
    observations
        The values y_k, shape (k,).
    solver
        A cvxpy solver that handles semidefinite cones (``"CLARABEL"``, ``"SCS"``).
    **solver_options
        Passed to ``cvxpy.Problem.solve``.

    Returns
    -------
    X : numpy.ndarray
        A minimizer, shape (n, n), symmetrized.
    info : dict
        ``status``, ``trace`` (the minimum, ``tr X``), ``max_violation`` (largest
        |⟨A_k, X⟩ − y_k|), ``min_eigenvalue`` of X.

    Raises
    ------
    TypeError
        If ``measurements`` or ``observations`` are not real arrays, or ``solver`` not a string.
    ValueError
        For shapes that do not match, non-square or non-symmetric A_k, or non-finite data.
    SolverError
        If the solver fails or ends with a status other than optimal.
    """
    import cvxpy as cp

    A = np.asarray(measurements)
    y = np.asarray(observations)
    for name, arr in (("measurements", A), ("observations", y)):
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if not isinstance(solver, str):
        raise TypeError(f"solver must be a cvxpy solver name such as 'CLARABEL', got {show(solver)}")
    A, y = A.astype(float), y.astype(float)
    if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] == 0:
        raise ValueError(f"measurements must have shape (k, n, n) with k ≥ 1, got {A.shape}")
    if y.shape != (A.shape[0],):
        raise ValueError(f"observations must have shape ({A.shape[0]},), got {y.shape}")
    if not (np.isfinite(A).all() and np.isfinite(y).all()):
        raise ValueError("measurements and observations must be finite")
    if not np.allclose(A, A.transpose(0, 2, 1), rtol=0, atol=1e-12 * max(1.0, np.abs(A).max())):
        raise ValueError("measurements must be symmetric matrices")
    n = A.shape[1]
    X = cp.Variable((n, n), PSD=True)
    prog = cp.Problem(cp.Minimize(cp.trace(X)),
                      [A.reshape(A.shape[0], -1) @ cp.vec(X, order="C") == y])
    try:
        prog.solve(solver=solver, **solver_options)
    except (cp.error.SolverError, ValueError) as exc:
        raise SolverError(f"min_trace_psd: {solver} failed: {exc}") from exc
    if X.value is None or prog.status != cp.OPTIMAL:
        raise SolverError(f"min_trace_psd: {solver} ended with status {prog.status}")
    value = np.array(X.value)
    value = (value + value.T) / 2
    info = {"status": prog.status, "trace": float(np.trace(value)),
            "max_violation": float(np.abs(np.einsum("kij,ij->k", A, value) - y).max()),
            "min_eigenvalue": float(np.linalg.eigvalsh(value)[0])}
    return value, info
