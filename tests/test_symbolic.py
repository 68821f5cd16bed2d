"""Exact dual kernels (sympy) against the numeric duals, the series quadrature and
30-digit mpmath quadrature."""

import math

import mpmath
import numpy as np
import pytest

from nnphys.theory import kernels as nk
from nnphys.theory.kernels import duals, hermite

POINTS = [(1.3, 0.4, 0.7), (2.0, -1.1, 0.9), (0.5, 0.49, 0.6)]

ACTIVATIONS = [nk.Relu(), nk.LeakyRelu(0.2), nk.Abs(), nk.Erf(1.3, 0.7, 0.2), nk.Gelu(),
               nk.Sin(1.1, 0.8, 0.3), nk.Exp(1.0, 0.3), nk.Gaussian(1.0, -0.5), nk.Sign(),
               nk.Identity(), nk.Monomial(4), nk.Hermite(3), nk.Polynomial((0.1, 1.0, 0.5, -0.2)),
               nk.RectifiedMonomial(1), nk.RectifiedMonomial(3)]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=repr)
def test_numeric_duals_equal_exact_expressions(act):
    exact = nk.dual_kernel(act)
    for q11, q12, q22 in POINTS:
        k, kdot = (float(v) for v in exact.evaluate(q11, q12, q22))
        num, num_dot = duals.dual(act, np.array(q11), np.array(q12), np.array(q22), True)
        assert float(num) == pytest.approx(k, rel=1e-13, abs=1e-15)
        assert float(num_dot) == pytest.approx(kdot, rel=1e-13, abs=1e-15)


def test_hermite_activation_is_rho_power_at_unit_variance():
    """Normalised He_n has dual rho^n at unit variance (neural-tangents' formula)."""
    for n in range(6):
        unit = {nk.symbolic.Q11: 1, nk.symbolic.Q22: 1}
        assert (nk.dual_kernel(nk.Hermite(n)).nngp.subs(unit) - nk.symbolic.Q12 ** n).expand() == 0


def test_latex_renders():
    text = nk.dual_kernel(nk.Erf()).latex()
    assert text.startswith("K = ") and "\\dot K" in text and "asin" in text


def test_series_quadrature_against_30_digit_values():
    """`Elementwise(erf)` by Hermite series vs the exact arcsin formula at 30 digits."""
    generic = nk.Elementwise(lambda z: np.asarray(__import__("scipy").special.erf(z)))
    exact = nk.dual_kernel(nk.Erf())
    for q11, q12, q22 in POINTS + [(9.0, 8.0, 12.0), (25.0, -20.0, 30.0)]:
        k, kdot = (float(v) for v in exact.evaluate(q11, q12, q22, dps=30))
        val, dot = hermite.dual(generic, np.array(q11), np.array(q12), np.array(q22), True)
        assert float(val) == pytest.approx(k, rel=1e-11)
        assert float(dot) == pytest.approx(kdot, rel=1e-11)


def _mp_pair(f, g, q11, q12, q22):
    """E[f(u) g(v)] by nested tanh-sinh quadrature in mpmath (kinks at 0 split). Where
    ``f(u) = 0`` (half the line for the rectifiers) the inner integral is not computed."""
    q11, q12, q22 = (mpmath.mpf(str(v)) for v in (q11, q12, q22))
    r = q12 / q11
    sd = mpmath.sqrt(q22 - q12 ** 2 / q11)

    def inner(u):
        return mpmath.quad(lambda v: g(v) * mpmath.npdf(v, r * u, sd), [-mpmath.inf, 0, mpmath.inf])

    def outer(u):
        fu = f(u)
        return fu * mpmath.npdf(u, 0, mpmath.sqrt(q11)) * inner(u) if fu != 0 else fu
    return mpmath.quad(outer, [-mpmath.inf, 0, mpmath.inf])


def test_relu_exact_against_mpmath_quadrature():
    with mpmath.workdps(20):
        relu = lambda z: z if z > 0 else mpmath.mpf(0)  # noqa: E731
        ref = _mp_pair(relu, relu, 1.3, 0.4, 0.7)
        k, _ = nk.dual_kernel(nk.Relu()).evaluate(1.3, 0.4, 0.7, dps=20)
        assert abs(ref - k) < mpmath.mpf("1e-18")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["erf", "gelu", "rectified2", "tanh"])
def test_30_digit_mpmath_quadrature(name):
    """30 digits: exact expressions (and the tanh series) vs nested mpmath quadrature."""
    with mpmath.workdps(30):
        q = (1.3, 0.4, 0.7)
        if name == "tanh":
            ref = _mp_pair(mpmath.tanh, mpmath.tanh, *q)
            val, _ = hermite.dual(nk.Tanh(), *(np.array(v) for v in q), False)
            assert abs(float(val) - float(ref)) < 1e-13 * abs(float(ref))
            return
        fn, act = {
            "erf": (mpmath.erf, nk.Erf()),
            "gelu": (lambda z: z * mpmath.ncdf(z), nk.Gelu()),
            "rectified2": (lambda z: z * z if z > 0 else mpmath.mpf(0), nk.RectifiedMonomial(2)),
        }[name]
        ref = _mp_pair(fn, fn, *q)
        k, _ = nk.dual_kernel(act).evaluate(*q, dps=30)
        assert abs(ref - k) < mpmath.mpf("1e-27") * abs(ref)
        assert math.isfinite(float(k))
