"""The shared tau fixed point (theory.spectral) against closed forms and an independent
root finder, and the regression specs (models.regression) against their defining formulas."""

import math

import numpy as np
import pytest
from scipy import optimize

from nnphys.errors import ArgumentTypeError, ParameterError
from nnphys.models.regression import BAPModel, MRSModel, PLRFModel, Spectrum
from nnphys.theory.spectral import tau_fixed_point


def test_equal_eigenvalues_closed_form():
    """K equal eigenvalues lambda: K tau lambda/(1 + tau lambda) = n, so
    tau = n / (lambda (K - n)) exactly (to rounding)."""
    lam, K = 0.3, 50
    n = np.array([0.5, 10.0, 49.0])
    r = tau_fixed_point(np.full(K, lam), n)
    np.testing.assert_allclose(r.tau, n / (lam * (K - n)), rtol=1e-13)
    np.testing.assert_allclose(r.df, n, rtol=1e-13)
    assert r.converged and r.residual < 1e-14 and 0 < r.iterations < 50


def test_multiplicities_equal_repeated_eigenvalues():
    lam = np.array([1.0, 0.1, 0.01])
    weighted = tau_fixed_point(lam, 2.5, weights=[2.0, 1.0, 3.0])
    repeated = tau_fixed_point([1.0, 1.0, 0.1, 0.01, 0.01, 0.01], 2.5)
    assert weighted.tau == pytest.approx(repeated.tau, rel=1e-13)


@pytest.mark.parametrize("ridge", [0.0, 1e-3, 1.0])
def test_power_law_with_ridge_against_brentq(ridge):
    """lambda_k = k^-1.5, k <= 4000: brentq on the same equation in log tau (xtol 1e-14)."""
    lam = np.arange(1, 4001.0) ** -1.5
    for n in (1.0, 37.0, 800.0):
        f = lambda x: np.sum(lam / (np.exp(-x) + lam)) + ridge * np.exp(x) - n  # noqa: E731
        ref = math.exp(optimize.brentq(f, -60, 60, xtol=1e-14))
        assert float(tau_fixed_point(lam, n, ridge=ridge).tau) == pytest.approx(ref, rel=1e-11)


def test_ridge_allows_more_than_the_rank():
    """With a ridge, n above the number of modes still has a root: df + ridge tau = n."""
    r = tau_fixed_point([1.0, 0.5], 5.0, ridge=0.1)
    assert float(r.df + 0.1 * r.tau) == pytest.approx(5.0, rel=1e-14)
    assert float(r.kappa) == pytest.approx(1 / float(r.tau))
    with pytest.raises(ParameterError, match="^n:"):
        tau_fixed_point([1.0, 0.5], 2.0)                  # ridgeless: n must be < 2


@pytest.mark.parametrize("bad", [dict(eigenvalues=[1.0, -1.0]), dict(n=0.0),
                                 dict(ridge=-1.0), dict(weights=[1.0])])
def test_bad_arguments(bad):
    args = dict(eigenvalues=[1.0, 0.5], n=1.0)
    args.update(bad)
    with pytest.raises(ParameterError):
        tau_fixed_point(args.pop("eigenvalues"), args.pop("n"), **args)


def test_bap_spectrum_definition():
    """lambda_k = k^-b and lambda_k w*_k^2 = k^-a (BAP 2024, Sec. 2)."""
    spec = BAPModel(2.0, 1.5, 10).spectrum
    k = np.arange(1, 11.0)
    np.testing.assert_allclose(spec.eigenvalues, k ** -1.5, rtol=1e-15)
    np.testing.assert_allclose(spec.eigenvalues * spec.target, k ** -2.0, rtol=1e-15)
    assert spec.initial_loss == pytest.approx(np.sum(k ** -2.0), rel=1e-15)
    with pytest.raises(ParameterError, match="^a:"):
        BAPModel(-1.0, 1.5)
    with pytest.raises(ParameterError, match="^target:"):
        Spectrum([1.0, 0.5], [1.0])


def test_mrs_spectrum_definition():
    np.testing.assert_allclose(MRSModel(1.0, 4).eigenvalues, [1, 1 / 4, 1 / 9, 1 / 16],
                               rtol=1e-15)
    assert MRSModel(0.5, None).M is None and MRSModel(0.5, math.inf).M is None
    with pytest.raises(ParameterError, match="^M:"):
        MRSModel(0.5).eigenvalues
    with pytest.raises(ArgumentTypeError, match="^M:"):
        MRSModel(0.5, 2.5)


def test_plrf_trace_and_default_lr():
    """Tr D = sum j^{-2 alpha}: alpha = 1, v -> infinity tends to pi^2/6 with the tail
    1/(v + 1/2) (midpoint rule); gamma = 1/((B + 1) Tr D)."""
    m = PLRFModel(1.0, 0.3, 100)
    assert m.v == 400
    assert m.trace_D == pytest.approx(np.sum(np.arange(1, 401.0) ** -2.0), rel=1e-15)
    assert m.default_lr(3) == pytest.approx(1 / (4 * m.trace_D), rel=1e-15)
    big = PLRFModel(1.0, 0.3, 10, 10 ** 8)         # exact to 1e6, Euler-Maclaurin beyond
    assert big.trace_D == pytest.approx(math.pi ** 2 / 6 - 1 / (10 ** 8 + 0.5), rel=1e-12)
    with pytest.raises(ParameterError, match="^v:"):
        PLRFModel(1.0, 0.3, 100, 50)


def test_tau_fixed_point_empty_spectrum_named():
    # fuzz census reproducer: an empty spectrum is reported as `eigenvalues`, not `weights`
    with pytest.raises(ParameterError, match="^eigenvalues"):
        tau_fixed_point(np.array([]), 2, ridge=0.1)
