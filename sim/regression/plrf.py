"""One-pass SGD on the power-law random features (PLRF) model of Paquette, Paquette, Xiao &
Pennington, "4+3 Phases of Compute-Optimal Neural Scaling Laws", NeurIPS 2024,
arXiv:2405.15074 (Sec. 2, the PLRF problem and one-pass SGD).

Model (the spec :class:`nnphys.models.regression.PLRFModel`, which the theory
:mod:`nnphys.theory.scaling.plrf` reads too):

- data ``x in R^v`` with independent ``x_j ~ N(0, j^{-2 alpha})``: ``D = diag(j^{-2 alpha})``;
- target ``y = <x, b>``, ``b_j = j^{-beta}``;
- embedding ``W in R^{v x d}``, iid ``N(0, 1/d)``; features ``phi = W^T x in R^d``;
- population risk ``P(theta) = 1/2 E[(<phi, theta> - y)^2] = 1/2 ||D^{1/2}(W theta - b)||^2``;
- one-pass SGD from ``theta_0 = 0`` with batch ``B`` and constant learning rate ``gamma``
  (no ``1/B``, as in the paper's code)::

      theta_{t+1} = theta_t - gamma sum_{i=1}^{B} phi_i (<phi_i, theta_t> - y_i),

  every sample fresh; default ``gamma = 1 / ((B + 1) Tr D)``, ``Tr D = sum_{j<=v} j^{-2 alpha}``
  (``0.5 / Tr D`` at ``B = 1``); compute ``f = d B t`` flops.

The recorded loss is the exact population risk ``P(theta_t)`` of each run (no test sample).

Two samplers, equal in distribution:

``method="raw"``
    draws ``x ~ N(0, D)`` in ``R^v`` and forms ``phi = W^T x``. All replicas advance together:
    the ``S * B`` samples of a step are the rows of ``X`` (``(S B) x v``) and ``Phi = X W`` is
    one BLAS product that streams ``W`` from memory once per step for all replicas, so at
    ``S B <~ 16`` a step costs about ``8 v d`` bytes / bandwidth. The replicas share ``W`` and
    have independent data; ``fresh_w=True`` draws an independent ``W`` per replica instead
    (then every replica streams its own ``W``).

``method="spectral"``
    works in the eigenbasis of ``K = W^T D W = U diag(lam) U^T``. With
    ``theta* = K^+ W^T D b`` and ``sigma^2 = b^T D b - theta*^T K theta*``, a sample is
    ``phi = U Lambda^{1/2} xi``, ``xi ~ N(0, I_d)``, and ``y = xi . Lambda^{1/2} U^T theta* +
    sigma zeta``, ``zeta ~ N(0, 1)`` independent of ``xi``. This is exact in distribution:
    ``(phi, y)`` is a centred Gaussian vector, so its law is fixed by its covariances;
    ``Cov(phi) = W^T D W = K``, and the residual ``eps = y - <phi, theta*>`` has
    ``Cov(phi, eps) = W^T D b - K theta* = 0`` (``W^T D b`` lies in the range of ``K``), hence
    ``eps`` is independent of ``phi`` with variance ``sigma^2``. The update of
    ``e = U^T (theta - theta*)`` needs only ``(U^T phi, eps)`` per sample, and
    ``P(theta) = 1/2 (sum_k lam_k e_k^2 + sigma^2)``, so the law of the whole loss curve is
    that of raw SGD on the same ``W``. After an ``O(v d^2 + d^3)`` set-up a sample costs
    ``O(d)`` (about ``d`` normal variates), independent of ``v``.

Expected loss (tests only; Gaussian fourth moments): with ``s_k(t) = E[e_k(t)^2]``,
``s_k(t+1) = g(lam_k) s_k(t) + 2 gamma^2 B lam_k P(t)``,
``g(z) = 1 - 2 gamma B z + gamma^2 B (B+1) z^2``, ``P(t) = 1/2 (sum_k lam_k s_k(t) + sigma^2)``.

Random numbers: replica ``s`` owns the xoshiro256** stream ``s`` under one 64-bit base drawn
from ``seed``, so a replica's curve does not depend on the number of threads or replicas. The
mean over replicas and its standard error come from :func:`nnphys.stats.sample_mean`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from ... import checks
from ...errors import NumericalError, ParameterError
from ...models.regression import PLRFModel
from ...results import Result
from .. import _xoshiro
from ...stats import Estimate
from . import _plrf
from ._replicas import replica_estimate

__all__ = ["PLRFProblem", "PLRFSpectrum", "SGDCurves", "sgd"]

_METHODS = ("raw", "spectral")
_DIVERGENCE_FACTOR = 1e10       # a risk above this times P(0) counts as divergence
_SMALL_PRODUCT = 2 ** 24        # X W with fewer multiply-adds runs on one thread (numba)


@dataclasses.dataclass(frozen=True)
class PLRFSpectrum:
    """Eigen-decomposition ``K = W^T D W = U diag(lam) U^T`` (``lam`` ascending, clipped at 0),
    ``theta* = K^+ W^T D b`` (eigenvalues below ``1e-12 max lam`` dropped), its coordinates
    ``theta_star_u = U^T theta*`` and the unexplained variance
    ``sigma2 = b^T D b - theta*^T K theta* = 2 P(theta*)``."""

    lam: np.ndarray
    U: np.ndarray
    theta_star: np.ndarray
    theta_star_u: np.ndarray
    sigma2: float


class PLRFProblem:
    """One draw of the PLRF problem: ``D``, ``b`` and ``W`` (``v x d``, iid ``N(0, 1/d)``).

    Args:
        alpha: data exponent (``D_jj = j^{-2 alpha}``), > 0.
        beta: target exponent (``b_j = j^{-beta}``), finite.
        v, d: data dimension and parameter count, integers ``v >= d >= 1``.
        seed: int, ``numpy.random.Generator`` or None; draws ``W`` (row blocks of float64
            normals, so a seed gives the same ``W`` on every machine).
        W: optional given embedding (``(v, d)`` float array, copied) instead of a random one.

    ``W``, ``D`` and ``b`` are read-only arrays: :meth:`spectral` is computed once and cached.
    ``model`` is the :class:`~nnphys.models.regression.PLRFModel` it was built from.
    """

    def __init__(self, alpha: float, beta: float, v: int, d: int, seed=None, *, W=None):
        self.model = PLRFModel(alpha, beta, d, v)
        self.alpha, self.beta = self.model.alpha, self.model.beta
        self.v, self.d = self.model.v, self.model.d
        checks.work("v", 3.0 * self.v, checks.MEMORY_LIMIT, what="spectrum entries (D, b, j)")
        checks.work("v, d", float(self.v) * self.d, checks.MEMORY_LIMIT,
                    what="embedding entries")
        j = np.arange(1, self.v + 1, dtype=float)
        self.D = self.model.data_variance(j)
        self.b = self.model.target(j)
        if W is not None:
            W = checks.finite_array("W", W)
        if W is None:
            rng = np.random.default_rng(checks.seed(seed))
            W = np.empty((self.v, self.d))
            block = max(1, 2 ** 22 // self.d)
            scale = 1.0 / math.sqrt(self.d)
            for start in range(0, self.v, block):
                stop = min(self.v, start + block)
                W[start:stop] = scale * rng.standard_normal((stop - start, self.d))
        else:
            W = np.array(W, dtype=float, order="C")            # a private copy
            if W.shape != (self.v, self.d):
                raise ParameterError(f"W: must have shape (v, d) = ({self.v}, {self.d}), "
                                     f"got {W.shape}")
        for arr in (W, self.D, self.b):
            arr.flags.writeable = False                        # spectral() is cached
        self.W = W
        self._spectrum: PLRFSpectrum | None = None

    @property
    def trace_D(self) -> float:
        """``Tr D = sum_{j <= v} j^{-2 alpha}`` (the spec's)."""
        return self.model.trace_D

    @property
    def trace_K(self) -> float:
        """``Tr K = sum_j D_j |W_j|^2`` (``O(v d)``, no eigen-decomposition)."""
        return float(np.einsum("j,jk,jk->", self.D, self.W, self.W))

    @property
    def initial_risk(self) -> float:
        """``P(0) = 1/2 b^T D b``."""
        return 0.5 * float(self.D @ self.b ** 2)

    def risk(self, theta) -> np.ndarray | float:
        """Exact population risk ``1/2 ||D^{1/2}(W theta - b)||^2`` of ``theta`` (shape
        ``(..., d)``; returns shape ``(...)``)."""
        theta = np.asarray(theta, dtype=float)
        if theta.shape[-1:] != (self.d,):
            raise ParameterError(f"theta: last axis must have length d = {self.d}, "
                                 f"got shape {theta.shape}")
        flat = theta.reshape(-1, self.d)
        resid = (self.W @ flat.T - self.b[:, None]) * np.sqrt(self.D)[:, None]
        out = 0.5 * np.einsum("vs,vs->s", resid, resid)
        return float(out[0]) if theta.ndim == 1 else out.reshape(theta.shape[:-1])

    def spectral(self) -> PLRFSpectrum:
        """Eigen-decomposition of ``K``, ``theta*`` and ``sigma^2`` (computed once, cached)."""
        if self._spectrum is None:
            dw = self.W * self.D[:, None]
            K = self.W.T @ dw
            K = 0.5 * (K + K.T)
            lam, U = np.linalg.eigh(K)
            lam = np.maximum(lam, 0.0)
            rhs_u = U.T @ (dw.T @ self.b)                  # U^T W^T D b
            keep = lam > 1e-12 * lam.max()
            star_u = np.where(keep, rhs_u / np.where(keep, lam, 1.0), 0.0)
            theta_star = U @ star_u
            sigma2 = 2.0 * self.risk(theta_star)       # direct form, no cancellation
            self._spectrum = PLRFSpectrum(lam=lam, U=U, theta_star=theta_star,
                                          theta_star_u=star_u, sigma2=float(sigma2))
        return self._spectrum

    def parameters(self) -> dict:
        return {"alpha": self.alpha, "beta": self.beta, "v": self.v, "d": self.d}


@dataclasses.dataclass(frozen=True)
class SGDCurves(Result):
    """Exact population risk along one-pass SGD (a simulation: no health fields).

    Attributes:
        t: recorded iterations (int); ``flops = d * B * t``.
        per_replica: ``(n_replicas, len(t))`` risk of each run.
        loss: (property) the mean over replicas of ``P(theta_t)`` as an
            :class:`~nnphys.stats.Estimate` (standard error ``nan`` for one replica).
    """

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    per_replica: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    flops: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    @property
    def loss(self) -> Estimate:
        """Mean risk at each recorded iteration, with its standard error."""
        return replica_estimate(self.per_replica)


def _record_grid(steps, record):
    if record is None:
        record = 100
    if isinstance(record, (int, np.integer)) and not isinstance(record, bool):
        if record < 2:
            raise ParameterError(f"record: must be >= 2 points or an array of iterations, "
                                 f"got {record!r}")
        if steps == 0:
            return np.zeros(1, dtype=np.int64)
        grid = np.unique(np.round(np.geomspace(1.0, steps, int(record) - 1)).astype(np.int64))
        return np.concatenate([[0], grid]).astype(np.int64)
    arr = np.asarray(record)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError("record: must be an int (number of log-spaced points) or a 1-D "
                             "integer array of iterations")
    arr = np.unique(arr.astype(np.int64))
    if arr[0] < 0 or arr[-1] > steps:
        raise ParameterError(f"record: iterations must lie in [0, steps = {steps}]")
    return arr


def _base_seed(rng):
    return int(rng.integers(0, 2 ** 63 - 1))


def _divergence(problem, lr, batch, step):
    bound = 2.0 / ((batch + 1) * problem.trace_K)
    return NumericalError(
        f"sgd: the loss diverged (non-finite or above {_DIVERGENCE_FACTOR:.0e} P(0)) by "
        f"iteration {step}: lr = {lr:.4g} is too large for batch = {batch} (SGD is stable "
        f"roughly for lr < 2 / ((B + 1) Tr K) = {bound:.4g}); reduce lr")


def _run_raw(problem, steps, lr, batch, base, streams, record):
    n = len(streams)
    states = np.ascontiguousarray(np.array([_xoshiro.seed_state(base, s) for s in streams]))
    sqrt_d = np.sqrt(problem.D)
    b = np.ascontiguousarray(problem.b)
    W = np.ascontiguousarray(problem.W)
    theta = np.zeros((n, problem.d))
    X = np.empty((n * batch, problem.v))
    y = np.empty(n * batch)
    phi = np.empty((n * batch, problem.d))
    out = np.empty((n, record.size))
    threshold = _DIVERGENCE_FACTOR * problem.initial_risk
    small = n * batch * problem.v * problem.d <= _SMALL_PRODUCT
    k = 0
    for step in range(steps + 1):
        if k < record.size and record[k] == step:
            with np.errstate(over="ignore", invalid="ignore"):   # divergence: checked next
                out[:, k] = problem.risk(theta)
            if not np.all(out[:, k] <= threshold):
                raise _divergence(problem, lr, batch, step)
            k += 1
            if k == record.size:
                break
        _plrf.draw_raw(states, sqrt_d, b, batch, X, y)
        if small:
            _plrf.small_product(X, W, phi)
        else:
            np.matmul(X, W, out=phi)
        _plrf.update_raw(theta, phi, y, lr, batch)
    return out


def _run_spectral(problem, steps, lr, batch, base, streams, record):
    spec = problem.spectral()
    states = np.ascontiguousarray(np.array([_xoshiro.seed_state(base, s) for s in streams]))
    out = np.empty((len(streams), record.size))
    diverged = np.empty(len(streams), dtype=np.int64)
    threshold = _DIVERGENCE_FACTOR * problem.initial_risk
    _plrf.spectral_sgd(states, np.ascontiguousarray(-spec.theta_star_u), spec.lam,
                       math.sqrt(max(spec.sigma2, 0.0)), lr, batch, record, threshold, out,
                       diverged)
    if np.any(diverged >= 0):
        raise _divergence(problem, lr, batch, int(diverged[diverged >= 0].min()))
    return out


def sgd(problem, steps: int, *, lr: float | None = None, batch: int = 1, n_replicas: int = 8,
        seed=None, record=None, method: str = "raw", fresh_w: bool = False) -> SGDCurves:
    """Loss curves of one-pass SGD on the PLRF model (exact population risk of each run).

    Args:
        problem: a :class:`PLRFProblem`, or a mapping with ``alpha, beta, v, d`` (and
            optionally ``seed`` for ``W``) from which one is built.
        steps: SGD iterations (>= 0).
        lr: learning rate ``gamma`` (default ``problem.model.default_lr(batch)``,
            ``1 / ((batch + 1) Tr D)``).
        batch: samples per step ``B`` (the gradient is their sum, no ``1/B``).
        n_replicas: independent runs. With ``fresh_w=False`` they share the problem's ``W``
            and draw independent data; with ``fresh_w=True`` each run also draws its own
            ``W`` (the problem's ``alpha, beta, v, d``; its ``W`` is not used).
        fresh_w: whether each run draws its own ``W`` (above).
        seed: seeds the data streams (and the fresh ``W``); int, Generator or None. Run
            ``s`` uses stream ``s``, so its curve does not depend on ``n_replicas`` or
            threads.
        record: number of log-spaced recorded iterations in ``[0, steps]`` (default 100;
            rounded, duplicates removed, 0 included) or an integer array of iterations.
        method: ``"raw"`` (samples in ``R^v``, ``phi = W^T x``) or ``"spectral"`` (exact in
            distribution, ``O(d)`` per sample; see the module docstring).

    Returns:
        :class:`SGDCurves` with ``t``, ``per_replica``, ``flops`` and the ``loss`` estimate.

    Raises:
        ParameterError: bad argument (the message names it).
        NumericalError: the loss diverged (learning rate too large).
    """
    if isinstance(problem, Mapping):
        try:
            problem = PLRFProblem(problem["alpha"], problem["beta"], problem["v"], problem["d"],
                                  seed=problem.get("seed"))
        except KeyError as exc:
            raise ParameterError(f"problem: mapping lacks {exc.args[0]!r} "
                                 "(needs alpha, beta, v, d)") from None
    elif not isinstance(problem, PLRFProblem):
        raise ParameterError(f"problem: must be a PLRFProblem or a mapping of its parameters, "
                             f"got {type(problem).__name__}")
    steps = checks.integer("steps", steps, low=0)
    batch = checks.integer("batch", batch, low=1)
    n_replicas = checks.integer("n_replicas", n_replicas, low=1)
    checks.work("steps * batch * n_replicas", float(steps) * batch * n_replicas * problem.v,
                what="multiply-adds")
    checks.one_of("method", method, _METHODS)
    lr = problem.model.default_lr(batch) if lr is None else checks.positive("lr", lr)
    times = _record_grid(steps, record)
    rng = np.random.default_rng(checks.seed(seed))
    base = _base_seed(rng)
    run = _run_raw if method == "raw" else _run_spectral
    if fresh_w:
        curves = []
        for s in range(n_replicas):
            own = PLRFProblem(problem.alpha, problem.beta, problem.v, problem.d,
                              seed=_base_seed(rng))
            curves.append(run(own, steps, lr, batch, base, [s], times)[0])
        per_replica = np.array(curves)
    else:
        per_replica = run(problem, steps, lr, batch, base, list(range(n_replicas)), times)
    params = dict(problem.parameters(), steps=steps, lr=lr, batch=batch, n_replicas=n_replicas,
                  method=method, fresh_w=bool(fresh_w), base_seed=base)
    return SGDCurves(parameters=params, t=times, per_replica=per_replica,
                     flops=(problem.d * batch * times).astype(float))
