import numpy as np
import pytest

import dmfnb as dm


@pytest.fixture
def target():
    return dm.low_rank_target((7, 5), 2, seed=0)


def make_problem(kind: str, target, seed: int = 1):
    """One problem of each kind on ``target``: completion, sensing, least squares (plain or Σ)."""
    if kind == "completion":
        return dm.CompletionProblem.random(target, 20, seed=seed)
    if kind == "sensing":
        return dm.SensingProblem.random(target, 20, seed=seed)
    if kind == "least_squares":
        return dm.LeastSquaresProblem(target)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((30, target.shape[1]))
    return dm.LeastSquaresProblem(target, X.T @ X / 30)


PROBLEM_KINDS = ("completion", "sensing", "least_squares", "covariance")
