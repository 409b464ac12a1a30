"""The one scale switch: ``DMFNB_SCALE`` picks every chapter's parameters.

``DMFNB_SCALE`` unset (or ``default``) picks sizes that run each chapter in about a minute on two
cores; ``DMFNB_SCALE=paper`` picks the authors' exact sizes where the paper gives them and
otherwise a larger instance. Each chapter's values live in ``dmfnb/chapters/<name>/params.py`` as a
frozen dataclass whose defaults are the default scale; its paper scale is built from it with
``dataclasses.replace``, so the paper block states only what differs.
"""

from __future__ import annotations

import importlib
import os
from types import MappingProxyType, SimpleNamespace

__all__ = ["SCALES", "current_scale", "params"]

SCALES = ("default", "paper")

_PARAMS = {
    # ---- chapter: How singular values move (book/singular_values.ipynb) ----
    "singular_values": {
        "default": {
            # Rate check: one tiny GD step on a sensing problem from balanced starts.
            "rate_shape": (6, 6), "rate_rank": 2, "rate_observations": 30, "rate_seed": 0,
            "rate_depths": (1, 2, 3, 4), "rate_init_scale": 1.0, "rate_unbalance": 0.5,
            "rate_lrs": tuple(10.0 ** k for k in range(-10, -1)), "rate_lr": 1e-6,
            "rate_tol": 1e-3,
            # Exact solutions: full observation, aligned balanced start, small step.
            "exact_shape": (5, 3), "exact_strengths": (2.0, 1.0, 0.5), "exact_seed": 0,
            "exact_depths": (2, 3, 4), "exact_init_scale": 1e-3, "exact_lr": 5e-4,
            "exact_horizon": 1.1, "exact_records": 800, "exact_tol": 0.01,
            # Plateau length against init scale (4 decades), one mode s = 1.
            "plateau_inits": tuple(10.0 ** (-k / 2) for k in range(4, 13)),
            "plateau_depths": (1, 2, 3, 4), "plateau_strength": 1.0, "plateau_steps": 10_000,
            "plateau_tol": 0.01, "plateau_exponent_tol": 0.05,
            # The authors' dynamics figure, shrunk: 40×40 rank 3, m/(r(2n−r)) ≈ 2 as in the paper.
            "dyn_size": 40, "dyn_rank": 3, "dyn_observations": 480, "dyn_seed": 0,
            "dyn_depths": (1, 2, 3), "dyn_init_scale": 1e-3, "dyn_lr": 0.01,
            "dyn_steps": 200_000, "dyn_record": 100, "dyn_top_k": 10, "dyn_lift_rtol": 1e-2,
            "dyn_stagger_tol": 0.1, "dyn_error_tol": 1e-3,
        },
        # Arora et al. (2019)'s dynamics figure: 100×100 rank 5, m = 2000, plain GD, lr 0.01,
        # identity init 1e-3, 2e5 iterations.
        "paper": {
            "dyn_size": 100, "dyn_rank": 5, "dyn_observations": 2000, "dyn_record": 200,
            # After the authors' 2e5 plain-GD iterations the fifth value is still settling
            # (error ≈ 5e-3); their 2.6e-5 comes from the adaptive optimizer run to loss 1e-6.
            "dyn_error_tol": 1e-2,
        },
    },
    # ---- chapter: Depth and the low-rank bias (book/low_rank_bias.ipynb) ----
    "low_rank_bias": {
        # Observation counts are multiples of the degrees of freedom r(2n − r) of a rank-r n×n
        # matrix: 231 for 40×40 rank 3 (×1, 1.5, 1.75, 2, 2.5, 3, 4), 76 for 20×20 rank 2
        # (×1, 1.25, 1.5, 1.75, 2, 3), 975 for the authors' 100×100 rank 5.
        "default": {
            "seed": 0,
            "ground_truths": 3,
            "completion": {"shape": (40, 40), "rank": 3,
                           "observations": (231, 347, 404, 462, 578, 693, 924)},
            # Sensing costs m·n² per step and per convex solve: a smaller instance.
            "sensing": {"shape": (20, 20), "rank": 2, "observations": (76, 95, 114, 133, 152, 228)},
            "depths": (1, 2, 3, 4),
            "init_scale": 1e-3,          # Gaussian layers, ‖W(0)‖_F ≈ √n · init_scale
            "lr": 3e-3,                  # normalized step ("GroupRMSprop"); authors 1e-3 at 100×100
            "tol": 1e-6,                 # stop at training loss ≤ tol (the authors' rule)
            "max_steps": 20_000,         # runs still above tol are drawn hollow
            "nuclear_tol": 1e-3,         # |X_ij − W*_ij| ≤ 1e-3 in the convex baseline
            "solvers": ("SCS",),
            "conjecture_observations": 462,
            "conjecture_init_scales": (1e-3, 1e-4, 1e-5, 1e-6),
            # Small instance: plain GD against the normalized step, and the explorer.
            "small": {"shape": (20, 20), "rank": 2, "observations": (114, 152, 228),
                      "explorer_observations": 152},
            "gd_depths": (2, 3),
            "gd_lr": 1.0,
            "gd_max_steps": 20_000,
        },
        # The authors' 100×100 rank 5. A 100×100 product gains nothing from stacking, so each
        # completion run is its own stack ("stack": 1) and the runs spread over DMFNB_JOBS
        # processes. A sensing step costs 4·m·n² flops per run; a sensing stack shares its
        # measurement matrices (one product per step for all its runs) but pads every run to its
        # largest count, so stacks hold 12 runs of neighbouring counts. Sensing also takes the
        # normalized step at 1e-2 in float32 with a cap of 6000 steps: on the m = 2000 instance at
        # depth 3 that ends at error 1.35e-5, against 1.24e-5 for the authors' 1e-3 run to loss
        # 1e-6 (32 310 steps, 4.7× the CPU time; float64 gives the same digits at 2.3× the time);
        # the capped runs stall at loss ≈ 2e-6 (benchmarks/bench_sweep.py). The convex baseline is
        # solved by ADMM: SCS takes minutes per sensing instance (benchmarks/bench_nuclear.py).
        "paper": {
            "completion": {"shape": (100, 100), "rank": 5, "stack": 1,
                           "observations": (1000, 1500, 2000, 2500, 3000, 4000, 5000)},
            "sensing": {"shape": (100, 100), "rank": 5, "lr": 1e-2, "max_steps": 6_000,
                        "dtype": "float32", "stack": 12,
                        "observations": (1000, 1500, 2000, 2500, 3000, 4000, 5000)},
            "depths": (2, 3, 4),
            "lr": 1e-3,
            "max_steps": 200_000,        # the authors allow 1e6; converged runs stop far earlier
            "solvers": ("ADMM",),
            "conjecture_observations": 2000,
        },
    },
    # ---- chapter: One saddle per rank (book/saddles.ipynb) ----
    "saddles": {
        "default": {
            # staircase: least squares ½‖W − W*‖² on n×n rank-R targets, σ_i/σ_{i+1} = ratio
            "shape": (10, 10), "ranks": (1, 2, 3, 4), "ratio": 2.0, "depths": (2, 3, 4),
            "target_seed": 0, "init_seed": 100,
            # plain GD from an orthogonal (balanced) init of end-to-end scale init_scale[N]
            "init_scale": {2: 1e-6, 3: 1e-5, 4: 1e-4},
            "lr": {2: 0.02, 3: 0.01, 4: 0.005},
            "steps": {2: 3_000, 3: 25_000, 4: 45_000},
            "records": 300,  # log-spaced records (factors kept at each)
            # stage detection: a drop falls faster than 1/t (v > drop_rate) by ≥ min_drop overall
            "drop_rate": 1.0, "min_drop": 2.0,
            "rank_tol": 0.05,  # numerical rank: σ_i(W) > rank_tol · σ_1(W*)
            "hessian_k": 3, "flat_tol": 1e-6,  # flat: |λ| ≤ flat_tol · λ_max
            "curvature_rank": 3, "curvature_points": 100,
            # GLRL: PSD completion, n×n rank-3 target, symmetric mask of glrl_pairs pairs
            "glrl_n": 10, "glrl_rank": 3, "glrl_pairs": 45, "glrl_seed": 11,
            "glrl_lr": 1.0, "glrl_eps": 1e-10, "glrl_grad_tol": 1e-10,
            "glrl_depths": (2, 3), "glrl_scales": (1e-2, 1e-3, 1e-4, 1e-5, 1e-6),
            "glrl_gd_lr": {2: 2.0, 3: 1.0}, "glrl_steps": {2: 20_000, 3: 20_000},
        },
        # Cao et al. publish no code or setup; "paper" runs the same study at 20×20 with smaller
        # initializations and finer records.
        "paper": {
            "shape": (20, 20), "records": 500,
            "init_scale": {2: 1e-8, 3: 1e-6, 4: 1e-5},
            "lr": {2: 0.01, 3: 0.005, 4: 0.002},
            "steps": {2: 10_000, 3: 150_000, 4: 300_000},
            "curvature_points": 150,
            "glrl_n": 20, "glrl_pairs": 150, "glrl_scales": (1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8),
            "glrl_steps": {2: 60_000, 3: 60_000},
        },
    },
    # ---- chapter: Reduced-rank regression (book/reduced_rank.ipynb) ----
    "reduced_rank": {
        "default": {
            # Data: 4 modes of strengths s_i (singular values of Σ_yx) and input variances λ.
            "strengths": (1.0, 0.5, 0.25, 0.125),
            "input_variances": (1.5, 1.0, 0.6, 0.4, 1.2, 0.8, 2.0, 0.3),  # d_in = 8
            "d_out": 6,
            "num_samples": 100,
            "noise": 0.5,
            "data_seed": 0,
            "init_seed": 1,
            # Dynamics: factors of scale ε, step η = lr_fraction × stability limit.
            "eps_values": (1e-2, 1e-4, 1e-8),
            "lr_fraction": 0.5,
            "steps": 700,
            "small_lr_fraction": 0.02,
            "small_lr_steps": 9_000,
            "large_lr_fraction": 0.9,
            "lr_sweep": (0.5, 0.9, 0.99, 1.05),
            "rotations": (0.0, 0.5, 1.5),
        },
        "paper": {
            # Gidel et al.'s exact sizes are not recorded here; a larger version of the same setup.
            "strengths": (1.0, 0.7, 0.5, 0.35, 0.25, 0.18),
            # λ evenly spaced from 2.0 down to 0.4 (d_in = 20)
            "input_variances": (2.0, 1.916, 1.832, 1.747, 1.663, 1.579, 1.495, 1.411, 1.326, 1.242,
                                1.158, 1.074, 0.989, 0.905, 0.821, 0.737, 0.653, 0.568, 0.484, 0.4),
            "d_out": 20,
            "num_samples": 1000,
            "eps_values": (1e-2, 1e-4, 1e-8, 1e-12),
            "steps": 2_500,
            "small_lr_steps": 25_000,
        },
    },
    # ---- chapter: Norms may not explain it (book/norms.ipynb) ----
    "norms": {
        # Razin & Cohen (2020)'s 2×2 completion [[∗, 1], [1, 0]]; losses in their ½Σ convention.
        "default": {
            "depths": (2, 3, 4),
            "runs": 4,                  # seeds per depth, trained stacked
            "seed": 0,
            "init_std": 8e-3,           # the authors' std (of W(0) for "balanced", per layer for "gaussian")
            "init": "balanced",         # the theorem's setting: W(0) ~ N(0, std²) split by its SVD
            "lr": 3e-3,                 # the authors' η for ½Σ (dm's mean loss: η × 3/2)
            "tol": 1e-3,                # stop at ½Σ loss ≤ tol (paper: 1e-4)
            "max_steps": 6_000_000,
            "fit_from": 1e-2,           # |W₁₁|·√(2ℓ) is checked from this loss down
            "unbalanced_depths": (3,),  # the authors' code default: each layer i.i.d. N(0, std²)
            "negative_depths": (2, 3, 4),
            "negative_tol": 1e-6,
            "epsilons": (0.5, 0.2, 0.1),
            "perturbed_depth": 3,
            "perturbed_tol": 1e-7,
            "perturbed_max_steps": 400_000,
            "explorer_max_steps": 400_000,
        },
        "paper": {
            "tol": 1e-4,
            "unbalanced_depths": (2, 3, 4),
            "epsilons": (0.5, 0.1, 0.05),   # ε = 0.01 needs far more than 5e6 steps to reach −1/ε
            "perturbed_tol": 1e-9,
            "perturbed_max_steps": 3_000_000,
        },
    },
}


def current_scale() -> str:
    """The scale chosen by the environment variable ``DMFNB_SCALE`` (default ``"default"``)."""
    scale = os.environ.get("DMFNB_SCALE", "default").strip().lower() or "default"
    if scale not in SCALES:
        raise ValueError(f"DMFNB_SCALE must be one of {SCALES}, got {scale!r}")
    return scale


def params(chapter: str, scale: str | None = None):
    """Parameters of ``chapter`` at ``scale`` (default: :func:`current_scale`).

    Returns the chapter's frozen ``Params`` dataclass for that scale (``p.scale`` names it),
    e.g. ``p = dmfnb.infra.scales.params("norms"); p.depths``.
    """
    from ..chapters import names

    scale = current_scale() if scale is None else scale
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if chapter in names():
        module = importlib.import_module(f"dmfnb.chapters.{chapter}.params")
        return module.SCALES[scale]
    # TRANSITION: chapters not yet moved to dmfnb/chapters read the old blocks below.
    if chapter not in _PARAMS:
        raise ValueError(f"unknown chapter {chapter!r}; known: {sorted({*names(), *_PARAMS})}")
    values = {**_PARAMS[chapter]["default"], **_PARAMS[chapter][scale]}
    return SimpleNamespace(scale=scale, **values)


PARAMS = MappingProxyType(_PARAMS)
