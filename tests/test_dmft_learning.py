"""BAP random-feature DMFT: reference values, the P = inf resolvent identity, limits,
finite-N/P against exact gradient flow, compute-optimal exponents, errors."""

import math

import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.theory.dmft import learning


def test_reference_values_population_flow():
    """Reference dmft_scaling_values.txt, part C (a = 2, b = 1.5, M = 4000, N = 200): DMFT
    column, quoted to 6 significant digits (computed there from the one-point formula (b2)
    by a 24-node Talbot inversion, i.e. an independent route from our two-point system)."""
    ref = [5.94070e-01, 1.36277e-01, 4.28511e-02, 2.48981e-02, 2.36296e-02]
    r = learning.loss([1, 10, 100, 1000, 1e5], N=200, a=2.0, b=1.5, M=4000)
    np.testing.assert_allclose(r.test, ref, rtol=1e-5)
    np.testing.assert_array_equal(r.train, r.test)            # no data reuse at P = inf


def test_two_point_reduces_to_resolvent_identity():
    """P = inf: L(s, s') = [l(s) - l(s')]/(s' - s), l = sum lambda w^2 H (symmetric problem)."""
    spec = learning.power_law(2.0, 1.2, 500)
    s = np.array([0.3 + 0.2j, 1.5 - 0.7j, 0.05 + 1.0j])
    test, _ = learning._two_point(s, spec, 60, np.inf)
    h, _, _ = learning.transfer(s, spec, 60, np.inf)
    ell = h @ (spec.eigenvalues * spec.target)
    for i in range(3):
        for j in range(3):
            if i != j:
                assert test[i, j] == pytest.approx((ell[i] - ell[j]) / (s[j] - s[i]), rel=1e-10)


def test_infinite_width_and_data_is_exact_kernel_flow():
    """N = P = inf: L(t) = sum_k lambda_k w_k^2 exp(-2 lambda_k t) exactly (Talbot ~1e-9)."""
    spec = learning.power_law(1.8, 1.3, 300)
    t = np.array([0.5, 3.0, 40.0])
    r = learning.loss(t, spectrum=spec)
    exact = [(spec.eigenvalues * spec.target * np.exp(-2 * spec.eigenvalues * ti)).sum() for ti in t]
    np.testing.assert_allclose(r.test, exact, rtol=1e-8)


def test_long_time_limit_is_projection_loss():
    """t -> inf at P = inf: L = sum lambda w^2/(1 + tau lambda), sum tau lambda/(1+tau lambda) = N."""
    spec = learning.power_law(2.0, 1.5, 1000)
    r = learning.loss([1e7], N=50, spectrum=spec)
    assert r.test[0] == pytest.approx(learning.limit_loss(50, spec), rel=1e-5)


def test_long_times_stay_on_physical_branch():
    """Below rank deficiency u = R_N R_P ~ alpha s as s -> 0: the continuation must follow it;
    the loss is then constant from t = 1e5 to 1e9 (N != P) and grows without bound at N = P
    (ridgeless double descent)."""
    spec = learning.power_law(2.0, 1.5, 800)
    r = learning.loss([1e5, 1e7, 1e9], N=60, P=150, spectrum=spec)
    np.testing.assert_allclose(r.test, r.test[0], rtol=1e-6)
    d = learning.loss([1e5, 1e7, 1e9], N=100, P=100, spectrum=spec)
    assert d.test[0] < d.test[1] < d.test[2]


def test_exponents_formulas():
    e = learning.exponents(2.0, 1.5)
    assert e["time"] == pytest.approx(2 / 3) and e["width"] == 1.0
    assert e["compute_loss"] == pytest.approx(0.4)


@pytest.mark.slow
def test_compute_optimal_slope_near_prediction():
    """L* ~ C^{-0.4} (a = 2, b = 1.5); reference measured -0.377 at M = 4000 with a coarse
    grid: finite-M plateau and pre-asymptotic corrections of ~10%."""
    f = learning.compute_optimal(np.geomspace(1e3, 1e5, 5), a=2.0, b=1.5, M=4000)
    assert -0.45 < f.slope_loss < -0.33


@pytest.mark.parametrize("bad", [dict(N=-1), dict(P=0), dict(t=[-1.0]), dict(a=-1.0)])
def test_bad_input(bad):
    args = dict(t=[1.0], N=10, P=np.inf, M=50)
    args.update(bad)
    with pytest.raises(ParameterError):
        learning.loss(**args)


def test_finite_width_corrections_early_one_over_n_late_n_to_minus_m():
    """BAP 2024 (Sec. 4): L(t, N) - L(t, inf) ~ 1/N early in training but ~ N^{-m},
    m = min(a - 1, 2b) = 0.5 for a = 1.5, b = 1 at late times. Local slopes over N = 50..200
    (M = 8000): measured -0.96/-0.98 early, -0.51/-0.56 late (pre-asymptotic drift 0.1)."""
    spec = learning.power_law(1.5, 1.0, 8000)
    t = [0.5, 1e6]
    inf = learning.loss(t, spectrum=spec).test
    gaps = np.array([learning.loss(t, N=n, spectrum=spec).test - inf for n in (50, 100, 200)])
    slopes = np.log(gaps[1:] / gaps[:-1]) / math.log(2.0)
    np.testing.assert_allclose(slopes[:, 0], -1.0, atol=0.06)
    np.testing.assert_allclose(slopes[:, 1], -0.5, atol=0.1)
