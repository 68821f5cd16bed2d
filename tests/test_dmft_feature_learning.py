"""Feature-learning DMFT (Bordelon & Pehlevan 2022): closed forms of linear networks, the
exact discretised deep linear DMFT, the NTK limit, and the Monte Carlo solver against them."""

import math

import numpy as np
import pytest
from scipy import integrate

from nnphys.errors import ArgumentTypeError, ConvergenceError, ParameterError
from nnphys.models import network as nn
from nnphys.theory import kernels as nk
from nnphys.theory.dmft import deep_linear, feature_learning

RNG = np.random.default_rng(1)
X3 = RNG.standard_normal((3, 5))
Y3 = np.array([1.0, -0.5, 0.3])


def mlp(depth, activation=nn.Identity, W_std=1.0):
    layers = []
    for _ in range(depth):
        layers += [nn.Dense(16, W_std=W_std), activation()]
    return nn.Serial(tuple(layers + [nn.Dense(1, W_std=W_std)]))


@pytest.mark.parametrize("gamma0, y", [(0.5, 1.0), (2.0, 1.0), (1.0, -0.7)])
def test_single_point_closed_form_against_quadrature(gamma0, y):
    # t(f) = int_0^f df' / (2 sqrt(c) sqrt(c + gamma0^2 f'^2) (y - f')) by adaptive quadrature
    # (quad's error ~1e-12); the closed form inverts the analytic antiderivative.
    q0, W_std = 1.3, (0.8, 1.1)
    c = W_std[0] ** 2 * q0 * W_std[1] ** 2
    r = deep_linear.single_point(y, gamma0, [0.0, 0.3, 1.0], q0=q0, W_std=W_std)
    for ti, fi in zip(r.t[1:], r.f[1:, 0]):
        tq, _ = integrate.quad(lambda f: 1.0 / (2 * math.sqrt(c) * math.sqrt(c + (gamma0 * f) ** 2)
                                                * (y - f)), 0.0, fi, epsabs=1e-13, epsrel=1e-12)
        assert tq == pytest.approx(ti, rel=1e-9)
    # the kernel identity of the module docstring: K = 2 sqrt(c) sqrt(c + gamma0^2 f^2)
    np.testing.assert_allclose(r.ntk[:, 0, 0], 2 * np.sqrt(c) * np.sqrt(c + (gamma0 * r.f[:, 0]) ** 2),
                               rtol=1e-12)


def test_brief_normalisation_one_point_two_layers():
    # df/dt = 2 (y - f) sqrt(1 + gamma0^2 f^2) (issue 14): RK45 at rtol 1e-11 vs the closed form
    gamma0, t = 1.5, np.linspace(0, 2, 9)
    sol = integrate.solve_ivp(lambda _, f: 2 * (1 - f) * np.sqrt(1 + gamma0 ** 2 * f ** 2),
                              (0, 2), [0.0], t_eval=t, rtol=1e-11, atol=1e-13)
    np.testing.assert_allclose(deep_linear.single_point(1.0, gamma0, t).f[:, 0], sol.y[0],
                               atol=1e-8)


@pytest.mark.parametrize("gamma0", [0.0, 0.7, 2.0])
def test_two_layer_moments_reduce_to_single_point(gamma0):
    t = np.linspace(0, 3, 13)
    a = deep_linear.single_point(0.9, gamma0, t, q0=1.0)
    b = deep_linear.two_layer([[1.0, 1.0, -1.0]], [0.9], gamma0, t)      # q0 = 1
    np.testing.assert_allclose(b.f, a.f, atol=1e-8)                       # ODE rtol 1e-10
    np.testing.assert_allclose(b.ntk, a.ntk, rtol=1e-8)


def test_lazy_limit_is_ntk_gradient_descent():
    # gamma0 = 0: kernel gradient flow df/dt = K (y - f) with the NTK of the NTK-parameterized
    # spec; gradient_descent_mse integrates df/dt = -(lr/P) K (f - y), so lr = P.
    t = np.linspace(0, 2, 5)
    net = mlp(1, W_std=1.3)
    K = nk.serial(net).kernel(X3, get="ntk")
    exact = np.stack([nk.predict.gradient_descent_mse(K, Y3, lr=3.0, t=ti).mean for ti in t])
    moments = deep_linear.two_layer(X3, Y3, 0.0, t, W_std=(1.3, 1.3))
    np.testing.assert_allclose(moments.f, exact, atol=1e-9)
    # the discretised exact DMFT: constant kernel, exponential integrator -> exact in time
    disc = deep_linear.solve(mlp(2, W_std=1.3), X3, Y3, 0.0, t)
    K2 = nk.serial(mlp(2, W_std=1.3)).kernel(X3, get="ntk")
    exact2 = np.stack([nk.predict.gradient_descent_mse(K2, Y3, lr=3.0, t=ti).mean for ti in t])
    np.testing.assert_allclose(disc.f_train, exact2, atol=1e-10)


def test_lazy_limit_nonlinear_monte_carlo():
    # tanh, depth 2, gamma0 = 0: the Monte Carlo kernels are the NNGP/NTK up to sampling error;
    # the prediction must agree with gradient_descent_mse within 4.5 reported stderr (max over
    # 3 points x 4 times) plus the O(1e-12) integrator error.
    net = mlp(2, nn.Tanh)
    t = np.linspace(0, 1.5, 4)
    r = feature_learning.solve(net, X3, Y3, 0.0, t, n_replicas=2000)
    K = nk.serial(net).kernel(X3, get="ntk")
    exact = np.stack([nk.predict.gradient_descent_mse(K, Y3, lr=3.0, t=ti).mean for ti in t])
    assert np.all(np.abs(r.f_train - exact) <= 4.5 * r.f_train_stderr + 1e-12)
    assert np.all(np.abs(r.ntk - K) <= 4.5 * r.ntk_stderr + 1e-12)


def test_discretised_linear_dmft_converges_at_second_order():
    # trapezoidal fields + exponential midpoint predictions: error O(dt^2) against the exact
    # moment ODE; halving dt must divide it by ~4 (accept 3..5).
    errors = []
    for T in (21, 41):
        t = np.linspace(0, 2, T)
        disc = deep_linear.solve(mlp(1), X3, Y3, 1.5, t)
        ode = deep_linear.two_layer(X3, Y3, 1.5, t)
        errors.append(np.max(np.abs(disc.f_train - ode.f)))
        np.testing.assert_allclose(disc.ntk, ode.ntk, atol=40 * errors[-1])
    assert 3.0 < errors[0] / errors[1] < 5.0


@pytest.mark.parametrize("depth", [1, 2])
def test_monte_carlo_matches_exact_deep_linear(depth):
    # Same grid and discretisation: the difference is the sampling error alone (plus, for
    # depth 2, the noise of the Stein response estimate, not in the stderr; measured at
    # ~1 stderr, hence 5 stderr over the 3 x 11 entries).
    t = np.linspace(0, 2, 11)
    exact = deep_linear.solve(mlp(depth), X3, Y3, 1.5, t)
    r = feature_learning.solve(mlp(depth), X3, Y3, 1.5, t, n_replicas=1600)
    assert r.converged and exact.converged
    assert np.all(np.abs(r.f_train - exact.f_train) <= 5 * r.f_train_stderr + 1e-12)
    assert np.all(np.abs(r.Phi - exact.Phi) <= 5 * r.Phi_stderr + 1e-12)
    # feature learning happened: the kernel moved by many standard errors from its t = 0 value
    moved = np.abs(r.ntk[-1] - r.ntk[0])
    assert np.max(moved / (r.ntk_stderr[-1] + r.ntk_stderr[0])) > 8


def test_monte_carlo_error_shrinks_as_inverse_sqrt_replicas():
    # stderr ~ n^{-1/2}: 16x the replicas divides it by 4. The batch-spread estimate (8
    # batches) has a relative error of 1/sqrt(14) = 0.27 at each size (the 10 times are
    # strongly correlated, so averaging them does not reduce it): log(ratio) = log 4 +- 0.38,
    # and 3 sigma is the range 1.3..12 (no shrinkage, ratio 1, lies outside). The actual error
    # against the closed form is within 4.5 stderr at both sizes.
    t = np.linspace(0, 2, 11)
    exact = deep_linear.solve(mlp(1), [[1.0]], [1.0], 1.0, t)
    errs = []
    for n in (400, 6400):
        r = feature_learning.solve(mlp(1), [[1.0]], [1.0], 1.0, t, n_replicas=n, seed=3)
        assert np.all(np.abs(r.f_train - exact.f_train) <= 4.5 * r.f_train_stderr + 1e-12)
        errs.append(np.mean(r.f_train_stderr[1:]))
    assert 1.3 < errs[0] / errs[1] < 12


def test_test_points_and_record():
    t = np.linspace(0, 1, 6)
    x_test = RNG.standard_normal((2, 5))
    r = deep_linear.solve(mlp(1), X3, Y3, 1.0, t, x_test=x_test, kernel_times=[0, 5])
    assert r.f_test.shape == (6, 2) and r.Phi.shape == (1, 2, 2, 3, 3)
    # a test point equal to a training point predicts like it, up to the O(dt^2) difference
    # of the two time integrators (test points: exponential midpoint; training points:
    # trapezoidal fields): halving dt divides the gap by 4 (accept 3..5)
    gaps = []
    for n in (11, 21):
        tn = np.linspace(0, 1, n)
        r2 = deep_linear.solve(mlp(1), X3, Y3, 1.0, tn, x_test=X3[:1])
        gaps.append(abs(r2.f_test[-1, 0] - r2.f_train[-1, 0]))
    assert 3 < gaps[0] / gaps[1] < 5
    assert r.loss[-1] < r.loss[0]
    # symmetric two-time kernels: Phi(t, s)_{mu nu} = Phi(s, t)_{nu mu}
    np.testing.assert_allclose(r.Phi[0], r.Phi[0].transpose(1, 0, 3, 2), atol=1e-12)


def test_not_converged_is_reported():
    t = np.linspace(0, 1, 6)
    with pytest.raises(ConvergenceError):
        deep_linear.solve(mlp(2), X3, Y3, 2.0, t, max_iterations=2)
    r = deep_linear.solve(mlp(2), X3, Y3, 2.0, t, max_iterations=2, strict=False)
    assert r.converged is False and r.residual > 0


@pytest.mark.parametrize("call, name", [
    (lambda: feature_learning.solve(nn.Serial((nn.Dense(4, b_std=0.1), nn.Tanh(), nn.Dense(1))),
                                    X3, Y3, 1.0, [0.0, 1.0]), "net"),
    (lambda: feature_learning.solve(nn.Serial((nn.Dense(4), nn.Tanh(), nn.Dense(2))),
                                    X3, Y3, 1.0, [0.0, 1.0]), "net"),
    (lambda: feature_learning.solve(mlp(1), X3, Y3, 1.0, [0.5, 1.0]), "t"),
    (lambda: feature_learning.solve(mlp(1), X3, Y3[:2], 1.0, [0.0, 1.0]), "y_train"),
    (lambda: feature_learning.solve(mlp(1), X3, Y3, -1.0, [0.0, 1.0]), "gamma0"),
    (lambda: feature_learning.solve(mlp(1), X3, Y3, 1.0, [0.0, 1.0], n_replicas=100), "n_replicas"),
    (lambda: feature_learning.solve(mlp(1), X3, Y3, 1.0, [0.0, 1.0], x_test=np.ones((2, 4))),
     "x_test"),
    (lambda: deep_linear.solve(mlp(1, nn.Tanh), X3, Y3, 1.0, [0.0, 1.0]), "net"),
    (lambda: deep_linear.single_point(0.0, 1.0, [1.0]), "y"),
    (lambda: deep_linear.two_layer(X3, Y3, 1.0, [0.0, 1.0], W_std=1.0), "W_std"),
])
def test_bad_input_named(call, name):
    with pytest.raises(ParameterError, match=name):
        call()


def test_not_a_network():
    with pytest.raises(ArgumentTypeError, match="net"):
        feature_learning.solve(3.0, X3, Y3, 1.0, [0.0, 1.0])


@pytest.mark.parametrize("gamma0, y, q0, W_std", [(1.0, 1.0, 1.0, (1.0, 1.0)),
                                                  (2.0, -0.7, 1.3, (0.8, 1.1))])
def test_single_point_variance_against_finite_differences(gamma0, y, q0, W_std):
    # the exact reduced flow f = (sqrt c/gamma0)(alpha cosh 2chi + beta sinh 2chi),
    # chi' = gamma0 sqrt c (y - f), integrated here at (alpha, beta) = (+-e, 1), (0, 1 +- e):
    # central differences (error O(e^2) = 1e-8 relative, ODE rtol 1e-11) against the
    # sensitivity equations of the solver. And alpha = 0, beta = 1 is the closed form.
    t = np.linspace(0.0, 2.0, 9)
    c = W_std[0] ** 2 * q0 * W_std[1] ** 2
    rc = math.sqrt(c)

    def f_of(alpha, beta):
        sol = integrate.solve_ivp(
            lambda _, v: [gamma0 * rc * (y - rc / gamma0 * (alpha * np.cosh(2 * v[0])
                                                             + beta * np.sinh(2 * v[0])))],
            (0, 2), [0.0], t_eval=t, rtol=1e-11, atol=1e-13)
        chi = sol.y[0]
        return rc / gamma0 * (alpha * np.cosh(2 * chi) + beta * np.sinh(2 * chi))
    e = 1e-4
    da = (f_of(e, 1.0) - f_of(-e, 1.0)) / (2 * e)
    db = (f_of(0.0, 1.0 + e) - f_of(0.0, 1.0 - e)) / (2 * e)
    r = deep_linear.single_point_variance(y, gamma0, t, q0=q0, W_std=W_std)
    np.testing.assert_allclose(r.f_variance[:, 0], da ** 2 + db ** 2, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(r.f[:, 0], deep_linear.single_point(y, gamma0, t, q0=q0,
                                                                   W_std=W_std).f[:, 0],
                               atol=1e-8)
    assert r.f_variance[0, 0] == pytest.approx(c / gamma0 ** 2, rel=1e-12)


def test_single_point_variance_against_networks():
    # 128 linear networks at width 512 (GD, Richardson in the step): N Var f at t = 1 within
    # 4 standard errors of the sample variance (from the seeds) plus the 4/N next order
    from nnphys.stats import sample_mean
    from nnphys.validation import feature_learning as vf
    d = vf.train_on_grid(vf.mlp(1, nk.Identity), [[1.0]], [1.0], 1.0, [512], 128, seed=2,
                         richardson=True)
    f = d["f"][:, 0, 10, 0]                                  # t = 1
    est = sample_mean(512 * (f - f.mean()) ** 2 * 128 / 127)
    theory = deep_linear.single_point_variance(1.0, 1.0, d["t"]).f_variance[10, 0]
    assert abs(est.mean - theory) <= 4 * est.stderr + 4 / 512 * theory
