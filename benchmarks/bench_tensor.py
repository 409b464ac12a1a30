"""Speed of the CP tensor step, as ratios measured in one run (the machine's speed cancels out).

Two routes to the loss and gradients of CP factors (:mod:`dmfnb.tensors`):

- *sparse* (:class:`~dmfnb.tensors.CPBackprop`): gathers of the observed rows, elementwise
  products of (m, R) arrays and one-hot scatter products; its cost grows with m·R·N.
- *dense* (:class:`~dmfnb.tensors.CPDenseBackprop`): the unfolding W = K_L K_Rᵀ from two
  Khatri–Rao products and the two gradient products; three P_L × P_R × R matrix products
  whatever m is. Its *floor* is the time of exactly those three products on preallocated
  arrays.

``dmfnb.train`` picks the cheaper route (:func:`~dmfnb.tensors.cp_evaluator`); the table gives
the engine's full step (normalized GD) against both evaluators and the floor. One BLAS thread,
process CPU time. Run ``python benchmarks/bench_tensor.py``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse

import numpy as np
from bench_engine import best_time  # the same measurement as the matrix benchmark

import dmfnb as dm
from dmfnb import tensors as T


def setup(order: int, dim: int, ms: tuple[int, ...], R: int, dtype):
    """A stack of len(ms) problems (m observed each, padded) and small-init factors."""
    probs = [dm.TensorCompletionProblem.random(dm.cp_target((dim,) * order, 5, seed=b), m,
                                               seed=10 + b) for b, m in enumerate(ms)]
    inits = [dm.init_cp_factors(probs[0].shape, R, std=5e-3, seed=20 + b, dtype=dtype)
             for b in range(len(ms))]
    return dm.stack_tensor_problems(probs).astype(dtype), dm.stack_cp_factors(inits)


def bench(order: int, dim: int, ms: tuple[int, ...], R: int, steps: int, repeats: int,
          dtype) -> dict:
    problem, factors = setup(order, dim, ms, R, dtype)
    engine = best_time(lambda: dm.train(problem, factors, lr=1e-2, steps=steps,
                                        optimizer="normalized", record=[0]), repeats) / steps
    routes = {}
    for name, cls in (("sparse", T.CPBackprop), ("dense", T.CPDenseBackprop)):
        ev = cls(problem, factors)
        routes[name] = best_time(lambda ev=ev: [ev.evaluate(factors) for _ in range(steps)],
                                 repeats) / steps
    B, k = len(ms), order // 2
    P_L, P_R = dim**k, dim ** (order - k)
    left, right = np.ones((B, P_L, R), dtype), np.ones((B, P_R, R), dtype)
    W, dl, dr = np.empty((B, P_L, P_R), dtype), np.empty_like(left), np.empty_like(right)

    def floor():
        for _ in range(steps):
            np.matmul(left, right.transpose(0, 2, 1), out=W)
            np.matmul(W, right, out=dl)
            np.matmul(W.transpose(0, 2, 1), left, out=dr)

    low = best_time(floor, repeats) / steps
    picked = type(T.cp_evaluator(problem, factors)).__name__
    sizes = f"m = {ms[0]}" if len(set(ms)) == 1 else f"m = {min(ms)}–{max(ms)}"
    return {
        "case": f"{B} × order {order}, {dim}/mode, {sizes}, R = {R}, {np.dtype(dtype).name}",
        "engine": f"{engine * 1e6:,.0f} µs ({picked})",
        "sparse": f"{routes['sparse'] * 1e6:,.0f} µs",
        "dense": f"{routes['dense'] * 1e6:,.0f} µs",
        "ratio": f"{routes['sparse'] / routes['dense']:.1f}×",
        "floor": f"{low * 1e6:,.0f} µs ({low / routes['dense']:.0%} of dense)",
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10, help="steps per timed run")
    parser.add_argument("--repeats", type=int, default=3, help="take the best of this many")
    args = parser.parse_args(argv)
    s, r = args.steps, args.repeats
    rows = [bench(4, 10, (2000, 2000), 1000, s, r, np.float64),          # the authors' size
            bench(4, 10, (2000, 2000), 1000, s, r, np.float32),
            bench(4, 10, (500, 1000, 2000, 3000) * 2, 1000, s, r, np.float64),  # their sweep
            bench(3, 8, (200,) * 4, 50, s * 50, r, np.float64),           # the default scale
            bench(3, 5, (50,), 4, s * 100, r, np.float64)]                # a tiny problem
    print(f"numpy {np.__version__}, 1 BLAS thread, per step\n")
    print("| case | engine step (route) | sparse | dense | sparse/dense | dense floor |")
    print("|---|---|---|---|---|---|")
    for x in rows:
        print(f"| {x['case']} | {x['engine']} | {x['sparse']} | {x['dense']} | {x['ratio']} "
              f"| {x['floor']} |")


if __name__ == "__main__":
    main()
