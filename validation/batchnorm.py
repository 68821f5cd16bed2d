"""Batch normalisation: the batch NNGP and the gradient growth per layer against finite
networks with batch statistics (:mod:`nnphys.theory.kernels.batchnorm`,
:mod:`nnphys.sim.batchnorm`).

* ``nngp_vs_ensemble``: ``Dense(n) -> BatchNorm -> Relu -> Dense(n) -> BatchNorm -> Abs ->
  Dense(READOUT)`` on a batch of eight inputs in R^8 (the NNGP by the Laplace method,
  exact; the NTK by Monte Carlo with 2^16 draws, error ~0.5%, below the ensemble's; a
  batch of 8 keeps the variance of ``1/|P h|^2`` finite); tolerance ``4 se + 2 |K| / n`` as for the other layer families
  (:mod:`._ensembles`), the O(1/n) finite-width shift.
* ``gradient_growth``: the factor ``lambda`` by which ``E|dL/dx_l|^2`` grows per layer
  (Yang et al. 2019, arXiv:1902.08129) for linear and ReLU BN networks with Gaussian
  weights, ``B = 8``, at growing widths. The theory is a Monte Carlo estimate too: its 4
  standard errors go into the bias, plus the finite-width correction, bounded by
  ``3 lambda / n`` (the measured deviation of the linear network is 1.4-2.6
  ``lambda / n`` for n = 64-512). Then the construction of Meterez et al. 2023
  (arXiv:2310.02012): linear, no mean subtraction, orthogonal weights, width = batch = 8:
  from an isometric batch the factor is at most 1 (a bound: a measured value below 1 is
  within it, recorded as ``bias = 1 - measured``), and from Gaussian inputs, once the
  isometry gap has decayed (80 layers of 240 left out at each end), the typical
  (geometric-mean) factor is 1 (with 40 of 120 left out it is still 1.0005 +- 0.0001: the
  gap decays slowly from a random batch of 8 in R^8).
"""

from __future__ import annotations

import numpy as np

from ..sim import batchnorm as sim_bn
from ..theory import kernels as nk
from ._ensembles import READOUT, nngp_comparisons
from .registry import compare, register


def _network(n):
    return nk.serial(nk.Dense(n, 1.3, 0.2), nk.BatchNorm(), nk.Relu(), nk.Dense(n, 1.1),
                     nk.BatchNorm(), nk.Abs(), nk.Dense(READOUT, 1.2, 0.1))


@register("batchnorm.nngp_vs_ensemble")
def nngp_vs_ensemble(quick: bool = False, seed: int = 0):
    """Empirical NNGP and NTK of sampled BN networks (batch statistics) vs the batch NNGP
    and NTK."""
    widths, samples = ((16, 64), 48) if quick else ((16, 64, 256), 200)
    x = np.random.default_rng(seed).standard_normal((8, 8))
    return nngp_comparisons("batchnorm.nngp_vs_ensemble", _network, x, widths, samples, seed,
                            bias_per_width=2.0)


@register("batchnorm.gradient_growth")
def gradient_growth(quick: bool = False, seed: int = 0):
    """Per-layer gradient growth of finite BN networks vs the mean-field rate, and the
    bounded gradients of the orthogonal construction."""
    widths, replicas = ((32, 128), 64) if quick else ((64, 256, 512), 256)
    batch, depth = 8, 16
    out = []
    for label, act in (("linear", None), ("relu", nk.Relu())):
        theory = nk.batchnorm_gradient_rate(batch, act, n_replicas=1 << 15, seed=seed)
        for n in widths:
            measured = sim_bn.gradient_growth(batch, n, depth, act, n_replicas=replicas,
                                              seed=seed + n)
            out.append(compare(f"batchnorm.gradient_growth[{label}]", "lambda", theory.mean,
                               measured, bias=4 * theory.stderr + 3 * theory.mean / n,
                               x=n, x_name="width", series=label))
    iso = np.sqrt(batch) * np.linalg.qr(np.random.default_rng(seed).standard_normal(
        (batch, batch)))[0]
    bound = nk.batchnorm_gradient_rate(batch, subtract_mean=False, weights="orthogonal",
                                       width=batch).mean
    for label, x0, skip, statistic in (("isometric batch", iso, 20, "mean"),
                                       ("Gaussian batch", None, 80, "log")):
        measured = sim_bn.gradient_growth(batch, batch, 240, subtract_mean=False,
                                          weights="orthogonal", n_replicas=replicas,
                                          skip=skip, statistic=statistic, seed=seed, x=x0)
        slack = max(bound - measured.mean, 0.0)
        out.append(compare("batchnorm.gradient_growth[orthogonal, width = batch]",
                           f"lambda ({label}, {statistic})", bound, measured, bias=slack))
    return out
