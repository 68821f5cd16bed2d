"""nnphys kernels inside scikit-learn: gradients against the complex-step derivative of a
closed form, marginal-likelihood fits, clone, and KernelRidge/SVC against direct solves."""

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="nnphys.interop.sklearn needs scikit-learn "
                                      '(pip install "nnphys[sklearn]")')

from sklearn.base import clone  # noqa: E402
from sklearn.gaussian_process import GaussianProcessRegressor  # noqa: E402
from sklearn.gaussian_process.kernels import ConstantKernel, WhiteKernel  # noqa: E402
from sklearn.kernel_ridge import KernelRidge  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from nnphys.interop.sklearn import NNGPKernel, NTKKernel, kernel_function  # noqa: E402
from nnphys.theory import kernels as nk  # noqa: E402


def _relu_net():
    return nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1))


def _relu_closed_form(x, W, b):
    """One-hidden-layer ReLU network, NTK parameterisation, W_std = W and b_std = b on both
    layers (Cho & Saul 2009, arc-cosine kernel of degree 1; Jacot et al. 2018, arXiv:1806.07572
    for the NTK recursion), written so that complex W and b pass through (complex step):
    ``q = W^2 x.x'/d + b^2``, ``K = W^2 sqrt(q q') (sin t + (pi - t) cos t) / (2 pi) + b^2``,
    ``Theta = K + W^2 q (pi - t) / (2 pi)``, ``cos t = q_12 / sqrt(q_11 q_22)``."""
    q = W * W * (x @ x.T) / x.shape[1] + b * b
    d = np.sqrt(np.diag(q))
    c = q / np.outer(d, d)
    np.fill_diagonal(c, 1.0)
    t = np.arccos(c)
    np.fill_diagonal(t, 0.0)
    nngp = W * W * np.outer(d, d) * (np.sin(t) + (np.pi - t) * c) / (2 * np.pi) + b * b
    ntk = nngp + W * W * q * (np.pi - t) / (2 * np.pi)
    return nngp, ntk


@pytest.mark.parametrize("cls, index", [(NNGPKernel, 0), (NTKKernel, 1)])
def test_kernel_and_gradient_against_the_closed_form(cls, index):
    """The kernel equals the closed form (1e-13 relative), and its log-gradient the
    complex-step derivative ``Im K(W e^{i h}) / h`` (h = 1e-20: exact to roundoff) to
    1e-9 relative: the five-point difference's error is ~1e-12 (module docstring)."""
    x = np.random.default_rng(0).standard_normal((6, 3))
    W, b = 1.3, 0.2
    k, grad = cls(_relu_net(), W_std=W, b_std=b)(x, eval_gradient=True)
    np.testing.assert_allclose(k, _relu_closed_form(x, W, b)[index], rtol=1e-13)
    h = 1e-20
    d_w = _relu_closed_form(x, W * np.exp(1j * h), b)[index].imag / h
    d_b = _relu_closed_form(x, W, b * np.exp(1j * h))[index].imag / h
    np.testing.assert_allclose(grad[..., 0], d_w, rtol=1e-9, atol=1e-12 * np.abs(k).max())
    np.testing.assert_allclose(grad[..., 1], d_b, rtol=1e-9, atol=1e-12 * np.abs(k).max())


def test_hyperparameters_clone_and_fixed_bias():
    net = nk.serial(nk.Dense(1, b_std=None), nk.Erf(), nk.Dense(1, b_std=None))
    k = NNGPKernel(net, W_std=1.5, b_std=None)
    assert [h.name for h in k.hyperparameters] == ["W_std", "b_std"]
    assert k.hyperparameter_b_std.fixed and k.theta.shape == (1,)
    np.testing.assert_allclose(k.theta, [np.log(1.5)])
    c = clone(k)
    assert c is not k and c == k and c.get_params()["W_std"] == 1.5
    x = np.random.default_rng(1).standard_normal((4, 2))
    assert k(x, eval_gradient=True)[1].shape == (4, 4, 1)
    assert not k.is_stationary()
    np.testing.assert_allclose(k.diag(x), np.diag(k(x)), rtol=1e-14)
    with pytest.raises(ValueError, match="Gradient can only be evaluated when Y is None"):
        k(x, x, eval_gradient=True)


def test_marginal_likelihood_fit_recovers_W_std():
    """Targets drawn from the NNGP of an erf network at W_std = 2.0 (plus 1e-4 noise);
    GaussianProcessRegressor.fit from W_std = 1.0 (gradient-based L-BFGS-B) lands on the
    maximum of the log marginal likelihood, found independently on a grid of theta
    (spacing 0.01: agreement to 0.01 in log W_std), and moves toward 2.0."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((80, 3))
    net = nk.serial(nk.Dense(1, b_std=0.1), nk.Erf(), nk.Dense(1, b_std=0.1))
    truth = NNGPKernel(net, W_std=2.0, b_std=0.1)(x)
    y = np.linalg.cholesky(truth + 1e-4 * np.eye(80)) @ rng.standard_normal(80)
    kernel = NNGPKernel(net, W_std=1.0, b_std=0.1, b_std_bounds="fixed")
    gp = GaussianProcessRegressor(kernel, alpha=1e-4, optimizer="fmin_l_bfgs_b").fit(x, y)
    fitted = gp.kernel_.W_std
    grid = np.log(1.0) + np.arange(0, 121) * 0.01
    best = grid[np.argmax([gp.log_marginal_likelihood([g]) for g in grid])]
    assert abs(np.log(fitted) - best) <= 0.01
    assert abs(fitted - 2.0) < 0.5 * abs(1.0 - 2.0)


def test_kernel_ridge_and_svc():
    """KernelRidge(kernel=NNGPKernel) predicts ``K_* (K + alpha I)^-1 y`` (nnphys's
    eigendecomposition-based gp_inference, 1e-8); SVC(kernel=kernel_function(...)) and
    SVC(kernel="precomputed") on the same Gram give the same decision function (1e-8), as
    do KernelRidge(kernel="precomputed") and the direct solve; the per-pair protocol
    returns a float equal to the matrix entry."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((30, 4))
    xs = rng.standard_normal((5, 4))
    y = np.sin(x[:, 0]) + 0.3 * x[:, 1]
    net = nk.serial(nk.Dense(1, 1.5, 0.1), nk.Relu(), nk.Dense(1, 1.5, 0.1))
    ridge = 0.1
    kr = KernelRidge(alpha=ridge, kernel=NNGPKernel(net, W_std=1.5, b_std=0.1)).fit(x, y)
    k = net.kernel(np.vstack([x, xs]), get="nngp")
    direct = nk.gp_inference(k[:30, :30], y, k[30:, :30], diag_reg=ridge).mean
    np.testing.assert_allclose(kr.predict(xs), direct, rtol=1e-8)
    f = kernel_function(net)
    labels = (y > 0).astype(int)
    svc = SVC(kernel=f).fit(x, labels)
    pre = SVC(kernel="precomputed").fit(f(x), labels)
    np.testing.assert_allclose(svc.decision_function(xs), pre.decision_function(f(xs, x)),
                               rtol=1e-8, atol=1e-10)
    assert f(x[0], x[1]) == pytest.approx(k[0, 1], rel=1e-13)
    pre_kr = KernelRidge(alpha=ridge, kernel="precomputed").fit(f(x), y)
    np.testing.assert_allclose(pre_kr.predict(f(xs, x)), direct, rtol=1e-8)


def test_composite_kernel_and_conv_input_shape():
    """Inside a sum/product of sklearn kernels the gradient has one slice per free
    hyper-parameter; a convolutional network reads flattened rows through input_shape."""
    x = np.random.default_rng(5).standard_normal((4, 3))
    k = ConstantKernel(2.0) * NTKKernel(_relu_net()) + WhiteKernel(1e-3)
    value, grad = k(x, eval_gradient=True)
    assert grad.shape == (4, 4, 4) and np.all(np.isfinite(grad))
    conv = nk.serial(nk.Conv(1, (2,), padding="SAME"), nk.Relu(), nk.Flatten(), nk.Dense(1))
    images = np.random.default_rng(6).standard_normal((3, 4, 2))
    kc = NNGPKernel(conv, input_shape=(4, 2))
    np.testing.assert_allclose(kc(images.reshape(3, -1)),
                               NNGPKernel(conv)._net(1.0, 0.1).kernel(images, get="nngp"),
                               rtol=1e-14)
