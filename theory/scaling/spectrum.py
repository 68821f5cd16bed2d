"""Spectral measures of the power-law random features (PLRF) problem: exact for a drawn
embedding, and the large-``d`` deterministic equivalent of Paquette, Paquette, Xiao &
Pennington ("4+3 Phases of Compute-Optimal Neural Scaling Laws", NeurIPS 2024,
arXiv:2405.15074, Sec. 2.2 and App. E).

**Problem** (the spec :class:`nnphys.models.regression.PLRFModel`). ``D = diag(j^{-2 alpha})``
(``j = 1..v``), target coefficients ``c_j = j^{-alpha - beta}`` (``c = D^{1/2} b``), embedding ``W in R^{v x d}`` iid ``N(0, 1/d)``, ``K = W^T D W`` and
``H = D^{1/2} W W^T D^{1/2}`` (same non-zero spectrum). One-pass SGD needs two measures:

* ``mu_K``: the eigenvalues of ``K`` (``d`` of them) - the SGD-noise kernel
  ``K(t) = gamma^2 B int x^2 g(x)^t dmu_K``;
* ``mu_F``: the spectral measure of ``H`` seen from ``c`` - the forcing
  ``F(t) = 1/2 int g(x)^t dmu_F``, with an atom at ``x = 0`` (the part of the target no
  ``d``-dimensional embedding represents; ``F(infinity)``, the capacity limit ``2 F_0``).

**Deterministic equivalent.** With ``m(z)`` the solution of (the paper's fixed point, with
``Im m`` of the sign that makes ``-m/z`` a Stieltjes transform)::

    m + (1/d) sum_j D_j m / (D_j m - z) = 1,

``(1/d) Tr (K - z)^{-1} = -m(z)/z`` (Silverstein's equation for ``K``) and
``<c, (H - z)^{-1} c> = sum_j c_j^2 / (D_j m(z) - z)``. The zero atom of ``mu_F`` is
``sum_j c_j^2 / (1 + s_0 D_j)`` where ``s_0 = -m/z`` at ``z = 0`` solves
``sum_j s_0 D_j / (1 + s_0 D_j) = d`` (the same ``tau`` as in the Bordelon et al. and
Maloney et al. models: :func:`nnphys.theory.spectral.tau_fixed_point`). Positive-``x`` parts are discretised into log-spaced bins; the mass
and mean of each bin are *exact* contour integrals of the Stieltjes transforms along a
half-circle in the upper half plane joining the bin's ends,

    mu([a, b]) = (1/pi) Im int_{arc a -> b} G(z) dz,

so no smoothing ``z = x + i eta`` is involved; Gauss-Legendre in the angle converges fast.
Each bin becomes one node at the ``mu_K``-mean of the bin, carrying both measures' masses.
The sums over ``j`` are exact up to ``j = 1024`` and a Gauss-Legendre integral in ``log j``
beyond (the summand is smooth in ``j`` there; midpoint-rule error ``~ (alpha/j)^2``).
The sum rules ``mu_K(total) = d`` and ``mu_F(total) = |c|^2`` measure the discretisation and
are reported.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ... import checks
from ...errors import ConvergenceError, ParameterError
from ...models.regression import PLRFModel
from ..spectral import tau_fixed_point
from . import _spectrum

__all__ = ["SpectralMeasure", "deterministic_measure", "empirical_measure", "draw_embedding"]

_HEAD = 256
_TAIL_NODES = 64
_ARC_NODES = 8
_NEWTON_TOL = 1e-12
_NEWTON_MAX = 60
_STAGES = 24
BINS_PER_EFOLD = 60        # default resolution: bins per factor e in x
_EMPTY_BIN = 1e-10          # bins with less mu_K mass (relative to d) are gaps


@dataclasses.dataclass(frozen=True)
class SpectralMeasure:
    """Nodes ``x_i > 0`` with the masses of ``mu_K`` and ``mu_F`` on them, ``mu_F``'s atom at 0,
    and the sum-rule residuals of the discretisation (0 for an exact, drawn spectrum)."""

    nodes: np.ndarray
    kernel_mass: np.ndarray
    forcing_mass: np.ndarray
    zero_mass: float
    target_norm: float
    d: int
    kernel_sum_error: float = 0.0
    forcing_sum_error: float = 0.0

    @property
    def trace(self) -> float:
        """``Tr K = int x dmu_K``."""
        return float(self.nodes @ self.kernel_mass)


def _check(alpha, beta, d, v):
    """The checked ``(alpha, beta, d, v)``."""
    alpha = checks.positive("alpha", alpha)
    beta = checks.real("beta", beta)
    d = checks.integer("d", d, low=1, high=checks.MEMORY_LIMIT)
    v = checks.integer("v", v, low=1, high=checks.MEMORY_LIMIT)
    if v <= d:
        raise ParameterError(f"v: must be an integer > d (got v = {v}, d = {d})")
    return alpha, beta, d, v


def _j_quadrature(v: int):
    """Nodes and weights reproducing ``sum_{j=1}^v f(j)``: exact head, midpoint-rule integral
    in ``log j`` for the tail."""
    head = np.arange(1, min(v, _HEAD) + 1, dtype=float)
    if v <= _HEAD:
        return head, np.ones_like(head)
    y, w = np.polynomial.legendre.leggauss(_TAIL_NODES)
    lo, hi = np.log(_HEAD + 0.5), np.log(v + 0.5)
    y = 0.5 * (hi - lo) * (y + 1) + lo
    j = np.exp(y)
    return np.concatenate([head, j]), np.concatenate([np.ones_like(head), 0.5 * (hi - lo) * w * j])


class _Resolvent:
    """``m(z)`` for the PLRF deterministic equivalent, vectorised Newton."""

    def __init__(self, alpha, beta, d, v):
        model = PLRFModel(alpha, beta, d, v)
        j, w = _j_quadrature(int(v))
        self.D = model.data_variance(j)
        self.c2w = w * self.D * model.target(j) ** 2      # c_j^2 times quadrature weight
        self.w = w
        self.wd = w / d                                   # (1/d) weight
        self.d = d

    def residual(self, m, z):
        """``phi(m) = m - 1 + (1/d) sum_j w_j D_j m / (D_j m - z)`` and ``dphi/dm``
        (compiled: :func:`._spectrum.resolvent_residual`)."""
        m = np.ascontiguousarray(m, dtype=complex)
        z = np.ascontiguousarray(z, dtype=complex)
        return _spectrum.resolvent_residual(self.D, self.wd, m, z, np.empty_like(m),
                                            np.empty_like(m))

    def solve(self, z, m0):
        """Newton from ``m0`` (a nearby solution), damped so that no step exceeds half of
        ``|m|`` (keeps the iterate on the branch it starts on)."""
        m = np.array(m0, dtype=complex)
        todo = np.arange(m.size)
        for _ in range(_NEWTON_MAX):
            phi, dphi = self.residual(m[todo], z[todo])
            done = np.abs(phi) < _NEWTON_TOL
            todo, phi, dphi = todo[~done], phi[~done], dphi[~done]
            if todo.size == 0:
                return m
            step = phi / dphi
            scale = np.minimum(1.0, 0.5 * np.abs(m[todo]) / np.maximum(np.abs(step), 1e-300))
            m[todo] -= scale * step
        raise ConvergenceError(f"PLRF resolvent: Newton did not converge at {todo.size} points "
                               f"(|residual| {np.max(np.abs(phi)):.2e})")

    def forcing(self, m, z):
        """``sum_j c_j^2 / (D_j m - z)`` (compiled: :func:`._spectrum.resolvent_forcing`)."""
        m = np.ascontiguousarray(m, dtype=complex)
        z = np.ascontiguousarray(z, dtype=complex)
        return _spectrum.resolvent_forcing(self.D, self.c2w, m, z, np.empty_like(m))

    def s0(self):
        """``s_0 = lim_{z -> 0} -m/z``: ``sum_j w_j s D_j/(1 + s D_j) = d`` (the tau fixed
        point with the quadrature weights as multiplicities)."""
        return float(tau_fixed_point(self.D, float(self.d), weights=self.w).tau)


def deterministic_measure(alpha: float, beta: float, d: int, v: int,
                          bins_per_efold: int = BINS_PER_EFOLD) -> SpectralMeasure:
    """The deterministic-equivalent measures ``mu_K``, ``mu_F`` of the PLRF problem.

    Args:
        alpha, beta: data and target complexity.
        d: parameters.
        v: data dimension (``v > d``).
        bins_per_efold: bins per factor ``e`` in ``x`` (relative bin width ``1/bins``).
    """
    alpha, beta, d, v = _check(alpha, beta, d, v)
    bins_per_efold = checks.integer("bins_per_efold", bins_per_efold, low=1, high=10 ** 4)
    return _deterministic_measure(alpha, beta, d, v, bins_per_efold)


@functools.lru_cache(maxsize=32)
def _deterministic_measure(alpha, beta, d, v, bins_per_efold) -> SpectralMeasure:
    """:func:`deterministic_measure` on checked arguments (cached)."""
    res = _Resolvent(alpha, beta, int(d), int(v))
    s0 = res.s0()
    c2 = float(np.sum(res.c2w))
    zero = float(np.sum(res.c2w / (1.0 + s0 * res.D)))
    x_lo = 0.99 / (d * s0)                      # lambda_min >= 1/(d s0): no mass below
    x_hi = 1.5 * (np.sqrt(res.D[0]) + np.sqrt(np.sum(res.D * res.wd))) ** 2
    n_bins = int(np.ceil(np.log(x_hi / x_lo) * bins_per_efold))
    edges = np.geomspace(x_hi, x_lo, n_bins + 1)
    centre = 0.5 * (edges[:-1] + edges[1:])
    radius = 0.5 * (edges[:-1] - edges[1:])
    # apexes: continuation in the height from far above the spectrum
    apex = centre + 1j * radius
    m = np.ones(1, dtype=complex)        # first apex: continuation down from far above
    for h in np.geomspace(10 * x_hi, radius[0], _STAGES):
        m = res.solve(np.array([centre[0] + 1j * h]), m)
    m = np.repeat(m, n_bins)
    for i in range(1, n_bins):           # each apex from its neighbour's solution
        m[i:i + 1] = res.solve(apex[i:i + 1], m[i - 1:i])
    m = res.solve(apex, m)
    theta, wt = np.polynomial.legendre.leggauss(_ARC_NODES)
    theta = 0.5 * np.pi * (theta + 1)                  # (0, pi)
    wt = 0.5 * np.pi * wt
    half = _ARC_NODES // 2
    kernel0 = np.zeros(n_bins)
    kernel1 = np.zeros(n_bins)
    forcing0 = np.zeros(n_bins)
    for side in (range(half, _ARC_NODES), range(half - 1, -1, -1)):
        mm = m.copy()
        for k in side:
            z = centre + radius * np.exp(1j * theta[k])
            mm = res.solve(z, mm)
            dz = 1j * radius * np.exp(1j * theta[k]) * wt[k]
            gk = -d * mm / z                             # Tr (K - z)^{-1}
            kernel0 -= np.imag(gk * dz) / np.pi
            kernel1 -= np.imag(z * gk * dz) / np.pi
            forcing0 -= np.imag(res.forcing(mm, z) * dz) / np.pi
    keep = kernel0 > _EMPTY_BIN * d
    # a positive measure's bin mean lies in the bin: clip quadrature noise of near-empty bins
    nodes = np.clip(kernel1[keep] / kernel0[keep], edges[1:][keep], edges[:-1][keep])
    kmass = kernel0[keep]
    fmass = np.clip(forcing0[keep], 0.0, None)
    dropped_f = float(np.sum(np.abs(forcing0[~keep])))
    ksum_err = abs(kmass.sum() - d) / d
    fsum_err = (abs(fmass.sum() + zero - c2) + dropped_f) / c2
    if not (np.all(np.isfinite(nodes)) and np.all(nodes > 0)):
        raise ConvergenceError("PLRF deterministic equivalent: bin means are not positive")
    return SpectralMeasure(nodes=nodes, kernel_mass=kmass, forcing_mass=fmass, zero_mass=zero,
                           target_norm=c2, d=int(d), kernel_sum_error=float(ksum_err),
                           forcing_sum_error=float(fsum_err))


def draw_embedding(d: int, v: int, seed=None) -> np.ndarray:
    """``W in R^{v x d}`` with iid ``N(0, 1/d)`` entries."""
    d, v = checks.integer("d", d, low=1), checks.integer("v", v, low=1)
    checks.work("v * d", float(v) * d, checks.MEMORY_LIMIT, what="embedding entries")
    rng = np.random.default_rng(checks.seed(seed))
    return rng.standard_normal((v, d)) / np.sqrt(d)


def empirical_measure(alpha: float, beta: float, W: np.ndarray) -> SpectralMeasure:
    """The exact measures for a drawn embedding ``W`` (``v x d``): nodes the eigenvalues
    ``lambda_i`` of ``K = W^T D W``, ``mu_K`` mass 1 each, ``mu_F`` mass
    ``lambda_i (U^T theta*)_i^2`` with ``theta* = K^{-1} W^T D b``, zero atom
    ``sigma^2 = |c|^2 - theta*^T K theta*``."""
    W = checks.finite_array("W", W)
    if W.ndim != 2 or W.shape[0] <= W.shape[1]:
        raise ParameterError("W: must be a v x d matrix with v > d")
    v, d = W.shape
    alpha, beta, d, v = _check(alpha, beta, d, v)
    model = PLRFModel(alpha, beta, d, v)
    j = np.arange(1, v + 1, dtype=float)
    sqrt_d = np.sqrt(model.data_variance(j))
    c = sqrt_d * model.target(j)
    A = sqrt_d[:, None] * W                           # D^{1/2} W
    with np.errstate(over="ignore", invalid="ignore"):     # an overflow is refused below
        K = A.T @ A
    if not np.all(np.isfinite(K)):
        raise ParameterError("W: K = W^T D W overflows float64")
    lam, U = np.linalg.eigh(K)
    if lam[0] <= 0:
        raise ParameterError("W: K = W^T D W is singular")
    proj = U.T @ (A.T @ c)                            # = Lambda U^T theta*
    fmass = proj ** 2 / lam                           # lambda (U^T theta*)^2
    c2 = float(c @ c)
    zero = max(c2 - float(fmass.sum()), 0.0)
    return SpectralMeasure(nodes=lam, kernel_mass=np.ones(d), forcing_mass=fmass,
                           zero_mass=zero, target_norm=c2, d=d)
