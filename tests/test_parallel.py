import os
import time
from dataclasses import replace

import numpy as np
import pytest

from dmfnb.chapters.low_rank_bias import compute as lrb
from dmfnb.chapters.low_rank_bias.params import DEFAULT, Instance
from dmfnb.infra.parallel import jobs, map_jobs


def test_jobs_reads_the_environment(monkeypatch):
    monkeypatch.delenv("DMFNB_JOBS", raising=False)
    assert jobs() == 1
    monkeypatch.setenv("DMFNB_JOBS", "3")
    assert jobs() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("DMFNB_JOBS", bad)
        with pytest.raises(ValueError, match="DMFNB_JOBS must be a positive integer"):
            jobs()
    with pytest.raises(ValueError, match="n_jobs"):
        map_jobs(abs, [1], n_jobs=0)


def test_a_sweep_gives_the_same_numbers_on_two_processes(monkeypatch):
    """Units are deterministic, so the number of worker processes changes nothing."""
    p = replace(DEFAULT, completion=Instance((12, 12), 2, (50, 80), stack=1), max_steps=3000)
    kwargs = {"depths": (2, 3), "ground_truths": 2}
    monkeypatch.setenv("DMFNB_JOBS", "1")
    one = lrb.observation_sweep(p, "completion", **kwargs)
    monkeypatch.setenv("DMFNB_JOBS", "2")
    two = lrb.observation_sweep(p, "completion", **kwargs)
    for key in ("error", "effective_rank", "steps", "nn_error", "nn_norm"):
        assert np.array_equal(getattr(one, key), getattr(two, key)), key
    assert map_jobs(abs, [-3, 2, -1], n_jobs=2) == [3, 2, 1]


def test_workers_run_one_blas_thread_unless_told(monkeypatch):
    """Each worker is one of the parallel units, so its BLAS starts on one thread (two workers
    with a BLAS pool each put four busy threads on two cores), unless the caller set it; this
    process's environment is left as it was."""
    names = ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]
    for name in names:
        monkeypatch.delenv(name, raising=False)
    assert map_jobs(os.getenv, names, n_jobs=2) == ["1", "1", "1"]
    assert not any(name in os.environ for name in names)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert map_jobs(os.getenv, names, n_jobs=2) == ["2", None, None]


def blas_threads(_=None) -> list[int]:
    """The thread counts of this process's BLAS libraries (a module-level unit for map_jobs)."""
    from threadpoolctl import threadpool_info

    return sorted({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})


_UNITS_HERE = """
import os, json
import numpy, scipy.linalg, dmfnb
from dmfnb.infra.parallel import map_jobs
from test_parallel import blas_threads
for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.pop(name, None)
out = [blas_threads(), map_jobs(blas_threads, [0, 1], n_jobs=1),
       map_jobs(blas_threads, [0], n_jobs=2), blas_threads()]
os.environ["OPENBLAS_NUM_THREADS"] = "2"
out.append(map_jobs(blas_threads, [0], n_jobs=1))
print(json.dumps(out))
"""


def test_units_run_here_take_one_blas_thread_as_in_a_worker():
    """One job (or one unit) runs in this process: on one BLAS thread, as a worker's, so that a
    unit's numbers do not depend on where it runs (with two OpenBLAS threads here the
    default-scale sensing sweep had ended six runs elsewhere); this process's pool is as it was
    after, and a number the caller set is left alone. In a fresh process whose BLAS started on
    two threads (this one's may have started on one, and can't be raised)."""
    import json
    import subprocess
    import sys

    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2",
           "PYTHONPATH": os.path.dirname(__file__)}
    run = subprocess.run([sys.executable, "-c", _UNITS_HERE], env=env, capture_output=True,
                         text=True, check=True)
    before, here, alone, after, told = json.loads(run.stdout.splitlines()[-1])
    assert before == after == [2]
    assert here == [[1], [1]] and alone == [[1]]
    assert told == [[2]]


def test_cpu_seconds_count_the_finished_workers():
    # `reproduce` reports each step's CPU with its workers': two workers summing 3·10⁷ integers
    # each add at least 0.2 s beyond this process's own CPU time.
    from dmfnb.infra.reproduce import cpu_seconds

    total, own = cpu_seconds(), time.process_time()
    assert map_jobs(sum, [range(30_000_000)] * 2, n_jobs=2) == [449999985000000] * 2
    workers = (cpu_seconds() - total) - (time.process_time() - own)
    assert workers >= 0.2
