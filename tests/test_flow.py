"""Gradient flow integrated with error control (dmfnb.flow): it is the limit of gradient descent
as the step shrinks, it reaches gradient descent's solution on the authors' kind of instance, and
it rejects what it cannot integrate."""

import numpy as np
import pytest

import dmfnb as dm


@pytest.fixture(scope="module")
def small():
    target = dm.low_rank_target((8, 8), 2, seed=0)
    problem = dm.CompletionProblem.random(target, 40, seed=1)
    factors = dm.init_factors(problem.shape, 3, scale=0.1, seed=2)
    return problem, factors


def test_flow_is_the_limit_of_gradient_descent(small):
    """GD with step η after T/η steps is O(η) away from the flow at time T: halving η halves the
    gap, and the integrator's own error is far below both."""
    problem, factors = small
    T = 200.0
    W = dm.product(dm.flow(problem, factors, time=T, rtol=1e-10, atol=1e-14).factors)
    gaps = []
    for lr in (0.2, 0.1, 0.05):
        gd = dm.train(problem, factors, lr=lr, steps=int(T / lr), record=[0])
        gaps.append(np.linalg.norm(dm.product(gd.factors) - W) / np.linalg.norm(W))
    assert gaps[0] > gaps[1] > gaps[2] > 0
    assert np.allclose(np.array(gaps[:2]) / np.array(gaps[1:]), 2.0, rtol=0.15), gaps


def test_flow_changes_with_its_tolerance_only_within_it(small):
    problem, factors = small
    tight = dm.product(dm.flow(problem, factors, time=200.0, rtol=1e-10, atol=1e-14).factors)
    loose = dm.flow(problem, factors, time=200.0, rtol=1e-5)
    gap = np.linalg.norm(dm.product(loose.factors) - tight) / np.linalg.norm(tight)
    assert gap < 1e-3
    assert loose.info["evaluations"] == loose.stop_step > 0


def test_flow_stops_at_the_loss_tolerance_and_records_in_order(small):
    problem, factors = small
    tr = dm.flow(problem, factors, time=1e6, tol=1e-8)
    assert tr.converged and tr.loss[-1] <= 1e-8 and tr.info["time"] < 1e6
    # It stops where the loss crosses tol inside the last step, not at that step's end (which
    # overshoots: 9.9969e-9 here, before the crossing was located).
    assert tr.loss[-1] == pytest.approx(1e-8, rel=1e-6)
    assert tr.info["stopped"] == "tol"
    capped = dm.flow(problem, factors, time=1e6, tol=1e-8, max_evaluations=50)
    assert not capped.converged and capped.info["stopped"] == "evaluations"
    assert 50 <= capped.stop_step < 70, "stops within one integrator step of the cap"
    assert dm.flow(problem, factors, time=1.0).info["stopped"] == "time"
    assert tr.time[0] == 0.0 and np.all(np.diff(tr.time) > 0)
    assert np.all(np.diff(tr.steps) >= 0) and tr.steps[-1] == tr.stop_step
    again = dm.flow(problem, factors, time=1e6, tol=1e-8)
    assert np.array_equal(again.loss, tr.loss), "same inputs, same numbers"


def test_flow_follows_gradient_descent_on_the_papers_completion_instance():
    """The normalized step moves along the exact gradient, so it traces the flow's path: both end
    at the same matrix when the loss reaches 1e-6 (40×40 rank 2 here, for speed)."""
    target = dm.low_rank_target((40, 40), 2, seed=3)
    problem = dm.CompletionProblem.random(target, 400, seed=4)
    factors = dm.init_factors(problem.shape, 3, scale=1e-3, seed=5)
    gd = dm.train(problem, factors, lr=1e-3, steps=200_000, optimizer="normalized", tol=1e-6)
    fl = dm.flow(problem, factors, time=1e7, tol=1e-6)
    assert gd.converged and fl.converged
    a, b = dm.product(gd.factors), dm.product(fl.factors)
    assert np.linalg.norm(a - b) / np.linalg.norm(target) < 1e-2
    assert abs(gd.effective_rank[-1] - fl.effective_rank[-1]) < 1e-2


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(time=0.0), ValueError, "positive flow time"),
    (dict(time=1.0, method="euler"), ValueError, "method"),
    (dict(time=1.0, rtol=0.0), ValueError, "rtol"),
    (dict(time=1.0, record=[0.0, 2.0]), ValueError, "increasing flow times"),
    (dict(time=1.0, record=[[0.0]]), ValueError, "increasing flow times"),
    (dict(time=1.0, record="lin"), ValueError, "record"),
    (dict(time=1.0, max_evaluations=0), ValueError, "max_evaluations"),
])
def test_flow_rejects_bad_options(small, kwargs, error, message):
    problem, factors = small
    with pytest.raises(error, match=message):
        dm.flow(problem, factors, **kwargs)


def test_flow_integrates_one_run_at_a_time(small):
    problem, factors = small
    stacked = dm.stack_problems([problem, problem])
    with pytest.raises(ValueError, match="one run"):
        dm.flow(stacked, dm.stack_factors([factors, factors]), time=1.0)
    tensor = dm.TensorCompletionProblem.random(dm.cp_target((3, 3, 3), 1, seed=0), 10, seed=1)
    with pytest.raises(TypeError, match="tensor"):
        dm.flow(tensor, dm.init_cp_factors((3, 3, 3), 2, std=0.1, seed=2), time=1.0)
    with pytest.raises(TypeError):
        dm.flow("not a problem", factors, time=1.0)


def test_rkc_integrates_a_stiff_flow_in_far_fewer_evaluations():
    """The gradient flow of ½Σλ_i y_i² with λ over four decades: RKC (stability interval ≈ 0.65 s²
    for s stages) follows the exact solution to its tolerance in a fraction of the evaluations
    RK45 needs, whose steps are held at 3.3/λ_max; its dense output is accurate too."""
    from scipy.integrate import solve_ivp

    from dmfnb.rkc import RKC, spectral_radius, stability_interval

    assert all(0.6 * s**2 <= stability_interval(s) <= 0.66 * s**2 for s in (10, 50, 200))
    lam = np.geomspace(1e-2, 1e2, 40)

    def grad_flow(_t, y):
        return -lam * y

    y0 = np.ones_like(lam)
    rho, _ = spectral_radius(grad_flow, 0.0, y0, grad_flow(0.0, y0))
    assert rho == pytest.approx(1.2e2, rel=0.02)
    runs = {m: solve_ivp(grad_flow, (0, 300), y0, method=m, rtol=1e-6, atol=1e-12,
                         dense_output=True) for m in ("RK45", RKC)}
    exact = np.exp(-lam * 300)
    assert np.abs(runs[RKC].y[:, -1] - exact).max() <= 1e-6
    assert np.abs(runs[RKC].sol(3.3) - np.exp(-lam * 3.3)).max() <= 1e-6
    assert runs[RKC].nfev * 3 < runs["RK45"].nfev


def test_auto_moves_to_rkc_once_stiff_and_ends_where_rk45_ends():
    """A deep factorization fitted to high precision is stiff: "auto" switches to RKC, takes
    fewer evaluations than RK45 and ends at the same product."""
    target = dm.low_rank_target((10, 10), 2, seed=0)
    problem = dm.CompletionProblem.random(target, 40, seed=1)
    factors = dm.init_factors(problem.shape, 4, scale=0.3, seed=2)
    kw = {"time": 1e6, "tol": 1e-9, "record": [0.0], "rtol": 1e-6}
    rk, auto = (dm.flow(problem, factors, method=m, **kw) for m in ("RK45", "auto"))
    assert rk.converged and auto.converged
    assert rk.info["switched"] == () and auto.info["switched"]
    assert auto.stop_step < rk.stop_step
    W, V = dm.product(rk.factors), dm.product(auto.factors)
    assert np.linalg.norm(W - V) <= 1e-3 * np.linalg.norm(W)


def test_auto_moves_back_to_rk45_when_rkc_costs_more():
    """A converging run can be briefly stiff and still cheaper under RK45 (fifth order, longer
    accurate steps): "auto" tries RKC, measures it dearer per unit of flow time and returns, so
    it stays within 20% of RK45 (staying on RKC cost 37% more on this run)."""
    target = dm.low_rank_target((20, 20), 2, seed=0)
    problem = dm.CompletionProblem.random(target, 100, seed=1)
    factors = dm.init_factors(problem.shape, 3, scale=0.3, seed=2)
    kw = {"time": 1e6, "tol": 1e-6, "record": [0.0], "rtol": 1e-6}
    rk, auto = (dm.flow(problem, factors, method=m, **kw) for m in ("RK45", "auto"))
    assert rk.converged and auto.converged
    times = auto.info["switched"]
    assert len(times) >= 2 and list(times) == sorted(times)
    assert auto.stop_step <= 1.2 * rk.stop_step
