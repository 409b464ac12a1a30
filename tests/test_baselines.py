import numpy as np
import pytest

import dmfnb as dm


def test_completion_recovers_low_rank_matrix_from_enough_entries():
    target = dm.low_rank_target((10, 10), 1, seed=0)
    prob = dm.CompletionProblem.random(target, 80, seed=1)
    X, info = dm.min_nuclear_norm(prob, return_info=True)
    assert X.shape == (10, 10)
    assert prob.reconstruction_error(X) < 1e-5
    assert info["status"] == "optimal" and info["solver"] == "SCS"
    assert info["max_violation"] <= 1.2e-3  # SCS meets constraints to its own accuracy
    assert np.isclose(info["nuclear_norm"], dm.nuclear_norm(X))
    # the ground truth is feasible, so the minimum is at most its nuclear norm
    assert info["nuclear_norm"] <= dm.nuclear_norm(target) + 1e-3


def test_too_few_entries_give_a_smaller_norm_than_the_truth():
    target = dm.low_rank_target((12, 12), 3, seed=0)
    prob = dm.CompletionProblem.random(target, 40, seed=1)
    X = dm.min_nuclear_norm(prob)
    assert dm.nuclear_norm(X) < dm.nuclear_norm(target) - 1e-2
    assert prob.reconstruction_error(X) > 1e-2


def test_sensing_variant_and_exact_equality():
    target = dm.low_rank_target((8, 8), 1, seed=3)
    prob = dm.SensingProblem.random(target, 50, seed=4)
    X, info = dm.min_nuclear_norm(prob, return_info=True)
    assert prob.reconstruction_error(X) < 1e-5
    assert info["max_violation"] <= 1.2e-3  # SCS meets constraints to its own accuracy
    X0, info0 = dm.min_nuclear_norm(prob, tol=0.0, return_info=True)
    assert info0["max_violation"] < 1e-3
    assert prob.reconstruction_error(X0) < 1e-5


def test_falls_back_to_the_next_solver():
    target = dm.low_rank_target((10, 10), 1, seed=0)
    prob = dm.CompletionProblem.random(target, 80, seed=1)
    X, info = dm.min_nuclear_norm(prob, solvers=("NO_SUCH_SOLVER", "CLARABEL"), return_info=True)
    assert info["solver"] == "CLARABEL" and prob.reconstruction_error(X) < 1e-5


def test_status_is_checked():
    target = dm.low_rank_target((10, 10), 2, seed=0)
    prob = dm.CompletionProblem.random(target, 50, seed=1)
    with pytest.raises(dm.SolverError, match="SCS: status"):
        dm.min_nuclear_norm(prob, solvers=("SCS",), max_iters=2)
    with pytest.raises(dm.SolverError, match="NO_SUCH_SOLVER"):
        dm.min_nuclear_norm(prob, solvers=("NO_SUCH_SOLVER",))


def test_inaccurate_solution_accepted_only_on_request(monkeypatch):
    import cvxpy as cp

    target = dm.low_rank_target((10, 10), 1, seed=0)
    prob = dm.CompletionProblem.random(target, 80, seed=1)
    real_solve = cp.Problem.solve

    def solve_then_downgrade(self, *args, **kwargs):
        value = real_solve(self, *args, **kwargs)
        self._status = cp.OPTIMAL_INACCURATE
        return value

    monkeypatch.setattr(cp.Problem, "solve", solve_then_downgrade)
    with pytest.raises(dm.SolverError, match="optimal_inaccurate"):
        dm.min_nuclear_norm(prob, solvers=("SCS",))
    with pytest.warns(RuntimeWarning, match="optimal_inaccurate"):
        X, info = dm.min_nuclear_norm(prob, solvers=("SCS",), accept_inaccurate=True, return_info=True)
    assert info["status"] == cp.OPTIMAL_INACCURATE and prob.reconstruction_error(X) < 1e-5


def test_clear_errors_on_bad_input():
    target = dm.low_rank_target((6, 6), 1, seed=0)
    with pytest.raises(TypeError, match="CompletionProblem or SensingProblem"):
        dm.min_nuclear_norm(dm.LeastSquaresProblem(target))
    stack = dm.stack_problems([dm.CompletionProblem.random(target, 20, seed=s) for s in (1, 2)])
    with pytest.raises(ValueError, match="not a stack"):
        dm.min_nuclear_norm(stack)
    prob = dm.CompletionProblem.random(target, 20, seed=1)
    for bad in (-1e-3, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="tol"):
            dm.min_nuclear_norm(prob, tol=bad)
    with pytest.raises(ValueError, match="solvers is empty"):
        dm.min_nuclear_norm(prob, solvers=())


@pytest.mark.parametrize("kind", ["completion", "sensing"])
@pytest.mark.parametrize("tol", [1e-3, 0.0])
def test_admm_agrees_with_an_interior_point_solver(kind, tol):
    target = dm.low_rank_target((14, 14), 2, seed=0)
    cls = dm.CompletionProblem if kind == "completion" else dm.SensingProblem
    prob = cls.random(target, 90 if kind == "completion" else 60, seed=1)
    Xc, ic = dm.min_nuclear_norm(prob, tol, solvers=("CLARABEL",), return_info=True)
    Xa, ia = dm.min_nuclear_norm(prob, tol, solvers=("ADMM",), return_info=True)
    assert ia["solver"] == "ADMM" and ia["status"] == "optimal" and ia["iterations"] > 1
    assert ia["nuclear_norm"] == pytest.approx(ic["nuclear_norm"], rel=1e-5)
    assert np.linalg.norm(Xa - Xc) <= 1e-4 * np.linalg.norm(Xc)
    assert ia["max_violation"] <= tol + 1e-4


def test_admm_iteration_limit_and_bad_options():
    target = dm.low_rank_target((10, 10), 2, seed=0)
    prob = dm.CompletionProblem.random(target, 50, seed=1)
    _, info = dm.admm_nuclear_norm(prob, max_iters=3)
    assert not info["converged"] and info["iterations"] == 3
    with pytest.raises(dm.SolverError, match="ADMM: status optimal_inaccurate"):
        dm.min_nuclear_norm(prob, solvers=("ADMM",), max_iters=3)
    for name, bad in (("rho", 0.0), ("eps_abs", -1.0), ("eps_rel", float("nan"))):
        with pytest.raises(ValueError, match=name):
            dm.admm_nuclear_norm(prob, **{name: bad})
    with pytest.raises(ValueError, match="max_iters"):
        dm.admm_nuclear_norm(prob, max_iters=0)
    with pytest.raises(ValueError, match="rank_boost"):
        dm.admm_nuclear_norm(prob, rank_boost=0.5)


def test_admm_rank_boost_jumps_only_where_the_rank_is_pinned():
    """rank_boost multiplies ρ once a run's iterate keeps a rank k with 2·k(n + m − k) ≤ its
    observations: there the solve takes fewer iterations to the same minimizer (CLARABEL's); with
    fewer observations than the rank-2 matrices' 76 dimensions the bound never holds and the
    solve is the same to the last bit."""
    target = dm.low_rank_target((20, 20), 2, seed=0)
    A = dm.SensingProblem.random(target, 240, seed=1).measurements
    few, many = dm.SensingProblem(target, A[:60]), dm.SensingProblem(target, A[:240])
    X, info = dm.admm_nuclear_norm(few, 1e-3)
    Xb, ib = dm.admm_nuclear_norm(few, 1e-3, rank_boost=16.0)
    assert np.array_equal(X, Xb) and ib["iterations"] == info["iterations"]
    X, info = dm.admm_nuclear_norm(many, 1e-3)
    Xb, ib = dm.admm_nuclear_norm(many, 1e-3, rank_boost=16.0)
    assert ib["converged"] and ib["rho"] > info["rho"]
    assert ib["iterations"] < 0.8 * info["iterations"]
    Xc, ic = dm.min_nuclear_norm(many, 1e-3, solvers=("CLARABEL",), return_info=True)
    for Y in (X, Xb):
        assert dm.nuclear_norm(Y) == pytest.approx(ic["nuclear_norm"], rel=1e-5)
        assert np.linalg.norm(Y - Xc) <= 1e-4 * np.linalg.norm(Xc)


@pytest.mark.parametrize("boost", [1.0, 16.0])
@pytest.mark.parametrize("design", ["completion", "nested", "own"])
def test_admm_solves_a_stack_run_by_run(design, boost):
    """A stack is solved in one computation with each run's own ρ (and its own rank_boost
    jump) and stopping test: every run ends where its own solve ends, after as many iterations
    (nested sensing designs share one factorization; the zero-padded triangular solves must not
    leak between runs)."""
    targets = [dm.low_rank_target((12, 12), 2, seed=s) for s in range(2)]
    if design == "completion":
        probs = [dm.CompletionProblem.random(t, m, seed=m) for t in targets for m in (60, 90)]
    elif design == "nested":
        A = dm.SensingProblem.random(targets[0], 90, seed=3).measurements
        probs = [dm.SensingProblem(t, A[:m]) for m in (40, 60, 90) for t in targets]
    else:
        probs = [dm.SensingProblem.random(t, m, seed=m) for t in targets for m in (40, 60)]
    stack = dm.stack_problems(probs)
    assert design != "nested" or stack.shared
    X, info = dm.admm_nuclear_norm(stack, 1e-3, rank_boost=boost)
    assert X.shape == (len(probs), 12, 12) and info["converged"].all()
    for b, prob in enumerate(probs):
        Xb, ib = dm.admm_nuclear_norm(prob, 1e-3, rank_boost=boost)
        assert info["iterations"][b] == ib["iterations"]
        np.testing.assert_allclose(X[b], Xb, rtol=0, atol=1e-9)
    assert len(set(info["iterations"].tolist())) > 1, "runs stop on their own"
    if boost > 1 and design == "nested":  # 90 observations ≥ 2·44: a rank-2 iterate jumps
        _, plain = dm.admm_nuclear_norm(stack, 1e-3)
        assert (plain["iterations"] != info["iterations"]).any()
    _, capped = dm.admm_nuclear_norm(stack, 1e-3, max_iters=5)
    assert not capped["converged"].any() and (capped["iterations"] == 5).all()


def test_min_trace_psd_on_commuting_measurements():
    from dmfnb.baselines import min_trace_psd

    A = np.array([np.diag([1.0, 1.0, 0.8]), np.diag([5.0, 0.0, 2.0])])
    X, info = min_trace_psd(A, [2.0, 5.0])
    # the diagonal PSD solutions form the segment diag(1, 1, 0) – diag(0, 0, 2.5); trace 2 is least
    assert info["status"] == "optimal" and abs(info["trace"] - 2.0) < 1e-6
    assert info["max_violation"] < 1e-6 and info["min_eigenvalue"] > -1e-7
    assert np.allclose(X, X.T) and np.isclose(np.trace(X), info["trace"])
    # any PSD matrix that fits has at least that trace, e.g. the rank-one ground truth
    assert info["trace"] <= 2.5


def test_min_trace_psd_rejects_bad_input():
    from dmfnb.baselines import min_trace_psd

    A = np.array([np.diag([1.0, 2.0])])
    with pytest.raises(ValueError, match="symmetric"):
        min_trace_psd(np.array([[[0.0, 1.0], [0.0, 0.0]]]), [1.0])
    with pytest.raises(ValueError, match="observations must have shape"):
        min_trace_psd(A, [1.0, 2.0])
    with pytest.raises(ValueError, match="measurements must have shape"):
        min_trace_psd(np.eye(2), [1.0])
    with pytest.raises(TypeError, match="solver"):
        min_trace_psd(A, [1.0], solver=3)
    with pytest.raises(TypeError, match="observations"):
        min_trace_psd(A, ["a"])
