"""The CP tensor factorization model (dmfnb/tensors.py) and its component-norm law."""

import numpy as np
import pytest

import dmfnb as dm
from dmfnb import tensors as T
from dmfnb.theory import tensor_dynamics as td


@pytest.fixture()
def small():
    target = dm.cp_target((4, 5, 3), 2, seed=0)
    problem = dm.TensorCompletionProblem.random(target, 30, seed=1)
    factors = dm.init_cp_factors(problem.shape, 6, std=0.5, seed=2)
    return problem, factors


def test_target_and_product():
    W = dm.cp_target((3, 4, 5), 2, seed=0, norm=2.0)
    assert W.shape == (3, 4, 5) and np.isclose(np.linalg.norm(W), 2.0)
    a, b = np.arange(6.0).reshape(3, 2), np.ones((2, 2))
    assert np.allclose(dm.cp_product([a, b]), a @ b.T)  # N = 2 is the matrix product
    fs = dm.init_cp_factors((2, 3, 4), 3, std=1.0, seed=1)
    want = np.einsum("ar,br,cr->abc", *fs)
    assert np.allclose(dm.cp_product(fs), want)
    stacked = dm.stack_cp_factors([fs, fs])
    assert np.allclose(dm.cp_product(stacked), np.stack([want, want]))


def test_component_norms_rank_and_balance():
    fs = dm.init_cp_factors((4, 4, 4), 5, std=0.3, seed=3)
    norms = dm.component_norms(fs)
    one = [f[:, [2]] for f in fs]
    assert np.isclose(norms[2], np.linalg.norm(dm.cp_product(one)))
    bal = dm.balance_cp_factors(fs)
    assert np.allclose(dm.cp_product(bal), dm.cp_product(fs), atol=1e-15)
    per_mode = np.stack([np.linalg.norm(f, axis=0) for f in bal])
    assert np.allclose(per_mode, per_mode[0])
    fs[0][:, :3] *= 1e-6
    assert dm.tensor_rank(fs, threshold=0.01) == 2
    assert dm.init_cp_factors((4, 4), 3, std=0.1, kind="balanced", seed=0)[0].shape == (4, 3)


def test_loss_matches_full_tensor(small):
    problem, fs = small
    W = dm.cp_product(fs)
    mask = problem.mask
    assert mask.sum() == 30
    want = np.mean((W - problem.target)[mask] ** 2)
    loss, _ = dm.cp_gradients(problem, fs)
    assert np.isclose(loss, want) and np.isclose(problem.loss(W), want)
    G = problem.gradient(W)
    assert np.allclose(G[~mask], 0) and np.allclose(G[mask], 2 * (W - problem.target)[mask] / 30)


@pytest.mark.parametrize("order", [2, 3, 4])
def test_gradients_match_finite_differences(order):
    shape = (3, 4, 3, 2)[:order]
    target = dm.cp_target(shape, 2, seed=order)
    problem = dm.TensorCompletionProblem.random(target, min(20, target.size), seed=1)
    fs = dm.init_cp_factors(shape, 4, std=0.6, seed=2)
    _, grads = dm.cp_gradients(problem, fs)
    h = 1e-6
    for n in range(order):
        for i, r in [(0, 0), (shape[n] - 1, 3), (1, 2)]:
            up = [f.copy() for f in fs]
            dn = [f.copy() for f in fs]
            up[n][i, r] += h
            dn[n][i, r] -= h
            fd = (problem.loss(dm.cp_product(up)) - problem.loss(dm.cp_product(dn))) / (2 * h)
            assert np.isclose(grads[n][i, r], fd, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("shape", [(6, 5), (4, 5, 3), (3, 4, 3, 2), (2, 3, 2, 3, 2)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_dense_and_sparse_evaluators_agree(shape, dtype):
    # A padded stack (different m), a per-run scale, and both dtypes: the two routes to the
    # loss and gradients must agree to round-off, and cp_evaluator picks by size.
    probs = [dm.TensorCompletionProblem.random(dm.cp_target(shape, 2, seed=s), 7 + 5 * s,
                                               seed=10 + s) for s in range(3)]
    problem = dm.stack_tensor_problems(probs).astype(dtype)
    fs = dm.stack_cp_factors([dm.init_cp_factors(shape, 5, std=0.7, seed=20 + s, dtype=dtype)
                              for s in range(3)])
    scale = np.array([1.0, 0.5, 0.0], dtype)[:, None, None]
    sparse, dense = T.CPBackprop(problem, fs), T.CPDenseBackprop(problem, fs)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    assert np.allclose(sparse.evaluate(fs, scale), dense.evaluate(fs, scale), rtol=tol, atol=0)
    for a, b in zip(sparse.grads, dense.grads, strict=True):
        assert a.dtype == b.dtype == dtype
        assert np.allclose(a, b, rtol=0, atol=tol * np.abs(a).max())
    assert not np.any(dense.grads[0][2])  # a zero scale zeroes that run
    want = dm.stack_cp_factors([[g for g in dm.cp_gradients(q.astype(dtype), [f[b] for f in fs])[1]]
                                for b, q in enumerate(probs)])
    for a, b in zip(want, dense.grads, strict=True):
        assert np.allclose(a[:2], b[:2] / scale[:2], rtol=0, atol=tol * np.abs(a).max())
    assert type(T.cp_evaluator(problem, fs)) is T.CPBackprop  # tiny: 5 components


def test_evaluator_choice_follows_size():
    big = dm.TensorCompletionProblem.random(dm.cp_target((30, 30, 30), 2, seed=0), 100, seed=1)
    fs = dm.init_cp_factors(big.shape, 3, std=0.1, seed=2)
    assert type(T.cp_evaluator(big, fs)) is T.CPBackprop  # 27,000 entries, 100 observed
    dense = dm.TensorCompletionProblem.random(big.target, 2000, seed=1)
    assert type(T.cp_evaluator(dense, fs)) is T.CPDenseBackprop
    small = dm.TensorCompletionProblem.random(dm.cp_target((5, 5, 5), 2, seed=0), 50, seed=1)
    few = dm.init_cp_factors(small.shape, 4, std=0.1, seed=2)
    assert type(T.cp_evaluator(small, few)) is T.CPBackprop  # 500 entries × components
    many = dm.init_cp_factors(small.shape, 50, std=0.1, seed=2)
    assert type(T.cp_evaluator(small, many)) is T.CPDenseBackprop


def test_stacked_equals_one_by_one():
    probs = [dm.TensorCompletionProblem.random(dm.cp_target((5, 4, 3), 2, seed=s), 25 + 5 * s,
                                               seed=10 + s) for s in range(3)]
    inits = [dm.init_cp_factors((5, 4, 3), 6, std=0.05, seed=20 + s) for s in range(3)]
    stacked = dm.train(dm.stack_tensor_problems(probs), dm.stack_cp_factors(inits), lr=1e-2,
                       steps=300, optimizer="normalized", eps=1e-6, record=50)
    for b in range(3):
        one = dm.train(probs[b], inits[b], lr=1e-2, steps=300, optimizer="normalized", eps=1e-6,
                       record=50)
        assert np.allclose(one.loss, stacked.loss[:, b], rtol=1e-10, atol=1e-18)
        assert np.allclose(one.component_norms, stacked.component_norms[:, b], rtol=1e-9)
        for f, g in zip(one.factors, stacked.factors, strict=True):
            assert np.allclose(f, g[b], rtol=1e-9, atol=1e-14)


def test_train_records_and_descends(small):
    problem, fs = small
    tr = dm.train(problem, fs, lr=1e-2, steps=500, optimizer="normalized", record=100,
                  entries=[(0, 1, 2)], keep_products=True)
    assert tr.loss[-1] < 1e-2 * tr.loss[0]
    assert tr.component_norms.shape == (len(tr.steps), 6)
    assert tr.singular_values.shape == (len(tr.steps), 0)
    assert np.allclose(tr.entries[:, 0], tr.products[:, 0, 1, 2])
    assert np.allclose(tr.product, dm.cp_product(tr.factors))
    assert np.isclose(tr.error[-1], problem.reconstruction_error(tr.product))
    same = dm.train(problem, fs, lr=1e-2, steps=500, optimizer="normalized", record=100)
    assert np.array_equal(same.loss, tr.loss)  # same seed and inputs, same numbers
    gd = dm.train(problem, fs, lr=0.2, steps=200, tol=1e-30)
    assert gd.loss[-1] < gd.loss[0]


def test_divergence_is_reported(small):
    problem, fs = small
    with pytest.raises(dm.DivergenceError, match="lr="):
        dm.train(problem, fs, lr=1e4, steps=50)


def test_validation_messages(small):
    problem, fs = small
    with pytest.raises(TypeError, match="indices must be an integer array"):
        dm.TensorCompletionProblem(problem.target, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="inside the tensor"):
        dm.TensorCompletionProblem(problem.target, np.array([[9, 0, 0]]))
    with pytest.raises(ValueError, match="repeat"):
        dm.TensorCompletionProblem(problem.target, np.array([[0, 0, 0], [0, 0, 0]]))
    with pytest.raises(ValueError, match="must have 3 axes"):
        dm.TensorCompletionProblem(np.ones((4, 5)), np.array([[0, 0, 0]]))
    with pytest.raises(ValueError, match="exceeds"):
        dm.TensorCompletionProblem.random(problem.target, 1000, seed=0)
    with pytest.raises(ValueError, match="N ≥ 2"):
        dm.init_cp_factors((4,), 3, std=0.1)
    with pytest.raises(ValueError, match="std"):
        dm.init_cp_factors((4, 4), 3, std=-1.0)
    with pytest.raises(TypeError, match="components"):
        dm.init_cp_factors((4, 4), "3", std=0.1)
    with pytest.raises(ValueError, match="components"):
        T.check_cp_factors([np.ones((4, 3)), np.ones((5, 2))])
    with pytest.raises(TypeError, match="list"):
        T.check_cp_factors(np.ones((4, 3)))
    with pytest.raises(ValueError, match="shape"):
        dm.train(problem, [f[:3] for f in fs], lr=1e-2, steps=1)
    with pytest.raises(ValueError, match="stack"):
        dm.train(dm.stack_tensor_problems([problem, problem]), fs, lr=1e-2, steps=1)
    with pytest.raises(ValueError, match="entries"):
        dm.train(problem, fs, lr=1e-2, steps=1, entries=[(0, 1)])
    with pytest.raises(ValueError, match="numpy only"):
        T.CP_MODEL.evaluator(problem, fs, object())
    with pytest.raises(TypeError, match="TensorCompletionProblem"):
        dm.cp_gradients(dm.CompletionProblem(np.ones((2, 2)), np.ones((2, 2), bool)), fs)
    with pytest.raises(ValueError, match="threshold"):
        dm.tensor_rank(fs, threshold=1.5)


def test_float32_runs_in_float32(small):
    problem, fs = small
    tr = dm.train(problem, [f.astype(np.float32) for f in fs], lr=1e-2, steps=20,
                  optimizer="normalized")
    assert tr.factors[0].dtype == np.float32


def test_component_norm_law_balanced_and_not():
    target = dm.cp_target((5, 5, 5), 2, seed=0)
    problem = dm.TensorCompletionProblem.random(target, 60, seed=1)
    eta = 1e-6
    for kind, ok in (("balanced", True), ("gaussian", False)):
        fs = dm.init_cp_factors(problem.shape, 4, std=0.4, kind=kind, seed=2)
        gamma, law = dm.component_norm_rate(problem, fs)
        _, general = dm.component_norm_rate(problem, fs, balanced=False)
        _, grads = dm.cp_gradients(problem, fs)
        rate = (dm.component_norms([f - eta * g for f, g in zip(fs, grads, strict=True)])
                - gamma) / eta
        miss = np.max(np.abs(rate - law)) / np.max(np.abs(law))
        assert (miss < 1e-5) == ok
        assert np.max(np.abs(rate - general)) / np.max(np.abs(general)) < 1e-5


def test_blowup_time():
    assert np.isinf(td.blowup_time(1e-3, 1.0, 2))
    assert np.isclose(td.blowup_time(1e-6, 2.0, 4), (1e-6) ** -0.5 / 4)
    assert np.isinf(td.blowup_time(1e-6, -1.0, 3))
    with pytest.raises(ValueError):
        td.blowup_time(1.0, 1.0, 1)
