from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

import dmfnb as dm
from dmfnb.experiments import norms as nx

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def p():
    """A fast version of the chapter's parameters: stop at loss 1e-2."""
    base = vars(dm.params("norms", "default")).copy()
    base.update(runs=2, tol=1e-2, depths=(2, 3), negative_depths=(3,), negative_tol=1e-4,
                epsilons=(0.5,), perturbed_tol=1e-5, perturbed_max_steps=60_000,
                explorer_max_steps=30_000)
    return SimpleNamespace(**base)


def test_params_exist_for_both_scales():
    for scale in dm.scales.SCALES:
        q = dm.params("norms", scale)
        assert q.tol < q.fit_from < 0.5
        assert q.init in ("balanced", "gaussian")
        assert all(d >= 2 for d in q.depths)
    assert dm.params("norms", "paper").tol == 1e-4


def test_problem_and_loss_convention():
    prob = nx.make_problem()
    W = np.array([[5.0, 0.7], [1.2, -0.3]])
    half_sum = 0.5 * ((0.7 - 1) ** 2 + (1.2 - 1) ** 2 + 0.3**2)
    assert np.isclose(nx.half_sum_loss(prob.loss(W), prob), half_sum)
    # one engine step with lr·3/2 on the mean loss equals one step with lr on ½Σ
    g_half = np.array([[0.0, 0.7 - 1], [1.2 - 1, -0.3]])
    assert np.allclose(nx.engine_lr(1e-2, prob) * prob.gradient(W), 1e-2 * g_half)
    pert = nx.make_problem(0.1)
    assert pert.target[1, 1] == 0.1 and pert.target[0, 1] == -2.0


@pytest.mark.parametrize("init", ["balanced", "gaussian"])
@pytest.mark.parametrize("sign", [1, -1])
def test_initial_factors_sign_and_balance(init, sign):
    fs = nx.initial_factors(3, std=8e-3, init=init, det_sign=sign, rng=5)
    assert np.sign(np.linalg.det(dm.product(fs))) == sign
    if init == "balanced":
        assert dm.balancedness(fs) < 1e-8
    again = nx.initial_factors(3, std=8e-3, init=init, det_sign=sign, rng=5)
    assert all(np.array_equal(a, b) for a, b in zip(fs, again, strict=True))


def test_initial_factors_rejects_bad_arguments():
    with pytest.raises(ValueError):
        nx.initial_factors(3, std=1e-2, init="uniform")
    with pytest.raises(ValueError):
        nx.initial_factors(3, std=1e-2, det_sign=0)


def test_train_runs_matches_single_runs(p):
    prob = nx.make_problem()
    res = nx.train_runs(prob, 3, runs=2, seed=1, std=p.init_std, lr=p.lr, tol=0.5, max_steps=20_000)
    rng = np.random.default_rng([1, 3, 2, False])
    for b in range(2):
        fs = nx.initial_factors(3, std=p.init_std, rng=rng)
        tr = dm.train(prob, fs, lr=nx.engine_lr(p.lr, prob), steps=20_000, tol=0.5 * 2 / 3,
                      record="log")
        assert tr.stop_step == res["stop_step"][b]
        assert np.allclose(tr.product, res["final"][b], rtol=1e-12, atol=1e-15)
    assert np.all(res["loss"][-1] <= 0.5)


def test_depth_three_diverges_depth_two_plateaus(p):
    runs = nx.run_depths(p)
    r3 = runs[3]
    assert nx.det_sign_runs(r3).all()
    assert r3["converged"].all()
    ratio = np.abs(r3["W"][-1, :, 0, 0]) * np.sqrt(2 * r3["loss"][-1])
    assert np.all(np.abs(ratio - 1) < 0.05)
    # the determinant computed from the recorded entries agrees with the product of factor dets
    assert np.allclose(r3["det"][-1], np.prod(r3["factor_dets"], axis=-1), rtol=1e-6)
    assert np.all(r3["effective_rank"][-1] < 1.01)
    assert set(runs) == {2, 3}


def test_negative_det_and_perturbed(p):
    neg = nx.negative_det(p)[3]
    assert neg["converged"].all() and nx.det_sign_runs(neg).all()
    assert np.all(np.abs(neg["W"][-1, :, 0, 0]) < 10)
    pert = nx.perturbed(p)[0.5]
    ok = pert["converged"]
    assert ok.any()
    assert np.all(np.abs(0.5 * pert["W"][-1, ok, 0, 0] + 1) < 0.02)


def test_figures_and_explorer_run_headless(p):
    import matplotlib.pyplot as plt

    runs = nx.run_depths(p, depths=(3,))
    fig, ax = plt.subplots()
    nx.plot_entry_vs_loss(ax, runs[3])
    plt.close(fig)
    plt.close(nx.plot_norms(runs))
    plt.close(nx.plot_perturbed(nx.perturbed(p)))
    plt.close(nx.explorer_figure(p, log10_tol=-1.5))
    nx.explorer(p)
    plt.close("all")
