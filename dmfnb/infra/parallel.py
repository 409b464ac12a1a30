"""Independent runs on several processes: ``DMFNB_JOBS=2 python -m dmfnb reproduce …``.

The paper-scale sweeps are many independent trainings and convex solves. :func:`map_jobs` runs
them on ``DMFNB_JOBS`` worker processes (default 1: in this process, no pool). Workers are
started with ``spawn`` (safe inside Jupyter kernels and with threaded BLAS) and inherit the
environment; each runs its BLAS on one thread unless ``OPENBLAS_NUM_THREADS`` (or
``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``) says otherwise: two workers each running two BLAS threads
on two cores ran the paper-scale completion sweep several times slower (measured: four busy
threads, each worker's second thread doing as much work as its first). Units run in this process
(one job, or one unit) run on one BLAS thread too, under the same rule, so that a unit gives the
same numbers wherever it runs: the numbers do not depend on the number of jobs. (With this
process's OpenBLAS on two threads, ``DMFNB_JOBS=1`` had moved the default-scale sensing sweep in
its round-off, six of 12 runs at m = 228 ending apart, one capped run's error by 75%.)
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["jobs", "map_jobs"]

T = TypeVar("T")
R = TypeVar("R")


def jobs() -> int:
    """The number of worker processes asked for by ``DMFNB_JOBS`` (default 1)."""
    value = os.environ.get("DMFNB_JOBS", "1").strip() or "1"
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"DMFNB_JOBS must be a positive integer (e.g. 2), got {value!r}")
    return n


_BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _one_blas_thread():
    """Workers spawned inside this block start their BLAS on one thread, unless the caller set
    the number: each worker is one of the parallel units, and a BLAS thread pool per worker
    would put more busy threads than cores. This process's own BLAS, loaded already, is not
    affected."""
    if any(name in os.environ for name in _BLAS_THREADS):
        yield
        return
    os.environ.update(dict.fromkeys(_BLAS_THREADS, "1"))
    try:
        yield
    finally:
        for name in _BLAS_THREADS:
            os.environ.pop(name, None)


@contextlib.contextmanager
def _this_process_on_one_blas_thread():
    """This process's BLAS libraries on one thread inside the block, as a worker's are (see
    :func:`_one_blas_thread`), unless the caller set the number."""
    if any(name in os.environ for name in _BLAS_THREADS):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _watch_parent(parent: int) -> None:
    """Worker initializer: exit as soon as the parent process is gone.

    A parent killed with SIGKILL runs no clean-up, and a spawned worker blocked on its call
    queue would otherwise live on under PID 1 (and with it the resource tracker).
    """
    import threading

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="dmfnb-parent-watch").start()


def map_jobs(fn: Callable[[T], R], items: Iterable[T], n_jobs: int | None = None, *,
             progress: bool | None = None, desc: str | None = None) -> list[R]:
    """``[fn(x) for x in items]``, on ``n_jobs`` processes (default :func:`jobs`).

    ``fn`` must be a module-level function and the items picklable when ``n_jobs`` > 1.
    ``progress`` shows a bar over the items (default: when ``DMFNB_PROGRESS=1``, as
    ``python -m dmfnb reproduce`` sets it), labelled ``desc``.

    With ``n_jobs`` > 1 the workers are new Python processes that import the caller's main
    module: a script must start its work under ``if __name__ == "__main__":``.
    """
    items = list(items)
    n_jobs = jobs() if n_jobs is None else int(n_jobs)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be ≥ 1, got {n_jobs}")
    if progress is None:
        progress = os.environ.get("DMFNB_PROGRESS") == "1" and len(items) > 1
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), unit="run", mininterval=1.0, desc=desc)
    try:
        if n_jobs == 1 or len(items) <= 1:
            out = []
            with _this_process_on_one_blas_thread():
                for x in items:
                    out.append(fn(x))
                    if bar is not None:
                        bar.update(1)
            return out
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        try:
            with _one_blas_thread(), ProcessPoolExecutor(
                    max_workers=min(n_jobs, len(items)),
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_watch_parent, initargs=(os.getpid(),)) as pool:
                futures = [pool.submit(fn, x) for x in items]
                if bar is not None:
                    for f in futures:
                        f.add_done_callback(lambda _: bar.update(1))
                return [f.result() for f in futures]
        except BrokenProcessPool as err:
            raise RuntimeError(
                f"a worker process of DMFNB_JOBS={n_jobs} died before finishing. Worker processes "
                "import your main script again: in a script, put the code that runs experiments "
                "under `if __name__ == \"__main__\":`, or set DMFNB_JOBS=1") from err
    finally:
        if bar is not None:
            bar.close()
