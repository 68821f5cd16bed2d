"""Infinite-depth classifiers (Radhakrishnan, Belkin & Uhler 2022, arXiv:2204.14126):
finite-depth recursions against the kernel library, the three limit classes, and the
paper's optimal activations (reference kernels_finite_width.md sec. 6 and values A3)."""

import math

import numpy as np
import pytest

from nnphys.theory import kernels as nk
from nnphys.theory.kernels import infinite_depth as idp


def _library_ntk(act, w_std, x, depth):
    """Normalized NTK of Dense(W=1) -> [act -> Dense(W=w_std)] * depth, no biases."""
    layers = [nk.Dense(1, W_std=1.0, b_std=None)]
    for _ in range(depth):
        layers += [act, nk.Dense(1, W_std=w_std, b_std=None)]
    theta = nk.serial(*layers).kernel(x, get="ntk")
    return theta / theta[0, 0]


@pytest.mark.parametrize("act, w2", [(nk.Relu(), 2.0),
                                     (nk.Erf(), 1 / ((2 / math.pi) * math.asin(2 / 3)))])
@pytest.mark.parametrize("depth", [1, 3, 10])
def test_deep_kernel_matches_the_kernel_library(act, w2, depth):
    d = 5
    rng = np.random.default_rng(depth)
    x = rng.standard_normal((3, d))
    x *= math.sqrt(d) / np.linalg.norm(x, axis=1, keepdims=True)     # x.x'/d = rho
    rho = x @ x.T / d
    np.fill_diagonal(rho, 1.0)      # exactly on the sphere (x.x/d rounds to 1 - 1e-16, which
                                    # the ReLU arccos amplifies to 1e-8 after 10 layers)
    expected = _library_ntk(act, math.sqrt(w2), x, depth)
    got = idp.deep_kernel(act, rho, depth)
    assert np.allclose(got, expected, rtol=1e-11, atol=1e-13)


def test_relu_ntk_tends_to_a_quarter():
    """Reference A3: Theta_L(x, x')/Theta_L(x, x) = 0.250417 at L = 10001 (rho_0 = 0)."""
    assert float(idp.deep_kernel(nk.Relu(), 0.0, 10_000)) == pytest.approx(0.250417, abs=2e-6)


def test_the_three_classes():
    assert idp.limit_classifier(nk.Relu()).classifier == "majority"
    assert idp.limit_classifier(idp.dual_activation((0, 0, 1.0))).classifier == "nearest_neighbour"
    singular = idp.limit_classifier(idp.optimal_activation(2))
    assert singular.classifier == "singular"
    # alpha = ln(1/g'(0)) / ln g'(1) = ln 2 / ln 2 = 1 = d/2 for g = (rho^3 + rho)/2
    assert singular.exponent == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("a, alpha", [(2.676, 1.0), (6.13539, 2.0), (13.8258, 4.0)])
def test_sine_exponents(a, alpha):
    """alpha(a) = ln(sinh(a)/a)/ln(a coth a); reference: a = 2.676, 6.13539, 13.8258 give
    alpha = 1, 2, 4 (printed to 4-6 digits)."""
    assert idp.sine_exponent(a) == pytest.approx(alpha, abs=1e-4)


@pytest.mark.parametrize("a", [1e-300, 1e-8, 0.1, 0.3, 0.4999, 0.5, 2.0])
def test_sine_exponent_at_small_a_against_mpmath(a):
    """Both logarithms of alpha(a) vanish like a^2 (alpha -> 1/2): below a = 1/2 their
    series (exact Bernoulli coefficients, 18 terms, truncation < 1e-18) replaces the 0/0
    of the closed form. Reference: mpmath at 700 digits (enough for a = 1e-300). Tolerance:
    a few ulps of the two sums and the division, 1e-15; 5e-15 above the switch, where the
    closed form ``a - ln 2a + ln1p(-e^(-2a))`` loses ~1e-15 to cancellation at a = 1/2."""
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(700):
        x = mpmath.mpf(a)
        ref = float(mpmath.log(mpmath.sinh(x) / x) / mpmath.log(x * mpmath.coth(x)))
    assert idp.sine_exponent(a) == pytest.approx(ref, rel=1e-15 if a < 0.5 else 5e-15)
    if a == 1e-300:
        assert idp.sine_activation(a).b == pytest.approx(1e-150, rel=1e-15)


def _sphere(rng, n, d):
    x = rng.standard_normal((n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_limit_classifiers_against_deep_kernels_and_definitions():
    rng = np.random.default_rng(0)
    x, t = _sphere(rng, 20, 3), _sphere(rng, 15, 3)
    y = np.where(x[:, 0] + 0.2 * x[:, 1] > -0.3, 1.0, -1.0)      # not a tie: 12 vs 8
    # majority vote: ReLU
    assert np.all(idp.classify(idp.limit_classifier(nk.Relu()), x, y, t) == np.sign(y.sum()))
    # 1-nearest neighbour: g = rho^2
    nn = idp.classify(idp.limit_classifier(idp.dual_activation((0, 0, 1.0))), x, y, t)
    assert np.array_equal(nn, y[np.argmax(t @ x.T, axis=1)])
    # singular: the deep NTK classifier converges to the limit's predictions
    act = idp.optimal_activation(2)
    limit = idp.classify(idp.limit_classifier(act), x, y, t)
    assert np.array_equal(idp.kernel_classify(act, x, y, t, depth=300), limit)
