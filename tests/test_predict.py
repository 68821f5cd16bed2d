"""GP inference and gradient-descent predictions against direct solves and explicit ODE integration."""

import numpy as np
import pytest

from nnphys.theory import kernels as nk


def _kernels(n_train=12, n_test=5, seed=0, depth=3, act=None):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, 4))
    layers = []
    for _ in range(depth):
        layers += [nk.Dense(32, 1.4, 0.1), act or nk.Relu()]
    net = nk.serial(*layers, nk.Dense(1, 1.4, 0.1))
    k = net.kernel(x)
    tr, te = slice(0, n_train), slice(n_train, None)
    y = rng.standard_normal((n_train, 2))
    return k, tr, te, y


def test_gp_inference_matches_direct_solve():
    k, tr, te, y = _kernels()
    noise = 0.01
    p = nk.gp_inference(k.nngp[tr, tr], y, k.nngp[te, tr], k.nngp[te, te], diag_reg=noise)
    a = k.nngp[tr, tr] + noise * np.eye(12)
    np.testing.assert_allclose(p.mean, k.nngp[te, tr] @ np.linalg.solve(a, y), rtol=1e-9)
    cov = k.nngp[te, te] - k.nngp[te, tr] @ np.linalg.solve(a, k.nngp[tr, te])
    np.testing.assert_allclose(p.covariance, cov, atol=1e-10)
    assert p.n_discarded == 0


def test_gradient_descent_matches_explicit_integration():
    """Mean and covariance at finite t vs Euler integration of the linearised dynamics,
    df/dt = -(eta / y.size) Theta (f - y), for f_0 drawn from the NNGP prior (the ensemble
    covariance is propagated exactly as a linear map). Euler error O(dt) = 1e-5 relative."""
    k, tr, te, y = _kernels()
    eta, t = 2.0, 30.0
    p = nk.gradient_descent_mse(k.ntk[tr, tr], y, eta, t, ntk_test_train=k.ntk[te, tr],
                                nngp_train_train=k.nngp[tr, tr], nngp_test_train=k.nngp[te, tr],
                                nngp_test_test=k.nngp[te, te])
    # Linear map from (f0_train, f0_test, y) to (f_train, f_test): integrate the operator.
    n, m = 12, 5
    steps = 300_000
    dt = t / steps
    c = eta / y.size
    # f_train(t) = y + exp(-c Theta t)(f0 - y); f_test(t) = f0_test - Theta_*X Theta^-1 (I - exp)(f0 - y)
    # Integrate the transfer matrices A (train) and B (test) with Euler: dA = -c Theta A dt.
    a = np.eye(n)
    b = np.zeros((m, n))
    theta, theta_x = k.ntk[tr, tr], k.ntk[te, tr]
    for _ in range(steps // 1000):
        for _ in range(1000):
            b = b - c * dt * theta_x @ a
            a = a - c * dt * theta @ a
    # f_test = f0_test + B (f0_train - y); mean over f0 ~ N(0, K) is -B y.
    np.testing.assert_allclose(p.mean, -b @ y, rtol=2e-4)
    kxx, kxs, kss = k.nngp[tr, tr], k.nngp[te, tr], k.nngp[te, te]
    cov = kss + b @ kxx @ b.T + b @ kxs.T + kxs @ b.T
    np.testing.assert_allclose(p.covariance, cov, rtol=2e-4, atol=1e-6)


def test_gradient_descent_infinite_time_interpolates():
    k, tr, te, y = _kernels()
    p = nk.gradient_descent_mse(k.ntk[tr, tr], y, 1.0, np.inf)
    np.testing.assert_allclose(p.mean, y, atol=1e-9)
    full = nk.gradient_descent_mse(k.ntk[tr, tr], y, 1.0, np.inf, nngp_train_train=k.nngp[tr, tr])
    assert np.max(np.abs(full.covariance)) < 1e-8      # trained outputs pinned to y


def test_ill_conditioned_kernel_gives_finite_answers():
    """Deep erf net in the ordered phase: nearly constant kernel (condition ~1e16+)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 10))
    net = nk.serial(*[nk.Dense(8, 1.0, 0.5), nk.Erf()] * 100, nk.Dense(1, 1.0, 0.5))
    k = net.kernel(x)
    y = rng.standard_normal(300)
    tr, te = slice(0, 300), slice(300, None)
    for t in (10.0, np.inf):
        p = nk.gradient_descent_mse(k.ntk[tr, tr], y, 1.0, t, ntk_test_train=k.ntk[te, tr],
                                    nngp_train_train=k.nngp[tr, tr],
                                    nngp_test_train=k.nngp[te, tr], nngp_test_test=k.nngp[te, te])
        assert np.all(np.isfinite(p.mean)) and np.all(np.isfinite(p.covariance))
    assert p.n_discarded > 0 and p.cutoff > 0
    g = nk.gp_inference(k.nngp[tr, tr], y, k.nngp[te, tr], k.nngp[te, te])
    assert np.all(np.isfinite(g.mean)) and np.all(np.isfinite(g.covariance))


@pytest.mark.parametrize("call,match", [
    (lambda k, y: nk.gp_inference(k[:, :3], y), "k_train_train"),
    (lambda k, y: nk.gp_inference(k, y[:3]), "y_train"),
    (lambda k, y: nk.gp_inference(k, y, diag_reg=-1.0), "diag_reg"),
    (lambda k, y: nk.gradient_descent_mse(k, y, lr=0.0), "lr"),
    (lambda k, y: nk.gradient_descent_mse(k, y, t=-1.0), "t"),
    (lambda k, y: nk.gradient_descent_mse(k, y, ntk_test_train=np.ones((2, 3))), "ntk_test_train"),
    (lambda k, y: nk.gradient_descent_mse(np.full((4, 4), np.nan), y), "ntk_train_train"),
])
def test_bad_arguments(call, match):
    k = np.eye(4)
    with pytest.raises(ValueError, match=match):
        call(k, np.ones(4))
