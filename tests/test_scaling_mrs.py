"""The Maloney-Roberts-Sully model: deterministic equivalent (theory.scaling.mrs) against
independent methods: the plain ridgeless sum, the continuum Gamma-function asymptote, the
BAP DMFT at s = ridge, exact small simulations (sim.regression.mrs)."""

import math

import numpy as np
import pytest
from scipy import optimize

from nnphys.errors import ArgumentTypeError, ConvergenceError, ParameterError
from nnphys.models.network import Identity, Relu
from nnphys.models.regression import Spectrum
from nnphys.sim.regression import mrs_regression
from nnphys.theory.dmft import learning as dmft
from nnphys.theory.scaling import mrs


def _ridgeless_reference(N, P, alpha, M):
    """(M3) from scratch: plain sum over I = 1..M, tau by brentq."""
    lam = np.arange(1, M + 1, dtype=float) ** -(1 + alpha)
    n, m = min(N, P), max(N, P)
    tau = math.exp(optimize.brentq(
        lambda lt: np.sum(1 / (1 + np.exp(-lt) / lam)) - n, -60, 80, xtol=1e-14))
    return np.sum(lam / (1 + tau * lam)) * m / (m - n)


def test_reference_values_part_d():
    # Maloney, Roberts & Sully (arXiv:2210.16859): the spectral sum evaluated independently to
    # 5 digits (tests/data/README.md, "MRS test loss")
    NP = [(100, 800), (400, 1600), (400, 800), (800, 200), (1600, 400)]
    ref = [2.7462e-02, 7.6628e-03, 1.1494e-02, 1.5831e-02, 7.6628e-03]
    r = mrs.test_loss([a for a, _ in NP], [b for _, b in NP], 1.0, M=5000)
    assert r.converged
    np.testing.assert_allclose(r.loss, ref, rtol=1e-4)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_ridge_to_zero_is_ridgeless_formula(alpha):
    M = 3000
    for N, P in [(100, 800), (800, 100), (300, 500), (2900, 200)]:
        ref = _ridgeless_reference(N, P, alpha, M)
        r0 = mrs.test_loss(N, P, alpha, M=M)
        assert float(r0.loss) == pytest.approx(ref, rel=1e-9)
        # the ridge correction is O(ridge / k): shrinks 10x per decade of ridge
        k = float(r0.k)
        e = [abs(float(mrs.test_loss(N, P, alpha, M=M, ridge=k * g).loss) / ref - 1)
             for g in (1e-4, 1e-5, 1e-6)]
        assert e[2] < 1e-3 and e[1] / e[2] == pytest.approx(10, rel=0.2)


def test_interpolation_peak_and_ridge_regularises_it():
    assert np.isinf(mrs.test_loss(300, 300, 1.0).loss)
    assert np.isfinite(mrs.test_loss(300, 300, 1.0, ridge=1e-6).loss)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 2.0])
def test_discrete_sum_vs_continuum(alpha):
    """sigma2_res(n) / [C^{1+alpha} n^-alpha] = (1 + 1/(2n))^-a + o(n^-2) (Euler-Maclaurin:
    n = C tau^{1/a} - 1/2, sigma2_res = n/tau up to o(n^-2))."""
    a = 1 + alpha
    n = np.array([300.0, 1000.0, 3000.0])
    ratio = mrs.sigma2_res(n, alpha) / mrs.sigma2_res_continuum(n, alpha)
    assert np.all(np.abs(ratio - 1) > 0.4 * a / (2 * n))        # the 1/n term is there
    assert np.all(np.abs(ratio - (1 + 1 / (2 * n)) ** -a) < n ** -2.0)
    c = mrs.continuum_constant(alpha)
    assert c == pytest.approx((math.pi / a) / math.sin(math.pi / a), rel=1e-12)


def test_tail_quadrature_against_plain_sum():
    for alpha in (0.3, 1.0):
        M = 200_000
        lam = np.arange(1, M + 1, dtype=float) ** -(1 + alpha)
        for n in (50, 5000):
            tau = math.exp(optimize.brentq(
                lambda lt: np.sum(1 / (1 + np.exp(-lt) / lam)) - n, -60, 120, xtol=1e-15))
            ref = np.sum(lam / (1 + tau * lam))
            assert float(mrs.sigma2_res(n, alpha, M)) == pytest.approx(ref, rel=1e-8)


def test_duality_exact_for_isotropic_noiseless_target():
    N = np.array([50, 100, 400, 1000])
    P = np.array([2000, 300, 80, 120])
    for ridge in (0.0, 1e-6, 1e-3, 0.1):
        a = mrs.test_loss(N, P, 1.3, M=None, ridge=ridge).loss
        b = mrs.test_loss(P, N, 1.3, M=None, ridge=ridge).loss
        np.testing.assert_allclose(a, b, rtol=1e-9)
    # broken by label noise and by an anisotropic target
    a = mrs.test_loss(100, 400, 1.0, ridge=1e-3, noise=0.1).loss
    b = mrs.test_loss(400, 100, 1.0, ridge=1e-3, noise=0.1).loss
    assert abs(a / b - 1) > 1e-2
    tgt = np.arange(1, 1001, dtype=float) ** -0.5
    a = mrs.test_loss(100, 400, 1.0, M=1000, target=tgt).loss
    b = mrs.test_loss(400, 100, 1.0, M=1000, target=tgt).loss
    assert abs(a / b - 1) > 1e-2


def test_against_bap_dmft_at_s_equal_ridge():
    """Independent derivation: the BAP DMFT (cavity) two-frequency loss at s = s' = ridge,
    ridge^2 L(s, s), is the ridge-regression loss."""
    M, alpha = 1500, 1.0
    lam = np.arange(1, M + 1, dtype=float) ** -(1 + alpha)
    spec = Spectrum(lam, np.ones(M))
    for N, P, g in [(100, 400, 1e-3), (400, 100, 1e-2), (200, 200, 1e-4), (80, np.inf, 1e-3)]:
        val = dmft._two_point(np.array([g + 0j]), spec, N, P)
        ref = g * g * float(np.real(np.ravel(val[0])[0]))
        assert float(mrs.test_loss(N, P, alpha, M=M, ridge=g).loss) == pytest.approx(ref, rel=1e-7)


def test_finite_m_end_of_power_law():
    M = 500
    assert float(mrs.test_loss(600, 800, 1.0, M=M).loss) == 0.0
    assert float(mrs.test_loss(600, 800, 1.0, M=M, noise=0.2).loss) == pytest.approx(
        0.2 * M / (800 - M), rel=1e-9)
    # plateau in the larger resource: L(N, P -> inf) = sigma2_res(N; M)
    lv = mrs.test_loss(100, [1e3, 1e4, 1e5, 1e7], 1.0, M=M).loss
    pl = float(mrs.plateau(100, 1.0, M))
    assert np.all(np.diff(lv) < 0) and lv[-1] == pytest.approx(pl, rel=1e-4)
    assert pl == pytest.approx(float(mrs.sigma2_res(100, 1.0, M)))


def test_optimal_ridge_and_equiparameterization():
    o = mrs.optimal_ridge([100, 200], [400, 200], 1.0)
    assert o.converged and o.iterations > 82 and o.residual is None
    with pytest.raises(ConvergenceError, match="edge"):     # the optimum 6e-5 is above it
        mrs.optimal_ridge(100, 400, 1.0, ridge_range=(1e-10, 1e-6))
    assert not mrs.optimal_ridge(100, 400, 1.0, ridge_range=(1e-10, 1e-6),
                                 strict=False).converged
    assert np.all(o.ridge > 0) and np.all(o.loss <= o.ridgeless)
    assert np.isfinite(o.loss[1]) and np.isinf(o.ridgeless[1])
    e = mrs.equiparameterization([600.0], 1.0, kind="sum", splits=11)
    assert e.ratio[0] == pytest.approx(1.0, abs=1e-3)
    e0 = mrs.equiparameterization([600.0], 1.0, kind="sum", tuned=False, splits=21)
    assert abs(math.log(e0.ratio[0])) > 0.3          # ridgeless: away from the N = P peak


def test_scaling_exponents():
    ex = mrs.scaling_exponents(0.7)
    assert ex.loss_vs_N == -0.7 and ex.loss_vs_NP == -0.35 and ex.spectrum == -1.7
    # theory: local slope of sigma2_res at large n tends to -alpha
    n = np.array([1e4, 2e4])
    s = np.diff(np.log(mrs.sigma2_res(n, 0.7))) / np.diff(np.log(n))
    assert float(s[0]) == pytest.approx(-0.7, abs=1e-3)


def test_bad_inputs():
    with pytest.raises(ParameterError, match="alpha"):
        mrs.test_loss(10, 10, -1.0)
    with pytest.raises(ParameterError, match="N"):
        mrs.test_loss(0, 10, 1.0)
    with pytest.raises(ParameterError, match="ridge"):
        mrs.test_loss(10, 20, 1.0, ridge=-1.0)
    with pytest.raises(ArgumentTypeError, match="M"):
        mrs.test_loss(10, 20, 1.0, M=2.5)
    with pytest.raises(ParameterError, match="noise"):
        mrs.test_loss(10, 20, 1.0, noise=float("nan"))
    with pytest.raises(ParameterError, match="activation"):
        mrs_regression(10, 20, 1.0, 50, activation="linear")      # a layer object, not a name
    with pytest.raises(ParameterError, match="kind"):
        mrs.equiparameterization([100.0], 1.0, kind="ratio")


def test_simulation_population_loss_is_exact():
    """The exact population loss of the simulation against a large fresh test sample
    (linear and ReLU features), for one draw."""
    rng = np.random.default_rng(3)
    M, N, P, alpha = 60, 30, 80, 1.0
    for act in (Identity(), Relu()):
        sim = mrs_regression(N, P, alpha, M, ridge=1e-3, n_replicas=1, seed=5, activation=act)
        # replay the draw to get theta and a test sample
        child = np.random.default_rng(5).spawn(1)[0]
        lam = np.arange(1, M + 1, dtype=float) ** -(1 + alpha)
        w = child.choice([-1.0, 1.0], M)
        A = child.standard_normal((N, M))
        X = child.standard_normal((P, M)) * np.sqrt(lam)
        f = act.fn
        Phi = f(X @ A.T) / math.sqrt(N)
        theta = np.linalg.solve(Phi.T @ Phi / P + 1e-3 * np.eye(N), Phi.T @ (X @ w) / P)
        Xt = rng.standard_normal((400_000, M)) * np.sqrt(lam)
        err = (Xt @ w - f(Xt @ A.T) / math.sqrt(N) @ theta) ** 2
        assert float(sim.loss.mean[0]) == pytest.approx(err.mean(), abs=4 * err.std() / math.sqrt(err.size))


def test_deterministic_equivalent_vs_small_simulation():
    """Within 4 SE plus the finite-size error (1/n + 1/|m - n|) L of the equivalent."""
    M, alpha = 300, 1.0
    for N, P, ridge in [(40, 160, 0.0), (160, 40, 0.0), (60, 60, 1e-3)]:
        sim = mrs_regression(N, P, alpha, M, ridge=ridge, n_replicas=150, seed=N + P).loss
        th = float(mrs.test_loss(N, P, alpha, M=M, ridge=ridge).loss)
        n, m = min(N, P), max(N, P)
        fs = (1 / n + (1 / (m - n) if m > n else 0)) * th
        assert abs(float(sim.mean[0]) - th) <= 4 * float(sim.stderr[0]) + fs


@pytest.mark.slow
def test_grid_simulation_within_se():
    M, alpha = 1000, 1.0
    for N, P in [(100, 400), (400, 100), (200, 1200), (1200, 200), (300, 300)]:
        ridges = [0.0, 1e-4, 1e-2] if N != P else [1e-4, 1e-2]
        sim = mrs_regression(N, P, alpha, M, ridge=ridges, n_replicas=60, seed=7 * N + P).loss
        th = mrs.test_loss(N, P, alpha, M=M, ridge=ridges).loss
        n, m = min(N, P), max(N, P)
        fs = (1 / n + (1 / (m - n) if m > n else 0)) * th
        assert np.all(np.abs(sim.mean - th) <= 4 * sim.stderr + fs)


def test_results_save_load_and_seed_reproducible(tmp_path):
    from nnphys.results import load
    r = mrs.test_loss([100, 200], [400, 50], 1.0, M=None, ridge=1e-3)
    r.save(tmp_path / "mrs.npz")
    back = load(tmp_path / "mrs.npz")
    np.testing.assert_array_equal(back.loss, r.loss)
    a = mrs_regression(20, 30, 1.0, 50, ridge=[0.0, 1e-2], n_replicas=3, seed=4)
    b = mrs_regression(20, 30, 1.0, 50, ridge=[0.0, 1e-2], n_replicas=3, seed=4)
    np.testing.assert_array_equal(a.per_replica, b.per_replica)
    a.save(tmp_path / "sim.npz")
    np.testing.assert_array_equal(load(tmp_path / "sim.npz").loss.mean, a.loss.mean)
