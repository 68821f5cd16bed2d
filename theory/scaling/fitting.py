"""Scaling-law exponents from measured loss curves, with confidence intervals.

A power law ``L = A x^{-p}`` (optionally plus a floor ``L_inf``) is fitted in log-log space by
weighted least squares. Two error estimates are offered:

* ``per_seed`` curves (``n_seeds x n_points``): the fit is repeated on bootstrap resamples
  of the seeds (the seeds are the independent units; points of one curve are correlated), and
  the interval is the percentile interval of the bootstrap exponents;
* ``stderr`` only: the weighted least-squares covariance with weights ``(L / stderr)^2``
  (points treated as independent, which understates the error of correlated curves).

:func:`compare_exponent` states whether a theory exponent lies inside the interval.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats

from ...errors import ParameterError

__all__ = ["PowerLawFit", "fit_power_law", "local_slopes", "compare_exponent"]


@dataclasses.dataclass(frozen=True)
class PowerLawFit:
    """``L ~ amplitude * x^{-exponent} (+ floor)`` with a ``level`` confidence interval."""

    exponent: float
    amplitude: float
    floor: float
    interval: tuple[float, float]
    level: float
    method: str

    @property
    def stderr(self) -> float:
        """Half-width of the interval divided by the normal quantile (a 1-sigma error)."""
        z = stats.norm.ppf(0.5 + self.level / 2)
        return (self.interval[1] - self.interval[0]) / (2 * z)


def _validate(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.size < 3:
        raise ParameterError("x: at least 3 points")
    if np.any(x <= 0) or not np.all(np.isfinite(x)):
        raise ParameterError("x: positive finite values")
    return x, y


def _wls(logx, logy, weights):
    w = np.asarray(weights, dtype=float)
    X = np.c_[np.ones_like(logx), logx]
    XtW = X.T * w
    cov = np.linalg.inv(XtW @ X)
    coef = cov @ (XtW @ logy)
    return coef, cov


def fit_power_law(x, y=None, *, stderr=None, per_seed=None, floor: float = 0.0,
                  level: float = 0.95, n_boot: int = 2000, seed=0) -> PowerLawFit:
    """Fit ``y - floor = A x^{-p}``.

    Args:
        x: the scaling variable (time, parameters, compute), positive.
        y: mean loss at ``x`` (or ``None`` with ``per_seed``).
        stderr: standard errors of ``y`` (weights; also the interval if no ``per_seed``).
        per_seed: ``n_seeds x len(x)`` curves; bootstrap over seeds gives the interval.
        floor: a known asymptote subtracted before the fit (e.g. the capacity loss).
        level: confidence level of the interval.
    """
    if per_seed is not None:
        curves = np.asarray(per_seed, dtype=float)
        if curves.ndim != 2 or curves.shape[0] < 2:
            raise ParameterError("per_seed: an (n_seeds >= 2) x n_points array")
        y = curves.mean(axis=0) if y is None else y
    if y is None:
        raise ParameterError("y: give the loss values or per_seed curves")
    x, y = _validate(x, y)
    if y.shape != x.shape:
        raise ParameterError("y: same shape as x")
    excess = y - floor
    if np.any(excess <= 0):
        raise ParameterError("y: must exceed the floor at every point")
    if not (0 < level < 1):
        raise ParameterError("level: in (0, 1)")
    logx, logy = np.log(x), np.log(excess)
    weights = np.ones_like(x) if stderr is None else (excess / np.asarray(stderr, float)) ** 2
    coef, cov = _wls(logx, logy, weights)
    p = -coef[1]
    if per_seed is not None:
        rng = np.random.default_rng(seed)
        n = curves.shape[0]
        boots = np.empty(n_boot)
        for b in range(n_boot):
            mean = curves[rng.integers(0, n, n)].mean(axis=0) - floor
            if np.any(mean <= 0):
                boots[b] = np.nan
                continue
            boots[b] = -_wls(logx, np.log(mean), weights)[0][1]
        boots = boots[np.isfinite(boots)]
        lo, hi = np.percentile(boots, [50 * (1 - level), 50 * (1 + level)])
        method = f"bootstrap over {n} seeds"
    else:
        dof = max(x.size - 2, 1)
        if stderr is None:          # scale the covariance by the residual variance
            resid = logy - (coef[0] + coef[1] * logx)
            cov = cov * float(resid @ resid) / dof
        half = stats.t.ppf(0.5 + level / 2, dof) * math.sqrt(cov[1, 1])
        lo, hi = p - half, p + half
        method = "weighted least squares"
    return PowerLawFit(exponent=float(p), amplitude=float(math.exp(coef[0])), floor=float(floor),
                       interval=(float(lo), float(hi)), level=float(level), method=method)


def local_slopes(x, y) -> np.ndarray:
    """``d log y / d log x`` by centred differences (one-sided at the ends)."""
    x, y = _validate(x, y)
    return np.gradient(np.log(y), np.log(x))


def compare_exponent(fit: PowerLawFit, theory: float) -> dict:
    """Whether the theory exponent is inside the fit's interval, and by how many sigma it
    differs."""
    return {"theory": float(theory), "measured": fit.exponent, "interval": fit.interval,
            "inside": fit.interval[0] <= theory <= fit.interval[1],
            "sigma": abs(fit.exponent - theory) / fit.stderr if fit.stderr > 0 else math.inf}
