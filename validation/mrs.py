"""The Maloney-Roberts-Sully model: the deterministic equivalent (theory.scaling.mrs) against
exact random-feature ridge(less) regression (sim.regression.mrs, population test loss).

Tolerances.
* **Test loss.** ``|L_sim - L_theory| <= 4 SE + e_fs L_theory``: ``SE`` the seed-to-seed
  standard error of the mean; ``e_fs = 1/n + 1/|m - n|`` (``n = min(N, P)``,
  ``m = max(N, P)``; the second term absent for ``N = P``) the stated finite-size error of the
  equivalent, whose two leading corrections are the projection residual's ``O(1/N)`` bias
  (measured ``~ 0.5/N`` at ``alpha = 1``) and the inverse-Wishart mean, exactly
  ``(P-1)/(P-N-1)`` against the equivalent's ``P/(P-N)`` for ``N < P`` (relative
  ``1/(P-N-1) - 1/P <= 1/|m - n|``). Beyond ``M`` (``N, P > M``, label noise) the loss is
  ``noise M/(P - M)`` against the exact ``noise M/(P - M - 1)``, also inside ``e_fs``.
* **Exponent.** The slope of ``log L`` vs ``log n`` along ``N = n``, ``P = 4n`` is fitted by
  weighted least squares (:func:`nnphys.stats.fit_power_law`, weights from the SEs; the
  slope's standard error inflated by ``sqrt(chi2/dof)`` when above 1). It is compared with ``-alpha`` within 3 standard errors
  plus the pre-asymptotic bias: the same fit applied to the deterministic equivalent at the
  same points, minus ``-alpha`` (the ``(1 + 1/(2n))^{-(1+alpha)}`` discreteness and the finite
  ``M``). A second row compares the simulated slope with the equivalent's fitted slope
  (tolerance 3 SE + the finite-size drift ``e_fs`` across the range).
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.regression import mrs_regression
from ..stats import Estimate, fit_power_law
from ..theory.scaling import mrs
from .registry import compare, register

_SIGMA = 4.0
ALPHA = 1.0


def _grid(quick: bool):
    """(N, P, ridges, noise, M) cases and the number of draws."""
    if quick:
        return ([(40, 160, (0.0, 1e-3), 0.0, 200), (160, 40, (0.0, 1e-3), 0.0, 200),
                 (80, 80, (1e-4, 1e-2), 0.0, 200), (60, 240, (0.0,), 0.1, 200),
                 (300, 400, (0.0,), 0.1, 200)], 40)
    return ([(100, 400, (0.0, 1e-4, 1e-2), 0.0, 800), (400, 100, (0.0, 1e-4, 1e-2), 0.0, 800),
             (150, 900, (0.0, 1e-3), 0.0, 800), (900, 150, (0.0, 1e-3), 0.0, 800),
             (250, 250, (1e-5, 1e-3), 0.0, 800), (150, 600, (0.0, 1e-3), 0.1, 800),
             (600, 150, (0.0, 1e-3), 0.1, 800), (500, 700, (0.0,), 0.1, 300)], 50)


def _finite_size(N, P):
    n, m = min(N, P), max(N, P)
    return 1.0 / n + (1.0 / (m - n) if m > n else 0.0)


@register("scaling.mrs_test_loss")
def test_loss(quick: bool = False, seed: int = 0):
    """Test loss on a grid of ``(N, P)`` (``N < P``, ``N > P``, ``N = P`` with ridge,
    ridgeless and ridge, with and without label noise, one point with ``N, P > M``)."""
    cases, n_replicas = _grid(quick)
    out = []
    for i, (N, P, ridges, noise, M) in enumerate(cases):
        sim = mrs_regression(N, P, ALPHA, M, ridge=list(ridges), noise=noise,
                             n_replicas=n_replicas, seed=seed * 7919 + i).loss
        th = mrs.test_loss(N, P, ALPHA, M=M, ridge=list(ridges), noise=noise).loss
        for j, r in enumerate(ridges):
            out.append(compare(f"scaling.mrs_test_loss[N={N},P={P},ridge={r:g},"
                               f"noise={noise:g},M={M}]", "test loss", th[j], sim[j],
                               sigmas=_SIGMA, bias=_finite_size(N, P) * th[j]))
    return out


def _slope(n, loss, stderr) -> Estimate:
    """Weighted least-squares slope of ``log L`` vs ``log n`` (relative errors as weights),
    its standard error inflated by ``sqrt(chi2/dof)`` when the scatter exceeds the errors."""
    fit = fit_power_law(n, loss, stderr=stderr)
    dof = max(len(n) - 2, 1)
    inflate = math.sqrt(max(1.0, (fit.residual ** 2 * len(n)) / dof))
    return Estimate(mean=-fit.exponent, stderr=fit.stderr * inflate, n_eff=float(len(n)))


def exponent_data(quick: bool, seed: int = 0) -> dict:
    """Simulated and theoretical loss along ``N = n``, ``P = 4n`` (ridgeless)."""
    ns = np.array([25, 50, 100, 200]) if quick else np.array([25, 50, 100, 200, 400])
    M = 2000 if quick else 3000
    loss, se = [], []
    for i, n in enumerate(ns):
        sim = mrs_regression(int(n), int(4 * n), ALPHA, M, ridge=0.0, n_replicas=24,
                             seed=seed * 104729 + 31 * i + 1).loss
        loss.append(sim.mean[0]), se.append(sim.stderr[0])
    theory = mrs.test_loss(ns, 4 * ns, ALPHA, M=M).loss
    return {"n": ns, "loss": np.array(loss), "stderr": np.array(se), "theory": theory,
            "M": np.array(M)}


@register("scaling.mrs_exponent")
def exponent(quick: bool = False, seed: int = 0):
    """Fitted slope of ``log L`` vs ``log n`` (``P = 4N``, ridgeless) against ``-alpha``
    and against the equivalent's own slope (tolerances in the module docstring)."""
    d = exponent_data(quick, seed)
    n = d["n"].astype(float)
    slope = _slope(n, d["loss"], d["stderr"])
    # the equivalent's slope, fitted with the same (relative) weights as the simulation's
    th_slope = float(_slope(n, d["theory"], d["stderr"] * d["theory"] / d["loss"]).mean)
    bias = abs(th_slope + ALPHA)
    drift = _finite_size(d["n"][0], 4 * d["n"][0]) / math.log(n[-1] / n[0])
    return [compare(f"scaling.mrs_exponent[alpha={ALPHA},P=4N,n={d['n'][0]}..{d['n'][-1]}]",
                    "slope d log L / d log n vs -alpha", -ALPHA, slope, sigmas=3.0, bias=bias),
            compare(f"scaling.mrs_exponent[alpha={ALPHA},P=4N,vs equivalent]",
                    "slope d log L / d log n vs deterministic equivalent", th_slope, slope,
                    sigmas=3.0, bias=drift)]
