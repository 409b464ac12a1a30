import dataclasses
import json

import numpy as np
import pytest

import dmfnb as dm
from dmfnb.chapters import saddles as ch
from dmfnb.chapters.saddles import compute as cp
from dmfnb.chapters.saddles.params import DEFAULT, PAPER, SCALES, Params
from dmfnb.infra.report import CheckTable, Table
from dmfnb.infra.reproduce import decode, encode
from dmfnb.theory.hessian import flatten_factors


def _tiny_params(**overrides):
    values = dict(shape=(6, 6), ranks=(1, 2), depths=(2, 3), steps={2: 1_500, 3: 8_000},
                  records=150, curvature_points=8, curvature_rank=2, glrl_n=6, glrl_rank=2, glrl_pairs=15,
                  glrl_scales=(1e-2, 1e-3, 1e-4), glrl_steps={2: 3_000, 3: 3_000})
    values.update(overrides)
    return dataclasses.replace(DEFAULT, **values)


@pytest.fixture(scope="module")
def tiny():
    p = _tiny_params()
    results = {}
    for step in ch.CHAPTER.steps:
        results[step.name] = step.run(p, results)
    return p, results


# ---- parameters


def test_params_are_frozen_and_paper_differs_only_where_intended():
    assert ch.params("default") is DEFAULT and ch.params("paper") is PAPER
    assert set(SCALES) == {"default", "paper"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.records = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        PAPER.shape = (5, 5)  # type: ignore[misc]
    differ = {f.name for f in dataclasses.fields(Params)
              if getattr(DEFAULT, f.name) != getattr(PAPER, f.name)}
    assert differ == {"scale", "shape", "records", "init_scale", "lr", "steps",
                      "curvature_points", "glrl_n", "glrl_pairs", "glrl_scales", "glrl_steps"}
    assert DEFAULT.scale == "default" and PAPER.scale == "paper"
    for p in (DEFAULT, PAPER):
        assert set(p.depths) <= set(p.lr) and set(p.depths) <= set(p.init_scale)
        assert set(p.depths) <= set(p.steps) and set(p.glrl_depths) <= set(p.glrl_steps)
        assert set(p.glrl_depths) <= set(p.glrl_gd_lr)
        assert all(isinstance(getattr(p, f), tuple)
                   for f in ("shape", "ranks", "depths", "glrl_depths", "glrl_scales"))


# ---- building blocks


def test_ladder_target():
    T = cp.ladder_target(8, 3, ratio=2.0, seed=0)
    s = np.linalg.svd(T, compute_uv=False)
    assert np.allclose(s[:2] / s[1:3], 2.0) and np.all(s[3:] < 1e-12)
    assert np.isclose(np.linalg.norm(T), 8.0)
    S = cp.ladder_target(8, 2, ratio=3.0, seed=1, symmetric=True)
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
    out = cp.detect_stages(steps, loss)
    assert out.count == 3
    for (a, b), c in zip(out.drops, [30, 300, 3000], strict=True):
        assert steps[a] < c < steps[b]
    assert len(out.plateaus) == 3
    assert all(steps[i] < steps[a] for i, (a, _) in zip(out.plateaus, out.drops, strict=True))
    # a loss that decays like 1/t has speed exactly 1: no drop
    assert cp.detect_stages(steps, 1.0 / t).count == 0
    assert cp.detect_stages(steps, np.ones_like(t)).count == 0
    assert cp.detect_stages(steps, np.ones_like(t)).drops.shape == (0, 2)


def test_train_with_snapshots_equals_one_run():
    target = dm.low_rank_target((5, 5), 2, seed=0)
    problem = dm.LeastSquaresProblem(target)
    fs = dm.init_factors((5, 5), 3, scale=1e-2, seed=1)
    snap = cp.train_with_snapshots(problem, fs, lr=0.02, steps=500, num_records=40)
    ref = dm.train(problem, fs, lr=0.02, steps=500, record=snap.steps)
    assert np.array_equal(snap.steps, ref.steps)
    assert np.allclose(snap.loss, ref.loss, rtol=1e-12)
    assert all(np.allclose(a, b, rtol=1e-12)
               for a, b in zip(snap.factors[-1], ref.factors, strict=True))
    assert np.allclose(snap.singular_values[:, :5], ref.singular_values, rtol=1e-10)
    _, grads = dm.gradients(problem, snap.factors[7])
    assert np.isclose(snap.grad_norm[7], np.sqrt(sum(np.sum(g * g) for g in grads)))


@pytest.mark.parametrize("depth", [3, 4])
def test_predicted_min_eigenvalue_is_the_scalar_models(depth):
    s, u = 2.0, 1e-3
    a = u ** (1 / depth)
    # Hessian of ½(x_1⋯x_N − s)² at x_i = a
    off = a ** (2 * depth - 2) + (u - s) * a ** (depth - 2)
    H = np.full((depth, depth), off)
    np.fill_diagonal(H, a ** (2 * depth - 2))
    assert np.isclose(cp.predicted_min_eigenvalue(depth, s, u), np.linalg.eigvalsh(H)[0])
    assert cp.predicted_min_eigenvalue(2, s, u) == -(s - u)


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_exact_saddle_factors(depth):
    target = cp.ladder_target(6, 3, ratio=2.0, seed=2)
    u, s, vt = np.linalg.svd(target)
    fs, Q = cp.exact_saddle_factors(target, 2, depth, seed=0)
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


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_escape_direction_adds_tau_to_the_n_along_the_next_pair(depth):
    target = cp.ladder_target(6, 3, ratio=2.0, seed=2)
    u, _, vt = np.linalg.svd(target)
    fs, Q = cp.exact_saddle_factors(target, 1, depth, seed=0)
    path = cp.escape_direction(target, 1, Q)
    tau = 0.3
    moved = dm.product([f + tau * d for f, d in zip(fs, path, strict=True)])
    assert np.allclose(moved - dm.product(fs), tau**depth * np.outer(u[:, 1], vt[1]))


def test_pair_alignment():
    fs = [np.zeros((3, 4)), np.zeros((5, 3))]
    u, v, q = np.eye(5)[0], np.eye(4)[1], np.eye(3)[2]
    vec = flatten_factors([np.outer(q, v), np.outer(u, q)])
    assert cp.pair_alignment(vec, fs, u, v) == (1.0, 1.0)
    assert cp.pair_alignment(vec, fs, np.eye(5)[1], np.eye(4)[0]) == (0.0, 0.0)


# ---- the experiments on a small problem


def test_staircase_landscape_and_curvature_on_a_small_problem(tiny):
    p, results = tiny
    stair = results["staircase"]
    assert set(stair) == set(p.depths)
    for depth, res in stair.items():
        assert res.ranks() == p.ranks
        for run in res.runs:
            assert run.count == run.rank, (depth, run.rank, run.count)
            assert run.final_rank == run.rank
            assert run.plateau_ranks() == tuple(range(run.rank))
            assert run.factors.shape == (len(run.probes), depth, *p.shape)
            with pytest.raises(KeyError, match="not kept"):
                run.factors_at(int(np.setdiff1d(np.arange(len(res.steps)), run.probes)[0]))
            # the stored factors are the recorded run's
            assert np.allclose(dm.product(run.factors_at(-1)), run.target, atol=1e-2)
    for res in stair.values():
        for run in res.runs:
            need = {*run.plateaus.tolist(), len(res.steps) - 1}
            if run.rank == p.curvature_rank:
                need |= set(cp.curvature_records(p, len(res.steps)).tolist())
            assert set(run.probes.tolist()) == need
    land = results["landscape"]
    assert len(land.plateaus) == sum(p.ranks) * len(p.depths)
    assert len(land.ends) == len(p.ranks) * len(p.depths)
    assert land.depths() == p.depths
    assert all(r.lambda_min < 0 for r in land.plateaus)
    assert all(r.curved == r.curved_expected for r in land.ends)
    path = results["curvature_path"]
    assert set(path) == set(p.depths)
    assert all(len(d.lambda_min) <= 8 and d.rank == p.curvature_rank for d in path.values())


def test_critical_points_on_a_small_problem(tiny):
    p, results = tiny
    crit = results["critical_points"]
    R = max(p.ranks)
    assert crit.rank == R and crit.depths() == p.depths
    n, m = p.shape
    for c in crit.points:
        neg, zero, pos = c.counts()
        assert neg + zero + pos == c.depth * n * m == c.eigenvalues.size
        assert c.grad_balanced < 1e-10 and np.isclose(c.grad_ratio, 1.0)
        assert c.product_gap < 1e-12 and c.imbalance > 0
        assert abs(c.escape_order - c.depth) < 0.05
        if c.depth == 2:
            assert neg == (n - c.k) * (R - c.k)  # one −σ_j per unused direction and j > k
        else:
            assert neg == 0 and pos == c.k * (n + m - c.k)
    origin = crit.at(3)[0]
    assert np.all(origin.eigenvalues == 0)  # the whole Hessian vanishes at depth ≥ 3


def test_nuclear_comparison_on_a_small_problem(tiny):
    p, results = tiny
    nn = results["nuclear_comparison"]
    assert set(nn.instances) == {"book", "sparse"}
    sp = nn["sparse"]
    assert sp.pairs == p.nn_pairs and sp.target.shape == (p.nn_n, p.nn_n)
    assert sp.glrl_converged and sp.glrl_violation < 1e-6 and sp.psd_violation < 2e-6
    assert np.linalg.eigvalsh(sp.psd_min)[0] > -1e-6
    assert sp.nuclear_min <= sp.min_trace + 1e-4  # the PSD constraint can only raise it
    for depth in p.glrl_depths:
        assert sp.gd_traces[depth].shape == (len(p.glrl_scales),)
    assert nn["book"].gd_traces == {}


def test_the_default_sparse_instance_separates_glrl_from_the_nuclear_norm():
    # the default instance (rank-3 target, 33 pairs), with shorter GD runs
    p = dataclasses.replace(DEFAULT, glrl_scales=(1e-2, 1e-4), glrl_steps={2: 6_000, 3: 6_000})
    sp = cp.nuclear_comparison(p)["sparse"]
    assert sp.glrl_converged and len(sp.glrl_stages) == p.glrl_rank
    assert sp.error(sp.glrl_stages[-1]) < 1e-6  # GLRL recovers W* ...
    assert sp.relative_gap > 0.1 and sp.error(sp.psd_min) > 0.1  # ... the minimum does not
    assert sp.gd_traces[2][1] > sp.gd_traces[2][0]  # depth 2 leaves the minimum as α shrinks


def test_glrl_comparison_on_a_small_problem(tiny):
    _, results = tiny
    cmp = results["glrl_comparison"]
    assert cmp.glrl.rank >= 1 and cmp.stage_ranks() == tuple(range(1, cmp.glrl.rank + 1))
    for d in cmp.depths.values():
        assert d.distance.shape[:2] == (3, cmp.glrl.rank)
        assert d.asymmetry < 1e-10
        assert np.isfinite(d.slope)
    assert cmp.gap() > 0


@pytest.mark.parametrize("step", [s.name for s in ch.CHAPTER.steps])
def test_results_round_trip_through_json(tiny, step):
    _, results = tiny
    data = json.loads(json.dumps(encode(results[step], step)))
    back = decode(data)
    assert type(back) is type(results[step])
    assert json.dumps(encode(back)) == json.dumps(data)


def test_decoded_results_give_the_same_checks_and_tables(tiny):
    p, results = tiny
    back = {k: decode(json.loads(json.dumps(encode(v)))) for k, v in results.items()}
    assert ch.CHAPTER.checks(p, back).to_json() == ch.CHAPTER.checks(p, results).to_json()
    assert [t.to_json() for t in ch.tables.paper(p, back)] == \
        [t.to_json() for t in ch.tables.paper(p, results)]


# ---- checks and tables


def test_checks_rows_and_tables(tiny):
    p, results = tiny
    table = ch.CHAPTER.checks(p, results)
    assert isinstance(table, CheckTable)
    names = [c.name for c in table]
    assert "d2-drops" in names and "glrl-gap" in names and "d3-end-curved" in names
    for c in table:
        assert c.measured and c.expected
    stair, land = results["staircase"], results["landscape"]
    cmp = results["glrl_comparison"]
    for t in (ch.tables.stages(stair), ch.tables.plateaus(land), ch.tables.ends(land),
              ch.tables.glrl_stages(cmp), ch.tables.glrl_distances(cmp),
              ch.tables.critical(results["critical_points"]),
              ch.tables.nuclear(results["nuclear_comparison"]),
              ch.tables.nuclear_gd(results["nuclear_comparison"]),
              ch.tables.summary(stair, land), *ch.tables.paper(p, results)):
        assert isinstance(t, Table) and t.rows
        assert "<table" in t._repr_html_()
        assert max(map(len, str(t).splitlines())) <= 100, str(t)


def _replace_run(stair, depth, rank, **changes):
    res = stair[depth]
    runs = tuple(dataclasses.replace(r, **changes) if r.rank == rank else r for r in res.runs)
    return {**stair, depth: dataclasses.replace(res, runs=runs)}


def test_a_missed_drop_fails_its_check(tiny):
    p, results = tiny
    run = results["staircase"][3].run(2)
    broken = _replace_run(results["staircase"], 3, 2, drops=run.drops[:1],
                          plateaus=run.plateaus[:1])
    table = ch.CHAPTER.checks(p, {**results, "staircase": broken})
    failed = {c.name: c for c in table.failed}
    assert "d3-drops" in failed and "d2-drops" not in failed
    assert "measured 1 | 1, expected = 1 | 2" in failed["d3-drops"].message
    with pytest.raises(AssertionError, match="d3-drops"):
        table.require()


def test_a_rank_that_jumps_by_two_fails(tiny):
    p, results = tiny
    run = results["staircase"][2].run(2)
    nr = run.numerical_rank.copy()
    first = int(np.flatnonzero(nr)[0])
    nr[first:] = np.maximum(nr[first:], 2)  # 0 → 2 in one record
    broken = _replace_run(results["staircase"], 2, 2, numerical_rank=nr)
    failed = {c.name: c for c in ch.CHAPTER.checks(p, {**results, "staircase": broken}).failed}
    assert "d2-rises" in failed
    assert failed["d2-rises"].measured == "1 | 1; sizes [1, 2]"


def test_a_positive_plateau_eigenvalue_and_a_poor_prediction_fail(tiny):
    p, results = tiny
    land = results["landscape"]
    first = land.plateaus[0]
    bad = dataclasses.replace(first, eigenvalues=2.0 * np.abs(first.eigenvalues))
    broken = dataclasses.replace(land, plateaus=(bad, *land.plateaus[1:]))
    failed = {c.name: c for c in ch.CHAPTER.checks(p, {**results, "landscape": broken}).failed}
    depth = bad.depth
    assert f"d{depth}-plateau-negative" in failed
    assert f"d{depth}-plateau-prediction" in failed
    assert "expected < 0" in failed[f"d{depth}-plateau-negative"].message
    assert "expected ≤ 0.02" in failed[f"d{depth}-plateau-prediction"].message


def test_a_plateau_away_from_the_partial_svd_fails(tiny):
    p, results = tiny
    land = results["landscape"]
    bad = dataclasses.replace(land.plateaus[-1], partial_svd_distance=0.2)
    broken = dataclasses.replace(land, plateaus=(*land.plateaus[:-1], bad))
    failed = {c.name for c in ch.CHAPTER.checks(p, {**results, "landscape": broken}).failed}
    assert f"d{bad.depth}-plateau-partial-svd" in failed
    assert all(r.partial_svd_distance < 0.05 for r in land.plateaus)


def test_a_negative_end_curvature_fails(tiny):
    p, results = tiny
    land = results["landscape"]
    end = land.ends[-1]
    bad = dataclasses.replace(end, eigenvalues=end.eigenvalues - 1e-3 * end.lambda_max)
    broken = dataclasses.replace(land, ends=(*land.ends[:-1], bad))
    failed = {c.name for c in ch.CHAPTER.checks(p, {**results, "landscape": broken}).failed}
    assert f"d{end.depth}-end-second-order" in failed


def test_an_unbalanced_critical_point_and_a_strict_deep_saddle_fail(tiny):
    p, results = tiny
    crit = results["critical_points"]
    before = {c.name for c in ch.CHAPTER.checks(p, results).failed}
    # the "unbalanced" factorization replaced by a critical one: its gradient vanishes
    flat = tuple(dataclasses.replace(c, grad_unbalanced=c.grad_balanced) for c in crit.points)
    broken = dataclasses.replace(crit, points=flat)
    failed = {c.name: c for c in
              ch.CHAPTER.checks(p, {**results, "critical_points": broken}).failed}
    assert "crit-unbalanced" in failed and "crit-balanced" not in failed
    # a depth-3 saddle with a negative eigenvalue, as a strict saddle would have
    pts = tuple(dataclasses.replace(c, eigenvalues=np.r_[-0.1, c.eigenvalues[1:]])
                if c.depth == 3 and c.k == 1 else c for c in crit.points)
    broken = dataclasses.replace(crit, points=pts)
    failed = {c.name: c for c in
              ch.CHAPTER.checks(p, {**results, "critical_points": broken}).failed}
    assert set(failed) - before == {"d3-saddle-degenerate"}
    assert failed["d3-saddle-degenerate"].measured.startswith("0 | 1;")


def test_glrl_at_the_nuclear_minimum_fails_the_gap(tiny):
    p, results = tiny
    nn = results["nuclear_comparison"]
    sp = nn["sparse"]
    stages = sp.glrl_stages.copy()
    stages[-1] = sp.psd_min
    traces = np.trace(stages, axis1=-2, axis2=-1)
    same = dataclasses.replace(sp, glrl_stages=stages, stage_traces=traces)
    broken = dataclasses.replace(nn, instances={**nn.instances, "sparse": same})
    failed = {c.name for c in
              ch.CHAPTER.checks(p, {**results, "nuclear_comparison": broken}).failed}
    assert "nn-gap" in failed and "nn-fit" not in failed


def test_glrl_checks_fail_on_a_flat_depth_3(tiny):
    p, results = tiny
    cmp = results["glrl_comparison"]
    d2, d3 = cmp.depths[2], cmp.depths[3]
    flat = dataclasses.replace(d3, plateau_distance=d2.plateau_distance * 0.5, slope=d2.slope)
    broken = dataclasses.replace(cmp, depths={**cmp.depths, 3: flat})
    failed = {c.name: c for c in
              ch.CHAPTER.checks(p, {**results, "glrl_comparison": broken}).failed}
    assert {"glrl-slope", "glrl-gap"} <= set(failed)
    assert "measured 2.0, expected ≥ 100.0" in failed["glrl-gap"].message


# ---- figures, explorer, report


def test_figures_and_explorer_run_headless(tiny):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p, results = tiny
    for fig in (ch.figures.losses(results["staircase"]),
                ch.figures.staircase(results["staircase"][3]),
                ch.figures.curvature(results["curvature_path"]),
                ch.figures.glrl(results["glrl_comparison"]),
                ch.figures.spectrum(results["critical_points"], k=1),
                ch.figures.nuclear(results["nuclear_comparison"])):
        w, _ = fig.get_size_inches()
        assert w <= 7.0
        plt.close(fig)
    fig = ch.explorer.figure(p, depth=2, rank=2, log10_scale=-5.0, ratio=2.0)
    assert "2 drops" in fig._suptitle.get_text()
    assert fig.get_size_inches()[0] <= 7.0
    # the explorer draws its whole grid (depths 2–4) in advance: short runs at every depth
    quick = dataclasses.replace(p, steps={2: 300, 3: 300, 4: 300}, records=30)
    assert ch.explorer.explorer(quick) is not None
    plt.close("all")


def test_report(tiny, tmp_path, monkeypatch):
    p, results = tiny
    monkeypatch.setenv("DMFNB_REPORTS", str(tmp_path))
    rep = ch.report(p, results)
    assert rep.chapter == "saddles" and len(rep.tables) == 1
    assert (tmp_path / "saddles-default.json").exists()
    with pytest.raises(ValueError, match="landscape"):
        ch.report(p, {k: v for k, v in results.items() if k != "landscape"})
