"""Worker processes (DMFNB_JOBS): none outlives a killed parent, and a script without a
``__main__`` guard gets a clear error instead of BrokenProcessPool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dmfnb.infra.parallel import jobs, map_jobs


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                child = int(stat.parent.name)
                if child not in found:
                    found.add(child)
                    frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs Linux /proc")
def test_killing_the_parent_leaves_no_worker(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import time
        from dmfnb.infra.parallel import map_jobs
        if __name__ == "__main__":
            print("started", flush=True)
            map_jobs(time.sleep, [60, 60], 2, progress=False)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 60
    while len(_children(proc.pid)) < 3 and time.monotonic() < deadline:  # 2 workers + tracker
        time.sleep(0.2)
    children = _children(proc.pid)
    assert len(children) >= 2, f"expected worker processes, found {children}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 20
    while any(_alive(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [c for c in children if _alive(c)]
    for c in left:
        os.kill(c, signal.SIGKILL)
    assert not left, f"processes outlived their killed parent: {left}"


def test_script_without_main_guard_gets_a_clear_error(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text("import time\nfrom dmfnb.infra.parallel import map_jobs\n"
                      "map_jobs(time.sleep, [0, 0], 2, progress=False)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "if __name__ == \"__main__\":" in done.stderr and "DMFNB_JOBS=1" in done.stderr


def test_jobs_reads_the_environment(monkeypatch):
    monkeypatch.setenv("DMFNB_JOBS", "3")
    assert jobs() == 3
    for bad in ("x", "0", "-1", "1.5"):
        monkeypatch.setenv("DMFNB_JOBS", bad)
        with pytest.raises(ValueError, match="DMFNB_JOBS must be a positive integer"):
            jobs()
    monkeypatch.delenv("DMFNB_JOBS")
    assert map_jobs(abs, [-1, 2]) == [1, 2]
