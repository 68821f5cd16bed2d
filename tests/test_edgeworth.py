"""Antognini's single-hidden-layer Edgeworth density (theory.edgeworth)."""

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

from nnphys.errors import ArgumentTypeError, ParameterError
from nnphys.sim import shallow
from nnphys.theory import edgeworth as ew
from nnphys.theory import kernels as nk


@pytest.mark.parametrize("q0", [0.3, 1.0, 4.0])
def test_relu_excess_kurtosis_is_15_over_n(q0):
    """ReLU, Gaussian weights: E h^2 = q/2, E h^4 = 3 q^2 / 2, so n * excess kurtosis = 15
    at every q (reference file, section 4 table) and c4 = 5 / (8 n)."""
    cum = ew.output_cumulants(nk.Relu(), 20, W_std=1.3, q0=q0)
    np.testing.assert_allclose(cum.hidden_moments[:2], [1.69 * q0 / 2, 3 * (1.69 * q0) ** 2 / 2],
                               rtol=1e-10)
    assert cum.excess_kurtosis * 20 == pytest.approx(15.0, rel=1e-10)
    assert cum.c4 == pytest.approx(5 / 160, rel=1e-10)
    assert cum.converged and cum.residual < 1e-9        # the quadratures' own estimate


def test_reference_landmarks():
    """Reference values (kernels_finite_width_values.txt, section D), quoted to 6 digits:
    erf (q = 1, Gaussian weights) n * excess kurtosis 1.679516 with E h^2 the closed form
    (2/pi) arcsin(2/3); tanh with uniform w, b, v (sigma_w 1.5, sigma_b 0.5) -0.672377,
    E h^2 = 0.621731, E h^4 = 0.499857."""
    erf = ew.output_cumulants(nk.Erf(), 1)
    assert erf.hidden_moments[0] == pytest.approx(2 / math.pi * math.asin(2 / 3), rel=1e-11)
    assert erf.excess_kurtosis == pytest.approx(1.679516, abs=1e-6)
    tanh = ew.output_cumulants(nk.Tanh(), 1, W_std=1.5, b_std=0.5, readout="uniform",
                               first_layer="uniform")
    np.testing.assert_allclose(tanh.hidden_moments[:2], [0.621731, 0.499857], atol=1e-6)
    assert tanh.excess_kurtosis == pytest.approx(-0.672377, abs=1e-6)


_W_MOMENTS = {  # E w^(2k) of the unit-variance laws
    "gaussian": lambda k: sp.factorial2(2 * k - 1),
    "uniform": lambda k: sp.Integer(3) ** k / (2 * k + 1),
    "rademacher": lambda k: sp.Integer(1),
}


def _law_expectation(expr, symbol, law):
    """E[expr(symbol)] for symbol from a unit-variance symmetric law (odd moments 0)."""
    poly = sp.Poly(sp.expand(expr), symbol)
    return sum(c * (_W_MOMENTS[law](m[0] // 2) if m[0] % 2 == 0 else 0)
               for m, c in zip(poly.monoms(), poly.coeffs()))


@pytest.mark.parametrize("readout,first_layer", [("gaussian", "gaussian"),
                                                 ("uniform", "rademacher"),
                                                 ("rademacher", "uniform")])
def test_cumulants_against_exact_moment_algebra(readout, first_layer):
    """For phi(z) = z^2/2 + z - 1/3 and width 3, expand f^2, f^4, f^6 exactly with sympy
    (every monomial's expectation factorises over units and over w, b, v) and form the
    cumulants of the symmetric output: an independent route to the closed forms and the
    quadrature (agreement to quadrature precision, 1e-9)."""
    n, wstd, bstd, q0, bout = 3, sp.Rational(6, 5), sp.Rational(1, 2), sp.Rational(4, 3), \
        sp.Rational(1, 3)
    w, b = sp.symbols("w b")
    phi = lambda z: z ** 2 / 2 + z - sp.Rational(1, 3)  # noqa: E731
    h = phi(wstd * sp.sqrt(q0) * w + bstd * b)
    h_moment = {k: _law_expectation(_law_expectation(h ** k, w, first_layer), b, first_layer)
                for k in range(7)}
    v_moment = {k: _law_expectation(sp.Symbol("v") ** k, sp.Symbol("v"), readout) for k in range(7)}
    hs, vs = sp.symbols(f"h0:{n}"), sp.symbols(f"v0:{n}")
    out_bias = sp.Symbol("B")
    f = bout * out_bias + wstd / sp.sqrt(n) * sum(v * hh for v, hh in zip(vs, hs))

    def moment(k):
        poly = sp.Poly(sp.expand(f ** k), *hs, *vs, out_bias)
        total = 0
        for mono, coef in zip(poly.monoms(), poly.coeffs()):
            term = coef * v_moment[mono[-1]]
            for i in range(n):
                term *= h_moment[mono[i]] * v_moment[mono[n + i]]
            total += term
        return total
    m2, m4, m6 = (float(moment(k)) for k in (2, 4, 6))
    cum = ew.output_cumulants(lambda z: z ** 2 / 2 + z - 1 / 3, n, 1.2, 0.5, 4 / 3,
                              readout, first_layer, b_out_std=1 / 3)
    assert cum.variance == pytest.approx(m2, rel=1e-9)
    assert cum.kappa4 == pytest.approx(m4 - 3 * m2 ** 2, rel=1e-9)
    assert cum.kappa6 == pytest.approx(m6 - 15 * m4 * m2 + 30 * m2 ** 3, rel=1e-9)


@pytest.mark.parametrize("order", [1, 2])
def test_density_moments_and_cdf(order):
    """The Edgeworth series reproduces the cumulants it was built from: it integrates to 1,
    has variance s^2 and E f^4 = 3 s^4 + kappa4 (kappa6 enters only E f^6; quadrature
    to 1e-10), and the CDF's derivative is the density (central differences, step 1e-4:
    error ~1e-9)."""
    kw = dict(W_std=1.4, b_std=0.3, readout="uniform", first_layer="gaussian", order=order)
    cum = ew.output_cumulants(nk.Erf(), 5, 1.4, 0.3, 1.0, "uniform", "gaussian")
    p = lambda y, k: y ** k * ew.output_density(y, nk.Erf(), 5, **kw)  # noqa: E731
    m = [integrate.quad(p, -np.inf, np.inf, args=(k,), epsabs=1e-13)[0] for k in (0, 2, 4)]
    np.testing.assert_allclose(m, [1, cum.variance, 3 * cum.variance ** 2 + cum.kappa4],
                               rtol=1e-10, atol=1e-12)
    y = np.linspace(-3, 3, 13)
    step = 1e-4
    slope = (ew.output_cdf(y + step, nk.Erf(), 5, **kw) -
             ew.output_cdf(y - step, nk.Erf(), 5, **kw)) / (2 * step)
    np.testing.assert_allclose(slope, ew.output_density(y, nk.Erf(), 5, **kw), atol=1e-8)
    assert ew.output_cdf(-40.0, nk.Erf(), 5, **kw) == pytest.approx(0, abs=1e-15)
    assert ew.output_cdf(40.0, nk.Erf(), 5, **kw) == pytest.approx(1, abs=1e-15)


def test_order_zero_is_the_nngp_gaussian():
    """order=0 is N(0, K) with K the NNGP of Dense-Relu-Dense at the input sqrt(q0)."""
    y = np.linspace(-2, 2, 5)
    net = nk.serial(nk.Dense(8, 1.3, 0.2), nk.Relu(), nk.Dense(1, 1.3))
    k = net.kernel(np.array([[0.7]]), get="nngp")[0, 0]
    expected = np.exp(-y ** 2 / (2 * k)) / math.sqrt(2 * math.pi * k)
    np.testing.assert_allclose(ew.output_density(y, nk.Relu(), 8, 1.3, 0.2, 0.49, order=0),
                               expected, rtol=1e-12)


def test_rao_blackwell_simulation_matches():
    """Rademacher readout, uniform first layer, tanh, n = 10: the Rao-Blackwell kurtosis of
    2e5 sampled networks agrees within 4 standard errors (from 50 batches)."""
    kw = dict(W_std=1.2, b_std=0.4, readout="rademacher", first_layer="uniform")
    theory = ew.output_cumulants(nk.Tanh(), 10, **kw).excess_kurtosis
    est = shallow.sample_outputs(nk.Tanh(), 10, 200_000, seed=3, **kw).excess_kurtosis(50)
    assert abs(est.mean - theory) < 4 * est.stderr
    assert theory < 0       # Rademacher readout: m4 = 1 < 3 makes the He4 term negative


@pytest.mark.parametrize("kwargs,name", [
    (dict(width=0), "width"), (dict(width=2.5), "width"), (dict(readout="cauchy"), "law"),
    (dict(first_layer="t"), "law"), (dict(W_std=-1.0), "W_std"), (dict(q0=np.nan), "q0"),
    (dict(order=3), "order"), (dict(b_out_std=-0.1), "b_out_std"),
    (dict(W_std=0.0), "variance")])
def test_bad_input_raises(kwargs, name):
    args = dict(y=0.0, activation=nk.Relu(), width=4) | kwargs
    with pytest.raises(ParameterError, match=name):
        ew.output_density(**args)


def test_activation_of_the_wrong_type_raises():
    with pytest.raises(ArgumentTypeError, match="activation"):
        ew.output_density(0.0, 3, 4)


@pytest.mark.parametrize("kwargs, name", [({"W_std": 0.0}, "W_std"), ({"q0": 0.0}, "q0"),
                                          ({"q0": 1e-300}, "q0")])
def test_vanishing_output_variance_named(kwargs, name):
    # fuzz census reproducers: an erf net with b_std = 0 has zero output variance at
    # W_std = 0 or q0 = 0, and one whose 4th power underflows at q0 = 1e-300 (was NaN)
    from nnphys.models.network import Erf
    with pytest.raises(ParameterError, match=name):
        ew.output_cumulants(Erf(a=1.0, b=1.0, c=0.0), 8, **kwargs)
