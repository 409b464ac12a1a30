"""The convex baseline at the authors' 100×100 rank-5 size: cvxpy + SCS against dmfnb's ADMM.

For one completion and one sensing instance of the low_rank_bias chapter's paper scale, solves
min ‖X‖_* subject to |observation residual| ≤ 1e-3 with both and prints wall time, nuclear norm,
reconstruction error and the distance between the two solutions. SCS on the sensing instance
runs only with ``--scs-sensing`` (``--scs-limit`` seconds of SCS's ``time_limit_secs``): at
m = 2000 cvxpy + SCS had used 6 minutes of CPU and 7.3 GB of memory without an answer when it was
stopped (measured). Run: ``python benchmarks/bench_nuclear.py``.

``--stack`` instead times the sensing baseline of the paper-scale sweep: the chapter's 21 problems
(3 ground truths × m = 1000…5000, nested designs) solved one at a time against one stacked call
of ``dm.admm_nuclear_norm`` (``--counts`` picks the counts; CPU seconds on one BLAS thread), and
prints the largest difference between the two solutions and the iteration counts.

``--boost F`` solves the same stack (``--counts``) as the chapter does (over-relaxation
``_STACK_RELAX``), once without ρ's jump and once with ``rank_boost=F``, one after the other in
this process, and prints the CPU seconds of each, the iterations per problem, and how far apart
the two solutions and their errors are.

``--iteration`` times the pieces of one iteration of that stacked solve with all 21 problems
iterating (ms, best of ``--repeat``): the products with A and Aᵀ, the two triangular solves, the
singular-value decompositions, and, for scale, one pass over the design (a sum: the memory
bandwidth) and matrix products with 3–96 rows against a square one (GFlop/s): the products of a
stack are skinny, and bound there.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
import warnings

import numpy as np

import dmfnb as dm
from dmfnb.chapters.low_rank_bias import compute as lrb
from dmfnb.chapters.low_rank_bias.params import PAPER


def solve(problem, solver: str, **options) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            X, info = dm.min_nuclear_norm(problem, 1e-3, solvers=(solver,), accept_inaccurate=True,
                                          return_info=True, **options)
        except dm.SolverError as exc:
            return {"solver": solver, "failed": str(exc)[:80]}
    return {"solver": solver, "X": X, "seconds": info["seconds"], "status": info["status"],
            "norm": info["nuclear_norm"], "error": problem.reconstruction_error(X),
            "iterations": info["iterations"]}


def sensing_problems(counts) -> list:
    """The chapter's sensing problems at ``counts``, in its stack's order (by count, then ground
    truth)."""
    grid = lrb.make_problems(PAPER, "sensing", counts)
    return [row[k] for k in range(len(counts)) for row in grid]


def stacked(counts) -> None:
    p = PAPER
    flat = sensing_problems(counts)
    t0 = time.process_time()
    singles = [dm.admm_nuclear_norm(prob, p.nuclear_tol) for prob in flat]
    one = time.process_time() - t0
    t0 = time.process_time()
    X, info = dm.admm_nuclear_norm(dm.stack_problems(flat), p.nuclear_tol)
    both = time.process_time() - t0
    diff = max(float(np.abs(X[b] - s[0]).max()) for b, s in enumerate(singles))
    same = all(int(info["iterations"][b]) == s[1]["iterations"] for b, s in enumerate(singles))
    print(f"sensing 100×100 rank 5, m = {list(counts)}, {len(flat)} problems: one at a time "
          f"{one:.1f} CPU s, stacked {both:.1f} CPU s ({one / both:.1f}×); iterations "
          f"{min(info['iterations'])}–{max(info['iterations'])}, the same per problem: {same}; "
          f"largest |X_stacked − X_single| {diff:.1e}; converged "
          f"{int(np.sum(info['converged']))}/{len(flat)}")


def boosted(counts, boost: float) -> None:
    p = PAPER
    stack = dm.stack_problems(sensing_problems(counts))
    runs = {}
    for factor in (1.0, boost):
        t0 = time.process_time()
        X, info = dm.admm_nuclear_norm(stack, p.nuclear_tol, relax=lrb._STACK_RELAX,
                                       rank_boost=factor)
        runs[factor] = (time.process_time() - t0, X, info, stack.reconstruction_error(X))
    (t1, X1, i1, e1), (tb, Xb, ib, eb) = runs[1.0], runs[boost]
    apart = (np.linalg.norm((Xb - X1).reshape(len(X1), -1), axis=1)
             / np.linalg.norm(X1.reshape(len(X1), -1), axis=1))
    print(f"sensing 100×100 rank 5, m = {list(counts)}, {len(X1)} problems: rank_boost 1 "
          f"{t1:.1f} CPU s, {boost:g} {tb:.1f} CPU s ({t1 / tb:.2f}×); converged "
          f"{int(i1['converged'].sum())} / {int(ib['converged'].sum())} of {len(X1)}")
    print("| ground truth | m | iterations (1) | iterations (boost) | error (1) | error (boost) "
          "| ‖ΔX‖_F/‖X‖_F |")
    print("|---|---|---|---|---|---|---|")
    for b in range(len(X1)):
        k, g = divmod(b, len(X1) // len(counts))
        print(f"| {g} | {counts[k]} | {i1['iterations'][b]} | {ib['iterations'][b]} "
              f"| {e1[b]:.4e} | {eb[b]:.4e} | {apart[b]:.1e} |")


def best_ms(f, repeat: int) -> float:
    """bench_sensing's best wall time of ``repeat`` calls after a warm-up, in ms."""
    from bench_sensing import best  # this folder is on sys.path when a benchmark runs

    return 1e3 * best(f, repeat)


def iteration(counts, repeat: int) -> None:
    from dmfnb.baselines import _graph

    stack = dm.stack_problems(sensing_problems(counts))
    _, valid, apply, adjoint, solve = _graph(stack)
    B, (n, m) = len(valid), stack.shape
    runs, rng = np.arange(B), np.random.default_rng(0)
    X = rng.standard_normal((B, n, m))
    v = np.where(valid, rng.standard_normal(valid.shape), 0.0)
    op = np.asarray(stack._op, dtype=float)
    rows = int(valid.sum())
    print(f"one iteration of the stacked sensing ADMM, {B} problems, m = {list(counts)} "
          f"({rows} rows in all), float64, ms (best of {repeat}):")
    pieces = {"A·X (products over the runs' own rows)": lambda: apply(X, runs),
              "Aᵀ·λ": lambda: adjoint(v, runs),
              "the two triangular solves": lambda: solve(v, runs),
              f"{B} SVDs of {n}×{m}": lambda: np.linalg.svd(X, full_matrices=False)}
    total = 0.0
    for name, f in pieces.items():
        ms = best_ms(f, repeat)
        total += ms
        extra = ""
        if name.startswith(("A·X", "Aᵀ")):
            extra = f" ({2 * rows * n * m / ms / 1e6:.1f} GFlop/s)"
        print(f"  {name}: {ms:.1f}{extra}")
    print(f"  sum: {total:.1f}")
    print(f"  one pass over the {op.shape[0]} × {op.shape[1]} design (op.sum()): "
          f"{best_ms(op.sum, repeat):.1f} ms ({op.nbytes / 1e9:.1f} GB)")
    block = op[:1000]
    for k in (3, 6, 12, 21, 48, 96):
        Y = rng.standard_normal((k, op.shape[1]))
        ms = best_ms(lambda Y=Y: Y @ block.T, repeat)
        print(f"  ({k} × {op.shape[1]}) · ({op.shape[1]} × 1000): "
              f"{2 * k * op.shape[1] * 1000 / ms / 1e6:.1f} GFlop/s")
    a, b = rng.standard_normal((2, 2000, 2000))
    ms = best_ms(lambda: a @ b, repeat)
    print(f"  square 2000 × 2000 product: {2 * 2000 ** 3 / ms / 1e6:.1f} GFlop/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--observations", type=int, default=2000)
    parser.add_argument("--scs-sensing", action="store_true", help="also SCS on sensing (slow)")
    parser.add_argument("--scs-limit", type=float, default=300.0)
    parser.add_argument("--stack", action="store_true",
                        help="time the stacked sensing baseline against one solve at a time")
    parser.add_argument("--iteration", action="store_true",
                        help="time the pieces of one iteration of the stacked sensing solve")
    parser.add_argument("--boost", type=float, default=None,
                        help="compare the stacked sensing solve without and with this rank_boost")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--counts", type=int, nargs="+", default=list(PAPER.sensing.observations))
    args = parser.parse_args()
    if args.iteration:
        iteration(args.counts, args.repeat)
        return
    if args.stack:
        stacked(args.counts)
        return
    if args.boost is not None:
        boosted(args.counts, args.boost)
        return
    p = PAPER
    print("| instance (100×100, rank 5) | solver | status | iterations | wall s | ‖X‖_* | error "
          "| ‖X − X_ADMM‖/‖X_ADMM‖ |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in ("completion", "sensing"):
        problem = lrb.make_problems(p, kind, [args.observations], 1)[0][0]
        runs = [solve(problem, "ADMM")]
        if kind == "completion" or args.scs_sensing:
            limit = {"time_limit_secs": args.scs_limit} if kind == "sensing" else {}
            runs.append(solve(problem, "SCS", **limit))
        admm = runs[0]
        for r in runs:
            name = f"{kind}, m = {args.observations}"
            if "failed" in r:
                print(f"| {name} | {r['solver']} | failed: {r['failed']} | | | | | |")
                continue
            dist = np.linalg.norm(r["X"] - admm["X"]) / np.linalg.norm(admm["X"])
            print(f"| {name} | {r['solver']} | {r['status']} | {r['iterations']} | {r['seconds']:.1f} "
                  f"| {r['norm']:.4f} | {r['error']:.3g} | {dist:.1e} |", flush=True)


if __name__ == "__main__":
    main()
