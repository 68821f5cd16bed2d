"""Deep random features (Schröder, Cui, Dmitriev & Loureiro 2023, arXiv:2302.00401): the
deterministic equivalent of last-layer ridge regression
(``theory.generalization.deep_random_features``) against simulation
(``sim.random_features``), at several widths, and error universality.

Tolerances.
* **Test error vs width.** Per draw of the weights and the teacher, the equivalent of that
  draw's network; both sides are averaged over the same draws, so the draw-to-draw spread of
  the weights and the teacher is common to both: ``SE`` is the standard error of the mean of
  the paired differences (simulated minus equivalent, per draw: data and test-sample noise
  plus the draw-to-draw spread of the equivalent's error), and sets ``4 SE``. Stated bias, relative to the theory: ``1/P + 1/|P - p|`` (the
  deterministic equivalent's own finite-size error; e.g. ridgeless ``P > p`` the exact
  Gaussian mean is ``(P-1)/(P-p-1)`` against ``P/(P-p)``) plus ``1/sqrt(k)`` (``k`` the
  narrowest layer: the linearisation drops the higher Hermite terms of the inner layers'
  off-diagonal covariances, ``O(1/k)`` per entry, ``O(1/sqrt(k))`` in the spectrum).
* **Universality.** Per draw, the simulated deep features and the simulated Gaussian
  covariate model with that draw's second moments, same ``P`` and ridge; the mean of the
  paired differences is compared with 0 within ``4 SE`` plus the linearisation bias
  ``1/sqrt(k)`` times the mean error (the Gaussian side has no linearisation).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..models import network
from ..sim import random_features as srf
from ..stats import sample_mean
from ..theory.generalization import deep_random_features as drf
from .registry import compare, register, scaled

D = 60
RIDGE = 1e-2
NOISE = 0.05


def _cases(quick):
    """(widths, activation) of the width sweep: 2 layers of width k, and 3 layers."""
    ks = (40, 80, 160) if quick else (40, 80, 160, 320)
    acts = (network.Relu(),) if quick else (network.Relu(), network.Tanh())
    deeper = [((80, 80, 80), network.Relu())] + ([] if quick else [
        ((80, 80, 80), network.Tanh()), ((120, 60, 240), network.Erf())])
    return [((k, k), act) for act in acts for k in ks] + deeper


def _bias(P, widths):
    p = widths[-1]
    return 1.0 / P + 1.0 / abs(P - p) + 1.0 / math.sqrt(min(widths))


@register("deep_random_features.test_error_vs_width")
def test_error_vs_width(quick: bool = False, seed: int = 0):
    """Test error of ridge on the last layer of a 2-layer random ReLU (and tanh) network,
    ``d = 60``, widths ``k = 40 ... 320``, and of 3-layer networks, ``P = 30, 120, 480``:
    equivalent vs simulation."""
    P = np.array([30, 120] if quick else [30, 120, 480])
    draws = scaled(12 if quick else 24)
    out = []
    for i, (widths, act) in enumerate(_cases(quick)):
        theory = []

        def on_draw(W, teacher, act=act):
            theory.append(drf.test_error(W, act, teacher, P, ridge=RIDGE,
                                         noise=NOISE).test_error)

        sim = srf.deep_ridge(D, widths, act, P, ridge=RIDGE, noise=NOISE, draws=draws,
                             n_test=2000, seed=seed * 1000 + i, on_draw=on_draw)
        th = np.mean(theory, axis=0)
        paired = sample_mean(sim.per_replica - np.array(theory))
        est = dataclasses.replace(sim.test_error, stderr=paired.stderr)
        for j, n in enumerate(P):
            out.append(compare(f"deep RF {act!r} widths={widths}", f"test error at P={n}",
                               th[j], est[j], sigmas=4.0, bias=_bias(n, widths) * th[j],
                               x=n, x_name="P", series=f"{act!r} widths={widths}"))
    return out


@register("deep_random_features.universality")
def universality(quick: bool = False, seed: int = 0):
    """Error universality: deep random features vs the Gaussian covariate model with the
    same second moments, paired per draw (``d = 60``, widths ``(80, 80)``, ReLU and tanh)."""
    widths, P = (80, 80), np.array([40, 200])
    draws = scaled(10 if quick else 24)
    out = []
    for i, act in enumerate((network.Relu(), network.Tanh())):
        gauss = []

        def on_draw(W, teacher, act=act, i=i):
            m = drf.equivalent_model(W, act, teacher)
            gauss.append(srf.gaussian_covariates(m.omega, m.cross, m.target_power, P,
                                                 ridge=RIDGE, noise=NOISE, draws=2,
                                                 seed=seed * 7919 + len(gauss) + 100 * i)
                         .per_replica.mean(0))

        sim = srf.deep_ridge(D, widths, act, P, ridge=RIDGE, noise=NOISE, draws=draws,
                             n_test=2000, seed=seed * 1000 + 500 + i, on_draw=on_draw)
        diff = sample_mean(sim.per_replica - np.array(gauss))
        level = sim.per_replica.mean(0)
        for j, n in enumerate(P):
            out.append(compare(f"deep RF {act!r} widths={widths}",
                               f"deep - Gaussian error at P={n}", 0.0, diff[j], sigmas=4.0,
                               bias=level[j] / math.sqrt(min(widths)), x=n, x_name="P",
                               series=repr(act)))
    return out
