"""Iteration counts and the paper-scale sweep of the low_rank_bias chapter (Arora et al. 2019).

1. ``steps``: one 100×100 rank-5 completion instance (m = 2000) trained to loss ≤ 1e-6 at depths
   2–4 with the normalized step at the authors' lr 1e-3 and at 1e-2, in float64 and float32:
   steps, CPU seconds, reconstruction error and effective rank. Same solutions, fewer steps?
2. ``sensing``: one sensing instance (m = 2000) at depth 3: lr 1e-2 for 6000 steps in float64 and
   float32, and (``--long``) the authors' lr 1e-3 for 60 000 steps (the same lr × steps).
3. ``sweep``: the paper-scale completion sweep (m = 1000…5000, depths 2–4, 3 ground truths, ADMM
   nuclear-norm baseline) timed end to end on ``DMFNB_JOBS`` processes (``--jobs``).

Run: ``python benchmarks/bench_sweep.py [steps|sensing|sweep …] [--jobs 2] [--long]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time

import numpy as np

import dmfnb as dm
from dmfnb.chapters.low_rank_bias import compute as lrb
from dmfnb.chapters.low_rank_bias import tables
from dmfnb.chapters.low_rank_bias.params import PAPER
from dmfnb.infra.parallel import jobs


def run(problem, depth: int, lr: float, dtype, steps: int) -> dict:
    factors = [f.astype(dtype) for f in dm.init_factors(problem.shape, depth, scale=1e-3,
                                                         seed=[0, 3, depth, 0])]
    t0 = time.process_time()
    tr = dm.train(problem.astype(dtype), factors, lr=lr, steps=steps, optimizer="normalized",
                  tol=1e-6, record=[0])
    return {"steps": int(tr.stop_step), "converged": bool(tr.converged),
            "cpu": time.process_time() - t0, "error": float(tr.error[-1]),
            "erank": float(tr.effective_rank[-1])}


def row(label: str, r: dict) -> str:
    conv = "" if r["converged"] else " (cap)"
    return (f"| {label} | {r['steps']}{conv} | {r['cpu']:.1f} | {r['error']:.3g} | "
            f"{r['erank']:.3f} |")


HEADER = "| run | steps | CPU s | error | eff. rank |\n|---|---|---|---|---|"


def bench_steps(p) -> None:
    problem = lrb.make_problems(p, "completion", [2000], 1)[0][0]
    print("\nCompletion, 100×100 rank 5, m = 2000, normalized step, stop at loss ≤ 1e-6\n")
    print(HEADER)
    for depth in (2, 3, 4):
        for lr in (1e-3, 1e-2):
            for dtype in (np.float64, np.float32):
                r = run(problem, depth, lr, dtype, 200_000)
                print(row(f"depth {depth}, lr {lr:g}, {np.dtype(dtype).name}", r), flush=True)


def bench_sensing(p, long: bool) -> None:
    problem = lrb.make_problems(p, "sensing", [2000], 1)[0][0]
    print("\nSensing, 100×100 rank 5, m = 2000, depth 3, normalized step, stop at loss ≤ 1e-6\n")
    print(HEADER)
    cases = [(1e-2, np.float64, 6000), (1e-2, np.float32, 6000)]
    if long:
        cases.append((1e-3, np.float32, 60_000))
    for lr, dtype, steps in cases:
        r = run(problem, 3, lr, dtype, steps)
        print(row(f"lr {lr:g}, {np.dtype(dtype).name}, cap {steps}", r), flush=True)


def bench_sweep(p) -> None:
    t0 = time.perf_counter()
    sw = lrb.observation_sweep(p, "completion")
    wall = time.perf_counter() - t0
    print(f"\nPaper-scale completion sweep on {jobs()} process(es): "
          f"{wall:.0f} s wall; CPU s: "
          + ", ".join(f"{k} {v:.0f}" for k, v in sw.cpu_seconds.items()))
    print(f"steps per run: median {np.median(sw.steps):.0f}, max {np.max(sw.steps)}; "
          f"converged {int(np.sum(sw.converged))}/{sw.converged.size}\n")
    print(tables.sweep(sw))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("parts", nargs="*", default=["steps", "sensing", "sweep"],
                        choices=["steps", "sensing", "sweep"])
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--long", action="store_true", help="also the authors' lr on sensing")
    args = parser.parse_args()
    if args.jobs is not None:
        os.environ["DMFNB_JOBS"] = str(args.jobs)
    p = PAPER
    for part in args.parts:
        {"steps": lambda: bench_steps(p), "sensing": lambda: bench_sensing(p, args.long),
         "sweep": lambda: bench_sweep(p)}[part]()


if __name__ == "__main__":
    main()
