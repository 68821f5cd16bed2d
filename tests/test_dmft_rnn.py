"""SCS stationary DMFT: reference landmarks, near-critical expansion, closed forms, errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nnphys.errors import ArgumentTypeError, ConvergenceError, ParameterError
from nnphys.models.network import Elementwise, Erf, Tanh
from nnphys.models.rnn import RateNetwork
from nnphys.theory import gaussian
from nnphys.theory.dmft import rnn

SCS_ERF = Erf(b=math.sqrt(math.pi) / 2)          # erf(sqrt(pi) x / 2): unit slope at 0

# Reference values (J ~ N(0, g^2/N), tanh; Sompolinsky, Crisanti & Sommers, PRL 61, 259 (1988)),
# computed independently (tests/data/README.md) by two solvers (potential root + spectral fixed-point iteration)
# agreeing to 1e-7 in Delta0; lambda_max is quoted to 5 decimals, so it is checked to 1e-5.
LANDMARKS = {
    1.5: dict(delta0=0.7476864, lags={1.0: 0.736823, 2.0: 0.705910, 5.0: 0.541358,
                                      10.0: 0.272251, 20.0: 0.055756},
              lyapunov=0.04675, kappa=0.161579, c_phi0=0.3420935, mean_dphi=0.6579065),
    2.0: dict(delta0=1.9248054, lags={1.0: 1.863003, 2.0: 1.699660, 5.0: 1.034578,
                                      10.0: 0.351061, 20.0: 0.036125},
              lyapunov=0.11246, kappa=0.228074, c_phi0=0.5131781, mean_dphi=0.4868219),
}


@pytest.mark.parametrize("g", sorted(LANDMARKS))
def test_reference_landmarks(g):
    ref = LANDMARKS[g]
    lags = np.array([0.0, *ref["lags"]])
    r = rnn.stationary(g, lags=lags)
    assert r.converged and r.chaotic and r.iterations > 0 and r.residual >= abs(r.energies[1])
    assert r.delta0 == pytest.approx(ref["delta0"], abs=1e-7)      # quoted to 7 decimals
    np.testing.assert_allclose(r.delta[1:], list(ref["lags"].values()), atol=2e-6)
    assert r.lyapunov == pytest.approx(ref["lyapunov"], abs=1e-5)
    assert r.kappa == pytest.approx(ref["kappa"], abs=2e-6)
    assert r.c_phi0 == pytest.approx(ref["c_phi0"], abs=2e-7)
    assert r.mean_dphi == pytest.approx(ref["mean_dphi"], abs=2e-7)
    # Goldstone mode Delta'(tau): E_1 = 0 up to the finite-difference/ODE error
    assert abs(r.energies[1]) < 1e-8 and r.energies[0] < 0


def test_tail_rate_matches_curve():
    """The tail exp(-kappa tau), kappa^2 = 1 - g^2 <phi'>^2, against the ODE curve itself."""
    r = rnn.stationary(2.0, lags=np.array([30.0, 32.0]))
    slope = -math.log(r.delta[1] / r.delta[0]) / 2.0
    assert slope == pytest.approx(r.kappa, rel=1e-4)   # cubic corrections ~ (Delta/Delta0)^2


@pytest.mark.parametrize("g", [1.001, 1.01])
def test_near_critical_expansion(g):
    """Delta0 = (g-1) + 7/6 (g-1)^2 + O((g-1)^3); lambda = Delta0^2/2 (1 + O(g-1))
    (Pöschl-Teller limit of the Schrödinger problem, reference section a)."""
    eps = g - 1.0
    r = rnn.stationary(g)
    assert abs(r.delta0 - (eps + 7.0 / 6.0 * eps ** 2)) < 2.0 * eps ** 3
    assert r.kappa == pytest.approx(r.delta0 / math.sqrt(3.0), rel=10 * eps)
    assert r.lyapunov == pytest.approx(r.delta0 ** 2 / 2.0, rel=10 * eps)


@pytest.mark.parametrize("g", [0.5, 0.99, 1.0])
def test_fixed_point_below_transition(g):
    r = rnn.stationary(g)
    assert not r.chaotic and r.delta0 == 0.0 and np.all(r.delta == 0.0)
    assert r.converged is None and r.residual is None     # a closed form: nothing iterated
    assert r.lyapunov == pytest.approx(g - 1.0)          # circular law: max Re eig = g


def test_erf_curve_solves_newton_equation_with_closed_form():
    """For phi = erf(sqrt(pi) x/2) the two-point function has a closed form (arcsine): the
    returned Delta(tau) must satisfy Delta'' = Delta - g^2 C(Delta) with that C (second
    differences, spacing 0.01: error ~ h^2 Delta''''/12 ~ 1e-6), and the energy condition."""
    g = 1.7
    tau = np.arange(0.0, 20.0, 0.01)
    r = rnn.stationary(RateNetwork(g, SCS_ERF), lags=tau)
    d = r.delta
    second = (d[2:] - 2 * d[1:-1] + d[:-2]) / 0.01 ** 2
    rhs = d[1:-1] - g * g * gaussian.erf_pair(r.delta0, r.delta0, d[1:-1], b=SCS_ERF.b)
    np.testing.assert_allclose(second, rhs, atol=2e-6)
    # energy: g^2 int_0^Delta0 C = Delta0^2/2 (Gauss-Legendre on the closed form)
    x, w = np.polynomial.legendre.leggauss(60)
    dd = 0.5 * r.delta0 * (x + 1)
    integral = 0.5 * r.delta0 * w @ gaussian.erf_pair(r.delta0, r.delta0, dd, b=SCS_ERF.b)
    assert g * g * integral == pytest.approx(r.delta0 ** 2 / 2, rel=1e-12)


def test_scaled_erf_solves_energy_condition():
    """phi = a erf(b x) with a != 1, b != sqrt(pi)/2: the arcsine closed form with a, b
    (Williams 1997) satisfies the energy condition g^2 int_0^Delta0 C = Delta0^2/2, and
    phi'(0) = 2ab/sqrt(pi) sets g_c."""
    layer = Erf(a=0.8, b=1.3)
    r = rnn.stationary(RateNetwork(2.5, layer))
    assert r.g_c == pytest.approx(math.sqrt(math.pi) / (2 * 0.8 * 1.3), rel=1e-15)
    x, w = np.polynomial.legendre.leggauss(60)
    dd = 0.5 * r.delta0 * (x + 1)
    integral = 0.5 * r.delta0 * w @ gaussian.erf_pair(r.delta0, r.delta0, dd, a=0.8, b=1.3)
    assert 2.5 ** 2 * integral == pytest.approx(r.delta0 ** 2 / 2, rel=1e-12)


def test_spec_and_keywords_agree():
    a = rnn.stationary(RateNetwork(1.5, Tanh()), lags=np.array([0.0, 2.0]))
    b = rnn.stationary(1.5, lags=np.array([0.0, 2.0]))
    assert a.delta0 == b.delta0 and a.activation == "Tanh()"


def test_callable_activation_matches_builtin():
    """tanh as an anonymous Elementwise layer: numerical derivative and primitive (errors
    ~1e-12)."""
    a = rnn.stationary(2.0, lags=np.array([0.0, 5.0]))
    b = rnn.stationary(2.0, activation=Elementwise(lambda x: np.tanh(x)),
                       lags=np.array([0.0, 5.0]))
    assert b.delta0 == pytest.approx(a.delta0, abs=1e-9)
    assert b.lyapunov == pytest.approx(a.lyapunov, abs=1e-8)
    np.testing.assert_allclose(b.delta, a.delta, atol=1e-8)


@pytest.mark.parametrize("a, b", [(1.0, math.sqrt(math.pi) / 2), (0.7, 1.9)])
def test_pair_expectation_against_closed_form_and_hermite(a, b):
    q1, q2 = 1.3, 2.7
    c = np.linspace(-1.8, 1.8, 7)
    layer = Erf(a=a, b=b)
    got = gaussian.expect_pair(layer.fn, layer.fn, q1, q2, c)
    np.testing.assert_allclose(got, gaussian.erf_pair(q1, q2, c, a=a, b=b), atol=1e-14)
    got = gaussian.expect_pair(layer.fn_prime, layer.fn_prime, q1, q2, c)
    np.testing.assert_allclose(got, gaussian.erf_derivative_pair(q1, q2, c, a=a, b=b),
                               atol=1e-14)
    # smooth polynomial integrand: Gauss-Hermite is exact, E[x^3 y] = 3 q1 c
    z, w = gaussian.gauss_hermite(20)
    got = gaussian.expect_pair(lambda x: x ** 3, lambda y: y, q1, q2, c, rule=(z, w))
    np.testing.assert_allclose(got, 3 * q1 * c, atol=1e-12)


def test_result_round_trip(tmp_path):
    from nnphys import results
    r = rnn.stationary(1.5, lags=np.linspace(0, 5, 11))
    r.save(tmp_path / "scs")
    back = results.load(tmp_path / "scs.npz")
    assert back.delta0 == r.delta0 and np.array_equal(back.delta, r.delta)


@pytest.mark.parametrize("bad", [dict(network=-1.0), dict(network=float("nan")),
                                 dict(network=0.0),
                                 dict(network=2.0, activation=Elementwise(lambda x: x ** 2)),
                                 dict(network=2.0, activation=Erf(c=0.1)),
                                 dict(network=RateNetwork(2.0, noise=0.5)),
                                 dict(network=2.0, lags=np.array([1.0, 0.5]))])
def test_bad_input(bad):
    with pytest.raises(ParameterError):
        rnn.stationary(**bad)


@pytest.mark.parametrize("activation", ["tanh", np.tanh])
def test_activation_must_be_a_layer(activation):
    with pytest.raises(ArgumentTypeError, match="activation"):
        rnn.stationary(2.0, activation=activation)


def test_non_saturating_activation_raises():
    cubic = Elementwise(lambda x: x + 0.1 * x ** 3, lambda x: 1 + 0.3 * x ** 2)
    with pytest.raises(ConvergenceError):
        rnn.stationary(2.0, activation=cubic)
    r = rnn.stationary(2.0, activation=cubic, strict=False)
    assert r.converged is False and math.isnan(r.delta0)

_ANY_NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                        st.none(), st.text(max_size=2))


@settings(max_examples=60, deadline=None)
@given(g=_ANY_NUMBER, noise=_ANY_NUMBER, N=st.one_of(st.none(), st.integers(-3, 60000),
                                                    st.floats(allow_nan=True)))
def test_spec_validates_every_argument(g, noise, N):
    """Any arguments: a valid spec, or a ParameterError / ArgumentTypeError naming one."""
    try:
        spec = RateNetwork(g, noise=noise, N=N)
    except (ParameterError, ArgumentTypeError) as err:
        assert str(err).split(":")[0] in ("g", "noise", "N")
        return
    assert spec.g >= 0 and math.isfinite(spec.g) and spec.noise >= 0
    assert spec.N is None or 2 <= spec.N <= 50000


@settings(max_examples=8, deadline=None)
@given(g=st.floats(0.05, 6.0))
def test_stationary_is_finite_for_any_gain(g):
    """Every g in (0, 6]: a finite record, chaotic exactly above g_c = 1 (tanh)."""
    r = rnn.stationary(g, lags=np.array([0.0, 1.0]))
    assert np.isfinite(r.delta0) and r.delta0 >= 0 and np.isfinite(r.lyapunov)
    assert r.chaotic == (g > 1.0)
