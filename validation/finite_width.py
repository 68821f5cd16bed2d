"""PDLT's 1/n theory against ensembles of finite-width networks.

Simulation: :func:`nnphys.sim.preactivations.conditional_kernels` (exact reduced sampler,
Gaussian weights) and :func:`~nnphys.sim.preactivations.full_ensemble` (explicit
orthogonal matrices). Statistical errors are standard errors over independent networks
(delta method), carried by the simulation's :class:`~nnphys.stats.Estimate`; each
comparison (``compare``) allows 4 of them (a false alarm is a ~1e-4 event per comparison)
plus the stated systematic error of the method (``bias``). Critical scales: ReLU
``W_std = sqrt 2`` (``C_W = 2``), tanh ``W_std = 1``.

* ``relu_kurtosis_all_orders``: ReLU at criticality, widths 32..256, depths up to 20, vs
  ``3[(1 + 5/n)^(l-1) - 1]`` -- exact, so no systematic allowance.
* ``leading_order_extrapolation``: ``n * kappa`` at depth 10 over widths 32..256 fitted by
  ``a + b/n + c/n^2`` (weighted least squares, :func:`nnphys.stats.extrapolate`); ``a`` vs
  PDLT's ``3 V/K^2``. For ReLU the
  truncation bias of the fit is known exactly (the same fit applied to the all-orders
  formula) and is added to the tolerance; for tanh the O(1/n^3) terms are ~100x smaller
  than the statistical error (its 1/n coefficient is 25x smaller than ReLU's).
* ``k1_shift``: ``n (E[z^2] - K)`` of tanh at depth 10, extrapolated linearly in ``1/n``,
  vs ``K1``.
* ``orthogonal_fluctuations``: tanh at ``C_W = 1`` with orthogonal weights keeps the
  kurtosis of the first layer, ``-6/(n + 2)`` (uniform on the sphere), at every depth (Day,
  Kahn & Roberts 2023, arXiv:2310.07765), while Gaussian weights follow PDLT's growth.
"""

from __future__ import annotations

import math

import numpy as np

from ..models import network as arch
from ..sim import preactivations as pa
from ..stats import extrapolate, sample_mean
from ..theory import finite_width as fw
from .registry import compare, register, scaled

_SIGMA = 4.0
_RELU_W_STD = math.sqrt(2.0)        # critical ReLU: C_W = 2


@register("finite_width.relu_kurtosis_all_orders")
def relu_kurtosis_all_orders(quick: bool = False, seed: int = 0):
    """Excess kurtosis of critical ReLU preactivations (C_W = 2, C_b = 0) vs the exact
    ``3[(1 + 5/n)^(l-1) - 1]`` at every (width, depth); leading order is 1.9x too small at
    n = 32, l = 10."""
    widths = (32, 64) if quick else (32, 64, 128, 256)
    depths = (2, 5, 10) if quick else (2, 5, 10, 20)
    n_replicas = scaled(20_000 if quick else 200_000)
    out = []
    for k, n in enumerate(widths):
        # S_l is a product of l - 1 independent factors of relative variance 5/n, so S^2
        # is heavy-tailed: its sampling error depends on E[S^8], and E[S^8]/E[S^4]^2
        # (1e6 at n = 32, l = 10; 1e13 at n = 32, l = 20) exceeds the ensemble size, which
        # makes the sample standard error optimistic (by ~1.7x at (l-1)/n = 0.3, from the
        # exact moments). Pairs beyond (l - 1)/n = 0.3 are therefore not compared.
        usable = [l for l in depths if (l - 1) / n <= 0.3]
        s = pa.conditional_kernels(arch.Relu(), max(usable), n, n_replicas, _RELU_W_STD, 0.0,
                                   1.0, seed=seed + k)
        kappa = pa.kurtosis(s)
        for l in usable:
            theory = float(fw.scale_invariant_excess_kurtosis(l, n))
            out.append(compare("finite_width.relu_kurtosis_all_orders", f"kappa(n={n},l={l})",
                               theory, kappa[l - 1], sigmas=_SIGMA, x=l, x_name="depth l",
                               series=f"n={n}"))
    return out


def _n_kappa(activation, W_std, widths, depth, n_replicas, seed):
    """``n kappa`` at the last layer, one Estimate per width."""
    return [pa.kurtosis(pa.conditional_kernels(activation, depth, n, n_replicas, W_std, 0.0,
                                               1.0, seed=seed + k))[-1].scaled(n)
            for k, n in enumerate(widths)]


@register("finite_width.leading_order_extrapolation")
def leading_order_extrapolation(quick: bool = False, seed: int = 0):
    """``lim n kappa`` (fit ``a + b/n + c/n^2`` over widths 32..256, depth 10) vs PDLT's
    ``3 V^(10)/K^2``: 135 for ReLU, 16.5706 for tanh at criticality."""
    depth = 10
    widths = np.array([32, 64, 128, 256])
    n_replicas = scaled(30_000 if quick else 300_000)
    out = []
    for name, act, W_std in (("relu", arch.Relu(), _RELU_W_STD), ("tanh", arch.Tanh(), 1.0)):
        rec = fw.recursion(act, depth, W_std, 0.0, 1.0)
        theory = 3 * rec.V[-1] / rec.K[-1] ** 2
        values = _n_kappa(act, W_std, widths, depth, n_replicas, seed)
        limit = extrapolate(widths, values, order=2)
        bias = 0.0
        if name == "relu":
            exact = widths * fw.scale_invariant_excess_kurtosis(depth, widths)
            errors = [float(v.stderr) for v in values]
            bias = abs(extrapolate(widths, exact, errors, order=2).mean - theory)
        out.append(compare("finite_width.leading_order_extrapolation", f"{name}: lim n*kappa",
                           theory, limit, sigmas=_SIGMA, bias=bias))
    return out


@register("finite_width.k1_shift")
def k1_shift(quick: bool = False, seed: int = 0):
    """``n (E z^2 - K)`` of critical tanh at depth 10, extrapolated linearly in 1/n over
    widths 32..256, vs the 1/n shift ``K1^(10) = -0.10713``."""
    depth = 10
    widths = np.array([32, 64, 128, 256])
    n_replicas = scaled(30_000 if quick else 300_000)
    rec = fw.recursion(arch.Tanh(), depth, 1.0, 0.0, 1.0)
    values, errors = [], []
    for k, n in enumerate(widths):
        s = pa.conditional_kernels(arch.Tanh(), depth, n, n_replicas, 1.0, 0.0, 1.0,
                                   seed=seed + 100 + k)
        second = pa.moments(s)[-1]
        values.append(n * (second.mean - rec.K[-1]))
        errors.append(n * second.stderr)
    limit = extrapolate(widths, values, errors, order=1)
    return compare("finite_width.k1_shift", "tanh: lim n(E z^2 - K), l=10", rec.K1[-1], limit,
                   sigmas=_SIGMA)


@register("finite_width.orthogonal_fluctuations")
def orthogonal_fluctuations(quick: bool = False, seed: int = 0):
    """tanh, C_W = 1, width 32: with orthogonal weights the excess kurtosis stays at the
    sphere value -6/(n+2) at depths 10..40 (Day, Kahn & Roberts 2023); with Gaussian weights
    at depth 5 it follows PDLT's 3 V/(n K^2) (tolerance adds the O((l/n)^2) term, bounded
    by the leading order times l/n)."""
    width = 32
    depth = 20 if quick else 40
    n_replicas = scaled(2_000 if quick else 12_000)
    x = np.ones((1, width))            # |x|^2 / n0 = 1 = K^(1) / C_W
    out = []
    ens = pa.full_ensemble(arch.Tanh(), x, depth, width, n_replicas, 1.0, 0.0,
                           weights="orthogonal", seed=seed)
    kappa = pa.sample_kurtosis(ens)
    sphere = -6.0 / (width + 2)
    for l in (10, 20, 40):
        if l <= depth:
            out.append(compare("finite_width.orthogonal_fluctuations",
                               f"orthogonal kappa(l={l})", sphere, kappa[l - 1], sigmas=_SIGMA,
                               x=l, x_name="depth l", series="orthogonal"))
    ens = pa.full_ensemble(arch.Tanh(), x, 5, width, n_replicas, 1.0, 0.0,
                           weights="gaussian", seed=seed + 1)
    kappa = pa.sample_kurtosis(ens)
    theory = fw.recursion(arch.Tanh(), 5, 1.0, 0.0, 1.0).excess_kurtosis(width)[-1]
    out.append(compare("finite_width.orthogonal_fluctuations", "gaussian kappa(l=5)", theory,
                       kappa[-1], sigmas=_SIGMA, bias=abs(theory) * 5 / width))
    return out


@register("finite_width.two_input_vertex")
def two_input_vertex(quick: bool = False, seed: int = 0):
    """Two inputs (K^(1) = [[1, 0.5], [0.5, 1.2]]), tanh at C_W = W_std^2 = 1.2,
    C_b = b_std^2 = 0.05, depth 5:
    ``n Cov(S_ab, S_cd)`` (the connected four-point function of two different neurons)
    vs ``V_(ab)(cd)``, and ``n (E S_01 - K_01)`` vs ``K1_01``, at width 128. Tolerance adds
    the O(1/n) correction, bounded by ``l/n`` times the quantity's scale."""
    width, depth = 128, 5
    n_replicas = scaled(20_000 if quick else 200_000)
    k0 = np.array([[1.0, 0.5], [0.5, 1.2]])
    W_std, b_std = math.sqrt(1.2), math.sqrt(0.05)
    rec = fw.recursion(arch.Tanh(), depth, W_std, b_std, k0)
    s = pa.conditional_kernels(arch.Tanh(), depth, width, n_replicas, W_std, b_std, k0,
                               seed=seed)[:, -1]
    out = []
    for (a, b, c, d) in ((0, 0, 0, 0), (0, 0, 1, 1), (0, 1, 0, 1), (0, 0, 0, 1)):
        x, y = s[:, a, b], s[:, c, d]
        # unbiased sample covariance: the mean of the centred products times n / (n - 1)
        products = (x - x.mean()) * (y - y.mean())
        measured = sample_mean(products).scaled(width * n_replicas / (n_replicas - 1))
        theory = rec.V[-1, a, b, c, d]
        scale = math.sqrt(abs(rec.V[-1, a, b, a, b] * rec.V[-1, c, d, c, d]))
        out.append(compare("finite_width.two_input_vertex", f"n Cov(S_{a}{b}, S_{c}{d})",
                           theory, measured, sigmas=_SIGMA, bias=depth / width * scale))
    shift = sample_mean(width * (s[:, 0, 1] - rec.K[-1, 0, 1]))
    out.append(compare("finite_width.two_input_vertex", "n (E S_01 - K_01)", rec.K1[-1, 0, 1],
                       shift, sigmas=_SIGMA, bias=depth / width * abs(rec.K1[-1, 0, 1])))
    return out
