"""Tests of the chapter *How singular values move* (small, fast versions of its experiments)."""

import dataclasses
import json

import matplotlib
import numpy as np
import pytest

import dmfnb as dm
from dmfnb.chapters import singular_values as ch
from dmfnb.chapters.singular_values import compute as ex
from dmfnb.chapters.singular_values.params import DEFAULT, PAPER, SCALES
from dmfnb.infra.report import CheckFailure, CheckTable, Table
from dmfnb.infra.reproduce import decode, encode

matplotlib.use("Agg")

replace = dataclasses.replace


def _small(**over):
    """The chapter's default parameters, shrunk so each experiment runs in well under a second."""
    p = DEFAULT
    return replace(
        p,
        rate=replace(p.rate, lrs=(1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2), lr=1e-6),
        trajectory=replace(p.trajectory, size=16, rank=2, observations=120, steps=3000,
                           every=50),
        exact=replace(p.exact, shape=(3, 2), strengths=(1.5, 1.0), depths=(2, 3),
                      init_scale=1e-2, lr=1e-3, records=200),
        plateau=replace(p.plateau, inits=(1e-2, 1e-3, 1e-4, 1e-5), depths=(1, 2, 3),
                        steps=2000),
        completion=replace(p.completion, size=12, rank=2, observations=80, steps=4000,
                           record=50, lr=0.05),
        **over,
    )


@pytest.fixture(scope="module")
def results():
    p = _small()
    out = {}
    for step in ch.CHAPTER.steps:
        out[step.name] = step.run(p, out)
    return out


# ---- parameters ------------------------------------------------------------------------------

def test_params_are_frozen_and_paper_differs_only_in_the_run_sizes():
    assert ch.params("default") is DEFAULT and ch.params("paper") is PAPER
    assert SCALES == {"default": DEFAULT, "paper": PAPER}
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.scale = "paper"
    with pytest.raises(dataclasses.FrozenInstanceError):
        PAPER.completion.size = 3
    for f in dataclasses.fields(DEFAULT):
        block = getattr(DEFAULT, f.name)
        if dataclasses.is_dataclass(block):
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(block, dataclasses.fields(block)[0].name, None)
    differ = {f.name for f in dataclasses.fields(DEFAULT)
              if getattr(DEFAULT, f.name) != getattr(PAPER, f.name)}
    assert differ == {"scale", "trajectory", "completion"}
    c, pc = DEFAULT.completion, PAPER.completion
    changed = {f.name for f in dataclasses.fields(c) if getattr(c, f.name) != getattr(pc, f.name)}
    # The same error bound at both scales: the paper run is longer instead (see params.py).
    assert changed == {"size", "rank", "observations", "record", "steps"}
    assert pc.error_tol == c.error_tol == 1e-3
    # the authors' dynamics figure: 100×100 rank 5, m = 2000, GD lr 0.01 from 1e-3·I, 2e5 steps
    assert (pc.size, pc.rank, pc.observations) == (100, 5, 2000)
    assert (pc.lr, pc.init_scale, pc.authors_steps) == (0.01, 1e-3, 200_000)
    assert pc.steps > pc.authors_steps
    t, pt = DEFAULT.trajectory, PAPER.trajectory
    changed = {f.name for f in dataclasses.fields(t) if getattr(t, f.name) != getattr(pt, f.name)}
    assert changed == {"size", "rank", "observations", "steps", "every"}


def test_params_sequences_are_tuples():
    for block in (DEFAULT.rate, DEFAULT.vectors, DEFAULT.trajectory, DEFAULT.exact,
                  DEFAULT.plateau, DEFAULT.completion):
        for f in dataclasses.fields(block):
            assert not isinstance(getattr(block, f.name), list), f.name


# ---- compute ---------------------------------------------------------------------------------

def test_unbalance_keeps_the_product_and_breaks_balance():
    fs = dm.init_factors((5, 4), 3, scale=1.0, kind="balanced", seed=0)
    un = ex.unbalance(fs, 0.5, seed=1)
    np.testing.assert_allclose(dm.product(un), dm.product(fs), atol=1e-12)
    assert dm.balancedness(fs) < 1e-12 < 1e-2 < dm.balancedness(un)
    one = dm.init_factors((5, 4), 1, scale=1.0, kind="balanced", seed=0)
    np.testing.assert_array_equal(ex.unbalance(one, 0.5, seed=1)[0], one[0])


def test_rate_check_balanced_small_unbalanced_large(results):
    res = results["rate_check"]
    assert res.table_lr == 1e-6
    for d in res.depths:
        assert res.sigma_error_at(d) < 1e-4
        assert res.matrix_error_at(d) < 1e-4
    assert np.isnan(res.sweep(1, "unbalanced")).all()  # depth 1: nothing to unbalance
    assert 1 not in res.examples["unbalanced"]
    assert res.unbalanced_depths() == (2, 3, 4)
    assert min(res.unbalanced_range()) > 1e-2
    for d in res.unbalanced_depths():
        assert 0.9 <= res.order(d, (1e-5, 1e-2)) <= 1.1


def test_rate_check_is_deterministic(results):
    again = ex.rate_check(_small())
    for kind in ex.KINDS:
        np.testing.assert_array_equal(again.sigma_error[kind],
                                      results["rate_check"].sigma_error[kind])


def test_vector_check_balanced_small_unbalanced_large(results):
    res = results["vector_check"]
    assert res.shapes == ((6, 6), (6, 4)) and res.depths == (2, 3, 4)
    assert res.balanced_max() < 1e-4
    assert res.unbalanced_min() > 1e-2
    for shape in res.shapes:
        for d in res.depths:
            assert 0.9 <= res.order(shape, d) <= 1.1


def test_factor_flow_is_the_end_to_end_rate_only_when_balanced():
    from dmfnb.theory.dynamics import end_to_end_rate

    target = dm.low_rank_target((5, 4), 2, seed=0)
    problem = dm.SensingProblem.random(target, 20, seed=1)
    fs = dm.init_factors((5, 4), 3, scale=1.0, kind="balanced", seed=2)
    W = dm.product(fs)
    rate = end_to_end_rate(W, problem.gradient(W), 3)
    np.testing.assert_allclose(ex.factor_flow(problem, fs), rate, atol=1e-10)
    un = ex.unbalance(fs, 0.5, seed=3)
    gap = np.linalg.norm(ex.factor_flow(problem, un) - rate) / np.linalg.norm(rate)
    assert gap > 1e-2


def test_trajectory_probe_rate_fades_in_and_gradient_aligns(results):
    res = results["trajectory_probe"]
    assert res.depths == (2, 3) and res.rank == 2
    for d, run in res.runs.items():
        assert run.sigma.shape == (len(run.steps), 3)
        # the absolute imbalance is conserved, the relative one falls as the factors grow
        assert run.conservation_gap() < 0.05
        assert run.imbalance_rel[-1] < 0.1 * run.imbalance_rel[0]
        assert res.early_error(d) > 0.1 > 1e-2 > res.late_error(d)
        assert np.all(res.lift_ratios(d) < 0.5) and run.off_ratio[0] > 0.5


def test_predicted_lift_steps_and_error_at(results):
    pred = ex.predicted_lift_steps(DEFAULT, 3)
    assert pred.shape == (DEFAULT.completion.rank,) and np.all(np.diff(pred) > 0)
    # n = 100 moves each mode ≈ 3× slower per step than n = 40 (κσ* = 2σ*/n²)
    assert ex.predicted_lift_steps(PAPER, 3)[-1] > 2 * pred[-1]
    run = results["completion_dynamics"].runs[3]
    assert run.error_at(0) == run.error[0] and run.error_at(10 ** 9) == run.final_error
    assert run.error_at(int(run.steps[3])) == run.error[3]


def test_exact_modes_follow_theory(results):
    res = results["exact_modes"]
    assert res.depths == (2, 3)
    for run in res.runs.values():
        assert run.max_deviation() < 0.01
        assert 1.6 < run.doubling_ratio() < 2.4
        np.testing.assert_allclose(run.sigma[-1], res.strengths, rtol=0.02)
    run = res.runs[3]
    s = res.strengths[-1]
    assert run.crossing(1, s / 2) == pytest.approx(dm.mode_time(s, res.u0, s / 2, 3), rel=1e-2)


def test_crossing_time_interpolates():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    v = np.array([[0.0, 5.0], [1.0, 5.0], [3.0, 5.0], [4.0, 5.0]])
    np.testing.assert_allclose(ex.crossing_time(t, v, [2.0, 5.0]), [1.5, 0.0])
    assert np.isnan(ex.crossing_time(t, v[:, 0], 10.0)[0])


def test_fit_plateau_law_recovers_synthetic_laws():
    u0 = np.logspace(-2, -6, 9)
    f3 = ex.fit_plateau_law(u0, 2.0 * u0 ** (-1 / 3) - 0.7, 3)
    assert f3.law == "power"
    assert f3.exponent == pytest.approx(1 / 3, rel=1e-6)
    assert f3.a == pytest.approx(2.0, rel=1e-6)
    f2 = ex.fit_plateau_law(u0, 0.25 * np.log(1 / u0) + 0.1, 2)
    assert f2.law == "log" and f2.exponent is None
    assert f2.a == pytest.approx(0.25) and f2.b == pytest.approx(0.1)


def test_plateau_sweep_matches_mode_time_and_law(results):
    res = results["plateau_sweep"]
    assert res.measured.shape == res.predicted.shape == (3, 4)
    np.testing.assert_allclose(res.measured, res.predicted, rtol=5e-3)
    assert set(res.fits) == {2, 3}
    assert res.fits[2].a == pytest.approx(res.theory_slope(), rel=0.05)
    assert res.fits[3].exponent == pytest.approx(res.theory_exponent(3), rel=0.05)
    assert res.growth(1) < 1.05 < res.growth(3)


def test_completion_dynamics_small(results):
    p = _small()
    res = results["completion_dynamics"]
    assert res.depths == p.completion.depths
    # depth 1 moves only the observed entries: its error approaches the zero-fill error
    assert res.zero_fill_gap(1) < 0.05
    for run in res.runs.values():
        assert run.sigma.shape == (len(run.steps), p.completion.top_k)
        assert 1 <= run.lifted <= p.completion.top_k
        assert len(run.half_steps) == min(run.lifted, p.completion.top_k)


def test_mode_curves_and_explorer_headless():
    import matplotlib.pyplot as plt

    p = _small()
    c = ex.mode_curves(p, 3, 1e-3, 1.0)
    assert c.t_half == pytest.approx(dm.mode_time(1.0, 1e-3, 0.5, 3))
    assert set(c.u) == set(p.explorer.others) | {3}
    c6 = ex.mode_curves(p, 6, 1e-3, 1.0, log_time=True)
    assert 6 in c6.u and c6.t[0] == 0 and c6.t[1] > 0
    fig = ch.explorer.figure(p, depth=2, log10_init=-4, strength=2.0)
    assert fig.get_size_inches()[0] <= 7
    ch.explorer.explorer(p)
    plt.close("all")


# ---- results as data -------------------------------------------------------------------------

def test_results_of_each_step_round_trip_through_json(results):
    for name, res in results.items():
        text = json.dumps(encode(res, name))
        back = decode(json.loads(text))
        assert type(back) is type(res)
        assert json.dumps(encode(back, name)) == text, name
    back = decode(json.loads(json.dumps(encode(results["plateau_sweep"]))))
    assert back.depths == results["plateau_sweep"].depths
    assert back.fits[3] == results["plateau_sweep"].fits[3]


def test_tables_figures_and_report(results):
    import matplotlib.pyplot as plt

    p = _small()
    for step in ch.CHAPTER.steps:
        if step.figure is None:  # vector_check: a table only
            continue
        fig = step.figure(results[step.name])
        w, _ = fig.get_size_inches()
        assert w <= 7.0
        assert all(ax.get_gridspec().ncols <= 2 for ax in fig.axes)
        plt.close(fig)
    for fig in (ch.figures.trajectory_rate(results["trajectory_probe"]),
                ch.figures.alignment(results["trajectory_probe"], align_tol=0.5)):
        assert fig.get_size_inches()[0] <= 7.0
        assert all(ax.get_gridspec().ncols <= 2 for ax in fig.axes)
        plt.close(fig)
    tables = [ch.tables.rate(results["rate_check"]), ch.tables.exact(results["exact_modes"]),
              ch.tables.vectors(results["vector_check"]),
              ch.tables.trajectory_rate(results["trajectory_probe"]),
              ch.tables.alignment(results["trajectory_probe"]),
              ch.tables.plateau_times(results["plateau_sweep"]),
              ch.tables.plateau_fits(results["plateau_sweep"]),
              ch.tables.completion(results["completion_dynamics"]),
              ch.tables.final_singular_values(results["completion_dynamics"], 1e-2)]
    for t in tables:
        assert isinstance(t, Table) and len(t.rows) >= 2
        assert max(len(line) for line in str(t).splitlines()) <= 80, t.title
        assert t._repr_html_().startswith("<")
    rep = ch.report(p, results)
    assert isinstance(rep.checks, CheckTable)
    assert len(rep.tables) == 2
    assert all(t.columns == ("quantity", "ours", "paper") for t in rep.tables)
    assert any("depth 3 lifted" in r[0] for r in rep.tables[1].rows)
    names = [c.name for c in rep.checks]
    assert {"rate-sigma-1", "rate-unbalanced-2", "exact-order-3", "plateau-law-3",
            "completion-rank-3", "completion-stagger-3", "vector-3", "vector-unbalanced-4",
            "traj-rate-late-3", "traj-conserved-2", "align-lift-2", "align-init-3"} <= set(names)


def test_checks_pass_on_the_small_run_where_the_theory_applies(results):
    table = ch.checks.checks(_small(), results)
    rate_and_modes = [c for c in table if c.name.startswith(
        ("rate-", "vector-", "traj-", "align-", "exact-", "plateau-"))]
    assert all(c.passed for c in rate_and_modes), [c.message for c in table.failed]


# ---- every check can fail ------------------------------------------------------------------

def test_a_balanced_start_passed_off_as_unbalanced_fails_the_rate_check(results):
    # Swap in the balanced errors where the unbalanced ones belong: the formula now "matches"
    # from the unbalanced start, which the check must reject.
    res = results["rate_check"]
    broken = replace(res, sigma_error={"balanced": res.sigma_error["balanced"],
                                       "unbalanced": res.sigma_error["balanced"]})
    table = ch.checks.checks(_small(), {**results, "rate_check": broken})
    failed = {c.name: c for c in table.failed if c.name.startswith("rate-")}
    assert set(failed) == {"rate-unbalanced-2", "rate-unbalanced-3", "rate-unbalanced-4"}
    msg = failed["rate-unbalanced-3"].message
    assert "measured" in msg and "expected > 0.01" in msg
    with pytest.raises(CheckFailure, match="rate-unbalanced-2"):
        table.require()


def test_balanced_starts_as_the_unbalanced_input_fail_the_vector_check(results):
    # A deliberately broken input: unbalance = 0 leaves the "unbalanced" starts balanced, so
    # the formula matches there too and the rows that demand it fail must fail.
    p = _small()
    broken = replace(p, vectors=replace(p.vectors, unbalance=0.0))
    vec = ex.vector_check(broken)
    assert vec.unbalanced_min() < 1e-4
    table = ch.checks.checks(broken, {**results, "vector_check": vec})
    failed = {c.name for c in table.failed if c.name.startswith("vector-")}
    assert failed == {"vector-unbalanced-2", "vector-unbalanced-3", "vector-unbalanced-4"}


def test_a_balanced_start_and_a_large_step_fail_the_trajectory_checks(results):
    p = _small()
    # A balanced start where the chapter uses the authors' Gaussian one: the formula is
    # right from t = 0, so the row saying it is off at the start must fail.
    res = results["trajectory_probe"]
    run = res.runs[2]
    bal = replace(run, rate_error=np.full_like(run.rate_error, 1e-8))
    # A gradient whose off-diagonal mass matches its diagonal: no alignment at the lifts.
    flat = replace(res.runs[3], off_mean=res.runs[3].diag_mean)
    broken = replace(res, runs={2: bal, 3: flat})
    failed = {c.name for c in ch.checks.checks(p, {**results, "trajectory_probe": broken}).failed}
    assert {"traj-rate-early-2", "align-lift-3"} <= failed
    assert "traj-rate-late-2" not in failed
    # A step far from the flow (lr 5×) breaks the conservation of the imbalance.
    big = replace(p, trajectory=replace(p.trajectory, lr=0.6, steps=300, depths=(3,)))
    run = ex.trajectory_probe(big).runs[3]
    assert run.conservation_gap() > big.trajectory.conserve_tol


def test_perturbed_results_fail_their_checks(results):
    p = _small()
    exact = results["exact_modes"]
    run = exact.runs[2]
    # A gap that does not grow with η is not GD's discretization error.
    bad_run = replace(run, deviation_double=run.deviation)
    plat = results["plateau_sweep"]
    # A depth-3 exponent 10% off the theory's 1/3.
    fits = {**plat.fits, 3: replace(plat.fits[3], exponent=1.1 / 3)}
    comp = results["completion_dynamics"]
    # Depth 3 lifting one value too many.
    runs = {**comp.runs, 3: replace(comp.runs[3], lifted=comp.rank + 1)}
    broken = {**results, "exact_modes": replace(exact, runs={**exact.runs, 2: bad_run}),
              "plateau_sweep": replace(plat, fits=fits),
              "completion_dynamics": replace(comp, runs=runs)}
    failed = {c.name: c for c in ch.checks.checks(p, broken).failed}
    assert {"exact-order-2", "plateau-law-3", "completion-rank-3"} <= set(failed)
    assert failed["exact-order-2"].measured == "1.000"
    assert "expected in [1.7, 2.3]" in failed["exact-order-2"].message
    assert "0.3667 (off 10.00%)" in failed["plateau-law-3"].message
    assert failed["completion-rank-3"].message.endswith(
        f"measured {comp.rank + 1}, expected = {comp.rank}")
