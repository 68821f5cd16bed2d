"""The one statistics layer: estimates with their errors, fits with their intervals.

Every simulation in :mod:`nnphys.sim` reports what it measured as an :class:`Estimate`
(mean, standard error, effective sample size, integrated autocorrelation time), and every
check in :mod:`nnphys.validation` derives its tolerance from that estimate
(:func:`nnphys.validation.compare`), so no module recomputes ``std / sqrt(n)`` by itself.

Conventions
-----------
* Independent samples (networks, chains, seeds: the glossary's *replicas*) along ``axis``:
  :func:`sample_mean`, standard error ``s / sqrt(n)`` with the unbiased ``s``.
* A correlated time series (one Monte Carlo chain, one trajectory): :func:`time_average`.
  The integrated autocorrelation time is ``tau = 1 + 2 sum_{t>=1} rho(t)`` (the convention
  of Goodman & Weare 2010 and emcee; ``tau = 1`` for independent samples), estimated with
  Sokal's automatic window (the smallest ``W`` with ``W >= c tau(W)``, ``c = 5``; Sokal 1997,
  "Monte Carlo methods in statistical mechanics", Cargese lectures), so that
  ``n_eff = n / tau`` and ``stderr = s / sqrt(n_eff)``. :func:`batch_means` is the
  window-free alternative (Flyvbjerg & Petersen 1989, J. Chem. Phys. 91, 461).
* Several replicas of a correlated series: :func:`replica_mean` combines per-replica
  estimates, using the spread between replicas when there are enough of them (robust to a
  misestimated ``tau``).
* Fits: :func:`weighted_least_squares` (a linear model with its covariance and chi^2),
  :func:`fit_power_law` (``y - floor = A x^-p`` in log-log space, with a WLS or a
  bootstrap-over-replicas interval) and :func:`extrapolate` (``y(n) = y_inf + a_1/n + ...``,
  the 1/n or 1/N extrapolation of finite-width and finite-size data).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import stats as _scipy_stats

from . import checks
from .errors import ArgumentTypeError, ParameterError
from .results import Result

__all__ = ["Estimate", "sample_mean", "ratio_estimate", "time_average", "batch_means",
           "autocorrelation_time", "replica_mean", "LinearFit", "weighted_least_squares",
           "PowerLawFit", "fit_power_law", "local_slopes", "extrapolate"]


@dataclasses.dataclass(frozen=True)
class Estimate(Result):
    """A measured mean with its standard error (scalars, or arrays of one shape).

    Attributes:
        mean: the estimate.
        stderr: its standard error (0 for an exact, deterministic value).
        n_eff: effective number of independent samples behind it (``n / tau``).
        tau: integrated autocorrelation time in samples (1 for independent samples).

    ``converged``/``iterations``/``residual`` do not apply to an estimate and stay ``None``.
    """

    mean: float | np.ndarray = 0.0
    stderr: float | np.ndarray = 0.0
    n_eff: float | np.ndarray = 0.0
    tau: float | np.ndarray = 1.0

    def __post_init__(self):
        for name in ("mean", "stderr", "n_eff", "tau"):
            value = getattr(self, name)
            object.__setattr__(self, name, float(value) if np.ndim(value) == 0
                               else np.asarray(value, dtype=float))
        if np.any(np.asarray(self.stderr) < 0):
            raise ParameterError("stderr: must be >= 0")

    @classmethod
    def exact(cls, value) -> "Estimate":
        """A deterministic value: zero standard error, infinite effective sample size."""
        value = np.asarray(value, dtype=float)
        return cls(mean=value, stderr=np.zeros_like(value), n_eff=np.full_like(value, np.inf),
                   tau=np.ones_like(value))

    def __getitem__(self, index) -> "Estimate":
        """The estimate of one entry (or a slice) of an array-valued estimate."""
        pick = lambda a: np.asarray(a)[index] if np.ndim(a) else a  # noqa: E731
        return Estimate(mean=pick(self.mean), stderr=pick(self.stderr),
                        n_eff=pick(self.n_eff), tau=pick(self.tau),
                        parameters=self.parameters)

    def __len__(self) -> int:
        return len(np.atleast_1d(self.mean))

    def scaled(self, factor: float) -> "Estimate":
        """The estimate of ``factor * X``."""
        return dataclasses.replace(self, mean=np.multiply(self.mean, factor),
                                   stderr=np.multiply(self.stderr, abs(factor)))


#: Samples and errors are refused beyond this magnitude (and errors below its inverse):
#: their squares, in every variance and weight, would leave float64.
MAX_MAGNITUDE = 1e150


def _reals(name: str, values) -> np.ndarray:
    """``values`` as a float array, or an error naming ``name``; entries of magnitude
    above :data:`MAX_MAGNITUDE` are refused (their squares overflow)."""
    if np.iscomplexobj(values):
        raise ArgumentTypeError(f"{name}: an array of real numbers, got complex")
    try:
        x = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name}: an array of real numbers, got "
                                f"{type(values).__name__}") from None
    if np.any(np.abs(x[np.isfinite(x)]) > MAX_MAGNITUDE):
        raise ParameterError(f"{name}: entries must be at most {MAX_MAGNITUDE:g} in "
                             "magnitude (their squares overflow)")
    return x


def _errors(name: str, values, shape) -> np.ndarray:
    """Standard errors: finite, in ``[1/MAX_MAGNITUDE, MAX_MAGNITUDE]``, broadcast to
    ``shape``."""
    se = _reals(name, values)
    if np.any(~np.isfinite(se)) or np.any(se < 1.0 / MAX_MAGNITUDE):
        raise ParameterError(f"{name}: positive finite errors >= {1 / MAX_MAGNITUDE:g}")
    try:
        return np.broadcast_to(se, shape)
    except ValueError:
        raise ParameterError(f"{name}: shape {se.shape} does not match the values "
                             f"{shape}") from None


def _samples(values, axis: int, minimum: int, name: str) -> np.ndarray:
    x = _reals(name, values)
    if x.ndim == 0:
        raise ParameterError(f"{name}: an array of samples, got a scalar")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or \
            not -x.ndim <= axis < x.ndim:
        raise ParameterError(f"axis: an integer in [{-x.ndim}, {x.ndim - 1}] for an array "
                             f"of {x.ndim} dimensions, got {axis!r}")
    if not np.all(np.isfinite(x)):
        raise ParameterError(f"{name}: entries must be finite (a NaN or inf has no error bar)")
    x = np.moveaxis(x, axis, 0)
    if x.shape[0] < minimum:
        raise ParameterError(f"{name}: at least {minimum} samples along axis {axis}, "
                             f"got {x.shape[0]}")
    return x


def sample_mean(samples, axis: int = 0) -> Estimate:
    """Mean of independent samples along ``axis``, with standard error ``s / sqrt(n)``.

    >>> e = sample_mean([1.0, 2.0, 3.0, 4.0])
    >>> e.mean, round(e.stderr, 6), e.n_eff
    (2.5, 0.645497, 4.0)
    """
    x = _samples(samples, axis, 2, "samples")
    n = x.shape[0]
    return Estimate(mean=x.mean(axis=0), stderr=x.std(axis=0, ddof=1) / math.sqrt(n),
                    n_eff=np.full(x.shape[1:], float(n)) if x.ndim > 1 else float(n),
                    tau=np.ones(x.shape[1:]) if x.ndim > 1 else 1.0)


def ratio_estimate(a, b, ratio) -> Estimate:
    """``ratio(mean a, mean b)`` over the first axis (independent rows) with its
    delta-method standard error.

    To leading order in ``1/n`` the variance is ``grad g^T Sigma grad g / n`` with ``Sigma``
    the sample covariance of ``(a, b)`` (the delta method, e.g. Casella & Berger 2002,
    *Statistical Inference*, sec. 5.5.4); the gradient is taken by central differences of
    relative step ``1e-7`` (error ~1e-14 relative for rational ratios). ``n_eff`` is the
    number of rows. Used for the kurtosis and NTK-moment ratios of network ensembles.
    """
    a, b = _samples(a, 0, 2, "a"), _samples(b, 0, 2, "b")
    if a.shape != b.shape:
        raise ParameterError(f"b: must have the shape of a {a.shape}, got {b.shape}")
    if not callable(ratio):
        raise ArgumentTypeError(f"ratio: must be callable, got {type(ratio).__name__}")
    n = a.shape[0]
    ma, mb = a.mean(0), b.mean(0)
    value = ratio(ma, mb)
    if not np.all(np.isfinite(value)):
        raise ParameterError("b: the ratio of the means is not finite (e.g. a zero "
                             "denominator)")
    ha, hb = 1e-7 * np.maximum(np.abs(ma), 1e-300), 1e-7 * np.maximum(np.abs(mb), 1e-300)
    da = (ratio(ma + ha, mb) - ratio(ma - ha, mb)) / (2 * ha)
    db = (ratio(ma, mb + hb) - ratio(ma, mb - hb)) / (2 * hb)
    ca, cb = a - ma, b - mb
    var = (da ** 2 * (ca * ca).mean(0) + 2 * da * db * (ca * cb).mean(0)
           + db ** 2 * (cb * cb).mean(0)) / (n - 1)
    return Estimate(mean=value, stderr=np.sqrt(np.maximum(var, 0.0)),
                    n_eff=np.full(np.shape(value), float(n)) if np.ndim(value) else float(n))


def _autocovariance(x: np.ndarray) -> np.ndarray:
    """Autocovariance of each column of ``x`` (time first) at every lag, by FFT."""
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(centred, n=size, axis=0)
    return np.fft.irfft(f * np.conj(f), n=size, axis=0)[:n] / n


def autocorrelation_time(series, axis: int = 0, c: float = 5.0) -> float | np.ndarray:
    """Integrated autocorrelation time ``tau = 1 + 2 sum rho(t)`` with Sokal's window.

    The window ``W`` is the smallest lag with ``W >= c * tau(W)``; a series too short for
    that (``W`` reaching ``n / c``) gets the estimate at the largest window it allows,
    which underestimates ``tau``: use :func:`batch_means` or more replicas then.

    >>> rng = np.random.default_rng(0)
    >>> x = np.zeros(200_000); eps = rng.standard_normal(x.size)
    >>> for t in range(1, x.size): x[t] = 0.9 * x[t - 1] + eps[t]
    >>> bool(abs(autocorrelation_time(x) - 19.0) < 1.5)     # AR(1): (1 + 0.9) / (1 - 0.9)
    True
    """
    c = checks.positive("c", c)
    x = _samples(series, axis, 4, "series")
    shape = x.shape[1:]
    x = x.reshape(x.shape[0], -1)
    acov = _autocovariance(x)
    out = np.ones(x.shape[1])
    for j in range(x.shape[1]):
        if acov[0, j] <= 0:           # a constant series: no fluctuation to correlate
            continue
        taus = 2.0 * np.cumsum(acov[:, j] / acov[0, j]) - 1.0
        window = np.arange(taus.size)
        ok = window >= c * taus
        w = int(np.argmax(ok)) if ok.any() else taus.size - 1
        out[j] = max(float(taus[w]), 1e-12)
    return float(out[0]) if not shape else out.reshape(shape)


def time_average(series, axis: int = 0, c: float = 5.0) -> Estimate:
    """Mean of a correlated time series with the error from its autocorrelation time."""
    x = _samples(series, axis, 4, "series")
    n = x.shape[0]
    tau = autocorrelation_time(x, 0, c)
    n_eff = n / np.asarray(tau)
    stderr = x.std(axis=0, ddof=1) / np.sqrt(n_eff)
    return Estimate(mean=x.mean(axis=0), stderr=stderr, n_eff=n_eff, tau=tau)


def batch_means(series, n_batches: int = 32, axis: int = 0) -> Estimate:
    """Mean of a correlated series from ``n_batches`` contiguous batch means.

    The batch means are treated as independent, which holds once a batch is much longer
    than ``tau``; the implied ``tau = n * stderr^2 / s^2`` is reported.
    """
    if not isinstance(n_batches, (int, np.integer)) or n_batches < 2:
        raise ParameterError(f"n_batches: an integer >= 2, got {n_batches!r}")
    x = _samples(series, axis, 4, "series")
    if x.shape[0] < 2 * n_batches:
        raise ParameterError(f"n_batches: at most {x.shape[0] // 2} for {x.shape[0]} samples "
                             f"along axis {axis}, got {n_batches}")
    per = x.shape[0] // n_batches
    blocks = x[:per * n_batches].reshape(n_batches, per, *x.shape[1:]).mean(axis=1)
    est = sample_mean(blocks)
    var = x.var(axis=0, ddof=1)
    n = per * n_batches
    tau = np.where(var > 0, n * np.asarray(est.stderr) ** 2 / np.where(var > 0, var, 1.0), 1.0)
    return Estimate(mean=x[:n].mean(axis=0), stderr=est.stderr, n_eff=n / tau,
                    tau=float(tau) if np.ndim(tau) == 0 else tau)


def replica_mean(estimates: list[Estimate], min_spread: int = 8) -> Estimate:
    """Combine estimates from independent replicas of the same quantity.

    With ``len(estimates) >= min_spread`` replicas the error is the spread of the replica
    means (``s / sqrt(R)``), which needs no autocorrelation time; with fewer, the replicas'
    own errors are combined (``sqrt(sum stderr^2) / R``).
    """
    if isinstance(estimates, Estimate) or not isinstance(estimates, (list, tuple)) or \
            not all(isinstance(e, Estimate) for e in estimates):
        raise ArgumentTypeError("estimates: must be a list of Estimate")
    if not estimates:
        raise ParameterError("estimates: at least one replica")
    min_spread = checks.integer("min_spread", min_spread, low=1)
    means = np.array([np.asarray(e.mean, dtype=float) for e in estimates])
    r = means.shape[0]
    n_eff = np.sum([np.asarray(e.n_eff, dtype=float) for e in estimates], axis=0)
    tau = np.mean([np.asarray(e.tau, dtype=float) for e in estimates], axis=0)
    if r >= max(min_spread, 2):
        stderr = means.std(axis=0, ddof=1) / math.sqrt(r)
    else:
        stderr = np.sqrt(np.sum([np.asarray(e.stderr) ** 2 for e in estimates], axis=0)) / r
    return Estimate(mean=means.mean(axis=0), stderr=stderr, n_eff=n_eff, tau=tau)


@dataclasses.dataclass(frozen=True)
class LinearFit(Result):
    """A weighted least-squares fit ``y = X @ coefficients``.

    Attributes:
        coefficients: best-fit coefficients.
        covariance: their covariance (scaled by chi^2/dof when no errors were given).
        chi2: weighted sum of squared residuals; ``dof`` = points - coefficients.
        level: confidence level of ``interval`` (an array ``(n_coef, 2)``).
    """

    coefficients: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    covariance: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    chi2: float = 0.0
    dof: int = 0
    level: float = 0.95
    interval: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 2)))

    @property
    def stderr(self) -> np.ndarray:
        """One-sigma errors of the coefficients."""
        return np.sqrt(np.diag(self.covariance))


def weighted_least_squares(design, y, stderr=None, level: float = 0.95) -> LinearFit:
    """Fit ``y ~ design @ c`` with weights ``1 / stderr^2``.

    With ``stderr`` given the covariance is ``(X^T W X)^-1`` and the interval uses the
    normal quantile; without it the points are weighted equally, the covariance is scaled
    by the residual variance ``chi^2 / dof`` and the interval uses Student's t.
    """
    X = _reals("design", design)
    y = _reals("y", y)
    level = checks.real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ParameterError(f"y: shape {y.shape} does not match the design {X.shape}")
    n, k = X.shape
    if n < k:
        raise ParameterError(f"y: {n} points cannot fix {k} coefficients")
    if not (0 < level < 1):
        raise ParameterError(f"level: in (0, 1), got {level}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ParameterError("y: finite values only (and a finite design)")
    if stderr is None:
        w = np.ones(n)
    else:
        w = 1.0 / _errors("stderr", stderr, y.shape) ** 2
    XtW = X.T * w
    normal = XtW @ X
    if np.linalg.cond(normal) > 1e14:
        raise ParameterError("design: the columns are (numerically) linearly dependent, so "
                             "the coefficients are not determined")
    cov = np.linalg.inv(normal)
    coef = cov @ (XtW @ y)
    resid = y - X @ coef
    chi2 = float(np.sum(w * resid ** 2))
    dof = n - k
    if stderr is None:
        cov = cov * (chi2 / dof if dof > 0 else np.inf)
        q = _scipy_stats.t.ppf(0.5 + level / 2, max(dof, 1))
    else:
        q = _scipy_stats.norm.ppf(0.5 + level / 2)
    half = q * np.sqrt(np.diag(cov))
    return LinearFit(coefficients=coef, covariance=cov, chi2=chi2, dof=int(dof),
                     level=float(level), interval=np.c_[coef - half, coef + half],
                     residual=float(math.sqrt(chi2 / max(n, 1))))


@dataclasses.dataclass(frozen=True)
class PowerLawFit(Result):
    """``y ~ amplitude * x^-exponent + floor`` with a ``level`` confidence interval."""

    exponent: float = 0.0
    amplitude: float = 0.0
    floor: float = 0.0
    interval: tuple = (0.0, 0.0)
    level: float = 0.95
    method: str = ""

    def __post_init__(self):
        object.__setattr__(self, "interval", tuple(float(v) for v in self.interval))

    @property
    def stderr(self) -> float:
        """Half-width of the interval over the normal quantile (a one-sigma error)."""
        z = _scipy_stats.norm.ppf(0.5 + self.level / 2)
        return (self.interval[1] - self.interval[0]) / (2 * z)

    def contains(self, exponent: float) -> bool:
        """Whether ``exponent`` lies inside the interval."""
        return self.interval[0] <= exponent <= self.interval[1]


def _positive_grid(x, name: str = "x") -> np.ndarray:
    x = _reals(name, x)
    if x.ndim != 1 or x.size < 3:
        raise ParameterError(f"{name}: a 1-D array of at least 3 points")
    if np.any(~np.isfinite(x)) or np.any(x <= 0):
        raise ParameterError(f"{name}: positive finite values")
    return x


def fit_power_law(x, y=None, *, stderr=None, per_replica=None, floor: float = 0.0,
                  level: float = 0.95, n_boot: int = 2000, seed=0) -> PowerLawFit:
    """Fit ``y - floor = A x^-p`` by weighted least squares in log-log space.

    Args:
        x: the scaling variable (time, parameters, compute), positive.
        y: mean values at ``x`` (or ``None`` with ``per_replica``).
        stderr: standard errors of ``y``: weights ``((y - floor) / stderr)^2`` and, without
            ``per_replica``, the WLS interval (points treated as independent, which
            understates the error of correlated curves).
        per_replica: ``(n_replicas, len(x))`` curves; the interval is the percentile
            interval of the exponent over bootstrap resamples of the replicas (the replicas
            are the independent units, the points of one curve are correlated).
        floor: a known asymptote subtracted before the fit.
        level: confidence level of the interval.
        n_boot, seed: bootstrap resamples and their seed.
    """
    if per_replica is not None:
        curves = _reals("per_replica", per_replica)
        if curves.ndim != 2 or curves.shape[0] < 2:
            raise ParameterError("per_replica: an (n_replicas >= 2, n_points) array")
        y = curves.mean(axis=0) if y is None else y
    if y is None:
        raise ParameterError("y: give the values or per_replica curves")
    x = _positive_grid(x)
    y = _reals("y", y)
    if y.shape != x.shape:
        raise ParameterError(f"y: same shape as x {x.shape}, got {y.shape}")
    floor = checks.real("floor", floor)
    level = checks.real("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    excess = y - floor
    if np.any(~np.isfinite(excess)) or np.any(excess <= 0):
        raise ParameterError("y: must exceed the floor at every point")
    logx, logy = np.log(x), np.log(excess)
    design = np.c_[np.ones_like(logx), logx]
    log_se = None if stderr is None else _errors("stderr", stderr, y.shape) / excess
    fit = weighted_least_squares(design, logy, log_se, level)
    p = -fit.coefficients[1]
    if per_replica is not None:
        if not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
            raise ParameterError(f"n_boot: an integer >= 100, got {n_boot!r}")
        rng = np.random.default_rng(seed)
        n = curves.shape[0]
        weights = np.ones_like(x) if log_se is None else 1.0 / log_se ** 2
        XtW = design.T * weights
        solve = np.linalg.inv(XtW @ design) @ XtW
        boots = np.full(n_boot, np.nan)
        for b in range(n_boot):
            mean = curves[rng.integers(0, n, n)].mean(axis=0) - floor
            if np.all(mean > 0):
                boots[b] = -(solve @ np.log(mean))[1]
        boots = boots[np.isfinite(boots)]
        lo, hi = np.percentile(boots, [50 * (1 - level), 50 * (1 + level)])
        method = f"bootstrap over {n} replicas"
    else:
        lo, hi = sorted(-fit.interval[1])
        method = "weighted least squares"
    return PowerLawFit(exponent=float(p), amplitude=float(math.exp(fit.coefficients[0])),
                       floor=float(floor), interval=(lo, hi), level=float(level),
                       method=method, residual=fit.residual)


def local_slopes(x, y) -> np.ndarray:
    """``d log y / d log x`` by centred differences (one-sided at the ends)."""
    x = _positive_grid(x)
    y = _reals("y", y)
    if y.shape != x.shape or np.any(~(y > 0)):
        raise ParameterError("y: positive values, same shape as x")
    return np.gradient(np.log(y), np.log(x))


def extrapolate(sizes, values, stderr=None, order: int = 1, power: float = 1.0) -> Estimate:
    """The ``n -> infinity`` limit of ``y(n) = y_inf + sum_k a_k n^(-k power)``.

    ``power=1`` is the 1/n (finite-width, finite-size) extrapolation, ``power=0.5`` the
    1/sqrt(N) one. ``values`` may be a list of :class:`Estimate` (then ``stderr`` is taken
    from them). The returned estimate's error is the WLS error of the intercept; the fit's
    chi^2 per degree of freedom is its ``residual``.
    """
    n = _reals("sizes", sizes)
    if n.ndim != 1 or np.any(~np.isfinite(n)) or np.any(n <= 0):
        raise ParameterError("sizes: a 1-D array of positive sizes")
    if not isinstance(order, (int, np.integer)) or order < 1 or order + 1 > n.size:
        raise ParameterError(f"order: an integer in [1, {n.size - 1}] for {n.size} sizes, "
                             f"got {order!r}")
    power = checks.positive("power", power)
    if isinstance(values, (list, tuple)) and values and isinstance(values[0], Estimate):
        stderr = [float(v.stderr) for v in values]
        values = [float(v.mean) for v in values]
    values = _reals("values", values)
    if values.shape != n.shape:
        raise ParameterError(f"values: one per size, shape {n.shape}, got {values.shape}")
    design = np.stack([n ** (-k * power) for k in range(order + 1)], axis=1)
    if np.linalg.cond(design) > 1e12:
        raise ParameterError(f"power: with sizes {n.tolist()} the terms n^-(k*{power:g}) are "
                             "numerically indistinguishable; use fewer terms or other sizes")
    fit = weighted_least_squares(design, values, stderr)
    return Estimate(mean=float(fit.coefficients[0]), stderr=float(fit.stderr[0]),
                    n_eff=float(n.size), tau=1.0,
                    residual=float(fit.chi2 / fit.dof) if fit.dof else None)
