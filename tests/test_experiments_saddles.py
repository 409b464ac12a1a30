from types import SimpleNamespace

import numpy as np
import pytest

import dmfnb as dm
from dmfnb.experiments import saddles as ex


def _tiny_params(**overrides):
    p = dm.params("saddles", "default")
    values = {**vars(p), "shape": (6, 6), "ranks": (1, 2), "depths": (2, 3),
              "steps": {2: 1_500, 3: 8_000}, "records": 150, "curvature_points": 8,
              "glrl_n": 6, "glrl_rank": 2, "glrl_pairs": 15, "glrl_scales": (1e-2, 1e-3, 1e-4),
              "glrl_steps": {2: 3_000, 3: 3_000}}
    values.update(overrides)
    return SimpleNamespace(**values)


def test_params_block_has_both_scales():
    for scale in dm.scales.SCALES:
        p = dm.params("saddles", scale)
        assert set(p.depths) <= set(p.lr) and set(p.depths) <= set(p.init_scale)
        assert set(p.glrl_depths) <= set(p.glrl_steps)


def test_ladder_target():
    T = ex.ladder_target(8, 3, ratio=2.0, seed=0)
    s = np.linalg.svd(T, compute_uv=False)
    assert np.allclose(s[:2] / s[1:3], 2.0) and np.all(s[3:] < 1e-12)
    assert np.isclose(np.linalg.norm(T), 8.0)
    S = ex.ladder_target(8, 2, ratio=3.0, seed=1, symmetric=True)
    assert np.allclose(S, S.T) and np.linalg.eigvalsh(S).min() > -1e-12


def _sigmoid_staircase(t, centres, heights, width=0.05):
    x = np.log(t)
    loss = np.full_like(x, 1e-9)
    for c, h in zip(centres, heights, strict=True):
        loss += h / (1 + np.exp((x - np.log(c)) / width))
    return loss


def test_detect_stages_counts_drops_and_finds_flat_plateaus():
    steps = np.unique(np.r_[0, np.round(np.geomspace(1, 1e5, 300)).astype(int)])
    t = np.maximum(steps, 1).astype(float)
    loss = _sigmoid_staircase(t, [30, 300, 3000], [8.0, 2.0, 0.5]) + 1e-9
    out = ex.detect_stages(steps, loss)
    assert out["count"] == 3
    for (a, b), c in zip(out["drops"], [30, 300, 3000], strict=True):
        assert steps[a] < c < steps[b]
    assert len(out["plateaus"]) == 3
    assert all(steps[i] < steps[a] for i, (a, _) in zip(out["plateaus"], out["drops"], strict=True))
    # a loss that decays like 1/t has speed exactly 1: no drop
    assert ex.detect_stages(steps, 1.0 / t)["count"] == 0
    assert ex.detect_stages(steps, np.ones_like(t))["count"] == 0


def test_train_with_snapshots_equals_one_run():
    target = dm.low_rank_target((5, 5), 2, seed=0)
    problem = dm.LeastSquaresProblem(target)
    fs = dm.init_factors((5, 5), 3, scale=1e-2, seed=1)
    snap = ex.train_with_snapshots(problem, fs, lr=0.02, steps=500, num_records=40)
    ref = dm.train(problem, fs, lr=0.02, steps=500, record=snap["steps"])
    assert np.array_equal(snap["steps"], ref.steps)
    assert np.allclose(snap["loss"], ref.loss, rtol=1e-12)
    assert all(np.allclose(a, b, rtol=1e-12) for a, b in zip(snap["factors"][-1], ref.factors, strict=True))
    assert np.allclose(snap["singular_values"][:, :5], ref.singular_values, rtol=1e-10)
    _, grads = dm.gradients(problem, snap["factors"][7])
    assert np.isclose(snap["grad_norm"][7], np.sqrt(sum(np.sum(g * g) for g in grads)))


@pytest.mark.parametrize("depth", [3, 4])
def test_predicted_min_eigenvalue_is_the_scalar_models(depth):
    s, u = 2.0, 1e-3
    a = u ** (1 / depth)
    # Hessian of ½(x_1⋯x_N − s)² at x_i = a
    off = a ** (2 * depth - 2) + (u - s) * a ** (depth - 2)
    H = np.full((depth, depth), off)
    np.fill_diagonal(H, a ** (2 * depth - 2))
    assert np.isclose(ex.predicted_min_eigenvalue(depth, s, u), np.linalg.eigvalsh(H)[0])
    assert ex.predicted_min_eigenvalue(2, s, u) == -(s - u)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_exact_saddle_factors(depth):
    target = ex.ladder_target(6, 3, ratio=2.0, seed=2)
    u, s, vt = np.linalg.svd(target)
    fs, Q = ex.exact_saddle_factors(target, 2, depth, seed=0)
    assert np.allclose(dm.product(fs), (u[:, :2] * s[:2]) @ vt[:2])
    assert dm.balancedness(fs) < 1e-10 and len(Q) == depth - 1
    problem = dm.LeastSquaresProblem(target)
    grad_norm = np.sqrt(sum(np.sum(g * g) for g in dm.gradients(problem, fs)[1]))
    assert grad_norm < 1e-10  # a critical point
    lam = dm.hessian_eigs(dm.factor_hessian(problem, fs), 1)[0][0]
    if depth == 2:
        assert np.isclose(lam, -s[2])  # strict saddle
    else:
        assert abs(lam) < 1e-10  # degenerate saddle


def test_pair_alignment():
    fs = [np.zeros((3, 4)), np.zeros((5, 3))]
    u, v, q = np.eye(5)[0], np.eye(4)[1], np.eye(3)[2]
    vec = dm.flatten_factors([np.outer(q, v), np.outer(u, q)])
    assert ex.pair_alignment(vec, fs, u, v) == (1.0, 1.0)
    assert ex.pair_alignment(vec, fs, np.eye(5)[1], np.eye(4)[0]) == (0.0, 0.0)


def test_staircase_landscape_and_curvature_on_a_small_problem():
    p = _tiny_params()
    stair = ex.staircase(p)
    for depth, res in stair.items():
        for run in res["runs"]:
            assert run["count"] == run["rank"], (depth, run["rank"], run["count"])
            assert run["numerical_rank"][-1] == run["rank"]
    rows = ex.landscape(p, stair)
    plateaus = [r for r in rows if r["point"] == "plateau"]
    ends = [r for r in rows if r["point"] == "end"]
    assert len(plateaus) == sum(p.ranks) * len(p.depths) and len(ends) == len(p.ranks) * len(p.depths)
    assert all(r["eigenvalues"][0] < 0 for r in plateaus)
    assert all(r["curved"] == r["curved_expected"] for r in ends)
    path = ex.curvature_path(p, stair, rank=2)
    assert set(path) == set(p.depths) and all(len(d["lambda_min"]) <= 8 for d in path.values())


def test_glrl_comparison_on_a_small_problem():
    p = _tiny_params()
    cmp = ex.glrl_comparison(p)
    assert cmp["glrl"].rank >= 1
    for d in cmp["depths"].values():
        assert d["distance"].shape[:2] == (3, cmp["glrl"].rank)
        assert d["asymmetry"] < 1e-10
        assert np.isfinite(d["slope"])


def test_explorer_runs_headless():
    import matplotlib

    matplotlib.use("Agg")
    p = _tiny_params()
    _, res = ex.explorer_figure(p, depth=2, rank=2, log10_scale=-5.0, ratio=2.0)
    assert res["runs"][0]["count"] == 2
    widget = ex.explorer(p)
    assert widget is not None
    import matplotlib.pyplot as plt

    plt.close("all")
