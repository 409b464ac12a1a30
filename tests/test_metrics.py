import numpy as np
import pytest

import dmfnb as dm


def test_effective_rank_bounds():
    assert dm.effective_rank(np.diag([3.0, 0, 0])) == pytest.approx(1.0)
    assert dm.effective_rank(np.eye(4)) == pytest.approx(4.0)
    assert dm.effective_rank(np.zeros((3, 3))) == 0.0
    W = dm.low_rank_target((20, 20), 5, seed=0)
    assert 1 < dm.effective_rank(W) <= 5 + 1e-9


def test_norms_and_ranks():
    W = np.diag([3.0, 4.0, 0.0])
    assert dm.nuclear_norm(W) == pytest.approx(7.0)
    assert dm.schatten(W, 2) == pytest.approx(5.0)
    assert dm.schatten(W, 0.5) == pytest.approx((np.sqrt(3) + 2) ** 2)
    assert dm.numerical_rank(W) == 2
    assert dm.numerical_rank(np.diag([1.0, 1e-3])) == 1
    assert dm.numerical_rank(np.diag([1.0, 1e-3]), rtol=1e-6) == 2
    stack = np.stack([W, np.eye(3)])
    assert list(dm.numerical_rank(stack)) == [2, 3]
    assert np.allclose(dm.nuclear_norm(stack), [7.0, 3.0])
    with pytest.raises(ValueError, match="p must be > 0"):
        dm.schatten(W, 0)
