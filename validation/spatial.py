"""Transposed / locally connected convolutions, sum pooling and the activations Gabor, Exp,
Rbf: finite-width ensembles (:mod:`nnphys.sim.spatial`) against the infinite-width kernels.

One network per layer family, two nonlinearities deep (so finite width matters), ending in
readout features ``f`` whose empirical NNGP ``f . f' / dim f`` is the NNGP of the network
followed by ``Dense(1, W_std=1)``:

* ``spatial.ensemble_vs_kernel``: the ensemble mean at width ``n`` against the kernel, each
  entry within ``4 se + L |K| / n`` (the 1/n bias of depth ``L = 2``; Roberts, Yaida &
  Hanin 2022, arXiv:2106.10165, ch. 4, as in :mod:`nnphys.validation.kernels`);
* ``spatial.error_shrinks_with_width``: the RMS deviation of one network's empirical NNGP
  from the kernel over widths, log-log slope against ``-1/2`` (the central-limit scaling of
  the fluctuations), within 4 standard errors of the fitted slope plus 0.1 for the O(1/n)
  bias that bends the curve at the smallest widths.
"""

from __future__ import annotations

import numpy as np

from ..sim import spatial as sim_spatial
from ..stats import Estimate, sample_mean, weighted_least_squares
from ..theory import kernels as nk
from .registry import compare, register

_SIGMA = 4.0
_DEPTH = 2


def family_networks(width: int) -> dict:
    """The network of each layer family at hidden width ``width`` (without readout)."""
    n = int(width)
    return {
        "ConvTranspose": nk.serial(
            nk.ConvTranspose(n, (2, 2), strides=(2, 1), padding="SAME", W_std=1.3, b_std=0.2),
            nk.Erf(), nk.ConvTranspose(n, (2, 2), padding="CIRCULAR", W_std=1.4, b_std=0.1),
            nk.Relu(), nk.GlobalAvgPool()),
        "ConvLocal": nk.serial(
            nk.ConvLocal(n, (2, 2), padding="SAME", W_std=1.3, b_std=0.2), nk.Erf(),
            nk.ConvLocal(n, (2, 2), strides=(2, 1), padding="VALID", W_std=1.5, b_std=0.1),
            nk.Gabor(), nk.Flatten()),
        "SumPool": nk.serial(
            nk.Conv(n, (2, 2), padding="SAME", W_std=1.2, b_std=0.1), nk.Rbf(0.5),
            nk.SumPool((2, 2), strides=(1, 1), padding="SAME"),
            nk.Conv(n, (2, 2), padding="CIRCULAR", W_std=0.4, b_std=0.1), nk.Exp(0.8, 0.5),
            nk.GlobalSumPool()),
    }


def _inputs(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((3, 4, 3, 2))


def _theory(net, x) -> np.ndarray:
    return nk.serial(net, nk.Dense(1, W_std=1.0)).kernel(x, get="nngp")


@register("spatial.ensemble_vs_kernel")
def ensemble_vs_kernel(quick: bool = False, seed: int = 0):
    """Ensemble-mean NNGP of each family's finite network vs its infinite-width NNGP."""
    width, samples = (32, 24) if quick else (128, 96)
    x = _inputs(seed)
    out = []
    for name, net in family_networks(width).items():
        theory = _theory(net, x)
        emp = sim_spatial.ensemble_kernels(net, x, n_replicas=samples, seed=seed)
        for (i, j), label in (((0, 0), "x0,x0"), ((0, 1), "x0,x1"), ((1, 2), "x1,x2")):
            out.append(compare(f"spatial.ensemble_vs_kernel[{name}]", f"nngp({label})",
                               theory[i, j], emp.nngp[i, j], sigmas=_SIGMA,
                               bias=_DEPTH * abs(theory[i, j]) / width))
    return out


def nngp_errors(name: str, widths, samples: int, seed: int) -> Estimate:
    """RMS relative deviation of one network's empirical NNGP from the kernel, per width,
    with its standard error by the delta method (``se(E err^2) / (2 rms)``)."""
    x = _inputs(seed + 1)
    squares = []
    for width in widths:
        net = family_networks(int(width))[name]
        theory = _theory(net, x)
        emp = sim_spatial.ensemble_kernels(net, x, n_replicas=samples, seed=seed + int(width))
        squares.append(sample_mean(np.mean(((emp.nngp_samples - theory)
                                            / np.abs(theory).max()) ** 2, axis=(1, 2))))
    rms = np.sqrt([s.mean for s in squares])
    return Estimate(mean=rms, stderr=np.array([s.stderr for s in squares]) / (2 * rms),
                    n_eff=np.full(rms.shape, float(samples)))


@register("spatial.error_shrinks_with_width")
def error_shrinks_with_width(quick: bool = False, seed: int = 0):
    """Per family: d log(RMS error) / d log(width) of single networks against -1/2."""
    widths = np.array([8, 16, 32, 64]) if quick else np.array([8, 16, 32, 64, 128])
    samples = 12 if quick else 40
    out = []
    for name in family_networks(1):
        rms = nngp_errors(name, widths, samples, seed)
        logw = np.log(widths)
        fit = weighted_least_squares(np.c_[np.ones_like(logw), logw], np.log(rms.mean),
                                     rms.stderr / rms.mean)
        slope = Estimate(mean=fit.coefficients[1], stderr=fit.stderr[1],
                         n_eff=float(len(widths)))
        out.append(compare(f"spatial.error_shrinks_with_width[{name}]",
                           "d log err / d log width", -0.5, slope, sigmas=_SIGMA, bias=0.1))
    return out
