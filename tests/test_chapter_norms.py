"""The chapter *Norms may not explain implicit regularization* (dmfnb/chapters/norms)."""

import dataclasses
import json

import matplotlib
import numpy as np
import pytest

import dmfnb as dm
from dmfnb.chapters import norms as ch
from dmfnb.chapters.norms.compute import Runs
from dmfnb.chapters.norms.params import DEFAULT, PAPER, SCALES, Params
from dmfnb.infra.report import CheckTable, Table
from dmfnb.infra.reproduce import decode, encode

matplotlib.use("Agg")
nx = ch.compute


@pytest.fixture(scope="module")
def p():
    """A fast version of the chapter's parameters: stop at loss 3e-3."""
    return dataclasses.replace(
        DEFAULT, runs=2, tol=3e-3, depths=(2, 3), negative_depths=(3,),
        negative_tol=1e-4, epsilons=(0.5,), perturbed_tol=1e-5,
        perturbed_max_steps=60_000, explorer_max_steps=30_000)


@pytest.fixture(scope="module")
def results(p):
    """Every step of CHAPTER at the fast parameters, by step name."""
    out = {}
    for step in ch.CHAPTER.steps:
        out[step.name] = step.run(p, dict(out))
    return out


def test_params_frozen_and_paper_differs_only_where_intended():
    assert ch.params("default") is DEFAULT and ch.params("paper") is PAPER
    assert set(SCALES) == {"default", "paper"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.tol = 1.0  # type: ignore[misc]
    changed = {f.name for f in dataclasses.fields(Params)
               if getattr(DEFAULT, f.name) != getattr(PAPER, f.name)}
    assert changed == {"scale", "tol", "unbalanced_depths", "epsilons", "perturbed_tol",
                       "perturbed_max_steps"}
    assert PAPER.tol == 1e-4
    # the authors' current code: ½Σ loss, step 3e-3 (their first commit: mean loss, 5e-3)
    assert DEFAULT.lr == PAPER.lr == 3e-3
    assert all(q > 0 for q in DEFAULT.schatten_ps) and min(DEFAULT.schatten_ps) < 1
    for q in (DEFAULT, PAPER):
        assert q.tol < q.fit_from < 0.5
        assert q.init in ("balanced", "gaussian")
        assert all(d >= 2 for d in q.depths)
        assert all(isinstance(getattr(q, f.name), tuple) for f in dataclasses.fields(q)
                   if f.name.endswith(("depths", "epsilons")))


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
    res = nx.train_runs(p, prob, 3, seed=1, tol=0.5, max_steps=20_000)
    rng = np.random.default_rng([1, 3, 2, False])
    for b in range(2):
        fs = nx.initial_factors(3, std=p.init_std, rng=rng)
        tr = dm.train(prob, fs, lr=nx.engine_lr(p.lr, prob), steps=20_000, tol=0.5 * 2 / 3,
                      record="log")
        assert tr.stop_step == res.stop_step[b]
        assert np.allclose(tr.product, res.final[b], rtol=1e-12, atol=1e-15)
    assert np.all(res.loss[-1] <= 0.5)


def test_depth_three_diverges_depth_two_plateaus(results):
    runs = results["depths"]
    assert set(runs) == {2, 3}
    r3 = runs[3]
    assert isinstance(r3, Runs) and r3.count == 2
    assert r3.kept().all() and r3.converged.all()
    assert np.all(np.abs(r3.ratio()[-1] - 1) < 0.05)
    # the determinant computed from the recorded entries agrees with the factors' dets
    assert np.allclose(r3.det[-1], np.prod(r3.factor_dets, axis=-1), rtol=1e-6)
    assert np.all(r3.effective_rank[-1] < 1.01)
    assert np.array_equal(r3.final_w11(), r3.final[:, 0, 0])
    assert r3.sigma2().shape == r3.steps.shape and r3.flips().size == 0


def test_negative_det_and_perturbed(results):
    neg = results["negative_det"][3]
    assert neg.converged.all() and neg.kept().all()
    assert np.all(np.abs(neg.final_w11()) < 10)
    pert = results["perturbed"][0.5]
    ok = pert.converged
    assert ok.any()
    assert np.all(np.abs(0.5 * pert.final_w11()[ok] + 1) < 0.02)


def test_results_round_trip_through_json(results):
    for name, result in results.items():
        back = decode(json.loads(json.dumps(encode(result))))
        assert list(back) == list(result), name  # int depths and float ε come back
        for key, res in result.items():
            again = back[key]
            assert type(again) is Runs
            for f in dataclasses.fields(Runs):
                a, b = getattr(res, f.name), getattr(again, f.name)
                if isinstance(a, np.ndarray):
                    assert a.dtype == b.dtype and np.array_equal(a, b), (name, key, f.name)
                else:
                    assert a == b, (name, key, f.name)


def test_checks_pass_on_the_runs(p, results):
    table = ch.checks.checks(p, results)
    assert isinstance(table, CheckTable)
    names = {c.name for c in table}
    assert {"converged-3", "det-sign-3", "fit-3", "schatten-rate-3", "norms-grow-3",
            "rank-one-3", "flip-2", "unbal-flips", "neg-finite-3", "neg-frozen-3",
            "pert-w11-0.5"} <= names
    # the rows that held for any W at loss ℓ (or restated an identity) are gone
    assert not names & {"bound-3", "law-3", "law-records-3", "neg-det-3", "norms-final-3"}
    for name in ("converged-3", "det-sign-3", "fit-records-3", "fit-3", "schatten-rate-3",
                 "norms-grow-3", "neg-converged-3", "neg-sign-3", "neg-finite-3",
                 "pert-converged-0.5", "pert-sign-0.5", "pert-w11-0.5"):
        assert table[name].passed, table[name].message


def test_schatten_norms_and_their_rate(p, results):
    r3, r2 = results["depths"][3], results["depths"][2]
    s = np.linalg.svd(r3.W, compute_uv=False)
    assert np.allclose(r3.schatten(1.0), r3.nuclear, rtol=1e-6)
    assert np.allclose(r3.schatten(2.0), r3.frobenius, rtol=1e-6)
    assert np.allclose(r3.schatten(0.5), (np.sqrt(s).sum(-1)) ** 2)
    # quasi-norms are at least σ₁ ≥ |W₁₁|, and decrease in p
    assert np.all(r3.schatten(0.5) >= r3.schatten(2 / 3) - 1e-12)
    assert np.all(r3.schatten(0.5) >= np.abs(r3.w11) - 1e-12)
    with pytest.raises(ValueError, match="p must be"):
        r3.schatten(0.0)
    # depth 3 diverges like 1/√(2ℓ); depth 2 (det flipped) has stopped growing
    assert np.all(np.abs(r3.divergence_rate(0.5, p.fit_from) + 0.5) < 0.02)
    rate2 = r2.divergence_rate(0.5, p.fit_from)  # NaN: fewer than 3 records there
    assert np.isfinite(rate2).any() and np.all(np.abs(rate2[np.isfinite(rate2)]) < 0.2)
    assert np.all(np.isnan(r3.divergence_rate(1.0, 1e-12)))


def test_checks_fail_on_broken_results(p, results):
    r3 = results["depths"][3]
    # det W crossing zero once in run 1, and W₁₁ 10 % off the curve
    det = r3.det.copy()
    det[len(det) // 2, 1] *= -1
    W = r3.W.copy()
    W[..., 0, 0] *= 1.1
    broken = {**results, "depths": {**results["depths"],
                                    3: dataclasses.replace(r3, det=det, W=W)}}
    table = ch.checks.checks(p, broken)
    sign, fit = table["det-sign-3"], table["fit-3"]
    assert not sign.passed and not fit.passed and not table.passed
    assert "measured 1/2" in sign.message and "expected = 2" in sign.message
    assert "expected ≤ 0.05" in fit.message and fit.value > 0.05
    with pytest.raises(AssertionError, match="det-sign-3"):
        table.require()
    # perturbed-target runs 5 % off: W₁₁ misses −1/ε
    pert = results["perturbed"][0.5]
    off = dataclasses.replace(pert, W=pert.W * 1.05)
    bad = ch.checks.checks(p, {**results, "perturbed": {0.5: off}})
    assert not bad["pert-w11-0.5"].passed
    assert "expected < 0.02" in bad["pert-w11-0.5"].message


def test_new_rows_fail_on_broken_starts(p, results):
    runs = results["depths"]
    # A run whose determinant flipped (depth 2, standing in for depth 3): its norms stop
    # growing, so the rate row fails where the theorem's conclusion fails.
    flipped = dataclasses.replace(runs[2], depth=3)
    table = ch.checks.checks(p, {**results, "depths": {**runs, 3: flipped}})
    assert not table["schatten-rate-3"].passed and not table["det-sign-3"].passed
    assert table["schatten-rate-3"].value > 0.2
    # A balanced start passed off as the unbalanced one: no determinant flips.
    table = ch.checks.checks(p, {**results, "unbalanced": {3: runs[3]}})
    assert not table["unbal-flips"].passed
    # The diverging runs passed off as det W(0) < 0: not a finite solution.
    table = ch.checks.checks(p, {**results, "negative_det": {3: runs[3]}})
    assert not table["neg-finite-3"].passed and table["neg-finite-3"].value > 0.9
    # An entry that stops growing halfway down the fitted range: off the curve, and every
    # Schatten norm's rate falls short of −1/2.
    W = runs[3].W.copy()
    k = int(np.argmax(runs[3].loss[:, 0] <= p.fit_from / 2))
    W[k:, :, 0, 0] = W[k, :, 0, 0]
    off = dataclasses.replace(runs[3], W=W)
    table = ch.checks.checks(p, {**results, "depths": {**runs, 3: off}})
    assert not table["fit-3"].passed and not table["schatten-rate-3"].passed


def test_tables_are_tables_of_the_column_width(p, results):
    runs, unbal = results["depths"], results["unbalanced"]
    neg, pert = results["negative_det"], results["perturbed"]
    made = [ch.tables.settings(p), ch.tables.problem(), ch.tables.convention(p),
            ch.tables.depths(p, runs), ch.tables.norms_at(p, runs),
            ch.tables.unbalanced(unbal), ch.tables.negative(neg), ch.tables.perturbed(pert),
            ch.tables.schatten(p, runs),
            ch.tables.perturbed_summary(pert), ch.tables.flips({p.lr: runs[2]}),
            ch.tables.speed({"depths": (1.0, runs)}), *ch.tables.paper(p, results)]
    for t in made:
        assert isinstance(t, Table)
        cells = [list(t.columns), *t.cells()]
        width = sum(max(len(r[i]) for r in cells) for i in range(len(t.columns)))
        assert width + 2 * (len(t.columns) - 1) <= 80, t.title
        assert "<table" in t._repr_html_()
    assert ch.tables.depths(p, runs).column("kept")[1] == "2/2"


def test_report_has_checks_and_paper_tables(p, results, monkeypatch):
    monkeypatch.delenv("DMFNB_REPORTS", raising=False)
    rep = ch.report(p, results)
    assert rep.chapter == "norms" and rep.scale == "default"
    assert len(rep.tables) == 1 and rep.tables[0].columns == ("quantity", "ours", "paper")
    with pytest.raises(ValueError, match="lack the steps"):
        ch.report(p, {"depths": results["depths"]})


def test_figures_and_explorer_run_headless(p, results):
    import matplotlib.pyplot as plt

    runs, neg, pert = results["depths"], results["negative_det"], results["perturbed"]
    figs = [ch.figures.entry_vs_loss(runs), ch.figures.norms(runs), ch.figures.sigma2(runs),
            ch.figures.schatten(runs, p.schatten_ps),
            ch.figures.negative(runs[3], neg[3]), ch.figures.perturbed(pert),
            ch.explorer.figure(p, log10_tol=-1.5)]
    for step in ch.CHAPTER.steps:
        if step.figure is not None:
            figs.append(step.figure(results[step.name]))
    for fig in figs:
        assert fig.get_size_inches()[0] <= 7.0
        plt.close(fig)
    ch.explorer.explorer(p)
    plt.close("all")
