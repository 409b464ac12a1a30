"""Hostile input against the public API (issue 17): every bad value gets a clear TypeError/ValueError
that names the parameter, divergence means divergence, and nothing turns silently into NaN or zeros.

One test per defect named in the issue, then property tests (hypothesis) over the constructors,
``train``'s arguments and the metrics.
"""

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import dmfnb as dm

# Derandomized: the suite is deterministic, and a failure found once is found every time.
EXAMPLES = int(__import__("os").environ.get("DMFNB_HYPOTHESIS_EXAMPLES", "25"))
FAST = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def setup():
    target = dm.low_rank_target((6, 6), 2, seed=0)
    problem = dm.CompletionProblem.random(target, 24, seed=1)
    factors = dm.init_factors((6, 6), 2, scale=1e-2, seed=2)
    return target, problem, factors


def _suggested(exc) -> float:
    return float(re.search(r"try lr=([0-9.e+-]+)\.$", str(exc)).group(1))


# ---- false divergence --------------------------------------------------------------------------


def test_run_started_at_the_solution_does_not_diverge():
    """The normalized step moves a fixed length even at the minimum, so the loss rises from
    round-off (~1e-31) to ~lr²: the old rule (explode × initial loss) called that divergence, and
    lr/10 failed the same way. Measured against ℓ(0) it is a normal run."""
    target = dm.low_rank_target((8, 8), 2, seed=0)
    problem = dm.CompletionProblem.random(target, 40, seed=1)
    start = dm.balanced_factors(target, 2, seed=0)
    for lr in (0.01, 0.001):
        tr = dm.train(problem, start, lr=lr, steps=300, record=1, optimizer="normalized")
        assert tr.loss[0] < 1e-28
        assert tr.loss.max() > 1e6 * tr.loss[0]  # what the old rule called divergence
        assert np.all(np.isfinite(tr.loss)) and tr.loss.max() < problem.loss(np.zeros((8, 8)))


def test_exact_zero_loss_start_does_not_diverge():
    problem = dm.LeastSquaresProblem(2.0 * np.eye(5))
    tr = dm.train(problem, dm.init_factors((5, 5), 3, scale=2.0, kind="identity"), lr=0.05, steps=50)
    assert tr.loss[-1] < 1e-25


def test_genuine_divergence_is_still_caught_and_the_suggestion_works():
    target = dm.low_rank_target((10, 10), 2, seed=0)
    problem = dm.CompletionProblem.random(target, 60, seed=1)
    start = dm.init_factors((10, 10), 3, scale=1.0, seed=0)
    with pytest.raises(dm.DivergenceError, match="diverged at step") as info:
        dm.train(problem, start, lr=50.0, steps=1000)
    lr = _suggested(info.value)
    assert dm.train(problem, start, lr=lr, steps=1000).loss[-1] < 1e-3
    # A deep least-squares run that sharpens on the way: lr/10 would not be enough here.
    ls = dm.LeastSquaresProblem(target)
    small = dm.init_factors((10, 10), 4, scale=1e-2, seed=0)
    with pytest.raises(dm.DivergenceError) as info:
        dm.train(ls, small, lr=0.3, steps=3000)
    tr = dm.train(ls, small, lr=_suggested(info.value), steps=3000)
    assert np.all(np.isfinite(tr.loss)) and tr.loss[-1] < tr.loss[0]


def test_explode_inf_still_catches_non_finite_losses(setup):
    _, problem, _ = setup
    start = dm.init_factors((6, 6), 3, scale=1.0, seed=0)
    with pytest.raises(dm.DivergenceError, match="not finite"):
        dm.train(problem, start, lr=1e3, steps=200, explode=np.inf)


# ---- bad data blamed on the step ---------------------------------------------------------------


def test_nan_measurements_are_refused_up_front():
    target = dm.low_rank_target((4, 4), 1, seed=0)
    A = np.random.default_rng(0).standard_normal((5, 4, 4))
    A[2, 1, 1] = np.nan
    with pytest.raises(ValueError, match="measurements contains NaN"):
        dm.SensingProblem(target, A)


def test_alpha_one_and_bad_explode_and_eps(setup):
    _, p, f = setup
    for kw, name in [({"alpha": 1.0}, "alpha"), ({"alpha": -0.1}, "alpha"),
                     ({"explode": 0.0}, "explode"), ({"explode": -1.0}, "explode"),
                     ({"explode": 1.0}, "explode"), ({"eps": 0.0}, "eps"),
                     ({"alpha": np.nan}, "alpha")]:
        with pytest.raises(ValueError, match=name):
            dm.train(p, f, lr=0.1, steps=5, optimizer="normalized", **kw)


def test_non_psd_covariance_is_refused():
    target = np.eye(3)
    with pytest.raises(ValueError, match="input_covariance must be positive semidefinite"):
        dm.LeastSquaresProblem(target, np.diag([1.0, -0.5, 1.0]))
    with pytest.raises(ValueError, match="input_covariance must be symmetric"):
        dm.LeastSquaresProblem(target, 1e-12 * np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1.0]]))
    with pytest.raises(ValueError, match="input_covariance is a stack"):
        dm.LeastSquaresProblem(target, np.stack([np.eye(3)] * 2))


def test_nan_factors_are_refused_not_called_divergence(setup):
    _, p, f = setup
    bad = [f[0].copy(), f[1]]
    bad[0][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"factors\[0\] contains NaN"):
        dm.train(p, bad, lr=0.1, steps=5)


# ---- degenerate data ---------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [0.0, 1e-200, 1e200])
def test_zero_underflowing_or_overflowing_target(scale):
    target = scale * np.ones((3, 3))
    for make in (lambda: dm.CompletionProblem(target, np.ones((3, 3), bool)),
                 lambda: dm.LeastSquaresProblem(target),
                 lambda: dm.SensingProblem(target, np.ones((2, 3, 3)))):
        with pytest.raises(ValueError, match="target has squared Frobenius norm"):
            make()
    with pytest.raises(ValueError, match=r"target \(problem 1 of the stack\)"):
        dm.LeastSquaresProblem(np.stack([np.ones((3, 3)), target]))


def test_target_that_underflows_in_float32_is_refused_by_astype():
    problem = dm.LeastSquaresProblem(1e-30 * np.ones((3, 3)))
    with pytest.raises(ValueError, match="float32"):
        problem.astype(np.float32)


def test_sensing_without_measurements():
    with pytest.raises(ValueError, match="measurements is empty"):
        dm.SensingProblem(np.ones((3, 3)), np.zeros((0, 3, 3)))
    with pytest.raises(ValueError, match="weights must be non-negative and sum to 1"):
        dm.SensingProblem(np.ones((3, 3)), np.ones((2, 3, 3)), weights=[0.5, 0.6])
    with pytest.raises(ValueError, match="num_observed"):
        dm.SensingProblem.random(np.ones((3, 3)), 0, seed=0)


# ---- types and dtypes --------------------------------------------------------------------------


def test_integer_and_float16_dtypes_are_refused():
    with pytest.raises(ValueError, match="dtype must be a floating type, float32 or float64"):
        dm.init_factors((3, 3), 2, scale=1e-3, dtype=int)
    with pytest.raises(ValueError, match="dtype"):
        dm.init_factors((3, 3), 2, scale=1e-3, dtype=np.float16)
    with pytest.raises(TypeError, match="dtype"):
        dm.init_factors((3, 3), 2, scale=1e-3, dtype="nonsense")
    with pytest.raises(ValueError, match="dtype"):
        dm.CompletionProblem(np.ones((2, 2)), np.ones((2, 2), bool)).astype(np.float16)
    f16 = [f.astype(np.float16) for f in dm.init_factors((3, 3), 2, scale=1e-1, seed=0)]
    with pytest.raises(TypeError, match=r"factors\[0\] has dtype float16"):
        dm.train(dm.LeastSquaresProblem(np.eye(3)), f16, lr=0.1, steps=2)
    # float16 *data* converts exactly to float64 and works.
    p = dm.LeastSquaresProblem(np.eye(3, dtype=np.float16))
    assert p.dtype == np.float64 and p.reconstruction_error(np.zeros((3, 3))) == 1.0


def test_scale_underflowing_in_float32_is_refused():
    with pytest.raises(ValueError, match="scale"):
        dm.init_factors((3, 3), 1, scale=1e-60, dtype=np.float32)


def test_float_shapes_are_refused_not_truncated():
    for bad in [(10.5, 10), (10.0, 10), (3,), "33", (3, -1), (True, 3)]:
        with pytest.raises((TypeError, ValueError), match="shape must be a pair"):
            dm.init_factors(bad, 2, scale=1e-3)
        with pytest.raises((TypeError, ValueError), match="shape must be a pair"):
            dm.low_rank_target(bad, 1, seed=0)
    with pytest.raises(ValueError, match="rank"):
        dm.low_rank_target((4, 4), 1.5, seed=0)
    with pytest.raises(ValueError, match="depth"):
        dm.init_factors((4, 4), 2.0, scale=1e-3)


def test_wrong_typed_train_arguments(setup):
    _, p, f = setup
    cases = [
        ({"tol": "x"}, TypeError, "tol must be"),
        ({"lr": "x"}, TypeError, "lr must be"),
        ({"lr": None}, TypeError, "lr must be"),
        ({"entries": (1, 2)}, TypeError, "entries must be pairs"),
        ({"entries": [(1.5, 2)]}, ValueError, "entries must be pairs"),
        ({"entries": "ab"}, TypeError, "entries must be pairs"),
        ({"entries": None}, TypeError, "entries must be pairs"),
        ({"top_k": 0}, ValueError, "top_k"),
        ({"top_k": "3"}, TypeError, "top_k"),
        ({"record": 1.5}, ValueError, "record"),
        ({"record": [1.5, 3]}, ValueError, "record"),
        ({"record": None}, TypeError, "record"),
        ({"record": ["a"]}, TypeError, "record"),
        ({"steps": "10"}, TypeError, "steps"),
        ({"steps": -1}, ValueError, "steps"),
        ({"optimizer": ["gd"]}, TypeError, "optimizer"),
        ({"keep_products": "yes"}, TypeError, "keep_products"),
        ({"explode": "big"}, TypeError, "explode"),
    ]
    for kw, exc, msg in cases:
        args = {"lr": 0.1, "steps": 3, **kw}
        with pytest.raises(exc, match=msg):
            dm.train(p, f, **args)
    with pytest.raises(TypeError, match="problem must be a problem"):
        dm.train(np.eye(6), f, lr=0.1, steps=3)
    with pytest.raises(TypeError, match="factors must be a non-empty list"):
        dm.train(p, np.eye(6), lr=0.1, steps=3)
    with pytest.raises(TypeError, match="factors mix dtypes"):
        dm.train(p, [f[0].astype(np.float32), f[1]], lr=0.1, steps=3)


def test_wrong_typed_constructor_arguments():
    t = np.ones((3, 3))
    with pytest.raises(TypeError, match="target must"):
        dm.CompletionProblem("abc", np.ones((3, 3), bool))
    with pytest.raises(ValueError, match="target must"):
        dm.CompletionProblem([[1, 2], [3]], np.ones((2, 2), bool))
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        dm.CompletionProblem(t, None)
    with pytest.raises(ValueError, match="mask must hold booleans"):
        dm.CompletionProblem(t, np.full((3, 3), 0.5))
    with pytest.raises(TypeError, match="seed"):
        dm.CompletionProblem.random(t, 3, seed="x")
    with pytest.raises(ValueError, match="seed"):
        dm.SensingProblem.random(t, 3, seed=-1)
    with pytest.raises(TypeError, match="measurements must hold real numbers"):
        dm.SensingProblem(t, np.ones((2, 3, 3), complex))
    with pytest.raises(TypeError, match=r"problems\[1\] must be a problem"):
        dm.stack_problems([dm.LeastSquaresProblem(t), np.eye(3)])
    with pytest.raises(TypeError, match="problems must be a list"):
        dm.stack_problems(dm.LeastSquaresProblem(t))
    with pytest.raises(TypeError, match="scale"):
        dm.init_factors((3, 3), 2, scale="1e-3")
    with pytest.raises(TypeError, match="kind"):
        dm.init_factors((3, 3), 2, scale=1e-3, kind=None)
    with pytest.raises(TypeError, match="symmetric"):
        dm.low_rank_target((3, 3), 1, seed=0, symmetric="no")
    with pytest.raises(TypeError, match="runs must be"):
        dm.stack_factors(np.ones((2, 3, 3)))


def test_other_public_functions_name_their_parameter(setup):
    _, p, f = setup
    with pytest.raises(TypeError, match="problem must be a problem"):
        dm.gradients(np.eye(6), f)
    with pytest.raises(TypeError, match="p must be"):
        dm.schatten(np.eye(3), "x")
    with pytest.raises(ValueError, match="rtol"):
        dm.numerical_rank(np.eye(3), rtol=-1.0)
    with pytest.raises(ValueError, match="singular_values"):
        dm.effective_rank(None, singular_values=[1.0, np.nan])
    with pytest.raises(TypeError, match="tol must be"):
        dm.min_nuclear_norm(p, "x")
    with pytest.raises(TypeError, match="solvers must be"):
        dm.min_nuclear_norm(p, solvers=(1,))
    with pytest.raises(TypeError, match="relax"):
        dm.admm_nuclear_norm(p, relax="x")
    with pytest.raises(TypeError, match="uf"):
        dm.mode_time(1.0, 0.1, "x", 2)
    with pytest.raises(TypeError, match="t must be"):
        dm.saxe_mode("x", 1.0, 0.1)
    with pytest.raises(TypeError, match="depth"):
        dm.mode_rate(0.5, 1.0, "2")
    with pytest.raises(TypeError, match="k must be"):
        dm.hessian_eigs(np.eye(3), k=True)
    with pytest.raises(ValueError, match="which"):
        dm.hessian_eigs(np.eye(3), which="middle")
    with pytest.raises(ValueError, match="H must be symmetric"):
        dm.hessian_eigs(np.triu(np.ones((3, 3))))
    with pytest.raises(ValueError, match="last dimensions"):
        dm.factor_hessian(dm.LeastSquaresProblem(np.eye(3)), dm.init_factors((4, 4), 2, scale=1.0))
    with pytest.raises(TypeError, match="problem must be a problem"):
        dm.greedy_low_rank("problem", lr=0.1)
    with pytest.raises(TypeError, match="seed"):
        dm.symmetric_mask(4, 2, seed="x")
    with pytest.raises(TypeError, match="strength"):
        dm.escape_time("x", 0.1)
    with pytest.raises(TypeError, match="noise"):
        dm.synthetic_regression([1.0], noise="x")
    with pytest.raises(TypeError, match="modes must be"):
        dm.mode_amplitudes(np.eye(2), None)
    reg = dm.synthetic_regression([1.0, 0.5], seed=0)
    with pytest.raises(ValueError, match="features per sample"):
        reg.predict(reg.target, np.ones((3, 5)))
    with pytest.raises(ValueError, match="max_rank"):
        dm.reduced_rank_path(reg, max_rank=7)


def test_gradients_with_float32_factors_on_a_float64_problem(setup):
    _, p, f = setup
    f32 = [x.astype(np.float32) for x in f]
    _, grads = dm.gradients(p, f32)
    _, grads64 = dm.gradients(p, f)
    assert all(g.dtype == np.float32 for g in grads)
    assert np.allclose(grads[0], grads64[0], rtol=1e-3, atol=1e-6)


def test_balancedness_of_a_zero_factor_is_finite():
    assert dm.balancedness([np.zeros((2, 2)), np.zeros((2, 2))]) == 0.0
    assert np.isfinite(dm.balancedness([np.zeros((2, 2)), np.eye(2)]))


# ---- properties --------------------------------------------------------------------------------

JUNK = st.one_of(
    st.none(), st.text(max_size=3), st.booleans(), st.complex_numbers(max_magnitude=10),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-3, 8),
    st.lists(st.integers(-2, 4), max_size=3),
)
DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.bool_, np.complex128])


def _elements(dtype):
    dt = np.dtype(dtype)
    if dt.kind == "f":  # moderate values, and the non-finite ones the checks must catch
        return st.one_of(st.floats(-100, 100, width=8 * dt.itemsize),
                         st.sampled_from([np.nan, np.inf, -np.inf]))
    if dt.kind in "iu":
        return st.integers(-100, 100)
    return None


def _arrays(max_dims=4):
    shapes = hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=4)
    return DTYPES.flatmap(lambda dt: hnp.arrays(dt, shapes, elements=_elements(dt)))


def _clear(exc: Exception, *names: str) -> None:
    assert isinstance(exc, (TypeError, ValueError)), repr(exc)
    assert any(n in str(exc) for n in names), str(exc)


@FAST
@given(target=_arrays(), mask=_arrays())
def test_property_completion_problem(target, mask):
    try:
        p = dm.CompletionProblem(target, mask)
    except Exception as exc:  # the point: which exceptions escape
        _clear(exc, "target", "mask")
        return
    zero = np.zeros(p.target.shape)
    assert np.all(np.isfinite(p.loss(zero)))
    assert np.allclose(p.reconstruction_error(zero), 1.0)


@FAST
@given(target=_arrays(3), measurements=_arrays(4))
def test_property_sensing_problem(target, measurements):
    try:
        p = dm.SensingProblem(target, measurements)
    except Exception as exc:
        _clear(exc, "target", "measurements")
        return
    zero = np.zeros(p.target.shape)
    assert np.all(np.isfinite(p.loss(zero))) and np.all(np.isfinite(p.gradient(zero)))


@FAST
@given(target=_arrays(3), cov=st.one_of(st.none(), _arrays(3)))
def test_property_least_squares_problem(target, cov):
    try:
        p = dm.LeastSquaresProblem(target, cov)
    except Exception as exc:
        _clear(exc, "target", "input_covariance")
        return
    zero = np.zeros(p.target.shape)
    assert np.all(np.isfinite(p.loss(zero))) and np.all(np.asarray(p.loss(zero)) >= 0)


@FAST
@given(shape=st.one_of(JUNK, st.tuples(JUNK, JUNK), st.tuples(st.integers(-1, 4), st.integers(-1, 4))),
       depth=st.one_of(JUNK, st.integers(1, 3)), scale=st.one_of(JUNK, st.floats(1e-3, 1.0)),
       kind=st.one_of(JUNK, st.sampled_from(["gaussian", "balanced", "identity", "orthogonal"])),
       dtype=st.one_of(DTYPES, st.just("x")))
def test_property_init_factors(shape, depth, scale, kind, dtype):
    try:
        fs = dm.init_factors(shape, depth, scale=scale, kind=kind, dtype=dtype, seed=0)
    except Exception as exc:
        _clear(exc, "shape", "depth", "scale", "kind", "dtype")
        return
    assert len(fs) == depth and all(f.dtype == np.dtype(dtype) for f in fs)
    assert all(np.all(np.isfinite(f)) for f in fs) and dm.product(fs).shape == tuple(shape)


@FAST
@given(W=_arrays(3), depth=st.one_of(JUNK, st.integers(1, 3)))
def test_property_balanced_factors(W, depth):
    try:
        fs = dm.balanced_factors(W, depth, seed=0)
    except Exception as exc:
        _clear(exc, "W", "depth")
        return
    W = np.asarray(W, dtype=float)
    assert np.allclose(dm.product(fs), W, atol=1e-8 * (1 + np.abs(W).max()))


@FAST
@given(shape=st.one_of(JUNK, st.tuples(st.integers(-1, 5), st.integers(-1, 5))),
       rank=st.one_of(JUNK, st.integers(1, 5)), seed=st.one_of(JUNK, st.integers(0, 9)))
def test_property_low_rank_target(shape, rank, seed):
    try:
        t = dm.low_rank_target(shape, rank, seed=seed)
    except Exception as exc:
        _clear(exc, "shape", "rank", "seed")
        return
    assert np.all(np.isfinite(t)) and np.linalg.matrix_rank(t) == rank


TRAIN_ARGS = st.fixed_dictionaries({}, optional={
    "lr": st.one_of(JUNK, st.floats(1e-3, 0.5)),
    "steps": st.one_of(JUNK, st.integers(0, 5)),
    "tol": st.one_of(JUNK, st.floats(0, 1)),
    "optimizer": st.one_of(JUNK, st.sampled_from(["gd", "normalized"])),
    "record": st.one_of(JUNK, st.just("log"), st.lists(st.floats(-1, 6), max_size=3)),
    "top_k": JUNK,
    "entries": st.one_of(JUNK, st.lists(st.tuples(st.integers(-1, 6), st.integers(0, 6)), max_size=2)),
    "alpha": st.one_of(JUNK, st.floats(0, 0.999)),
    "eps": JUNK,
    "explode": st.one_of(JUNK, st.floats(-1, 1e9)),
    "keep_products": JUNK,
})


@settings(max_examples=2 * EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(args=TRAIN_ARGS)
def test_property_train_arguments(setup, args):
    _, p, f = setup
    kwargs = {"lr": 0.1, "steps": 3, **args}
    try:
        tr = dm.train(p, f, **kwargs)
    except dm.DivergenceError:
        return  # a valid but too-large step: reported as such
    except Exception as exc:
        _clear(exc, *args)
        return
    assert np.all(np.isfinite(tr.loss)) and np.all(np.isfinite(tr.error))


@FAST
@given(W=_arrays(4), p=st.one_of(JUNK, st.floats(0.1, 3)))
def test_property_metrics(W, p):
    for fn in (dm.effective_rank, dm.nuclear_norm, dm.numerical_rank, lambda x: dm.schatten(x, p)):
        try:
            out = fn(W)
        except Exception as exc:
            _clear(exc, "W", "p must")
            continue
        assert np.all(np.isfinite(out)) and np.all(np.asarray(out) >= 0)
