"""Experiments of the chapter *R saddles for rank R* (``book/saddles.ipynb``).

Each experiment takes the chapter's parameters ``p`` (:class:`~.params.Params`) first and returns
a frozen dataclass, deterministic from the seeds in ``p``:

- :func:`staircase`: gradient descent on rank-R targets at every depth, the loss staircase
  detected automatically and the numerical rank at every record (:class:`Staircase` per depth);
- :func:`landscape`: the exact Hessian at each detected plateau and at each end point
  (:class:`Landscape`);
- :func:`curvature_path`: the smallest Hessian eigenvalue along whole trajectories
  (:class:`CurvaturePath` per depth);
- :func:`glrl_comparison`: Greedy Low-Rank Learning against gradient descent from shrinking
  initializations (:class:`GlrlComparison`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from ...baselines import min_nuclear_norm, min_trace_psd
from ...engine import train
from ...factors import balancedness, gradients, init_factors, product, stack_factors
from ...infra.parallel import map_jobs
from ...metrics import numerical_rank
from ...problems import CompletionProblem, LeastSquaresProblem, stack_problems
from ...theory.glrl import GLRLResult, greedy_low_rank, mirror_factors, symmetric_mask
from ...theory.hessian import factor_hessian, hessian_eigs, loss_hessian, unflatten_factors

__all__ = [
    "CriticalPoint",
    "CriticalPoints",
    "CurvaturePath",
    "EndPoint",
    "GlrlComparison",
    "GlrlDepth",
    "Landscape",
    "NuclearComparison",
    "NuclearInstance",
    "Plateau",
    "Run",
    "Snapshots",
    "Stages",
    "Staircase",
    "critical_points",
    "curvature_path",
    "curvature_records",
    "detect_stages",
    "escape_direction",
    "exact_saddle_factors",
    "glrl_comparison",
    "glrl_problem",
    "ladder_target",
    "landscape",
    "nn_problem",
    "nuclear_comparison",
    "numerical_ranks",
    "pair_alignment",
    "predicted_min_eigenvalue",
    "run_staircase",
    "staircase",
    "train_with_snapshots",
]


# ---------------------------------------------------------------------------------------------
# Building blocks


def ladder_target(n: int, rank: int, *, ratio: float, seed,
                  symmetric: bool = False) -> np.ndarray:
    """An n×n rank-``rank`` target with singular values in geometric progression.

    Parameters
    ----------
    n
        Size of the (square) target.
    rank
        Its rank R.
    ratio
        σ_i/σ_{i+1} for i < R.
    seed
        Seed of the Haar-random singular vectors.
    symmetric
        Take U = V, making the target PSD.

    Returns
    -------
    numpy.ndarray
        (n, n), scaled to RMS-1 entries (‖W*‖_F = n), as :func:`dmfnb.low_rank_target` does.
    """
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((n, rank)))
    V = U if symmetric else np.linalg.qr(rng.standard_normal((n, rank)))[0]
    s = float(ratio) ** -np.arange(rank, dtype=float)
    s *= n / np.linalg.norm(s)
    return (U * s) @ V.T


def exact_saddle_factors(target, k: int, depth: int, *,
                         seed=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Balanced factors of width n whose product is exactly W_k = Σ_{i≤k} σ_i u_i v_iᵀ.

    W_1 = Q_1[:, :k] S^{1/N} V_kᵀ, W_j = Q_j[:, :k] S^{1/N} Q_{j−1}[:, :k]ᵀ,
    W_N = U_k S^{1/N} Q_{N−1}[:, :k]ᵀ with random orthogonal Q_j (n × n): the hidden directions
    Q_j[:, k:] are exactly unused (unlike :func:`dmfnb.balanced_factors` of W_k, whose
    rounding-level singular values leave ~1e-16^{1/N} in them).

    Returns
    -------
    (factors, Q)
        The N factors (W_1 first) and the N − 1 hidden bases Q_j (n × n each).
    """
    target = np.asarray(target, dtype=float)
    n = target.shape[0]
    u, s, vt = np.linalg.svd(target)
    rng = np.random.default_rng(seed)
    Q = [np.linalg.qr(rng.standard_normal((n, n)))[0] for _ in range(depth - 1)]
    root = s[:k] ** (1.0 / depth)
    if depth == 1:
        return [(u[:, :k] * s[:k]) @ vt[:k]], []
    factors = [(Q[0][:, :k] * root) @ vt[:k]]
    factors += [(Q[j][:, :k] * root) @ Q[j - 1][:, :k].T for j in range(1, depth - 1)]
    factors.append((u[:, :k] * root) @ Q[-1][:, :k].T)
    return factors, Q


@dataclass(frozen=True)
class Snapshots:
    """A gradient-descent run recorded at log-spaced steps, factors included.

    Attributes
    ----------
    steps
        (T,) record steps, 0 first.
    loss
        (T,) or (T, B) training loss (B: runs of a stack).
    singular_values
        (T, k) or (T, B, k) singular values of W = W_N ⋯ W_1.
    grad_norm
        (T,) or (T, B): ‖∇L‖ over all factor entries.
    factors
        T factor lists (W_1 first), each factor (n, m) or (B, n, m).
    """

    steps: np.ndarray
    loss: np.ndarray
    singular_values: np.ndarray
    grad_norm: np.ndarray
    factors: list[list[np.ndarray]]


def train_with_snapshots(problem, factors, *, lr, steps: int, num_records: int) -> Snapshots:
    """Plain gradient descent with the factors saved at ~``num_records`` log-spaced steps.

    Gradient descent has no optimizer state, so running :func:`dmfnb.train` chunk by chunk
    between the record steps gives exactly the uninterrupted run, with the factors at every
    record.
    """
    marks = np.unique(np.r_[0, np.round(np.geomspace(1, steps, num_records)).astype(int)])
    fs = [f.copy() for f in factors]
    snaps, losses, svals, gnorms = [], [], [], []

    def log(fs_now):
        loss, grads = gradients(problem, fs_now)
        snaps.append([f.copy() for f in fs_now])
        losses.append(np.copy(loss))
        svals.append(np.linalg.svd(product(fs_now), compute_uv=False))
        gnorms.append(np.sqrt(sum(np.sum(g * g, axis=(-2, -1)) for g in grads)))

    log(fs)
    for a, b in itertools.pairwise(marks):
        fs = train(problem, fs, lr=lr, steps=int(b - a), record=[int(b - a)]).factors
        log(fs)
    return Snapshots(marks, np.array(losses), np.array(svals), np.array(gnorms), snaps)


@dataclass(frozen=True)
class Stages:
    """The drops and plateaus of a loss curve (see :func:`detect_stages`).

    Attributes
    ----------
    drops
        (D, 2) int: (start, end) record indices of each drop.
    plateaus
        (D,) int: the representative (flattest) record of the plateau before each drop.
    speed
        (T − 1,) or (T − 2,) v = −d ln ℓ / d ln t per record interval (aligned with the steps
        after the leading 0).
    """

    drops: np.ndarray
    plateaus: np.ndarray
    speed: np.ndarray

    @property
    def count(self) -> int:
        """Number of drops."""
        return len(self.drops)


def detect_stages(steps, loss, *, rate: float = 1.0, min_drop: float = 2.0) -> Stages:
    """Find the drops and plateaus of a loss curve recorded at log-spaced steps, automatically.

    On log–log axes the speed of descent is v = −d ln ℓ / d ln t. A *drop* is a maximal run of
    consecutive record intervals with v > ``rate`` (the loss falls faster than 1/t) over which
    the loss falls by a factor ≥ ``min_drop``; the *plateaus* are the stretches before and
    between the drops. Each plateau is represented by its flattest record (smallest v), where
    the iterate is closest to the saddle.

    Parameters
    ----------
    steps
        (T,) increasing record steps (a leading 0 is ignored).
    loss
        (T,) positive losses.
    rate, min_drop
        The speed a drop exceeds and the factor by which it lowers the loss.
    """
    steps = np.asarray(steps, dtype=float)
    loss = np.asarray(loss, dtype=float)
    first = 1 if steps[0] == 0 else 0
    x = np.log(steps[first:])
    y = np.log(np.maximum(loss[first:], np.finfo(float).tiny))
    v = -np.diff(y) / np.diff(x)
    fast = v > rate
    drops = []
    i = 0
    while i < v.size:
        if fast[i]:
            j = i
            while j + 1 < v.size and fast[j + 1]:
                j += 1
            if y[i] - y[j + 1] >= np.log(min_drop):
                drops.append((i + first, j + 1 + first))
            i = j + 1
        else:
            i += 1
    plateaus = []
    prev_end = first
    for start, end in drops:
        lo, hi = prev_end - first, start - first  # intervals [lo, hi) of the plateau
        if hi > lo:
            k = lo + int(np.argmin(v[lo:hi]))
            plateaus.append(k + first)  # the record at the left end of the flattest interval
        else:
            plateaus.append(start)
        prev_end = end
    return Stages(np.array(drops, dtype=int).reshape(-1, 2), np.array(plateaus, dtype=int), v)


def numerical_ranks(singular_values, threshold: float) -> np.ndarray:
    """Number of singular values above ``threshold`` (an absolute level) at every record."""
    return np.sum(np.asarray(singular_values) > threshold, axis=-1)


def pair_alignment(vector, factors, u, v) -> tuple[float, float]:
    """How much a Hessian eigenvector points along the singular pair (u, v).

    Returns
    -------
    (left, right)
        ‖uᵀV_N‖/‖V_N‖ and ‖V_1 v‖/‖V_1‖: the share of the eigenvector's last-factor part whose
        columns lie along u, and of its first-factor part whose rows lie along v (1 = aligned).
    """
    parts = unflatten_factors(vector, factors)
    VN, V1 = parts[-1], parts[0]
    left = np.linalg.norm(u @ VN) / max(np.linalg.norm(VN), 1e-300)
    right = np.linalg.norm(V1 @ v) / max(np.linalg.norm(V1), 1e-300)
    return float(left), float(right)


def predicted_min_eigenvalue(depth: int, target_sv: float, current_sv: float) -> float:
    """Smallest Hessian eigenvalue next to a saddle, from the mode that is learned next.

    Let s = σ_{k+1}(W*) be the next target strength and u = σ_{k+1}(W) the current size of that
    mode, each balanced factor carrying a = u^{1/N} of it.

    - Depth 2: a hidden direction q not yet used gives the perturbation (W_1 += c q vᵀ,
      W_2 += c u qᵀ) with curvature −(s − u): the eigenvalue is −(s − u) ≈ −s, whatever the
      initialization.
    - Depth N ≥ 3: an unused hidden direction gives zero curvature (N − 2 other factors would
      have to move too), so the curvature comes from the mode itself. The scalar model
      ½(x_1⋯x_N − s)² at x_i = a has Hessian a^{2N−2}𝟙𝟙ᵀ − (s − u)a^{N−2}(𝟙𝟙ᵀ − I), whose
      smallest eigenvalue is N u^{2−2/N} − (N − 1)(s − u) u^{(N−2)/N}: negative, but vanishing
      with u.
    """
    N = int(depth)
    u = float(current_sv)
    if N == 2:
        return -(target_sv - u)
    return N * u ** (2 - 2 / N) - (N - 1) * (target_sv - u) * u ** ((N - 2) / N)


# ---------------------------------------------------------------------------------------------
# The staircase


@dataclass(frozen=True)
class Run:
    """One target's gradient-descent run of a :class:`Staircase` (T records).

    Attributes
    ----------
    rank
        The target's rank R.
    target
        (n, m) the target W*.
    target_sv
        (min(n, m),) its singular values.
    loss, grad_norm
        (T,) training loss ½‖W − W*‖² and ‖∇L‖ at each record.
    singular_values
        (T, min(n, m)) singular values of W at each record.
    numerical_rank
        (T,) int: singular values of W above ``rank_threshold``.
    rank_threshold
        ``rank_tol`` · σ_1(W*).
    probes
        (P,) int, increasing: the records whose factors are kept, those where a later step
        takes the Hessian (the plateaus, the last record and, for the rank-``curvature_rank``
        run, :func:`curvature_records`); keeping all T would make the saved result ~10× larger.
    factors
        (P, N, n, n) the factors W_1 … W_N at each probe (width n, square targets).
    drops, plateaus
        (D, 2) and (D,) record indices from :func:`detect_stages`.
    speed
        The descent speed per record interval, from :func:`detect_stages`.
    """

    rank: int
    target: np.ndarray
    target_sv: np.ndarray
    loss: np.ndarray
    singular_values: np.ndarray
    grad_norm: np.ndarray
    numerical_rank: np.ndarray
    rank_threshold: float
    probes: np.ndarray
    factors: np.ndarray
    drops: np.ndarray
    plateaus: np.ndarray
    speed: np.ndarray

    @property
    def count(self) -> int:
        """Number of detected drops."""
        return len(self.drops)

    def plateau_ranks(self) -> tuple[int, ...]:
        """The numerical rank on each plateau (0, 1, …, R − 1 when the staircase is clean)."""
        return tuple(int(self.numerical_rank[i]) for i in self.plateaus)

    @property
    def final_rank(self) -> int:
        """The numerical rank at the last record."""
        return int(self.numerical_rank[-1])

    def rank_changes(self) -> np.ndarray:
        """(C,) the nonzero changes of the numerical rank between consecutive records."""
        d = np.diff(self.numerical_rank)
        return d[d != 0]

    def rises(self) -> np.ndarray:
        """(C,) the records at which the numerical rank changes."""
        return np.flatnonzero(np.diff(self.numerical_rank)) + 1

    def rises_per_drop(self) -> tuple[int, ...]:
        """How many rank changes fall inside each detected drop (one each, ideally)."""
        r = self.rises()
        return tuple(int(np.sum((r >= a) & (r <= b))) for a, b in self.drops)

    def factors_at(self, record: int) -> list[np.ndarray]:
        """The factors (W_1 first) at record index ``record`` (one of ``probes``; −1: last)."""
        record = int(record) % len(self.loss)
        i = int(np.searchsorted(self.probes, record))
        if i == len(self.probes) or self.probes[i] != record:
            raise KeyError(f"record {record} was not kept; kept: {self.probes.tolist()}")
        return list(self.factors[i])


@dataclass(frozen=True)
class Staircase:
    """All ranks' runs at one depth, trained stacked.

    Attributes
    ----------
    depth, lr, init_scale
        The depth N, the step η and the end-to-end scale of the orthogonal initialization.
    steps
        (T,) record steps, shared by every run.
    runs
        One :class:`Run` per target rank, in the order of ``p.ranks``.
    """

    depth: int
    steps: np.ndarray
    lr: float
    init_scale: float
    runs: Sequence[Run]

    def run(self, rank: int) -> Run:
        """The run on the rank-``rank`` target."""
        for r in self.runs:
            if r.rank == rank:
                return r
        raise KeyError(f"no run of rank {rank}; ranks {[r.rank for r in self.runs]}")

    def counts(self) -> tuple[int, ...]:
        """Detected drops of each run."""
        return tuple(r.count for r in self.runs)

    def ranks(self) -> tuple[int, ...]:
        """The target ranks, in run order."""
        return tuple(r.rank for r in self.runs)


def _targets(p) -> list[np.ndarray]:
    n = p.shape[0]
    return [ladder_target(n, R, ratio=p.ratio, seed=p.target_seed + R)
            for R in p.ranks]


def curvature_records(p, num_records: int) -> np.ndarray:
    """The ~``p.curvature_points`` record indices where :func:`curvature_path` takes
    the Hessian, evenly spaced in index (so log-spaced in steps) after record 0."""
    idx = np.linspace(1, num_records - 1, p.curvature_points)
    return np.unique(np.round(idx).astype(int))


def run_staircase(p, depth: int) -> Staircase:
    """One depth, every rank of ``p.ranks`` stacked; stages detected per run.

    The targets are :func:`ladder_target` of each rank; the factors start
    orthogonal (balanced) at end-to-end scale ``p.init_scale[depth]`` and take
    ``p.steps[depth]`` plain GD steps of size ``p.lr[depth]``, recorded at
    ``p.records`` log-spaced steps.
    """
    targets = _targets(p)
    n = p.shape[0]
    init_scale, lr = p.init_scale[depth], p.lr[depth]
    problem = stack_problems([LeastSquaresProblem(t) for t in targets])
    factors = stack_factors([
        init_factors((n, n), depth, scale=init_scale, kind="orthogonal",
                     seed=p.init_seed + b)
        for b in range(len(targets))
    ])
    snap = train_with_snapshots(problem, factors, lr=lr, steps=p.steps[depth],
                                num_records=p.records)
    T = len(snap.steps)
    runs = []
    for b, target in enumerate(targets):
        s_star = np.linalg.svd(target, compute_uv=False)
        threshold = p.rank_tol * s_star[0]
        sv = snap.singular_values[:, b]
        stages = detect_stages(snap.steps, snap.loss[:, b], rate=p.drop_rate,
                               min_drop=p.min_drop)
        rank = int(np.linalg.matrix_rank(target))
        # keep the factors where landscape and curvature_path need them
        probes = [*stages.plateaus, T - 1]
        if rank == p.curvature_rank:
            probes += [*curvature_records(p, T)]
        probes = np.unique(probes)
        kept = np.array([[f[b] for f in snap.factors[i]] for i in probes])
        runs.append(Run(
            rank=rank,
            target=target,
            target_sv=s_star,
            loss=snap.loss[:, b],
            singular_values=sv,
            grad_norm=snap.grad_norm[:, b],
            numerical_rank=numerical_ranks(sv, threshold),
            rank_threshold=float(threshold),
            probes=probes,
            factors=kept,
            drops=stages.drops,
            plateaus=stages.plateaus,
            speed=stages.speed,
        ))
    return Staircase(depth, snap.steps, float(lr), float(init_scale),
                     tuple(runs))


def staircase(p) -> dict[int, Staircase]:
    """The loss staircase for every depth of ``p.depths``, rank of ``p.ranks``.

    Returns
    -------
    dict
        depth → :class:`Staircase`.
    """
    return {depth: run_staircase(p, depth) for depth in p.depths}


# ---------------------------------------------------------------------------------------------
# The landscape at the plateaus and the end points


@dataclass(frozen=True)
class Plateau:
    """The exact Hessian at plateau ``stage`` (= k) of one run.

    ``eigenvalues`` is (hessian_k,), the smallest first; ``predicted`` is
    :func:`predicted_min_eigenvalue` of the mode learned next; ``alignment_u``/``alignment_v``
    are :func:`pair_alignment` of the bottom eigenvector with (u_{k+1}, v_{k+1});
    ``partial_svd_distance`` is ‖W − W_k‖_F / ‖W*‖_F with W_k = Σ_{i≤k} σ_i u_i v_iᵀ.
    """

    depth: int
    rank: int
    stage: int
    step: int
    loss: float
    grad_norm: float
    grad_ratio: float  # ‖∇L‖ over the run's largest gradient norm
    eigenvalues: np.ndarray
    predicted: float
    target_sv: float  # σ_{k+1}(W*)
    current_sv: float  # σ_{k+1}(W) at the plateau
    alignment_u: float
    alignment_v: float
    numerical_rank: int
    partial_svd_distance: float

    @property
    def lambda_min(self) -> float:
        """The smallest Hessian eigenvalue."""
        return float(self.eigenvalues[0])

    @property
    def ratio(self) -> float:
        """Measured λ_min over :func:`predicted_min_eigenvalue`."""
        return self.lambda_min / self.predicted

    @property
    def alignment(self) -> float:
        """The smaller of the two alignments."""
        return min(self.alignment_u, self.alignment_v)


@dataclass(frozen=True)
class EndPoint:
    """The exact Hessian at the last record of one run.

    ``eigenvalues`` is (hessian_k,), the smallest first; ``flat`` counts |λ| ≤ flat_tol · λ_max;
    ``curved_expected`` is R(n + m − R), the dimension of the rank-R matrices; ``size`` the
    number of factor entries.
    """

    depth: int
    rank: int
    step: int
    loss: float
    grad_norm: float
    grad_ratio: float
    eigenvalues: np.ndarray
    lambda_max: float
    flat: int
    curved: int
    curved_expected: int
    size: int
    numerical_rank: int

    @property
    def lambda_min(self) -> float:
        """The smallest Hessian eigenvalue."""
        return float(self.eigenvalues[0])

    @property
    def relative_min(self) -> float:
        """λ_min / λ_max."""
        return self.lambda_min / self.lambda_max


@dataclass(frozen=True)
class Landscape:
    """The Hessians of :func:`landscape`: every plateau, then every end point.

    ``plateaus`` are ordered by depth, rank and stage; ``ends`` by depth and rank.
    """

    plateaus: Sequence[Plateau]
    ends: Sequence[EndPoint]

    def depths(self) -> tuple[int, ...]:
        """The depths, in order."""
        return tuple(dict.fromkeys(e.depth for e in self.ends))

    def plateaus_at(self, depth: int) -> list[Plateau]:
        """The plateaus of every run at ``depth``."""
        return [r for r in self.plateaus if r.depth == depth]

    def ends_at(self, depth: int) -> list[EndPoint]:
        """The end points of every run at ``depth``."""
        return [r for r in self.ends if r.depth == depth]

    def shrinkage(self, depth: int, reference: int = 2) -> np.ndarray:
        """λ_min at depth ``reference`` over λ_min at ``depth``, plateau by plateau.

        Plateaus are matched by (rank, stage); the result is (P,), one per matched plateau:
        how many times weaker the negative curvature is at ``depth``.
        """
        ref = {(r.rank, r.stage): r.lambda_min for r in self.plateaus_at(reference)}
        return np.array([ref[r.rank, r.stage] / r.lambda_min for r in self.plateaus_at(depth)
                         if (r.rank, r.stage) in ref])


def landscape(p, stair: Mapping[int, Staircase]) -> Landscape:
    """Exact Hessians at every detected plateau and end point of ``stair``.

    For plateau k (k = 0, …, R−1) of each run: the loss, ‖∇L‖ (and its ratio
    to the largest gradient norm of the run), the ``p.hessian_k`` smallest
    eigenvalues, the prediction of :func:`predicted_min_eigenvalue` and the
    alignment of the bottom eigenvector with the target's (k+1)-th singular
    pair, the one learned next, and the distance of W to the partial SVD W_k.
    At the end point: the smallest and largest
    eigenvalues, the number of eigenvalues with |λ| ≤ ``p.flat_tol``·λ_max
    (flat directions) and the count R(n + m − R) of curved ones that a rank-R
    global minimum has.
    """
    plateaus, ends = [], []
    for depth, res in stair.items():
        for run in res.runs:
            problem = LeastSquaresProblem(run.target)
            H_W = loss_hessian(problem)
            u_star, s_star, vt_star = np.linalg.svd(run.target)
            gmax = float(run.grad_norm.max())
            for k, idx in enumerate(run.plateaus):
                fs = run.factors_at(idx)
                H = factor_hessian(problem, fs, H_W=H_W)
                vals, vecs = hessian_eigs(H, p.hessian_k)
                cur = run.singular_values[idx, k]
                left, right = pair_alignment(vecs[:, 0], fs, u_star[:, k],
                                             vt_star[k])
                g = float(run.grad_norm[idx])
                W_k = (u_star[:, :k] * s_star[:k]) @ vt_star[:k]
                near = (np.linalg.norm(product(fs) - W_k)
                        / np.linalg.norm(run.target))
                plateaus.append(Plateau(
                    depth=depth, rank=run.rank, stage=k,
                    step=int(res.steps[idx]), loss=float(run.loss[idx]),
                    grad_norm=g, grad_ratio=g / gmax, eigenvalues=vals,
                    predicted=predicted_min_eigenvalue(depth, s_star[k], cur),
                    target_sv=float(s_star[k]), current_sv=float(cur),
                    alignment_u=left, alignment_v=right,
                    numerical_rank=int(run.numerical_rank[idx]),
                    partial_svd_distance=float(near),
                ))
            H = factor_hessian(problem, run.factors_at(-1), H_W=H_W)
            lo, _ = hessian_eigs(H, p.hessian_k)
            hi, _ = hessian_eigs(H, 1, which="largest")
            all_vals = scipy.linalg.eigvalsh(H)
            flat = int(np.sum(np.abs(all_vals) <= p.flat_tol * hi[0]))
            n, m = run.target.shape
            R = run.rank
            g = float(run.grad_norm[-1])
            ends.append(EndPoint(
                depth=depth, rank=R, step=int(res.steps[-1]),
                loss=float(run.loss[-1]), grad_norm=g, grad_ratio=g / gmax,
                eigenvalues=lo, lambda_max=float(hi[0]), flat=flat,
                curved=int(H.shape[0] - flat), curved_expected=R * (n + m - R),
                size=int(H.shape[0]), numerical_rank=run.final_rank,
            ))
    return Landscape(tuple(plateaus), tuple(ends))


@dataclass(frozen=True)
class CurvaturePath:
    """The smallest Hessian eigenvalue along one depth's run on the rank-``rank`` target.

    ``steps``, ``lambda_min`` and ``loss`` are (P,), at P ≤ ``p.curvature_points`` records.
    """

    depth: int
    rank: int
    steps: np.ndarray
    lambda_min: np.ndarray
    loss: np.ndarray


def curvature_path(p, stair: Mapping[int, Staircase],
                   ) -> dict[int, CurvaturePath]:
    """λ_min along the rank-``p.curvature_rank`` run of each depth.

    The Hessian is taken at the records of :func:`curvature_records`.

    Returns
    -------
    dict
        depth → :class:`CurvaturePath`.
    """
    units = []
    for depth, res in stair.items():
        run = res.run(p.curvature_rank)
        idx = curvature_records(p, len(res.steps))
        units.append((depth, p.curvature_rank, run.target, res.steps[idx], run.loss[idx],
                      [run.factors_at(i) for i in idx]))
    # The depths' Hessians on DMFNB_JOBS processes, the deepest (largest Hessian) first.
    units.sort(key=lambda u: -u[0])
    done = map_jobs(_curvature_unit, units, desc="curvature path")
    paths = {u[0]: path for u, path in zip(units, done, strict=True)}
    return {depth: paths[depth] for depth in stair}


def _curvature_unit(unit) -> CurvaturePath:
    """λ_min at each kept record of one run, here or in a worker (:func:`map_jobs`)."""
    depth, rank, target, steps, loss, factors = unit
    problem = LeastSquaresProblem(target)
    H_W = loss_hessian(problem)
    lam = np.array([hessian_eigs(factor_hessian(problem, fs, H_W=H_W), 1)[0][0]
                    for fs in factors])
    return CurvaturePath(depth, rank, steps, lam, loss)


# ---------------------------------------------------------------------------------------------
# Greedy Low-Rank Learning


def glrl_problem(p) -> CompletionProblem:
    """The PSD completion problem of the GLRL experiment (its target and symmetric mask)."""
    n = p.glrl_n
    target = ladder_target(n, p.glrl_rank, ratio=p.ratio, seed=p.glrl_seed, symmetric=True)
    mask = symmetric_mask(n, p.glrl_pairs, seed=p.glrl_seed + 1)
    return CompletionProblem(target, mask)


@dataclass(frozen=True)
class GlrlDepth:
    """Gradient descent at one depth from every scale α of ``p.glrl_scales`` (S scales).

    Attributes
    ----------
    depth, lr
        The depth and the GD step.
    steps
        (T,) record steps.
    loss
        (T, S) training loss.
    distance
        (S, R, T): ‖W_GD(t) − W_r‖_F / ‖W*‖_F for each scale, GLRL stage r and record.
    closest
        (S, R): the closest approach of each scale's path to each stage, min over t.
    plateau_distance
        (S,): the worst closest approach to an intermediate stage W_1 … W_{R−1}.
    final_distance
        (S,): ‖W_GD(end) − W_GLRL‖_F / ‖W*‖_F.
    asymmetry
        max |W − Wᵀ| at the end, over all scales (GD keeps W symmetric).
    slope
        The log–log slope of ``plateau_distance`` against α.
    """

    depth: int
    lr: float
    steps: np.ndarray
    loss: np.ndarray
    distance: np.ndarray
    closest: np.ndarray
    plateau_distance: np.ndarray
    final_distance: np.ndarray
    asymmetry: float
    slope: float


@dataclass(frozen=True)
class GlrlComparison:
    """GLRL and gradient descent on the PSD completion problem of :func:`glrl_problem`.

    Attributes
    ----------
    glrl
        What :func:`dmfnb.greedy_low_rank` computed (its stages W_1 … W_R).
    target, mask
        (n, n) the PSD target and the symmetric observation mask.
    scales
        (S,) the initialization scales α, largest first.
    depths
        depth → :class:`GlrlDepth`.
    """

    glrl: GLRLResult
    target: np.ndarray
    mask: np.ndarray
    scales: np.ndarray
    depths: Mapping[int, GlrlDepth]

    def stage_ranks(self) -> tuple[int, ...]:
        """The algebraic rank (rtol 1e-6) of each GLRL stage W_r."""
        return tuple(int(numerical_rank(W, rtol=1e-6)) for W in self.glrl.stages)

    @property
    def stop_eigenvalue(self) -> float:
        """The eigenvalue λ that stopped GLRL."""
        return float(self.glrl.eigenvalues[-1])

    def gap(self, shallow: int = 2, deep: int = 3) -> float:
        """At the smallest α: depth-``shallow`` over depth-``deep`` plateau distance."""
        return float(self.depths[shallow].plateau_distance[-1]
                     / self.depths[deep].plateau_distance[-1])


def glrl_comparison(p) -> GlrlComparison:
    """GLRL against GD on the PSD factorization from shrinking initializations.

    GLRL runs once (:func:`dmfnb.greedy_low_rank`). Gradient descent runs on
    the engine's mirror-symmetric factorization (W = UUᵀ at depth 2) for every
    scale of ``p.glrl_scales`` and depth of ``p.glrl_depths``, all scales of a
    depth stacked in one computation. For each GLRL stage W_r the distance of
    the GD path to it, ‖W_GD(t) − W_r‖_F / ‖W*‖_F, is recorded.
    """
    problem = glrl_problem(p)
    target = problem.target
    glrl = greedy_low_rank(problem, lr=p.glrl_lr, eps=p.glrl_eps,
                           grad_tol=p.glrl_grad_tol)
    norm = np.linalg.norm(target)
    scales = np.array(p.glrl_scales)
    B = len(scales)
    depths = {}
    for depth in p.glrl_depths:
        steps = p.glrl_steps[depth]
        factors = stack_factors([
            mirror_factors(p.glrl_n, depth, scale=s, seed=p.glrl_seed + 2)
            for s in p.glrl_scales
        ])
        marks = np.round(np.geomspace(1, steps, p.records)).astype(int)
        traj = train(stack_problems([problem] * B), factors,
                     lr=p.glrl_gd_lr[depth], steps=steps,
                     record=np.unique(np.r_[0, marks]), keep_products=True)
        Wt = traj.products  # (T, B, n, n)
        dist = np.array([  # (B, R, T)
            [np.linalg.norm(Wt[:, b] - Wr, axis=(-2, -1)) / norm
             for Wr in glrl.stages]
            for b in range(B)
        ])
        closest = dist.min(axis=-1)  # (B, R)
        if glrl.rank > 1:  # the intermediate stages W_1 … W_{R−1}
            plateau = closest[:, :-1].max(axis=1)
        else:
            plateau = closest[:, 0]
        final = np.linalg.norm(Wt[-1] - glrl.final, axis=(-2, -1)) / norm
        asym = np.abs(Wt[-1] - np.swapaxes(Wt[-1], -1, -2)).max()
        slope = np.polyfit(np.log10(scales), np.log10(plateau), 1)[0]
        depths[depth] = GlrlDepth(
            depth=depth, lr=float(p.glrl_gd_lr[depth]), steps=traj.steps,
            loss=traj.loss, distance=dist, closest=closest,
            plateau_distance=plateau, final_distance=final,
            asymmetry=float(asym), slope=float(slope),
        )
    return GlrlComparison(glrl, target, problem.mask, scales, depths)


# ---------------------------------------------------------------------------------------------
# Critical points: which factorizations of W_k are saddles, and what their Hessian shows


def escape_direction(target, k: int,
                     Q: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The path that leaves the exact saddle W_k, learning (u_{k+1}, v_{k+1}).

    (q_1 v_{k+1}ᵀ, q_2 q_1ᵀ, …, u_{k+1} q_{N−1}ᵀ), W_1's part first, with
    q_j = Q_j[:, k] the first hidden direction that
    :func:`exact_saddle_factors` leaves unused in layer j. Moving every factor
    by τ times it adds exactly τ^N u_{k+1} v_{k+1}ᵀ to the product.
    """
    u, _, vt = np.linalg.svd(np.asarray(target, dtype=float))
    q = [Qj[:, k] for Qj in Q]
    if not q:
        return [np.outer(u[:, k], vt[k])]
    return ([np.outer(q[0], vt[k])]
            + [np.outer(q[j], q[j - 1]) for j in range(1, len(q))]
            + [np.outer(u[:, k], q[-1])])


@dataclass(frozen=True)
class CriticalPoint:
    """Two factorizations of the same W_k (k = ``k``) at one depth, and the Hessian at one.

    Attributes
    ----------
    depth, k
        The depth N and the rank k of W_k = Σ_{i≤k} σ_i u_i v_iᵀ (k = 0: the origin).
    next_sv
        σ_{k+1}(W*), the strength of the pair learned next.
    eigenvalues
        (P,) every eigenvalue of the Hessian at the balanced factorization, ascending.
    zero_level
        The level |λ| ≤ zero_level below which an eigenvalue counts as zero.
    grad_balanced
        ‖∇L‖ at the balanced factorization (:func:`exact_saddle_factors`).
    grad_unbalanced
        ‖∇L‖ at the unbalanced one: W_2 … W_N moved by c along :func:`escape_direction`,
        W_1 kept, which leaves the product W_k unchanged.
    grad_predicted
        c^{N−1} σ_{k+1}, the exact gradient norm of that unbalanced factorization.
    product_gap
        max |W_unbalanced − W_k| over the entries (rounding: the same product).
    imbalance
        :func:`dmfnb.balancedness` of the unbalanced factorization.
    escape_order
        log₂ of [ℓ(2τ) − ℓ(0)] / [ℓ(τ) − ℓ(0)] along the escape path from the balanced one: the
        order in τ of the first term that lowers the loss (N, whatever the Hessian says).
    """

    depth: int
    k: int
    next_sv: float
    eigenvalues: np.ndarray
    zero_level: float
    grad_balanced: float
    grad_unbalanced: float
    grad_predicted: float
    product_gap: float
    imbalance: float
    escape_order: float

    @property
    def lambda_min(self) -> float:
        """The smallest Hessian eigenvalue."""
        return float(self.eigenvalues[0])

    @property
    def lambda_max(self) -> float:
        """The largest Hessian eigenvalue."""
        return float(self.eigenvalues[-1])

    def counts(self) -> tuple[int, int, int]:
        """(negative, zero, positive) eigenvalues, zero meaning |λ| ≤ ``zero_level``."""
        lam = self.eigenvalues
        zero = np.abs(lam) <= self.zero_level
        return (int(np.sum(lam < -self.zero_level)), int(np.sum(zero)),
                int(np.sum(lam > self.zero_level)))

    @property
    def grad_ratio(self) -> float:
        """``grad_unbalanced`` over ``grad_predicted`` (1: as the algebra says)."""
        return self.grad_unbalanced / self.grad_predicted


@dataclass(frozen=True)
class CriticalPoints:
    """:class:`CriticalPoint` for every depth and k = 0 … R − 1 of the rank-R target.

    ``points`` are ordered by depth, then k; ``rank`` is R and ``unbalance`` is c.
    """

    rank: int
    unbalance: float
    points: Sequence[CriticalPoint]

    def depths(self) -> tuple[int, ...]:
        """The depths, in order."""
        return tuple(dict.fromkeys(c.depth for c in self.points))

    def at(self, depth: int) -> list[CriticalPoint]:
        """The points at ``depth``, k ascending."""
        return [c for c in self.points if c.depth == depth]


def _grad_norm(problem, factors) -> float:
    _, grads = gradients(problem, factors)
    return float(np.sqrt(sum(np.sum(g * g) for g in grads)))


def critical_points(p) -> CriticalPoints:
    """Balanced and unbalanced factorizations of W_k, k < R, rank-R target.

    R is ``max(p.ranks)`` and the target that of :func:`staircase`. For
    every depth of ``p.depths`` and k = 0, …, R − 1: the full Hessian
    spectrum at the balanced factorization (:func:`exact_saddle_factors`),
    its gradient norm, the gradient norm of an unbalanced factorization of
    the same W_k (W_2 … W_N moved by ``p.unbalance`` along
    :func:`escape_direction`, W_1 kept), and the order in τ of the loss
    decrease along the escape path, from τ = ``p.escape_tau`` and 2τ.
    """
    R = max(p.ranks)
    target = _targets(p)[list(p.ranks).index(R)]
    problem = LeastSquaresProblem(target)
    H_W = loss_hessian(problem)
    s = np.linalg.svd(target, compute_uv=False)
    c, tau = p.unbalance, p.escape_tau
    points = []
    for depth in p.depths:
        for k in range(R):
            fs, Q = exact_saddle_factors(target, k, depth, seed=p.crit_seed)
            path = escape_direction(target, k, Q)
            lam = scipy.linalg.eigvalsh(factor_hessian(problem, fs, H_W=H_W))
            # W_1 stays: every added term of the product ends in q_1ᵀW_1 = 0.
            moved = [fs[0]] + [f + c * d
                               for f, d in zip(fs[1:], path[1:], strict=True)]
            base = problem.loss(product(fs))

            def drop(t, fs=fs, path=path, base=base):
                shifted = [f + t * d for f, d in zip(fs, path, strict=True)]
                return problem.loss(product(shifted)) - base

            points.append(CriticalPoint(
                depth=depth, k=k, next_sv=float(s[k]), eigenvalues=lam,
                zero_level=p.zero_tol * float(s[0]),
                grad_balanced=_grad_norm(problem, fs),
                grad_unbalanced=_grad_norm(problem, moved),
                grad_predicted=c ** (depth - 1) * float(s[k]),
                product_gap=float(np.max(np.abs(product(moved) - product(fs)))),
                imbalance=float(balancedness(moved)),
                escape_order=float(np.log2(drop(2 * tau) / drop(tau))),
            ))
    return CriticalPoints(R, float(c), tuple(points))


# ---------------------------------------------------------------------------------------------
# GLRL against the minimum nuclear norm


def nn_problem(p) -> CompletionProblem:
    """The sparser PSD completion: ``p.nn_n``×``p.nn_n`` target built like
    :func:`glrl_problem`'s (same rank and seed), ``p.nn_pairs`` observed pairs."""
    n = p.nn_n
    target = ladder_target(n, p.glrl_rank, ratio=p.ratio, seed=p.glrl_seed, symmetric=True)
    mask = symmetric_mask(n, p.nn_pairs, seed=p.glrl_seed + 1)
    return CompletionProblem(target, mask)


@dataclass(frozen=True)
class NuclearInstance:
    """GLRL, the convex minima and gradient descent on one PSD completion problem.

    Attributes
    ----------
    name, pairs
        Which instance, and its number of observed pairs {i, j}.
    target, mask
        (n, n) the PSD target and the symmetric mask.
    glrl_stages
        (R, n, n) GLRL's stages W_1 … W_R (the last is its limit).
    glrl_converged
        Whether every GLRL stage reached its gradient tolerance.
    stage_traces, stage_violations
        (R,) tr W_r and max |W_r − W*| on the observed entries, per stage.
    psd_min
        (n, n) argmin tr X over PSD X fitting the observations (:func:`dmfnb.min_trace_psd`).
    psd_violation
        Its largest residual on the observed entries.
    nuclear_min
        min ‖X‖_* over all X fitting them (:func:`dmfnb.min_nuclear_norm`, not PSD-constrained).
    nuclear_min_eig
        The smallest eigenvalue of that unconstrained minimizer's symmetric part.
    scales
        (S,) the GD initialization scales α (W(0) = αI), largest first.
    gd_traces
        depth → (S,) tr W_GD at the end of each GD run.
    gd_distance
        depth → (S,) ‖W_GD(end) − W_GLRL‖_F / ‖W*‖_F.
    gd_loss
        depth → (S,) the final training loss.
    """

    name: str
    pairs: int
    target: np.ndarray
    mask: np.ndarray
    glrl_stages: np.ndarray
    glrl_converged: bool
    stage_traces: np.ndarray
    stage_violations: np.ndarray
    psd_min: np.ndarray
    psd_violation: float
    nuclear_min: float
    nuclear_min_eig: float
    scales: np.ndarray
    gd_traces: Mapping[int, np.ndarray]
    gd_distance: Mapping[int, np.ndarray]
    gd_loss: Mapping[int, np.ndarray]

    @property
    def glrl_trace(self) -> float:
        """tr of GLRL's limit (= its nuclear norm: it is PSD)."""
        return float(self.stage_traces[-1])

    @property
    def glrl_violation(self) -> float:
        """GLRL's limit: largest residual on the observed entries."""
        return float(self.stage_violations[-1])

    @property
    def min_trace(self) -> float:
        """The minimum trace (nuclear norm) over PSD matrices fitting the observations."""
        return float(np.trace(self.psd_min))

    @property
    def relative_gap(self) -> float:
        """(tr W_GLRL − min tr) / min tr."""
        return (self.glrl_trace - self.min_trace) / self.min_trace

    def error(self, W) -> float:
        """‖W − W*‖_F / ‖W*‖_F."""
        return float(np.linalg.norm(W - self.target) / np.linalg.norm(self.target))

    def rank_of(self, W) -> int:
        """Eigenvalues of W above 1e-4 · ‖W*‖_2."""
        return int(np.sum(np.linalg.eigvalsh(W) > 1e-4 * np.linalg.norm(self.target, 2)))


@dataclass(frozen=True)
class NuclearComparison:
    """:class:`NuclearInstance` for the GLRL experiment's problem (``"book"``) and the sparser
    :func:`nn_problem` (``"sparse"``)."""

    instances: Mapping[str, NuclearInstance]

    def __getitem__(self, name: str) -> NuclearInstance:
        return self.instances[name]


def _nuclear_instance(p, name: str, problem, gd: bool) -> NuclearInstance:
    target, mask = problem.target, problem.mask
    glrl = greedy_low_rank(problem, lr=p.nn_lr, eps=p.glrl_eps,
                           grad_tol=p.glrl_grad_tol)
    stages = np.array(glrl.stages)
    traces = np.trace(stages, axis1=-2, axis2=-1)
    viol = np.array([np.max(np.abs((W - target)[mask])) for W in stages])
    # Each observed pair {i, j} as the measurement (e_i e_jᵀ + e_j e_iᵀ)/2.
    rows, cols = np.nonzero(np.triu(mask))
    A = np.zeros((rows.size, *mask.shape))
    A[np.arange(rows.size), rows, cols] += 0.5
    A[np.arange(rows.size), cols, rows] += 0.5
    X, _ = min_trace_psd(A, target[rows, cols])
    Y = min_nuclear_norm(problem, p.nn_tol, solvers=("CLARABEL", "SCS"))
    scales = np.array(p.glrl_scales)
    traces_gd, dist, loss = {}, {}, {}
    for depth in p.glrl_depths if gd else ():
        factors = stack_factors([
            mirror_factors(p.nn_n, depth, scale=s, seed=p.glrl_seed + 2)
            for s in p.glrl_scales
        ])
        steps = p.glrl_steps[depth]
        traj = train(stack_problems([problem] * len(scales)), factors,
                     lr=p.glrl_gd_lr[depth], steps=steps, record=[0, steps],
                     keep_products=True)
        W = traj.products[-1]  # (S, n, n)
        traces_gd[depth] = np.trace(W, axis1=-2, axis2=-1)
        dist[depth] = (np.linalg.norm(W - stages[-1], axis=(-2, -1))
                       / np.linalg.norm(target))
        loss[depth] = np.asarray(traj.loss[-1])
    return NuclearInstance(
        name=name, pairs=int(np.sum(np.triu(mask))), target=target, mask=mask,
        glrl_stages=stages, glrl_converged=bool(all(glrl.converged)),
        stage_traces=traces, stage_violations=viol, psd_min=X,
        psd_violation=float(np.max(np.abs((X - target)[mask]))),
        nuclear_min=float(np.linalg.svd(Y, compute_uv=False).sum()),
        nuclear_min_eig=float(np.linalg.eigvalsh(0.5 * (Y + Y.T))[0]),
        scales=scales, gd_traces=traces_gd, gd_distance=dist, gd_loss=loss,
    )


def nuclear_comparison(p) -> NuclearComparison:
    """GLRL's limit against the minimum-trace PSD completion, on two instances.

    ``"book"`` is :func:`glrl_problem` (GLRL only); ``"sparse"`` is
    :func:`nn_problem`, where gradient descent also runs from W(0) = αI for
    every α of ``p.glrl_scales`` at every depth of ``p.glrl_depths`` (the
    mirror-symmetric factorization of :func:`glrl_comparison`), to see which
    of the two it approaches.
    """
    return NuclearComparison({
        "book": _nuclear_instance(p, "book", glrl_problem(p), gd=False),
        "sparse": _nuclear_instance(p, "sparse", nn_problem(p), gd=True),
    })
