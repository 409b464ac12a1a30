"""One training step of the paper-scale sensing sweep: one compiled pass over the operator.

A stack of sensing runs that share their measurement matrices (``dm.stack_problems`` on nested
designs, as in the ``low_rank_bias`` chapter) computes, per step, the residuals A·vec(W) − y of
every run (one matrix product with the k × n² operator A) and the gradients Aᵀ·r (a second one).
With 9–21 runs these are skinny products, which OpenBLAS takes at about a third of its speed
(measured here on 2026-12-03: 30 ms for one 5000 × 10⁴ float32 product with 4 runs, 38 ms with
12, where a matrix–vector product streams the same operator in 14 ms).
``SensingProblem.loss_and_gradient`` instead makes one compiled pass
(``dmfnb.sensing_pass``): four rows of A at a time, their dot products with four
runs at once, then their share of those runs' gradients while the rows are in cache. This times
it against the two whole products (written out here) on the chapter's stacks: 100×100, m = 2500
or 5000 rows, 9–21 runs, float32 (what the sweep trains in) and float64, and prints the largest
difference between the two gradients relative to the largest gradient entry.

Run: ``python benchmarks/bench_sensing.py [--repeat 10]`` (one BLAS thread unless told).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time

import numpy as np

import dmfnb as dm
from dmfnb.chapters.low_rank_bias import compute
from dmfnb.chapters.low_rank_bias.params import PAPER


def two_products(problem, W):
    """The step as two whole products over the operator (what dmfnb does without numba)."""
    op = problem.measurements.reshape(problem.measurements.shape[0], -1)
    resid = W.reshape(W.shape[0], -1) @ op.T - problem.observations
    wr = 2.0 * problem.weights * resid
    return np.sum(problem.weights * resid**2, axis=-1), (wr @ op).reshape(W.shape)


def best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    problems = compute.make_problems(PAPER, "sensing")
    print("| runs (m) | dtype | two products, ms | one pass, ms | ratio | max gradient diff |")
    print("|---|---|---|---|---|---|")
    # the sweep's two stacks of a depth, m = 1000–2500 (12 runs) and 3000–5000 (9 runs), and
    # all 21 in one
    for counts in (range(0, 4), range(4, 7), range(0, 7)):
        runs = [problems[g][k] for k in counts for g in range(len(problems))]
        for dtype in (np.float32, np.float64):
            stack = dm.stack_problems(runs).astype(dtype)
            rng = np.random.default_rng(0)
            W = (rng.standard_normal((len(runs), 100, 100)) * 0.1).astype(dtype)
            plain = best(lambda s=stack, w=W: two_products(s, w), args.repeat)
            fused = best(lambda s=stack, w=W: s.loss_and_gradient(w), args.repeat)
            g1, g2 = two_products(stack, W)[1], stack.loss_and_gradient(W)[1]
            diff = float(np.max(np.abs(g1 - g2)) / np.max(np.abs(g1)))
            ms = sorted({runs[0].num_observed, runs[-1].num_observed})
            print(f"| {len(runs)} (m = {'–'.join(map(str, ms))}) | {np.dtype(dtype).name} | "
                  f"{plain * 1e3:.1f} | {fused * 1e3:.1f} | {plain / fused:.2f}× | "
                  f"{diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
