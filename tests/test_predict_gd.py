"""gradient_descent (function-space ODE, any loss) and max_learning_rate: against the MSE
closed form, the damped-oscillator solution of heavy-ball momentum, the discrete iteration,
physical invariants of the cross-entropy flow, and wide finite networks trained on it."""

import numpy as np
import pytest

from nnphys.errors import ArgumentTypeError, ConvergenceError, NumericalError, ParameterError
from nnphys.sim import networks
from nnphys.theory import kernels as nk


def _problem(n_train=10, n_test=4, seed=0, d=4):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, d))
    net = nk.serial(nk.Dense(8, 1.4, 0.1), nk.Relu(), nk.Dense(8, 1.4, 0.1), nk.Relu(),
                    nk.Dense(1, 1.4, 0.1))
    k = net.kernel(x, get="ntk")
    return k[:n_train, :n_train], k[n_train:, :n_train], rng


@pytest.mark.parametrize("method", ["DOP853", "Radau", "LSODA"])
def test_mse_equals_the_closed_form(method):
    """loss="mse" from f_0 = 0 is gradient_descent_mse's mean, train and test, at several
    times. The ODE's local error is controlled to rtol = 1e-10 (atol 1e-12) over at most a
    few hundred steps, so the global error is below 1e-8 of the output scale."""
    tt, st, rng = _problem()
    y = rng.standard_normal((10, 2))
    lr = 0.3 * nk.max_learning_rate(tt, y.size)
    t = np.array([0.0, 1.0, 10.0, 100.0, 1000.0])
    p = nk.gradient_descent("mse", tt, y, lr, t=t, ntk_test_train=st, method=method)
    assert p.converged and p.status == 0 and p.f_train.shape == (5, 10, 2)
    for i, ti in enumerate(t):
        train = nk.gradient_descent_mse(tt, y, lr, ti).mean
        test = nk.gradient_descent_mse(tt, y, lr, ti, ntk_test_train=st).mean
        np.testing.assert_allclose(p.f_train[i], train, rtol=0, atol=1e-8 * np.abs(y).max())
        np.testing.assert_allclose(p.f_test[i], test, rtol=0, atol=1e-8 * np.abs(y).max())
        # |dL| <= max|f - y| * max|df| (the loss is a mean of squares over y.size)
        np.testing.assert_allclose(p.loss[i], np.sum((train - y) ** 2) / (2 * y.size),
                                   rtol=0, atol=1e-8 * np.abs(y).max() * np.abs(train - y).max())


def test_user_loss_pair():
    """A weighted MSE ``w |f - y|^2 / (2 y.size)`` given as a (loss, grad) pair is MSE
    trained at ``w lr``: the closed form at the same time (solver precision, as above)."""
    tt, st, rng = _problem(seed=1)
    y = rng.standard_normal(10)
    w, lr, t = 2.5, 0.4, 30.0

    def value(f, yy):
        return w * np.sum((f - yy) ** 2) / (2 * yy.size)

    def grad(f, yy):
        return w * (f - yy) / yy.size

    p = nk.gradient_descent((value, grad), tt, y, lr, t=t, ntk_test_train=st)
    assert p.f_train.shape == (10,) and p.f_test.shape == (4,)
    closed = nk.gradient_descent_mse(tt, y, w * lr, t, ntk_test_train=st).mean
    np.testing.assert_allclose(p.f_test, closed, rtol=0, atol=1e-8 * np.abs(y).max())


def test_momentum_matches_the_damped_oscillator():
    """Heavy-ball momentum on MSE from rest: each eigenmode of Theta, ``u = f - y`` in the
    eigenbasis, solves ``u'' = c u' - (lambda / n) u`` in ``tau = sqrt(lr) t`` with
    ``c = (m - 1) / sqrt(lr)``, ``u(0) = -y``, ``u'(0) = 0``: a sum of two exponentials
    with the characteristic roots (complex where underdamped). Solver precision."""
    tt, st, rng = _problem(seed=2)
    y = rng.standard_normal(10)
    lr, m = 0.2, 0.9
    t = np.array([3.0, 30.0, 300.0])
    p = nk.gradient_descent("mse", tt, y, lr, m, t=t, ntk_test_train=st)
    lam, vec = np.linalg.eigh(tt)
    c = (m - 1) / np.sqrt(lr)
    disc = np.sqrt(complex(1) * (c * c - 4 * lam / y.size))
    r1, r2 = (c + disc) / 2, (c - disc) / 2
    u0 = -(vec.T @ y)
    for i, ti in enumerate(t):
        tau = np.sqrt(lr) * ti
        u = ((-r2 * np.exp(r1 * tau) + r1 * np.exp(r2 * tau)) / (r1 - r2) * u0).real
        f = vec @ u + y
        np.testing.assert_allclose(p.f_train[i], f, rtol=0, atol=1e-8)
        # the test outputs: f_test = Theta(x*, X) Z with Theta Z = f (f_0 = 0)
        np.testing.assert_allclose(p.f_test[i], st @ np.linalg.solve(tt, f), rtol=0,
                                   atol=1e-6)


def test_momentum_ode_is_the_small_step_limit_of_heavy_ball():
    """The discrete heavy ball ``v <- m v - lr Theta g``, ``f <- f + v`` tends to the ODE
    at a fixed friction ``c = (m - 1) / sqrt(lr)`` and fixed ``tau = sqrt(lr) t``, with
    error O(sqrt(lr)) (a consistent one-step discretisation of one fixed ODE): quartering
    ``sqrt(lr)`` divides it by 4 (3 asked, for the next order)."""
    tt, _, rng = _problem(seed=3)
    y = rng.standard_normal(10)
    c, tau = -2.0, 20.0
    errors = []
    for h in (0.1, 0.025):
        lr, m = h * h, 1.0 + c * h
        steps = int(round(tau / h))
        f, v = np.zeros(10), np.zeros(10)
        for _ in range(steps):
            v = m * v - lr * tt @ (f - y) / y.size
            f = f + v
        ode = nk.gradient_descent("mse", tt, y, lr, m, t=float(steps)).f_train
        errors.append(np.abs(ode - f).max())
    assert errors[0] / errors[1] > 3, errors


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_max_learning_rate_is_the_edge_of_the_discrete_iteration(momentum):
    """Discrete (heavy-ball) gradient descent on MSE, ``f <- f - (lr / y.size) Theta
    (f - y)``: 1 % below the bound the residual decays, 1 % above it grows (the top mode
    by a factor ~ (1 + 0.01 a)^k, k = 3000 steps: > 1e6)."""
    tt, _, rng = _problem(seed=4)
    y = rng.standard_normal((10, 3))
    bound = nk.max_learning_rate(tt, y.size, momentum=momentum)
    lam = np.linalg.eigvalsh(tt)[-1]
    assert bound == pytest.approx(2 * (1 + momentum) * y.size / lam, rel=1e-12)
    residual = {}
    for factor in (0.99, 1.01):
        lr = factor * bound
        f, v = np.zeros_like(y), np.zeros_like(y)
        for _ in range(3000):
            v = momentum * v - lr * tt @ (f - y) / y.size
            f = f + v
        residual[factor] = np.abs(f - y).max() / np.abs(y).max()
    assert residual[0.99] < 1e-2 and residual[1.01] > 1e6, residual


def test_cross_entropy_flow_invariants():
    """Cross-entropy gradient flow: the gradient ``(p_i - y_i) / y.size`` sums to zero over
    the classes, so ``sum_k f_ik`` keeps its initial value on train and test points; the
    loss decreases (``dL/dt = -lr g . Theta g <= 0``); the exact Jacobian (Radau) and the
    explicit method agree (each is within 3e-11 of an rtol = 1e-13 solution here; 1e-8 asked)."""
    tt, st, rng = _problem(seed=5)
    labels = np.arange(10) % 3
    f0 = rng.standard_normal((10, 3))
    f0_test = rng.standard_normal((4, 3))
    t = np.linspace(0, 2000, 9)
    p = nk.gradient_descent("cross_entropy", tt, labels, 1.0, t=t, ntk_test_train=st,
                            f_train_0=f0, f_test_0=f0_test)
    np.testing.assert_allclose(p.f_train.sum(axis=-1), np.broadcast_to(f0.sum(-1), (9, 10)),
                               atol=1e-9)
    np.testing.assert_allclose(p.f_test.sum(axis=-1),
                               np.broadcast_to(f0_test.sum(-1), (9, 4)), atol=1e-9)
    assert np.all(np.diff(p.loss) < 0)
    implicit = nk.gradient_descent("cross_entropy", tt, np.eye(3)[labels], 1.0, t=t,
                                   ntk_test_train=st, f_train_0=f0, f_test_0=f0_test,
                                   method="Radau")
    np.testing.assert_allclose(implicit.f_test, p.f_test, rtol=0, atol=1e-8)


def test_cross_entropy_against_wide_networks():
    """Erf networks (NTK parameterisation, 3 classes) trained by full-batch gradient descent
    on the cross-entropy, centred (``f - f_0``: the NTK dynamics from ``f_0 = 0``), vs
    the ODE at the same time. Errors of the comparison: the finite-width deviation, measured
    ~1.4 / sqrt(width) of the output scale (a 2 % at width 4096); the Euler error of
    discrete steps, at most ``a / (2e)`` = 2 % for ``a = lr lambda_max / y.size = 0.1``.
    Tolerance 10 % of the output scale, averaged over 4 networks; and the deviation must
    shrink with width (256 -> 4096: factor 4 expected, > 2 asked)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((11, 5))
    labels = np.arange(8) % 3

    def net(width):
        return nk.serial(nk.Dense(width, 1.5, 0.1), nk.Erf(), nk.Dense(3, 1.5, 0.1))

    k = net(1).kernel(x, get="ntk")
    lr, steps = 0.05 * nk.max_learning_rate(k[:8, :8], 24), 400
    theory = nk.gradient_descent("cross_entropy", k[:8, :8], labels, lr, t=float(steps),
                                 ntk_test_train=k[8:, :8]).f_test
    scale = np.abs(theory).max()
    error = {}
    for width in (256, 4096):
        error[width] = np.mean([np.abs(networks.train_gd(
            net(width), x[:8], labels, x[8:], loss="cross_entropy", lr=lr, steps=steps,
            seed=s, centered=True).final - theory).max() for s in range(4)])
    assert error[4096] < 0.1 * scale, (error, scale)
    assert error[256] / error[4096] > 2, error


def test_training_above_the_bound_raises_naming_lr():
    """A wide ReLU network on MSE at 3x max_learning_rate of its NTK (beyond the catapult
    range, which ends near 2x) diverges: NumericalError naming lr."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((8, 4))
    y = rng.standard_normal((8, 1))
    net = nk.serial(nk.Dense(1024, 1.4, 0.1), nk.Relu(), nk.Dense(1, 1.4, 0.1))
    bound = nk.max_learning_rate(net.kernel(x, get="ntk"), y.size)
    with pytest.raises(NumericalError, match="^lr: training diverged"):
        networks.train_gd(net, x, y, x, lr=3 * bound, steps=200)


@pytest.mark.parametrize("call, name", [
    (lambda k, y: nk.gradient_descent("hinge", k, y, t=1.0), "loss"),
    (lambda k, y: nk.gradient_descent(len, k, y, t=1.0), "loss"),
    (lambda k, y: nk.gradient_descent((lambda f, yy: 0.0, lambda f, yy: f[:1]), k, y,
                                      t=1.0), "loss"),
    (lambda k, y: nk.gradient_descent("cross_entropy", k, y[:, 0], t=1.0), "y_train"),
    (lambda k, y: nk.gradient_descent("mse", k, y, -1.0, t=1.0), "lr"),
    (lambda k, y: nk.gradient_descent("mse", k, y, 1.0, 1.0, t=1.0), "momentum"),
    (lambda k, y: nk.gradient_descent("mse", k, y, t=[2.0, 1.0]), "t"),
    (lambda k, y: nk.gradient_descent("mse", k, y, t=1.0, method="Euler"), "method"),
    (lambda k, y: nk.gradient_descent("mse", k, y, t=1.0, f_train_0=np.ones(3)), "f_train_0"),
    (lambda k, y: nk.max_learning_rate(-k), "ntk_train_train"),
    (lambda k, y: nk.max_learning_rate(k, momentum=1.0), "momentum"),
])
def test_bad_arguments_are_named(call, name):
    tt, _, rng = _problem(n_train=4)
    y = rng.standard_normal((4, 2))
    with pytest.raises((ParameterError, ArgumentTypeError), match=f"^{name}:"):
        call(tt, y)


def test_solver_failure_is_reported():
    """A user gradient that turns non-finite stops the solver: ConvergenceError, or with
    strict=False a record with converged=False and the solver's status."""
    tt, _, rng = _problem(n_train=4)
    y = rng.standard_normal(4)

    def grad(f, yy):
        return np.where(np.abs(f) > 0.1, np.nan, f - yy)

    pair = (lambda f, yy: 0.0, grad)
    with pytest.raises(ConvergenceError, match="^gradient_descent: solve_ivp"):
        nk.gradient_descent(pair, tt, y, t=100.0)
    p = nk.gradient_descent(pair, tt, y, t=[1.0, 100.0], strict=False)
    assert p.converged is False and p.status == -1 and np.isnan(p.f_train[-1]).all()
