import dataclasses

import matplotlib
import numpy as np
import pytest

import dmfnb as dm
from dmfnb.chapters import low_rank_bias as ch
from dmfnb.chapters.low_rank_bias import compute as lx
from dmfnb.chapters.low_rank_bias.params import (
    DEFAULT,
    PAPER,
    STUDIES,
    Commuting,
    Instance,
    Params,
    Small,
    Studies,
    studies,
)
from dmfnb.infra.report import CheckTable, Table
from dmfnb.infra.reproduce import decode, encode

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def p():
    """A tiny version of the chapter's parameters."""
    return dataclasses.replace(
        DEFAULT,
        ground_truths=2,
        completion=Instance((10, 10), 1, (19, 60)),
        sensing=Instance((8, 8), 1, (15, 45)),
        depths=(1, 2, 3), max_steps=4000, conjecture_observations=30,
        conjecture_init_scales=(1e-2, 1e-3),
        small=Small((8, 8), 1, (20, 40), 30),
        gd_max_steps=4000,
    )


@pytest.fixture(scope="module")
def sweep(p):
    return lx.observation_sweep(p, "completion")


@pytest.fixture(scope="module")
def results(p, sweep):
    """Every step of the chapter on the tiny parameters, keyed by step name."""
    out = {"completion": sweep}
    for step in ch.CHAPTER.steps:
        if step.name not in out:
            out[step.name] = step.run(p, out)
    return out


def _same(a, b) -> bool:
    """Deep equality of results: dataclasses field by field, arrays by value."""
    if dataclasses.is_dataclass(a):
        return type(a) is type(b) and all(
            _same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_params_for_both_scales():
    d, q = ch.params("default"), ch.params("paper")
    assert d is DEFAULT and q is PAPER and d.scale == "default" and q.scale == "paper"
    assert q.completion.shape == (100, 100) and q.completion.rank == 5
    assert {1000, 2000, 5000} <= set(q.completion.observations) and q.depths == (2, 3, 4)
    assert q.ground_truths >= 3 and d.ground_truths >= 3 and q.lr == 1e-3 and q.tol == 1e-6
    for s in (d, q):
        for kind in ("completion", "sensing"):
            obs = getattr(s, kind).observations
            assert isinstance(obs, tuple) and list(obs) == sorted(obs)
        assert s.conjecture_observations in s.completion.observations
        assert len(s.conjecture_init_scales) >= 4
        assert max(s.conjecture_init_scales) / min(s.conjecture_init_scales) >= 1e3


def test_params_are_frozen_and_paper_differs_only_where_intended():
    for s in (DEFAULT, PAPER):
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.lr = 0.1
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.completion.rank = 2
    assert Params() == DEFAULT
    differ = {f.name for f in dataclasses.fields(Params)
              if getattr(DEFAULT, f.name) != getattr(PAPER, f.name)}
    assert differ == {"scale", "completion", "sensing", "depths", "lr", "max_steps", "solvers",
                      "conjecture_observations"}
    assert PAPER.small == DEFAULT.small and PAPER.sensing.dtype == "float32"
    assert PAPER.completion.stack == 1 and PAPER.sensing.stack == 12
    assert (PAPER.sensing.lr, PAPER.sensing.max_steps) == (1e-2, 6_000)


def test_degrees_of_freedom():
    assert lx.degrees_of_freedom((100, 100), 5) == 975
    assert lx.degrees_of_freedom((40, 30), 3) == 3 * 67


def test_problems_are_shared_between_experiments(p):
    a = lx.make_problems(p, "completion", [19, 60])
    b = lx.make_problems(p, "completion", [60])
    assert np.array_equal(a[1][1].mask, b[1][0].mask)
    assert np.array_equal(a[0][0].target, a[0][1].target)
    assert not np.array_equal(a[0][0].target, a[1][0].target)
    s = lx.make_problems(p, "sensing")
    assert isinstance(s[0][0], dm.SensingProblem) and s[0][1].num_observed == 45
    with pytest.raises(ValueError, match="completion' or 'sensing"):
        lx.make_problems(p, "denoising")


def test_sweep_shapes_and_recovery(sweep):
    D, G, K = 3, 2, 2
    for key in ("error", "effective_rank", "nuclear", "steps", "converged"):
        assert getattr(sweep, key).shape == (D, G, K), key
    assert sweep.nn_error.shape == (G, K) and sweep.nn_optimal.all()
    assert np.allclose(sweep.ratios, np.array([19, 60]) / 19)
    # with many entries the rank-1 matrix is recovered by depth ≥ 2 and the convex baseline
    assert np.all(sweep.error[1:, :, 1] < 1e-3) and np.all(sweep.nn_error[:, 1] < 1e-3)
    assert np.all(sweep.errors(2)[:, 1] < 1e-3) and sweep.median("nuclear")[1] < 1e-3
    # depth 1 only fills the observed entries: its error is the zero-fill error
    assert np.allclose(sweep.errors(1), sweep.zero_fill, atol=1e-3)
    assert sweep.zero_fill_deviation() <= 1e-3
    assert set(sweep.cpu_seconds) == {"depth 1", "depth 2", "depth 3", "nuclear norm"}
    with pytest.raises(KeyError, match="not 4"):
        sweep.errors(4)


def test_batched_sweep_equals_a_single_run(p, sweep):
    prob = lx.make_problems(p, "completion")[1][0]
    fs = dm.init_factors(prob.shape, 2, scale=p.init_scale, seed=lx._rng_seed(p, "init", 2, 2))
    tr = dm.train(prob, fs, lr=p.lr, steps=p.max_steps, optimizer="normalized", tol=p.tol)
    assert np.isclose(tr.error[-1], sweep.error[1, 1, 0], rtol=1e-6)


def _fake_sweep(err, nn, obs) -> lx.Sweep:
    D, G, K = err.shape
    ones = np.ones((D, G, K))
    return lx.Sweep(kind="completion", shape=(10, 10), rank=1, observations=np.array(obs),
                    ratios=np.array(obs) / 19, depths=np.array([2, 3, 4]), init_scale=1e-3,
                    lr=3e-3, tol=1e-6, optimizer="normalized", max_steps=100, dtype="float64",
                    solvers=("SCS",), target_nuclear=np.ones(G), error=err,
                    effective_rank=ones, nuclear=ones, steps=ones.astype(int),
                    converged=ones.astype(bool), nn_error=nn)


def test_phase_transition_logic():
    err = np.empty((3, 3, 4))
    err[0] = [[0.5, 0.1, 0.02, 1e-4]] * 3          # depth 2
    err[1] = [[0.5, 1e-4, 1e-5, 1e-6]] * 3         # depth 3
    err[2] = [[0.9, 2e-4, 1e-5, 1e-6]] * 3         # depth 4
    err[2, 0, 1] = 5.0                             # one failing ground truth: the median ignores it
    nn = np.array([[0.4, 0.2, 1e-3, 1e-7]] * 3)
    pt = _fake_sweep(err, nn, [10, 20, 30, 40]).transition()
    assert list(pt.window) == [20] and list(pt.all_recover) == [40]
    assert np.isclose(pt.median[4][1], 2e-4) and np.allclose(pt.window_ratios, [20 / 19])


def test_tables(p, sweep):
    t = ch.tables.sweep(sweep)
    assert isinstance(t, Table) and "N=3" in t.columns and "nuclear" in t.columns
    assert len(t.rows) == 2 and t.column("m") == [19, 60]
    fake = dataclasses.replace(sweep, observations=np.array([19, 2000]))
    papers = ch.tables.paper_errors({"completion": fake})
    assert len(papers) == 1 and "m = 2000" in papers[0].title
    assert papers[0].column("method") == ["nuclear", "depth 2", "depth 3"]
    assert papers[0].column("paper")[0] == "0.106"
    # 2000 = 2.05 dof, 5000 = 5.13 dof: our 60 = 3.16 dof is beyond the factor 1.3 of both
    assert ch.tables.paper_errors({"completion": sweep}) == []
    for table in (ch.tables.setup(p), ch.tables.transitions({"completion": sweep}),
                  ch.tables.zero_fill(sweep)):
        assert isinstance(table, Table) and table.rows
        assert max(len(line) for line in str(table).splitlines()) <= 80, str(table)


def test_nuclear_norm_test(p):
    res = lx.nuclear_norm_test(p, deep_depths=(3,))
    assert res.nuclear.shape == (2, 2) and res.deep_nuclear.shape == (1, 2)
    # the convex minimum is a lower bound for every interpolating solution (up to the slack)
    fit = res.converged
    lower = np.repeat(res.min_nuclear, 2).reshape(2, 2) * (1 - 1e-3)
    assert np.all(res.nuclear[fit] >= lower[fit])
    assert np.all(res.min_nuclear <= res.target_nuclear + 1e-3)
    # distances obey the triangle inequality through the ground truth:
    # |d(W, X) − d(W, W*)| ≤ d(X, W*)
    d = res.distance_to_min
    assert d.shape == (2, 2) and np.all(d >= 0)
    assert np.all(np.abs(d - np.sqrt(res.error)) <= np.sqrt(res.nn_error)[:, None] + 1e-12)
    assert res.mean_distance().shape == (2,) and res.deep_norm_ratio(3).shape == (2,)


def test_solver_agreement(results):
    res = results["solver_agreement"]
    assert res.nuclear.shape == (2, 2) and res.solvers == ("SCS", "ADMM")
    assert res.norm_gap.max() <= 1e-4 and res.distance.max() <= 1e-3


@pytest.mark.parametrize("kind", ["completion", "sensing"])
def test_stacks_of_any_size_give_the_same_numbers(p, kind):
    """Cutting a depth's runs into stacks (``stack``) changes the cost, not the solutions.

    Completion multiplies each run by itself: bit for bit. A sensing stack multiplies all its
    runs by the shared matrices in one compiled pass, whose rounding depends on which runs share
    it (four at a time, or the rest one by one); the escapes from the plateaus amplify that
    rounding, so the stopping step may move and a run stopped at the loss tolerance ends at a
    slightly different error. Measured on the 8×8 instance below (its m = 45 run of the second
    ground truth, alone in the cut stacks): within 1 % in error with OpenBLAS's Haswell kernel,
    up to 21 % (1.31e-5 against 1.06e-5) with the native AVX-512 kernel, the stop within 0.2 %;
    on an AMD CPU without AVX-512 (2026-12-04) 1.3236e-5 against 1.0593e-5 (25 %), the stop at
    step 3766 against 3795 (0.76 %), and in stacks of two, where that run shares its pass with
    another until step 1967, at 3792. Never enough to move a run across the chapter's recover
    (1e-3) or fail (1e-2) thresholds, nor to change which runs converge.
    """
    whole = lx.observation_sweep(p, kind, depths=(2,), nuclear=False)
    q = dataclasses.replace(p, **{kind: dataclasses.replace(getattr(p, kind), stack=3)})
    cut = lx.observation_sweep(q, kind, depths=(2,), nuclear=False)
    assert np.array_equal(whole.converged, cut.converged)
    assert np.all(np.abs(whole.steps - cut.steps) <= 0.01 * whole.steps)
    if kind == "completion":
        assert np.array_equal(whole.error, cut.error)
        return
    assert np.all(np.abs(np.log(cut.error / whole.error)) <= np.log(1.5))
    for level in (1e-3, 1e-2):
        assert np.array_equal(whole.error <= level, cut.error <= level)


def test_optimizer_comparison(results):
    res = results["optimizer_comparison"]
    assert res.distance.shape == (2, 2)
    assert res.gd.error.shape == res.normalized.error.shape == (2, 2)
    both = res.both_converged()
    assert both.any() and np.all(res.distance[both] < 0.05)
    assert len(res.curves) == 4 and res.error_ratio() >= 1


def test_results_round_trip_through_json(results):
    import json

    for name, result in results.items():
        back = decode(json.loads(json.dumps(encode(result, name))))
        assert _same(result, back), name


def test_checks_and_report(p, results):
    table = ch.CHAPTER.checks(p, results)
    assert isinstance(table, CheckTable) and len(table) >= 20
    names = [c.name for c in table]
    assert "completion-window" in names and "solvers-minimizer" in names
    assert "depth1-zero-fill" in names and "conj-depth3-erank" in names
    assert "inst-tail-falls" in names and "comm-schatten-excess" in names
    assert all(c.measured and c.expected for c in table)
    rep = ch.report(p, results)
    assert rep.chapter == "low_rank_bias" and rep.checks == table
    assert all(isinstance(t, Table) for t in rep.tables) and rep.tables
    for t in rep.tables:
        assert max(len(line) for line in str(t).splitlines()) <= 80, str(t)
    with pytest.raises(ValueError, match="lack the steps"):
        ch.report(p, {"completion": results["completion"]})


def test_a_check_fails_on_broken_results(p, results):
    # Depth 1 that does not end at the zero-fill error.
    sw = results["completion"]
    err = sw.error.copy()
    err[0] += 0.05
    broken = {**results, "completion": dataclasses.replace(sw, error=err)}
    row = ch.CHAPTER.checks(p, broken)["depth1-zero-fill"]
    assert not row.passed
    assert "measured 0.05" in row.message and "expected ≤ 0.01" in row.message
    # A depth-2 solution that sits on the nuclear-norm minimum.
    conj = results["nuclear_norm_test"]
    on_min = dataclasses.replace(conj, nuclear=np.repeat(conj.min_nuclear[:, None],
                                                         conj.nuclear.shape[1], axis=1))
    table = ch.CHAPTER.checks(p, {**results, "nuclear_norm_test": on_min})
    row = table["conj-gap"]
    assert not row.passed and "measured 0" in row.message and "expected > 0.001" in row.message
    with pytest.raises(AssertionError, match="conj-gap"):
        table.require()
    # Two solvers that disagree.
    agree = results["solver_agreement"]
    far = dataclasses.replace(agree, distance=agree.distance + 0.01)
    row = ch.CHAPTER.checks(p, {**results, "solver_agreement": far})["solvers-minimizer"]
    assert not row.passed and "expected ≤ 0.001" in row.message


def test_figures_draw(results):
    import matplotlib.pyplot as plt

    for step in ch.CHAPTER.steps:
        if step.figure is not None:
            fig = step.figure(results[step.name])
            assert fig.get_figwidth() <= 7
    fig = ch.figures.sweeps(results["completion"], results["sensing"])
    assert fig.get_figwidth() <= 7 and len(fig.axes) >= 2
    plt.close("all")


def test_explorer_runs_headless(p):
    import matplotlib.pyplot as plt

    r = lx.explorer_run(p, depth=2, init_scale=1e-3)
    assert r.sv.shape == (8,) and r.observations == 30 and 0 <= r.error
    assert _same(r, decode(encode(r)))
    fig = ch.explorer.figure(p, observations=25, depth=3, log10_init=-2.0, kind="sensing")
    assert len(fig.axes) == 2 and fig.get_figwidth() <= 7
    plt.close("all")


# A tiny instance study: 8×8 rank 1, three ground truths at one count.
TINY_STUDY = Studies(instances=Instance((8, 8), 1, (24,)), ground_truths=3)


def test_studies_live_outside_params():
    # The paper-scale record's fingerprint lists Params' fields: the studies add none.
    assert set(STUDIES) == {"default", "paper"}
    assert studies(DEFAULT) is STUDIES["default"] and studies(PAPER) is STUDIES["paper"]
    assert STUDIES["default"].ground_truths >= 10 and STUDIES["paper"].ground_truths >= 10
    assert STUDIES["paper"].instances.shape == (100, 100)
    c = Commuting()
    assert len(c.inits) == len(c.depths) and all(list(a) == sorted(a, reverse=True)
                                                 for a in c.inits)
    with pytest.raises(ValueError, match=r"p\.scale"):
        studies(dataclasses.replace(DEFAULT, scale="huge"))


def test_instance_study(p):
    st = lx.instance_study(p, TINY_STUDY)
    S = len(p.conjecture_init_scales)
    assert st.count == 3 and st.nuclear.shape == st.t.shape == (3, S)
    assert list(st.observations) == [24] * 3 and list(st.ground_truth) == [0, 1, 2]
    # ‖W‖_* − ‖W*‖_* splits into the tail and the top-r deficit
    assert np.allclose(st.gap(), st.tail - st.deficit())
    assert np.all(st.min_nuclear <= st.target_nuclear * (1 + 1e-3))
    assert set(st.direction()) <= {-1, 1} and st.rising().dtype == bool
    # the same study twice gives the same numbers (seeded)
    again = lx.instance_study(p, TINY_STUDY)
    assert np.array_equal(st.nuclear, again.nuclear) and np.array_equal(st.t, again.t)


def test_instance_check_fails_on_a_growing_tail(p, results):
    st = results["instances"]
    broken = dataclasses.replace(st, tail=st.tail[:, ::-1].copy())
    row = ch.CHAPTER.checks(p, {**results, "instances": broken})["inst-tail-falls"]
    assert not row.passed


def test_commuting_test_reaches_the_minimum_trace(results):
    ct = results["commuting"]
    assert ct.distance.shape == ct.inits.shape == (3, 3)
    assert abs(ct.min_trace - 2.0) < 1e-6 and ct.lp_trace == 2.0
    assert ct.off_diagonal == 0.0 and ct.rank_one_violation < 1e-12
    # Σλ^{2/N} of the rank-one fit vvᵀ, eigenvalues (2, 0, 0)
    assert np.allclose(ct.rank_one_schatten, [2.0, 2 ** (2 / 3), 2 ** 0.5])
    assert np.allclose(ct.commuting_schatten_distance, [0.0, *[np.sqrt(8.25 / 2)] * 2])
    assert np.all(np.diff(ct.distance, axis=1) < 0) and ct.final_distance().max() < 1e-2
    assert ct.schatten_excess()[ct.deep()].min() > 1.1


def test_commuting_checks_fail_outside_the_theorem(p, results):
    # A large start (α = 1, 0.5) is outside the theorem's α → 0: the runs fit the
    # measurements but end far from the minimum trace.
    far = Studies(commuting=Commuting(inits=((1.0, 0.5),) * 3))
    ct = lx.commuting_test(p, far)
    table = ch.CHAPTER.checks(p, {**results, "commuting": ct})
    assert table["comm-fitted"].passed
    assert not table["comm-trace"].passed and not table["comm-distance"].passed


def test_the_flow_integrator_reaches_the_sweeps_solutions(p, sweep):
    """integrator="flow" follows the normalized step's path with error control: the converged
    runs end at the same errors, and the optimizer is recorded (the chapter's check compares it
    with the integrator its scale names: the paper scale's completion runs the flow)."""
    fl = lx.observation_sweep(p, "completion", nuclear=False, integrator="flow")
    both = sweep.converged & fl.converged
    assert both.sum() >= both.size // 2
    assert np.allclose(fl.error[both], sweep.error[both], rtol=0.05, atol=1e-5)
    assert fl.optimizer == "flow" and sweep.optimizer == "normalized"
    with pytest.raises(ValueError, match="integrator"):
        lx.observation_sweep(p, "completion", integrator="euler")
    with pytest.raises(ValueError, match="integrator"):
        dataclasses.replace(p.completion, integrator="euler")
    assert PAPER.completion.integrator == "flow" and PAPER.sensing.integrator == "normalized"


def test_sensing_stacks_travel_as_recipes(p):
    """A sensing sweep sends its stacks to the workers as recipes (a few hundred bytes, not the
    design): each builds the very stack, in its dtype, that the chapter would have built here."""
    import pickle

    q = dataclasses.replace(p, sensing=dataclasses.replace(p.sensing, stack=3, dtype="float32"))
    grid = lx.make_problems(q, "sensing")
    order = [(g, k) for k in range(len(grid[0])) for g in range(len(grid))]
    flat = [grid[g][k] for g, k in order]
    whole = lx._SensingStack(q, tuple(q.sensing.observations), len(grid), tuple(order))
    for (part, here), (same, recipe) in zip(lx._stacks(q.sensing, flat),
                                            lx._stacks(q.sensing, flat, whole), strict=True):
        assert part == same and recipe.dtype == "float32"
        built = pickle.loads(pickle.dumps(recipe)).build()
        assert len(pickle.dumps(recipe)) < here.measurements.nbytes / 2
        assert built.shared and built.dtype == np.float32
        for name in ("target", "measurements", "weights", "observations"):
            assert np.array_equal(getattr(built, name), getattr(here, name)), name
    assert np.array_equal(whole.build().measurements, lx.stack_problems(flat).measurements)


def test_stacked_sensing_baseline_solves_each_problem(p):
    """The paper scale's convex baseline: one stacked ADMM unit for every sensing problem of a
    nested design (over-relaxed, lx._STACK_RELAX, with ρ's jump, lx._STACK_BOOST, which the
    m = 45 runs take: 45 ≥ 2·15) gives each problem its minimum-nuclear-norm solution, as
    CLARABEL solves it alone."""
    q = dataclasses.replace(p, solvers=("ADMM",))
    grid = lx.make_problems(q, "sensing")
    flat = [prob for row in grid for prob in row]
    (unit,) = lx._nuclear_units(q, flat)
    out = lx._work(unit)
    assert out["optimal"].all() and out["product"].shape == (len(flat), 8, 8)
    for b, prob in enumerate(flat):
        X, info = dm.min_nuclear_norm(prob, q.nuclear_tol, solvers=("CLARABEL",),
                                      return_info=True)
        assert abs(out["nuclear"][b] - info["nuclear_norm"]) <= 1e-5 * info["nuclear_norm"]
        assert np.linalg.norm(out["product"][b] - X) <= 1e-3 * np.linalg.norm(X)
