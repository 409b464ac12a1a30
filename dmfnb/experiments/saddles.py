"""Experiments of the chapter *R saddles for rank R* (``book/saddles.ipynb``).

Each top-level function takes the parameter namespace ``p = dmfnb.params("saddles")`` and returns
plain dicts of numbers and arrays, deterministic from the seeds in ``p``:

- :func:`staircase` — gradient descent on rank-R targets (R = 1…4) at depths 2–4, with the loss
  staircase detected automatically and the numerical rank at every record;
- :func:`landscape` — the exact Hessian at each detected plateau and at the end point;
- :func:`curvature_path` — the smallest Hessian eigenvalue along whole trajectories;
- :func:`glrl_comparison` — Greedy Low-Rank Learning against gradient descent from shrinking
  initializations, at depths 2 and 3;
- :func:`explorer` — an interactive staircase (ipywidgets), headless-safe.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.linalg

from ..factors import gradients, init_factors, product, stack_factors
from ..theory.glrl import greedy_low_rank, mirror_factors, symmetric_mask
from ..theory.hessian import factor_hessian, hessian_eigs, loss_hessian, unflatten_factors
from ..infra.plotting import interact
from ..problems import CompletionProblem, LeastSquaresProblem, stack_problems

__all__ = [
    "curvature_path",
    "detect_stages",
    "exact_saddle_factors",
    "explorer",
    "explorer_figure",
    "glrl_comparison",
    "glrl_problem",
    "ladder_target",
    "landscape",
    "numerical_ranks",
    "pair_alignment",
    "plot_curvature",
    "plot_glrl",
    "plot_losses",
    "plot_staircase",
    "predicted_min_eigenvalue",
    "run_staircase",
    "staircase",
    "train_with_snapshots",
]


# ---------------------------------------------------------------------------------------------
# Building blocks


def ladder_target(n: int, rank: int, *, ratio: float, seed, symmetric: bool = False) -> np.ndarray:
    """An n×n rank-``rank`` target with singular values in geometric progression (σ_i/σ_{i+1} = ratio).

    Singular vectors are Haar-random (U = V for ``symmetric``, making the target PSD); the scale
    gives RMS-1 entries, ‖W*‖_F = n, as :func:`dmfnb.low_rank_target` does.
    """
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    V = U if symmetric else np.linalg.qr(rng.standard_normal((n, rank)))[0]
    s = float(ratio) ** -np.arange(rank, dtype=float)
    s *= n / np.linalg.norm(s)
    return (U * s) @ V.T


def exact_saddle_factors(target, k: int, depth: int, *, seed=None):
    """Balanced factors of width n whose product is exactly W_k = Σ_{i≤k} σ_i u_i v_iᵀ.

    W_1 = Q_1[:, :k] S^{1/N} V_kᵀ, W_j = Q_j[:, :k] S^{1/N} Q_{j−1}[:, :k]ᵀ, W_N = U_k S^{1/N} Q_{N−1}[:, :k]ᵀ
    with random orthogonal Q_j (n × n): the hidden directions Q_j[:, k:] are exactly unused (unlike
    :func:`dmfnb.balanced_factors` of W_k, whose rounding-level singular values leave ~1e-16^{1/N}
    in them). Returns ``(factors, Q)`` with Q the list of the N − 1 hidden bases.
    """
    target = np.asarray(target, dtype=float)
    n = target.shape[0]
    u, s, vt = np.linalg.svd(target)
    rng = np.random.default_rng(seed)
    Q = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(depth - 1)]
    root = s[:k] ** (1.0 / depth)
    if depth == 1:
        return [(u[:, :k] * s[:k]) @ vt[:k]], []
    factors = [(Q[0][:, :k] * root) @ vt[:k]]
    factors += [(Q[j][:, :k] * root) @ Q[j - 1][:, :k].T for j in range(1, depth - 1)]
    factors.append((u[:, :k] * root) @ Q[-1][:, :k].T)
    return factors, Q


def train_with_snapshots(problem, factors, *, lr, steps: int, num_records: int):
    """Plain gradient descent with the factors saved at ~``num_records`` log-spaced steps.

    Gradient descent has no optimizer state, so running :func:`dmfnb.train` chunk by chunk between
    the record steps gives exactly the uninterrupted run, with the factors at every record.

    Returns
    -------
    dict
        ``steps`` (T,), ``loss`` (T,) or (T, B), ``singular_values`` (T, [B,] k), ``factors`` (a list
        of T factor lists), ``grad_norm`` (T, [B]) — ‖∇L‖ over all factor entries.
    """
    from ..engine import train

    marks = np.unique(np.r_[0, np.round(np.geomspace(1, steps, num_records)).astype(int)])
    fs = [f.copy() for f in factors]
    snaps, losses, svals, gnorms = [], [], [], []

    def log(fs_now):
        loss, grads = gradients(problem, fs_now)
        snaps.append([f.copy() for f in fs_now])
        losses.append(np.copy(loss))
        svals.append(np.linalg.svd(product(fs_now), compute_uv=False))
        gnorms.append(np.sqrt(sum(np.sum(g * g, axis=(-2, -1)) for g in grads)))

    log(fs)
    for a, b in itertools.pairwise(marks):
        fs = train(problem, fs, lr=lr, steps=int(b - a), record=[int(b - a)]).factors
        log(fs)
    return {"steps": marks, "loss": np.array(losses), "singular_values": np.array(svals),
            "factors": snaps, "grad_norm": np.array(gnorms)}


def detect_stages(steps, loss, *, rate: float = 1.0, min_drop: float = 2.0) -> dict:
    """Find the drops and plateaus of a loss curve recorded at log-spaced steps, automatically.

    On log–log axes the speed of descent is v = −d ln ℓ / d ln t. A *drop* is a maximal run of
    consecutive record intervals with v > ``rate`` (the loss falls faster than 1/t) over which the
    loss falls by a factor ≥ ``min_drop``; the *plateaus* are the stretches before, between and
    (unless the last drop runs to the end) after the drops. Each plateau is represented by its
    flattest record (smallest v), where the iterate is closest to the saddle.

    Parameters
    ----------
    steps
        (T,) increasing record steps (a leading 0 is ignored).
    loss
        (T,) positive losses.

    Returns
    -------
    dict
        ``drops``: list of (start, end) record indices (into ``steps``); ``plateaus``: the
        representative record index of each plateau before a drop (one per drop);
        ``speed``: v per interval (aligned with ``steps[1:]``), ``count``: number of drops.
    """
    steps = np.asarray(steps, dtype=float)
    loss = np.asarray(loss, dtype=float)
    first = 1 if steps[0] == 0 else 0
    x = np.log(steps[first:])
    y = np.log(np.maximum(loss[first:], np.finfo(float).tiny))
    v = -np.diff(y) / np.diff(x)
    fast = v > rate
    drops = []
    i = 0
    while i < v.size:
        if fast[i]:
            j = i
            while j + 1 < v.size and fast[j + 1]:
                j += 1
            if y[i] - y[j + 1] >= np.log(min_drop):
                drops.append((i + first, j + 1 + first))
            i = j + 1
        else:
            i += 1
    plateaus = []
    prev_end = first
    for start, _end in drops:
        lo, hi = prev_end - first, start - first  # intervals [lo, hi) of the plateau
        if hi > lo:
            k = lo + int(np.argmin(v[lo:hi]))
            plateaus.append(k + first)  # the record at the left end of the flattest interval
        else:
            plateaus.append(start)
        prev_end = _end
    return {"drops": drops, "plateaus": plateaus, "speed": v, "count": len(drops)}


def numerical_ranks(singular_values, threshold: float) -> np.ndarray:
    """Number of singular values above ``threshold`` (an absolute level) at every record."""
    return np.sum(np.asarray(singular_values) > threshold, axis=-1)


def pair_alignment(vector, factors, u, v) -> tuple[float, float]:
    """How much a Hessian eigenvector points along the singular pair (u, v).

    Returns (‖uᵀV_N‖/‖V_N‖, ‖V_1 v‖/‖V_1‖): the share of the eigenvector's last-factor part whose
    columns lie along u, and of its first-factor part whose rows lie along v (1 = fully aligned).
    """
    parts = unflatten_factors(vector, factors)
    VN, V1 = parts[-1], parts[0]
    left = np.linalg.norm(u @ VN) / max(np.linalg.norm(VN), 1e-300)
    right = np.linalg.norm(V1 @ v) / max(np.linalg.norm(V1), 1e-300)
    return float(left), float(right)


def predicted_min_eigenvalue(depth: int, target_sv: float, current_sv: float) -> float:
    """Smallest Hessian eigenvalue next to a saddle, from the mode that is learned next.

    Let s = σ_{k+1}(W*) be the next target strength and u = σ_{k+1}(W) the current size of that
    mode, each balanced factor carrying a = u^{1/N} of it.

    - Depth 2: a hidden direction q not yet used gives the perturbation (W_1 += c q vᵀ,
      W_2 += c u qᵀ) with curvature −(s − u): the eigenvalue is −(s − u) ≈ −s, whatever the
      initialization.
    - Depth N ≥ 3: an unused hidden direction gives zero curvature (N − 2 other factors would have
      to move too), so the curvature comes from the mode itself. The scalar model
      ½(x_1⋯x_N − s)² at x_i = a has Hessian a^{2N−2}𝟙𝟙ᵀ − (s − u)a^{N−2}(𝟙𝟙ᵀ − I), whose smallest
      eigenvalue is N u^{2−2/N} − (N − 1)(s − u) u^{(N−2)/N}: negative, but vanishing with u.
    """
    N = int(depth)
    u = float(current_sv)
    if N == 2:
        return -(target_sv - u)
    return N * u ** (2 - 2 / N) - (N - 1) * (target_sv - u) * u ** ((N - 2) / N)


# ---------------------------------------------------------------------------------------------
# Experiments


def _targets(p):
    n = p.shape[0]
    return [ladder_target(n, R, ratio=p.ratio, seed=p.target_seed + R) for R in p.ranks]


def run_staircase(p, depth: int, *, targets=None, init_scale=None, lr=None, steps=None) -> dict:
    """One depth, all ranks of ``p.ranks`` in one stacked computation; stages detected per rank."""
    targets = _targets(p) if targets is None else targets
    n = p.shape[0]
    init_scale = p.init_scale[depth] if init_scale is None else init_scale
    lr = p.lr[depth] if lr is None else lr
    steps = p.steps[depth] if steps is None else steps
    problem = stack_problems([LeastSquaresProblem(t) for t in targets])
    factors = stack_factors([
        init_factors((n, n), depth, scale=init_scale, kind="orthogonal", seed=p.init_seed + b)
        for b in range(len(targets))
    ])
    run = train_with_snapshots(problem, factors, lr=lr, steps=steps, num_records=p.records)
    runs = []
    for b, target in enumerate(targets):
        s_star = np.linalg.svd(target, compute_uv=False)
        threshold = p.rank_tol * s_star[0]
        stages = detect_stages(run["steps"], run["loss"][:, b], rate=p.drop_rate, min_drop=p.min_drop)
        ranks = numerical_ranks(run["singular_values"][:, b], threshold)
        runs.append({
            "rank": int(np.linalg.matrix_rank(target)),
            "target": target,
            "target_sv": s_star,
            "loss": run["loss"][:, b],
            "singular_values": run["singular_values"][:, b],
            "grad_norm": run["grad_norm"][:, b],
            "numerical_rank": ranks,
            "rank_threshold": threshold,
            "factors": [[f[b] for f in fs] for fs in run["factors"]],
            **stages,
        })
    return {"depth": depth, "steps": run["steps"], "lr": lr, "init_scale": init_scale, "runs": runs}


def staircase(p) -> dict:
    """The loss staircase for every depth in ``p.depths`` and rank in ``p.ranks``.

    Returns ``{depth: run_staircase(p, depth)}``; each run carries its detected ``count`` of drops,
    the ``plateaus`` and ``drops`` record indices and the ``numerical_rank`` at every record.
    """
    targets = _targets(p)
    return {depth: run_staircase(p, depth, targets=targets) for depth in p.depths}


def landscape(p, stair: dict) -> list[dict]:
    """Exact Hessians at every detected plateau and at the end point of every run of ``stair``.

    For plateau k (k = 0, …, R−1) of each run: the loss, ‖∇L‖ (and its ratio to the largest
    gradient norm of the run), the ``p.hessian_k`` smallest eigenvalues, the prediction of
    :func:`predicted_min_eigenvalue` and the alignment of the bottom eigenvector with the target's
    (k+1)-th singular pair — the one learned next. At the end point: the smallest and largest
    eigenvalues, the number of eigenvalues with |λ| ≤ ``p.flat_tol``·λ_max (flat directions) and
    the count R(2n − R) of curved ones that a rank-R global minimum must have.
    """
    rows = []
    for depth, res in stair.items():
        for run in res["runs"]:
            target = run["target"]
            problem = LeastSquaresProblem(target)
            H_W = loss_hessian(problem)
            u_star, s_star, vt_star = np.linalg.svd(target)
            gmax = float(run["grad_norm"].max())
            for k, idx in enumerate(run["plateaus"]):
                fs = run["factors"][idx]
                vals, vecs = hessian_eigs(factor_hessian(problem, fs, H_W=H_W), p.hessian_k)
                cur = run["singular_values"][idx]
                left, right = pair_alignment(vecs[:, 0], fs, u_star[:, k], vt_star[k])
                rows.append({
                    "depth": depth, "rank": run["rank"], "point": "plateau", "stage": k,
                    "step": int(res["steps"][idx]), "loss": float(run["loss"][idx]),
                    "grad_norm": float(run["grad_norm"][idx]),
                    "grad_ratio": float(run["grad_norm"][idx]) / gmax,
                    "eigenvalues": vals,
                    "predicted": predicted_min_eigenvalue(depth, s_star[k], cur[k]),
                    "target_sv": float(s_star[k]), "current_sv": float(cur[k]),
                    "alignment": (left, right),
                    "numerical_rank": int(run["numerical_rank"][idx]),
                })
            fs = run["factors"][-1]
            H = factor_hessian(problem, fs, H_W=H_W)
            lo, _ = hessian_eigs(H, p.hessian_k)
            hi, _ = hessian_eigs(H, 1, which="largest")
            all_vals = scipy.linalg.eigvalsh(H)
            flat = int(np.sum(np.abs(all_vals) <= p.flat_tol * hi[0]))
            n, m = target.shape
            R = run["rank"]
            rows.append({
                "depth": depth, "rank": R, "point": "end", "stage": R,
                "step": int(res["steps"][-1]), "loss": float(run["loss"][-1]),
                "grad_norm": float(run["grad_norm"][-1]),
                "grad_ratio": float(run["grad_norm"][-1]) / gmax,
                "eigenvalues": lo, "lambda_max": float(hi[0]),
                "flat": flat, "curved": int(H.shape[0] - flat),
                "curved_expected": R * (n + m - R), "size": int(H.shape[0]),
                "numerical_rank": int(run["numerical_rank"][-1]),
            })
    return rows


def curvature_path(p, stair: dict, *, rank: int | None = None, points: int | None = None) -> dict:
    """The smallest Hessian eigenvalue at ~``points`` records of the rank-``rank`` run, per depth."""
    rank = p.curvature_rank if rank is None else rank
    points = p.curvature_points if points is None else points
    out = {}
    for depth, res in stair.items():
        run = next(r for r in res["runs"] if r["rank"] == rank)
        problem = LeastSquaresProblem(run["target"])
        H_W = loss_hessian(problem)
        idx = np.unique(np.round(np.linspace(1, len(res["steps"]) - 1, points)).astype(int))
        lam = np.array([hessian_eigs(factor_hessian(problem, run["factors"][i], H_W=H_W), 1)[0][0]
                        for i in idx])
        out[depth] = {"steps": res["steps"][idx], "lambda_min": lam, "loss": run["loss"][idx]}
    return out


def glrl_problem(p):
    """The PSD completion problem of the GLRL experiment: target, symmetric mask, problem."""
    n = p.glrl_n
    target = ladder_target(n, p.glrl_rank, ratio=p.ratio, seed=p.glrl_seed, symmetric=True)
    mask = symmetric_mask(n, p.glrl_pairs, seed=p.glrl_seed + 1)
    return CompletionProblem(target, mask)


def glrl_comparison(p) -> dict:
    """GLRL against gradient descent on the PSD factorization from shrinking initializations.

    GLRL runs once (:func:`dmfnb.greedy_low_rank`). Gradient descent runs on the engine's
    mirror-symmetric factorization (W = UUᵀ at depth 2) for every scale in ``p.glrl_scales`` and
    depth in ``p.glrl_depths``, all scales of a depth stacked in one computation. For each GLRL
    stage W_r the distance of the GD path to it, min_t ‖W_GD(t) − W_r‖_F / ‖W*‖_F, is recorded.
    """
    from ..engine import train

    problem = glrl_problem(p)
    target = problem.target
    n = p.glrl_n
    glrl = greedy_low_rank(problem, lr=p.glrl_lr, eps=p.glrl_eps, grad_tol=p.glrl_grad_tol)
    norm = np.linalg.norm(target)
    out = {"glrl": glrl, "target": target, "mask": problem.mask, "scales": np.array(p.glrl_scales),
           "depths": {}}
    for depth in p.glrl_depths:
        steps = p.glrl_steps[depth]
        B = len(p.glrl_scales)
        factors = stack_factors([mirror_factors(n, depth, scale=s, seed=p.glrl_seed + 2)
                                 for s in p.glrl_scales])
        record = np.unique(np.r_[0, np.round(np.geomspace(1, steps, p.records)).astype(int)])
        traj = train(stack_problems([problem] * B), factors, lr=p.glrl_gd_lr[depth], steps=steps,
                     record=record, keep_products=True)
        Wt = traj.products  # (T, B, n, n)
        dist = np.array([[np.linalg.norm(Wt[:, b] - Wr, axis=(-2, -1)) / norm for Wr in glrl.stages]
                         for b in range(B)])  # (B, R, T)
        closest = dist.min(axis=-1)  # (B, R)
        out["depths"][depth] = {
            "steps": traj.steps, "loss": traj.loss, "distance": dist, "closest": closest,
            "plateau_distance": closest[:, :-1].max(axis=1) if glrl.rank > 1 else closest[:, 0],
            "final_distance": np.linalg.norm(Wt[-1] - glrl.final, axis=(-2, -1)) / norm,
            "lr": p.glrl_gd_lr[depth],
            "asymmetry": float(np.abs(Wt[-1] - np.swapaxes(Wt[-1], -1, -2)).max()),
        }
    for d in out["depths"].values():
        x = np.log10(out["scales"])
        d["slope"] = float(np.polyfit(x, np.log10(d["plateau_distance"]), 1)[0])
    return out


# ---------------------------------------------------------------------------------------------
# Figures and the explorer


def plot_staircase(res: dict, *, axes=None, rank: int | None = None):
    """Loss (top) and singular values with the numerical rank (bottom) of one run, stages shaded."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import COLORS, depth_color

    run = res["runs"][-1] if rank is None else next(r for r in res["runs"] if r["rank"] == rank)
    steps = res["steps"]
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(7, 5.6), sharex=True)
    ax1, ax2 = axes
    t = np.maximum(steps, 1)
    ax1.loglog(t, run["loss"], color=depth_color(res["depth"]), label=f"depth {res['depth']}")
    for a, b in run["drops"]:
        for ax in axes:
            ax.axvspan(t[a], t[b], color=COLORS["sky"], alpha=0.25, lw=0)
    for k, i in enumerate(run["plateaus"]):
        ax1.plot(t[i], run["loss"][i], "o", color=COLORS["vermillion"], ms=6,
                 label="plateau (Hessian taken)" if k == 0 else None)
    ax1.set_ylabel("training loss")
    ax1.legend(loc="lower left")
    R = run["rank"]
    for i in range(min(R + 2, run["singular_values"].shape[1])):
        ax2.loglog(t, run["singular_values"][:, i], color=COLORS["black"] if i < R else COLORS["orange"],
                   lw=1.4, alpha=0.9 if i < R else 0.6)
    ax2.axhline(run["rank_threshold"], color=COLORS["purple"], ls="--", lw=1, label="rank threshold")
    ax2.set_ylim(bottom=max(run["singular_values"][:, : R + 2].min() * 0.5, 1e-12))
    ax2.set_ylabel("singular values of W")
    ax2.set_xlabel("iteration")
    twin = ax2.twinx()
    twin.step(t, run["numerical_rank"], where="post", color=COLORS["vermillion"], lw=1.6)
    twin.set_ylabel("numerical rank", color=COLORS["vermillion"])
    twin.set_yticks(range(R + 1))
    twin.set_ylim(-0.2, R + 0.5)
    twin.grid(False)
    ax2.legend(loc="upper left")
    return axes


def plot_losses(stair: dict, *, axes=None):
    """One panel per depth: the loss of every rank's run, with the detected drops marked."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import COLORS

    depths = list(stair)
    if axes is None:
        _, axes = plt.subplots(1, len(depths), figsize=(4.0 * len(depths), 3.8), sharey=True)
    axes = np.atleast_1d(axes)
    palette = [COLORS[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky")]
    for ax, depth in zip(axes, depths, strict=True):
        res = stair[depth]
        t = np.maximum(res["steps"], 1)
        for i, run in enumerate(res["runs"]):
            color = palette[i % len(palette)]
            drops = f"{run['count']} drop" + ("s" if run["count"] != 1 else "")
            ax.loglog(t, run["loss"], color=color, label=f"R = {run['rank']} ({drops})")
            ends = [b for _, b in run["drops"]]
            ax.plot(t[ends], run["loss"][ends], "v", color=color, ms=5)
        ax.set_title(f"depth {depth}, init {res['init_scale']:.0e}, η = {res['lr']:g}")
        ax.set_xlabel("iteration")
        ax.legend(fontsize=8, loc="lower left")
    axes[0].set_ylabel("training loss ½‖W − W*‖²")
    return axes


def plot_curvature(path: dict, *, ax=None):
    """The smallest Hessian eigenvalue along each depth's trajectory (symmetric-log scale)."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import COLORS, depth_color

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for depth, d in path.items():
        ax.plot(np.maximum(d["steps"], 1), d["lambda_min"], "o-", ms=3, color=depth_color(depth),
                label=f"depth {depth}")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    ax.set_ylim(top=1e-3)
    ax.axhline(0, color=COLORS["black"], lw=0.8)
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$\lambda_{\min}(\nabla^2 L)$")
    ax.legend()
    return ax


def plot_glrl(cmp: dict, *, axes=None):
    """Left: distance of the GD path to each GLRL stage (smallest scale). Right: distance vs scale."""
    import matplotlib.pyplot as plt

    from ..infra.plotting import COLORS, depth_color

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 4))
    ax1, ax2 = axes
    styles = ["-", "--", ":", "-."]
    for depth, d in cmp["depths"].items():
        t = np.maximum(d["steps"], 1)
        for r in range(d["distance"].shape[1]):
            ax1.loglog(t, d["distance"][-1, r], styles[r % 4], color=depth_color(depth),
                       label=f"depth {depth}, stage W_{r + 1}")
        ax2.loglog(cmp["scales"], d["plateau_distance"], "o-", color=depth_color(depth),
                   label=f"depth {depth} (slope {d['slope']:.2f})")
    ax1.set_xlabel("iteration")
    ax1.set_ylabel(r"$\|W_{GD}(t) - W_r\|_F / \|W^*\|_F$")
    ax1.set_title(f"init scale {cmp['scales'][-1]:.0e}")
    ax1.legend(fontsize=7.5, ncol=2, loc="lower left")
    ax2.set_xlabel("initialization scale (‖W(0)‖₂)")
    ax2.set_ylabel("worst closest approach to a GLRL plateau")
    ax2.legend()
    ax2.grid(True, which="both", alpha=0.3)
    ax2.plot([], [], color=COLORS["black"])
    return axes


def explorer_figure(p, depth: int = 3, rank: int = 3, log10_scale: float = -5.0, ratio: float = 2.0):
    """The explorer's figure for one setting: run, detect the stages, draw :func:`plot_staircase`."""
    from types import SimpleNamespace

    import matplotlib.pyplot as plt

    q = SimpleNamespace(**{**vars(p), "ratio": ratio, "ranks": (rank,)})
    res = run_staircase(q, depth, init_scale=10.0 ** log10_scale)
    run = res["runs"][0]
    fig, axes = plt.subplots(2, 1, figsize=(7, 5.6), sharex=True)
    plot_staircase(res, axes=axes)
    fig.suptitle(f"depth {depth}, rank {rank}, init 1e{log10_scale:g}, ratio {ratio:g}: "
                 f"{run['count']} drops, final numerical rank {run['numerical_rank'][-1]}")
    return fig, res


def explorer(p=None):
    """Interactive staircase: depth, target rank, init scale and singular-value ratio.

    Built on :func:`dmfnb.plotting.interact`, so it also runs headless.
    """
    from ..infra.scales import params

    p = params("saddles") if p is None else p

    def draw(depth=3, rank=3, log10_scale=-5.0, ratio=2.0):
        explorer_figure(p, depth, rank, log10_scale, ratio)

    return interact(draw, lambda w: dict(
        depth=w.IntSlider(value=3, min=2, max=4, description="depth"),
        rank=w.IntSlider(value=3, min=1, max=5, description="rank R"),
        log10_scale=w.FloatSlider(value=-5.0, min=-8.0, max=-2.0, step=0.5,
                                  description="log₁₀ init"),
        ratio=w.FloatSlider(value=2.0, min=1.2, max=4.0, step=0.1, description="σ ratio"),
    ))


# ---------------------------------------------------------------------------------------------
# Headless reproduction (python -m dmfnb reproduce saddles)


def _steps():
    from ..infra.reproduce import Step

    return [
        Step("staircase", lambda p, _: staircase(p), plot_losses),
        Step("landscape", lambda p, r: {"rows": landscape(p, r["staircase"])}),
        Step("curvature_path", lambda p, r: curvature_path(p, r["staircase"]), plot_curvature),
        Step("glrl_comparison", lambda p, _: glrl_comparison(p), plot_glrl),
    ]


STEPS = _steps()
"""The chapter's experiments in order, as :class:`dmfnb.reproduce.Step` objects."""


def paper_table(results: dict, scale: str) -> list[tuple]:
    """Rows (quantity, ours, the theorem's value) from the results of :data:`STEPS`."""
    rows = []
    for depth, res in results.get("staircase", {}).items():
        counts = [int(run["count"]) for run in res["runs"]]
        ranks = [int(run["rank"]) for run in res["runs"]]
        rows.append((f"depth {depth}: loss drops for targets of rank {ranks}", str(counts),
                     f"{ranks} (Cao et al. 2023: R stages)"))
    if "landscape" in results:
        table = results["landscape"]["rows"]
        plateaus = [r for r in table if r["point"] == "plateau"]
        ends = [r for r in table if r["point"] == "end"]
        rows.append(("plateaus with a negative Hessian eigenvalue",
                     f"{sum(r['eigenvalues'][0] < 0 for r in plateaus)}/{len(plateaus)}", "all"))
        worst = min(r["eigenvalues"][0] / r["lambda_max"] for r in ends)
        rows.append(("end points: min eigenvalue / max eigenvalue", f"{worst:.1e}",
                     "≥ 0 (second-order critical point)"))
    return rows
