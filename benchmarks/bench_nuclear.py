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


def stacked(counts) -> None:
    p = PAPER
    grid = lrb.make_problems(p, "sensing", counts)
    flat = [prob for k in range(len(counts)) for prob in (row[k] for row in grid)]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--observations", type=int, default=2000)
    parser.add_argument("--scs-sensing", action="store_true", help="also SCS on sensing (slow)")
    parser.add_argument("--scs-limit", type=float, default=300.0)
    parser.add_argument("--stack", action="store_true",
                        help="time the stacked sensing baseline against one solve at a time")
    parser.add_argument("--counts", type=int, nargs="+", default=list(PAPER.sensing.observations))
    args = parser.parse_args()
    if args.stack:
        stacked(args.counts)
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
