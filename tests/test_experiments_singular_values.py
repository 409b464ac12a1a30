"""Tests of the experiments of the chapter *How singular values move* (small, fast versions)."""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

import dmfnb as dm
from dmfnb.experiments import singular_values as ex

matplotlib.use("Agg")


def _small(**over):
    """The chapter's default parameters, shrunk so each experiment runs in well under a second."""
    p = vars(dm.params("singular_values", "default")).copy()
    p.update(
        rate_lrs=(1e-7, 1e-6, 1e-4), rate_lr=1e-6,
        exact_shape=(3, 2), exact_strengths=(1.5, 1.0), exact_depths=(2, 3), exact_init_scale=1e-2,
        exact_lr=1e-3, exact_records=200,
        plateau_inits=(1e-2, 1e-3, 1e-4, 1e-5), plateau_depths=(1, 2, 3), plateau_steps=2000,
        dyn_size=12, dyn_rank=2, dyn_observations=80, dyn_steps=4000, dyn_record=50, dyn_lr=0.05,
    )
    p.update(over)
    return SimpleNamespace(**p)


def test_params_have_every_key_at_both_scales():
    d, pp = dm.params("singular_values", "default"), dm.params("singular_values", "paper")
    assert vars(d).keys() == vars(pp).keys()
    assert (pp.dyn_size, pp.dyn_rank, pp.dyn_observations) == (100, 5, 2000)
    assert (pp.dyn_lr, pp.dyn_init_scale, pp.dyn_steps) == (0.01, 1e-3, 200_000)


def test_unbalance_keeps_the_product_and_breaks_balance():
    fs = dm.init_factors((5, 4), 3, scale=1.0, kind="balanced", seed=0)
    un = ex.unbalance(fs, 0.5, seed=1)
    np.testing.assert_allclose(dm.product(un), dm.product(fs), atol=1e-12)
    assert dm.balancedness(fs) < 1e-12 < 1e-2 < dm.balancedness(un)
    one = dm.init_factors((5, 4), 1, scale=1.0, kind="balanced", seed=0)
    np.testing.assert_array_equal(ex.unbalance(one, 0.5, seed=1)[0], one[0])


def test_rate_check_balanced_small_unbalanced_large():
    res = ex.rate_check(_small())
    k = res["table_index"]
    assert res["table_lr"] == 1e-6
    assert np.all(res["balanced"]["sigma_error"][:, k] < 1e-4)
    assert np.all(res["balanced"]["matrix_error"][:, k] < 1e-4)
    assert np.isnan(res["unbalanced"]["sigma_error"][0]).all()  # depth 1: nothing to unbalance
    assert np.all(res["unbalanced"]["sigma_error"][1:, k] > 1e-2)


def test_rate_check_is_deterministic():
    a, b = ex.rate_check(_small()), ex.rate_check(_small())
    np.testing.assert_array_equal(a["balanced"]["sigma_error"], b["balanced"]["sigma_error"])
    np.testing.assert_array_equal(a["unbalanced"]["sigma_error"], b["unbalanced"]["sigma_error"])


def test_exact_modes_follow_theory():
    res = ex.exact_modes(_small())
    assert res["depths"] == [2, 3]
    for run in res["runs"]:
        dev1, dev2 = run["deviation"].max(), run["deviation_double"].max()
        assert dev1 < 0.01
        assert 1.6 < dev2 / dev1 < 2.4
        sig = run["sigma"]
        np.testing.assert_allclose(sig[-1], res["strengths"], rtol=0.02)


def test_crossing_time_interpolates():
    t = np.array([0.0, 1.0, 2.0, 3.0])
    v = np.array([[0.0, 5.0], [1.0, 5.0], [3.0, 5.0], [4.0, 5.0]])
    np.testing.assert_allclose(ex.crossing_time(t, v, [2.0, 5.0]), [1.5, 0.0])
    assert np.isnan(ex.crossing_time(t, v[:, 0], 10.0)[0])


def test_fit_plateau_law_recovers_synthetic_laws():
    u0 = np.logspace(-2, -6, 9)
    f3 = ex.fit_plateau_law(u0, 2.0 * u0 ** (-1 / 3) - 0.7, 3)
    assert f3["exponent"] == pytest.approx(1 / 3, rel=1e-6)
    assert f3["a"] == pytest.approx(2.0, rel=1e-6)
    f2 = ex.fit_plateau_law(u0, 0.25 * np.log(1 / u0) + 0.1, 2)
    assert f2["a"] == pytest.approx(0.25) and f2["b"] == pytest.approx(0.1)


def test_plateau_sweep_matches_mode_time_and_law():
    res = ex.plateau_sweep(_small())
    assert res["measured"].shape == res["predicted"].shape == (3, 4)
    np.testing.assert_allclose(res["measured"], res["predicted"], rtol=5e-3)
    assert res["fit"][0] is None
    assert res["fit"][1]["a"] == pytest.approx(0.5, rel=0.05)
    assert res["fit"][2]["exponent"] == pytest.approx(1 / 3, rel=0.05)


def test_completion_dynamics_small():
    p = _small()
    res = ex.completion_dynamics(p)
    assert [r["depth"] for r in res["runs"]] == res["depths"] == list(p.dyn_depths)
    run1 = res["runs"][0]
    # depth 1 moves only the observed entries: its error approaches the zero-fill error
    assert run1["final_error"] == pytest.approx(res["zero_fill"], rel=0.05)
    for run in res["runs"]:
        assert run["sigma"].shape == (len(run["steps"]), p.dyn_top_k)
        assert 1 <= run["lifted"] <= p.dyn_top_k
        assert len(run["half_steps"]) == min(run["lifted"], p.dyn_top_k)


def test_figures_and_explorer_headless():
    import matplotlib.pyplot as plt

    p = _small()
    figs = [ex.plot_rate_check(ex.rate_check(p)), ex.plot_exact_modes(ex.exact_modes(p)),
            ex.plot_plateau(ex.plateau_sweep(p))]
    _, ax = plt.subplots()
    c = ex.plot_modes(ax, 3, 1e-3, 1.0)
    assert c["t_half"] == pytest.approx(dm.mode_time(1.0, 1e-3, 0.5, 3))
    w = ex.explorer(depth=2, log10_init=-4, strength=2.0)
    assert w.children[0].value == 2
    plt.close("all")
    assert len(figs) == 3


def test_results_survive_the_json_round_trip_and_plot():
    import json

    import matplotlib.pyplot as plt

    from dmfnb.reproduce import decode, encode

    p = _small()
    results = {}
    for step in ex.STEPS:
        res = step.run(p, results)
        back = decode(json.loads(json.dumps(encode(res, step.name))))
        results[step.name] = back
        plt.close(step.plot(back))
    for name, table in (("rate_check", ex.rate_table), ("exact_modes", ex.exact_table),
                        ("plateau_sweep", ex.plateau_table), ("completion_dynamics", ex.completion_table)):
        text = table(results[name])
        assert isinstance(text, str) and text.count("\n") >= 3
    text = ex.summary(p, results["rate_check"], results["exact_modes"], results["plateau_sweep"],
                      results["completion_dynamics"])
    assert "depth 3 lifts" in text
    rows = ex.paper_table(results, "default")
    assert len(rows) >= 8 and all(len(r) == 3 for r in rows)
    assert any("depth 3 lifted" in r[0] for r in rows)
