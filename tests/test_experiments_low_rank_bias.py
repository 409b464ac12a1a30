from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

import dmfnb as dm
from dmfnb.experiments import low_rank_bias as lx
from dmfnb.reproduce import decode, encode

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def p():
    """A tiny version of the chapter's parameters."""
    base = vars(dm.params("low_rank_bias", "default")).copy()
    base.update(
        ground_truths=2,
        completion={"shape": (10, 10), "rank": 1, "observations": (19, 60)},
        sensing={"shape": (8, 8), "rank": 1, "observations": (15, 45)},
        depths=(1, 2, 3), max_steps=4000, conjecture_observations=30,
        conjecture_init_scales=(1e-2, 1e-3), small={"shape": (8, 8), "rank": 1,
                                                    "observations": (20, 40), "explorer_observations": 30},
        gd_max_steps=4000,
    )
    return SimpleNamespace(**base)


@pytest.fixture(scope="module")
def sweep(p):
    return lx.observation_sweep(p, "completion")


def test_params_for_both_scales():
    d, q = dm.params("low_rank_bias", "default"), dm.params("low_rank_bias", "paper")
    assert q.completion["shape"] == (100, 100) and q.completion["rank"] == 5
    assert {1000, 2000, 5000} <= set(q.completion["observations"]) and q.depths == (2, 3, 4)
    assert q.ground_truths >= 3 and d.ground_truths >= 3 and q.lr == 1e-3 and q.tol == 1e-6
    for s in (d, q):
        for kind in ("completion", "sensing"):
            block = getattr(s, kind)
            assert list(block["observations"]) == sorted(block["observations"])
        assert s.conjecture_observations in s.completion["observations"]
        assert len(s.conjecture_init_scales) >= 4
        assert max(s.conjecture_init_scales) / min(s.conjecture_init_scales) >= 1e3


def test_degrees_of_freedom():
    assert lx.degrees_of_freedom((100, 100), 5) == 975
    assert lx.degrees_of_freedom((40, 30), 3) == 3 * 67


def test_problems_are_shared_between_experiments(p):
    a = lx.make_problems(p, "completion", [19, 60])
    b = lx.make_problems(p, "completion", [60])
    assert np.array_equal(a[1][1].mask, b[1][0].mask) and np.array_equal(a[0][0].target, a[0][1].target)
    assert not np.array_equal(a[0][0].target, a[1][0].target)
    s = lx.make_problems(p, "sensing")
    assert isinstance(s[0][0], dm.SensingProblem) and s[0][1].num_observed == 45
    with pytest.raises(ValueError, match="completion' or 'sensing"):
        lx.make_problems(p, "denoising")


def test_sweep_shapes_and_recovery(p, sweep):
    D, G, K = 3, 2, 2
    for key in ("error", "effective_rank", "nuclear", "steps", "converged"):
        assert sweep[key].shape == (D, G, K), key
    assert sweep["nn_error"].shape == (G, K) and sweep["nn_optimal"].all()
    assert np.allclose(sweep["ratios"], np.array([19, 60]) / 19)
    # with many entries the rank-1 matrix is recovered by depth ≥ 2 and the convex baseline
    assert np.all(sweep["error"][1:, :, 1] < 1e-3) and np.all(sweep["nn_error"][:, 1] < 1e-3)
    # depth 1 only fills the observed entries: its error is the zero-fill error
    assert np.allclose(sweep["error"][0], sweep["zero_fill"], atol=1e-3)
    assert set(sweep["cpu_seconds"]) == {"depth 1", "depth 2", "depth 3", "nuclear norm"}


def test_batched_sweep_equals_a_single_run(p, sweep):
    prob = lx.make_problems(p, "completion")[1][0]
    fs = dm.init_factors(prob.shape, 2, scale=p.init_scale, seed=lx._rng_seed(p, "init", 2, 2))
    tr = dm.train(prob, fs, lr=p.lr, steps=p.max_steps, optimizer="normalized", tol=p.tol)
    assert np.isclose(tr.error[-1], sweep["error"][1, 1, 0], rtol=1e-6)


def test_phase_transition_logic():
    err = np.empty((3, 3, 4))
    err[0] = [[0.5, 0.1, 0.02, 1e-4]] * 3          # depth 2
    err[1] = [[0.5, 1e-4, 1e-5, 1e-6]] * 3         # depth 3
    err[2] = [[0.9, 2e-4, 1e-5, 1e-6]] * 3         # depth 4
    err[2, 0, 1] = 5.0                             # one failing ground truth: the median ignores it
    nn = np.array([[0.4, 0.2, 1e-3, 1e-7]] * 3)
    fake = {"depths": np.array([2, 3, 4]), "error": err, "nn_error": nn,
            "observations": np.array([10, 20, 30, 40])}
    pt = lx.phase_transition(fake)
    assert list(pt["window"]) == [20] and list(pt["all_recover"]) == [40]
    assert np.isclose(pt["median"][4][1], 2e-4)


def test_tables(p, sweep):
    table = lx.sweep_table(sweep)
    assert "depth 3" in table and "nuc. norm" in table and len(table.splitlines()) == 3
    fake = dict(sweep, observations=np.array([19, 2000]), depths=np.array([1, 2, 3]))
    text = lx.paper_table({"completion": fake}, nearest=False)
    assert "completion m=2000" in text and "0.106" in text and "depth 3" in text
    assert "5000" not in text
    assert lx.paper_table({"completion": sweep}, nearest=False).count("\n") == 0  # header only
    near = lx.paper_table({"completion": sweep}, max_ratio=1.6)  # 2000 = 2.05 dof: 60 = 3.16 dof
    assert "60 (3.16)" in near and near.count("\n") == 3  # the 5000 rows (5.1 dof) are too far


def test_reproduce_table(sweep):
    rows = lx.reproduce_table({"completion": sweep})
    assert all(len(r) == 3 for r in rows) and any("only depths 3–4 recover" in r[0] for r in rows)


def test_nuclear_norm_test(p):
    res = lx.nuclear_norm_test(p, deep_depths=(3,))
    assert res["nuclear"].shape == (2, 2) and res["deep_nuclear"].shape == (1, 2)
    # the convex minimum is a lower bound for every interpolating solution (up to the slack)
    fit = res["converged"]
    assert np.all(res["nuclear"][fit] >= np.repeat(res["min_nuclear"], 2).reshape(2, 2)[fit] * (1 - 1e-3))
    assert np.all(res["min_nuclear"] <= res["target_nuclear"] + 1e-3)
    # distances obey the triangle inequality through the ground truth: |d(W, X) − d(W, W*)| ≤ d(X, W*)
    d = res["distance_to_min"]
    assert d.shape == (2, 2) and np.all(d >= 0)
    assert np.all(np.abs(d - np.sqrt(res["error"])) <= np.sqrt(res["nn_error"])[:, None] + 1e-12)


def test_solver_agreement(p):
    res = lx.solver_agreement(p)
    assert res["nuclear"].shape == (2, 2) and res["solvers"] == ["SCS", "ADMM"]
    assert res["norm_gap"].max() <= 1e-4 and res["distance"].max() <= 1e-3


@pytest.mark.parametrize("kind", ["completion", "sensing"])
def test_stacks_of_any_size_give_the_same_numbers(p, kind):
    """Cutting a depth's runs into stacks (``stack``) changes the cost, not the solutions. (A
    sensing stack multiplies all its runs by the shared matrices in one product, whose rounding
    depends on the stack's size; the escapes from the plateaus amplify that rounding, so the
    stopping step may move by a few steps and the final error by a fraction of a percent.)"""
    whole = lx.observation_sweep(p, kind, depths=(2,), nuclear=False)
    q = SimpleNamespace(**{**vars(p), kind: {**getattr(p, kind), "stack": 3}})
    cut = lx.observation_sweep(q, kind, depths=(2,), nuclear=False)
    assert np.all(np.abs(whole["steps"] - cut["steps"]) <= 0.002 * whole["steps"])
    assert np.allclose(whole["error"], cut["error"], rtol=1e-2, atol=1e-15)
    if kind == "completion":  # per-run products: bit for bit
        assert np.array_equal(whole["error"], cut["error"])


def test_optimizer_comparison(p):
    res = lx.optimizer_comparison(p)
    assert res["distance"].shape == (2, 2)
    assert res["gd"]["error"].shape == res["normalized"]["error"].shape == (2, 2)
    both = res["gd"]["converged"] & res["normalized"]["converged"]
    assert both.any() and np.all(res["distance"][both] < 0.05)


def test_results_are_json_ready_and_plots_draw(p, sweep):
    import matplotlib.pyplot as plt

    back = decode(encode(sweep))
    assert np.array_equal(back["error"], sweep["error"])
    _fig, ax = plt.subplots()
    lx.plot_sweep(ax, back)
    lx.sweep_figure(back)
    res = decode(encode(lx.optimizer_comparison(p)))
    lx.plot_optimizers(res)
    conj = decode(encode(lx.nuclear_norm_test(p, deep_depths=(3,))))
    lx.plot_nuclear_norm_test(conj)
    plt.close("all")


def test_explorer_runs_headless(p):
    import matplotlib.pyplot as plt

    r = lx.explorer_run(p, depth=2, init_scale=1e-3)
    assert r["sv"].shape == (8,) and r["observations"] == 30 and 0 <= r["error"]
    fig = lx.explorer_figure(p, observations=25, depth=3, log10_init=-2.0, kind="sensing")
    assert len(fig.axes) == 2
    plt.close("all")
