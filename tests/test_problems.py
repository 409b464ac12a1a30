import numpy as np
import pytest
from conftest import PROBLEM_KINDS, make_problem

import dmfnb as dm


def test_low_rank_target_rms_one_and_rank():
    W = dm.low_rank_target((100, 100), 5, seed=0)
    assert np.linalg.norm(W) == pytest.approx(100.0)
    assert np.linalg.matrix_rank(W) == 5
    assert np.array_equal(W, dm.low_rank_target((100, 100), 5, seed=0))
    S = dm.low_rank_target((6, 6), 2, seed=1, symmetric=True)
    assert np.allclose(S, S.T) and np.linalg.eigvalsh(S).min() > -1e-10


@pytest.mark.parametrize("kind", PROBLEM_KINDS)
def test_gradient_matches_finite_differences(kind, target):
    problem = make_problem(kind, target)
    rng = np.random.default_rng(0)
    W, D = rng.standard_normal((2, *target.shape))
    h = 1e-6
    fd = (problem.loss(W + h * D) - problem.loss(W - h * D)) / (2 * h)
    assert np.vdot(problem.gradient(W), D) == pytest.approx(fd, rel=1e-7)


@pytest.mark.parametrize("kind", PROBLEM_KINDS)
def test_stack_of_matrices_equals_one_by_one(kind, target):
    problem = make_problem(kind, target)
    Ws = np.random.default_rng(0).standard_normal((3, *target.shape))
    losses = problem.loss(Ws)
    grads = problem.gradient(Ws)
    for b in range(3):
        assert losses[b] == pytest.approx(problem.loss(Ws[b]), rel=1e-13)
        assert np.allclose(grads[b], problem.gradient(Ws[b]), rtol=1e-13, atol=0)


@pytest.mark.parametrize("kind", [*PROBLEM_KINDS, "shared_covariance", "shared_design",
                                  "regression"])
def test_taking_runs_of_a_stack_keeps_their_problems(kind, target):
    """``_take`` (the engine's shedding) keeps each run's problem and what the stack shares."""
    n, m = target.shape
    rng = np.random.default_rng(0)
    targets = [target * (1 + s) for s in range(4)]
    if kind == "shared_covariance":  # one (m, m) covariance for a stack of m runs
        X = rng.standard_normal((30, m))
        stack = dm.LeastSquaresProblem(np.stack([target] * m), X.T @ X / 30)
    elif kind == "shared_design":
        design = dm.SensingProblem.random(target, 20, seed=1).measurements
        stack = dm.stack_problems([dm.SensingProblem(t, design[:10 + 3 * b])
                                   for b, t in enumerate(targets)])
        assert stack.shared
    elif kind == "regression":
        stack = dm.stack_problems([dm.RegressionProblem(rng.standard_normal((12, m)),
                                                        rng.standard_normal((12, n)))
                                   for _ in range(4)])
    else:
        stack = dm.stack_problems([make_problem(kind, t, seed=s)
                                   for s, t in enumerate(targets)])
    runs = np.array([1, 3])
    part = stack._take(runs)
    assert part.batch == 2 and type(part) is type(stack)
    Ws = rng.standard_normal((stack.batch, n, m))
    loss, grad = stack.loss_and_gradient(Ws)
    loss2, grad2 = part.loss_and_gradient(Ws[runs])
    assert np.allclose(loss2, loss[runs], rtol=1e-13)
    assert np.allclose(grad2, grad[runs], rtol=1e-13, atol=1e-15)
    assert np.allclose(part.reconstruction_error(Ws[runs]),
                       stack.reconstruction_error(Ws)[runs], rtol=1e-13)
    if kind == "shared_design":
        assert part.measurements is stack.measurements  # shared, not copied


@pytest.mark.parametrize("kind", PROBLEM_KINDS)
def test_stacked_problems_equal_single_problems(kind, target):
    problems = [make_problem(kind, target, seed=s) for s in (1, 2, 3)]
    stacked = dm.stack_problems(problems)
    Ws = np.random.default_rng(0).standard_normal((3, *target.shape))
    assert stacked.batch == 3
    for b, p in enumerate(problems):
        assert stacked.loss(Ws)[b] == pytest.approx(p.loss(Ws[b]), rel=1e-13)
        assert np.allclose(stacked.gradient(Ws)[b], p.gradient(Ws[b]), rtol=1e-13, atol=1e-15)


def test_loss_conventions(target):
    W = np.zeros_like(target)
    comp = dm.CompletionProblem.random(target, 20, seed=1)
    observed = target[comp.mask]
    assert comp.loss(W) == pytest.approx(np.mean(observed**2))  # mean, no ½
    assert dm.LeastSquaresProblem(target).loss(W) == pytest.approx(0.5 * np.sum(target**2))
    sens = dm.SensingProblem.random(target, 20, seed=1)
    assert sens.loss(W) == pytest.approx(np.mean(sens.observations**2))
    for p in (comp, sens):
        assert p.reconstruction_error(W) == pytest.approx(1.0)
        assert p.reconstruction_error(target) == 0.0
    assert comp.num_observed == 20 and comp.zero_fill_error() == pytest.approx(
        1 - np.sum(observed**2) / np.sum(target**2))


def test_sensing_stack_with_different_counts(target):
    a = dm.SensingProblem.random(target, 10, seed=1)
    b = dm.SensingProblem.random(target, 25, seed=2)
    stacked = dm.stack_problems([a, b])
    W = np.random.default_rng(3).standard_normal((2, *target.shape))
    assert np.allclose(stacked.loss(W), [a.loss(W[0]), b.loss(W[1])], rtol=1e-13)
    assert list(stacked.num_observed) == [10, 25]


def test_sensing_stack_shares_a_nested_design(target):
    """Problems measured by the first k_b of one design stack without copying it, and the shared
    stack gives the numbers of the per-problem stack (and of the single problems)."""
    design = dm.SensingProblem.random(target, 25, seed=1).measurements
    targets = [target, 2.0 * target, target[::-1].copy()]
    probs = [dm.SensingProblem(t, design[:k]) for t, k in zip(targets, (10, 25, 17), strict=True)]
    shared = dm.stack_problems(probs)
    assert shared.shared and np.shares_memory(shared.measurements, design)
    # The same problems with their own copies of the matrices: the padded per-problem stack.
    copies = dm.stack_problems([dm.SensingProblem(p.target, p.measurements.copy()) for p in probs])
    assert not copies.shared and copies.measurements.shape == (3, 25, *target.shape)
    W = np.random.default_rng(3).standard_normal((3, *target.shape))
    (l1, g1), (l2, g2) = shared.loss_and_gradient(W), copies.loss_and_gradient(W)
    assert np.allclose(l1, l2, rtol=1e-13) and np.allclose(g1, g2, rtol=1e-12, atol=1e-14)
    for b, p in enumerate(probs):
        assert l1[b] == pytest.approx(p.loss(W[b]), rel=1e-13)
        assert np.allclose(g1[b], p.gradient(W[b]), rtol=1e-12, atol=1e-14)
    assert list(shared.num_observed) == [10, 25, 17]
    # float32 keeps the sharing; the same dtype is no copy at all
    single = shared.astype(np.float32)
    assert single.shared and single.measurements.dtype == np.float32
    assert shared.astype(np.float64) is shared
    # a view that is not a prefix (rows 1..10) is not mistaken for one
    other = dm.SensingProblem(target, design[1:11])
    assert not dm.stack_problems([probs[1], other]).shared


@pytest.mark.parametrize("runs", [1, 3, 4, 6, 9])
@pytest.mark.parametrize("compiled", [True, False])
def test_shared_sensing_stack_in_one_pass(target, monkeypatch, runs, compiled):
    """A shared operator's rows go four at a time, four runs at a time (dmfnb.sensing_pass), and
    runs that have used all their measurements leave the pass: with any number of runs, rows
    that are not a multiple of four, any order of the runs and an ``out`` array, every run's
    loss and gradient are those of its own problem; the same without numba (two products)."""
    import dmfnb.sensing_pass
    if not compiled:
        monkeypatch.setattr(dmfnb.sensing_pass, "sensing_products", lambda *args: False)
    design = dm.SensingProblem.random(target, 30, seed=1).measurements
    counts = (3, 30, 11, 3, 17, 29, 1, 30, 6)[:runs]  # unsorted; some done after four rows
    scales = (1.0, 2.0, -1.0, 0.5, 3.0, -2.0, 1.5, 0.25, 4.0)[:runs]
    probs = [dm.SensingProblem(s * target, design[:k])
             for s, k in zip(scales, counts, strict=True)]
    shared = dm.stack_problems(probs)
    assert shared.shared
    W = np.random.default_rng(3).standard_normal((len(probs), *target.shape))
    out = np.full_like(W, np.nan)
    loss, grad = shared.loss_and_gradient(W, out=out)
    assert grad is out
    for b, p in enumerate(probs):
        assert loss[b] == pytest.approx(p.loss(W[b]), rel=1e-13)
        assert np.allclose(grad[b], p.gradient(W[b]), rtol=1e-12, atol=1e-14)
    # float32 sums in float32: the float64 numbers to float32's precision
    single = shared.astype(np.float32)
    loss32, grad32 = single.loss_and_gradient(W.astype(np.float32))
    assert loss32.dtype == grad32.dtype == np.float32
    assert np.allclose(loss32, loss, rtol=1e-5)
    assert np.allclose(grad32, grad, rtol=1e-4, atol=1e-5 * np.abs(grad).max())
    # an overflow is not hidden: the engine sees it as divergence
    with np.errstate(over="ignore", invalid="ignore"):
        overflow = shared.loss_and_gradient(np.full_like(W, 1e300))[0]
    assert not np.isfinite(overflow).any()


def test_bad_inputs_raise_clear_errors(target):
    comp = dm.CompletionProblem.random(target, 20, seed=1)
    with pytest.raises(ValueError, match="last dimensions must be"):
        comp.loss(np.zeros((5, 7)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        comp.loss(np.full(target.shape, np.nan))
    with pytest.raises(ValueError, match="shape"):
        comp.loss(np.zeros(5))
    with pytest.raises(ValueError, match="mask has shape"):
        dm.CompletionProblem(target, np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="observes no entry"):
        dm.CompletionProblem(target, np.zeros(target.shape, bool))
    with pytest.raises(ValueError, match="num_observed=100 exceeds"):
        dm.CompletionProblem.random(target, 100, seed=0)
    with pytest.raises(ValueError, match="num_observed must be a positive integer"):
        dm.SensingProblem.random(target, 0, seed=0)
    with pytest.raises(ValueError, match="measurements must have shape"):
        dm.SensingProblem(target, np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="input_covariance"):
        dm.LeastSquaresProblem(target, np.eye(3))
    with pytest.raises(TypeError, match="stack problems of one kind"):
        dm.stack_problems([comp, dm.LeastSquaresProblem(target)])
    with pytest.raises(ValueError, match="rank=9 exceeds"):
        dm.low_rank_target((4, 4), 9, seed=0)
    with pytest.raises(ValueError, match="shape must be a pair"):
        dm.low_rank_target((4, 0), 1, seed=0)
    stacked = dm.stack_problems([comp, comp])
    with pytest.raises(ValueError, match="stack of 3 matrices"):
        stacked.loss(np.zeros((3, *target.shape)))
