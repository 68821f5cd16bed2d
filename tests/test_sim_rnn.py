"""Rate-network simulation: numba kernels vs numpy, integrator order, Lyapunov exponent at
the fixed point vs the spectrum of J, autocorrelation estimator vs direct sums, errors."""

import math

import numpy as np
import pytest

from nnphys.errors import ArgumentTypeError, ParameterError
from nnphys.models.network import Elementwise, Erf, Tanh
from nnphys.models.rnn import RateNetwork
from nnphys.sim import _rnn, rnn


def test_kernels_match_numpy():
    rng = np.random.default_rng(0)
    x, s, f = rng.standard_normal((3, 6, 3))
    out_state, out_phi = np.empty((2, 6, 3))
    _rnn.stage(x, s, 0.3, out_state, out_phi)
    np.testing.assert_allclose(out_state, x + 0.3 * s, rtol=1e-15)
    np.testing.assert_allclose(out_phi, np.tanh(x + 0.3 * s), rtol=1e-14)
    d = np.empty((6, 3))
    _rnn.derivative(x, f, d)
    np.testing.assert_array_equal(d, f - x)
    y = x.copy()
    k = rng.standard_normal((4, 6, 3))
    _rnn.rk4_combine(y, *k, 0.1)
    np.testing.assert_allclose(y, x + 0.1 / 6 * (k[0] + 2 * k[1] + 2 * k[2] + k[3]), rtol=1e-14)
    y = x.copy()
    phi = np.empty((6, 3))
    _rnn.euler_update(y, f, 0.05, phi)
    np.testing.assert_allclose(y, 0.95 * x + 0.05 * f, rtol=1e-14)
    np.testing.assert_allclose(phi, np.tanh(y), rtol=1e-14)
    xv, uv, sx, su = rng.standard_normal((4, 7))
    ox, ou, drive = np.empty(7), np.empty(7), np.empty((7, 2))
    _rnn.tangent_stage(xv, uv, sx, su, 0.2, ox, ou, drive)
    np.testing.assert_allclose(drive[:, 0], np.tanh(xv + 0.2 * sx), rtol=1e-14)
    np.testing.assert_allclose(drive[:, 1], (1 - np.tanh(xv + 0.2 * sx) ** 2) * (uv + 0.2 * su),
                               rtol=1e-13)


def _numpy_rk4(J, x, dt, steps):
    f = lambda y: -y + J @ np.tanh(y)
    for _ in range(steps):
        k1 = f(x); k2 = f(x + dt / 2 * k1); k3 = f(x + dt / 2 * k2); k4 = f(x + dt * k3)
        x = x + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def test_rk4_matches_numpy_and_is_fourth_order():
    """Same seed: the recorded state equals a plain numpy RK4 (roundoff); halving dt cuts
    the error against a dt/8 run by ~16."""
    n, g = 60, 1.8
    J = rnn.coupling(n, g, seed=3)
    traj = rnn.simulate(g, 2.0, 0.1, J=J, transient=0.0, seed=5, record_every=20)
    assert traj.N == n and traj.converged is None and traj.residual is None
    x0 = traj.x[0, 0]
    np.testing.assert_allclose(traj.x[0, 1], _numpy_rk4(J, x0, 0.1, 20), atol=1e-12)
    ref = _numpy_rk4(J, x0, 0.025 / 8, 640)
    err = [np.max(np.abs(_numpy_rk4(J, x0, dt, int(round(2 / dt))) - ref)) for dt in (0.1, 0.05)]
    assert 12 < err[0] / err[1] < 20


def test_euler_is_the_euler_map():
    n, g = 40, 1.5
    J = rnn.coupling(n, g, seed=1)
    traj = rnn.simulate(RateNetwork(g, N=n), 0.5, 0.05, J=J, method="euler", transient=0.0,
                        seed=2)
    x = traj.x[0, 0]
    for s in range(1, traj.t.size):
        x = 0.95 * x + 0.05 * J @ np.tanh(x)
        np.testing.assert_allclose(traj.x[0, s], x, atol=1e-13)


def test_lyapunov_at_fixed_point_is_spectral_abscissa():
    """g < 1: x -> 0 and the tangent dynamics is u' = (-1 + J) u, so lambda_max =
    -1 + max Re eig(J) (eigvals); block standard error and O(1/T) start-up bias ~1e-3."""
    n, g = 200, 0.6
    J = rnn.coupling(n, g, seed=4)
    est = rnn.lyapunov(g, 200.0, 0.1, J=J, transient=50.0, seed=1)
    exact = -1.0 + np.max(np.linalg.eigvals(J).real)
    assert est.mean == pytest.approx(exact, abs=5e-3)
    assert est.stderr > 0 and est.n_eff > 1 and est.converged is None


def test_autocorrelation_matches_direct_sum():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 80, 5)).cumsum(axis=1) * 0.1
    traj = rnn.Trajectory(t=np.arange(80) * 0.5, x=x, N=5, g=1.0, dt=0.5)
    ac = rnn.autocorrelation(traj, 4.0, n_windows=2)
    np.testing.assert_allclose(ac.lags, 0.5 * np.arange(9))
    curves = []
    for k in range(2):
        for w in range(2):
            seg = x[k, w * 40:(w + 1) * 40]
            curves.append([np.mean(np.sum(seg[:40 - s] * seg[s:], axis=0) / (40 - s)) for s in range(9)])
    curves = np.array(curves)
    np.testing.assert_allclose(ac.mean, curves.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(ac.stderr, curves.std(axis=0, ddof=1) / 2, rtol=1e-10)
    assert ac[3].mean == pytest.approx(curves.mean(axis=0)[3], rel=1e-12)


def test_equal_time_variance_matches_direct_mean():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 6, 4))
    traj = rnn.Trajectory(t=np.arange(6) * 0.1, x=x, N=4, g=1.0, dt=0.1)
    est = rnn.equal_time_variance(traj)
    per = np.mean(x ** 2, axis=2)
    np.testing.assert_allclose(est.mean, per.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(est.stderr, per.std(axis=0, ddof=1) / np.sqrt(3), rtol=1e-12)


def test_numpy_path_matches_compiled_tanh():
    """An Elementwise tanh runs the numpy stages: the same trajectory as the compiled tanh
    (roundoff), for RK4, Euler and the Lyapunov tangent system."""
    n, g = 50, 1.8
    J = rnn.coupling(n, g, seed=2)
    slow = Elementwise(lambda x: np.tanh(x), lambda x: 1 - np.tanh(x) ** 2)
    for method in ("rk4", "euler"):
        a = rnn.simulate(g, 2.0, 0.05, J=J, method=method, transient=0.0, seed=3)
        b = rnn.simulate(g, 2.0, 0.05, J=J, method=method, transient=0.0, seed=3,
                         activation=slow)
        np.testing.assert_allclose(b.x, a.x, atol=1e-12)
    la = rnn.lyapunov(g, 20.0, 0.1, J=J, transient=5.0, seed=1, n_blocks=4)
    lb = rnn.lyapunov(g, 20.0, 0.1, J=J, transient=5.0, seed=1, n_blocks=4, activation=slow)
    assert lb.mean == pytest.approx(la.mean, abs=1e-10)


def test_constant_input_shifts_the_fixed_point():
    """g < 1 with a constant input I and phi = Erf: the network settles on the fixed point
    x* = J phi(x*) + I; the recorded state solves it to the RK4 accuracy (the approach is
    exp(-(1 - g) t), 1e-13 by t = 80)."""
    n, g, inp = 30, 0.4, 0.3
    layer = Erf(b=math.sqrt(math.pi) / 2)
    J = rnn.coupling(n, g, seed=5)
    traj = rnn.simulate(RateNetwork(g, layer, input=inp), 1.0, 0.05, J=J, transient=80.0,
                        seed=0)
    x = traj.x[0, -1]
    np.testing.assert_allclose(x, J @ layer.fn(x) + inp, atol=1e-10)


def test_seed_reproducible_and_float32_close():
    a = rnn.simulate(1.5, 1.0, 0.05, N=100, transient=0.0, seed=9)
    b = rnn.simulate(1.5, 1.0, 0.05, N=100, transient=0.0, seed=9)
    np.testing.assert_array_equal(a.x, b.x)
    c = rnn.simulate(1.5, 1.0, 0.05, N=100, transient=0.0, seed=9, dtype=np.float32)
    np.testing.assert_allclose(c.x, a.x, atol=1e-5)      # float32 roundoff, 20 steps


def test_noise_variance_of_free_units():
    """g = 0: Ornstein-Uhlenbeck, stationary variance sigma^2/2 (Euler-Maruyama bias
    sigma^2 dt/4 relative ~1%); 200 units x 8 windows give ~1% standard error."""
    traj = rnn.simulate(0.0, 400.0, 0.02, N=200, method="euler", noise=1.0, transient=10.0,
                        seed=0, record_every=5)
    ac = rnn.autocorrelation(traj, 1.0, n_windows=8)
    exact = 0.5 / (1 - 0.02 / 2)         # Euler-Maruyama stationary variance of the AR(1) map
    assert ac.mean[0] == pytest.approx(exact, abs=4 * ac.stderr[0] + 1e-3)


@pytest.mark.parametrize("bad", [dict(network=-1.0), dict(method="rk2"), dict(dt=1.0),
                                 dict(n_replicas=0), dict(dtype=np.int32), dict(N=1),
                                 dict(N=None), dict(activation=Elementwise(np.sin))])
def test_bad_input(bad):
    args = dict(network=1.5, N=20, t_max=1.0, dt=0.05)
    args.update(bad)
    with pytest.raises(ParameterError):
        rnn.simulate(**args)


def test_activation_must_be_a_layer():
    with pytest.raises(ArgumentTypeError, match="activation"):
        rnn.simulate(1.5, 1.0, N=20, activation="tanh")


def test_stream_sum_matches_numpy():
    a = np.random.default_rng(0).standard_normal(100003)
    assert _rnn.stream_sum(a) == pytest.approx(a.sum(), rel=1e-12, abs=1e-10)


def test_quick_rnn_checks_pass():
    """The rate-network validation checks (one spec for theory and simulation, tolerances
    from the simulation's Estimates) run and pass in quick mode."""
    from nnphys import validation
    results = validation.run(["dmft.chaos_transition", "dmft.lyapunov_vs_network",
                              "dmft.transient_vs_network"], quick=True)
    assert len(results) == 9 and all(r.passed for r in results)
    assert all(r.sigmas == 4.0 for r in results if r.stderr > 0)


def test_autocorrelation_too_many_windows_named():
    # fuzz census reproducer: n_windows = 1e12 leaves empty windows; the refusal names it
    x = np.zeros((2, 80, 5))
    traj = rnn.Trajectory(t=np.arange(80) * 0.5, x=x, N=5, g=1.0, dt=0.5)
    with pytest.raises(ParameterError, match="n_windows"):
        rnn.autocorrelation(traj, 1.0, 10 ** 12)
