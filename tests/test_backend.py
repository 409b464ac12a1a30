"""The optional GPU backend, tested on the CPU: the device path runs with a numpy stand-in."""

import types

import numpy as np
import pytest

import dmfnb as dm
from dmfnb import engine
from dmfnb.infra import backend


class DeviceArray(np.ndarray):
    """A numpy array posing as a device array: it must be fetched with ``.get()``, like CuPy's."""

    fetched = 0

    def get(self):
        DeviceArray.fetched += 1
        return np.array(self)


def fake_device_module():
    """numpy's functions, with ``asarray`` and ``empty`` making DeviceArrays (as cupy's would)."""
    mod = types.SimpleNamespace(**{k: getattr(np, k) for k in ("matmul", "sum", "linalg")})
    mod.asarray = lambda x: np.array(x).view(DeviceArray)
    mod.empty = lambda shape, dtype: np.empty(shape, dtype).view(DeviceArray)
    return mod


def test_backend_option_and_errors(monkeypatch):
    monkeypatch.delenv("DMFNB_BACKEND", raising=False)
    assert backend.backend_name() == "numpy" and backend.namespace() is np
    monkeypatch.setenv("DMFNB_BACKEND", "torch")
    with pytest.raises(ValueError, match="DMFNB_BACKEND"):
        backend.backend_name()
    try:
        import cupy  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install cupy"):
            backend.namespace("cupy")
    x = np.arange(3.0)
    assert backend.to_host(x) is x or np.shares_memory(backend.to_host(x), x)


@pytest.mark.parametrize("optimizer", ["gd", "normalized"])
@pytest.mark.parametrize("kind", ["completion", "sensing"])
def test_device_path_gives_the_numpy_numbers(monkeypatch, kind, optimizer):
    target = dm.low_rank_target((8, 8), 2, seed=0)
    cls = dm.CompletionProblem if kind == "completion" else dm.SensingProblem
    probs = [cls.random(target, 30, seed=s) for s in (1, 2)]
    problem = dm.stack_problems(probs)
    factors = dm.stack_factors([dm.init_factors((8, 8), 3, scale=0.1, seed=s) for s in (3, 4)])
    kw = {"lr": 0.05, "steps": 300, "optimizer": optimizer, "tol": 1e-8, "record": 50}
    # The device path runs the numpy loop's code on device arrays: compare with that loop, not
    # with the compiled steps a small host problem takes (equal to rounding only).
    with monkeypatch.context() as m:
        m.setattr(engine, "gd_stepper", lambda *a: None)
        host = dm.train(problem, factors, **kw)
    monkeypatch.setattr(engine, "namespace", lambda name=None: fake_device_module())
    DeviceArray.fetched = 0
    dev = dm.train(problem, factors, **kw)
    assert DeviceArray.fetched > 0  # the records came back through .get()
    for key in ("loss", "error", "singular_values", "effective_rank"):
        assert np.array_equal(getattr(host, key), getattr(dev, key)), key
    assert all(type(f) is np.ndarray for f in dev.factors)
    assert np.array_equal(host.product, dev.product)
