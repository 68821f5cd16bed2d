"""Fan-in concatenation and product, and dropout, against ensembles of finite networks.

Kernels of :mod:`nnphys.theory.kernels.combinators`. Networks on three inputs in R^8:

* concat: ``Dense(n) -> Erf -> FanOut(2) -> parallel(Dense(n), serial(Dense(n/2), Erf,
  Dense(n/2))) -> FanInConcat -> Dense(READOUT)`` (unequal branch widths);
* product: ``Dense(n) -> Erf -> FanOut(2) -> parallel(Dense(n), Dense(n)) -> FanInProd ->
  Dense(READOUT)``;
* dropout: ``Dense(n) -> Erf -> Dropout(0.6) -> Dense(n) -> Erf -> Dense(READOUT)``.

Tolerance (see :mod:`._ensembles`): ``4 se + 2 |K| / n``, the O(1/n) shift of two finite
hidden layers (Roberts, Yaida & Hanin 2022, arXiv:2106.10165, ch. 4), shrinking with the
width.
"""

from __future__ import annotations

import numpy as np

from ..theory import kernels as nk
from ._ensembles import READOUT, nngp_comparisons
from .registry import register


def _concat(n):
    return nk.serial(nk.Dense(n, 1.3, 0.1), nk.Erf(), nk.FanOut(2),
                     nk.parallel(nk.Dense(n, 1.5), nk.serial(nk.Dense(n // 2, 1.2, 0.2),
                                                             nk.Erf(), nk.Dense(n // 2))),
                     nk.FanInConcat(), nk.Dense(READOUT, 1.2, 0.1))


def _prod(n):
    return nk.serial(nk.Dense(n, 1.3, 0.1), nk.Erf(), nk.FanOut(2),
                     nk.parallel(nk.Dense(n, 1.5, 0.3), nk.Dense(n, 1.1)),
                     nk.FanInProd(), nk.Dense(READOUT, 1.2, 0.1))


def _dropout(n):
    return nk.serial(nk.Dense(n, 1.3, 0.1), nk.Erf(), nk.Dropout(0.6),
                     nk.Dense(n, 1.2, 0.1), nk.Erf(), nk.Dense(READOUT, 1.2, 0.1))


@register("kernels_combinators.nngp_vs_ensemble")
def nngp_vs_ensemble(quick: bool = False, seed: int = 0):
    """Empirical NNGP and NTK of sampled networks with FanInConcat, FanInProd and Dropout vs the
    infinite-width NNGP, at growing widths."""
    widths, samples = ((16, 64), 48) if quick else ((16, 64, 256), 200)
    x = np.random.default_rng(seed).standard_normal((3, 8))
    out = []
    for label, build in (("FanInConcat", _concat), ("FanInProd", _prod),
                         ("Dropout", _dropout)):
        out += nngp_comparisons(f"kernels_combinators.nngp_vs_ensemble[{label}]", build, x,
                                widths, samples, seed, bias_per_width=2.0)
    return out
