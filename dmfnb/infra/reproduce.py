"""Run a chapter's experiments headless: ``python -m dmfnb reproduce CHAPTER|all --scale paper``.

Each experiment's result is written as JSON (and its figure as PNG) under
``OUT/<chapter>/<scale>/``, atomically: a file appears complete or not at all, so an interrupted
run loses at most the experiment in progress and a rerun resumes after the finished ones. Every
result carries the fingerprint of what produced it (the chapter's parameters, the dmfnb version,
a hash of the code); a result with another fingerprint, or a damaged file, is recomputed and the
reason printed. At the end the chapter's tables beside the papers' and its check table are
printed and saved as ``summary.json``; :func:`reproduce` returns a :class:`Report` whose
``checks.passed`` is the verdict.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib
import json
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .report import CheckTable, Table
from .scales import SCALES, params

if TYPE_CHECKING:  # the chapter spec calls into this module, not the other way round
    from .chapter import Chapter

__all__ = ["Report", "chapters", "cpu_seconds", "decode", "encode", "fingerprint", "load_summary",
           "report", "reproduce", "verdict"]

_PACKAGE = Path(__file__).resolve().parents[1]
SCHEMA = 1


def encode(obj, path: str = "result"):
    """Turn a result into JSON-ready data; arrays keep their dtype and shape, dataclasses their
    type (and come back as themselves from :func:`decode`)."""
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype), "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {str(k): encode(v, f"{path}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        fields = {f.name: encode(getattr(obj, f.name), f"{path}.{f.name}")
                  for f in dataclasses.fields(obj)}
        return {"__dataclass__": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    raise TypeError(f"{path} is a {type(obj).__name__}, which cannot be saved as JSON; "
                    "return arrays, numbers, strings, lists, dicts and dataclasses")


def _key(k: str):
    # JSON keys are strings; integer and float keys (depths, ranks, ε) come back as numbers.
    try:
        return int(k)
    except ValueError:
        pass
    try:
        return float(k)
    except ValueError:
        return k


def _dataclass(name: str):
    module, _, qualname = name.partition(":")
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def decode(obj):
    """Inverse of :func:`encode` (dict keys that spell numbers come back as numbers)."""
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.array(obj["__ndarray__"], dtype=obj["dtype"]).reshape(obj["shape"])
        if "__dataclass__" in obj:
            return _dataclass(obj["__dataclass__"])(**decode(obj["fields"]))
        return {_key(k): decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def chapters() -> dict[str, Chapter]:
    """Chapter name → its :class:`~dmfnb.infra.chapter.Chapter` (every ``dmfnb.chapters`` package)."""
    from ..chapters import discover

    return discover()


def _code_hash(chapter: str) -> str:
    # What can change a chapter's numbers: its own package, the core and the theory.
    files = sorted([*_PACKAGE.glob("*.py"), *(_PACKAGE / "theory").glob("*.py"),
                    *(_PACKAGE / "chapters" / chapter).glob("*.py"),
                    _PACKAGE / "infra" / "backend.py", _PACKAGE / "infra" / "parallel.py"])
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.relative_to(_PACKAGE).as_posix().encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(chapter: str, p) -> dict:
    """What produced a chapter's results: its parameters, the dmfnb version, a hash of the code."""
    from .. import __version__

    values = dataclasses.asdict(p) if dataclasses.is_dataclass(p) else dict(vars(p))
    return {"chapter": chapter, "params": encode(values), "version": __version__,
            "code": _code_hash(chapter)}


def _load(path: Path, expected: dict) -> tuple[Any, str | None]:
    """(result, None) for a good file with the expected fingerprint; (None, why not) otherwise."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return None, f"{path} is damaged ({type(err).__name__}: {err}); recomputing"
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or "result" not in data:
        return None, f"{path} is not a dmfnb result (no schema {SCHEMA} record); recomputing"
    found = data.get("fingerprint", {})
    if found != expected:
        what = [k for k in ("params", "version", "code") if found.get(k) != expected.get(k)]
        return None, (f"{path} was made with other {', '.join(what) or 'settings'} "
                      "(its fingerprint differs); recomputing")
    try:
        return decode(data["result"]), None
    except Exception as err:  # a record we cannot rebuild is as good as damaged
        return None, f"{path} cannot be read back ({type(err).__name__}: {err}); recomputing"


@dataclass(frozen=True)
class Report:
    """What a reproduce run (or a chapter notebook) established: checks and paper tables."""

    chapter: str
    scale: str
    checks: CheckTable
    tables: tuple[Table, ...]
    fingerprint: dict
    date: str
    machine: str

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "chapter": self.chapter, "scale": self.scale, "date": self.date,
                "machine": self.machine, "fingerprint": self.fingerprint,
                "checks": self.checks.to_json(), "tables": [t.to_json() for t in self.tables]}

    @classmethod
    def from_json(cls, data: Mapping) -> Report:
        return cls(data["chapter"], data["scale"], CheckTable.from_json(data["checks"]),
                   tuple(Table.from_json(t) for t in data["tables"]), data["fingerprint"],
                   data["date"], data["machine"])

    def __str__(self) -> str:
        parts = [f"{self.chapter} ({self.scale} scale)", *map(str, self.tables), str(self.checks)]
        return "\n\n".join(parts)


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}, numpy {np.__version__}"


def report(chapter: Chapter, p, results: Mapping[str, Any]) -> Report:
    """The chapter's checks and paper tables on ``results`` (step name → result).

    Where ``DMFNB_REPORTS`` names a folder (the book's build sets it), the report is also saved
    there as ``<chapter>-<scale>.json`` for the "Does it reproduce?" page.
    """
    missing = [s.name for s in chapter.steps if s.name not in results]
    if missing:
        raise ValueError(f"{chapter.name}: results lack the steps {missing}; "
                         f"give every step of {[s.name for s in chapter.steps]}")
    rep = Report(chapter.name, p.scale, chapter.checks(p, results),
                 tuple(chapter.paper(p, results)), fingerprint(chapter.name, p),
                 datetime.date.today().isoformat(), _machine())
    folder = os.environ.get("DMFNB_REPORTS")
    if folder:
        path = Path(folder) / f"{chapter.name}-{p.scale}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, lambda t: t.write_text(json.dumps(rep.to_json(), indent=1)))
    return rep


def load_summary(path: str | Path) -> Report | None:
    """A saved :class:`Report` (``summary.json`` or a notebook's report), or ``None`` if absent."""
    path = Path(path)
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if data.get("schema") != SCHEMA:
        raise ValueError(f"{path} is not a dmfnb report of schema {SCHEMA}")
    return Report.from_json(data)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its children that have ended (the
    workers of a finished :func:`~dmfnb.infra.parallel.map_jobs` call); this process alone where
    the platform keeps no children's times (Windows)."""
    try:
        import resource
    except ImportError:
        return time.process_time()
    own, done = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                     resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + done.ru_utime + done.ru_stime


def reproduce(chapter: str, scale: str, out: str | Path, *, force: bool = False) -> Report:
    """Run (or resume) every experiment of ``chapter`` at ``scale``; return its :class:`Report`.

    Prints where results go, one line per experiment, then the chapter's tables beside the
    papers' and its check table. ``force`` recomputes every step.
    """
    known = chapters()
    if chapter not in known:
        raise ValueError(f"unknown chapter {chapter!r}; choose from {sorted(known)} or 'all'")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    spec = known[chapter]
    folder = Path(out) / chapter / scale
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.tmp"):  # left by a run that was killed mid-write
        stale.unlink(missing_ok=True)
    p = params(chapter, scale)
    expected = fingerprint(chapter, p)
    print(f"[{chapter}] {scale} scale, results in {folder}", flush=True)
    results: dict[str, Any] = {}
    for step in spec.steps:
        path = folder / f"{step.name}.json"
        if path.exists() and not force:
            result, why = _load(path, expected)
            if why is None:
                results[step.name] = result
                print(f"[{chapter}/{step.name}] done earlier: {path}", flush=True)
                continue
            print(f"[{chapter}/{step.name}] {why}", flush=True)
        t0, c0 = time.perf_counter(), cpu_seconds()
        print(f"[{chapter}/{step.name}] running …", flush=True)
        result = step.run(p, results)
        record = {"schema": SCHEMA, "fingerprint": expected, "result": encode(result, step.name)}
        data = json.dumps(record)
        results[step.name] = decode(record["result"])
        if step.figure is not None:
            _save_figure(step.figure(results[step.name]), folder / f"{step.name}.png")
        _atomic_write(path, lambda t, d=data: t.write_text(d))
        print(f"[{chapter}/{step.name}] finished in {time.perf_counter() - t0:.1f} s "
              f"({cpu_seconds() - c0:.1f} CPU s, workers included)", flush=True)
    rep = report(spec, p, results)
    _atomic_write(folder / "summary.json", lambda t: t.write_text(json.dumps(rep.to_json(), indent=1)))
    print(rep, flush=True)
    return rep


def _save_figure(drawn, path: Path) -> None:
    import matplotlib.pyplot as plt

    # Figure helpers return a Figure, an Axes or an array of Axes: find the Figure.
    first = np.ravel(drawn)[0] if isinstance(drawn, (np.ndarray, list, tuple)) else drawn
    fig = getattr(first, "figure", None) or plt.gcf()
    _atomic_write(path, lambda t: fig.savefig(t, format="png", dpi=120))
    plt.close(fig)


def verdict(reports: Sequence[Report]) -> tuple[bool, str]:
    """(every check passed, a closing line naming the failed checks)."""
    failed = [f"{r.chapter}/{c.name}" for r in reports for c in r.checks.failed]
    if failed:
        return False, f"NOT REPRODUCED: {len(failed)} failed check(s): {', '.join(failed)}"
    total = sum(len(r.checks) for r in reports)
    return True, f"REPRODUCED: all {total} checks of {len(reports)} chapter(s) passed"
