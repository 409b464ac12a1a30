"""The compiled GD steps (dmfnb.compiled) against the numpy loop they stand in for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dmfnb as dm
from dmfnb import compiled, engine


def _train(fast: bool, monkeypatch, *args, **kwargs):
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(engine, "gd_stepper", lambda *a: None)
        return dm.train(*args, **kwargs)


def _close(a, b, rtol, loss_atol=0.0):
    assert np.array_equal(a.steps, b.steps)
    assert np.array_equal(np.asarray(a.stop_step), np.asarray(b.stop_step))
    for fa, fb in zip(a.factors, b.factors, strict=True):
        np.testing.assert_allclose(fa, fb, rtol=rtol, atol=0)
    np.testing.assert_allclose(a.loss, b.loss, rtol=rtol, atol=loss_atol)


def _norms_problem():
    return dm.CompletionProblem(np.array([[0.0, 1.0], [1.0, 0.0]]),
                                np.array([[False, True], [True, True]]))


def test_the_stepper_applies_where_it_should():
    small = dm.init_factors((2, 2), 3, scale=1e-2, seed=0)
    bp = dm.factors.Backprop(_norms_problem(), small)
    assert compiled.gd_stepper(_norms_problem(), small, bp, np) is not None
    # a sensing problem, one factor, and a stack too large for the compiled loops: numpy
    sensing = dm.SensingProblem.random(dm.low_rank_target((2, 2), 1, seed=0), 3, seed=1)
    assert compiled.gd_stepper(sensing, small, dm.factors.Backprop(sensing, small), np) is None
    one = [np.eye(2)]
    assert compiled.gd_stepper(_norms_problem(), one, dm.factors.Backprop(_norms_problem(), one),
                               np) is None
    big = dm.init_factors((40, 40), 3, scale=1e-2, seed=0)
    target = dm.low_rank_target((40, 40), 2, seed=0)
    problem = dm.CompletionProblem.random(target, 800, seed=1)
    assert compiled.gd_stepper(problem, big, dm.factors.Backprop(problem, big), np) is None


def test_norms_runs_match_the_numpy_loop_and_stop_at_the_same_step(monkeypatch):
    # the norms chapter's case: 2×2, depth 3, four seeds stacked, stopping at tol
    problem = dm.stack_problems([_norms_problem()] * 4)
    fs = dm.stack_factors([dm.init_factors((2, 2), 3, scale=5e-2, seed=s) for s in range(4)])
    # Three runs stop at tol (steps 151, 261, 1752), the fourth runs to the cap: it would then
    # pass a saddle (steps 1.5e4–3.3e4) where rounding alone moves the loss by 1e-3 relative,
    # in the numpy loop too (a 1e-16 relative change of the init does that; measured).
    kw = dict(lr=0.05, steps=12_000, tol=1e-4, record="log", entries=[(0, 0)])
    a, b = _train(True, monkeypatch, problem, fs, **kw), _train(False, monkeypatch, problem, fs, **kw)
    assert np.sum(a.converged) == 3 and len(set(np.asarray(a.stop_step).tolist())) == 4
    _close(a, b, rtol=1e-10)
    np.testing.assert_allclose(a.entries, b.entries, rtol=1e-10)


# float32: a loss 3e-9 of its start is a difference of nearly equal numbers, known to about
# eps₃₂·ℓ(0); the factors themselves agree to 2e-4.
@pytest.mark.parametrize("dtype, rtol, loss_atol", [(np.float64, 1e-11, 0.0), (np.float32, 2e-4, 1e-9)])
def test_least_squares_and_rectangular_factors_match(monkeypatch, dtype, rtol, loss_atol):
    target = dm.low_rank_target((5, 4), 2, seed=3).astype(dtype)
    problem = dm.LeastSquaresProblem(target)
    # W = W₃W₂W₁ with W₁: 4→3, W₂: 3→6, W₃: 6→5
    rng = np.random.default_rng(0)
    fs = [(0.3 * rng.standard_normal(s)).astype(dtype) for s in ((3, 4), (6, 3), (5, 6))]
    kw = dict(lr=0.05, steps=3000, record=100)
    a, b = _train(True, monkeypatch, problem, fs, **kw), _train(False, monkeypatch, problem, fs, **kw)
    assert a.factors[0].dtype == dtype
    _close(a, b, rtol=rtol, loss_atol=loss_atol * a.loss[0])


def test_divergence_is_reported_at_the_same_step(monkeypatch):
    fs = dm.init_factors((2, 2), 2, scale=1.0, seed=0)
    errors = []
    for fast in (True, False):
        with pytest.raises(dm.DivergenceError) as err:
            _train(fast, monkeypatch, _norms_problem(), fs, lr=50.0, steps=1000, record=[0])
        errors.append(str(err.value))
    assert errors[0] == errors[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 6), depth=st.integers(2, 4), runs=st.integers(1, 3),
       seed=st.integers(0, 10_000), steps=st.integers(0, 300))
def test_any_small_completion_matches(monkeypatch, n, depth, runs, seed, steps):
    rng = np.random.default_rng(seed)
    targets = rng.standard_normal((runs, n, n))
    masks = rng.random((runs, n, n)) < 0.6
    masks[:, 0, 0] = True
    problem = dm.CompletionProblem(targets, masks)
    fs = dm.stack_factors([dm.init_factors((n, n), depth, scale=0.3, seed=[seed, b])
                           for b in range(runs)])
    kw = dict(lr=0.02, steps=steps, record=7, tol=1e-3)
    a, b = _train(True, monkeypatch, problem, fs, **kw), _train(False, monkeypatch, problem, fs, **kw)
    _close(a, b, rtol=1e-10)
