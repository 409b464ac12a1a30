"""Experiments of the chapter *Norms may not explain implicit regularization* (``book/norms.ipynb``).

Razin & Cohen (2020)'s 2×2 completion problem: observe W₁₂ = 1, W₂₁ = 1, W₂₂ = 0 and leave W₁₁
free. Every solution has det W = −1, so a factorization whose determinant keeps its positive sign
can only drive the loss to zero by sending |W₁₁| → ∞: every norm diverges while W tends to rank 1.

Loss convention. The chapter reports the authors' loss ℓ(W) = ½ Σ_{observed} (W_ij − W*_ij)².
:class:`dmfnb.CompletionProblem` uses the mean over the m observed entries, so
ℓ = (m/2) · ``problem.loss`` and gradient descent with step η on ℓ is gradient descent with step
(m/2)·η on ``problem.loss`` (m = 3 here: the authors' η = 3e-3 is the engine's 4.5e-3). The
functions below take and return ½Σ quantities and do the conversion in one place.

Every function takes the chapter's parameters ``p = dmfnb.params("norms")`` (or explicit
arguments) and returns plain dicts of numpy arrays; same parameters, same numbers.
"""

from __future__ import annotations

import numpy as np

from ..engine import train
from ..factors import balanced_factors, product, stack_factors
from ..infra.plotting import interact
from ..problems import CompletionProblem, stack_problems

__all__ = [
    "det_sign_runs",
    "engine_lr",
    "explorer",
    "explorer_figure",
    "half_sum_loss",
    "initial_factors",
    "make_problem",
    "negative_det",
    "perturbed",
    "plot_entry_vs_loss",
    "plot_norms",
    "plot_perturbed",
    "run_depths",
    "train_runs",
    "unbalanced",
]

# The four entries of W, recorded at every record step (W₁₁, W₁₂, W₂₁, W₂₂).
ENTRIES = ((0, 0), (0, 1), (1, 0), (1, 1))


def _params(p):
    if p is None:
        from ..infra.scales import params

        p = params("norms")
    return p


def make_problem(eps: float | None = None) -> CompletionProblem:
    """The 2×2 problem: target [[∗, 1], [1, 0]], or the perturbed [[∗, −2], [0.5, ε]] when ``eps`` is given.

    The unobserved entry (1, 1) of the target is stored as 0; it never enters the loss.
    """
    if eps is None:
        target = np.array([[0.0, 1.0], [1.0, 0.0]])
    else:
        target = np.array([[0.0, -2.0], [0.5, float(eps)]])
    mask = np.array([[False, True], [True, True]])
    return CompletionProblem(target, mask)


def _observed(problem) -> int:
    return int(np.max(problem.num_observed))


def engine_lr(lr: float, problem) -> float:
    """The engine's step for gradient descent with step ``lr`` on the ½Σ loss: lr · m/2."""
    return lr * _observed(problem) / 2.0


def half_sum_loss(engine_loss, problem):
    """The authors' ½Σ loss from the engine's mean loss: (m/2) · ``engine_loss``."""
    return np.asarray(engine_loss) * _observed(problem) / 2.0


def initial_factors(depth: int, *, std: float, init: str = "balanced", det_sign: int = 1,
                    rng: np.random.Generator | int | None = None) -> list[np.ndarray]:
    """Initial factors of a depth-``depth`` factorization of a 2×2 W with sign(det W(0)) = ``det_sign``.

    ``init="balanced"`` (the setting of the theorem): W(0) has i.i.d. N(0, std²) entries and is split
    by its SVD into exactly balanced factors (the authors' balanced variant). ``init="gaussian"``
    (the authors' code default): every entry of every factor i.i.d. N(0, std²), not balanced.
    Either way the draw is repeated until det W(0) has the requested sign, as in the authors' code.
    """
    if init not in ("balanced", "gaussian"):
        raise ValueError(f"init must be 'balanced' or 'gaussian', got {init!r}")
    if det_sign not in (1, -1):
        raise ValueError(f"det_sign must be +1 or −1, got {det_sign!r}")
    rng = np.random.default_rng(rng)
    while True:
        if init == "balanced":
            W0 = std * rng.standard_normal((2, 2))
            if np.sign(np.linalg.det(W0)) == det_sign:
                return balanced_factors(W0, depth, seed=rng)
        else:
            factors = [std * rng.standard_normal((2, 2)) for _ in range(depth)]
            if np.sign(np.linalg.det(product(factors))) == det_sign:
                return factors


def train_runs(problem, depth: int, *, runs: int, seed: int, std: float, init: str = "balanced",
               det_sign: int = 1, lr: float, tol: float, max_steps: int, record="log") -> dict:
    """Train ``runs`` seeds of one depth on ``problem`` in one stacked computation.

    ``lr`` and ``tol`` are in the ½Σ convention. Returns a dict with ``steps`` (T,) and, with a run
    axis last, ``loss`` (½Σ), ``W`` (T, runs, 2, 2) rebuilt from the recorded entries, ``det``,
    ``frobenius``, ``nuclear``, ``effective_rank``; per run ``stop_step``, ``converged``,
    ``factor_dets`` (runs, depth) at the end and ``final`` (runs, 2, 2).
    """
    rng = np.random.default_rng([seed, depth, det_sign + 1, init == "gaussian"])
    starts = [initial_factors(depth, std=std, init=init, det_sign=det_sign, rng=rng)
              for _ in range(runs)]
    stacked = stack_problems([problem] * runs)
    tr = train(stacked, stack_factors(starts), lr=engine_lr(lr, problem), steps=int(max_steps),
               tol=tol * 2.0 / _observed(problem), record=record, entries=ENTRIES)
    W = tr.entries.reshape(len(tr.steps), runs, 2, 2)
    det = W[..., 0, 0] * W[..., 1, 1] - W[..., 0, 1] * W[..., 1, 0]
    return {
        "depth": depth,
        "init": init,
        "steps": tr.steps,
        "loss": half_sum_loss(tr.loss, problem),
        "W": W,
        "det": det,
        "frobenius": tr.frobenius,
        "nuclear": tr.nuclear,
        "effective_rank": tr.effective_rank,
        "stop_step": np.asarray(tr.stop_step),
        "converged": np.asarray(tr.converged),
        "factor_dets": np.stack([np.linalg.det(f) for f in tr.factors], axis=-1),
        "final": product(tr.factors),
        "initial_det": np.array([np.linalg.det(product(f)) for f in starts]),
    }


def run_depths(p=None, *, init: str | None = None, depths=None) -> dict:
    """The main experiment: det W(0) > 0, ``p.runs`` seeds for each depth in ``p.depths``."""
    p = _params(p)
    problem = make_problem()
    return {d: train_runs(problem, d, runs=p.runs, seed=p.seed, std=p.init_std,
                          init=p.init if init is None else init, lr=p.lr, tol=p.tol,
                          max_steps=p.max_steps)
            for d in (p.depths if depths is None else depths)}


def unbalanced(p=None) -> dict:
    """The authors' code default: every layer i.i.d. N(0, std²) (not balanced), det W(0) > 0."""
    p = _params(p)
    return run_depths(p, init="gaussian", depths=p.unbalanced_depths)


def negative_det(p=None) -> dict:
    """The same problem started from det W(0) < 0: it is solved with finite entries."""
    p = _params(p)
    problem = make_problem()
    return {d: train_runs(problem, d, runs=p.runs, seed=p.seed, std=p.init_std, init=p.init,
                          det_sign=-1, lr=p.lr, tol=p.negative_tol, max_steps=p.max_steps)
            for d in p.negative_depths}


def perturbed(p=None) -> dict:
    """The perturbed target [[∗, −2], [0.5, ε]] from det W(0) < 0, one stacked batch per ε.

    Its solutions have det W = εW₁₁ + 1; keeping det < 0 while moving toward rank one gives
    W₁₁ → −1/ε. Returns {ε: result of :func:`train_runs`}.
    """
    p = _params(p)
    return {eps: train_runs(make_problem(eps), p.perturbed_depth, runs=p.runs, seed=p.seed,
                            std=p.init_std, init=p.init, det_sign=-1, lr=p.lr,
                            tol=p.perturbed_tol, max_steps=p.perturbed_max_steps)
            for eps in p.epsilons}


def det_sign_runs(res: dict) -> np.ndarray:
    """Per run: True when det W kept the sign of det W(0) at every recorded step."""
    return np.all(np.sign(res["det"]) == np.sign(res["initial_det"]), axis=0)


# ---- figures ----------------------------------------------------------------------------------


def plot_entry_vs_loss(ax, res: dict, *, run: int = 0, reference: bool = True, colorbar: bool = True):
    """|W₁₁| against the ½Σ loss (reversed log axis), coloured by iteration, as in the authors' plots."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    steps = np.maximum(res["steps"], 1)
    loss = res["loss"][:, run]
    w11 = np.abs(res["W"][:, run, 0, 0])
    keep = loss > 0
    sc = ax.scatter(loss[keep], w11[keep], c=steps[keep], s=9, cmap="viridis",
                    norm=LogNorm(vmin=1, vmax=max(steps.max(), 10)), zorder=3)
    if reference:
        grid = np.geomspace(max(loss.min(), 1e-8), 0.5, 100)
        ax.plot(grid, 1 / np.sqrt(2 * grid), "--", color="0.35", lw=1.2, label="1/√(2ℓ)", zorder=2)
        ax.legend(loc="upper left")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set(xlabel="loss ℓ (½ Σ squared errors)", ylabel="|W₁₁|", title=f"depth {res['depth']}")
    if colorbar:
        plt.colorbar(sc, ax=ax, label="iteration")
    return sc


def plot_norms(results: dict, *, run: int = 0):
    """Frobenius and nuclear norms and the effective rank minus 1 against the loss, one colour per depth."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import depth_color

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.0))
    for d, res in results.items():
        loss = res["loss"][:, run]
        c = depth_color(d)
        a1.plot(loss, res["frobenius"][:, run], color=c, label=f"depth {d}: ‖W‖_F")
        a1.plot(loss, res["nuclear"][:, run], color=c, ls=":", label=f"depth {d}: ‖W‖_*")
        a2.plot(loss, res["effective_rank"][:, run] - 1, color=c, label=f"depth {d}")
    for ax in (a1, a2):
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("loss ℓ (½ Σ squared errors)")
    a1.set_yscale("log")
    a1.set(ylabel="norm of W", title="norms grow without bound (depth ≥ 3)")
    a2.set(yscale="log", ylabel="effective rank − 1", title="while the effective rank falls to 1")
    a1.legend(fontsize=8, ncol=1, loc="upper left")
    a2.legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_perturbed(results: dict):
    """−W₁₁ against the loss for the first converged run of each ε, with the rank-one value 1/ε dashed."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import COLORS

    colors = [COLORS[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky")]
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    shown = []
    for k, (eps, res) in enumerate(results.items()):
        ok = np.flatnonzero(res["converged"])
        if ok.size == 0:
            continue
        c, b = colors[k % len(colors)], int(ok[0])
        ax.plot(res["loss"][:, b], -res["W"][:, b, 0, 0], color=c, label=f"ε = {eps:g} (run {b})")
        ax.axhline(1 / eps, color=c, ls="--", lw=1)
        shown.append(eps)
    depth = next(iter(results.values()))["depth"]
    ax.set(xscale="log", yscale="log", ylim=(1e-2, 3 / min(shown, default=1.0)),
           xlabel="loss ℓ (½ Σ squared errors)", ylabel="−W₁₁",
           title=f"target [[∗, −2], [0.5, ε]], det W(0) < 0, depth {depth}")
    ax.invert_xaxis()
    ax.legend(loc="upper left")
    fig.tight_layout()
    return fig


# ---- explorer ---------------------------------------------------------------------------------


def explorer_figure(p=None, *, depth: int = 3, log10_std: float | None = None, lr: float | None = None,
                    det_sign: int = 1, init: str = "balanced", seed: int = 0, log10_tol: float = -3.0):
    """One view of the explorer: |W₁₁| and det W against the loss for one run.

    The run stops at loss 10^``log10_tol`` or after ``p.explorer_max_steps`` steps. Returns the figure.
    """
    import matplotlib.pyplot as plt

    p = _params(p)
    lr = float(p.lr) if lr is None else float(lr)
    log10_std = float(np.log10(p.init_std)) if log10_std is None else float(log10_std)
    problem = make_problem()
    res = train_runs(problem, depth, runs=1, seed=seed, std=10.0 ** log10_std, init=init,
                     det_sign=det_sign, lr=lr, tol=10.0 ** log10_tol,
                     max_steps=int(p.explorer_max_steps))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.0))
    plot_entry_vs_loss(a1, res)
    loss, det = res["loss"][:, 0], res["det"][:, 0]
    a2.plot(loss, np.abs(det), color="k")
    flips = np.flatnonzero(np.sign(det) != np.sign(det[0]))
    a2.plot(loss[flips], np.abs(det[flips]), "x", color="#D55E00",
            label=f"sign differs from det W(0) ({len(flips)} records)")
    a2.set(xscale="log", yscale="log", xlabel="loss ℓ (½ Σ squared errors)", ylabel="|det W|",
           title=f"det W(0) {'> 0' if det_sign > 0 else '< 0'}, {init} init, "
                 f"stopped at step {int(res['stop_step'][0]):,}")
    a2.invert_xaxis()
    a2.legend(loc="lower left")
    fig.tight_layout()
    return fig


def explorer(p=None):
    """Interactive :func:`explorer_figure`: depth, initialization scale and kind, step size, sign of det W(0).

    Built on :func:`dmfnb.plotting.interact`, so it also runs headless.
    """

    p = _params(p)
    std0 = float(np.log10(p.init_std))

    def draw(depth=3, log10_std=std0, lr=float(p.lr), det_sign=1, init="balanced", seed=0,
             log10_tol=-3.0):
        explorer_figure(p, depth=depth, log10_std=log10_std, lr=lr, det_sign=det_sign, init=init,
                        seed=seed, log10_tol=log10_tol)

    return interact(draw, lambda w: dict(
        depth=w.ToggleButtons(options=[2, 3, 4], value=3, description="depth"),
        log10_std=w.FloatSlider(value=std0, min=-3.0, max=-0.5, step=0.1,
                                description="log10 std"),
        lr=w.FloatLogSlider(value=float(p.lr), base=10, min=-4, max=-1.5, step=0.1, description="η"),
        det_sign=w.ToggleButtons(options=[("det > 0", 1), ("det < 0", -1)], value=1,
                                 description="det W(0)"),
        init=w.ToggleButtons(options=["balanced", "gaussian"], value="balanced", description="init"),
        seed=w.IntSlider(value=0, min=0, max=20, description="seed"),
        log10_tol=w.FloatSlider(value=-3.0, min=-4.0, max=-1.0, step=0.5, description="log10 tol"),
    ))


# ---- headless reproduction (python -m dmfnb reproduce norms) ------------------------------------


def _floats(results: dict) -> dict:
    """JSON keys are strings: give the ε-keyed results their float keys back."""
    return {float(k): v for k, v in results.items()}


def _steps():
    from ..infra.reproduce import Step

    return [
        Step("depths", lambda p, _: run_depths(p), plot_norms),
        Step("unbalanced", lambda p, _: unbalanced(p)),
        Step("negative_det", lambda p, _: negative_det(p)),
        Step("perturbed", lambda p, _: perturbed(p), lambda r: plot_perturbed(_floats(r))),
    ]


STEPS = _steps()
"""The chapter's experiments in order, as :class:`dmfnb.reproduce.Step` objects."""


def paper_table(results: dict, scale: str) -> list[tuple]:
    """Rows (quantity, ours, Razin & Cohen 2020) from the results of :data:`STEPS`."""
    rows = []
    for depth, res in results.get("depths", {}).items():
        loss = np.asarray(res["loss"])[-1]
        w11 = np.abs(np.asarray(res["W"])[-1, :, 0, 0])
        kept = det_sign_runs(res)
        rows.append((f"depth {depth}: |W11| at the final loss {loss.max():.1e}",
                     f"{w11.min():.1f}–{w11.max():.1f}",
                     f"1/√(2ℓ) = {1 / np.sqrt(2 * loss.max()):.1f}" + (
                         "; authors ≈70.7 at 1e-4" if depth >= 3 else "; depth 2 plateaus")))
        rows.append((f"depth {depth}: runs keeping sign(det W)", f"{kept.sum()}/{kept.size}",
                     "all (depth ≥ 3)" if depth >= 3 else "may flip (depth 2)"))
    for eps, res in _floats(results.get("perturbed", {})).items():
        final = np.asarray(res["final"])[:, 0, 0]
        rows.append((f"perturbed target ε = {eps:g}: W11 (median over runs)",
                     f"{np.median(final):.3f}", f"−1/ε = {-1 / eps:.3f}"))
    return rows
