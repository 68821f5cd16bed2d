"""The shared Gaussian-expectation module: each rule and expectation against closed forms or
an independent adaptive quadrature (tests/quadrature.py, scipy.integrate.quad)."""

import math

import numpy as np
import pytest
from scipy import integrate

from nnphys.errors import ConvergenceError, ParameterError
from nnphys.theory import gaussian

from .quadrature import pair_expectation


def test_gauss_hermite_is_exact_for_polynomials():
    """n nodes integrate degree 2n - 1 exactly: E[z^(2k)] = (2k - 1)!!."""
    z, w = gaussian.gauss_hermite(6)
    for k in range(6):
        assert w @ z ** (2 * k) == pytest.approx(math.prod(range(1, 2 * k, 2)), rel=1e-13)
    assert abs(w @ z ** 11) < 1e-12


def test_gauss_legendre_is_cached_and_read_only():
    x, w = gaussian.gauss_legendre(10)
    assert gaussian.gauss_legendre(10)[0] is x
    assert w.sum() == pytest.approx(2.0, rel=1e-15)
    with pytest.raises(ValueError):
        x[0] = 0.0


@pytest.mark.parametrize("variance", [0.3, 2.0, 4.5])
def test_normal_rule_for_tanh_against_quad(variance):
    """E[tanh(s z)^2] within the rule's stated error, 5e-11 (the nominal exp(-2 pi / 0.2)
    times the Gaussian weight's growth toward the pole); the reference is
    scipy.integrate.quad at 1e-13."""
    s = math.sqrt(variance)
    z, w = gaussian.normal_rule(s)
    ref, _ = integrate.quad(lambda x: np.tanh(s * x) ** 2 * math.exp(-x * x / 2)
                            / math.sqrt(2 * math.pi), -12, 12, epsabs=1e-14, epsrel=1e-13)
    assert w @ np.tanh(s * z) ** 2 == pytest.approx(ref, abs=5e-11)


@pytest.mark.parametrize("K", [0.01, 1.0, 250.0])
def test_expect_of_kinked_functions_matches_closed_forms(K):
    """E[max(u, 0)^2] = K/2, E|u| = sqrt(2K/pi) (the rule is split at the kink u = 0)."""
    relu2 = gaussian.expect(lambda u: np.maximum(u, 0.0) ** 2, K)
    absu = gaussian.expect(np.abs, K)
    assert relu2 == pytest.approx(K / 2, rel=1e-12)
    assert absu == pytest.approx(math.sqrt(2 * K / math.pi), rel=1e-12)


@pytest.mark.parametrize("n", [1, 10, 60, 79, 100])
def test_expect_of_high_monomials_is_the_double_factorial(n):
    """E[u^(2n)] = (2n-1)!! K^n. For n >= 70 the integrand z^(2n) phi(z) peaks at
    sqrt(2n) > 11.8 and carries mass beyond the |z| = 14 cut (4% for n = 79): the
    truncation check must widen the range. Tolerance: ``tol`` = 1e-12 of E|f| = E f."""
    for K in (1.0, 0.5):
        ref = math.prod(range(2 * n - 1, 0, -2)) * K ** n
        assert gaussian.expect(lambda u: u ** (2 * n), K) == pytest.approx(ref, rel=1e-12)


def test_expect_refuses_a_tail_beyond_the_widest_truncation():
    """E[exp(0.49 u^2)] = 1/sqrt(0.02) at K = 1: the integrand decays like exp(-a^2/100),
    so 2.6e-4 of its mass lies beyond |a| = 37 -- a ConvergenceError, not a number 0.03%
    low; z^240 overflows float64 at the wider cuts -- also a ConvergenceError."""
    with pytest.raises(ConvergenceError, match="beyond"):
        gaussian.expect(lambda u: np.exp(0.49 * u * u), 1.0)
    with pytest.raises(ConvergenceError):
        gaussian.expect(lambda u: u ** 240, 1.0)


def test_expect_is_vectorised_and_refuses_a_kink_away_from_zero():
    K = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(gaussian.expect(np.square, K), K, rtol=1e-13)
    with pytest.raises(ConvergenceError):
        gaussian.expect(lambda u: np.abs(u - 0.37), 1.0)
    with pytest.raises(ParameterError):
        gaussian.expect(np.square, -1.0)


@pytest.mark.parametrize("a, b", [(1.0, math.sqrt(math.pi) / 2), (0.5, 2.0)])
def test_erf_closed_forms_against_nested_quadrature(a, b):
    """The arcsine form and its derivative form against nested adaptive quadrature (1e-11)."""
    from scipy import special
    q1, q12, q2 = 1.4, -0.6, 0.9
    f = lambda x: a * special.erf(b * x)                                   # noqa: E731
    fp = lambda x: 2 * a * b / math.sqrt(math.pi) * math.exp(-(b * x) ** 2)  # noqa: E731
    assert gaussian.erf_pair(q1, q2, q12, a, b) == pytest.approx(
        pair_expectation(f, f, q1, q12, q2), abs=1e-11)
    assert gaussian.erf_derivative_pair(q1, q2, q12, a, b) == pytest.approx(
        pair_expectation(fp, fp, q1, q12, q2), abs=1e-11)


def test_expect_pair_with_means_against_nested_quadrature():
    """Shifted means: E[tanh(x) tanh(y)], x ~ N(0.3, 1.7), y ~ N(-0.2, 0.8), Cov = 0.5 (the
    means are folded into the functions of the reference)."""
    got = gaussian.expect_pair(np.tanh, np.tanh, 1.7, 0.8, 0.5, m1=0.3, m2=-0.2)
    ref = pair_expectation(lambda x: math.tanh(x + 0.3), lambda y: math.tanh(y - 0.2),
                           1.7, 0.5, 0.8)
    assert float(got) == pytest.approx(ref, abs=1e-12)
