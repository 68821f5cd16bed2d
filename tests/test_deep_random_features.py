"""theory.generalization.deep_random_features: the linearisation coefficients against closed
forms, the first layer's equivalent covariance against the arc-cosine kernel, the
deterministic equivalent against closed-form limits and the reference landmarks, and against
simulated ridge regression (Gaussian covariates and deep random features)."""

import math

import numpy as np
import pytest
from scipy import stats

from nnphys.errors import ParameterError
from nnphys.sim import random_features as srf
from nnphys.theory import gaussian
from nnphys.theory import kernels as nk
from nnphys.theory.generalization import deep_random_features as drf


def test_relu_linearisation_closed_form():
    """u = m + s z: E relu = m Phi + s phi, E[z relu] = s Phi, E relu^2 = (m^2 + s^2) Phi +
    m s phi (Phi, phi at m/s). Both sides are exact: rounding only."""
    m = np.array([-1.3, 0.0, 0.4, 2.0])
    s = np.array([0.7, 1.0, 2.5, 0.3])
    lin = drf.linearisation(nk.Relu(), m, s)
    r = m / s
    cdf, pdf = stats.norm.cdf(r), stats.norm.pdf(r)
    a = m * cdf + s * pdf
    second = (m ** 2 + s ** 2) * cdf + m * s * pdf
    np.testing.assert_allclose(lin.mean, a, rtol=1e-12)
    np.testing.assert_allclose(lin.slope, cdf, rtol=1e-12)
    np.testing.assert_allclose(lin.noise_std ** 2, second - a ** 2 - cdf ** 2 * s ** 2,
                               rtol=1e-10, atol=1e-14)


def test_smooth_linearisation_matches_stein():
    """tanh: b = E[z tanh(s z)]/s equals E[tanh'(u)] (Stein's lemma) computed by the
    package's independent one-point rule; identity is linear (c = 0)."""
    s = np.array([0.3, 1.0, 2.0])
    lin = drf.linearisation(nk.Tanh(), 0.0, s)
    stein = gaussian.expect(lambda u: 1 - np.tanh(u) ** 2, s ** 2)
    np.testing.assert_allclose(lin.slope, stein, rtol=1e-10)
    np.testing.assert_allclose(lin.mean, 0.0, atol=1e-15)
    ident = drf.linearisation(nk.Identity(), 0.5, 2.0)
    assert ident.mean == pytest.approx(0.5) and ident.slope == pytest.approx(1.0)
    assert ident.noise_std ** 2 == pytest.approx(0.0, abs=1e-12)   # c^2: rounding of E u^2


def test_first_layer_covariance_against_arccosine():
    """One ReLU layer on x ~ N(0, I): the exact second moment is (s_i s_j / 2) k1(t_ij)
    (arc-cosine, k1(t) = (sqrt(1 - t^2) + (pi - arccos t) t)/pi); the linearisation keeps
    its first two Taylor terms s_i s_j (1/(2 pi) + t/4) off the diagonal and is exact on it."""
    rng = np.random.default_rng(0)
    d, k = 30, 12
    W = rng.standard_normal((k, d))
    theta = rng.standard_normal(d)
    model = drf.equivalent_model([W], nk.Relu(), theta)
    G = W @ W.T / d
    s = np.sqrt(np.diag(G))
    t = np.clip(G / np.outer(s, s), -1, 1)
    k1 = (np.sqrt(1 - t ** 2) + (np.pi - np.arccos(t)) * t) / np.pi
    exact = 0.5 * np.outer(s, s) * k1
    remainder = 0.5 * np.outer(s, s) * (k1 - 1 / np.pi - t / 2)
    np.fill_diagonal(remainder, 0.0)
    np.testing.assert_allclose(model.omega + remainder, exact, rtol=1e-10, atol=1e-13)
    # E[relu(u_i) f*] = E[relu'(u_i)] (W_i . theta)/d (Stein, exact): relu' mean 1/2
    np.testing.assert_allclose(model.cross, 0.5 * W @ theta / d, rtol=1e-10)
    assert model.target_power == pytest.approx(theta @ theta / d)


def test_isotropic_limits():
    """Omega = I_p (lambda = 1/p), teacher power |v|^2 on the features, r^2 outside,
    noise s2: the reference's isotropic closed form (generalization.md, section 2) with the
    effective label noise r^2 + s2, the clean test error being the noisy one minus s2.
    Ridgeless n < p: (1 - n/p)|v|^2 + (r^2 + s2) p/(p - n) - s2; n > p: (r^2 + s2) n/(n - p)
    - s2."""
    p, v2, r2, s2 = 50, 0.8, 0.15, 0.1
    c = np.zeros(p)
    c[0] = math.sqrt(v2)
    P = np.array([10.0, 30.0, 80.0, 200.0])
    res = drf.ridge_error(np.eye(p), c, v2 + r2, P, noise=s2)
    n = P
    under = (1 - n / p) * v2 + (r2 + s2) * p / (p - n) - s2
    over = (r2 + s2) * n / (n - p) - s2
    np.testing.assert_allclose(res.test_error, np.where(n < p, under, over), rtol=1e-12)
    # conservation law at zero ridge: sum L = min(n, p)
    np.testing.assert_allclose(res.learnability.sum(1), np.minimum(n, p), rtol=1e-12)


def test_power_law_landmarks():
    """Reference generalization.md, section 5: lambda_i = v2_i = i^-2 (20000 modes),
    ridge 1e-3, noise 0.01 (values from an independent implementation, 12 digits)."""
    i = np.arange(1, 20001, dtype=float)
    lam = i ** -2.0
    res = drf._spectral_error(lam, lam, 0.0, np.array([10.0, 100.0, 1000.0]), 1e-3, 0.01)
    np.testing.assert_allclose(res.kappa,
                               [2.256064510809e-2, 2.628566563132e-4, 4.146571211997e-6],
                               rtol=1e-9)
    np.testing.assert_allclose(res.overfitting, [1.897153635596, 1.920968591911,
                                                 1.626528657890], rtol=1e-9)
    np.testing.assert_allclose(res.test_error, [2.326808338012e-1, 3.357438295853e-2,
                                                8.785329133012e-3], rtol=1e-9)
    np.testing.assert_allclose(res.train_error, [4.767958324187e-6, 6.306570974775e-5,
                                                 1.092548064954e-3], rtol=1e-9)


def _finite_size(P, p):
    """Stated relative error of the deterministic equivalent: 1/P + 1/|P - p| (the exact
    Gaussian inverse-Wishart mean (P-1)/(P-p-1) against P/(P-p) for P > p, and the O(1/P)
    fluctuation corrections of the resolvent)."""
    return 1.0 / P + 1.0 / np.abs(P - p)


@pytest.mark.parametrize("ridge", [0.0, 1e-2])
def test_gaussian_covariates_match_equivalent(ridge):
    """The Gaussian covariate model simulated (exact population error per fit, 300 fits)
    vs (D1)-(D2): within 4 SE plus the stated finite-size error."""
    rng = np.random.default_rng(1)
    p = 40
    A = rng.standard_normal((p, p))
    omega = A @ A.T / p + 0.1 * np.eye(p)
    c = omega @ rng.standard_normal(p) / math.sqrt(p)
    power = float(c @ np.linalg.solve(omega, c)) + 0.2
    P = np.array([15, 90])
    th = drf.ridge_error(omega, c, power, P, ridge=ridge, noise=0.05).test_error
    sim = srf.gaussian_covariates(omega, c, power, P, ridge=ridge, noise=0.05, draws=300,
                                  seed=2).test_error
    assert np.all(np.abs(sim.mean - th) <= 4 * sim.stderr + _finite_size(P, p) * th)


@pytest.mark.parametrize("act", [nk.Relu(), nk.Tanh()], ids=["relu", "tanh"])
def test_deep_features_match_equivalent(act):
    """Two random layers (d = 40, widths 60, 80): ridge on simulated deep features vs the
    deterministic equivalent of the same draws, within 4 SE plus the stated bias: the
    equivalent's 1/P + 1/|P - p| and the linearisation's 1/sqrt(k) (k the narrowest layer,
    the size of the neglected off-diagonal Hermite terms relative to the spectrum)."""
    d, widths, P = 40, (60, 80), np.array([30, 200])
    theory = []
    sim = srf.deep_ridge(d, widths, act, P, ridge=1e-2, noise=0.05, draws=16, n_test=2000,
                         seed=3, on_draw=lambda W, th: theory.append(
                             drf.test_error(W, act, th, P, ridge=1e-2, noise=0.05).test_error))
    th = np.mean(theory, 0)
    est = sim.test_error
    bias = (_finite_size(P, widths[-1]) + 1 / math.sqrt(min(widths))) * th
    assert np.all(np.abs(est.mean - th) <= 4 * est.stderr + bias)


def test_input_validation():
    W = [np.ones((3, 4))]
    with pytest.raises(ParameterError, match="teacher"):
        drf.equivalent_model(W, nk.Relu(), np.ones(3))
    with pytest.raises(ParameterError, match="activations"):
        drf.equivalent_model(W, [nk.Relu(), nk.Tanh()], np.ones(4))
    with pytest.raises(ParameterError, match="weights"):
        drf.equivalent_model([np.ones((3, 4)), np.ones((2, 5))], nk.Relu(), np.ones(4))
    with pytest.raises(ParameterError, match="activation"):
        drf.linearisation(np.tanh, 0.0, 1.0)
    with pytest.raises(ParameterError, match="std"):
        drf.linearisation(nk.Relu(), 0.0, 0.0)
    with pytest.raises(ParameterError, match="P"):
        drf.ridge_error(np.eye(3), np.zeros(3), 1.0, 3)          # ridgeless peak
    with pytest.raises(ParameterError, match="target_power"):
        drf.ridge_error(np.eye(3), np.ones(3), 1.0, 2)
    with pytest.raises(ParameterError, match="omega"):
        drf.ridge_error(np.ones((2, 3)), np.zeros(2), 1.0, 1)
