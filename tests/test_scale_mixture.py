"""Student-t processes from scale mixtures of NNGPs (theory.kernels.scale_mixture)."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from nnphys.errors import NumericalError, ParameterError
from nnphys.theory import kernels as nk
from nnphys.theory.kernels.scale_mixture import student_t_inference, student_t_prior

NET = nk.serial(nk.Dense(512, 1.5, 0.1), nk.Relu(), nk.Dense(512, 1.5, 0.1), nk.Erf(),
                nk.Dense(1, 1.2, 0.05))


def _data(n_train=5, n_test=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_train + n_test, 3))
    y = np.sin(x[:n_train, 0]) + 0.3 * x[:n_train, 1]
    return x[:n_train], y, x[n_train:]


def test_large_alpha_beta_reduces_to_gp():
    """alpha, beta -> inf with beta/alpha = s2: the scale prior becomes a point mass at s2,
    the result the GP with kernel s2 K and noise s2 eps. The t-scale differs from it by
    the factor (1 + Q/(2 beta)) / (1 + N/(2 alpha)) = 1 + O(1/alpha), ~1e-8 at alpha = 1e9,
    and (nu/(nu-2)) likewise; the log-likelihood by O(N^2/alpha)."""
    x_tr, y, x_te = _data()
    s2, eps, a = 1.7, 0.01, 1e9
    t = student_t_inference(NET, x_tr, y, x_te, a, s2 * a, noise=eps)
    k = NET.kernel(np.vstack([x_tr, x_te]), get="nngp")
    gp = nk.gp_inference(s2 * k[:5, :5], y, s2 * k[5:, :5], s2 * k[5:, 5:], diag_reg=s2 * eps)
    np.testing.assert_allclose(t.mean, gp.mean, rtol=1e-12)
    np.testing.assert_allclose(t.covariance, gp.covariance, rtol=1e-7, atol=1e-14)
    gauss = stats.multivariate_normal(np.zeros(5), s2 * (k[:5, :5] + eps * np.eye(5)))
    assert t.log_marginal_likelihood == pytest.approx(gauss.logpdf(y), abs=1e-7)


def test_marginal_likelihood_by_quadrature_over_the_scale():
    """log p(y) = log int N(y; 0, s2 (K + eps I)) InvGamma(s2; alpha, beta) ds2 (adaptive
    quadrature, relative error < 1e-10), for a single and a two-column target."""
    x_tr, y, x_te = _data(4, 1, seed=1)
    alpha, beta, eps = 2.5, 1.3, 0.05
    a = NET.kernel(x_tr, get="nngp") + eps * np.eye(4)
    for targets in (y, np.column_stack([y, np.cos(y)])):
        cols = targets.reshape(4, -1).T

        def integrand(s2):
            like = sum(stats.multivariate_normal(np.zeros(4), s2 * a).logpdf(c) for c in cols)
            return math.exp(like + stats.invgamma(alpha, scale=beta).logpdf(s2))
        value = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
        t = student_t_inference(NET, x_tr, targets, x_te, alpha, beta, noise=eps)
        assert t.log_marginal_likelihood == pytest.approx(math.log(value), abs=1e-10)


def test_posterior_predictive_by_monte_carlo_of_the_mixture():
    """Importance sampling of the scale mixture: sigma^2 from the prior weighted by the
    likelihood of y; the predictive variance E[sigma^2 | y] Sigma_c and the predictive
    density (a weighted Gaussian mixture) at three points agree with the closed form
    within 5 standard errors of the self-normalised estimator (delta method)."""
    x_tr, y, x_te = _data(3, 1, seed=2)
    alpha, beta, eps = 2.0, 3.0, 0.01
    t = student_t_inference(NET, x_tr, y, x_te, alpha, beta, noise=eps)
    a = NET.kernel(x_tr, get="nngp") + eps * np.eye(3)
    quad = y @ np.linalg.solve(a, y)
    rng = np.random.default_rng(3)
    s2 = stats.invgamma(alpha, scale=beta).rvs(400_000, random_state=rng)
    logw = -1.5 * np.log(s2) - quad / (2 * s2)          # N(y; 0, s2 A) up to a constant
    w = np.exp(logw - logw.max())
    sigma_c = t.scale[0, 0] * t.alpha / t.beta          # K** - k*^T A^-1 k*

    def ratio(values):
        est = np.sum(w * values) / np.sum(w)
        se = math.sqrt(np.sum(w ** 2 * (values - est) ** 2)) / np.sum(w)
        return est, se
    est, se = ratio(s2 * sigma_c)
    assert abs(est - t.covariance[0, 0]) < 5 * se
    dist = stats.t(t.dof, loc=t.mean[0], scale=math.sqrt(t.scale[0, 0]))
    for f in t.mean[0] + np.array([-1.0, 0.3, 2.0]) * math.sqrt(t.covariance[0, 0]):
        est, se = ratio(stats.norm.pdf(f, t.mean[0], np.sqrt(s2 * sigma_c)))
        assert abs(est - dist.pdf(f)) < 5 * se


def test_prior_is_student_t_by_sampling():
    """f ~ N(0, s2 K) with s2 ~ InvGamma(2, 3): the standardised marginal
    f_0 / sqrt(beta/alpha K00) follows t_{2 alpha} (KS test, p > 1e-3) and the sample
    covariance of 2e5 draws matches beta/(alpha-1) K within 5 standard errors."""
    x, _, _ = _data(3, 0, seed=4)
    prior = student_t_prior(NET, x, 2.0, 3.0)
    rng = np.random.default_rng(5)
    s2 = stats.invgamma(2.0, scale=3.0).rvs(200_000, random_state=rng)
    k = NET.kernel(x, get="nngp")
    f = np.sqrt(s2)[:, None] * rng.multivariate_normal(np.zeros(3), k, 200_000)
    assert stats.kstest(f[:, 0] / math.sqrt(prior.scale[0, 0]), stats.t(4).cdf).pvalue > 1e-3
    assert prior.dof == 4.0
    prod = f[:, 0] * f[:, 1]
    assert abs(prod.mean() - prior.covariance[0, 1]) < 5 * prod.std() / math.sqrt(prod.size)


def test_kernel_callable_and_ntk_option():
    x_tr, y, x_te = _data()
    via_net = student_t_inference(NET, x_tr, y, x_te, 3.0, 2.0, noise=0.1, get="ntk")
    via_fn = student_t_inference(lambda a, b=None: NET.kernel(a, b, get="ntk"), x_tr, y,
                                 x_te, 3.0, 2.0, noise=0.1)
    np.testing.assert_allclose(via_net.scale, via_fn.scale, rtol=1e-14)
    assert via_net.dof == 2 * 3.0 + 5


def test_dof_at_most_two_has_no_covariance():
    x_tr, y, x_te = _data(1, 2)
    t = student_t_inference(NET, x_tr, y, x_te, 0.4, 1.0, noise=0.1)
    assert t.dof == pytest.approx(1.8) and t.covariance is None
    assert np.all(np.isinf(t.marginal_std()))


@pytest.mark.parametrize("kwargs,name", [(dict(alpha=0.0), "alpha"), (dict(beta=np.inf), "beta"),
                                         (dict(noise=-1.0), "noise"), (dict(get="x"), "get")])
def test_bad_input_raises(kwargs, name):
    x_tr, y, x_te = _data()
    args = dict(alpha=1.0, beta=1.0) | kwargs
    with pytest.raises(ParameterError, match=name):
        student_t_inference(NET, x_tr, y, x_te, **args)


def test_singular_training_kernel_raises():
    x_tr, y, x_te = _data()
    x_tr = np.vstack([x_tr, x_tr[:1]])
    with pytest.raises(NumericalError, match="noise"):
        student_t_inference(NET, x_tr, np.append(y, y[0]), x_te, 1.0, 1.0)


@pytest.mark.parametrize("a", [1e3, 3e4, 1e8])
def test_log_gamma_ratio_against_mpmath(a):
    """Stirling difference vs mpmath at 50 digits (relative 1e-14)."""
    import mpmath
    from nnphys.theory.kernels.scale_mixture import _log_gamma_ratio
    with mpmath.workdps(50):
        exact = float(mpmath.loggamma(mpmath.mpf(a) + 3.5) - mpmath.loggamma(mpmath.mpf(a)))
    assert _log_gamma_ratio(a, 3.5) == pytest.approx(exact, rel=1e-14)


def test_student_t_inference_names_mismatched_inputs():
    """Issue 12 census: train and test inputs of different shapes were reported under the
    kernel's internal names x1, x2."""
    from nnphys.errors import ParameterError
    net = nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1))
    with pytest.raises(ParameterError, match="x_train, x_test"):
        student_t_inference(net, np.ones((3, 4, 1)), np.ones((3, 1)),
                            np.ones((2, 4)), 2.0, 2.0)
