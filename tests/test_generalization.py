"""Spectral learning curves (theory.generalization) against closed forms, the reference
landmarks (Canatar/eigenlearning forms), an independently coded Canatar-form solve, kernel
ridge regression on a Gaussian design, and the training-data risk estimator."""

import math

import numpy as np
import pytest
from scipy import optimize

from nnphys.errors import ArgumentTypeError, NumericalError, ParameterError
from nnphys.sim.regression import gaussian_design, kernel_ridge
from nnphys.theory.generalization import kernel_alignment_risk, spectral_learning_curve

SIGMAS = 4.0


def test_isotropic_min_norm_interpolation():
    """d = 100 modes of 1/100, |v|^2 = 1, noise 0.1, ridgeless (closed form, reference
    Sec. 2): P < d: kappa = (d-P)/(P d), L = P/d, E0 = d/(d-P), E_g = (1-P/d) + noise P/(d-P);
    P > d: E_g = noise d/(P - d), train = noise (P-d)/P; P = 30 gives the landmark 0.842857
    (noisy test MSE). One level of multiplicity 100 and 100 separate modes agree."""
    d, noise, P = 100, 0.1, np.array([1.0, 30.0, 99.0, 101.0, 150.0, 1000.0])
    one = spectral_learning_curve([1 / d], [1.0], P, noise=noise, multiplicities=[d])
    many = spectral_learning_curve(np.full(d, 1 / d), np.full(d, 1 / d), P, noise=noise)
    below, above = P < d, P > d
    np.testing.assert_allclose(one.kappa[below], ((d - P) / (P * d))[below], rtol=1e-13)
    np.testing.assert_allclose(one.learnability[below, 0], (P / d)[below], rtol=1e-13)
    np.testing.assert_allclose(one.overfitting[below], (d / (d - P))[below], rtol=1e-12)
    expect = np.where(below, 1 - P / d + noise * P / (d - P), noise * d / (P - d))
    np.testing.assert_allclose(one.test_error, expect, rtol=1e-12)
    np.testing.assert_allclose(many.test_error, expect, rtol=1e-12)
    np.testing.assert_allclose(one.train_error[above], (noise * (P - d) / P)[above],
                               rtol=1e-14)
    assert np.all(one.train_error[below] == 0) and np.all(one.kappa[above] == 0)
    assert one.test_mse[1] == pytest.approx(0.842857142857143, rel=1e-13)
    assert one.kappa[1] == pytest.approx(7 / 300, rel=1e-13)


def test_interpolation_threshold_is_the_double_descent_peak():
    """Ridgeless at P = M with noise the variance diverges (stated inf); without noise
    the square system recovers the target exactly (0)."""
    noisy = spectral_learning_curve([0.01], [1.0], 100, noise=0.1, multiplicities=[100])
    clean = spectral_learning_curve([0.01], [1.0], 100, multiplicities=[100])
    assert noisy.test_error[0] == math.inf and clean.test_error[0] == 0.0


def test_one_degenerate_level_with_ridge():
    """One level (m modes of lambda) with ridge: (K) is the quadratic
    P k^2 + (P l - m l - r) k - r l = 0; then E_g from the eigenlearning formulas."""
    lam, m, ridge, noise = 0.02, 50.0, 0.3, 0.05
    P = np.array([5.0, 49.0, 50.0, 51.0, 400.0])
    b = P * lam - m * lam - ridge
    kappa = (-b + np.sqrt(b * b + 4 * P * ridge * lam)) / (2 * P)
    L = lam / (lam + kappa)
    e0 = P / (P - m * L ** 2)
    r = spectral_learning_curve([lam], [2.0], P, ridge=ridge, noise=noise, multiplicities=[m])
    np.testing.assert_allclose(r.kappa, kappa, rtol=1e-12)
    np.testing.assert_allclose(r.test_error, e0 * ((1 - L) ** 2 * 2.0 + noise) - noise,
                               rtol=1e-11)
    np.testing.assert_allclose(r.train_error, (ridge / (P * kappa)) ** 2 * e0
                               * ((1 - L) ** 2 * 2.0 + noise), rtol=1e-11)


def test_conservation_of_learnability_at_zero_ridge():
    """sum_i m_i L_i = P exactly at ridge 0 for P below the number of modes."""
    rng = np.random.default_rng(3)
    lam = np.sort(rng.pareto(1.0, 300) + 1e-3)[::-1]
    mult = rng.integers(1, 6, 300).astype(float)
    P = np.array([1.0, 17.5, 300.0, 800.0])
    r = spectral_learning_curve(lam, np.ones(300), P, multiplicities=mult)
    np.testing.assert_allclose((mult * r.learnability).sum(1), P, rtol=1e-12)
    np.testing.assert_allclose(r.mode_errors.sum(1), r.test_error, rtol=1e-14)


@pytest.mark.parametrize("P, kappa, e0, eg, train", [
    (10, 2.256064510809e-2, 1.897153635596, 2.326808338012e-1, 4.767958324187e-6),
    (100, 2.628566563132e-4, 1.920968591911, 3.357438295853e-2, 6.306570974775e-5),
    (1000, 4.146571211997e-6, 1.626528657890, 8.785329133012e-3, 1.092548064954e-3)])
def test_power_law_landmarks(P, kappa, e0, eg, train):
    """Reference Sec. 5 (lambda_i = v2_i = i^-2, i <= 20000, ridge 1e-3, noise 0.01):
    13 digits quoted, compared to 1e-11."""
    lam = np.arange(1, 20001.0) ** -2.0
    r = spectral_learning_curve(lam, lam, P, ridge=1e-3, noise=0.01)
    for got, want in ((r.kappa, kappa), (r.overfitting, e0), (r.test_error, eg),
                      (r.train_error, train)):
        assert float(got[0]) == pytest.approx(want, rel=1e-11)
    assert r.converged and r.residual < 1e-13


def _canatar(lam, mult, v2, p, ridge, noise):
    """Canatar, Bordelon & Pehlevan 2021 (arXiv:2006.13198) form, coded independently:
    kappa_C = ridge + kappa_C sum m eta/(p eta + kappa_C) by brentq in log kappa_C,
    E_g = 1/(1-gamma) sum (kappa_C^2 wbar^2 eta + noise p m eta^2)/(p eta + kappa_C)^2."""
    def f(x):
        k = math.exp(x)
        return k - ridge - k * np.sum(mult * lam / (p * lam + k))
    kc = math.exp(optimize.brentq(f, -80, 20, xtol=1e-15, rtol=1e-15))
    gamma = np.sum(mult * p * lam ** 2 / (p * lam + kc) ** 2)
    return np.sum((kc ** 2 * v2 + noise * p * mult * lam ** 2) / (p * lam + kc) ** 2) \
        / (1 - gamma)


@pytest.mark.parametrize("ridge", [0.0, 1e-4, 0.1])
def test_against_canatar_form(ridge):
    """300 random levels, random multiplicities and powers: the two forms agree to the
    root-finders' tolerance (1e-9 relative allows brentq's xtol in log kappa amplified by
    1/(1-gamma) <= ~1e3)."""
    rng = np.random.default_rng(7)
    lam = rng.pareto(1.5, 300) + 1e-4
    mult = rng.integers(1, 4, 300).astype(float)
    v2 = rng.exponential(size=300) * lam
    P = np.array([3.0, 40.0, 250.0])
    if ridge > 0:
        P = np.append(P, 2000.0)
    r = spectral_learning_curve(lam, v2, P, ridge=ridge, noise=0.02, multiplicities=mult)
    for j, p in enumerate(P):
        assert r.test_error[j] == pytest.approx(_canatar(lam, mult, v2, p, ridge, 0.02),
                                                rel=1e-9)


@pytest.mark.parametrize("P, ridge", [(20, 0.0), (60, 0.0), (60, 1e-2), (300, 0.0),
                                      (300, 1e-2)])
def test_against_kernel_regression_on_gaussian_design(P, ridge):
    """KRR with P Gaussian samples of M = 200 eigenfeatures (lambda = i^-1.5, v^2 = i^-1,
    noise 0.05), exact population error, mean over 60 draws. The theory is the P -> inf
    deterministic equivalent: tolerance 4 SE + E_g (1/P + 1/|M - P|), the stated finite-size
    bias (the inverse-Wishart mean (P-1)/(P-M-1) against P/(P-M) beyond M; O(1/P) below)."""
    M, noise = 200, 0.05
    i = np.arange(1, M + 1.0)
    lam, v = i ** -1.5, i ** -0.5
    sim = gaussian_design(lam, v, P, ridge=ridge, noise=noise, n_replicas=60, seed=P)
    th = spectral_learning_curve(lam, v ** 2, P, ridge=ridge, noise=noise)
    for est, theory in ((sim.test_error, th.test_error[0]), (sim.train_error, th.train_error[0])):
        bias = theory * (1 / P + 1 / abs(M - P))
        assert abs(float(est.mean[0]) - theory) <= SIGMAS * float(est.stderr[0]) + bias + 1e-12


def test_risk_estimator_is_gcv_and_tracks_the_theory():
    """KARE = P y^T A^2 y/(tr A)^2 equals GCV computed from the hat matrix directly; on a
    Gaussian design its mean over draws estimates the noisy test MSE of the theory
    (tolerance 4 SE + the 1/P + 1/|M-P| finite-size bias)."""
    M, P, noise, ridge = 200, 80, 0.05, 1e-2
    i = np.arange(1, M + 1.0)
    lam, v = i ** -1.5, i ** -0.5
    rng = np.random.default_rng(11)
    values = []
    for _ in range(40):
        phi = rng.standard_normal((P, M))
        K = (phi * lam) @ phi.T
        y = phi @ v + math.sqrt(noise) * rng.standard_normal(P)
        values.append(kernel_alignment_risk(K, y, ridge))
    H = K @ np.linalg.inv(K + ridge * np.eye(P))
    gcv = np.mean(((np.eye(P) - H) @ y) ** 2) / np.mean(np.diag(np.eye(P) - H)) ** 2
    assert values[-1] == pytest.approx(gcv, rel=1e-10)
    th = spectral_learning_curve(lam, v ** 2, P, ridge=ridge, noise=noise).test_mse[0]
    se = np.std(values, ddof=1) / math.sqrt(len(values))
    assert abs(np.mean(values) - th) <= SIGMAS * se + th * (1 / P + 1 / (M - P))


def test_kernel_ridge_min_norm_interpolates():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 3))
    K = x @ x.T                                   # rank 3: pseudo-inverse at ridge 0
    y = x @ np.array([1.0, -2.0, 0.5])
    alpha = kernel_ridge(K, y, [0.0, 1.0])
    np.testing.assert_allclose(K @ alpha[0], y, atol=1e-10)
    np.testing.assert_allclose(alpha[1], np.linalg.solve(K + np.eye(10), y), rtol=1e-10)


def test_bad_inputs_name_the_argument():
    with pytest.raises(ParameterError, match="target_power"):
        spectral_learning_curve([1.0, 0.5], [1.0], 10)
    with pytest.raises(ParameterError, match="P"):
        spectral_learning_curve([1.0], [1.0], 0)
    with pytest.raises(ParameterError, match="ridge"):
        spectral_learning_curve([1.0], [1.0], 5, ridge=-1.0)
    with pytest.raises(ParameterError, match="eigenvalues"):
        spectral_learning_curve([0.0], [1.0], 5)
    with pytest.raises(ArgumentTypeError, match="noise"):
        spectral_learning_curve([1.0], [1.0], 5, noise="x")
    with pytest.raises(NumericalError, match="ridge"):
        kernel_alignment_risk(np.ones((3, 3)), np.ones(3), 0.0)


@pytest.mark.slow
def test_quick_validation_checks_pass():
    """The registered generalization checks at their quick sizes (~15 s)."""
    from nnphys import validation
    results = validation.run(["generalization"], quick=True)
    assert len(results) >= 20
    assert all(c.passed for c in results), [c.name for c in results if not c.passed]


def test_binned_sums_match_the_direct_sums():
    """theory.spectral.SpectralSums (bin moments, a geometric series per bin) against the
    direct sums over 10^5 eigenvalues for tau over 15 decades: truncation < 2e-16 per bin,
    so 1e-14 allows the rounding of the direct sums; and the learning curve with and
    without bins (levels with lambda = 0 included) agrees to 1e-13."""
    import nnphys.theory.generalization.eigenlearning as eig
    import nnphys.theory.spectral as spectral
    rng = np.random.default_rng(0)
    lam = np.arange(1, 100001.0) ** -1.5
    w, u = rng.integers(1, 5, lam.size).astype(float), rng.exponential(size=lam.size)
    sums = spectral.SpectralSums(lam, w=w, u=u)
    tau = np.geomspace(1e-3, 1e12, 40)
    x = tau[:, None] * lam
    for kind, F, weight, name in (("frac", x / (1 + x), w, "w"), ("slope", x / (1 + x) ** 2, w,
                                  "w"), ("miss2", 1 / (1 + x) ** 2, u, "u")):
        np.testing.assert_allclose(sums(tau, name, kind), (F * weight).sum(1), rtol=1e-14)
    lam[::7] = 0.0
    P = np.geomspace(10, 1e6, 30)
    binned = spectral_learning_curve(lam, u, P, ridge=1e-7, noise=0.01)
    threshold = eig._BINNED_FROM
    try:
        eig._BINNED_FROM = spectral._BINNED_FROM = 10 ** 9
        direct = spectral_learning_curve(lam, u, P, ridge=1e-7, noise=0.01)
    finally:
        eig._BINNED_FROM = spectral._BINNED_FROM = threshold
    for field in ("kappa", "test_error", "train_error", "overfitting"):
        np.testing.assert_allclose(getattr(binned, field), getattr(direct, field), rtol=1e-13)


def test_gaussian_design_empty_spectrum_named():
    # fuzz census reproducer: an empty spectrum was reported as `coefficients`
    from nnphys.errors import ParameterError
    from nnphys.sim.regression.kernel_ridge import gaussian_design
    with pytest.raises(ParameterError, match="^eigenvalues:"):
        gaussian_design(np.array([]), np.array([1.0, 0.5, 0.25]), 8, 0.01, n_replicas=2)


def test_astronomical_P_stays_finite():
    """Issue 12 census: at P = 1e300 the training error formed (ridge/kappa)^2 ~ P^2 and
    overflowed. With a ridge, kappa -> ridge/P and the errors fall like P^-2 (underflowing
    to 0 here); E0 -> 1. Compared with the same curve at P = 1e20, where nothing
    overflows: test error times P^2 is the same constant (its large-P limit)."""
    lam = np.array([1.0, 0.5, 0.25])
    far = spectral_learning_curve(lam, lam, np.array([1e20, 1e300]), 0.001)
    assert np.all(np.isfinite(far.test_error)) and np.all(np.isfinite(far.train_error))
    assert far.overfitting[1] == pytest.approx(1.0, abs=1e-11)   # kappa solved to ~1e-12
    assert far.test_error[1] == 0.0 and far.train_error[1] == 0.0
    assert far.test_error[0] * 1e40 == pytest.approx(
        np.sum(lam * (0.001 / lam) ** 2), rel=1e-6)


def test_kernel_ridge_below_the_rank_tolerance_is_ridgeless():
    """Issue 12 census: ridge = 1e-300 divided rounding noise in the Gram matrix's null
    space by 1e-300 (inf). A ridge below the rank tolerance is the pseudo-inverse fit,
    bit for bit."""
    from nnphys.sim.regression import gaussian_design
    lam = np.array([1.0, 0.5, 0.25])
    tiny = gaussian_design(lam, lam, 8, 1e-300, n_replicas=2, seed=3)
    zero = gaussian_design(lam, lam, 8, 0.0, n_replicas=2, seed=3)
    assert np.all(np.isfinite(tiny.test_samples))
    np.testing.assert_array_equal(tiny.test_samples, zero.test_samples)
