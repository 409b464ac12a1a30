"""The chapter *Beyond matrices: tensor factorization* (dmfnb/chapters/tensors)."""

import dataclasses
import json

import matplotlib
import numpy as np
import pytest

from dmfnb.chapters import tensors as ch
from dmfnb.chapters.tensors.compute import Incremental, Recovery, TheoremCheck
from dmfnb.chapters.tensors.params import DEFAULT, PAPER, SCALES, Params
from dmfnb.infra.report import CheckTable, Table
from dmfnb.infra.reproduce import decode, encode

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def p():
    """A fast version of the chapter's parameters."""
    return dataclasses.replace(
        DEFAULT, seeds=2, steps=2500, sweep_observed=(50, 200), sweep_stds=(1e-3, 1e-1),
        sweep_steps=2500, baseline_steps=2000, theorem_orders=(2, 3), explorer_steps=200)


@pytest.fixture(scope="module")
def results(p):
    """Every step of CHAPTER at the fast parameters, by step name."""
    out = {}
    for step in ch.CHAPTER.steps:
        out[step.name] = step.run(p, dict(out))
    return out


def test_params_frozen_and_paper_is_the_authors_setup():
    assert ch.params("default") is DEFAULT and ch.params("paper") is PAPER
    assert set(SCALES) == {"default", "paper"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.lr = 1.0  # type: ignore[misc]
    assert (PAPER.order, PAPER.dim, PAPER.truth_rank, PAPER.observed, PAPER.components,
            PAPER.init_std, PAPER.lr, PAPER.eps, PAPER.tol) == (
        4, 10, 5, 2000, 1000, 5e-3, 1e-2, 1e-6, 1e-8)
    assert (PAPER.dtype, PAPER.steps, PAPER.sweep_steps) == ("float32", 100_000, 50_000)
    assert DEFAULT.dtype == "float64"
    for q in (DEFAULT, PAPER):
        assert q.components > q.truth_rank and q.observed <= q.dim**q.order
        assert all(isinstance(getattr(q, f.name), tuple) for f in dataclasses.fields(Params)
                   if f.name.startswith(("sweep_observed", "sweep_stds", "theorem_orders")))


def test_results_have_the_documented_shapes(p, results):
    law, inc = results["theorem"], results["incremental"]
    assert isinstance(law, TheoremCheck) and law.gamma.shape == (2, 2, p.theorem_components)
    assert isinstance(inc, Incremental) and inc.norms.shape[1:] == (p.seeds, p.components)
    assert inc.rank().shape == inc.loss.shape and inc.rank()[0].max() == 0
    obs = results["observations"]
    assert isinstance(obs, Recovery) and obs.tensor.shape == (2, p.seeds)
    assert np.all(np.isfinite(obs.matrix)) and np.all(np.isnan(results["init"].matrix))


def test_sweeps_split_over_jobs_give_the_same_numbers(p, results, monkeypatch):
    # Two worker processes, every other run in each stack, and the baseline likewise in two
    # parts: every run starts from its own seed, so the numbers are those of the single stack,
    # to the last bit.
    monkeypatch.setenv("DMFNB_JOBS", "2")
    split = ch.compute.vs_observations(p)
    whole = results["observations"]
    for name in ("tensor", "matrix", "rank", "loss"):
        np.testing.assert_array_equal(getattr(split, name), getattr(whole, name), err_msg=name)


def test_flow_baseline_ends_where_the_normalized_step_does(p):
    # The paper scale's baseline integrates the unfolding's gradient flow to tol instead of
    # taking normalized steps: run long enough to pass tol, the step ends at the flow's
    # unobserved errors (measured: within 0.3%). The bound fails where either stops short:
    # the step after 2000 steps (one error 2.2× the flow's), the flow at tol 1e-6 (11% away).
    q = dataclasses.replace(p, tol=1e-8, baseline_steps=30_000)
    problems = [ch.compute.make_problem(q, m, s) for m in (50, 200) for s in range(2)]
    steps = ch.compute.unfolding_baseline(q, problems)
    by_flow = ch.compute.unfolding_baseline(
        dataclasses.replace(q, baseline_integrator="flow"), problems)
    np.testing.assert_allclose(by_flow, steps, rtol=2e-2)
    assert by_flow.min() > 0.1  # too few entries for a matrix: the baseline fails, as at scale


def test_parameters_refuse_a_baseline_they_cannot_run(p):
    # Refused when the parameters are made, before any run (the sweep's baseline comes after
    # its CP stacks).
    with pytest.raises(ValueError, match="tol"):
        dataclasses.replace(p, baseline_integrator="flow", tol=None)
    with pytest.raises(ValueError, match="baseline_integrator"):
        dataclasses.replace(p, baseline_integrator="rk4")
    with pytest.raises(ValueError, match="tol must be a positive"):
        dataclasses.replace(p, tol=0.0)
    assert dataclasses.replace(p, tol=None).baseline_integrator == "normalized"


def test_incremental_runs_split_over_jobs_give_the_same_records(p, monkeypatch):
    # Three runs in two parts, (0, 1) and (2), with a tol that runs 1 and 2 reach and run 0 does
    # not: the second part stops early. Put on the first part's grid (a stopped run is frozen),
    # the records are the single stack's, to the last bit.
    q = dataclasses.replace(p, seeds=3, tol=1e-9)
    whole = ch.compute.incremental(q)
    assert np.array_equal(whole.loss[-1] <= q.tol, [False, True, True])
    monkeypatch.setenv("DMFNB_JOBS", "2")
    split = ch.compute.incremental(q)
    for f in dataclasses.fields(whole):
        a, b = getattr(split, f.name), getattr(whole, f.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)


def test_results_round_trip_through_json(results):
    for name, result in results.items():
        back = decode(json.loads(json.dumps(encode(result))))
        assert type(back) is type(result), name
        for f in dataclasses.fields(result):
            a, b = getattr(result, f.name), getattr(back, f.name)
            if isinstance(a, np.ndarray):
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), (name, f.name)
            else:
                assert a == b, (name, f.name)


def test_checks_pass_on_the_runs(p, results):
    table = ch.checks.checks(p, results)
    assert isinstance(table, CheckTable)
    for name in ("law-balanced-2", "law-balanced-3", "law-fails-3", "law-general-3",
                 "law-matrix", "inc-plateaus",
                 "obs-few-fail", "init-error", "init-rank"):
        assert table[name].passed, table[name].message


def test_checks_fail_on_broken_results(p, results):
    law, inc = results["theorem"], results["incremental"]
    # A law off by 1 % from the balanced start, and a balanced "Gaussian" start
    measured = law.measured.copy()
    measured[:, 0] *= 1.01
    measured[:, 1] = law.balanced_law[:, 1]
    table = ch.checks.checks(p, {**results, "theorem": dataclasses.replace(law,
                                                                         measured=measured)})
    assert not table["law-balanced-3"].passed and not table["law-fails-3"].passed
    with pytest.raises(AssertionError, match="law-balanced-2"):
        table.require()
    # Two components learned together: the rank jumps by 2 at one record
    norms = inc.norms.copy()
    for b in range(inc.count):
        order = inc.learned(b)
        norms[:, b, order[1]] = norms[:, b, order[0]] * 0.9
    broken = dataclasses.replace(inc, norms=norms)
    bad = ch.checks.checks(p, {**results, "incremental": broken})
    assert not bad["inc-plateaus"].passed and not bad["inc-one-at-a-time"].passed
    # Errors that fall with the init scale
    init = results["init"]
    flipped = dataclasses.replace(init, tensor=init.tensor[::-1], rank=init.rank[::-1])
    bad = ch.checks.checks(p, {**results, "init": flipped})
    assert not bad["init-error"].passed and not bad["init-rank"].passed


def test_tables_fit_the_column(p, results):
    made = [ch.tables.settings(p), ch.tables.law(results["theorem"]),
            ch.tables.incremental(results["incremental"]),
            ch.tables.recovery(results["observations"]), ch.tables.recovery(results["init"]),
            *ch.tables.paper(p, results)]
    for t in made:
        assert isinstance(t, Table)
        cells = [list(t.columns), *t.cells()]
        width = sum(max(len(r[i]) for r in cells) for i in range(len(t.columns)))
        assert width + 2 * (len(t.columns) - 1) <= 80, t.title
        assert "<table" in t._repr_html_()


def test_report_and_figures(p, results, monkeypatch):
    import matplotlib.pyplot as plt

    monkeypatch.delenv("DMFNB_REPORTS", raising=False)
    rep = ch.report(p, results)
    assert rep.chapter == "tensors" and len(rep.tables) == 1
    figs = [step.figure(results[step.name]) for step in ch.CHAPTER.steps if step.figure]
    figs.append(ch.explorer.figure(p, order=2, log10_std=-2.0, observed=40))
    for fig in figs:
        assert fig.get_size_inches()[0] <= 7.0
        plt.close(fig)
    ch.explorer.explorer(p)
    plt.close("all")
