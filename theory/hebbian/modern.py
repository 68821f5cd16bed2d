r"""Modern (continuous) Hopfield networks: Ramsauer et al. 2020, "Hopfield Networks is All You
Need", arXiv:2008.02217 (ICLR 2021), and the bridge to attention.

Patterns are the ``K`` rows ``x_j`` of ``patterns`` (Ramsauer's ``X = (x_1 ... x_N)`` holds
them as columns; their ``N`` is our ``K``, their ``d`` our ``N``), ``M = max_j |x_j|``, and
``lam`` is their inverse temperature ``beta``::

    lse(lam, z) = lam^{-1} ln sum_j exp(lam z_j)
    E(xi) = -lse(lam, X^T xi) + xi.xi/2 + lam^{-1} ln K + M^2/2          (their Eq. 2)
    xi_new = X softmax(lam X^T xi)                                       (their Eq. 3)

The update is the concave-convex procedure on ``E``: ``E`` never increases along it (their
Theorem 1; checked in the tests). Its fixed points are a global average (small ``lam``),
metastable averages over subsets of patterns, and single patterns (large ``lam``, well
separated patterns).

* :func:`separation`: ``Delta_i = x_i.x_i - max_{j != i} x_i.x_j`` (their Eq. 5).
* :func:`retrieval_error_bound`: one update from ``xi`` near ``x_i``,
  ``|f(xi) - x_i| <= 2 eps M``, ``eps = (K - 1) exp(-lam (Delta_i - 2 M |xi - x_i|))``
  (the form of their Theorem 5 / Lemma A7; re-derived here: ``f(xi) - x_i = sum_j p_j
  (x_j - x_i)``, ``|x_j - x_i| <= 2M`` and ``1 - p_i <= sum_{j != i} e^{-lam xi.(x_i -
  x_j)}`` with ``xi.(x_i - x_j) >= Delta_i - 2 M |xi - x_i|``).
* :func:`separation_condition`: their Theorem 4: a pattern is a (near) fixed point,
  attracting the sphere ``|xi - x_i| <= 1/(lam K M)``, if ``Delta_i >= 2/(lam K) +
  ln(2 (K - 1) K lam M^2)/lam``.
* :func:`storage_capacity`: how many random patterns on the sphere of radius ``M`` in
  ``N`` dimensions satisfy the separation condition: the typical largest pairwise cosine of
  ``K`` patterns is ``c_K = sqrt(1 - K^{-4/N})`` (``K^2`` pairs, each ``P(cos > c) ~
  (1 - c^2)^{N/2}``), so ``Delta = M^2 (1 - c_K)`` and the capacity is the largest ``K``
  meeting Theorem 4: exponential in ``N`` when ``lam M^2`` grows with ``N``. (The explicit
  constants ``c`` of their Theorem 3, ``K >= sqrt(p) c^{(N-1)/4}``, could not be read here
  and are not used.)
* :func:`global_average_onset`: the global-average fixed point ``xi* = X softmax(lam X^T
  xi*)`` is stable while the spectral radius of the update's Jacobian ``lam X (diag(p) -
  p p^T) X^T`` is below 1 (p the softmax weights there); it loses stability at ``lam_c``,
  where metastable subset averages appear. For ``lam -> 0``, ``p`` is uniform and
  ``lam_c -> 1 / lambda_max(Cov)``, the pattern covariance (a check of the root).
* :func:`attention`: ``softmax(Q K^T / sqrt(d_k)) V`` (Vaswani et al. 2017). One update is one
  head with tied keys and values: ``update(xi, X, lam = 1/sqrt(d_k)) = attention(xi, X, X)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize, special

from ... import checks
from ...errors import ConvergenceError, ParameterError
from ...results import Result

__all__ = ["FixedPoint", "GlobalOnset", "lse", "energy", "update", "fixed_point", "separation",
           "separation_condition", "retrieval_error_bound", "storage_capacity",
           "global_average_onset", "jacobian_radius", "attention"]


@dataclasses.dataclass(frozen=True)
class FixedPoint(Result):
    """An iterated fixed point ``state`` of the update, the softmax weights ``p`` there and
    the energy; ``residual = |f(xi) - xi|`` at the last step."""

    state: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    p: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    energy: float = 0.0


@dataclasses.dataclass(frozen=True)
class GlobalOnset(Result):
    """``lam_c``: the global-average fixed point loses stability (Jacobian radius 1);
    ``lam_small`` is the small-lam limit ``1/lambda_max(Cov)``."""

    lam_c: float = 0.0
    lam_small: float = 0.0


def _patterns(patterns) -> np.ndarray:
    return checks.finite_array("patterns", patterns, ndim=2, nonempty=True)


def _state(state, n) -> np.ndarray:
    xi = checks.finite_array("state", state)
    if xi.shape[-1:] != (n,):
        raise ParameterError(f"state: last axis must have length {n}, got {xi.shape}")
    return xi


def _lam(lam) -> float:
    return checks.real("lam", lam, low=0.0, low_open=True)


def lse(lam: float, z) -> np.ndarray:
    """``lam^{-1} ln sum_j exp(lam z_j)`` over the last axis (overflow-free)."""
    lam = _lam(lam)
    z = checks.finite_array("z", z)
    return special.logsumexp(lam * z, axis=-1) / lam


def energy(state, patterns, lam: float) -> np.ndarray:
    """Ramsauer et al. Eq. 2: ``-lse(lam, X^T xi) + xi.xi/2 + ln(K)/lam + M^2/2``.

    Parameters
    ----------
    state : array_like
        ``(..., N)`` states ``xi``.
    patterns : array_like
        ``(K, N)`` stored patterns.
    lam : float
        Inverse temperature ``beta`` of the paper (> 0).

    Returns
    -------
    numpy.ndarray
        The energy of each state.
    """
    x = _patterns(patterns)
    xi = _state(state, x.shape[1])
    lam = _lam(lam)
    big_m = float(np.max(np.linalg.norm(x, axis=1)))
    return (-lse(lam, xi @ x.T) + 0.5 * np.sum(xi * xi, axis=-1) + math.log(x.shape[0]) / lam
            + 0.5 * big_m ** 2)


def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def update(state, patterns, lam: float) -> np.ndarray:
    """One update ``xi <- X softmax(lam X^T xi)`` (Ramsauer et al. Eq. 3) of ``(..., N)``
    states.

    Parameters
    ----------
    state : array_like
        ``(..., N)`` states.
    patterns : array_like
        ``(K, N)`` patterns.
    lam : float
        Inverse temperature (> 0).

    Returns
    -------
    numpy.ndarray
        The updated states.
    """
    x = _patterns(patterns)
    xi = _state(state, x.shape[1])
    return _softmax(_lam(lam) * (xi @ x.T)) @ x


def fixed_point(state, patterns, lam: float, *, steps: int = 10_000, tol: float = 1e-12,
                strict: bool = True) -> FixedPoint:
    """Iterate :func:`update` from ``state`` until ``|f(xi) - xi| <= tol`` (the CCCP converges
    to a stationary point, their Theorem 2).

    Parameters
    ----------
    state : array_like
        ``(N,)`` start.
    patterns : array_like
        ``(K, N)`` patterns.
    lam : float
        Inverse temperature (> 0).
    steps : int
        Most updates.
    tol : float
        Stopping tolerance on the step norm.
    strict : bool
        Raise :class:`ConvergenceError` if ``steps`` are not enough (else ``converged=False``).

    Returns
    -------
    FixedPoint
    """
    x = _patterns(patterns)
    xi = np.array(_state(state, x.shape[1]), dtype=float)
    if xi.ndim != 1:
        raise ParameterError(f"state: one state of shape ({x.shape[1]},), got {xi.shape}")
    lam = _lam(lam)
    steps = checks.integer("steps", steps, low=1)
    tol = checks.positive("tol", tol)
    step = math.inf
    for it in range(1, steps + 1):
        new = _softmax(lam * (x @ xi)) @ x
        step = float(np.linalg.norm(new - xi))
        xi = new
        if step <= tol:
            break
    ok = step <= tol
    if not ok and strict:
        raise ConvergenceError("fixed_point: the update did not converge", iterations=steps,
                               residual=step)
    return FixedPoint(converged=ok, iterations=it, residual=step,
                      parameters={"lam": lam, "K": x.shape[0], "N": x.shape[1]},
                      state=xi, p=_softmax(lam * (x @ xi)), energy=float(energy(xi, x, lam)))


def separation(patterns) -> np.ndarray:
    """``Delta_i = x_i.x_i - max_{j != i} x_i.x_j`` for every pattern (Ramsauer Eq. 5);
    needs ``K >= 2``."""
    x = _patterns(patterns)
    if x.shape[0] < 2:
        raise ParameterError("patterns: the separation needs at least 2 patterns")
    g = x @ x.T
    diag = np.diag(g).copy()
    np.fill_diagonal(g, -np.inf)
    return diag - g.max(axis=1)


def separation_condition(patterns, lam: float) -> np.ndarray:
    """Ramsauer et al. Theorem 4: pattern ``i`` is (near) a fixed point attracting the sphere
    of radius ``1/(lam K M)`` if ``Delta_i >= 2/(lam K) + ln(2 (K - 1) K lam M^2)/lam``:
    a boolean per pattern."""
    x = _patterns(patterns)
    lam = _lam(lam)
    k = x.shape[0]
    big_m = float(np.max(np.linalg.norm(x, axis=1)))
    need = 2.0 / (lam * k) + math.log(2.0 * (k - 1) * k * lam * big_m ** 2) / lam
    return separation(x) >= need


def retrieval_error_bound(state, patterns, index: int, lam: float) -> float:
    """Bound on the error of one update from ``state`` near pattern ``index``:
    ``|f(xi) - x_i| <= 2 eps M``, ``eps = (K - 1) exp(-lam (Delta_i - 2 M |xi - x_i|))``
    (Ramsauer et al. Theorem 5 in form; derivation in the module docstring). Infinite
    precision is not needed: the bound is returned as a float, possibly ``inf``.

    Parameters
    ----------
    state : array_like
        ``(N,)`` start ``xi``.
    patterns : array_like
        ``(K, N)`` patterns (``K >= 2``).
    index : int
        The pattern retrieved.
    lam : float
        Inverse temperature (> 0).

    Returns
    -------
    float
        ``2 eps M``.
    """
    x = _patterns(patterns)
    xi = _state(state, x.shape[1])
    index = checks.integer("index", index, low=0, high=x.shape[0] - 1)
    lam = _lam(lam)
    big_m = float(np.max(np.linalg.norm(x, axis=1)))
    gap = separation(x)[index] - 2 * big_m * float(np.linalg.norm(xi - x[index]))
    with np.errstate(over="ignore"):
        eps = (x.shape[0] - 1) * math.exp(min(-lam * gap, 700.0))
    bound = 2 * eps * big_m
    if not math.isfinite(bound):
        raise ParameterError(f"patterns: the bound overflows float64 (M = {big_m:g}, "
                             f"lam Delta = {lam * gap:g})")
    return bound


def storage_capacity(N: int, lam: float, M: float = 1.0) -> float:
    """Largest ``K`` (real) such that ``K`` random patterns on the sphere of radius ``M`` in
    ``N`` dimensions meet Theorem 4 at their typical separation ``Delta = M^2 (1 - c_K)``,
    ``c_K = sqrt(1 - K^{-4/N})`` (module docstring; derived, not Ramsauer's Theorem 3
    constants). Returns 1.0 if not even two patterns pass.

    Parameters
    ----------
    N : int
        Dimension (>= 2).
    lam : float
        Inverse temperature (> 0).
    M : float
        Pattern norm (> 0).

    Returns
    -------
    float
        ``K_max``.
    """
    N = checks.integer("N", N, low=2)
    lam = _lam(lam)
    M = checks.positive("M", M)
    if not 1e-100 < lam * M * M < 1e100:
        raise ParameterError(f"M: lam M^2 = {lam * M * M:g} outside [1e-100, 1e100]")

    def margin(log_k):
        k = math.exp(log_k)
        c = math.sqrt(-math.expm1(-4 * log_k / N))
        return M * M * (1 - c) - 2 / (lam * k) - math.log(2 * (k - 1) * k * lam * M * M) / lam
    lo = math.log(2.0)
    if margin(lo) < 0:
        return 1.0
    hi = lo
    while margin(hi) >= 0:
        hi *= 2
        if hi > 700:
            raise ParameterError("lam: the capacity exceeds e^700 (lam M^2 too large)")
    return math.exp(optimize.brentq(margin, lo, hi, xtol=1e-12))


def jacobian_radius(state, patterns, lam: float) -> float:
    """Spectral radius of the update's Jacobian ``lam X^T (diag(p) - p p^T) X`` at ``state``
    (``p = softmax(lam X xi)``): below 1 the fixed point there is linearly stable."""
    x = _patterns(patterns)
    xi = _state(state, x.shape[1])
    lam = _lam(lam)
    p = _softmax(lam * (x @ xi))
    xc = x - p @ x
    cov = (xc * p[:, None]).T @ xc
    return float(lam * np.max(np.linalg.eigvalsh(cov)))


def global_average_onset(patterns, *, strict: bool = True) -> GlobalOnset:
    """``lam_c``: the inverse temperature at which the global-average fixed point (followed
    from ``lam -> 0``, where it is the pattern mean) loses linear stability, the onset of
    metastable subset averages. Brent's root of ``jacobian_radius - 1`` along the branch.
    For centred patterns the global average is 0 at every ``lam`` and ``lam_c =
    lam_small``; for uncentred ones the branch may bend into a single-pattern state without
    an instability (then :class:`ConvergenceError`).

    Parameters
    ----------
    patterns : array_like
        ``(K, N)`` patterns (``K >= 2``, not all equal).
    strict : bool
        Raise :class:`ConvergenceError` if the branch cannot be followed.

    Returns
    -------
    GlobalOnset
        ``lam_c`` and ``lam_small = 1/lambda_max(Cov)`` (uniform weights).
    """
    x = _patterns(patterns)
    if x.shape[0] < 2:
        raise ParameterError("patterns: need at least 2 patterns")
    xc = x - x.mean(axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        top = float(np.max(np.linalg.eigvalsh(xc.T @ xc / x.shape[0])))
    if not 1e-150 < top < 1e150:
        raise ParameterError(f"patterns: covariance edge {top!r} (all equal, or entries "
                             f"beyond 1e75): no onset computable")
    lam_small = 1.0 / top
    evals = [0]

    def radius(lam):
        evals[0] += 1
        fp = fixed_point(x.mean(axis=0), x, lam, strict=strict, steps=100_000, tol=1e-13)
        return jacobian_radius(fp.state, x, lam) - 1.0
    lo, hi = 0.25 * lam_small, lam_small
    while radius(hi) < 0:
        lo, hi = hi, 2 * hi
        if hi > 1e6 * lam_small:
            raise ConvergenceError("global_average_onset: the global-average branch does not "
                                   "lose stability below 1e6 lam_small (an imperfect "
                                   "bifurcation: centre the patterns)", iterations=evals[0])
    lam_c, info = optimize.brentq(radius, lo, hi, xtol=1e-12 * lam_small, full_output=True)
    return GlobalOnset(converged=bool(info.converged), iterations=evals[0],
                       residual=abs(radius(lam_c)), parameters={"K": x.shape[0]},
                       lam_c=float(lam_c), lam_small=lam_small)


def attention(queries, keys, values, d_k: int | None = None) -> np.ndarray:
    """Scaled dot-product attention ``softmax(Q K^T / sqrt(d_k)) V`` (one head; rows are
    tokens). With ``keys = values = X`` (the stored patterns) and ``queries = xi`` this is
    one modern-Hopfield update at ``lam = 1/sqrt(d_k)``.

    Parameters
    ----------
    queries : array_like
        ``(n_q, d_k)``.
    keys : array_like
        ``(n_k, d_k)``.
    values : array_like
        ``(n_k, d_v)``.
    d_k : int, optional
        Scaling dimension (default: the keys' width).

    Returns
    -------
    numpy.ndarray
        ``(n_q, d_v)``.
    """
    q = checks.finite_array("queries", queries, ndim=2)
    k = checks.finite_array("keys", keys, ndim=2)
    v = checks.finite_array("values", values, ndim=2)
    if q.shape[1] != k.shape[1]:
        raise ParameterError(f"keys: width {k.shape[1]} differs from the queries' {q.shape[1]}")
    if v.shape[0] != k.shape[0]:
        raise ParameterError(f"values: {v.shape[0]} rows, the keys have {k.shape[0]}")
    d_k = k.shape[1] if d_k is None else checks.integer("d_k", d_k, low=1)
    return _softmax(q @ k.T / math.sqrt(d_k)) @ v
