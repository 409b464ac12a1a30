"""Where the training arithmetic runs: numpy on the CPU (the default) or CuPy on an NVIDIA GPU.

One option selects it: ``DMFNB_BACKEND=cupy`` (or ``train(..., backend="cupy")``). Inputs and
results stay numpy arrays either way: :func:`dmfnb.train` copies the problem and the factors to
the device, runs the loop there and copies the records back, so nothing else in the book changes.
The GPU is never required; it pays off only for the paper-scale sensing sweeps, whose steps are
large matrix products.
"""

from __future__ import annotations

import os
from types import ModuleType

import numpy as np

__all__ = ["BACKENDS", "backend_name", "namespace", "to_host"]

BACKENDS = ("numpy", "cupy")


def backend_name(name: str | None = None) -> str:
    """``name``, or the environment's ``DMFNB_BACKEND`` (default ``"numpy"``), checked."""
    if name is None:
        name = os.environ.get("DMFNB_BACKEND", "numpy").strip().lower() or "numpy"
    if name not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS} (DMFNB_BACKEND), got {name!r}")
    return name


def namespace(name: str | None = None) -> ModuleType:
    """The array module of the backend: :mod:`numpy` or :mod:`cupy`."""
    name = backend_name(name)
    if name == "numpy":
        return np
    try:
        import cupy
    except ImportError as exc:
        raise ImportError(
            "backend 'cupy' needs CuPy and an NVIDIA GPU: pip install cupy-cuda12x "
            "(matching your CUDA), or unset DMFNB_BACKEND to compute with numpy"
        ) from exc
    return cupy


def to_host(x) -> np.ndarray:
    """A numpy copy (or view) of ``x``, wherever it lives."""
    get = getattr(x, "get", None)  # CuPy's device-to-host copy; numpy arrays have none
    return get() if callable(get) else np.asarray(x)
