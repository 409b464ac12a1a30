import dataclasses
import json

import matplotlib
import numpy as np
import pytest

import dmfnb as dm
from dmfnb.chapters import reduced_rank as ch
from dmfnb.chapters.reduced_rank import compute as cp
from dmfnb.chapters.reduced_rank.params import DEFAULT, PAPER, SCALES, Params
from dmfnb.infra.report import CheckTable, Table
from dmfnb.infra.reproduce import decode, encode

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def p():
    # The default scale runs in seconds and is the regime the checks are written for.
    return DEFAULT


@pytest.fixture(scope="module")
def results(p):
    out = {}
    for step in ch.CHAPTER.steps:
        out[step.name] = step.run(p, out)
    return out


def _small(**overrides) -> Params:
    """A small, fast version of the chapter's parameters (the explorer's tests)."""
    values = dict(strengths=(1.0, 0.5, 0.25), input_variances=(1.2, 1.0, 0.8, 1.1, 0.9),
                  d_out=4, num_samples=30, steps=400, small_lr_steps=2500,
                  small_lr_fraction=0.05, lr_sweep=(0.5, 1.05), rotations=(0.0, 1.5))
    values.update(overrides)
    return dataclasses.replace(DEFAULT, **values)


# ---- parameters


def test_params_are_frozen_and_paper_differs_only_where_intended():
    assert ch.params("default") is DEFAULT and ch.params("paper") is PAPER
    assert set(SCALES) == {"default", "paper"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.steps = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        PAPER.d_out = 3  # type: ignore[misc]
    differ = {f.name for f in dataclasses.fields(Params)
              if getattr(DEFAULT, f.name) != getattr(PAPER, f.name)}
    assert differ == {"scale", "strengths", "input_variances", "d_out", "num_samples",
                      "eps_values", "steps", "small_lr_steps"}
    assert DEFAULT.scale == "default" and PAPER.scale == "paper"
    for q in (DEFAULT, PAPER):
        assert all(isinstance(getattr(q, f), tuple)
                   for f in ("strengths", "input_variances", "eps_values", "lr_sweep",
                             "rotations"))
        assert len(q.input_variances) >= len(q.strengths)
        assert list(q.strengths) == sorted(q.strengths, reverse=True)
        assert list(q.eps_values) == sorted(q.eps_values, reverse=True)
        assert q.rotations[0] == 0
        assert dm.regression_modes(cp.make_problem(q)).orders_agree


# ---- experiments


def test_closed_form_matches_direct_fit(results):
    out = results["closed_form_vs_direct"]
    assert np.all(out.distance < 1e-4)
    assert np.allclose(out.loss_closed, out.loss_direct, rtol=1e-8)
    assert out.data.defect < 1e-12 and out.data.orders_agree


def test_staircase_passes_reduced_rank_solutions(p, results):
    out = results["staircase"]
    ratio = out.run.plateau_ratio
    assert ratio.shape == (len(p.eps_values), len(p.strengths) - 1)
    assert np.all(out.ratios() < 1e-2)
    assert np.array_equal(out.ratios(), out.ratios(1e-8))
    assert np.all(np.diff(ratio, axis=0) < 0)  # closer as ε shrinks
    assert np.allclose(out.slopes * np.log1p(out.lr * out.run.strengths), 1, rtol=0.01)
    assert out.run.final_excess[-1] < 1e-8
    # same numbers twice
    assert np.array_equal(out.run.escape, cp.staircase(p).run.escape)
    with pytest.raises(KeyError, match="no run at"):
        out.run.index(0.5)


def test_one_layer_learns_everything_at_once(results):
    out = results["one_layer"]
    assert out.depth == 1
    assert np.all(out.plateau_ratio > 0.3)
    assert np.allclose(out.escape[0], out.escape[-1], atol=1e-2)


def test_escape_scaling(results):
    out = results["escape_scaling"]
    assert out.flow_exponent == pytest.approx(-1.0, abs=0.03)
    assert np.allclose(out.large.slopes, out.large.discrete, rtol=0.01)
    assert out.continuous_miss() > 0.2


def test_step_size_sweep_and_violation(results):
    sweep = results["step_size_sweep"]
    good, bad = sweep.by_fraction()[0], sweep.by_fraction()[-1]
    assert sweep.at(0.5) is good and bad.fraction > 1
    assert good.final_excess < 1e-8 and np.all(good.plateau_ratio < 1e-2)
    assert bad.diverged or bad.final_excess > 1e-6
    viol = results["assumption_violation"]
    assert viol.aligned.defect < 1e-12 < viol.rotated.defect
    assert viol.farther() > 1


def test_run_dynamics_with_own_references():
    # The exercise's use: a problem of its own and references of its choosing.
    mis = dm.synthetic_regression([1.0, 0.8], [4.0, 1.0], d_out=2, seed=0)
    W_tilde, W_hat = dm.mode_solution(mis, 1), dm.reduced_rank_solution(mis, 1)
    refs = np.stack([np.zeros_like(W_hat), W_tilde, W_hat, mis.ols_solution])
    run = cp.run_dynamics(mis, eps_values=[1e-16], lr=0.5 * dm.stability_limit(mis),
                          steps=800, references=refs)
    d = run.distances[:, 0].min(axis=0) / np.linalg.norm(W_hat)
    assert d[1] < 1e-2 and d[2] > 0.2  # passes W̃_1, never near Ŵ_1


# ---- results as data


def test_every_result_round_trips_through_json(results):
    for name, result in results.items():
        data = json.loads(json.dumps(encode(result, name)))
        back = decode(data)
        assert type(back) is type(result), name
        # Compared as JSON text: NaN (an escape that never happened) equals itself there.
        assert json.dumps(encode(back, name)) == json.dumps(encode(result, name)), name
    sw = decode(json.loads(json.dumps(encode(results["step_size_sweep"]))))
    assert isinstance(sw.runs, tuple) and sw.runs[0].fraction == DEFAULT.lr_sweep[0]


def test_small_problem_keeps_the_staircase():
    # A smaller instance than the chapter's: the staircase and the one-layer contrast hold.
    q = _small()
    st, one = cp.staircase(q), cp.one_layer(q)
    assert st.run.plateau_ratio.shape == (3, 2) and np.all(st.ratios() < 1e-2)
    assert np.all(one.plateau_ratio > 0.3)


# ---- checks, tables, figures


def test_checks_pass_on_the_results(p, results):
    table = ch.CHAPTER.checks(p, results)
    assert isinstance(table, CheckTable)
    assert len(table) == 26
    table.require()


def test_checks_fail_on_broken_results(p, results):
    # A large step on the "aligned" covariances blurs the plateaus: the plateau check fails.
    st = results["staircase"]
    blurred = dataclasses.replace(st.run, plateau_ratio=st.run.plateau_ratio * 1e3)
    broken = {**results, "staircase": dataclasses.replace(st, run=blurred)}
    table = ch.CHAPTER.checks(p, broken)
    row = table["plateaus"]
    assert not row.passed
    assert "measured" in row.message and "expected < 0.01" in row.message
    # A one-layer run that did visit an intermediate Ŵ_k.
    one = results["one_layer"]
    near = dataclasses.replace(one, plateau_ratio=one.plateau_ratio * 1e-3)
    table = ch.CHAPTER.checks(p, {**results, "one_layer": near})
    assert not table["one-layer-far"].passed
    # A run above the limit that converged after all.
    sw = results["step_size_sweep"]
    calm = dataclasses.replace(sw.runs[-1], final_excess=0.0, diverged=False)
    fixed = dataclasses.replace(sw, runs=(*sw.runs[:-1], calm))
    row = ch.CHAPTER.checks(p, {**results, "step_size_sweep": fixed})["above-limit"]
    assert not row.passed and "measured 0, expected > 0.0001 or divergence" in row.message
    with pytest.raises(AssertionError, match="above-limit"):
        ch.CHAPTER.checks(p, {**results, "step_size_sweep": fixed}).require()


def test_report_and_paper_tables(p, results, tmp_path, monkeypatch):
    monkeypatch.setenv("DMFNB_REPORTS", str(tmp_path))
    rep = ch.report(p, results)
    assert rep.checks.passed and rep.scale == "default"
    assert all(isinstance(t, Table) for t in rep.tables)
    assert (tmp_path / "reduced_rank-default.json").exists()
    for t in rep.tables:
        assert t.columns == ("quantity", "ours", "paper")
        assert max(len(line) for line in str(t).splitlines()) <= 80


def test_tables(p, results):
    cf, st, one = (results[k] for k in ("closed_form_vs_direct", "staircase", "one_layer"))
    sc, sw, vi = (results[k] for k in ("escape_scaling", "step_size_sweep",
                                       "assumption_violation"))
    tables = [ch.tables.data(cf.data), ch.tables.modes(cf.data), ch.tables.direct_fit(cf),
              ch.tables.escape(st), ch.tables.plateau(st, one), ch.tables.scaling(sc),
              ch.tables.step_size(sw), ch.tables.violation(vi)]
    for t in tables:
        assert isinstance(t, Table)
        t._repr_html_()
        rows = str(t).splitlines()[1:-1] if t.note else str(t).splitlines()[1:]
        assert max(len(line) for line in rows) <= 80, t.title
    assert len(ch.tables.step_size(sw).rows) == len(p.lr_sweep)
    assert len(ch.tables.escape(st).rows) == len(p.strengths)
    assert len(ch.tables.plateau(st, one).rows) == 2 * len(p.eps_values) + 1
    numbers = ch.tables.numbers(p, results)
    assert numbers["modes"] == len(p.strengths)
    assert all(np.isfinite(v) for v in numbers.values() if isinstance(v, float))


def test_figures(results):
    import matplotlib.pyplot as plt

    figs = [ch.figures.staircase(results["staircase"]),
            ch.figures.distances(results["staircase"], results["one_layer"]),
            ch.figures.escape_scaling(results["escape_scaling"]),
            ch.figures.step_sizes(results["step_size_sweep"]),
            ch.figures.violation(results["assumption_violation"])]
    for fig in figs:
        assert fig.get_size_inches()[0] <= 7.0
        plt.close(fig)


def test_explorer_runs_headless():
    ch.explorer.explorer(_small())


def test_explorer_figure_variants():
    import matplotlib.pyplot as plt

    p = _small()
    for kw in ({"depth": 1}, {"rotation": 1.0, "log10_eps": -4.0}, {"lr_fraction": 1.05}):
        fig = ch.explorer.figure(p, **kw)
        assert len(fig.axes) == 2 and fig.get_size_inches()[0] <= 7.0
        plt.close(fig)
