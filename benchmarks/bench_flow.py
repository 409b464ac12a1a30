"""Gradient flow with error control against gradient descent, on the authors' completion instance.

Arora et al. (2019) train 100×100 rank-5 completion (m = 2000 observed entries, Gaussian init of
scale 1e-3) with a normalized step along the exact gradient, lr 1e-3, to loss ≤ 1e-6. That step
traces the gradient-flow path; ``dmfnb.flow`` integrates the same path with scipy's adaptive
Runge–Kutta methods (and RKC, ``method="auto"``, once the flow is stiff). For depths 2–4 and 3
ground truths this prints, per method: gradient evaluations, CPU seconds (process time, one
BLAS thread), the flow time reached, the reconstruction error and effective rank at the end, and
the distance between the two end points relative to ‖W*‖_F. Same solution in fewer evaluations?

``--sweep`` runs the chapter's whole paper-scale completion sweep (``low_rank_bias``, m =
1000…5000, depths 2–4, 3 ground truths, ADMM baseline) once with the normalized step (the
authors') and once with the flow (what the chapter runs), on ``--jobs`` processes, and prints
for each its CPU and wall seconds, both median-error tables, the largest change of any median
error, and the chapter's phase-transition rows evaluated on each.

Run: ``python benchmarks/bench_flow.py [--truths 3] [--depths 2 3 4] [--observations 2000]
[--methods RK45 auto] [--sweep --jobs 2]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time

import numpy as np

import dmfnb as dm


def instance(truth: int, observations: int = 2000):
    target = dm.low_rank_target((100, 100), 5, seed=[0, truth])
    return target, dm.CompletionProblem.random(target, observations, seed=[1, truth])


def sweep() -> None:
    from dmfnb.chapters.low_rank_bias import checks, compute, tables
    from dmfnb.chapters.low_rank_bias.params import PAPER

    out = {}
    for integrator in ("normalized", "flow"):
        t0 = time.perf_counter()
        sw = compute.observation_sweep(PAPER, "completion", integrator=integrator)
        wall = time.perf_counter() - t0
        cpu = sum(sw.cpu_seconds.values())
        out[integrator] = sw
        print(f"\n{integrator}: {wall:.0f} s wall, {cpu:.0f} CPU s ("
              + ", ".join(f"{k} {v:.0f}" for k, v in sw.cpu_seconds.items())
              + f"); steps or evaluations per run: median {np.median(sw.steps):.0f}, "
              f"max {np.max(sw.steps)}; converged {int(np.sum(sw.converged))}/"
              f"{sw.converged.size}\n", flush=True)
        print(tables.sweep(sw))
        for row in checks._transition_rows("completion", sw):
            print(f"  {row.name}: {row.measured} (expected {row.expected}): "
                  f"{'pass' if row.passed else 'FAIL'}")
    a, b = out["normalized"], out["flow"]
    ratio = np.abs(np.log(np.median(b.error, axis=1) / np.median(a.error, axis=1)))
    print(f"\nlargest factor between the two median errors (depth × m): "
          f"{float(np.exp(ratio.max())):.3g}; per run: "
          f"{float(np.exp(np.abs(np.log(b.error / a.error)).max())):.3g}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truths", type=int, default=3)
    ap.add_argument("--depths", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument("--sweep", action="store_true", help="the paper-scale completion sweep")
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--observations", type=int, default=2000,
                    help="observed entries (1000: a stiff end, where 'auto' moves to RKC)")
    ap.add_argument("--methods", nargs="+", default=["RK45", "auto"],
                    help="dmfnb.flow methods to compare (RK45, DOP853, RK23, RKC, auto)")
    args = ap.parse_args()
    if args.jobs is not None:
        os.environ["DMFNB_JOBS"] = str(args.jobs)
    if args.sweep:
        sweep()
        return
    print("| depth | truth | method | gradient evaluations | CPU s | flow time | error | "
          "eff. rank | ‖W_GD − W‖/‖W*‖ |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals: dict[str, list[float]] = {}
    for depth in args.depths:
        for truth in range(args.truths):
            target, problem = instance(truth, args.observations)
            factors = dm.init_factors(problem.shape, depth, scale=1e-3, seed=[2, truth, depth])
            t0 = time.process_time()
            gd = dm.train(problem, factors, lr=1e-3, steps=1_000_000, optimizer="normalized",
                          tol=1e-6, record=[0])
            runs = {"GD, normalized step 1e-3 (authors')": (gd, time.process_time() - t0)}
            for method in args.methods:
                t0 = time.process_time()
                fl = dm.flow(problem, factors, time=1e8, tol=1e-6, rtol=1e-6, method=method,
                             record=[0.0])
                runs[f"flow, {method}, rtol 1e-6"] = (fl, time.process_time() - t0)
            W_gd = dm.product(gd.factors)
            for name, (tr, cpu) in runs.items():
                gap = np.linalg.norm(dm.product(tr.factors) - W_gd) / np.linalg.norm(target)
                flow_time = f"{tr.info['time']:.4g}" if tr.time is not None else "—"
                print(f"| {depth} | {truth} | {name} | {int(tr.stop_step):,} | {cpu:.1f} | "
                      f"{flow_time} | {tr.error[-1]:.4g} | {tr.effective_rank[-1]:.3f} | "
                      f"{gap:.2g} |", flush=True)
                totals.setdefault(name, []).append(cpu)
    print()
    base = sum(next(iter(totals.values())))
    for name, cpus in totals.items():
        print(f"{name}: {sum(cpus):.1f} CPU s in all ({base / sum(cpus):.2f}× the GD time)")


if __name__ == "__main__":
    main()
