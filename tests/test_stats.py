"""nnphys.stats against closed forms and independent computations.

* AR(1) series ``x_t = phi x_{t-1} + eps_t`` have ``rho(t) = phi^t`` and so
  ``tau = (1 + phi) / (1 - phi)`` exactly; the estimator's own statistical error for a
  series of length n with window W is about ``tau * sqrt(2 (2W + 1) / n)`` (Sokal 1997,
  eq. 3.19), which sets the tolerances below.
* Weighted least squares against ``numpy.polyfit`` (same weights) and the textbook
  covariance ``(X^T W X)^-1``.
* 1/n extrapolation of an exact polynomial in 1/n returns its constant term to rounding.
"""

import math

import numpy as np
import pytest

from nnphys import load, stats
from nnphys.errors import ParameterError


def ar1(phi, n, rng, replicas=1):
    eps = rng.standard_normal((n, replicas))
    x = np.empty_like(eps)
    x[0] = eps[0] / math.sqrt(1 - phi * phi)          # stationary start
    for t in range(1, n):
        x[t] = phi * x[t - 1] + eps[t]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.5, 0.9])
def test_autocorrelation_time_of_ar1(phi):
    n = 100_000
    x = ar1(phi, n, np.random.default_rng(1))[:, 0]
    tau = (1 + phi) / (1 - phi)
    window = 5 * tau
    sigma = tau * math.sqrt(2 * (2 * window + 1) / n)
    assert stats.autocorrelation_time(x) == pytest.approx(tau, abs=4 * sigma + 0.02)


def test_time_average_error_is_calibrated_over_replicas():
    """The per-chain standard error predicts the spread of chain means over 200 chains."""
    phi, n, r = 0.8, 4000, 200
    x = ar1(phi, n, np.random.default_rng(2), replicas=r)
    est = stats.time_average(x)                      # one estimate per chain (column)
    spread = np.std(est.mean, ddof=1)
    # the spread of r normal means has relative error 1/sqrt(2(r-1)) = 5%; allow 4 of them,
    # plus the O(W/n) bias of the windowed tau (1.4% here)
    assert np.mean(est.stderr) == pytest.approx(spread, rel=4 / math.sqrt(2 * (r - 1)) + 0.02)
    # against the exact sqrt(tau var / n): one chain's stderr has a relative error of about
    # sqrt(2 (2W + 1) / n) / 2 = 11% (W = 5 tau = 45), 0.8% on the mean of 200 chains; allow
    # 4 of them plus 2% for the truncation bias of the window (rho(W) = 0.8^45 ~ 0 and the
    # O(W / n) = 1% bias of the empirical autocovariance)
    exact = math.sqrt((1 + phi) / (1 - phi) / (1 - phi * phi) / n)
    per_chain = math.sqrt(2 * (2 * 45 + 1) / n) / 2
    assert np.mean(est.stderr) == pytest.approx(exact, rel=4 * per_chain / math.sqrt(r) + 0.02)


def test_batch_means_agrees_with_the_exact_error():
    phi, n = 0.9, 400_000
    x = ar1(phi, n, np.random.default_rng(3))[:, 0]
    est = stats.batch_means(x, n_batches=40)
    exact = math.sqrt((1 + phi) / (1 - phi) / (1 - phi * phi) / n)
    # 40 batches: the error of a standard error is 1/sqrt(2*39) = 11%; allow 4 of them
    assert est.stderr == pytest.approx(exact, rel=4 / math.sqrt(78))
    assert est.tau == pytest.approx(19.0, rel=4 / math.sqrt(78))


def test_sample_mean_and_replica_mean():
    rng = np.random.default_rng(4)
    samples = rng.normal(3.0, 2.0, size=(400, 3))
    e = stats.sample_mean(samples)
    assert e.mean == pytest.approx(samples.mean(0)) and np.all(e.n_eff == 400)
    assert e.stderr == pytest.approx(samples.std(0, ddof=1) / 20)
    parts = [stats.sample_mean(samples[i::10, 0]) for i in range(10)]
    combined = stats.replica_mean(parts)
    assert combined.mean == pytest.approx(samples[:, 0].mean())
    assert combined.stderr == pytest.approx(np.std([p.mean for p in parts], ddof=1) / math.sqrt(10))
    few = stats.replica_mean(parts[:2])
    assert few.stderr == pytest.approx(math.hypot(parts[0].stderr, parts[1].stderr) / 2)
    assert e[1].mean == pytest.approx(samples[:, 1].mean())


def test_estimate_round_trips_and_rejects_negative_errors(tmp_path):
    e = stats.Estimate(mean=np.arange(3.0), stderr=np.ones(3), n_eff=np.full(3, 10.0))
    e.save(tmp_path / "e.npz")
    back = load(tmp_path / "e.npz")
    assert np.array_equal(back.mean, e.mean) and back.converged is None
    with pytest.raises(ParameterError, match="stderr"):
        stats.Estimate(mean=1.0, stderr=-1.0)


def test_weighted_least_squares_matches_polyfit():
    rng = np.random.default_rng(5)
    x = np.linspace(0, 1, 30)
    se = 0.1 + x
    y = 1.0 + 2.0 * x + se * rng.standard_normal(x.size)
    fit = stats.weighted_least_squares(np.c_[np.ones_like(x), x], y, se)
    slope, intercept = np.polyfit(x, y, 1, w=1 / se)
    assert fit.coefficients == pytest.approx([intercept, slope], rel=1e-12)
    X = np.c_[np.ones_like(x), x]
    assert fit.covariance == pytest.approx(np.linalg.inv(X.T @ (X / se[:, None] ** 2)))
    assert fit.dof == 28


def test_power_law_fit_recovers_the_exponent():
    x = np.geomspace(1, 1e4, 20)
    rng = np.random.default_rng(6)
    curves = 3.0 * x ** -0.7 * (1 + 0.02 * rng.standard_normal((16, x.size))) + 0.1
    fit = stats.fit_power_law(x, per_replica=curves, floor=0.1)
    assert fit.contains(0.7) and fit.stderr < 0.01
    exact = stats.fit_power_law(x, 3.0 * x ** -0.7)
    assert exact.exponent == pytest.approx(0.7, rel=1e-12)
    assert stats.local_slopes(x, x ** -0.7) == pytest.approx(np.full(x.size, -0.7))


def test_extrapolate_returns_the_constant_of_a_polynomial_in_one_over_n():
    n = np.array([16.0, 32, 64, 128])
    y = 2.5 - 3.0 / n + 7.0 / n ** 2
    est = stats.extrapolate(n, y, stderr=np.full(4, 1e-3), order=2)
    assert est.mean == pytest.approx(2.5, abs=1e-12)
    assert est.stderr > 0
    root = stats.extrapolate(n, 1.0 + 2.0 / np.sqrt(n), stderr=np.full(4, 1e-3), power=0.5)
    assert root.mean == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(ParameterError, match="order"):
        stats.extrapolate(n, y, order=4)
