"""Speed of the CP tensor step, as ratios measured in one run (the machine's speed cancels out).

The step of :class:`dmfnb.tensors.CPBackprop` at the authors' size (order 4, 10 per mode, 2000
observed entries, 1000 components) must do N gathers of (m, R) rows, 3N − 3 elementwise
products of (m, R) arrays and N one-hot products (d_n × m)(m × R) for the scatter-add. The
*limit* is the time of exactly those operations on preallocated arrays, with no engine around
them; the ratio says how close a full engine step (``dmfnb.train``, normalized GD) comes to it.
A naive step (full tensor by einsum, gradients by einsum contractions, no buffers) is shown for
scale. One BLAS thread, process CPU time. Run ``python benchmarks/bench_tensor.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse

import numpy as np
from bench_engine import best_time  # the same measurement as the matrix benchmark

import dmfnb as dm


def setup(order: int, dim: int, m: int, R: int, dtype):
    target = dm.cp_target((dim,) * order, 5, seed=0)
    problem = dm.TensorCompletionProblem.random(target, m, seed=1).astype(dtype)
    factors = dm.init_cp_factors(problem.shape, R, std=5e-3, seed=2, dtype=dtype)
    return problem, factors


def bench(order: int, dim: int, m: int, R: int, steps: int, repeats: int, dtype) -> dict:
    problem, factors = setup(order, dim, m, R, dtype)
    engine = best_time(lambda: dm.train(problem, factors, lr=1e-2, steps=steps,
                                        optimizer="normalized", record=[0]), repeats) / steps
    rows = [np.empty((m, R), dtype) for _ in range(order)]
    work = [np.empty((m, R), dtype) for _ in range(3)]
    idx = [problem.indices[:, n] for n in range(order)]
    onehot = [np.zeros((dim, m), dtype) for _ in range(order)]
    grads = [np.empty((dim, R), dtype) for _ in range(order)]

    def limit():
        for _ in range(steps):
            for n in range(order):
                np.take(factors[n], idx[n], axis=0, out=rows[n])
            for _ in range(3 * order - 3):
                np.multiply(rows[0], rows[1], out=work[0])
            for n in range(order):
                np.matmul(onehot[n], work[0], out=grads[n])

    floor = best_time(limit, repeats) / steps
    letters = "abcdefgh"[:order]
    full = ",".join(f"{c}r" for c in letters) + "->" + letters

    def naive():
        for _ in range(max(1, steps // 10)):
            W = np.einsum(full, *factors, optimize=True)
            G = problem.gradient(W)
            for n in range(order):
                others = [factors[k] for k in range(order) if k != n]
                spec = letters + "," + ",".join(f"{c}r" for k, c in enumerate(letters)
                                                 if k != n) + f"->{letters[n]}r"
                np.einsum(spec, G, *others, optimize=True)

    slow = best_time(naive, 1) / max(1, steps // 10)
    return {
        "case": f"order {order}, {dim}/mode, m = {m}, R = {R}, {np.dtype(dtype).name}",
        "engine": f"{engine * 1e6:,.0f} µs/step",
        "limit": f"{floor * 1e6:,.0f} µs (gathers, products, scatters only)",
        "ratio": f"{floor / engine:.0%} of the limit; naive unbuffered {slow * 1e6:,.0f} µs "
                 f"({slow / engine:.1f}× slower)",
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="take the best of this many")
    args = parser.parse_args(argv)
    rows = [bench(4, 10, 2000, 1000, args.steps, args.repeats, np.float64),
            bench(4, 10, 2000, 1000, args.steps, args.repeats, np.float32),
            bench(3, 8, 200, 50, args.steps * 50, args.repeats, np.float64)]
    print(f"numpy {np.__version__}, 1 BLAS thread\n")
    print("| case | engine | limit | ratio |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['engine']} | {r['limit']} | {r['ratio']} |")


if __name__ == "__main__":
    main()
