"""PDLT 1/n recursions: landmarks of PDLT (Roberts, Yaida & Hanin 2022, sec. 5.4; each
computed beforehand by two routes, quadrature and the closed forms of the book), exact
arithmetic (sympy) for polynomial activations, the deep linear network in closed form, and
the all-orders ReLU kurtosis against its expansion."""

import math

import numpy as np
import pytest
import sympy as sp

from nnphys.errors import ParameterError
from nnphys.theory import finite_width as fw
from nnphys.theory import kernels as nk


def test_relu_at_criticality_is_exactly_linear_in_depth():
    r = fw.recursion(nk.Relu(), 12, math.sqrt(2.0), 0.0, 1.0)
    assert np.allclose(r.V / r.K ** 2, 5.0 * np.arange(12), rtol=1e-12, atol=1e-12)
    assert np.allclose(r.K1, 0.0, atol=1e-12)
    assert np.allclose(r.K, 1.0, rtol=1e-13)


@pytest.mark.parametrize("a", [0.0, 0.1, 0.5, 1.0])
def test_scale_invariant_vertex_coefficient(a):
    """nu_l / (l - 1) = 3 A4/A2^2 - 1 for phi = max(z, 0) + a min(z, 0) at C_W = 1/A2."""
    a2, a4 = (1 + a * a) / 2, (1 + a ** 4) / 2
    r = fw.recursion(nk.LeakyRelu(a), 3, math.sqrt(1 / a2), 0.0, 0.7)
    assert r.V[2] / r.K[2] ** 2 / 2 == pytest.approx(3 * a4 / a2 ** 2 - 1, rel=1e-11)


def test_tanh_landmarks():
    """PDLT sec. 5.4 (K^(1) = 1, C_W = 1, C_b = 0), 6-7 digits printed."""
    r = fw.recursion(nk.Tanh(), 10, 1.0, 0.0, 1.0)
    nu = r.V / r.K ** 2
    assert nu[[1, 2, 4, 9]] == pytest.approx([0.627291, 1.212823, 2.408274, 5.523524], abs=1e-6)
    assert r.K[9] == pytest.approx(0.058012, abs=1e-6)
    assert r.K1[9] == pytest.approx(-0.107134, abs=1e-6)
    deep = fw.recursion(nk.Tanh(), 1000, 1.0, 0.0, 1.0)
    assert deep.V[-1] / deep.K[-1] ** 2 / 1000 == pytest.approx(0.664148, abs=1e-6)
    assert deep.K1[-1] == pytest.approx(-0.165816, abs=1e-6)


def test_excess_kurtosis_is_three_nu_over_n():
    relu = fw.recursion(nk.Relu(), 10, math.sqrt(2.0), 0.0).excess_kurtosis(32)
    assert relu[-1] == pytest.approx(135 / 32, rel=1e-12)
    assert fw.recursion(nk.Tanh(), 1, 1.0, 0.0).excess_kurtosis(32)[-1] == 0.0
    assert fw.recursion(nk.Tanh(), 1, 1.0, 0.0).converged is None     # no solver: a recursion


def test_symbolic_recursion_matches_quadrature():
    """phi = z + z^2/2 - z^3/5 with C_b > 0: exact rationals vs the numerical recursion."""
    coef = [0, 1, sp.Rational(1, 2), sp.Rational(-1, 5)]
    exact = fw.symbolic_recursion(coef, 4, sp.sqrt(sp.Rational(9, 10)),
                                  sp.sqrt(sp.Rational(1, 10)), 1)
    K, V, K1 = exact.K, exact.V, exact.K1
    r = fw.recursion(nk.Polynomial((0.0, 1.0, 0.5, -0.2)), 4, math.sqrt(0.9),
                     math.sqrt(0.1), 1.0)
    assert np.allclose(r.K, [float(k) for k in K], rtol=1e-12)
    assert np.allclose(r.V, [float(v) for v in V], rtol=1e-11, atol=1e-14)
    assert np.allclose(r.K1, [float(k) for k in K1], rtol=1e-10, atol=1e-14)


def test_all_orders_relu_kurtosis_expansion():
    """3[(1+5/n)^(l-1) - 1] = 15(l-1)/n + 75(l-1)(l-2)/(2n^2) + O(n^-3); landmark 8.0812 at
    n = 32, l = 10."""
    assert fw.scale_invariant_excess_kurtosis(10, 32) == pytest.approx(8.08120, abs=1e-5)
    n = 1e4
    for l in (2, 5, 10):
        second = 15 * (l - 1) / n + 75 * (l - 1) * (l - 2) / (2 * n * n)
        # the next term, 125 (l-1)(l-2)(l-3)/(2 n^3), is below 3e-6 of the sum here
        assert fw.scale_invariant_excess_kurtosis(l, n) == pytest.approx(second, rel=3e-6)
    # linear activation: growth constant 3 A4/A2^2 - 1 = 2
    assert fw.scale_invariant_excess_kurtosis(3, 10, 1.0, 1.0) == pytest.approx(3 * (1.2 ** 2 - 1))


def test_multi_input_deep_linear_closed_form():
    """Linear network, C_W = 1, C_b = 0: V^(l)_(ab)(cd) = (l - 1)(K_ac K_bd + K_ad K_bc),
    K1 = 0 (induction on the recursion; Gauss-Hermite is exact for polynomials)."""
    k0 = np.array([[1.0, 0.3, -0.2], [0.3, 0.8, 0.1], [-0.2, 0.1, 1.3]])
    r = fw.recursion(nk.Identity(), 4, 1.0, 0.0, k0)
    pair = np.einsum("ac,bd->abcd", k0, k0) + np.einsum("ad,bc->abcd", k0, k0)
    for l in range(4):
        assert np.allclose(r.V[l], l * pair, rtol=1e-10, atol=1e-12)
    assert np.allclose(r.K1, 0.0, atol=1e-11)


def test_multi_input_reduces_to_single_input_on_the_diagonal():
    k0 = np.array([[1.0, 0.5], [0.5, 1.2]])
    r = fw.recursion(nk.Tanh(), 6, 1.0, math.sqrt(0.05), k0)
    for a, q in ((0, 1.0), (1, 1.2)):
        single = fw.recursion(nk.Tanh(), 6, 1.0, math.sqrt(0.05), q)
        # 64-node Gauss-Hermite per dimension for tanh (poles at +-i pi/2): ~1e-7
        assert np.allclose(r.V[:, a, a, a, a], single.V, rtol=1e-6, atol=1e-9)
        assert np.allclose(r.K1[:, a, a], single.K1, rtol=1e-5, atol=1e-9)
    # V is symmetric under a <-> b and (ab) <-> (cd)
    v = r.V[-1]
    assert np.allclose(v, v.transpose(1, 0, 2, 3)) and np.allclose(v, v.transpose(2, 3, 0, 1))


def test_bad_input():
    with pytest.raises(ParameterError, match="depth"):
        fw.recursion(nk.Tanh(), 0, 1.0, 0.0)
    with pytest.raises(ParameterError, match="q0"):
        fw.recursion(nk.Tanh(), 3, 1.0, 0.0, np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ParameterError, match="width"):
        fw.recursion(nk.Tanh(), 3, 1.0, 0.0).excess_kurtosis(0.5)
    with pytest.raises(ParameterError, match="explodes"):
        fw.recursion(nk.Relu(), 3000, 2.0, 0.0, 1.0)


def test_vanishing_q0_named():
    # fuzz census reproducer: q0 = 1e-300 underflowed K^2 in the K1 update (NaN, reported
    # unnamed); q0 below 1e-60 is now refused as q0
    from nnphys.models.network import ABRelu
    with pytest.raises(ParameterError, match="^q0:"):
        fw.recursion(ABRelu(a=0.0, b=1.0), 3, 2.0, 0.0, 1e-300)
