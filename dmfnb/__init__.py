"""dmfnb: the engine of the book *Implicit Regularization in Deep Matrix Factorization*.

A flat namespace over small modules::

    import dmfnb as dm
    target = dm.low_rank_target((100, 100), 5, seed=0)
    problem = dm.CompletionProblem.random(target, 2000, seed=1)
    factors = dm.init_factors(problem.shape, 3, scale=1e-3, seed=2)
    traj = dm.train(problem, factors, lr=1e-3, steps=50_000, optimizer="normalized", tol=1e-6)
"""

from .baselines import SolverError, admm_nuclear_norm, min_nuclear_norm
from .dynamics import (
    end_to_end_rate,
    integrate_mode,
    mode_rate,
    mode_time,
    plateau_time,
    saxe_mode,
    singular_value_rate,
)
from .engine import DivergenceError, Trajectory, train
from .factors import (
    balanced_factors,
    balancedness,
    gradients,
    init_factors,
    product,
    stack_factors,
)
from .metrics import effective_rank, nuclear_norm, numerical_rank, schatten
from .plotting import COLORS, depth_color, use_book_style
from .problems import (
    CompletionProblem,
    LeastSquaresProblem,
    Problem,
    SensingProblem,
    stack_problems,
)
from .scales import current_scale, params
from .targets import low_rank_target

# Modules added by the chapters export their own public names through __all__.
from .glrl import *
from .hessian import *
from .regression import *
from . import glrl as _glrl, hessian as _hessian, regression as _regression

__version__ = "0.1.0"

__all__ = [
    "COLORS",
    "CompletionProblem",
    "DivergenceError",
    "LeastSquaresProblem",
    "Problem",
    "SensingProblem",
    "SolverError",
    "Trajectory",
    "__version__",
    "balanced_factors",
    "balancedness",
    "current_scale",
    "depth_color",
    "effective_rank",
    "end_to_end_rate",
    "gradients",
    "init_factors",
    "integrate_mode",
    "low_rank_target",
    "admm_nuclear_norm",
    "min_nuclear_norm",
    "mode_rate",
    "mode_time",
    "nuclear_norm",
    "numerical_rank",
    "params",
    "plateau_time",
    "product",
    "saxe_mode",
    "schatten",
    "singular_value_rate",
    "stack_factors",
    "stack_problems",
    "train",
    "use_book_style",
    *_glrl.__all__,
    *_hessian.__all__,
    *_regression.__all__,
]
