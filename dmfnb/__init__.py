"""dmfnb: the engine of the book *Implicit Regularization in Deep Matrix Factorization*.

The top-level namespace is the model API: problems, factors, training, metrics, baselines, and
the theory the chapters test::

    import dmfnb as dm
    target = dm.low_rank_target((100, 100), 5, seed=0)
    problem = dm.CompletionProblem.random(target, 2000, seed=1)
    factors = dm.init_factors(problem.shape, 3, scale=1e-3, seed=2)
    traj = dm.train(problem, factors, lr=1e-3, steps=50_000, optimizer="normalized", tol=1e-6)

Layout: core modules at the top (``problems``, ``targets``, ``factors``, ``engine``, ``flow``,
``metrics``, ``baselines``, and ``tensors`` for CP tensor factorizations); ``dmfnb.theory`` (what the
theorems predict); ``dmfnb.chapters`` (one package per chapter: params, compute, checks,
tables, figures, explorer); ``dmfnb.infra`` (scales, reproduce, process pool, backend,
classroom, plotting, the check and table types).
"""

from .baselines import SolverError, admm_nuclear_norm, min_nuclear_norm, min_trace_psd
from .engine import DivergenceError, Trajectory, train
from .flow import flow
from .factors import (
    balanced_factors,
    balancedness,
    gradients,
    init_factors,
    product,
    stack_factors,
)
from .metrics import effective_rank, nuclear_norm, numerical_rank, schatten
from .problems import (
    CompletionProblem,
    LeastSquaresProblem,
    Problem,
    SensingProblem,
    stack_problems,
)
from .targets import low_rank_target
from .tensors import (
    TensorCompletionProblem,
    balance_cp_factors,
    component_norms,
    cp_gradients,
    cp_product,
    cp_target,
    init_cp_factors,
    stack_cp_factors,
    stack_tensor_problems,
    tensor_rank,
)
from .theory.dynamics import (
    end_to_end_rate,
    integrate_mode,
    mode_rate,
    mode_time,
    plateau_time,
    saxe_mode,
    singular_value_rate,
    singular_vector_rate,
)
from .theory.glrl import GLRLResult, greedy_low_rank, mirror_factors, symmetric_mask
from .theory.hessian import factor_hessian, hessian_eigs, loss_hessian, unflatten_factors
from .theory.tensor_dynamics import blowup_time, component_norm_rate
from .theory.regression import (
    RegressionModes,
    RegressionProblem,
    codiagonality_defect,
    escape_time,
    mode_amplitudes,
    mode_solution,
    reduced_rank_path,
    reduced_rank_solution,
    regression_modes,
    sharpness,
    stability_limit,
    synthetic_regression,
)

__version__ = "0.1.0"

__all__ = [
    "CompletionProblem",
    "DivergenceError",
    "GLRLResult",
    "LeastSquaresProblem",
    "Problem",
    "RegressionModes",
    "RegressionProblem",
    "SensingProblem",
    "SolverError",
    "TensorCompletionProblem",
    "Trajectory",
    "__version__",
    "admm_nuclear_norm",
    "balance_cp_factors",
    "balanced_factors",
    "balancedness",
    "blowup_time",
    "codiagonality_defect",
    "component_norm_rate",
    "component_norms",
    "cp_gradients",
    "cp_product",
    "cp_target",
    "effective_rank",
    "end_to_end_rate",
    "escape_time",
    "factor_hessian",
    "flow",
    "gradients",
    "greedy_low_rank",
    "hessian_eigs",
    "init_cp_factors",
    "init_factors",
    "integrate_mode",
    "loss_hessian",
    "low_rank_target",
    "min_nuclear_norm",
    "min_trace_psd",
    "mirror_factors",
    "mode_amplitudes",
    "mode_rate",
    "mode_solution",
    "mode_time",
    "nuclear_norm",
    "numerical_rank",
    "plateau_time",
    "product",
    "reduced_rank_path",
    "reduced_rank_solution",
    "regression_modes",
    "saxe_mode",
    "schatten",
    "sharpness",
    "singular_value_rate",
    "singular_vector_rate",
    "stability_limit",
    "stack_cp_factors",
    "stack_factors",
    "stack_problems",
    "stack_tensor_problems",
    "symmetric_mask",
    "synthetic_regression",
    "tensor_rank",
    "train",
    "unflatten_factors",
]
