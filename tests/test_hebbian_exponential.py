"""Exponential-capacity memories (theory): rate functions against exact large deviations,
the REM background against quadrature, the thresholds' limits and closed forms, the T = 0
fluctuation argument by exact enumeration, Krotov-Hopfield's polynomial capacity, the
phase diagram, and the modern-Hopfield (Ramsauer) update, bounds and attention map."""

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, special

from nnphys.errors import ArgumentTypeError, ParameterError
from nnphys.models.hebbian import ExponentialMemory
from nnphys.results import phase_diagrams
from nnphys.theory.hebbian import exponential as ex
from nnphys.theory.hebbian import modern


# ------------------------------------------------------------------ rates and REM

@pytest.mark.parametrize("m", [0.0, 0.3, 0.7, 0.95])
def test_cramer_rate_is_the_binomial_large_deviation(m):
    # ln P(sum = mN) = -N I(m) - ln(pi N (1 - m^2)/2)/2 + O(1/N) (Stirling); at N = 4000 the
    # O(1/N) remainder, divided by N, is below 1e-6
    N = 4000
    k = round(N * (1 + m) / 2)
    mm = 2 * k / N - 1
    log_p = (special.gammaln(N + 1) - special.gammaln(k + 1) - special.gammaln(N - k + 1)
             - N * math.log(2))
    stirling = -0.5 * math.log(math.pi * N * (1 - mm * mm) / 2)
    assert -(log_p - stirling) / N == pytest.approx(float(ex.cramer_rate(mm)), abs=1e-6)
    assert float(ex.cramer_rate(1.0)) == pytest.approx(math.log(2), rel=1e-15)


@pytest.mark.parametrize("lam", [0.3, 1.0, 2.5])
def test_spherical_legendre_against_quadrature(lam):
    # (1/N) ln E[e^{lam N m}] with the exact cosine density (1 - m^2)^{(N-3)/2} tends to
    # Lambda(lam) = lam m_lam - I(m_lam); the Laplace correction is O(ln N / N): N = 20000
    # and the first two orders removed leave < 1e-6 (the tolerance)
    N = 20000
    m_lam = ex.saddle(lam, "spherical")

    def log_density(m):
        return (N - 3) / 2 * np.log1p(-m * m)
    peak = lam * N * m_lam + log_density(m_lam)
    num = integrate.quad(lambda m: np.exp(lam * N * m + log_density(m) - peak), -1, 1,
                         points=[m_lam], limit=400, epsabs=0, epsrel=1e-12)[0]
    den = integrate.quad(lambda m: np.exp(log_density(m)), -1, 1, points=[0.0], limit=400,
                         epsabs=0, epsrel=1e-12)[0]
    log_mgf = (peak + math.log(num) - math.log(den)) / N
    # Laplace: the curvature at m_lam (1 at 0) and the (1 - m^2)^{-3/2} prefactor
    curv = N * (1 + m_lam ** 2) / (1 - m_lam ** 2) ** 2
    corr = (0.5 * math.log(N / curv) - 1.5 * math.log1p(-m_lam ** 2)) / N
    legendre = lam * m_lam - float(ex.overlap_rate(m_lam, "spherical"))
    assert log_mgf - corr == pytest.approx(legendre, abs=1e-6)


def test_background_exponent_branches_meet_at_condensation():
    for law in ("binary", "spherical", "gaussian"):
        lam = 0.7
        a_g = ex.glass_line(lam, law)
        # continuous at the REM condensation load (both forms equal lam m_lam there)
        assert ex.background_exponent(a_g * (1 + 1e-9), lam, law) == pytest.approx(
            ex.background_exponent(a_g * (1 - 1e-9), lam, law), rel=1e-7)
        # the sum exceeds its largest term: g >= lam m_c(alpha)
        for a in (0.5 * a_g, 2 * a_g):
            mc = math.sqrt(2 * a) if law == "gaussian" else None
            if mc is not None:
                assert ex.background_exponent(a, lam, law) >= lam * mc - 1e-12


# ------------------------------------------------------------------ thresholds

def test_demircigil_threshold():
    # Demircigil et al. 2017, Theorem 3: alpha < I(1 - 2 rho)/2, ln 2 / 2 at rho = 0
    assert ex.retrieval_threshold().alpha == pytest.approx(math.log(2) / 2, rel=1e-15)
    r = 0.1
    x = 1 - 2 * r
    direct = 0.25 * ((1 + x) * math.log(1 + x) + (1 - x) * math.log(1 - x))
    assert ex.retrieval_threshold(r).alpha == pytest.approx(direct, rel=1e-14)
    with pytest.raises(ParameterError, match="rho"):
        ex.retrieval_threshold(0.5)


def test_typical_capacity_limits_and_continuity():
    # T = 0 sign dynamics: 2 lam - ln cosh 2 lam, -> ln 2 for lam -> inf
    assert ex.typical_capacity(1.0).alpha == pytest.approx(2 - math.log(math.cosh(2)), rel=1e-14)
    assert ex.typical_capacity(40.0).alpha == pytest.approx(math.log(2), abs=1e-12)
    # T > 0: the two branches meet at T = 1/lam (m_T = m_lam)
    lam = 0.8
    below = ex.typical_capacity(lam, 1 / lam * (1 - 1e-10)).alpha
    above = ex.typical_capacity(lam, 1 / lam * (1 + 1e-10)).alpha
    assert below == pytest.approx(above, abs=1e-8)
    # T -> 0+: lam - ln cosh lam (the energy criterion); T -> inf: 0
    assert ex.typical_capacity(lam, 1e-3).alpha == pytest.approx(
        lam - math.log(math.cosh(lam)), abs=1e-12)
    assert ex.typical_capacity(lam, 1e4).alpha < 1e-7
    # spherical at T = 0 diverges logarithmically in lam; Gaussian saturates at 1/2
    assert ex.typical_capacity(3.0, 0, "gaussian").alpha == 0.5
    assert ex.typical_capacity(0.25, 0, "gaussian").alpha == pytest.approx(0.375, rel=1e-15)
    # Gaussian T = 0: continuous at lam = 1/2 (2 lam - 2 lam^2 = 1/2 there)
    assert ex.typical_capacity(0.5 - 1e-9, 0, "gaussian").alpha == pytest.approx(0.5, abs=1e-8)
    sph = [ex.typical_capacity(lam, 0, "spherical").alpha for lam in (10, 100, 1000)]
    assert np.all(np.diff(sph) > 0)
    # spherical, large lam: 2 lam (1 - m) - ln(1 - m^2)/2 at m = m_{2 lam} -> 1/2 +
    # ln(2 lam)/2 + O(1/lam)
    assert sph[-1] == pytest.approx(0.5 + 0.5 * math.log(2000), abs=2e-3)


def test_fluctuation_argument_by_exact_enumeration():
    # The T = 0 threshold rests on: a flip of spin i at sigma = xi^1 changes a random
    # pattern's term e^{lam x} by a zero-mean amount of variance 4 sinh^2(lam)
    # cosh^{N-1}(2 lam). Exact over all 2^N patterns at N = 10.
    N, lam = 10, 0.6
    sigma = np.ones(N)
    xi = np.array(list(itertools.product([-1.0, 1.0], repeat=N)))
    x = xi @ sigma
    a = xi[:, 0] * sigma[0]
    delta = np.exp(lam * (x - 2 * a)) - np.exp(lam * x)
    assert abs(delta.mean()) < 1e-12 * np.abs(delta).mean()
    assert np.mean(delta ** 2) == pytest.approx(
        4 * math.sinh(lam) ** 2 * math.cosh(2 * lam) ** (N - 1), rel=1e-12)


def test_all_patterns_capacity():
    # binary: Demircigil's ln2/2 whenever alpha_1(0) exceeds it
    assert ex.all_patterns_capacity(1.0).alpha == pytest.approx(math.log(2) / 2, rel=1e-15)
    small = ex.all_patterns_capacity(0.1)
    assert small.alpha == pytest.approx(ex.typical_capacity(0.1).alpha) and \
        small.regime == "typical"
    # spherical: the thresholds coincide (Lucibello & Mezard's abstract)
    assert ex.all_patterns_capacity(0.5, "spherical").alpha == \
        ex.typical_capacity(0.5, 0, "spherical").alpha
    # Gaussian, pair-bound: tangency at r = 1/sqrt(2) gives 4 alpha = ln 2 (analytic)
    g = ex.all_patterns_capacity(2.0, "gaussian")
    assert g.regime == "pair" and g.alpha == pytest.approx(math.log(2) / 4, abs=1e-10)
    # Gaussian at small lam: a gap below alpha_1 (the norm of the worst pattern binds)
    g = ex.all_patterns_capacity(0.2, "gaussian")
    assert g.alpha < ex.typical_capacity(0.2, 0, "gaussian").alpha and g.regime == "norm"
    r = ex._short_norm(g.alpha)
    assert 0.2 * r == pytest.approx(ex.fluctuation_exponent(g.alpha, 0.2, "gaussian"), abs=1e-10)


def test_phase_diagram_is_registered_and_consistent():
    assert "exponential" in phase_diagrams()
    alpha, T = np.linspace(0, 0.7, 36), np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    pd = ex.phase_diagram(alpha, T, lam=1.0)
    for j, t in enumerate(T):
        a1 = ex.typical_capacity(1.0, t).alpha
        assert np.all((pd.phase[:, j] == 2) == (alpha < a1))
    a_g = ex.glass_line(1.0)
    assert np.all(pd.phase[(alpha > a_g), :][pd.phase[(alpha > a_g), :] != 2] == 0)
    assert 1 in pd.phase[:, -1]                           # the glass exists at high T
    assert pd.boundaries["alpha_c"][0, 0] == pytest.approx(math.log(2) / 2)
    with pytest.raises(ParameterError, match="patterns"):
        ex.phase_diagram(alpha, T, patterns="ternary")


# ------------------------------------------------------------------ polynomial

def test_polynomial_capacity():
    N = 1000
    # n = 2: N / (2 ln N) (McEliece et al.)
    assert ex.polynomial_capacity(2, N).K_max == pytest.approx(N / (2 * math.log(N)), rel=1e-13)
    assert ex.polynomial_capacity(4, N).K_max == pytest.approx(
        N ** 3 / (2 * 15 * math.log(N)), rel=1e-13)
    # exact moments of a +-1 sum, and the variance of D = (x+1)^n - (x-1)^n tends to the
    # asymptotic 4 n^2 (2n-3)!! N^{n-1} with relative corrections O(n^2 / N)
    assert ex._even_moment(7, 2) == pytest.approx(7, rel=1e-13)
    assert ex._even_moment(7, 4) == pytest.approx(3 * 49 - 2 * 7, rel=1e-13)
    for n in (3, 4):
        var = sum(4 * math.comb(n, j) * math.comb(n, l) * ex._even_moment(N - 1, 2 * n - j - l)
                  for j in range(1, n + 1, 2) for l in range(1, n + 1, 2))
        dfact = math.prod(range(2 * n - 3, 0, -2))
        assert var / (4 * n * n * dfact * N ** (n - 1)) == pytest.approx(1, abs=3 * n * n / N)
    n_x = ex.crossover_order(40)
    target = 40 * math.log(2) / 2
    assert math.log(ex.polynomial_capacity(n_x, 40).K_max) >= target > \
        math.log(ex.polynomial_capacity(n_x - 1, 40).K_max)
    with pytest.raises(ParameterError, match="n"):
        ex.polynomial_capacity(1, 10)


def test_spec_validation():
    spec = ExponentialMemory(alpha=0.2, lam=0.5)
    assert spec.n_patterns(30) == round(math.exp(6))
    assert spec.at_size(30).alpha == pytest.approx(math.log(round(math.exp(6))) / 30)
    x = ExponentialMemory(alpha=0.1, patterns="spherical").patterns_at(20, seed=1)
    assert np.allclose(np.sum(x * x, axis=1), 20)
    with pytest.raises(ParameterError, match="lam"):
        ExponentialMemory(lam=0.0)
    with pytest.raises(ParameterError, match="patterns"):
        ExponentialMemory(patterns="ising")
    with pytest.raises(ArgumentTypeError, match="alpha"):
        ExponentialMemory(alpha="big")
    with pytest.raises(ParameterError, match="N"):
        ExponentialMemory(alpha=1.0).n_patterns(100)        # e^100 patterns


# ------------------------------------------------------------------ modern Hopfield

def _sphere(K, N, seed):
    x = np.random.default_rng(seed).standard_normal((K, N))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_update_descends_the_energy_and_is_attention():
    x = _sphere(50, 16, 0) * 2.0
    xi = np.random.default_rng(1).standard_normal(16)
    lam = 1.3
    e = [float(modern.energy(xi, x, lam))]
    for _ in range(30):
        xi = modern.update(xi, x, lam)
        e.append(float(modern.energy(xi, x, lam)))
    # CCCP (Ramsauer Theorem 1): non-increasing up to rounding of O(1e-15) per step
    assert np.all(np.diff(e) <= 1e-12)
    q = np.random.default_rng(2).standard_normal((3, 16))
    assert np.allclose(modern.update(q, x, 1 / math.sqrt(16)), modern.attention(q, x, x),
                       rtol=1e-13, atol=1e-15)
    # lse: the log-sum-exp at large arguments does not overflow
    assert float(modern.lse(1.0, np.array([1000.0, 1000.0]))) == pytest.approx(
        1000 + math.log(2), rel=1e-15)


def test_one_step_retrieval_error_obeys_the_bound():
    rng = np.random.default_rng(3)
    for trial in range(20):
        x = _sphere(30, 24, trial) * 3.0
        i = 0
        xi = x[i] + 0.05 * rng.standard_normal(24)
        for lam in (1.0, 3.0, 10.0):
            err = float(np.linalg.norm(modern.update(xi, x, lam) - x[i]))
            bound = modern.retrieval_error_bound(xi, x, i, lam)
            assert err <= bound * (1 + 1e-12)


def test_global_onset_of_symmetric_patterns_is_the_covariance_edge():
    # patterns in +- pairs: the global average is 0 at every lam with uniform weights,
    # so the Jacobian is lam Cov and lam_c = 1/lambda_max(Cov) exactly
    half = _sphere(6, 5, 4) * np.arange(1, 7)[:, None]
    x = np.vstack([half, -half])
    res = modern.global_average_onset(x)
    assert res.lam_c == pytest.approx(res.lam_small, rel=1e-9)
    # above lam_c the iteration from a perturbed mean leaves the global average
    start = 1e-3 * np.random.default_rng(5).standard_normal(5)
    low = modern.fixed_point(start, x, 0.9 * res.lam_c, steps=200_000, tol=1e-13).state
    high = modern.fixed_point(start, x, 1.2 * res.lam_c, steps=200_000, tol=1e-13).state
    assert np.linalg.norm(low) < 1e-8 and np.linalg.norm(high) > 1e-2


def test_separation_and_capacity():
    x = np.eye(4) * 2.0
    assert np.allclose(modern.separation(x), 4.0)
    assert modern.separation_condition(x, 50.0).all()
    assert not modern.separation_condition(x, 0.5).any()
    # storage capacity grows exponentially in N at lam M^2 proportional to N
    caps = [math.log(modern.storage_capacity(N, lam=1.0, M=math.sqrt(N))) for N in
            (100, 200, 400)]
    assert caps[1] / caps[0] == pytest.approx(2, rel=0.15)
    assert caps[2] / caps[1] == pytest.approx(2, rel=0.1)
    with pytest.raises(ParameterError, match="patterns"):
        modern.separation(np.ones((1, 3)))
    with pytest.raises(ParameterError, match="lam"):
        modern.update(np.ones(3), np.ones((2, 3)), -1.0)
