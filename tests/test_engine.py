import re

import numpy as np
import pytest

import dmfnb as dm


def _runs(n=10, rank=2, counts=(40, 60, 80), scales=(1e-2, 1e-3, 1e-2), depth=3):
    target = dm.low_rank_target((n, n), rank, seed=0)
    problems = [dm.CompletionProblem.random(target, m, seed=i) for i, m in enumerate(counts)]
    factors = [dm.init_factors((n, n), depth, scale=s, seed=10 + i) for i, s in enumerate(scales)]
    return problems, factors


@pytest.mark.parametrize("optimizer,lr", [("gd", 0.3), ("normalized", 1e-2)])
def test_batched_equals_looped(optimizer, lr):
    problems, factors = _runs()
    lrs = np.array([lr, lr, 0.5 * lr])
    kw = dict(steps=3000, optimizer=optimizer, tol=1e-5, record=100, entries=[(0, 0), (2, 3)])
    batched = dm.train(dm.stack_problems(problems), dm.stack_factors(factors), lr=lrs, **kw)
    stops = set()
    for b, (p, f) in enumerate(zip(problems, factors, strict=True)):
        single = dm.train(p, f, lr=lrs[b], **kw)
        stops.add(single.stop_step)
        assert batched.stop_step[b] == single.stop_step
        assert batched.converged[b] == single.converged
        for bf, sf in zip(batched.factors, single.factors, strict=True):
            assert np.allclose(bf[b], sf, rtol=0, atol=1e-12)
        # The single run records its stopping step last; the batch goes on recording the frozen run.
        k = len(single.steps) - 1
        assert np.array_equal(batched.steps[:k], single.steps[:k])
        for name in ("loss", "error", "frobenius", "nuclear", "effective_rank", "singular_values",
                     "entries"):
            ours, theirs = getattr(batched, name)[:, b], getattr(single, name)
            assert np.allclose(ours[:k], theirs[:k], rtol=1e-10, atol=1e-12), name
            assert np.allclose(ours[-1], theirs[-1], rtol=1e-10, atol=1e-12), name
    assert len(stops) > 1 or optimizer == "normalized"  # runs finish at different steps


def _sensing_runs(n=8, counts=(20, 30, 50)):
    target = dm.low_rank_target((n, n), 2, seed=0)
    design = dm.SensingProblem.random(target, max(counts), seed=1).measurements
    targets = [dm.low_rank_target((n, n), 2, seed=s) for s in range(len(counts))]
    return [dm.SensingProblem(t, design[:m]) for t, m in zip(targets, counts, strict=True)]


@pytest.mark.parametrize("kind", ["completion", "sensing", "tensor"])
def test_stack_sheds_stopped_runs_with_the_numbers_of_the_whole_stack(kind, monkeypatch):
    """Runs that reach tol leave the evaluator; every run's numbers stay those it has alone."""
    if kind == "tensor":
        problems = [dm.TensorCompletionProblem.random(dm.cp_target((5, 4, 3), 2, seed=s),
                                                      30 + 5 * s, seed=10 + s) for s in range(3)]
        factors = [dm.init_cp_factors((5, 4, 3), 6, std=0.05, seed=20 + s) for s in range(3)]
        stacked = (dm.stack_tensor_problems(problems), dm.stack_cp_factors(factors))
        cls, kw = dm.TensorCompletionProblem, dict(lr=1e-2, eps=1e-6, tol=1e-5)
    else:
        problems = _runs()[0] if kind == "completion" else _sensing_runs()
        n = problems[0].shape[0]
        factors = [dm.init_factors((n, n), 3, scale=s, seed=10 + i)
                   for i, s in enumerate((1e-2, 1e-3, 1e-2))]
        stacked = (dm.stack_problems(problems), dm.stack_factors(factors))
        cls = type(problems[0])
        kw = dict(lr=1e-2, tol=1e-5 if kind == "completion" else 1e-4)
    taken = []
    take = cls._take
    monkeypatch.setattr(cls, "_take", lambda self, runs: taken.append(len(runs)) or
                        take(self, runs))
    kw.update(steps=4000, optimizer="normalized", record=100)
    batched = dm.train(*stacked, **kw)
    assert len(set(batched.stop_step.tolist())) == 3  # three stops: the stack shed twice
    assert taken == [2, 1]
    # A shared sensing design's products round differently with the stack's composition (a
    # stack against one run: 1.4e-9 apart in float64 before any run is shed, 1.6e-9 after,
    # measured), which the escape from the saddle amplifies.
    exact = dict(rtol=1e-7, atol=1e-8) if kind == "sensing" else dict(rtol=1e-10, atol=1e-12)
    for b, (p, f) in enumerate(zip(problems, factors, strict=True)):
        single = dm.train(p, f, **kw)
        assert batched.stop_step[b] == single.stop_step and batched.converged[b]
        for bf, sf in zip(batched.factors, single.factors, strict=True):
            assert np.allclose(bf[b], sf, **exact)
        k = len(single.steps) - 1  # the single run records its stopping step last
        assert np.array_equal(batched.steps[:k], single.steps[:k])
        for name in ("loss", "error", "frobenius"):
            ours, theirs = getattr(batched, name)[:k, b], getattr(single, name)[:k]
            assert np.allclose(ours, theirs, **exact), name
        # past its stop a run is frozen: the stack's later records repeat its final state
        after = batched.steps >= single.stop_step
        assert after.sum() >= 1
        for name in ("loss", "error", "frobenius"):
            ours, theirs = getattr(batched, name)[after, b], getattr(single, name)[-1]
            assert np.allclose(ours, theirs, **exact), name


def test_same_seed_same_numbers():
    problems, factors = _runs()
    a = dm.train(problems[0], factors[0], lr=0.3, steps=500)
    problems2, factors2 = _runs()
    b = dm.train(problems2[0], factors2[0], lr=0.3, steps=500)
    assert np.array_equal(a.loss, b.loss)
    assert all(np.array_equal(x, y) for x, y in zip(a.factors, b.factors, strict=True))


def test_training_recovers_low_rank_target_and_stops_at_tol():
    problems, factors = _runs(counts=(80,), scales=(1e-3,))
    traj = dm.train(problems[0], factors[0], lr=1e-3, steps=20000, optimizer="normalized", tol=1e-6)
    assert traj.converged and traj.stop_step < 20000
    assert traj.loss[-1] <= 1e-6 and traj.steps[-1] == traj.stop_step
    assert traj.error[-1] < 1e-3
    assert dm.numerical_rank(traj.product) == 2
    assert traj.singular_values.shape == (len(traj.steps), 10)


def test_train_does_not_modify_input_factors():
    problems, factors = _runs()
    before = [f.copy() for f in factors[0]]
    dm.train(problems[0], factors[0], lr=0.3, steps=10)
    assert all(np.array_equal(a, b) for a, b in zip(before, factors[0], strict=True))


def test_record_options():
    problems, factors = _runs()
    assert list(dm.train(problems[0], factors[0], lr=0.1, steps=10, record=5).steps) == [0, 5, 10]
    assert list(dm.train(problems[0], factors[0], lr=0.1, steps=10, record=[0, 3, 99]).steps) == [
        0, 3, 10]
    log = dm.train(problems[0], factors[0], lr=0.1, steps=1000).steps
    assert log[0] == 0 and log[-1] == 1000 and 50 < len(log) <= 202
    kept = dm.train(problems[0], factors[0], lr=0.1, steps=4, record=2, keep_products=True)
    assert kept.products.shape == (3, 10, 10)
    assert np.allclose(kept.products[-1], kept.product)


def test_divergence_is_reported_with_step_and_suggestion():
    problems, _ = _runs()
    start = dm.init_factors((10, 10), 3, scale=1.0, seed=0)
    with pytest.raises(dm.DivergenceError, match=r"diverged at step \d+.*lr=50 .*try lr=") as info:
        dm.train(problems[0], start, lr=50.0, steps=1000)
    # The suggestion is a step that works (lr/10 = 5 diverges too here).
    suggested = float(re.search(r"try lr=([0-9.e+-]+)\.$", str(info.value)).group(1))
    assert suggested < 5.0
    assert dm.train(problems[0], start, lr=suggested, steps=1000).loss[-1] < 1e-3
    stacked_lr = np.array([0.1, 50.0, 0.1])
    with pytest.raises(dm.DivergenceError, match="run 1 of the batch"):
        dm.train(dm.stack_problems(problems), dm.stack_factors(
            [dm.init_factors((10, 10), 3, scale=1.0, seed=s) for s in range(3)]),
            lr=stacked_lr, steps=1000)


def test_divergence_after_a_shed_names_the_run_of_the_stack():
    target = dm.low_rank_target((10, 10), 2, seed=0)
    tiny = dm.CompletionProblem.random(1e-4 * target, 60, seed=1)  # loss ≤ tol at the start
    problems = [tiny, dm.CompletionProblem.random(target, 60, seed=2)]
    factors = dm.stack_factors([dm.init_factors((10, 10), 3, scale=1e-3, seed=s)
                                for s in range(2)])
    with pytest.raises(dm.DivergenceError, match=r"at step [1-9]\d* \(run 1 of the batch\)"):
        dm.train(dm.stack_problems(problems), factors, lr=np.array([1e-3, 1e3]), steps=500,
                 optimizer="normalized", tol=1e-6)


def test_bad_training_inputs():
    problems, factors = _runs()
    p, f = problems[0], factors[0]
    with pytest.raises(ValueError, match="lr must be positive"):
        dm.train(p, f, lr=0.0, steps=1)
    with pytest.raises(ValueError, match="lr must be a number or one per run"):
        dm.train(p, f, lr=[0.1, 0.2], steps=1)
    with pytest.raises(ValueError, match="steps must be a non-negative integer"):
        dm.train(p, f, lr=0.1, steps=1.5)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        dm.train(p, f, lr=0.1, steps=1, optimizer="adam")
    with pytest.raises(ValueError, match="last dimensions must be"):
        dm.train(p, dm.init_factors((10, 9), 2, scale=1.0, seed=0), lr=0.1, steps=1)
    with pytest.raises(ValueError, match="factors are not stacked"):
        dm.train(dm.stack_problems(problems), f, lr=0.1, steps=1)
    with pytest.raises(ValueError, match="entries must be pairs"):
        dm.train(p, f, lr=0.1, steps=1, entries=[(10, 0)])
    with pytest.raises(ValueError, match="tol must be"):
        dm.train(p, f, lr=0.1, steps=1, tol=-1.0)


def test_float32_factors_train_in_float32_and_agree_with_float64():
    problems, factors = _runs(counts=(80,), scales=(1e-2,))
    f32 = [f.astype(np.float32) for f in factors[0]]
    t32 = dm.train(problems[0], f32, lr=0.3, steps=1500)
    t64 = dm.train(problems[0], factors[0], lr=0.3, steps=1500)
    assert all(f.dtype == np.float32 for f in t32.factors)
    assert problems[0].dtype == np.float64  # the caller's problem is left alone
    assert t32.error[-1] == pytest.approx(t64.error[-1], rel=1e-2, abs=1e-4)
    with pytest.raises(ValueError, match="dtype must be a floating type"):
        problems[0].astype(np.int32)
