"""Antognini's Edgeworth density (theory.edgeworth) against sampled single-hidden-layer
networks (sim.shallow), Gaussian and non-Gaussian weights, widths 10 to 100.

Tolerances.
* **Kurtosis.** ``kappa_4`` is exact at every width, so the only error is Monte Carlo: the
  Rao-Blackwell estimate (exact conditional moments given the hidden layer) is compared
  with ``kappa_4 / s^4`` within 4 standard errors (from 100 batches).
* **Binned density.** The outputs ``t = f / s`` are histogrammed in 40 bins on
  ``[-4, 4]``; bin probabilities of the Edgeworth series come from its CDF (exact bin
  integrals). A bin's tolerance is 4 binomial standard errors plus the truncation error of
  the ``O(1/n)`` series, estimated by its first omitted term (the ``O(1/n^2)`` He6 and He8
  terms, ``order=2`` minus ``order=1``). Each comparison reports the worst bin (largest
  deviation in units of its tolerance).
  The comparison is made where the expansion parameter ``|kappa_4| / s^4`` is at most 1/2;
  beyond, the first omitted term is not a bound on the truncation error at this Monte
  Carlo precision, and only the kurtosis is compared. Measured at ReLU with Gaussian
  weights, n = 20 (``kappa_4 / s^4 = 0.75``), 1e6 samples, four seeds: the worst bin
  missed the order-1 series by 0.88-1.06 of that tolerance, and the order-2 series itself
  lay 3-4 standard errors from the histogram in several bins (the terms after it are not
  small there).
* **He4 amplitude (Edgeworth beats Gaussian).** The histogram's deviation from the
  Gaussian is fitted by weighted least squares to ``c_4 B_k``, with
  ``B_k = -[phi(t) He_3(t)]`` over bin ``k`` the exact bin integral of ``phi He_4``;
  the fitted ``c_4`` is compared with Antognini's within 4 of its standard errors plus the
  bias the omitted ``O(1/n^2)`` terms give the fit (the same fit applied to the order-2
  minus order-1 bin probabilities). A fitted amplitude many standard errors from 0 is the
  data excluding the plain Gaussian (NNGP).
"""

from __future__ import annotations

import math

import numpy as np

from ..sim import shallow
from ..stats import Estimate, weighted_least_squares
from ..theory import edgeworth as ew
from ..theory import kernels as nk
from .registry import compare, register, scaled

_SIGMA = 4.0
#: the largest expansion parameter |kappa_4| / s^4 at which densities are compared
_MAX_KURTOSIS = 0.5

#: case name -> (activation, keyword arguments shared by theory and simulation)
CASES = {
    "relu/gaussian": (nk.Relu(), dict(W_std=1.0, b_std=0.0)),
    "erf/gaussian": (nk.Erf(), dict(W_std=1.0, b_std=0.0)),
    "tanh/uniform": (nk.Tanh(), dict(W_std=1.5, b_std=0.5, readout="uniform",
                                     first_layer="uniform")),
    "relu/rademacher": (nk.Relu(), dict(W_std=1.4, b_std=0.3, readout="rademacher",
                                        first_layer="uniform")),
}
EDGES = np.linspace(-4.0, 4.0, 41)


def _sizes(quick: bool):
    widths = (10, 100) if quick else (10, 20, 50, 100)
    cases = ("relu/gaussian", "tanh/uniform", "relu/rademacher") if quick else tuple(CASES)
    return widths, cases, scaled(200_000 if quick else 1_000_000)


def _seed(seed: int, case: str, width: int) -> int:
    return seed * 1_000_003 + sorted(CASES).index(case) * 1000 + width


def binned(case: str, width: int, samples: int, seed: int) -> dict:
    """Histogram of ``f / s`` and the bin probabilities of the order-0/1/2 series."""
    act, kw = CASES[case]
    s = math.sqrt(ew.output_cumulants(act, width, **kw).variance)
    out = shallow.sample_outputs(act, width, samples, seed=_seed(seed, case, width), **kw)
    counts = np.histogram(out.outputs / s, EDGES)[0]
    model = {order: np.diff(ew.output_cdf(EDGES * s, act, width, order=order, **kw))
             for order in (0, 1, 2)}
    gauss_he3 = np.exp(-EDGES ** 2 / 2) / math.sqrt(2 * math.pi) * (EDGES ** 3 - 3 * EDGES)
    # binomial standard error of a bin probability, sqrt(p (1 - p) / M) ~ sqrt(counts) / M
    # for the small p of one of 40 bins (at least one count, so that no bin has zero error)
    return {"prob": counts / samples, "stderr": np.sqrt(np.maximum(counts, 1)) / samples,
            "he4_basis": -np.diff(gauss_he3),
            "gauss": model[0], "edgeworth": model[1], "edgeworth2": model[2],
            "sample": out}


@register("edgeworth.kurtosis")
def kurtosis(quick: bool = False, seed: int = 0):
    """Excess kurtosis of the output: Rao-Blackwell estimate vs the exact
    ``[m4 E h^4 - 3 (E h^2)^2] / (n (E h^2)^2)``."""
    widths, cases, samples = _sizes(quick)
    out = []
    for case in cases:
        act, kw = CASES[case]
        for n in widths:
            theory = ew.output_cumulants(act, n, **kw).excess_kurtosis
            sample = shallow.sample_outputs(act, n, samples, seed=_seed(seed, case, n), **kw)
            out.append(compare(f"edgeworth.kurtosis[{case},n={n}]", "excess kurtosis",
                               theory, sample.excess_kurtosis(), sigmas=_SIGMA, x=n,
                               x_name="width", series=case))
    return out


def _fit_amplitude(basis, residual, stderr) -> Estimate:
    """Weighted least squares of ``residual ~ c basis`` (errors ``stderr``): ``c`` and its
    standard error."""
    fit = weighted_least_squares(basis[:, None], residual, stderr)
    return Estimate(mean=float(fit.coefficients[0]), stderr=float(fit.stderr[0]),
                    n_eff=float(basis.size))


@register("edgeworth.density")
def density(quick: bool = False, seed: int = 0):
    """Binned output density vs the He4 Edgeworth density (worst bin), where
    ``|kappa_4| / s^4 <= 1/2``. Tolerances in the module docstring."""
    widths, cases, samples = _sizes(quick)
    width_of_bin = EDGES[1] - EDGES[0]
    out = []
    for case in cases:
        act, kw = CASES[case]
        for n in widths:
            if abs(ew.output_cumulants(act, n, **kw).excess_kurtosis) > _MAX_KURTOSIS:
                continue
            b = binned(case, n, samples, seed + 1)
            truncation = np.abs(b["edgeworth2"] - b["edgeworth"])
            tol = _SIGMA * b["stderr"] + truncation
            worst = int(np.argmax(np.abs(b["prob"] - b["edgeworth"]) / tol))
            measured = Estimate(mean=b["prob"][worst], stderr=b["stderr"][worst],
                                n_eff=float(samples)).scaled(1 / width_of_bin)
            out.append(compare(f"edgeworth.density[{case},n={n}]",
                               f"p(t) in bin {worst} (worst bin)",
                               b["edgeworth"][worst] / width_of_bin, measured, sigmas=_SIGMA,
                               bias=truncation[worst] / width_of_bin, x=n, x_name="width",
                               series=case))
    return out


@register("edgeworth.he4_amplitude")
def he4_amplitude(quick: bool = False, seed: int = 0):
    """The He4 coefficient fitted to the histogram's deviation from the Gaussian vs
    Antognini's ``c_4 = kappa_4 / (24 s^4)``, every case and width (module docstring)."""
    widths, cases, samples = _sizes(quick)
    out = []
    for case in cases:
        act, kw = CASES[case]
        for n in widths:
            b = binned(case, n, samples, seed + 2)
            fit = _fit_amplitude(b["he4_basis"], b["prob"] - b["gauss"], b["stderr"])
            bias = _fit_amplitude(b["he4_basis"], b["edgeworth2"] - b["edgeworth"],
                                  b["stderr"]).mean
            out.append(compare(f"edgeworth.he4_amplitude[{case},n={n}]", "c4 (He4 coefficient)",
                               ew.output_cumulants(act, n, **kw).c4, fit, sigmas=_SIGMA,
                               bias=abs(bias), x=n, x_name="width", series=case))
    return out
