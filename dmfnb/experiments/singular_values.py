"""Experiments of the chapter *How singular values move* (``book/singular_values.ipynb``).

Every function takes the chapter's parameters (``p = dmfnb.params("singular_values")``), is
deterministic given the seeds in ``p``, and returns plain dicts of numpy arrays and numbers:

- :func:`rate_check` — Arora et al. (2019)'s singular-value rate against one tiny GD step.
- :func:`exact_modes` — GD from an aligned balanced start against Saxe et al. (2014)'s solutions.
- :func:`plateau_sweep` — how long a mode waits near zero, against the init scale.
- :func:`completion_dynamics` — the authors' dynamics figure (matrix completion, depths 1–3).
- :func:`explorer` — an ipywidgets explorer of the scalar mode ODE.

:data:`STEPS` and :func:`paper_table` plug the chapter into ``python -m dmfnb reproduce``; every
result is made of strings, numbers, lists, dicts with string keys and arrays, so it survives the
JSON round trip.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import curve_fit

from ..theory import dynamics as dyn
from ..engine import train
from ..factors import balanced_factors, balancedness, gradients, init_factors, product
from ..problems import CompletionProblem, LeastSquaresProblem, SensingProblem, stack_problems
from ..targets import low_rank_target

__all__ = [
    "STEPS",
    "completion_dynamics",
    "completion_table",
    "crossing_time",
    "exact_modes",
    "exact_table",
    "explorer",
    "fit_plateau_law",
    "paper_table",
    "plateau_sweep",
    "plateau_table",
    "rate_check",
    "rate_errors",
    "rate_table",
    "summary",
    "unbalance",
]


# --------------------------------------------------------------------------------------------
# 1. The rate, checked on one tiny step
# --------------------------------------------------------------------------------------------

def unbalance(factors, strength: float, *, seed) -> list[np.ndarray]:
    """The same product W_N ⋯ W_1, factored unbalanced: W_j → A_j W_j A_{j−1}⁻¹ (A_0 = A_N = I).

    Each hidden A_j = I + strength·Z/√width with Z standard normal, so ``strength`` sets how far the
    factorization moves from balance while the end-to-end matrix stays exactly the same.
    """
    rng = np.random.default_rng(seed)
    factors = [np.array(f, dtype=float) for f in factors]
    depth = len(factors)
    if depth == 1:
        return factors
    A = [None] + [np.eye(f.shape[0]) + strength * rng.standard_normal((f.shape[0],) * 2)
                  / np.sqrt(f.shape[0]) for f in factors[:-1]] + [None]
    out = []
    for j, f in enumerate(factors):
        g = f if A[j] is None else f @ np.linalg.inv(A[j])
        out.append(g if A[j + 1] is None else A[j + 1] @ g)
    return out


def rate_errors(problem, factors, lr: float) -> dict:
    """One GD step of size ``lr`` on ``factors``, compared with the predicted rates.

    Returns the relative errors ‖Δσ/η − σ̇‖_∞ / ‖σ̇‖_∞ (singular values, against
    :func:`dmfnb.singular_value_rate`) and ‖ΔW/η − Ẇ‖_F / ‖Ẇ‖_F (end-to-end matrix, against
    :func:`dmfnb.end_to_end_rate`), where Δ is the change over the step and σ̇, Ẇ the formulas.
    """
    depth = len(factors)
    W0 = product(factors)
    G = problem.gradient(W0)
    _, grads = gradients(problem, factors)
    W1 = product([f - lr * g for f, g in zip(factors, grads, strict=True)])
    sigma0, rate = dyn.singular_value_rate(W0, G, depth)
    sigma1 = np.linalg.svd(W1, compute_uv=False)
    fd_sigma = (sigma1 - sigma0) / lr
    e2e = dyn.end_to_end_rate(W0, G, depth)
    fd_W = (W1 - W0) / lr
    return {
        "sigma": sigma0,
        "rate": rate,
        "fd_rate": fd_sigma,
        "sigma_error": float(np.max(np.abs(fd_sigma - rate)) / np.max(np.abs(rate))),
        "matrix_error": float(np.linalg.norm(fd_W - e2e) / np.linalg.norm(e2e)),
    }


def rate_check(p) -> dict:
    """Finite-difference check of the singular-value and end-to-end rates on a sensing problem.

    For each depth in ``p.rate_depths``: a balanced start (``init_factors(kind="balanced")``)
    and an unbalanced factorization of the *same* product (:func:`unbalance`), one GD step of each
    size in ``p.rate_lrs``. Returns, for kind ``"balanced"``/``"unbalanced"``, arrays
    ``res[kind]["sigma_error"][depth index, lr index]`` and ``res[kind]["matrix_error"]``, the
    balancedness of each start, and ``res["example"][kind][depth index]`` (the rates at
    ``p.rate_lr``; ``None`` for depth 1 unbalanced). Every key is a string (JSON-safe).
    """
    target = low_rank_target(p.rate_shape, p.rate_rank, seed=p.rate_seed)
    problem = SensingProblem.random(target, p.rate_observations, seed=p.rate_seed + 1)
    lrs = np.asarray(p.rate_lrs, dtype=float)
    out = {"depths": list(p.rate_depths), "lrs": lrs, "balancedness": {}, "example": {}}
    for kind in ("balanced", "unbalanced"):
        se = np.full((len(p.rate_depths), len(lrs)), np.nan)
        me = np.full_like(se, np.nan)
        bal = []
        examples = []
        for i, depth in enumerate(p.rate_depths):
            fs = init_factors(p.rate_shape, depth, scale=p.rate_init_scale, kind="balanced",
                              seed=p.rate_seed + 10 + depth)
            if kind == "unbalanced":
                if depth == 1:
                    bal.append(np.nan)
                    examples.append(None)
                    continue  # one factor: nothing to unbalance
                fs = unbalance(fs, p.rate_unbalance, seed=p.rate_seed + 20 + depth)
            bal.append(0.0 if depth == 1 else balancedness(fs))
            for k, lr in enumerate(lrs):
                res = rate_errors(problem, fs, lr)
                se[i, k], me[i, k] = res["sigma_error"], res["matrix_error"]
            examples.append(rate_errors(problem, fs, p.rate_lr))
        out[kind] = {"sigma_error": se, "matrix_error": me}
        out["example"][kind] = examples
        out["balancedness"][kind] = np.array(bal)
    k = int(np.argmin(np.abs(lrs - p.rate_lr)))
    out["table_lr"] = float(lrs[k])
    out["table_index"] = k
    return out


# --------------------------------------------------------------------------------------------
# 2. Exact solutions: aligned balanced starts on full observation
# --------------------------------------------------------------------------------------------

def _aligned_target(shape, strengths, seed):
    rng = np.random.default_rng(seed)
    n, m = shape
    r = len(strengths)
    U = np.linalg.qr(rng.standard_normal((n, r)))[0]
    V = np.linalg.qr(rng.standard_normal((m, r)))[0]
    return U, V


def exact_modes(p) -> dict:
    """GD on ½‖W − W*‖²_F from an aligned balanced start, against the exact mode solutions.

    W* = U diag(s) Vᵀ with random orthonormal U, V and strengths ``p.exact_strengths``; the start
    W(0) = U diag(u₀) Vᵀ is split into balanced factors, so every singular value of W follows the
    scalar ODE du/dt = N u^{2−2/N}(s − u): Saxe's sigmoid at depth 2, :func:`dmfnb.integrate_mode`
    otherwise. Runs at step ``p.exact_lr`` and at twice it, to show the gap is first order in η.
    ``res["runs"][i]`` belongs to ``res["depths"][i]``: the trajectory at η (``t``, ``sigma``,
    ``theory``), ``deviation`` = max_t |σ_r − u_r| / s_r per mode, and ``deviation_double`` at 2η.
    """
    s = np.asarray(p.exact_strengths, dtype=float)
    U, V = _aligned_target(p.exact_shape, s, p.exact_seed)
    problem = LeastSquaresProblem(U * s @ V.T)
    u0 = p.exact_init_scale
    runs = []
    for depth in p.exact_depths:
        horizon = p.exact_horizon * dyn.mode_time(s.min(), u0, 0.99 * s.min(), depth)
        run = {"depth": depth}
        for mult in (2, 1):
            lr = p.exact_lr * mult
            steps = int(np.ceil(horizon / lr))
            fs = balanced_factors(U * u0 @ V.T, depth, seed=p.exact_seed + depth)
            tr = train(problem, fs, lr=lr, steps=steps, record=max(1, steps // p.exact_records),
                       top_k=len(s))
            t = tr.steps * lr
            theory = np.stack([dyn.saxe_mode(t, sk, u0) if depth == 2
                               else dyn.integrate_mode(t, sk, u0, depth) for sk in s], axis=1)
            dev = np.max(np.abs(tr.singular_values - theory), axis=0) / s
            if mult == 2:
                run.update(lr_double=lr, steps_double=steps, deviation_double=dev)
            else:
                run.update(t=t, sigma=tr.singular_values, theory=theory, deviation=dev, lr=lr,
                           steps=steps)
        runs.append(run)
    return {"strengths": s, "u0": u0, "depths": list(p.exact_depths), "runs": runs,
            "lr": p.exact_lr}


def crossing_time(t, values, level) -> np.ndarray:
    """First time each column of ``values`` (records × runs) reaches ``level`` (linear interpolation).

    ``level`` may be one number or one per run; NaN where a run never reaches it.
    """
    values = np.asarray(values, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    level = np.broadcast_to(np.asarray(level, dtype=float), values.shape[1:])
    out = np.full(values.shape[1], np.nan)
    for b in range(values.shape[1]):
        above = np.flatnonzero(values[:, b] >= level[b])
        if above.size == 0:
            continue
        i = above[0]
        if i == 0:
            out[b] = t[0]
            continue
        v0, v1 = values[i - 1, b], values[i, b]
        out[b] = t[i - 1] + (level[b] - v0) / (v1 - v0) * (t[i] - t[i - 1])
    return out


def fit_plateau_law(u0, T, depth: int) -> dict:
    """Fit the plateau law to measured lift times T(u₀).

    Depth 2: T = a ln(1/u₀) + b (theory a = 1/(2s)). Depth N ≥ 3: T = a u₀^{−α} + b
    (theory α = 1 − 2/N, a = 1/((N − 2)s)); the constant b absorbs the time spent on the final rise.
    """
    u0 = np.asarray(u0, dtype=float)
    T = np.asarray(T, dtype=float)
    if depth == 2:
        a, b = np.polyfit(np.log(1 / u0), T, 1)
        return {"law": "log", "a": float(a), "b": float(b), "exponent": None}
    alpha0 = 1 - 2 / depth
    a0 = T.max() * u0.min() ** alpha0
    (a, alpha, b), _ = curve_fit(lambda x, a, al, b: a * x ** (-al) + b, u0, T,
                                 p0=(a0, alpha0, 0.0), sigma=T, maxfev=20000)
    return {"law": "power", "a": float(a), "b": float(b), "exponent": float(alpha)}


def plateau_sweep(p) -> dict:
    """Lift time of one mode (time to reach s/2) against the init scale u₀, for each depth.

    One batched GD run per depth over the stacked 1×1 problems ℓ = ½(w − s)² with balanced factors
    w_j = u₀^{1/N}: exactly the mode ODE. Each run's step η is its predicted lift time divided by
    ``p.plateau_steps``, so every run is resolved by the same number of steps. Rows of
    ``measured`` (GD), ``predicted`` (:func:`dmfnb.mode_time`) and ``asymptotic``
    (:func:`dmfnb.dynamics.plateau_time`) follow ``depths``, columns ``u0``; ``fit[i]`` is
    :func:`fit_plateau_law` at depth ``depths[i]`` (``None`` at depth 1).
    """
    u0 = np.asarray(p.plateau_inits, dtype=float)
    s = float(p.plateau_strength)
    depths = list(p.plateau_depths)
    measured, predicted, asymptotic, fits = [], [], [], []
    problem = stack_problems([LeastSquaresProblem(np.array([[s]])) for _ in u0])
    for depth in depths:
        pred = np.array([dyn.mode_time(s, u, 0.5 * s, depth) for u in u0])
        lr = pred / p.plateau_steps
        steps = int(1.2 * p.plateau_steps)
        fs = [np.stack([np.full((1, 1), u ** (1 / depth)) for u in u0]) for _ in range(depth)]
        tr = train(problem, fs, lr=lr, steps=steps, record=1, top_k=1)
        values = tr.singular_values[:, :, 0]  # records × runs
        # Run b has its own time axis t = η_b · step.
        T = np.array([crossing_time(tr.steps * lr[b], values[:, b], 0.5 * s)[0]
                      for b in range(len(u0))])
        measured.append(T)
        predicted.append(pred)
        asymptotic.append([dyn.plateau_time(s, u, depth) for u in u0])
        fits.append(fit_plateau_law(u0, T, depth) if depth >= 2 else None)
    return {"u0": u0, "strength": s, "depths": depths, "measured": np.array(measured),
            "predicted": np.array(predicted), "asymptotic": np.array(asymptotic), "fit": fits}


# --------------------------------------------------------------------------------------------
# 3. The authors' dynamics figure
# --------------------------------------------------------------------------------------------

def completion_dynamics(p) -> dict:
    """Matrix completion by plain GD from W(0) = u₀·I (identity factors), depths ``p.dyn_depths``.

    Records the top ``p.dyn_top_k`` singular values every ``p.dyn_record`` iterations and counts the
    *lifted* ones: final σ_k > ``p.dyn_lift_rtol`` · σ_1. For each lifted value the iteration at
    which it first reaches half its final size, and how far the next one has risen by then
    (σ_{k+1}(t_k) / σ_{k+1}(end): small means the jumps are staggered, one mode at a time).
    ``res["runs"][i]`` belongs to ``res["depths"][i]``.
    """
    n = p.dyn_size
    target = low_rank_target((n, n), p.dyn_rank, seed=p.dyn_seed)
    problem = CompletionProblem.random(target, p.dyn_observations, seed=p.dyn_seed + 1)
    out = {"target_sv": np.linalg.svd(target, compute_uv=False)[: p.dyn_top_k],
           "zero_fill": float(problem.zero_fill_error()), "runs": [], "rank": p.dyn_rank,
           "depths": list(p.dyn_depths)}
    for depth in p.dyn_depths:
        fs = init_factors((n, n), depth, scale=p.dyn_init_scale, kind="identity")
        tr = train(problem, fs, lr=p.dyn_lr, steps=p.dyn_steps, record=p.dyn_record,
                   top_k=p.dyn_top_k)
        S = tr.singular_values
        final = S[-1]
        lifted = int(np.sum(final > p.dyn_lift_rtol * final[0]))
        k_max = min(lifted, S.shape[1])
        half_idx = [int(np.argmax(S[:, k] >= 0.5 * final[k])) for k in range(k_max)]
        next_at_half = [float(S[half_idx[k], k + 1] / final[k + 1])
                        for k in range(min(k_max, S.shape[1] - 1))]
        out["runs"].append({
            "depth": depth, "steps": tr.steps, "sigma": S, "error": tr.error, "loss": tr.loss,
            "final_error": float(tr.error[-1]), "final_loss": float(tr.loss[-1]),
            "lifted": lifted, "half_steps": tr.steps[half_idx],
            "next_at_half": np.array(next_at_half),
        })
    return out


# --------------------------------------------------------------------------------------------
# 4. Explorer
# --------------------------------------------------------------------------------------------

def _time_grid(tmax, points, log_time):
    if log_time:
        return np.concatenate([[0.0], np.logspace(np.log10(tmax) - 5, np.log10(tmax), points - 1)])
    return np.linspace(0.0, tmax, points)


def mode_curves(depth: int, init_scale: float, strength: float, *, points: int = 400,
                log_time: bool = False) -> dict:
    """u(t) of the scalar mode ODE and its predicted lift time (u = s/2), for the explorer."""
    s = float(strength)
    t_half = dyn.mode_time(s, init_scale, 0.5 * s, depth)
    t = _time_grid(2.5 * t_half + 2.0 / s, points, log_time)
    return {"t": t, "u": dyn.integrate_mode(t, s, init_scale, depth), "t_half": t_half,
            "t_asym": dyn.plateau_time(s, init_scale, depth)}


def plot_modes(ax, depth, init_scale, strength, *, others=True, log_time=False):
    """Draw the explorer's picture on ``ax``: u(t) at ``depth``, other depths faint."""
    from ..infra.plotting import depth_color

    c = mode_curves(depth, init_scale, strength, log_time=log_time)
    tmax = c["t"][-1]
    if others:
        for d in range(1, 6):
            if d == depth:
                continue
            t = _time_grid(tmax, 400, log_time)
            ax.plot(t, dyn.integrate_mode(t, strength, init_scale, d), color=depth_color(d),
                    alpha=0.45, lw=1.3, label=f"depth {d}")
    ax.plot(c["t"], c["u"], color=depth_color(depth), lw=2.6, label=f"depth {depth}")
    ax.axvline(c["t_half"], color=depth_color(depth), ls=":", lw=1.2)
    ax.axhline(strength, color="0.5", ls="--", lw=1)
    if log_time:
        ax.set_xscale("log")
        ax.set_xlim(c["t"][1], tmax)
    else:
        ax.set_xlim(0, tmax)
    ax.set_xlabel("gradient-flow time t")
    ax.set_ylabel("mode strength u(t)")
    ax.set_title(f"depth {depth}, u₀ = {init_scale:.0e}, s = {strength:g}: "
                 f"lifts at t ≈ {c['t_half']:.3g}")
    ax.legend(loc="lower right", ncol=2)
    return c


def explorer(depth: int = 3, log10_init: float = -3.0, strength: float = 1.0, log_time: bool = False):
    """Interactive explorer of du/dt = N u^{2−2/N}(s − u): sliders for depth, init scale, s.

    Returns an ``ipywidgets.interactive`` (display it in a notebook). Each change integrates the
    scalar ODE afresh (milliseconds). Works headless: building it draws the figure once.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def draw(depth, log10_init, strength, log_time):
        _, ax = plt.subplots(figsize=(7, 4))
        plot_modes(ax, depth, 10.0 ** log10_init, strength, log_time=log_time)
        plt.show()

    return widgets.interactive(
        draw,
        depth=widgets.IntSlider(value=depth, min=1, max=6, description="depth N"),
        log10_init=widgets.FloatSlider(value=log10_init, min=-8, max=-1, step=0.5,
                                       description="log₁₀ u₀"),
        strength=widgets.FloatSlider(value=strength, min=0.25, max=4, step=0.25,
                                     description="strength s"),
        log_time=widgets.Checkbox(value=log_time, description="log time axis"),
    )


# --------------------------------------------------------------------------------------------
# 5. Figures (each returns the matplotlib figure; the notebook calls plt.show())
# --------------------------------------------------------------------------------------------

def plot_rate_check(res, *, depth_detail: int = 3):
    """Left: relative error of the rate formula against the GD step size η, balanced (solid) and
    unbalanced (dashed). Right: predicted against measured dσ_r/dt at one depth."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import COLORS, depth_color

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4.8), gridspec_kw={"width_ratios": [1.4, 1]})
    lrs = res["lrs"]
    for i, depth in enumerate(res["depths"]):
        ax.loglog(lrs, res["balanced"]["sigma_error"][i], "o-", color=depth_color(depth), ms=4,
                  label=f"depth {depth}, balanced")
        if depth > 1:
            ax.loglog(lrs, res["unbalanced"]["sigma_error"][i], "s--", color=depth_color(depth),
                      ms=4, mfc="white", label=f"depth {depth}, unbalanced")
    ax.loglog(lrs, 0.5 * lrs, ":", color="0.4", label="∝ η (first-order step error)")
    ax.set_xlabel("GD step size η")
    ax.set_ylabel("relative error of dσ/dt formula")
    ax.set_title("one GD step against the singular-value ODE")
    ax.set_ylim(1e-11, 30)
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.17))
    di = res["depths"].index(depth_detail)
    ex_b = res["example"]["balanced"][di]
    r = np.arange(1, len(ex_b["rate"]) + 1)
    bx.plot(r, ex_b["rate"], "-", color="0.3", lw=2, label="predicted (formula)")
    for kind, marker, color in (("balanced", "o", COLORS["blue"]),
                                ("unbalanced", "x", COLORS["vermillion"])):
        ex = res["example"][kind][di]
        bx.plot(r, ex["fd_rate"], marker, color=color, ms=9, mew=2, mfc="none", ls="none",
                label=f"measured, {kind} start")
    bx.set_yscale("symlog", linthresh=1e-2)
    bx.set_xticks(r)
    bx.set_xlabel("index r of the singular value")
    bx.set_ylabel(f"dσ_r/dt  (measured: Δσ_r/η, η = {res['table_lr']:.0e})")
    bx.set_title(f"depth {depth_detail}, same W, same ∇ℓ(W)")
    bx.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_exact_modes(res):
    """GD singular values (markers) on the exact mode solutions (lines), one panel per depth."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import COLORS

    depths = res["depths"]
    fig, axes = plt.subplots(1, len(depths), figsize=(3.4 * len(depths), 3.6), sharey=True)
    colors = [COLORS[c] for c in ("blue", "orange", "green", "vermillion", "purple")]
    for ax, depth, run in zip(np.atleast_1d(axes), depths, res["runs"], strict=True):
        every = max(1, len(run["t"]) // 30)
        for k, s in enumerate(res["strengths"]):
            c = colors[k % len(colors)]
            ax.plot(run["t"], run["theory"][:, k], color=c, lw=1.6, label=f"s = {s:g}")
            ax.plot(run["t"][::every], run["sigma"][::every, k], "o", color=c, ms=4, mfc="none")
        ax.set_title(f"depth {depth}: " + ("Saxe's sigmoid" if depth == 2 else "mode ODE"))
        ax.set_xlabel("gradient-flow time t = η·k")
    first = np.atleast_1d(axes)[0]
    first.plot([], [], "o", color="0.3", mfc="none", ms=4, label=f"GD, η = {res['runs'][0]['lr']:g}")
    first.legend(fontsize=8.5, loc="center right")
    first.set_ylabel("singular value σ_r(t)")
    fig.tight_layout()
    return fig


def plot_plateau(res):
    """Lift time against init scale: GD (markers), exact integral (lines), asymptote (dashed)."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import depth_color

    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    u0 = res["u0"]
    fine = np.logspace(np.log10(u0.min()), np.log10(u0.max()), 60)
    for i, depth in enumerate(res["depths"]):
        c = depth_color(depth)
        ax.loglog(u0, res["measured"][i], "o", color=c, ms=6, mfc="none",
                  label=f"depth {depth}: GD")
        ax.loglog(u0, res["predicted"][i], "-", color=c, lw=1.4)
        asym = [dyn.plateau_time(res["strength"], u, depth) for u in fine]
        ax.loglog(fine, asym, "--", color=c, lw=1, alpha=0.8)
    ax.plot([], [], "-", color="0.3", label="exact: ∫ du / (N u^{2−2/N}(s − u))")
    ax.plot([], [], "--", color="0.3", label="asymptote: ln(1/u₀)/2s, u₀^{−(1−2/N)}/((N−2)s)")
    ax.invert_xaxis()
    ax.set_xlabel("initial mode strength u₀ (smaller to the right)")
    ax.set_ylabel("lift time t(u = s/2), gradient-flow time")
    ax.set_title(f"how long a mode of strength s = {res['strength']:g} waits")
    ax.legend(fontsize=8.5, loc="upper left")
    fig.tight_layout()
    return fig


def plot_completion_dynamics(res):
    """The authors' dynamics figure: top singular values over GD iterations, one panel per depth."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import depth_color

    depths = res["depths"]
    fig, axes = plt.subplots(1, len(depths), figsize=(3.4 * len(depths), 3.8), sharey=True)
    for ax, depth, run in zip(np.atleast_1d(axes), depths, res["runs"], strict=True):
        for k in range(run["sigma"].shape[1]):
            ax.semilogy(run["steps"], run["sigma"][:, k], color=depth_color(depth),
                        lw=1.6 if k < res["rank"] else 1.0, alpha=1.0 if k < res["rank"] else 0.6)
        for s in res["target_sv"][: res["rank"]]:
            ax.axhline(s, color="0.4", ls="--", lw=0.9)
        ax.set_title(f"depth {depth}: {run['lifted']} lifted, error {run['final_error']:.2g}",
                     fontsize=10.5)
        ax.set_xlabel("GD iterations")
        ax.ticklabel_format(axis="x", style="sci", scilimits=(0, 0))
        ax.set_ylim(1e-4, 2 * res["target_sv"][0])
    np.atleast_1d(axes)[0].set_ylabel("top singular values of W")
    np.atleast_1d(axes)[0].plot([], [], "--", color="0.4", label="target's singular values")
    np.atleast_1d(axes)[0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# 5b. Plain-text tables for the notebook (pandas is not a dependency)
# --------------------------------------------------------------------------------------------

def rate_table(res) -> str:
    """The rate check at ``res["table_lr"]``: relative errors per depth, balanced and not."""
    k = res["table_index"]
    lines = [f"one GD step, η = {res['table_lr']:.0e}; errors relative to the predicted rates",
             f"{'depth':>5} | {'σ̇ err, balanced':>16} | {'Ẇ err, balanced':>15} | "
             f"{'σ̇ err, unbal.':>14} | {'imbalance':>9}"]
    for i, d in enumerate(res["depths"]):
        ub = res["unbalanced"]["sigma_error"][i, k]
        imb = res["balancedness"]["unbalanced"][i]
        lines.append(f"{d:>5} | {res['balanced']['sigma_error'][i, k]:>16.2e} | "
                     f"{res['balanced']['matrix_error'][i, k]:>15.2e} | "
                     f"{'—' if np.isnan(ub) else f'{ub:.2e}':>14} | "
                     f"{'—' if np.isnan(imb) else f'{imb:.2f}':>9}")
    return "\n".join(lines)


def exact_table(res) -> str:
    """Largest gap between GD and the exact mode solutions, per depth, step and mode."""
    s = ", ".join(f"{x:g}" for x in res["strengths"])
    lines = [f"modes s = {s}, u0 = {res['u0']:g}",
             f"{'depth':>5} | {'η':>7} | {'iterations':>10} | max_t |σ_GD − u_exact| / s, per mode"]
    for d, run in zip(res["depths"], res["runs"], strict=True):
        for lr, steps, dev in ((run["lr"], run["steps"], run["deviation"]),
                               (run["lr_double"], run["steps_double"], run["deviation_double"])):
            lines.append(f"{d:>5} | {lr:>7.1e} | {steps:>10,} | " + "  ".join(f"{x:.2e}" for x in dev))
    return "\n".join(lines)


def plateau_table(res) -> str:
    """Lift times by depth and u₀, then the fitted laws beside the theory."""
    depths = res["depths"]
    lines = [f"lift time T (u reaches s/2 = {res['strength'] / 2:g}), gradient-flow time, by GD",
             f"{'u0':>8} | " + " | ".join(f"{'depth ' + str(d):>8}" for d in depths)]
    for i, u in enumerate(res["u0"]):
        lines.append(f"{u:>8.1e} | " + " | ".join(f"{T:>8.4g}" for T in res["measured"][:, i]))
    s = res["strength"]
    lines += ["", f"{'depth':>5} | {'max|T_GD/T_exact−1|':>19} | {'fit T = a·g(u0) + b':<32} | theory"]
    naive = []
    for d, T, T_ex, f in zip(depths, res["measured"], res["predicted"], res["fit"], strict=True):
        dev = np.max(np.abs(T / T_ex - 1))
        if f is None:
            fit, theory = f"T(min u0)/T(max u0) = {T[-1] / T[0]:.4f}", "→ ln 2: no plateau"
        elif f["law"] == "log":
            fit, theory = f"a = {f['a']:.4f}, g = ln(1/u0)", f"a = 1/(2s) = {0.5 / s:.4f}"
        else:
            fit = f"α = {f['exponent']:.4f}, a = {f['a']:.3f}, b = {f['b']:+.2f}"
            theory = f"α = {1 - 2 / d:.4f}, a = {1 / ((d - 2) * s):.3f}"
            slope = -np.polyfit(np.log(res["u0"]), np.log(T), 1)[0]
            naive.append(f"depth {d}: {slope:.4f}")
        lines.append(f"{d:>5} | {dev:>19.1e} | {fit:<32} | {theory}")
    if naive:
        lines.append("(g = u0^−α) log-log slopes fitted without b: " + ", ".join(naive))
    return "\n".join(lines)


def completion_table(res) -> str:
    """Final errors, lifted counts and lift iterations of the completion runs."""
    r = res["rank"]
    lines = [f"target σ: {', '.join(f'{x:.2f}' for x in res['target_sv'][:r])}; "
             f"zero-fill error {res['zero_fill']:.4f}",
             f"{'depth':>5} | {'error':>8} | {'loss':>7} | {'lifted':>6} | "
             f"iterations to half height, σ_1, σ_2, …"]
    for d, run in zip(res["depths"], res["runs"], strict=True):
        half = ", ".join(f"{x:,}" for x in run["half_steps"][: r + 2])
        lines.append(f"{d:>5} | {run['final_error']:>8.3g} | {run['final_loss']:>7.1e} | "
                     f"{run['lifted']:>6} | {half}")
    lines.append("final top singular values:")
    for d, run in zip(res["depths"], res["runs"], strict=True):
        lines.append(f"  depth {d}: " + " ".join(f"{x:.3g}" for x in run["sigma"][-1]))
    return "\n".join(lines)


def summary(p, rate, exact, plat, dyn) -> str:
    """What the chapter verified, with the measured numbers."""
    k = rate["table_index"]
    bal = rate["balanced"]["sigma_error"][:, k]
    unb = rate["unbalanced"]["sigma_error"][1:, k]
    devs = ", ".join(f"{run['deviation'].max():.2%}" for run in exact["runs"])
    fit = dict(zip(plat["depths"], plat["fit"], strict=True))
    fits = ", ".join(f"{fit[d]['exponent']:.4f} at depth {d} (theory {1 - 2 / d:.4f})"
                     for d in plat["depths"] if d >= 3)
    runs = dict(zip(dyn["depths"], dyn["runs"], strict=True))
    r = dyn["rank"]
    return "\n".join([
        f"• Singular-value rate: one GD step (η = {rate['table_lr']:.0e}) from balanced starts matches it "
        f"to {bal.max():.1e} at depths 1–4;",
        f"  from unbalanced factorizations of the same W it is off by {unb.min():.0%}–{unb.max():.0%}.",
        f"• Exact solutions: GD stays within {devs} of s of Saxe's sigmoid / the mode ODE "
        f"(depths {', '.join(map(str, exact['depths']))}).",
        f"• Plateau: slope {fit[2]['a']:.4f} of T against ln(1/u0) at depth 2 "
        f"(theory {0.5 / plat['strength']:.4f});",
        f"  exponent of 1/u0 {fits}.",
        f"• Completion {p.dyn_size}×{p.dyn_size}, rank {r}, m = {p.dyn_observations}: depth 1 error "
        f"{runs[1]['final_error']:.3f} (zero-fill {dyn['zero_fill']:.3f});",
        f"  depth 2 lifts {runs[2]['lifted']} singular values (error {runs[2]['final_error']:.2g}); "
        f"depth 3 lifts {runs[3]['lifted']} (error {runs[3]['final_error']:.1e}),",
        f"  the next value at most {runs[3]['next_at_half'][: r - 1].max():.1%} risen at each jump.",
    ])


# --------------------------------------------------------------------------------------------
# 6. Headless reproduction (python -m dmfnb reproduce singular_values)
# --------------------------------------------------------------------------------------------

def _steps():
    from ..infra.reproduce import Step

    return [
        Step("rate_check", lambda p, _: rate_check(p), plot_rate_check),
        Step("exact_modes", lambda p, _: exact_modes(p), plot_exact_modes),
        Step("plateau_sweep", lambda p, _: plateau_sweep(p), plot_plateau),
        Step("completion_dynamics", lambda p, _: completion_dynamics(p), plot_completion_dynamics),
    ]


STEPS = _steps()
"""The chapter's experiments in order, as :class:`dmfnb.reproduce.Step` objects."""


def paper_table(results: dict, scale: str) -> list[tuple]:
    """Rows (quantity, ours, theory or the papers' value) from the results of :data:`STEPS`."""
    rows = []
    if "rate_check" in results:
        r = results["rate_check"]
        k = r["table_index"]
        bal = np.nanmax(np.asarray(r["balanced"]["sigma_error"])[:, k])
        unb = np.asarray(r["unbalanced"]["sigma_error"])[1:, k]
        rows.append((f"σ-rate rel. error, one GD step η={r['table_lr']:.0e}, balanced, depths 1–4",
                     f"{bal:.1e}", "O(η) (Arora et al. 2019: exact for gradient flow)"))
        rows.append(("σ-rate rel. error, unbalanced factors of the same W",
                     f"{unb.min():.2f}–{unb.max():.2f}", "not covered by the theorem"))
    if "exact_modes" in results:
        e = results["exact_modes"]
        for d, run in zip(e["depths"], e["runs"], strict=True):
            rows.append((f"max |σ_GD − u_exact|/s, depth {d}, η={run['lr']:g}",
                         f"{np.max(run['deviation']):.2%}", "0 as η → 0 (Saxe et al. 2014)"))
    if "plateau_sweep" in results:
        pl = results["plateau_sweep"]
        for d, f in zip(pl["depths"], pl["fit"], strict=True):
            if f is None:
                continue
            if f["law"] == "log":
                rows.append((f"plateau slope dT/d ln(1/u0), depth {d}", f"{f['a']:.4f}",
                             f"1/(2s) = {0.5 / pl['strength']:.4f}"))
            else:
                rows.append((f"plateau exponent of 1/u0, depth {d}", f"{f['exponent']:.4f}",
                             f"1 − 2/N = {1 - 2 / d:.4f}"))
    if "completion_dynamics" in results:
        c = results["completion_dynamics"]
        runs = dict(zip(c["depths"], c["runs"], strict=True))
        size = np.asarray(runs[c["depths"][0]]["sigma"]).shape
        label = f"completion ({scale} scale, rank {c['rank']})"
        if 1 in runs:
            rows.append((f"{label}: depth 1 error", f"{runs[1]['final_error']:.3f}",
                         f"zero-fill ({c['zero_fill']:.3f} here; ≈0.8 at 100×100, m=2000)"))
        if 2 in runs:
            rows.append((f"{label}: depth 2 lifted σ (top {size[1]})", str(runs[2]["lifted"]),
                         "≈10: 5 large, ≈5 small (authors, rank 5)"))
        if 3 in runs:
            rows.append((f"{label}: depth 3 lifted σ", str(runs[3]["lifted"]),
                         f"exactly the rank ({c['rank']}), staggered"))
            rows.append((f"{label}: depth 3 error", f"{runs[3]['final_error']:.1e}",
                         "2.6e-5 (authors, adaptive optimizer to loss 1e-6)"))
    return rows
