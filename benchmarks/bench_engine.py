"""Speed of the dmfnb engine, as ratios measured in one run (so the machine's speed cancels out).

1. One gradient-descent step of 100×100 depth-3 matrix completion against the time numpy.matmul
   takes for the same six matrix products, with the same transposed operands (the FLOP floor of
   the step), and against six untransposed products of the same size.
2. B = 64 small runs (10×10 and 20×20, depth 3) trained in one stacked computation against a Python
   loop over the same runs.
3. Steps per second on the 2×2 problem of the norms chapter, single and stacked.
4. Plain GD on small stacks, the compiled steps (dmfnb.compiled) against the numpy loop they
   replace, and above ``dmfnb.compiled.MAX_WORK`` (where train uses numpy) with the compiled
   steps forced: the crossover that sets the bound.

Both sides of every ratio run on one BLAS thread and are timed in process CPU time, so other work
on the machine barely moves the figures. Run: ``make bench`` (or
``python benchmarks/bench_engine.py [--steps N]``). Prints a Markdown table.
"""

from __future__ import annotations

import os

# One BLAS thread, set before numpy loads: CPU time then measures the work, not the scheduling.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time

import numpy as np

import dmfnb as dm


def best_time(fn, repeats: int) -> float:
    """Smallest CPU time of ``repeats`` calls: the least disturbed measurement."""
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def completion(n: int, rank: int, m: int, seed: int = 0) -> dm.CompletionProblem:
    return dm.CompletionProblem.random(dm.low_rank_target((n, n), rank, seed=seed), m, seed=seed + 1)


def bench_step_vs_matmul(n: int, depth: int, steps: int, repeats: int, dtype) -> dict:
    problem = completion(n, 5, n * n // 5)
    factors = [f.astype(dtype) for f in dm.init_factors((n, n), depth, scale=1e-3, seed=2)]
    engine = best_time(lambda: dm.train(problem, factors, lr=1e-3, steps=steps, record=[0]), repeats)
    per_step = engine / steps
    # The very products a step does, with their operands' layouts (dmfnb.factors.Backprop):
    # forward P_j = W_j P_{j−1}; backward grad_j = B_j P_{j−1}ᵀ and B_{j−1} = W_jᵀ B_j. A
    # product with a transposed right operand is up to 1.4× slower than a plain one in
    # OpenBLAS's native kernels, so the plain product repeated is also shown.
    a = [f.copy() for f in factors]
    prefix = [a[0]] + [np.empty((n, n), dtype) for _ in a[1:]]
    grad, backs = np.empty((n, n), dtype), [np.empty((n, n), dtype) for _ in range(2)]

    def products():
        for _ in range(steps):
            for j in range(1, depth):
                np.matmul(a[j], prefix[j - 1], out=prefix[j])
            b = prefix[-1]  # stands for G, of the same shape and layout
            for i, j in enumerate(range(depth - 1, 0, -1)):
                np.matmul(b, prefix[j - 1].T, out=grad)
                b = np.matmul(a[j].T, b, out=backs[i % 2])

    out = np.empty((n, n), dtype)

    def plain():
        for _ in range(steps):
            for _ in range(3 * (depth - 1)):
                np.matmul(a[0], a[1], out=out)

    floor = best_time(products, repeats) / steps
    same = best_time(plain, repeats) / steps
    flops = 3 * (depth - 1) * 2 * n**3
    return {
        "case": f"GD step, {n}×{n} completion, depth {depth}, {np.dtype(dtype).name}",
        "engine": f"{per_step * 1e6:.0f} µs/step ({flops / per_step / 1e9:.1f} GFLOP/s)",
        "reference": f"{floor * 1e6:.0f} µs ({flops / floor / 1e9:.1f} GFLOP/s, numpy.matmul only; "
                     f"{same * 1e6:.0f} µs as untransposed products)",
        "ratio": f"{floor / per_step:.0%} of the matmul rate ({same / per_step:.0%})",
    }


def bench_batched_vs_looped(n: int, runs: int, steps: int, repeats: int) -> dict:
    problems = [completion(n, 2, n * n // 2, seed=s) for s in range(runs)]
    factors = [dm.init_factors((n, n), 3, scale=1e-2, seed=100 + s) for s in range(runs)]
    stacked_p, stacked_f = dm.stack_problems(problems), dm.stack_factors(factors)

    def batched():
        dm.train(stacked_p, stacked_f, lr=0.1, steps=steps, record=[0])

    def looped():
        for p, f in zip(problems, factors, strict=True):
            dm.train(p, f, lr=0.1, steps=steps, record=[0])

    tb, tl = best_time(batched, repeats), best_time(looped, repeats)
    return {
        "case": f"{runs} runs of {n}×{n} completion, depth 3",
        "engine": f"batched {tb / steps * 1e6:.0f} µs/step for all runs",
        "reference": f"looped {tl / steps * 1e6:.0f} µs/step",
        "ratio": f"{tl / tb:.1f}× faster batched",
    }


def bench_tiny(runs: int, steps: int, repeats: int) -> dict:
    target = np.array([[0.0, 1.0], [1.0, 0.0]])
    mask = np.array([[False, True], [True, True]])
    problem = dm.CompletionProblem(target, mask)
    single = dm.init_factors((2, 2), 3, scale=1e-2, seed=0)
    stacked = dm.stack_factors([dm.init_factors((2, 2), 3, scale=1e-2, seed=s) for s in range(runs)])
    ts = best_time(lambda: dm.train(problem, single, lr=1e-3, steps=steps, record=[0]), repeats)
    tb = best_time(lambda: dm.train(problem, stacked, lr=1e-3, steps=steps, record=[0]), repeats)
    return {
        "case": f"2×2 completion, depth 3 (norms chapter), {runs} runs stacked",
        "engine": f"{runs * steps / tb:,.0f} run-steps/s stacked",
        "reference": f"{steps / ts:,.0f} steps/s single",
        "ratio": f"{ts * runs / tb:.1f}× throughput stacked",
    }


def bench_compiled(n: int, runs: int, steps: int, repeats: int) -> dict:
    from dmfnb import compiled, engine

    problem = dm.stack_problems([completion(n, max(1, n // 5), max(1, n * n // 2), seed=s)
                                 for s in range(runs)])
    factors = dm.stack_factors([dm.init_factors((n, n), 3, scale=1e-1, seed=s) for s in range(runs)])
    applies = runs * n**3 <= compiled.MAX_WORK
    stepper, bound = engine.gd_stepper, compiled.MAX_WORK

    def timed(fast: bool) -> float:
        engine.gd_stepper = stepper if fast else (lambda *a: None)
        compiled.MAX_WORK = bound if applies else runs * n**3
        try:
            return best_time(lambda: dm.train(problem, factors, lr=1e-3, steps=steps, record=[0]),
                             repeats)
        finally:
            engine.gd_stepper, compiled.MAX_WORK = stepper, bound

    timed(True)  # numba compiles (or loads its cache) outside the timing
    tc, tn = timed(True), timed(False)
    return {
        "case": f"plain GD, {runs} × {n}×{n} completion, depth 3"
                + ("" if applies else " (above MAX_WORK: compiled forced)"),
        "engine": f"compiled {tc / steps * 1e6:.1f} µs/step",
        "reference": f"numpy loop {tn / steps * 1e6:.1f} µs/step",
        "ratio": f"numpy ÷ compiled = {tn / tc:.2f}",
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="take the best of this many")
    args = parser.parse_args(argv)
    rows = [
        bench_step_vs_matmul(100, 3, args.steps, args.repeats, np.float64),
        bench_step_vs_matmul(100, 3, args.steps, args.repeats, np.float32),
        bench_batched_vs_looped(10, 64, args.steps // 4, args.repeats),
        bench_batched_vs_looped(20, 64, args.steps // 4, args.repeats),
        bench_tiny(64, args.steps * 5, args.repeats),
        *(bench_compiled(n, runs, args.steps * (5 if n < 10 else 1), args.repeats)
          for n, runs in ((2, 1), (2, 4), (10, 4), (20, 1), (20, 4), (30, 1))),
    ]
    core = os.environ.get("OPENBLAS_CORETYPE", "auto-detected")
    print(f"numpy {np.__version__}, 1 BLAS thread, OpenBLAS kernel: {core}\n")
    print("| case | engine | reference | ratio |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['engine']} | {r['reference']} | {r['ratio']} |")


if __name__ == "__main__":
    main()
