from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

import dmfnb as dm
from dmfnb.experiments import reduced_rank as rr

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def p():
    """A small, fast version of the chapter's parameters."""
    base = vars(dm.params("reduced_rank", "default")).copy()
    base.update(strengths=(1.0, 0.5, 0.25), input_variances=(1.2, 1.0, 0.8, 1.1, 0.9), d_out=4,
                num_samples=30, eps_values=(1e-2, 1e-4, 1e-8), steps=400, small_lr_steps=2500,
                small_lr_fraction=0.05, lr_sweep=(0.5, 1.05), rotations=(0.0, 1.5))
    return SimpleNamespace(**base)


def test_params_exist_for_both_scales():
    for scale in dm.scales.SCALES:
        q = dm.params("reduced_rank", scale)
        assert len(q.input_variances) >= len(q.strengths)
        assert list(q.strengths) == sorted(q.strengths, reverse=True)
        prob = rr.make_problem(q)
        assert dm.regression_modes(prob).orders_agree


def test_closed_form_matches_direct_fit(p):
    out = rr.closed_form_vs_direct(p)
    assert np.all(out["distance"] < 1e-4)
    assert np.allclose(out["loss_closed"], out["loss_direct"], rtol=1e-8)


def test_staircase_passes_reduced_rank_solutions(p):
    out = rr.staircase(p)
    ratio = out["plateau_ratio"]
    assert ratio.shape == (3, 2)
    assert np.all(ratio[-1] < 1e-2)
    assert np.all(np.diff(ratio, axis=0) < 0)  # closer as ε shrinks
    assert np.allclose(out["slopes"] * np.log1p(out["lr"] * out["strengths"]), 1, rtol=0.01)
    assert out["final_excess"][-1] < 1e-8
    # same numbers twice
    assert np.array_equal(out["escape"], rr.staircase(p)["escape"])


def test_one_layer_learns_everything_at_once(p):
    out = rr.one_layer(p)
    assert np.all(out["plateau_ratio"] > 0.3)
    assert np.allclose(out["escape"][0], out["escape"][-1], atol=1e-2)


def test_escape_scaling(p):
    out = rr.escape_scaling(p)
    assert out["flow_exponent"] == pytest.approx(-1.0, abs=0.03)
    large = out["large"]
    assert np.allclose(large["slopes"], large["discrete"], rtol=0.01)
    assert abs(large["slopes"][0] / large["continuous"][0] - 1) > 0.2


def test_step_size_sweep_and_violation(p):
    sweep = rr.step_size_sweep(p)
    good, bad = sweep["runs"]
    assert good["final_excess"] < 1e-8 and np.all(good["plateau_ratio"] < 1e-2)
    assert bad["diverged"] or bad["final_excess"] > 1e-6
    viol = rr.assumption_violation(p)
    aligned, rotated = viol["runs"]
    assert aligned["defect"] < 1e-12 < rotated["defect"]


def test_explorer_runs_headless(p):
    rr.explorer(p)


def test_explorer_figure_variants(p):
    import matplotlib.pyplot as plt

    for kw in ({"depth": 1}, {"rotation": 1.0, "log10_eps": -4.0}, {"lr_fraction": 1.05}):
        fig = rr.explorer_figure(p, **kw)
        assert len(fig.axes) == 2
        plt.close(fig)


def test_tables_and_summary(p):
    problem = rr.make_problem(p)
    cfd, st, one = rr.closed_form_vs_direct(p), rr.staircase(p), rr.one_layer(p)
    sc, sw, vi = rr.escape_scaling(p), rr.step_size_sweep(p), rr.assumption_violation(p)
    texts = [rr.modes_table(problem), rr.direct_fit_table(cfd), rr.escape_table(st),
             rr.plateau_table(st, one), rr.scaling_table(sc), rr.step_size_table(sw),
             rr.violation_table(vi), rr.summary(problem, cfd, st, one, sc, sw, vi)]
    for text in texts:
        assert max(len(line) for line in text.splitlines()) <= 90
    assert len(rr.step_size_table(sw).splitlines()) == 2 + len(p.lr_sweep)
    assert len(rr.escape_table(st).splitlines()) == 2 + len(p.strengths)
