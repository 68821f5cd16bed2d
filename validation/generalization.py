"""Spectral learning curves (theory.generalization) against kernel ridge regression on
samples (sim.regression.kernel_ridge), and the training-data risk estimator against
held-out error, and the learning-curve exponent of local (convolutional) kernels.

Setups.
* **Power law, Gaussian design.** ``M = 400`` modes, ``lambda_i = i^{-1.5}``,
  ``v_i^2 = i^{-1}``, label noise 0.1; the exact population error of each fit.
* **ReLU NNGP and NTK on the sphere.** ``Dense(1) - Relu - Dense(1)`` on inputs uniform on
  ``S^{19}`` (``d = 20``), target ``f* = sum_k sqrt(c_k N(d,k)) P_k(x . u_k)`` with random
  directions ``u_k`` (zonal harmonics; ``E[P_k^2] = 1/N(d,k)``, so degree ``k`` carries
  power ``c_k``): ``c = (0, 1, 0.1, 0, 0.05)``, noise 1. At ridge 0 the theory has its
  double-descent peak at ``P ~ 230 = 1 + N(20,1) + N(20,2)`` (the first three degrees
  exhausted); the checks sit below, on and above it, and with a ridge that damps it. Test
  error on 1000 fresh points per draw.

Tolerances. The learning curve is the ``P -> infinity`` deterministic equivalent; the
simulation is a mean over independent draws of the training set (and of the test set and
target directions on the sphere) with its standard error from :func:`nnphys.stats.sample_mean`.
Each row allows ``4 SE + E (1/P + 1/|M - P|)`` (Gaussian design; the inverse-Wishart mean
``(P-1)/(P-M-1)`` against ``P/(P-M)`` beyond ``M``, ``O(1/P)`` below; plus ``1e-9 (E +
noise)`` for the rounding of an interpolating fit's train residual) or ``4 SE + 2 E/P``
on the sphere (the ``O(1/P)`` corrections, with a factor 2 for the non-Gaussian harmonics,
whose fourth moments exceed the Gaussian ones). The risk estimator is compared draw by draw
with the held-out noisy error (paired difference, its standard error), against 0 with the
same ``2 E/P`` allowance.

* **Local kernels** (Favero, Cagnetta & Wyart 2021, arXiv:2106.08619). Inputs uniform in
  ``[0, 1]^d`` as ``d`` pixels on a ring; student the NTK of ``Conv(1, (s,), CIRCULAR,
  b_std=1) - Relu - Flatten - Dense(1)`` (smoothness ``alpha_s = 1``), teacher a Gaussian
  field with the same kernel (``t = s``, ``alpha_t = 1``), ridgeless, noiseless; test error
  on 400 fresh points per draw for ``P = 32 .. 256`` (quick) or ``512``. The exponent is
  fitted by :func:`nnphys.stats.fit_power_law` over the draws (its bootstrap interval sets the
  standard error) and compared with ``beta = 1/s``
  (:func:`~nnphys.theory.generalization.local_exponent`), for two ``d`` at ``s = 2`` (the
  exponent must not depend on ``d``) and for ``s = 3``. The stated bias is the gap between
  ``beta`` and the fitted exponent of the idealised spectral model
  (:func:`~nnphys.theory.generalization.local_learning_curve`) over the same range of
  ``P / d``: the pre-asymptotic drift of the local slope.
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.regression import gaussian_design, kernel_ridge
from ..stats import Estimate, fit_power_law, sample_mean
from ..theory import kernels as nk
from ..theory.generalization import (gegenbauer, kernel_alignment_risk, learning_curve,
                                     local_exponent, local_learning_curve, multiplicity,
                                     spectral_learning_curve)
from .registry import compare, register

_SIGMA = 4.0
_ROUNDING = 1e-9    # an interpolating fit's train residual is rounding, ~cond(K) eps |y|^2
_D = 20
_POWERS = np.array([0.0, 1.0, 0.1, 0.0, 0.05])
_NOISE = 1.0
_N_TEST = 1000
_NET = nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1))


@register("generalization.power_law_krr")
def power_law_krr(quick: bool = False, seed: int = 0):
    """Gaussian design with a power-law spectrum, below and beyond ``M``, ridge 0 and 1e-3:
    test and train error."""
    M, noise = 400, 0.1
    i = np.arange(1, M + 1.0)
    lam, v = i ** -1.5, i ** -0.5
    draws = 12 if quick else 60
    out = []
    for j, P in enumerate((25, 100, 800) if quick else (25, 100, 300, 800)):
        ridges = (0.0, 1e-3)
        sim = gaussian_design(lam, v, P, ridge=ridges, noise=noise, n_replicas=draws,
                              seed=seed * 7919 + j)
        for r, ridge in enumerate(ridges):
            th = spectral_learning_curve(lam, v ** 2, P, ridge=ridge, noise=noise)
            rel = 1 / P + 1 / abs(M - P)
            for what, est, value in (("test error", sim.test_error, th.test_error[0]),
                                     ("train error", sim.train_error, th.train_error[0])):
                floor = _ROUNDING * (th.test_error[0] + noise)
                out.append(compare(f"generalization.power_law_krr[P={P},ridge={ridge:g}]",
                                   what, value, est[r], sigmas=_SIGMA,
                                   bias=rel * value + floor))
    return out


def _sphere(rng, n):
    x = rng.standard_normal((n, _D))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _target(x, directions):
    out = np.zeros(x.shape[0])
    for k, (c, u) in enumerate(zip(_POWERS, directions)):
        if c > 0:
            out += math.sqrt(c * multiplicity(_D, k)) * gegenbauer(_D, k, x @ u)[k]
    return out


def sphere_draws(P, get, ridges, draws, seed):
    """Per draw: held-out clean test error at each ridge and the KARE at each ridge > 0."""
    rng = np.random.default_rng(seed)
    errors, kare = [], []
    for _ in range(draws):
        directions = _sphere(rng, _POWERS.size)
        x, xt = _sphere(rng, P), _sphere(rng, _N_TEST)
        y = _target(x, directions) + math.sqrt(_NOISE) * rng.standard_normal(P)
        K = _NET.kernel(x, get=get)
        alpha = kernel_ridge(K, y, ridges)
        pred = _NET.kernel(xt, x, get=get) @ alpha.T
        errors.append(((pred - _target(xt, directions)[:, None]) ** 2).mean(0))
        kare.append([kernel_alignment_risk(K, y, r) if r > 0 else np.nan for r in ridges])
    return np.array(errors), np.array(kare)


@register("generalization.sphere_relu_krr")
def sphere_relu_krr(quick: bool = False, seed: int = 0):
    """ReLU NNGP and NTK regression on the sphere around the ridgeless double-descent peak
    (``P = 60, 230, 500``) and with ridge ``1e-3`` (kernel scale ``1/(2d)``)."""
    draws = 8 if quick else 30
    ridges = (0.0, 1e-3)
    out = []
    for g, get in enumerate(("nngp", "ntk")):
        for j, P in enumerate((60, 230) if quick else (60, 230, 500)):
            errors, _ = sphere_draws(P, get, ridges, draws, seed * 7919 + 31 * g + j)
            est = sample_mean(errors)
            for r, ridge in enumerate(ridges):
                th = learning_curve(_NET, _D, _POWERS, P=P, ridge=ridge, noise=_NOISE,
                                    get=get).test_error[0]
                out.append(compare(f"generalization.sphere_relu_krr[{get},P={P},"
                                   f"ridge={ridge:g}]", "test error", th, est[r],
                                   sigmas=_SIGMA, bias=2 * th / P))
    return out


@register("generalization.risk_estimator")
def risk_estimator(quick: bool = False, seed: int = 0):
    """KARE/GCV from the training set against the held-out noisy error (NTK on the sphere,
    ridge 1e-3), draw by draw."""
    draws = 8 if quick else 30
    out = []
    for j, P in enumerate((60, 230)):
        errors, kare = sphere_draws(P, "ntk", (1e-3,), draws, seed * 7919 + 101 + j)
        held = errors[:, 0] + _NOISE
        diff = sample_mean(kare[:, 0] - held)
        out.append(compare(f"generalization.risk_estimator[ntk,P={P},ridge=0.001]",
                           "KARE - held-out MSE", 0.0, diff, sigmas=_SIGMA,
                           bias=2 * float(held.mean()) / P))
    return out


def _local_net(s):
    return nk.serial(nk.Conv(1, (s,), padding="CIRCULAR", b_std=1.0), nk.Relu(), nk.Flatten(),
                     nk.Dense(1))


def local_draws(s, d, P, draws, seed, n_test=400):
    """``(draws, len(P))`` ridgeless test errors of the local-kernel teacher-student setup
    (module docstring): one Gram matrix of train and test points per draw, the teacher
    sampled from it (``U sqrt(w) z`` of its eigendecomposition, exact for a PSD matrix),
    the nested training sets its first ``P`` points."""
    rng = np.random.default_rng(seed)
    net, n = _local_net(s), int(max(P)) + n_test
    out = np.zeros((draws, len(P)))
    for r in range(draws):
        K = net.kernel(rng.random((n, d, 1)), get="ntk")
        w, U = np.linalg.eigh(K)
        y = U @ (np.sqrt(np.maximum(w, 0.0)) * rng.standard_normal(n))
        for j, p in enumerate(P):
            alpha = kernel_ridge(K[:p, :p], y[:p])[0]
            out[r, j] = np.mean((K[-n_test:, :p] @ alpha - y[-n_test:]) ** 2)
    return out


@register("generalization.local_kernel_exponent")
def local_kernel_exponent(quick: bool = False, seed: int = 0):
    """Measured learning-curve exponent of a local ReLU CNTK (filter ``s``) on a local
    teacher against ``beta = 1/s``, at two input dimensions."""
    P = [32, 64, 128, 256] if quick else [32, 64, 128, 256, 512]
    draws = 4 if quick else 10
    out = []
    for j, (s, d) in enumerate(((2, 8), (2, 12), (3, 8))):
        errors = local_draws(s, d, P, draws, seed * 7919 + 53 * j)
        fit = fit_power_law(P, per_replica=errors, seed=seed)
        beta = local_exponent(s)
        model = fit_power_law(np.array(P) / d, local_learning_curve(s, np.array(P) / d)
                              .test_error)
        out.append(compare(f"generalization.local_kernel_exponent[s={s},d={d}]",
                           "exponent beta", beta,
                           Estimate(mean=fit.exponent, stderr=fit.stderr, n_eff=draws),
                           sigmas=_SIGMA, bias=abs(model.exponent - beta)))
    return out
