"""The delta method: the standard error of a smooth function of sample means.

For independent rows ``(a_i, b_i)``, ``i = 1..n``, the estimate ``r = g(mean a, mean b)``
has, to leading order in ``1/n``, the variance ``grad g^T Sigma grad g / n`` with
``Sigma`` the sample covariance of ``(a, b)`` (e.g. Casella & Berger 2002, *Statistical
Inference*, sec. 5.5.4). Used for the kurtosis and NTK-moment ratios of the network
ensembles; the gradient is taken by central differences of relative step ``1e-7``
(error ~1e-14 relative for the rational ratios used here).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..stats import Estimate

__all__ = ["ratio_estimate"]


def ratio_estimate(a: np.ndarray, b: np.ndarray,
                   ratio: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Estimate:
    """``ratio(mean a, mean b)`` over the first axis (independent rows) with its
    delta-method standard error; ``n_eff`` is the number of rows."""
    n = a.shape[0]
    ma, mb = a.mean(0), b.mean(0)
    value = ratio(ma, mb)
    ha, hb = 1e-7 * np.maximum(np.abs(ma), 1e-300), 1e-7 * np.maximum(np.abs(mb), 1e-300)
    da = (ratio(ma + ha, mb) - ratio(ma - ha, mb)) / (2 * ha)
    db = (ratio(ma, mb + hb) - ratio(ma, mb - hb)) / (2 * hb)
    ca, cb = a - ma, b - mb
    var = (da ** 2 * (ca * ca).mean(0) + 2 * da * db * (ca * cb).mean(0)
           + db ** 2 * (cb * cb).mean(0)) / (n - 1)
    return Estimate(mean=value, stderr=np.sqrt(np.maximum(var, 0.0)),
                    n_eff=np.full(np.shape(value), float(n)) if np.ndim(value) else float(n))
