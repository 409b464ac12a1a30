"""Gradient flow with error control against gradient descent, on the authors' completion instance.

Arora et al. (2019) train 100×100 rank-5 completion (m = 2000 observed entries, Gaussian init of
scale 1e-3) with a normalized step along the exact gradient, lr 1e-3, to loss ≤ 1e-6. That step
traces the gradient-flow path; ``dmfnb.flow`` integrates the same path with scipy's adaptive
Runge–Kutta methods. For depths 2–4 and 3 ground truths this prints, per method: gradient
evaluations, CPU seconds (process time, one BLAS thread), the flow time reached, the
reconstruction error and effective rank at the end, and the distance between the two end points
relative to ‖W*‖_F. Same solution in fewer evaluations?

Run: ``python benchmarks/bench_flow.py [--truths 3] [--depths 2 3 4]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time

import numpy as np

import dmfnb as dm


def instance(truth: int):
    target = dm.low_rank_target((100, 100), 5, seed=[0, truth])
    return target, dm.CompletionProblem.random(target, 2000, seed=[1, truth])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truths", type=int, default=3)
    ap.add_argument("--depths", type=int, nargs="+", default=[2, 3, 4])
    args = ap.parse_args()
    print("| depth | truth | method | gradient evaluations | CPU s | flow time | error | "
          "eff. rank | ‖W_GD − W‖/‖W*‖ |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals: dict[str, list[float]] = {}
    for depth in args.depths:
        for truth in range(args.truths):
            target, problem = instance(truth)
            factors = dm.init_factors(problem.shape, depth, scale=1e-3, seed=[2, truth, depth])
            t0 = time.process_time()
            gd = dm.train(problem, factors, lr=1e-3, steps=1_000_000, optimizer="normalized",
                          tol=1e-6, record=[0])
            runs = {"GD, normalized step 1e-3 (authors')": (gd, time.process_time() - t0)}
            for method in ("RK45", "DOP853"):
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
