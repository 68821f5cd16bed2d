"""Fully connected NNGP/NTK: closed forms, series and recursions against independent routes."""

import math

import numpy as np
import pytest

from nnphys import NumericalError
from nnphys.errors import ArgumentTypeError, ParameterError
from nnphys.models.network import std_from_variance
from nnphys.results import load
from nnphys.theory import kernels as nk
from nnphys.theory.kernels import duals, hermite, _fused
from nnphys.theory.kernels.layers import apply_layer

from .quadrature import pair_expectation

# (q11, q12, q22) triples: generic, strongly correlated, anticorrelated, large variance.
PAIRS = [(1.3, 0.4, 0.7), (2.0, 1.9, 1.85), (0.8, -0.6, 0.9), (9.0, 5.0, 12.0)]

CLOSED_FORM = [
    (nk.Relu(), (0.0,)),
    (nk.LeakyRelu(0.1), (0.0,)),
    (nk.ABRelu(-0.3, 1.2), (0.0,)),
    (nk.Abs(), (0.0,)),
    (nk.Erf(), ()),
    (nk.Erf(1.3, 0.7, 0.2), ()),
    (nk.Gelu(), ()),
    (nk.Sin(1.1, 0.8, 0.3), ()),
    (nk.Cos(), ()),
    (nk.Rbf(0.7), ()),
    (nk.Exp(1.0, 0.3), ()),
    (nk.Gaussian(1.0, -0.5), ()),
    (nk.Sign(), (0.0,)),
    (nk.Polynomial((0.1, 1.0, 0.5, -0.2)), ()),
    (nk.Monomial(3), ()),
    (nk.Hermite(4), ()),
    (nk.RectifiedMonomial(0), (0.0,)),
    (nk.RectifiedMonomial(2), (0.0,)),
    (nk.RectifiedMonomial(3), (0.0,)),
]


@pytest.mark.parametrize("act,kinks", CLOSED_FORM, ids=lambda v: repr(v))
@pytest.mark.parametrize("pair", PAIRS[:3])
def test_closed_form_duals_match_quadrature(act, kinks, pair):
    """Each closed-form dual equals nested adaptive quadrature (error ~1e-12)."""
    q11, q12, q22 = pair
    nngp, dot = duals.dual(act, np.array(q11), np.array(q12), np.array(q22), True)
    ref = pair_expectation(act.fn, act.fn, q11, q12, q22, kinks)
    assert nngp == pytest.approx(ref, rel=1e-9, abs=1e-11)
    if isinstance(act, nk.Sign().__class__) or (
            isinstance(act, nk.RectifiedMonomial(0).__class__) and act.degree == 0):
        # phi' is a delta function; neural-tangents' convention sets the NTK map to 0.
        assert np.all(dot == 0)
        return
    ref_dot = pair_expectation(act.fn_prime, act.fn_prime, q11, q12, q22, kinks)
    assert dot == pytest.approx(ref_dot, rel=1e-9, abs=1e-11)


def test_known_value_erf_second_moment():
    """E[erf(z)^2] = (2/pi) arcsin(2/3) for z ~ N(0, 1) (Williams 1997)."""
    nngp, _ = duals.dual(nk.Erf(), np.array(1.0), np.array(1.0), np.array(1.0), False)
    assert nngp == pytest.approx(2 / math.pi * math.asin(2 / 3), rel=1e-15)


def test_rectified_monomial_diagonal_is_finite():
    """neural-tangents 0.6.5 returns NaN here; the value is (2n-1)!! q^n / 2."""
    q = np.array([0.7, 2.0])
    for n in range(5):
        nngp, dot = duals.dual(nk.RectifiedMonomial(n), q, q, q, True)
        double_factorial = np.prod(np.arange(2 * n - 1, 0, -2)) if n else 1
        np.testing.assert_allclose(nngp, double_factorial * q ** n / 2, rtol=1e-13)
        assert np.all(np.isfinite(dot))


def test_dual_refuses_what_is_not_a_covariance():
    """duals.dual is a public entry point: arguments that are not a finite covariance are
    refused by name; an overflow of the kernel itself is a NumericalError (inside
    Network.kernel the recursion reports it as "nngp"/"ntk", see test_overflow_raises_clearly)."""
    act = nk.Erf()
    with pytest.raises(ParameterError, match="q11"):
        duals.dual(act, -1.0, 0.0, 1.0, True)
    with pytest.raises(ParameterError, match="q22"):
        duals.dual(act, 1.0, 0.0, np.inf, True)
    with pytest.raises(ParameterError, match="q12"):
        duals.dual(act, 1.0, 1.5, 1.0, True)        # |q12| > sqrt(q11 q22)
    with pytest.raises(ArgumentTypeError, match="q12"):
        duals.dual(act, 1.0, "x", 1.0, True)
    with pytest.raises(NumericalError, match="overflows"):
        duals.dual(nk.Monomial(3), 1e200, 1e200, 1e200, True)   # E[u^6] = 15 q^3
    # the diagonal q12 = q11 = q22 (rho = 1 exactly) is accepted
    assert np.isfinite(duals.dual(act, 2.0, 2.0, 2.0, True)[0])


def test_fast_arcsin_arccos():
    """The vectorisable arcsin/arccos of the fused path agree with libm to a few ulp."""
    x = np.concatenate([np.linspace(-1, 1, 20001), 1 - np.logspace(-16, -1, 200),
                        -1 + np.logspace(-16, -1, 200)])
    import numba

    @numba.njit
    def both(x):
        out = np.empty((2, x.size))
        for i in range(x.size):
            out[0, i] = _fused.asin(x[i])
            out[1, i] = _fused.acos(x[i])
        return out

    a, c = both(x)
    np.testing.assert_allclose(a, np.arcsin(x), rtol=1e-15, atol=1e-300)
    np.testing.assert_allclose(c, np.arccos(x), rtol=1e-15, atol=1e-300)


def _mlp(act, depth=3, param="ntk", b_std=0.05, width=7):
    layers = []
    for _ in range(depth - 1):
        layers += [nk.Dense(width, 1.5, b_std, param), act]
    return nk.serial(*layers, nk.Dense(1, 1.5, b_std, param))


@pytest.mark.parametrize("act", [nk.Relu(), nk.LeakyRelu(0.2), nk.Erf(1.3, 0.7, 0.2)])
@pytest.mark.parametrize("param", ["ntk", "standard"])
@pytest.mark.parametrize("b_std", [0.05, None])
def test_fused_path_equals_layerwise_path(act, param, b_std):
    """Compiled fused recursion == numpy layer-by-layer recursion (roundoff only)."""
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((9, 5)), rng.standard_normal((4, 5))
    net = _mlp(act, 4, param, b_std)
    assert _fused.supports(net.spec)
    for a, b in [(x1, x2), (x1, None)]:
        fused = net.kernel(a, b)
        plain = apply_layer(net.spec, nk.input_kernel(a, b))
        np.testing.assert_allclose(fused.nngp, plain.nngp, rtol=1e-13)
        np.testing.assert_allclose(fused.ntk, plain.ntk, rtol=1e-13)


def test_symmetric_diagonal_exact_and_equal_to_explicit_x2():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((11, 6))
    net = _mlp(nk.Relu(), 5)
    k_sym = net.kernel(x)
    k_two = net.kernel(x, x.copy())
    np.testing.assert_array_equal(k_sym.nngp, k_sym.nngp.T)
    np.testing.assert_allclose(k_sym.ntk, k_two.ntk, rtol=1e-7)   # x2 path: ~1e-8 angles
    np.testing.assert_allclose(np.diagonal(k_sym.nngp), k_sym.cov1, rtol=0, atol=0)


def test_blocked_equals_unblocked():
    rng = np.random.default_rng(3)
    x1, x2 = rng.standard_normal((13, 4)), rng.standard_normal((7, 4))
    net = nk.serial(nk.Dense(5, 1.2, 0.1), nk.Gelu(), nk.Dense(5, 1.2, 0.1), nk.Relu(),
                    nk.Dense(1))
    for b in (1, 3, 5, (4, 6)):
        for a, c in [(x1, x2), (x1, None)]:
            full = net.kernel(a, c)
            blocked = net.kernel(a, c, block_size=b)
            # Equal up to the roundoff of BLAS Gram products of different shapes.
            np.testing.assert_allclose(full.nngp, blocked.nngp, rtol=1e-14)
            np.testing.assert_allclose(full.ntk, blocked.ntk, rtol=1e-14)


def test_relu_critical_depth_1000():
    """ReLU at (sigma_w^2, sigma_b^2) = (2, 0): the NNGP diagonal is constant and the NTK
    diagonal is (L + 1) K exactly; correlations stay in [-1, 1] at depth 1000."""
    depth = 1000
    x = np.random.default_rng(4).standard_normal((5, 8))
    net = nk.serial(*[nk.Dense(10, math.sqrt(2)), nk.Relu()] * depth, nk.Dense(1, math.sqrt(2)))
    k = net.kernel(x)
    q = np.sum(x * x, axis=1) / 8 * 2
    np.testing.assert_allclose(np.diagonal(k.nngp), q, rtol=1e-12)
    np.testing.assert_allclose(np.diagonal(k.ntk), (depth + 1) * q, rtol=1e-12)
    diag = np.diagonal(k.nngp)
    rho = k.nngp / np.sqrt(np.outer(diag, diag))
    assert np.all(np.abs(rho) <= 1.0 + 4e-16)   # roundoff of this test's own division
    # Off-diagonal NTK ratio tends to 1/4 as 1/L (reference 1.4: ~0.2533 at L ~ 1000).
    ratio = k.ntk[0, 1] / np.sqrt(k.ntk[0, 0] * k.ntk[1, 1])
    assert 0.25 < ratio < 0.26


def test_deep_erf_and_tanh_are_finite():
    x = np.random.default_rng(5).standard_normal((4, 3))
    for act in (nk.Erf(),):
        net = nk.serial(*[nk.Dense(3, 2.5, 0.3), act] * 1000, nk.Dense(1))
        k = net.kernel(x)
        assert np.all(np.isfinite(k.ntk)) and np.all(np.isfinite(k.nngp))


def test_overflow_raises_clearly():
    """sigma_w^2 / 2 = 4.5 per ReLU layer overflows float64 after ~470 layers."""
    x = np.ones((2, 3))
    net = nk.serial(*[nk.Dense(3, 3.0), nk.Relu()] * 1000, nk.Dense(1))
    with pytest.raises(NumericalError, match="overflow"):
        net.kernel(x)


@pytest.mark.parametrize("act,q_scale", [(nk.Erf(), 1.0), (nk.Erf(1.3, 0.7, 0.2), 1.0),
                                         (nk.Erf(), 30.0), (nk.Sin(1.0, 1.0, 0.3), 1.0),
                                         (nk.Gelu(), 4.0)])
def test_elementwise_series_matches_closed_form(act, q_scale):
    """The Hermite-series quadrature of `Elementwise(phi)` reproduces closed forms to 1e-10,
    including preactivation variances ~ 30-60 (where fixed Gauss-Hermite needs deg ~1000)."""
    generic = nk.Elementwise(act.fn, name="generic")
    q11 = q_scale * np.array([[1.0], [2.0], [0.3]])
    q22 = q_scale * np.array([[1.5, 0.9, 2.0, 1.0]])
    rho = np.random.default_rng(6).uniform(-1, 1, (3, 4))
    rho[0, 3] = 1.0
    rho[1, 0] = -0.999999
    q12 = rho * np.sqrt(q11 * q22)
    ref, ref_dot = duals.dual(act, q11, q12, q22, True)
    val, dot = hermite.dual(generic, q11, q12, q22, True)
    scale = np.sqrt(duals.dual(act, q11, q11, q11, False)[0] * duals.dual(act, q22, q22, q22, False)[0])
    scale_dot = np.sqrt(duals.dual(act, q11, q11, q11, True)[1] * duals.dual(act, q22, q22, q22, True)[1])
    assert np.max(np.abs(val - ref) / scale) < 1e-10
    assert np.max(np.abs(dot - ref_dot) / scale_dot) < 1e-10


def test_tanh_network_against_quadrature():
    """Tanh net: one hidden layer, so the output NNGP is one pair expectation."""
    x = np.array([[1.0, 0.5, -0.3], [0.2, -1.1, 0.8]])
    net = nk.serial(nk.Dense(4, 1.7, 0.2), nk.Tanh(), nk.Dense(1, 1.3, 0.1))
    k = net.kernel(x)
    g = x @ x.T / 3 * 1.7 ** 2 + 0.04
    ref = pair_expectation(np.tanh, np.tanh, g[0, 0], g[0, 1], g[1, 1])
    assert k.nngp[0, 1] == pytest.approx(1.69 * ref + 0.01, rel=1e-11)
    sech2 = lambda z: 1 / np.cosh(z) ** 2  # noqa: E731
    ref_dot = pair_expectation(sech2, sech2, g[0, 0], g[0, 1], g[1, 1])
    assert k.ntk[0, 1] == pytest.approx(k.nngp[0, 1] + 1.69 * ref_dot * g[0, 1], rel=1e-11)


def test_non_smooth_elementwise_raises():
    from nnphys import ConvergenceError
    step = nk.Elementwise(lambda z: (z > 0).astype(float), name="step")
    net = nk.serial(nk.Dense(3), step, nk.Dense(1))
    with pytest.raises(ConvergenceError):
        net.kernel(np.ones((2, 3)))


@pytest.mark.parametrize("bad,match", [
    (lambda: nk.Dense(3, W_std=-1.0), "W_std"),
    (lambda: nk.Dense(3, W_std=float("nan")), "W_std"),
    (lambda: nk.Dense(0), "out_dim"),
    (lambda: nk.Dense(3, parameterization="mup"), "parameterization"),
    (lambda: nk.Monomial(-1), "degree"),
    (lambda: nk.from_spec("Dense(3), Foo()"), "Foo"),
])
def test_bad_layer_arguments(bad, match):
    with pytest.raises(ParameterError, match=match):
        bad()


def test_bad_layer_argument_types_and_variances():
    with pytest.raises(ArgumentTypeError, match="W_std"):
        nk.Dense(3, W_std="1.5")
    with pytest.raises(ArgumentTypeError, match="fn"):
        nk.Elementwise(3.0)
    assert std_from_variance(2.25, "C_W") == 1.5
    np.testing.assert_array_equal(std_from_variance([4.0, 0.0]), [2.0, 0.0])
    with pytest.raises(ParameterError, match="C_b"):
        std_from_variance(-0.1, "C_b")


def test_kernel_record_saves_and_loads(tmp_path):
    k = _mlp(nk.Erf()).kernel(np.random.default_rng(0).standard_normal((3, 5)))
    k.save(tmp_path / "k.npz")
    back = load(tmp_path / "k.npz")
    assert isinstance(back, type(k)) and back.spatial_shape == k.spatial_shape
    np.testing.assert_array_equal(back.ntk, k.ntk)
    np.testing.assert_array_equal(back.nngp, k.nngp)


def test_bad_inputs():
    net = _mlp(nk.Relu())
    x = np.ones((3, 5))
    with pytest.raises(ValueError, match="x1"):
        net.kernel(np.array([[np.nan, 1, 2, 3, 4]]))
    with pytest.raises(ValueError, match="x2"):
        net.kernel(x, np.ones((2, 4)))
    with pytest.raises(ValueError, match="get"):
        net.kernel(x, get="foo")
    with pytest.raises(ValueError, match="block_size"):
        net.kernel(x, block_size=0)


def test_spec_string_builds_the_same_network():
    a = nk.from_spec("(Dense(7, W_std=1.5, b_std=0.05), Relu()) * 2, Dense(1, W_std=1.5)")
    b = nk.serial(nk.Dense(7, 1.5, 0.05), nk.Relu(), nk.Dense(7, 1.5, 0.05), nk.Relu(),
                  nk.Dense(1, 1.5))
    assert a == b


def test_finite_width_apply_matches_parameterizations():
    """NTK and standard parameterization give the same function for matched draws."""
    x = np.random.default_rng(7).standard_normal((3, 4))
    ntk_net = nk.serial(nk.Dense(6, 1.4, 0.2), nk.Relu(), nk.Dense(2, 1.4, 0.2))
    std_net = nk.serial(nk.Dense(6, 1.4, 0.2, "standard"), nk.Relu(),
                        nk.Dense(2, 1.4, 0.2, "standard"))
    y1 = ntk_net.apply(ntk_net.init(5, x.shape), x)
    y2 = std_net.apply(std_net.init(5, x.shape), x)
    np.testing.assert_allclose(y1, y2, rtol=1e-12)
    assert y1.shape == (3, 2)
