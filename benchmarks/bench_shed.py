"""What a stack gains by shedding the runs that have stopped, measured in one run.

``dmfnb.train`` drops a run from its evaluator once the run's loss reaches ``tol`` (the run is
frozen from then on either way): a stack then costs about the sum of its runs' steps instead of
its size times its longest run. This trains one stack twice, shedding and (with the engine's
problem's ``_take`` removed) not shedding, and prints CPU seconds, each run's stopping step and the
largest difference between the two results. The stack: the tensors chapter's paper-scale
observation sweep, its second stack (m = 2000 and 3000, three seeds; order 4, 10 per mode,
1000 components, float32). One BLAS thread, process CPU time. Run
``python benchmarks/bench_shed.py`` (about 3 minutes).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time

import numpy as np

from dmfnb import tensors as T
from dmfnb.chapters.tensors import compute
from dmfnb.chapters.tensors.params import PAPER


def run(problems, steps: int, shed: bool):
    hook = T.TensorCompletionProblem._take
    if not shed:
        del T.TensorCompletionProblem._take  # the engine sheds only through this method
    try:
        start = time.process_time()
        tr = compute.train_tensor(PAPER, problems, [PAPER.init_std] * len(problems),
                                  steps=steps, record=[0], runs=list(range(len(problems))))
        return tr, time.process_time() - start
    finally:
        T.TensorCompletionProblem._take = hook


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=25_000, help="step cap of the stack")
    parser.add_argument("--counts", type=int, nargs="+", default=[2000, 3000],
                        help="observation counts (three seeds each)")
    args = parser.parse_args(argv)
    problems = [compute.make_problem(PAPER, m, s) for m in args.counts
                for s in range(PAPER.seeds)]
    shed, t_shed = run(problems, args.steps, True)
    whole, t_whole = run(problems, args.steps, False)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(shed.factors, whole.factors,
                                                           strict=True))
    print(f"CP stack of {len(problems)} runs (m = {args.counts}, 3 seeds), cap {args.steps}: "
          f"stopping steps {shed.stop_step.tolist()} ({int(shed.converged.sum())} reached tol)")
    print(f"  not shedding {t_whole:.1f} CPU s, shedding {t_shed:.1f} CPU s "
          f"({t_whole / t_shed:.2f}×); run-steps {len(problems) * args.steps} → "
          f"{int(shed.stop_step.sum())}; largest factor difference {diff:.2g}")


if __name__ == "__main__":
    main()
