"""Run a chapter's experiments headless: ``python -m dmfnb reproduce CHAPTER|all --scale paper``.

Each experiment's result is written as JSON (and its figure as PNG) under
``OUT/<chapter>/<scale>/``, atomically: a file appears complete or not at all, so an interrupted
run loses at most the experiment in progress and a rerun resumes after the finished ones. At the
end a table puts our numbers beside the papers'.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .scales import SCALES, params

__all__ = ["Step", "chapters", "decode", "encode", "format_table", "reproduce"]


@dataclass(frozen=True)
class Step:
    """One experiment: ``run(params, earlier_results) -> dict``; ``plot(result)`` draws it."""

    name: str
    run: Callable[[SimpleNamespace, dict], dict]
    plot: Callable[[dict], object] | None = None


def encode(obj, path: str = "result"):
    """Turn a result into JSON-ready data; arrays keep their dtype and shape, dataclasses become
    dicts of their fields."""
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
        return {f.name: encode(getattr(obj, f.name), f"{path}.{f.name}")
                for f in dataclasses.fields(obj)}
    raise TypeError(f"{path} is a {type(obj).__name__}, which cannot be saved as JSON; "
                    "return arrays, numbers, strings, lists and dicts")


def _key(k: str):
    # JSON keys are strings; integer keys (depths, ranks) come back as integers.
    return int(k) if k.lstrip("-").isdigit() else k


def decode(obj):
    """Inverse of :func:`encode` (dict keys that spell integers come back as ``int``)."""
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.array(obj["__ndarray__"], dtype=obj["dtype"]).reshape(obj["shape"])
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


def chapters() -> dict[str, tuple[list[Step], Callable[[dict, str], list[tuple]] | None]]:
    """Chapter name → (its experiments in order, its table of our numbers beside the papers')."""
    from .experiments.registry import CHAPTERS

    return CHAPTERS


def reproduce(chapter: str, scale: str, out: str | Path, *, progress: bool = True) -> dict:
    """Run (or resume) every experiment of ``chapter`` at ``scale``; return the results by name.

    Prints one line per experiment and, at the end, the chapter's table of our numbers beside
    the papers'.
    """
    known = chapters()
    if chapter not in known:
        raise ValueError(f"unknown chapter {chapter!r}; choose from {sorted(known)} or 'all'")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    steps, table = known[chapter]
    folder = Path(out) / chapter / scale
    folder.mkdir(parents=True, exist_ok=True)
    p = params(chapter, scale)
    results: dict[str, dict] = {}
    for step in steps:
        path = folder / f"{step.name}.json"
        if path.exists():
            results[step.name] = decode(json.loads(path.read_text()))
            print(f"[{chapter}/{step.name}] done earlier: {path}", flush=True)
            continue
        t0 = time.perf_counter()
        print(f"[{chapter}/{step.name}] running …", flush=True)
        result = step.run(p, results)
        data = json.dumps(encode(result, step.name))
        if step.plot is not None:
            import matplotlib.pyplot as plt

            drawn = step.plot(decode(json.loads(data)))
            # Plot helpers return a Figure, an Axes or an array of Axes: find the Figure.
            first = np.ravel(drawn)[0] if isinstance(drawn, (np.ndarray, list, tuple)) else drawn
            fig = getattr(first, "figure", None) or plt.gcf()
            _atomic_write(folder / f"{step.name}.png", lambda t, f=fig: f.savefig(t, format="png", dpi=120))
            plt.close(fig)
        _atomic_write(path, lambda t, d=data: t.write_text(d))
        results[step.name] = decode(json.loads(data))
        print(f"[{chapter}/{step.name}] finished in {time.perf_counter() - t0:.1f} s", flush=True)
    if table is not None:
        rows = table(results, scale)
        print(format_table(rows, title=f"{chapter} ({scale} scale)"))
    return results


def format_table(rows: list[tuple], *, title: str) -> str:
    """A plain-text table: quantity | ours | paper."""
    header = ("quantity", "ours", "paper")
    cells = [header, *[tuple(str(c) for c in r) for r in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(3)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells[1:]]
    return "\n".join(lines)
