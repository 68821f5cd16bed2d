"""Time-domain SCS DMFT: closed forms (linear network, input), compiled vs numpy rows,
second-order convergence and the stationary limit."""

import math

import numpy as np
import pytest

from nnphys.errors import ArgumentTypeError, ParameterError
from nnphys.models.network import Elementwise, Erf, Identity, Tanh
from nnphys.models.rnn import RateNetwork
from nnphys.theory import gaussian
from nnphys.theory.dmft import _pair_kernels, rnn


def test_linear_network_with_noise_reaches_closed_form():
    """phi(x) = x, g < 1: stationary Delta(tau) = sigma^2/(2k) exp(-k|tau|), k = sqrt(1-g^2)
    (spectrum sigma^2/(omega^2 + 1 - g^2)). Trapezoid error O(dt^2) ~ 2e-4 at dt = 0.05;
    the transient e^{-2k t} is 1e-12 at t = 30."""
    g, sigma2 = 0.6, 0.8
    r = rnn.solve(RateNetwork(g, Identity(), noise=sigma2), 32.0, 0.05, x0_variance=2.0)
    k = math.sqrt(1 - g * g)
    tau, d = r.lag_profile(30.0, 2.0)
    np.testing.assert_allclose(d, sigma2 / (2 * k) * np.exp(-k * tau), rtol=1e-3)


def test_free_decay_is_exact():
    """g = 0: Delta(t, s) = s0^2 e^{-(t+s)} + sigma^2/2 (e^{-|t-s|} - e^{-(t+s)}) exactly."""
    r = rnn.solve(0.0, 3.0, 0.1, noise=0.5, x0_variance=1.7)
    assert r.converged is None and r.iterations == 2 * 30 and r.residual < 1e-15
    t = r.t
    exact = 1.7 * np.exp(-(t[:, None] + t)) + 0.25 * (np.exp(-abs(t[:, None] - t)) - np.exp(-(t[:, None] + t)))
    np.testing.assert_allclose(r.delta, exact, atol=1e-14)


def test_common_input_mean_is_second_order():
    """m' = -m + sin t, m(0) = 0: m = (sin t - cos t + e^{-t})/2; trapezoid error O(dt^2)."""
    errors = []
    for dt in (0.1, 0.05):
        r = rnn.solve(0.5, 5.0, dt, input=np.sin, x0_variance=0.1)
        exact = 0.5 * (np.sin(r.t) - np.cos(r.t) + np.exp(-r.t))
        errors.append(np.max(np.abs(r.mean - exact)))
    assert errors[1] < 1e-3 and 3.5 < errors[0] / errors[1] < 4.5


@pytest.mark.parametrize("layer", [Tanh(), Erf(b=math.sqrt(math.pi) / 2), Erf(a=0.6, b=1.7)])
def test_compiled_row_matches_numpy_reference(layer):
    """The numba row (tanh by exponentials, erf with closed-form inner integral) against the
    numpy product-rule reference on the same rule (tanh: roundoff; erf: the inner closed form
    is exact where the reference has the trapezoid error ~1e-15)."""
    rng = np.random.default_rng(0)
    q = rng.uniform(0.2, 3.0, 40)
    m = rng.normal(0, 0.5, 40)
    q_row, m_row = 1.7, 0.3
    c = rng.uniform(-1, 1, 40) * np.sqrt(q * q_row)
    steep = isinstance(layer, Erf) and layer.b > 1.0     # steeper than tanh: finer rule
    rule = gaussian.normal_rule(math.sqrt(3.0) * (2 * layer.b / math.sqrt(math.pi) if steep else 1),
                                z_max=9.0 if steep else 6.5, ratio=0.2 if steep else 0.4)
    out = np.empty(40)
    if isinstance(layer, Erf):
        kind, amp, slope = _pair_kernels.ERF, layer.a, layer.b
    else:
        kind, amp, slope = _pair_kernels.TANH, 1.0, 1.0
    _pair_kernels.pair_row(kind, amp, slope, q_row, m_row, q, m, c, *rule, out)
    ref = gaussian.expect_pair(layer.fn, layer.fn, q_row, q, c, rule=rule, m1=m_row, m2=m)
    np.testing.assert_allclose(out, ref, atol=1e-12)


def test_callable_path_matches_compiled_path():
    a = rnn.solve(1.8, 6.0, 0.1, x0_variance=1.0)
    b = rnn.solve(1.8, 6.0, 0.1, x0_variance=1.0, activation=Elementwise(lambda x: np.tanh(x)))
    np.testing.assert_allclose(b.delta, a.delta, atol=1e-10)


def test_second_order_in_dt():
    """Error halving dt falls by ~4 (reference: the dt/2 run Richardson-extrapolated)."""
    runs = {dt: rnn.solve(2.0, 8.0, dt, x0_variance=1.0) for dt in (0.2, 0.1, 0.05)}
    pick = {dt: r.delta[::int(round(0.2 / dt)), ::int(round(0.2 / dt))] for dt, r in runs.items()}
    e1 = np.max(np.abs(pick[0.2] - pick[0.1]))
    e2 = np.max(np.abs(pick[0.1] - pick[0.05]))
    assert 3.0 < e1 / e2 < 5.0


@pytest.mark.slow
def test_relaxes_to_stationary_solution():
    """From x(0) ~ N(0, Delta0), g = 2, the Richardson extrapolation of dt = 0.2 and 0.1 at
    t0 = 120 matches the potential-method Delta(tau) to 1e-4 (measured 1.5e-5..3.5e-5;
    relaxation is slow: 1e-3 at t0 = 70)."""
    lags = np.array([0.0, 1.0, 2.0, 5.0, 10.0])
    st = rnn.stationary(2.0, lags=lags)
    prof = {}
    for dt in (0.2, 0.1):
        r = rnn.solve(2.0, 130.0, dt, x0_variance=st.delta0)
        tau, d = r.lag_profile(120.0, 10.0)
        prof[dt] = d[np.round(lags / dt).astype(int)]
    np.testing.assert_allclose((4 * prof[0.1] - prof[0.2]) / 3, st.delta, atol=1e-4)


@pytest.mark.parametrize("bad", [dict(network=-1.0, t_max=1.0, dt=0.1),
                                 dict(network=1.0, t_max=1.0, dt=0.0),
                                 dict(network=1.0, t_max=1.0, dt=0.6),
                                 dict(network=1.0, t_max=1e5, dt=0.1),
                                 dict(network=1.0, t_max=1.0, dt=0.1, noise=-1.0),
                                 dict(network=1.0, t_max=1.0, dt=0.1, input=lambda t: t[:3]),
                                 dict(network=1.0, t_max=1.0, dt=0.1, corrector_steps=0)])
def test_bad_input(bad):
    with pytest.raises(ParameterError):
        rnn.solve(**bad)


def test_activation_string_is_refused():
    with pytest.raises(ArgumentTypeError, match="activation"):
        rnn.solve(1.0, 1.0, 0.1, activation="tanh")
