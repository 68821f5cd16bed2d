"""Signal propagation: landmarks of Poole et al. 2016 / Schoenholz et al. 2017 and PDLT ch. 5.

Reference numbers: Poole et al. 2016 (arXiv:1606.05340), Schoenholz et al. 2017
(arXiv:1611.01232) and PDLT ch. 5 (arXiv:2106.10165), computed beforehand by two routes
agreeing to 1e-14; chaotic-phase ``c*`` is checked here against an
independent 2-D quadrature (scipy ``dblquad``) because the reference table's chaotic rows
were not iterated to convergence (e.g. sigma_w^2 = 4: c* = 0.165065, not 0.165151).
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from nnphys.errors import ConvergenceError, ConvergenceWarning, ParameterError
from nnphys.results import load
from nnphys.theory import criticality as cr
from nnphys.theory import kernels as nk


@pytest.mark.parametrize("sigma_b2, sigma_w2, q_star", [
    (0.0, 1.0, 0.0),
    (0.05, 1.7609546396, 0.5700478816),
    (0.1, 1.9860726411, 0.8057991819),
    (0.3, 2.5051271897, 1.4611694469),
])
def test_tanh_edge_of_chaos_landmarks(sigma_b2, sigma_w2, q_star):
    line = cr.critical_line(nk.Tanh(), math.sqrt(sigma_b2))
    assert float(line.W_std) ** 2 == pytest.approx(sigma_w2, abs=1e-9)   # 10 printed digits
    assert line.converged and line.residual < 1e-12
    assert float(line.q_star) == pytest.approx(q_star, abs=1e-9)


def test_critical_line_agrees_with_iterating_the_maps():
    """Route 2: find sigma_w^2 where chi_1 at the iterated fixed point q* equals 1."""
    for sigma_b2 in (0.05, 0.7):
        def excess(w):
            return float(cr.signal_propagation(nk.Tanh(), math.sqrt(w),
                                               math.sqrt(sigma_b2)).chi_1) - 1.0
        root = optimize.brentq(excess, 1.2, 5.0, xtol=1e-14)
        line = cr.critical_line(nk.Tanh(), math.sqrt(sigma_b2))
        assert root == pytest.approx(float(line.W_std) ** 2, rel=1e-11)


def test_erf_length_map_matches_closed_form():
    """E[erf(sqrt(q) z)^2] = (2/pi) arcsin(2q/(1+2q)) (Williams 1997)."""
    q = np.array([0.01, 0.5, 3.0, 200.0])
    expected = 1.3 * (2 / np.pi) * np.arcsin(2 * q / (1 + 2 * q)) + 0.2
    assert np.allclose(cr.length_map(nk.Erf(), q, math.sqrt(1.3), math.sqrt(0.2)), expected, rtol=1e-12, atol=0)


def test_relu_closed_forms():
    """ReLU: q' = sigma_w^2 q / 2 + sigma_b^2, chi_1 = sigma_w^2 / 2 for every q."""
    w = np.array([0.5, 1.0, 1.9])
    r = cr.signal_propagation(nk.Relu(), np.sqrt(w), math.sqrt(0.3))
    assert np.allclose(r.q_star, 0.3 / (1 - w / 2), rtol=1e-13)
    assert np.allclose(r.chi_1, w / 2, rtol=1e-13)
    assert np.allclose(r.chi_par, w / 2, rtol=1e-12)
    assert np.all(r.phase == 0)
    beyond = cr.signal_propagation(nk.Relu(), math.sqrt(2.5), math.sqrt(0.3))
    assert cr.PHASES[int(beyond.phase)] == "unbounded" and np.isinf(beyond.q_star)
    assert float(cr.critical_line(nk.Relu(), math.sqrt(0.4)).W_std) ** 2 == pytest.approx(
        2.0, rel=1e-14)
    fixed = cr.fixed_point_q(nk.Relu(), np.sqrt(w), math.sqrt(0.3))
    assert np.allclose(fixed.q_star, r.q_star, rtol=0) and fixed.residual < 1e-13


# sigma_w^2, q*, chi_1, xi_q, xi_c: ordered rows of the reference table (sec. 2.3), tanh,
# sigma_b^2 = 0.05; 6 significant digits printed.
@pytest.mark.parametrize("w, q, chi1, xi_q, xi_c", [
    (1.0, 0.193593, 0.759032, 1.7476, 3.627),
    (1.5, 0.418037, 0.938636, 1.6828, 15.79),
    (1.7, 0.533076, 0.986741, 1.5583, 74.92),
])
def test_tanh_depth_scales_ordered(w, q, chi1, xi_q, xi_c):
    r = cr.signal_propagation(nk.Tanh(), math.sqrt(w), math.sqrt(0.05))
    assert float(r.q_star) == pytest.approx(q, abs=1e-6)
    assert float(r.chi_1) == pytest.approx(chi1, abs=1e-6)
    assert float(r.c_star) == 1.0 and int(r.phase) == 0
    assert float(r.xi_q) == pytest.approx(xi_q, abs=1e-4)
    assert float(r.xi_c) == pytest.approx(xi_c, abs=1e-2)


def _tanh_pair_expectation(q, c, derivative=False):
    s = math.sqrt(1 - c * c)
    f = (lambda u: 1 / np.cosh(u) ** 2) if derivative else np.tanh

    def integrand(z2, z1):
        return f(math.sqrt(q) * z1) * f(math.sqrt(q) * (c * z1 + s * z2)) * \
            math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi)
    return integrate.dblquad(integrand, -10, 10, -10, 10, epsabs=1e-13, epsrel=1e-13)[0]


@pytest.mark.parametrize("w", [2.5, 4.0])
def test_tanh_chaotic_fixed_point_by_independent_quadrature(w):
    r = cr.signal_propagation(nk.Tanh(), math.sqrt(w), math.sqrt(0.05))
    q, c = float(r.q_star), float(r.c_star)
    assert int(r.phase) == 1 and 0 < c < 1
    # c* is a fixed point of the c-map computed by adaptive 2-D quadrature (error ~1e-12)
    assert (w * _tanh_pair_expectation(q, c) + 0.05) / q == pytest.approx(c, abs=1e-9)
    assert w * _tanh_pair_expectation(q, c, derivative=True) == pytest.approx(
        float(r.chi_c), abs=1e-9)
    assert float(r.xi_c) == pytest.approx(-1 / math.log(float(r.chi_c)), rel=1e-12)


def test_xi_c_diverges_at_the_edge_of_chaos():
    w_c = float(cr.critical_line(nk.Tanh(), math.sqrt(0.05)).W_std) ** 2
    xi = cr.signal_propagation(nk.Tanh(), np.sqrt([w_c - 1e-3, w_c + 1e-3]),
                               math.sqrt(0.05)).xi_c
    assert np.all(xi > 1e3)          # ~ 1/|chi_1 - 1| ~ 1/(2e-4 ... 5e-4)


def test_universality_classes():
    tanh = cr.universality_class(nk.Tanh())
    assert tanh.name == "K*=0" and tanh.W_std ** 2 == pytest.approx(1.0, rel=1e-12)
    assert tanh.details["a1"] == pytest.approx(-2.0, rel=1e-10)          # PDLT: a_1 = -2
    assert cr.universality_class(nk.Sin()).details["a1"] == pytest.approx(-1.0, rel=1e-10)
    leaky = cr.universality_class(nk.LeakyRelu(0.1))
    assert leaky.name == "scale-invariant"
    assert leaky.W_std ** 2 == pytest.approx(2 / (1 + 0.01), rel=1e-14)
    # half-stable points (reference sec. 2.5, [num], 6-7 digits printed)
    gelu = cr.universality_class(nk.Gelu())
    assert gelu.name == "half-stable"
    assert (gelu.k_star, gelu.W_std ** 2, gelu.b_std ** 2) == pytest.approx(
        (3.561553, 1.983058, 0.172922), abs=2e-6)
    swish = cr.universality_class(lambda u: u * special.expit(u))
    assert (swish.k_star, swish.W_std ** 2, swish.b_std ** 2) == pytest.approx(
        (14.320174, 1.988005, 0.555143), abs=2e-6)
    assert swish.details["chi_par"] == pytest.approx(1.0, abs=1e-8)
    assert swish.converged and swish.residual == abs(swish.details["chi_par"] - 1.0)
    assert tanh.converged is None          # a closed form: no solver ran


def test_phase_diagram_is_split_by_the_critical_line():
    w = np.linspace(0.8, 3.5, 28)
    b = np.array([0.0, 0.05, 0.3])
    pd = cr.phase_diagram(nk.Tanh(), np.sqrt(w), np.sqrt(b))
    assert pd.phase.shape == (28, 3) and pd.labels[0] == "ordered"
    line = pd.boundaries["edge_of_chaos"]
    for j in range(3):
        away = np.abs(w - line[j, 0] ** 2) > 1e-9
        expected = np.where(w > line[j, 0] ** 2, 1, 0)
        assert np.array_equal(pd.phase[away, j], expected[away])
    # xi_q is finite except at PDLT's critical point (1, 0) of tanh, where chi_par = 1
    xi_q = pd.fields["xi_q"]
    at_critical_point = np.isclose(w, 1.0)[:, None] & (b == 0)[None, :]
    assert np.all(np.isinf(xi_q[at_critical_point]))
    assert np.all(np.isfinite(xi_q[~at_critical_point]))


def test_bad_input():
    with pytest.raises(ParameterError, match="W_std"):
        cr.signal_propagation(nk.Tanh(), -1.0, 0.0)
    with pytest.raises(ParameterError, match="b_std"):
        cr.critical_line(nk.Tanh(), np.nan)
    with pytest.raises(TypeError, match="activation"):
        cr.signal_propagation(3.0, 1.0, 0.0)


# ---------------------------------------------------------------- extreme scales (issue 12)

def _erf_second_moment(q):
    """E[erf(u)^2], u ~ N(0, q): (2/pi) arcsin(2q/(1+2q)) (Williams 1997), written as
    1 - (2/pi) arctan(sqrt(1+4q)/(2q)) so that it keeps its digits at large q (mpmath)."""
    import mpmath
    return 1 - 2 / mpmath.pi * mpmath.atan(mpmath.sqrt(1 + 4 * q) / (2 * q))


@pytest.mark.parametrize("W_std", [1e3, 1e10, 1e40, 1e75])
def test_erf_fixed_point_and_slopes_at_extreme_W_std(W_std):
    """Erf is bounded, so q* <= W_std^2 + b_std^2 is finite at every representable W_std
    (beyond the 1e8 of the first scan). Reference: mpmath's root of the closed-form length
    map at 40 digits and the closed forms chi_1 = w (4/pi)/sqrt(1+4q), chi_par = w (4/pi)
    / ((1+2q) sqrt(1+4q)). Tolerance: expect's relative tolerance 1e-12 on each moment,
    times the condition numbers (<= 1 for q*, since chi_par < 1; <= 1.5 for the slopes,
    d ln chi / d ln q >= -1.5), with a factor 5 for the bound being on the difference of
    two quadrature orders."""
    import mpmath
    mpmath.mp.dps = 40
    b_std = 0.05
    w, b = mpmath.mpf(W_std) ** 2, mpmath.mpf(b_std) ** 2
    x = mpmath.findroot(lambda x: _erf_second_moment(w * x) + b / w - x, 1)   # x = q*/w
    q_ref = w * x
    r = cr.signal_propagation(nk.Erf(), W_std, b_std)
    assert r.phase == 1 and r.converged
    q = float(r.q_star)
    assert q == pytest.approx(float(q_ref), rel=5e-12)
    qm = mpmath.mpf(q)
    chi_1 = w * 4 / mpmath.pi / mpmath.sqrt(1 + 4 * qm)
    chi_par = w * 4 / mpmath.pi / ((1 + 2 * qm) * mpmath.sqrt(1 + 4 * qm))
    assert float(r.chi_1) == pytest.approx(float(chi_1), rel=1e-11)
    assert float(r.chi_par) == pytest.approx(float(chi_par), rel=1e-11)
    assert np.isfinite(r.xi_q) and np.isfinite(r.xi_c)


def test_erf_chaotic_fixed_point_of_tiny_correlation():
    """At W_std = 1e40 the chaotic c* ~ 7e-83 (the bias's share b^2/q*): the regula falsi
    step is a convex combination, so the tiny root is reached (it used to stall on the
    cancellation of b - f(b)(b - a)/(f(b) - f(a))). Reference: mpmath's root of the
    closed-form c-map (Williams 1997), c = (w (2/pi) arcsin(2 c q/(1 + 2q)) + b^2)/q,
    at 40 digits; tolerance 1e-12 relative as above."""
    import mpmath
    mpmath.mp.dps = 40
    r = cr.signal_propagation(nk.Erf(), 1e40, 0.05)
    q, w, b = mpmath.mpf(float(r.q_star)), mpmath.mpf(1e80), mpmath.mpf(0.05) ** 2
    c_ref = mpmath.findroot(
        lambda c: (w * 2 / mpmath.pi * mpmath.asin(2 * c * q / (1 + 2 * q)) + b) / q - c,
        b / q)
    assert float(r.c_star) == pytest.approx(float(c_ref), rel=1e-12)


def test_scales_beyond_the_representable_range_are_refused():
    """The issue's reproducer: W_std = 1e300 overflowed W_std**2 and came back as q* = inf
    with converged=True. W_std, b_std must be <= 1e75 (variances <= 1e150)."""
    with pytest.raises(ParameterError, match=r"W_std: must be in \(0, 1e\+75\].*1e\+300"):
        cr.signal_propagation(nk.Erf(), 1e300, 0.05)
    with pytest.raises(ParameterError, match=r"b_std: must be in \[0, 1e\+75\]"):
        cr.signal_propagation(nk.Erf(), 1.0, 1e80)
    with pytest.raises(ParameterError, match="W_std"):
        cr.fixed_point_q(nk.Erf(), np.inf, 0.0)
    with pytest.raises(ParameterError, match="b_std"):
        cr.critical_line(nk.Tanh(), 1e76)


def test_unresolved_chaotic_fixed_point_raises():
    """b_std^2 = 1e150 against sigma_w^2 = 1e80: c* = 1 - O(1e-70) is 1 in float64 although
    chi_1 ~ 6e4 (deeply chaotic; the slope of the c-map at c* is not chi_1). This is an
    error, not c* = 1 with xi_c = inf."""
    with pytest.raises(ConvergenceError, match="c\\*"):
        cr.signal_propagation(nk.Erf(), 1e40, 1e75)


def test_depth_scales_are_nan_only_where_the_length_map_diverges():
    """NaN xi_q/xi_c mark the unbounded phase (no fixed point to approach) and nothing
    else; a marginal length map (ReLU at W_std = sqrt 2, b_std = 0: every q is fixed,
    chi_par = chi_1 = 1 in closed form) has xi_q = xi_c = inf."""
    marginal = cr.signal_propagation(nk.Relu(), math.sqrt(2), 0.0)
    assert marginal.phase == 0 and marginal.xi_q == np.inf and marginal.xi_c == np.inf
    W = np.array([0.5, 1.0, 1.3, 1.5, 2.0, 1e3])
    b = np.array([0.0, 0.05, 1.0])
    for act in (nk.Relu(), nk.Erf(), nk.Monomial(3)):
        r = cr.signal_propagation(act, W[:, None], b[None, :])
        unbounded = r.phase == 2
        assert np.array_equal(np.isnan(r.xi_q), unbounded)
        assert np.array_equal(np.isnan(r.xi_c), unbounded)
        assert np.all(np.isinf(r.q_star[unbounded])) and np.all(np.isfinite(r.q_star[~unbounded]))
    relu = cr.signal_propagation(nk.Relu(), W[:, None], b[None, :])
    assert np.array_equal(relu.phase == 2, (W[:, None] ** 2 > 2) & (b[None, :] >= 0))


def _double_factorial(k):
    return math.prod(range(k, 0, -2))


def _check_monomial_critical_line(n, b_std):
    """critical_line(z^n) against q* = b_std^2 n^2/(n-1)^2, W_std^2 = 1/(n^2 (2n-3)!!
    q*^(n-1)), to the tolerances derived in test_monomial_critical_line_closed_form."""
    line = cr.critical_line(nk.Monomial(n), b_std)
    q = b_std ** 2 * n ** 2 / (n - 1) ** 2
    w2 = 1.0 / (n ** 2 * _double_factorial(2 * n - 3) * q ** (n - 1))
    assert line.converged
    assert float(line.q_star) == pytest.approx(q, rel=5e-12)
    assert float(line.W_std) ** 2 == pytest.approx(w2, rel=5 * n * 1e-12)


@pytest.mark.parametrize("n", [2, 3, 5, 12, 30])
@pytest.mark.parametrize("b_std", [0.05, 1.0, 1e3])
def test_monomial_critical_line_closed_form(n, b_std):
    """phi = z^n: E[phi^2] = (2n-1)!! q^n, E[phi'^2] = n^2 (2n-3)!! q^(n-1) (E[z^2k] =
    (2k-1)!!), so on the edge of chaos sigma_b^2(q) = q (n-1)^2/n^2, i.e.
    q* = b_std^2 n^2/(n-1)^2 and W_std^2 = 1/(n^2 (2n-3)!! q*^(n-1)). The issue's
    Monomial(12) at b_std = 0.05 (W_std = 5.59e7) came back inf. Tolerance: the moments'
    quadrature tolerance 1e-12 (relative) propagates to q* unchanged and to W_std^2 with
    the factor n - 1 of q*^(n-1), plus one more for E[phi'^2] itself: n * 1e-12, times 5."""
    _check_monomial_critical_line(n, b_std)


@pytest.mark.parametrize("b_std", [0.05, 1.0])
def test_monomial_80_critical_line_needs_the_wider_truncation(b_std):
    """As above for n = 80, where E[phi'^2] needs E[z^158], which peaks at |z| = 12.6 and
    has 4% of its mass beyond the |z| = 14 cut of ``gaussian.expect``: W_std^2 was 4% off
    without an error before the truncation check widened the range."""
    n = 80
    _check_monomial_critical_line(n, b_std)


def test_critical_line_beyond_the_representable_range_is_refused():
    """phi = z^30 at b_std = 1e-4: q* ~ 1e-8 and W_std^2 = 1/(900 57!! q*^29) ~ 1e190 >
    1e150: a ParameterError naming b_std, not W_std = inf."""
    with pytest.raises(ParameterError, match="b_std.*exceeds 1e\\+75"):
        cr.critical_line(nk.Monomial(30), 1e-4)


def test_phase_diagram_records_a_failed_point_and_keeps_the_rest(tmp_path):
    """(W_std, b_std) = (1e40, 1e75) raises (unresolved c*, above); the diagram records
    that point as failed (status 1, NaN fields, phase -1), warns, and every other point
    equals its own signal_propagation solve exactly."""
    W = np.array([1.0, 3.0, 1e40])
    b = np.array([0.05, 1e75])
    with pytest.warns(ConvergenceWarning, match="1 of 6 grid points"):
        pd = cr.phase_diagram(nk.Erf(), W, b)
    assert pd.n_failed == 1 and pd.status[2, 1] == 1 and pd.converged is False
    assert pd.phase[2, 1] == -1 and pd.labels[-1] == "not converged"
    for i, j in np.ndindex(pd.phase.shape):
        if (i, j) == (2, 1):
            assert all(np.isnan(v[i, j]) for v in pd.fields.values())
            continue
        ref = cr.signal_propagation(nk.Erf(), W[i], b[j])
        assert pd.phase[i, j] == ref.phase
        for name, value in pd.fields.items():
            np.testing.assert_array_equal(value[i, j], getattr(ref, name))
    pd.save(tmp_path / "eoc.npz")
    back = load(tmp_path / "eoc.npz")
    np.testing.assert_array_equal(back.status, pd.status)
    assert back.n_failed == 1 and back.labels == pd.labels


@pytest.mark.parametrize("n", [2, 3, 12])
def test_monomials_have_no_critical_point(n):
    """phi = z^n (n >= 2): on the line chi_perp = 1, chi_par = C_W d/dK E[phi^2] = n (2n-1)!!
    K^(n-1) / (n^2 (2n-3)!! K^(n-1)) = (2n-1)/n > 1 at every K, so PDLT criticality
    (chi_par = chi_perp = 1) never happens: class "none" (phi(0) = phi'(0) = 0 rules out
    K* = 0; not scale-invariant)."""
    assert cr.universality_class(nk.Monomial(n)).name == "none"
    K = np.logspace(-3, 3, 7)
    C_W = 1.0 / cr._derivative_second_moment(cr.as_activation(nk.Monomial(n)), K)
    np.testing.assert_allclose(cr._length_slope(cr.as_activation(nk.Monomial(n)), K, C_W),
                               (2 * n - 1) / n, rtol=1e-11)   # two moments at 1e-12 each
