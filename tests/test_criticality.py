"""Signal propagation: landmarks of Poole et al. 2016 / Schoenholz et al. 2017 and PDLT ch. 5.

Reference numbers: the critical line and depth scales of Poole et al. 2016 (arXiv:1606.05340)
and Schoenholz et al. 2017 (arXiv:1611.01232), and PDLT's criticality (arXiv:2106.10165, sec.
5.1), computed independently by two routes agreeing to 1e-14 (provenance: tests/data/README.md); chaotic-phase ``c*`` is checked here against an
independent 2-D quadrature (scipy ``dblquad``) because the reference table's chaotic rows
were not iterated to convergence (e.g. sigma_w^2 = 4: c* = 0.165065, not 0.165151).
"""

import math

import numpy as np
import pytest
from scipy import integrate, optimize, special

from nnphys.errors import ParameterError
from nnphys.theory import criticality as cr
from nnphys.theory import kernels as nk


@pytest.mark.parametrize("sigma_b2, sigma_w2, q_star", [
    (0.0, 1.0, 0.0),
    (0.05, 1.7609546396, 0.5700478816),
    (0.1, 1.9860726411, 0.8057991819),
    (0.3, 2.5051271897, 1.4611694469),
])
def test_tanh_edge_of_chaos_landmarks(sigma_b2, sigma_w2, q_star):
    line = cr.critical_line(nk.Tanh(), sigma_b2)
    assert float(line.sigma_w2) == pytest.approx(sigma_w2, abs=1e-9)   # 10 printed digits
    assert float(line.q_star) == pytest.approx(q_star, abs=1e-9)


def test_critical_line_agrees_with_iterating_the_maps():
    """Route 2: find sigma_w^2 where chi_1 at the iterated fixed point q* equals 1."""
    for sigma_b2 in (0.05, 0.7):
        def excess(w):
            return float(cr.signal_propagation(nk.Tanh(), w, sigma_b2).chi_1) - 1.0
        root = optimize.brentq(excess, 1.2, 5.0, xtol=1e-14)
        assert root == pytest.approx(cr.critical_weight_variance(nk.Tanh(), sigma_b2), rel=1e-11)


def test_erf_length_map_matches_closed_form():
    """E[erf(sqrt(q) z)^2] = (2/pi) arcsin(2q/(1+2q)) (Williams 1997)."""
    q = np.array([0.01, 0.5, 3.0, 200.0])
    expected = 1.3 * (2 / np.pi) * np.arcsin(2 * q / (1 + 2 * q)) + 0.2
    assert np.allclose(cr.length_map(nk.Erf(), q, 1.3, 0.2), expected, rtol=1e-12, atol=0)


def test_relu_closed_forms():
    """ReLU: q' = sigma_w^2 q / 2 + sigma_b^2, chi_1 = sigma_w^2 / 2 for every q."""
    w = np.array([0.5, 1.0, 1.9])
    r = cr.signal_propagation(nk.Relu(), w, 0.3)
    assert np.allclose(r.q_star, 0.3 / (1 - w / 2), rtol=1e-13)
    assert np.allclose(r.chi_1, w / 2, rtol=1e-13)
    assert np.allclose(r.chi_par, w / 2, rtol=1e-12)
    assert np.all(r.phase == 0)
    beyond = cr.signal_propagation(nk.Relu(), 2.5, 0.3)
    assert cr.PHASES[int(beyond.phase)] == "unbounded" and np.isinf(beyond.q_star)
    assert cr.critical_weight_variance(nk.Relu(), 0.4) == pytest.approx(2.0, rel=1e-14)


# sigma_w^2, q*, chi_1, xi_q, xi_c: ordered rows of the reference table (sec. 2.3), tanh,
# sigma_b^2 = 0.05; 6 significant digits printed.
@pytest.mark.parametrize("w, q, chi1, xi_q, xi_c", [
    (1.0, 0.193593, 0.759032, 1.7476, 3.627),
    (1.5, 0.418037, 0.938636, 1.6828, 15.79),
    (1.7, 0.533076, 0.986741, 1.5583, 74.92),
])
def test_tanh_depth_scales_ordered(w, q, chi1, xi_q, xi_c):
    r = cr.signal_propagation(nk.Tanh(), w, 0.05)
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
    r = cr.signal_propagation(nk.Tanh(), w, 0.05)
    q, c = float(r.q_star), float(r.c_star)
    assert int(r.phase) == 1 and 0 < c < 1
    # c* is a fixed point of the c-map computed by adaptive 2-D quadrature (error ~1e-12)
    assert (w * _tanh_pair_expectation(q, c) + 0.05) / q == pytest.approx(c, abs=1e-9)
    assert w * _tanh_pair_expectation(q, c, derivative=True) == pytest.approx(
        float(r.chi_c), abs=1e-9)
    assert float(r.xi_c) == pytest.approx(-1 / math.log(float(r.chi_c)), rel=1e-12)


def test_xi_c_diverges_at_the_edge_of_chaos():
    w_c = cr.critical_weight_variance(nk.Tanh(), 0.05)
    xi = cr.signal_propagation(nk.Tanh(), np.array([w_c - 1e-3, w_c + 1e-3]), 0.05).xi_c
    assert np.all(xi > 1e3)          # ~ 1/|chi_1 - 1| ~ 1/(2e-4 ... 5e-4)


def test_universality_classes():
    tanh = cr.universality_class(nk.Tanh())
    assert tanh.name == "K*=0" and tanh.sigma_w2 == pytest.approx(1.0, rel=1e-12)
    assert tanh.details["a1"] == pytest.approx(-2.0, rel=1e-10)          # PDLT: a_1 = -2
    assert cr.universality_class(nk.Sin()).details["a1"] == pytest.approx(-1.0, rel=1e-10)
    leaky = cr.universality_class(nk.LeakyRelu(0.1))
    assert leaky.name == "scale-invariant"
    assert leaky.sigma_w2 == pytest.approx(2 / (1 + 0.01), rel=1e-14)
    # half-stable points (reference sec. 2.5, [num], 6-7 digits printed)
    gelu = cr.universality_class(nk.Gelu())
    assert gelu.name == "half-stable"
    assert (gelu.k_star, gelu.sigma_w2, gelu.sigma_b2) == pytest.approx(
        (3.561553, 1.983058, 0.172922), abs=2e-6)
    swish = cr.universality_class(lambda u: u * special.expit(u))
    assert (swish.k_star, swish.sigma_w2, swish.sigma_b2) == pytest.approx(
        (14.320174, 1.988005, 0.555143), abs=2e-6)
    assert swish.details["chi_par"] == pytest.approx(1.0, abs=1e-8)


def test_phase_diagram_is_split_by_the_critical_line():
    w = np.linspace(0.8, 3.5, 28)
    b = np.array([0.0, 0.05, 0.3])
    pd = cr.phase_diagram(nk.Tanh(), w, b)
    assert pd.phase.shape == (28, 3) and pd.labels[0] == "ordered"
    line = pd.boundaries["edge_of_chaos"]
    for j in range(3):
        away = np.abs(w - line[j, 0]) > 1e-9
        expected = np.where(w > line[j, 0], 1, 0)
        assert np.array_equal(pd.phase[away, j], expected[away])
    # xi_q is finite except at PDLT's critical point (1, 0) of tanh, where chi_par = 1
    xi_q = pd.fields["xi_q"]
    at_critical_point = np.isclose(w, 1.0)[:, None] & (b == 0)[None, :]
    assert np.all(np.isinf(xi_q[at_critical_point]))
    assert np.all(np.isfinite(xi_q[~at_critical_point]))


def test_bad_input():
    with pytest.raises(ParameterError, match="sigma_w2"):
        cr.signal_propagation(nk.Tanh(), -1.0, 0.0)
    with pytest.raises(ParameterError, match="sigma_b2"):
        cr.critical_line(nk.Tanh(), np.nan)
    with pytest.raises(TypeError, match="activation"):
        cr.signal_propagation(3.0, 1.0, 0.0)
