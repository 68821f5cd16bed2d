"""AGS Hopfield RS theory: reference landmarks (Amit, Gutfreund & Sompolinsky 1987; values
computed by an independent solver, tests/data/README.md), closed forms, asymptotes, quadrature."""

import math

import numpy as np
import pytest
from scipy import integrate

from nnphys.errors import ConvergenceError, ConvergenceWarning, ParameterError
from nnphys.theory.hebbian import _gauss, hopfield

# Reference-file landmarks are quoted to 8-10 digits; our roots are solved to ~1e-13, so
# the tolerance is the quoted precision (half a unit in the last quoted digit).


def _quad(F, a, s):
    """E F(u), u ~ N(a, s^2), by adaptive quadrature in u with breaks at u = 0, +-20 (where
    tanh - sign and sech^2 live) and at a, a +- s (an independent route)."""
    lo, hi = a - 40 * s, a + 40 * s
    pts = sorted({min(max(p, lo), hi) for p in (-20.0, 0.0, 20.0, a - s, a, a + s)} | {lo, hi})
    dens = lambda u: math.exp(-((u - a) / s) ** 2 / 2) / (s * math.sqrt(2 * math.pi))  # noqa
    opts = dict(epsabs=1e-16, epsrel=1e-13, limit=500)
    return sum(integrate.quad(lambda u: F(u) * dens(u), x, y, **opts)[0]
               for x, y in zip(pts[:-1], pts[1:]))


@pytest.mark.parametrize("a,s", [(0.3, 0.05), (2.0, 1.0), (-1.0, 7.0), (5.0, 300.0),
                                 (0.0, 1e-3), (40.0, 2.0)])
def test_gauss_moments_against_adaptive_quadrature(a, s):
    mom = _gauss.moments(a, s)
    sech2 = lambda u: 1 / math.cosh(u) ** 2 if abs(u) < 300 else 0.0  # noqa: E731
    checks = [(mom.tanh, math.tanh), (mom.sech2, sech2),
              (mom.sech2_tanh, lambda u: sech2(u) * math.tanh(u)),
              (mom.sech4, lambda u: sech2(u) ** 2),
              (mom.abs_u + mom.log1p, lambda u: abs(u) + math.log1p(math.exp(-2 * abs(u))))]
    for value, F in checks:
        # documented quadrature error: < 1e-11 relative to max(1, |value|)
        assert abs(value - _quad(F, a, s)) <= 1e-11 * max(1.0, abs(value))


def test_critical_capacity_zero_temperature():
    c = hopfield.critical_capacity(0.0)
    assert c.alpha_c == pytest.approx(0.1379055665, abs=5e-11)
    assert c.m == pytest.approx(0.9674171144, abs=5e-11)


@pytest.mark.parametrize("alpha,m", [(0.05, 0.99999223), (0.10, 0.99799927),
                                     (0.12, 0.99322273), (0.13, 0.98721189)])
def test_zero_temperature_retrieval_and_energies(alpha, m):
    s = hopfield.solve(alpha, 0.0)
    assert s.converged and s.residual < 1e-12
    assert s.m == pytest.approx(m, abs=5e-9)
    # closed-form T = 0 energies (AGS 1987), independent of the solver's f formula
    e_r = -s.m ** 2 / 2 - alpha / 2 * s.C * (2 - s.C) / (1 - s.C) ** 2
    assert s.f == pytest.approx(e_r, abs=1e-13)
    sg = hopfield.solve(alpha, 0.0, "spin_glass")
    assert sg.f == pytest.approx(-1 / math.pi - math.sqrt(2 * alpha / math.pi), abs=1e-13)


def test_low_temperature_connects_to_zero_temperature():
    # reference landmark: alpha = 0.1, T = 0.01 -> m = 0.99799168, f = -0.50015496
    s = hopfield.solve(0.1, 0.01)
    assert s.m == pytest.approx(0.99799168, abs=5e-9)
    assert s.f == pytest.approx(-0.50015496, abs=5e-9)
    assert s.residual < 1e-12


@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.5])
def test_glass_temperature(alpha):
    tg = float(hopfield.glass_temperature(alpha))
    assert tg == 1 + math.sqrt(alpha)
    # q of the spin glass vanishes linearly at T_g: q(0.999 T_g) = 1.000e-3 (reference)
    assert hopfield.solve(alpha, 0.999 * tg, "spin_glass").q == pytest.approx(1e-3, rel=1e-3)
    with pytest.raises(ParameterError, match="T"):
        hopfield.solve(alpha, 1.001 * tg, "spin_glass")


def test_paramagnet_free_energy():
    alpha, T = 0.2, 1.5
    p = hopfield.solve(alpha, T, "paramagnet")
    assert p.f == pytest.approx(alpha / 2 + alpha * T / 2 * math.log(1 - 1 / T) - T * math.log(2),
                                abs=1e-14)


@pytest.mark.parametrize("alpha,t_m", [(0.05, 0.54225504), (0.10, 0.31543222)])
def test_retrieval_temperature(alpha, t_m):
    assert hopfield.retrieval_temperature(alpha).T == pytest.approx(t_m, abs=5e-9)


def test_first_order_line():
    assert hopfield.transition_capacity(0.0).alpha == pytest.approx(0.05185433, abs=5e-9)
    assert hopfield.transition_temperature(0.05).T == pytest.approx(0.21638335, abs=5e-9)


@pytest.mark.slow
def test_first_order_line_re_entrance():
    # RS re-entrance of T_c beyond alpha_1: both ends of the window are free-energy
    # crossings, and the window closes at the maximum of transition_capacity(T)
    lo = hopfield.transition_temperature(0.0525, "lower").T
    hi = hopfield.transition_temperature(0.0525).T
    assert 0 < lo < hi
    for t in (lo, hi):
        assert abs(hopfield._free_energy_gap(0.0525, t)) < 1e-12
    assert hopfield._free_energy_gap(0.0525, 0.5 * (lo + hi)) < 0
    assert hopfield.transition_capacity(lo).alpha == pytest.approx(0.0525, abs=1e-9)


def test_at_line():
    # T_R(0.1) = 1.4502e-3 (reference, 5 digits); at alpha = 0.03 the T -> 0 estimate
    # 4/(3 sqrt(2 pi)) sqrt(a) e^{-y^2}/(1 - C) is exact to the quoted 5 digits (5.3232e-9)
    assert hopfield.at_temperature(0.1).T == pytest.approx(1.4502e-3, rel=5e-5)
    assert hopfield.at_temperature(0.03).T == pytest.approx(5.3232e-9, rel=2e-5)


def test_re_entrance_and_at_meeting_point():
    # alpha_c(T) rises from 0.137906 to 0.138189 at T = 0.0229 (reference landmark)
    t_peak, a_peak = hopfield._capacity_peak()
    assert a_peak == pytest.approx(0.138189, abs=5e-7)
    assert t_peak == pytest.approx(0.0229, abs=5e-4)
    assert hopfield.critical_capacity(0.01).alpha_c == pytest.approx(0.138099, abs=5e-7)
    # the AT line meets the T_M line at T = 0.0251, alpha = 0.138186
    lam = [hopfield.solve(hopfield.critical_capacity(T).alpha_c * (1 - 1e-7), T).lambda_at
           for T in (0.0246, 0.0256)]
    assert lam[0] > 1 > lam[1]
    assert hopfield.critical_capacity(0.0251).alpha_c == pytest.approx(0.138186, abs=5e-7)


def test_small_alpha_asymptotes_sympy_vs_numerics():
    asym = hopfield.small_alpha_asymptotes()
    assert asym.c_M == pytest.approx(1.9540838, abs=5e-8)
    assert asym.c_c == pytest.approx(2.5958760, abs=5e-8)
    # numerics: (1 - T_M)/sqrt(alpha) = c_M + O(sqrt(alpha)); linear extrapolation in
    # sqrt(alpha) from alpha = 1e-6, 1e-5 leaves O(alpha) ~ 1e-4 (reference: 1.95409)
    a = np.array([1e-6, 1e-5])
    k = np.array([(1 - hopfield.retrieval_temperature(x).T) / math.sqrt(x) for x in a])
    slope = (k[1] - k[0]) / (math.sqrt(a[1]) - math.sqrt(a[0]))
    assert k[0] - slope * math.sqrt(a[0]) == pytest.approx(asym.c_M, abs=2e-4)


@pytest.mark.slow
def test_small_alpha_first_order_line_numerics():
    asym = hopfield.small_alpha_asymptotes()
    a = np.array([1e-6, 1e-5])
    k = np.array([(1 - hopfield.transition_temperature(x).T) / math.sqrt(x) for x in a])
    slope = (k[1] - k[0]) / (math.sqrt(a[1]) - math.sqrt(a[0]))
    assert k[0] - slope * math.sqrt(a[0]) == pytest.approx(asym.c_c, abs=5e-4)


def test_phase_diagram_labels_fields_and_boundaries():
    alpha = np.array([0.0, 0.01, 0.03, 0.1, 0.145])
    T = np.array([0.0, 0.3, 0.6, 1.05, 1.2])
    pd = hopfield.phase_diagram(alpha, T)
    name = lambda a, t: pd.phase_name(list(alpha).index(a), list(T).index(t))  # noqa: E731
    assert name(0.03, 0.3) == "retrieval (global minimum)"       # T_c(0.03) = 0.4788
    assert name(0.03, 0.6) == "retrieval (metastable)"           # T_M(0.03) = 0.6504
    assert name(0.1, 0.6) == "spin glass"                        # T_M(0.1) = 0.3154
    assert name(0.1, 0.0) == "retrieval (metastable)"            # alpha_1 < 0.1 < alpha_c
    assert name(0.145, 0.0) == "spin glass"                      # beyond alpha_c
    assert name(0.01, 1.2) == "paramagnet"                       # T_g(0.01) = 1.1
    assert name(0.01, 1.05) == "spin glass"
    # grid fields equal the scalar solver
    for i, j in [(1, 1), (2, 0), (3, 1), (2, 2)]:
        s = hopfield.solve(alpha[i], T[j])
        assert pd.fields["m"][i, j] == pytest.approx(s.m, abs=1e-11)
        assert pd.fields["f_retrieval"][i, j] == pytest.approx(s.f, abs=1e-11)
    s = hopfield.solve(0.1, 0.6, "spin_glass")
    assert pd.fields["q_sg"][3, 2] == pytest.approx(s.q, abs=1e-11)
    assert np.isnan(pd.fields["m"][4, 0])
    t_m = pd.boundaries["T_M"]
    assert t_m[0] == pytest.approx([0.1379055665, 0.0], abs=1e-9)
    row = np.flatnonzero(t_m[:, 1] == 0.3)[0]
    assert t_m[row, 0] == pytest.approx(hopfield.critical_capacity(0.3).alpha_c, abs=1e-10)


def test_phase_diagram_round_trips(tmp_path):
    from nnphys.results import load
    pd = hopfield.phase_diagram([0.02, 0.05], [0.1, 0.5])
    pd.save(tmp_path / "pd.npz")
    back = load(tmp_path / "pd.npz")
    np.testing.assert_array_equal(back.phase, pd.phase)
    np.testing.assert_array_equal(back.fields["m"], pd.fields["m"])


@pytest.mark.parametrize("kwargs,match", [
    (dict(alpha=-0.1, T=0.1), "alpha"), (dict(alpha=0.1, T=-1.0), "T"),
    (dict(alpha=0.1, T=float("nan")), "T"), (dict(alpha=0.2, T=0.0), "alpha_c"),
    (dict(alpha=0.05, T=0.1, branch="mixture"), "branch"),
    (dict(alpha=0.05, T=0.5, branch="paramagnet"), "T")])
def test_bad_input_raises(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        hopfield.solve(**kwargs)


def test_extreme_parameters():
    # tiny load at T = 0 and very low T: retrieval is perfect, no NaN
    s = hopfield.solve(1e-10, 0.0)
    assert s.m == 1.0 and math.isfinite(s.f)
    s = hopfield.solve(0.05, 1e-6)
    assert s.m == pytest.approx(0.99999223, abs=5e-9) and math.isfinite(s.f)
    with pytest.raises(ParameterError, match="T"):
        hopfield.critical_capacity(1.5)


def test_phase_diagram_records_a_point_that_does_not_converge(monkeypatch):
    """A point whose RS residual exceeds 1e-8 (injected here at one grid point: the
    mechanism, not the physics) is recorded as failed, NaN in every field, and the rest of
    the grid is the undisturbed diagram; strict=True raises instead."""
    alpha, T = [0.02, 0.05, 0.1], [0.1, 0.5]
    ref = hopfield.phase_diagram(alpha, T)
    assert ref.n_failed == 0 and ref.converged
    states = hopfield._grid_states

    def one_bad(a, t):
        fields, cap, exists, residual = states(a, t)
        residual[1, 0] = 1e-3
        return fields, cap, exists, residual
    monkeypatch.setattr(hopfield, "_grid_states", one_bad)
    with pytest.warns(ConvergenceWarning, match="1 of 6"):
        pd = hopfield.phase_diagram(alpha, T)
    assert pd.status[1, 0] == 1 and pd.n_failed == 1 and pd.converged is False
    keep = np.ones(pd.phase.shape, bool)
    keep[1, 0] = False
    assert pd.phase[1, 0] == -1
    np.testing.assert_array_equal(pd.phase[keep], ref.phase[keep])
    for name, value in pd.fields.items():
        assert np.isnan(value[1, 0])
        np.testing.assert_array_equal(value[keep], ref.fields[name][keep])
    with pytest.raises(ConvergenceError, match="1 grid points"):
        hopfield.phase_diagram(alpha, T, strict=True)


@pytest.mark.parametrize("T", [1e-300, 1e-30, 1e-12, 1e-9, 1e-7])
def test_critical_capacity_at_tiny_temperature_is_continuous(T):
    """Issue 12: below T ~ 1e-7 the T > 0 maximiser lost its precision (alpha_c(1e-30) was
    0.64 with m = 0.04). alpha_c(T) = alpha_c(0) + s T + O(T^2): the slope s from the
    maximiser at T = 1e-4 and 1e-5 (where it is accurate), the tolerance the curvature
    term 0.6 T^2 plus the slope's own uncertainty (its change between the two, times T)
    plus the maximiser's tolerance 1e-12."""
    zero = hopfield.critical_capacity(0.0)
    s4 = (hopfield.critical_capacity(1e-4).alpha_c - zero.alpha_c) / 1e-4
    s5 = (hopfield.critical_capacity(1e-5).alpha_c - zero.alpha_c) / 1e-5
    got = hopfield.critical_capacity(T)
    assert got.converged
    assert abs(got.alpha_c - (zero.alpha_c + s5 * T)) <= 0.6 * T ** 2 + abs(s4 - s5) * T + 1e-12
    assert abs(got.m - zero.m) <= 0.2 * T + 1e-12           # |dm/dT| ~ 0.02-0.1 measured
def test_small_alpha_closed_form_matches_the_sympy_expansion():
    """The closed-form Landau coefficients the solvers use below alpha = 1e-10
    (``hopfield._small_alpha_lines``: ``c_M`` from ``4 delta^2 - 9 delta + 3 = 0``, ``c_c``
    from one scalar root) against the independent sympy expansion of
    :func:`hopfield.small_alpha_asymptotes` (``nsolve`` to 15 digits): agreement to 1e-12
    (both are double-precision roots of well-conditioned equations)."""
    c_m, c_c = hopfield._small_alpha_lines()
    asym = hopfield.small_alpha_asymptotes()
    assert c_m == pytest.approx(asym.c_M, rel=1e-12)
    assert c_c == pytest.approx(asym.c_c, rel=1e-12)


@pytest.mark.parametrize("alpha", [1e-300, 1e-40, 1e-20, 1e-11])
def test_lines_at_vanishing_load_are_their_small_alpha_limit(alpha):
    """Below alpha = 1e-10 scipy's bracket used to fail (f(a), f(b) of one sign): T_M and
    T_c are ``1 - c sqrt(alpha)``, exact to the O(alpha) term, i.e. to float64 (T = 1.0
    exactly at alpha = 1e-300)."""
    c_m, c_c = hopfield._small_alpha_lines()
    assert hopfield.retrieval_temperature(alpha).T == 1 - c_m * math.sqrt(alpha)
    assert hopfield.transition_temperature(alpha).T == 1 - c_c * math.sqrt(alpha)
    if alpha < 1e-33:
        assert hopfield.transition_temperature(alpha).T == 1.0


def test_small_alpha_limit_continues_the_solvers():
    """Just above the switch (alpha = 1e-8 and 1e-6) the bracketed solves differ from the
    leading term by the O(alpha) correction: ``(T_asymptote - T) / alpha`` is the same
    constant at both loads to 5% (a leading coefficient off by ``dc`` would add
    ``dc / sqrt(alpha)``, ten times more at 1e-8 than at 1e-6)."""
    c_m, c_c = hopfield._small_alpha_lines()
    for c, line in ((c_m, hopfield.retrieval_temperature),
                    (c_c, hopfield.transition_temperature)):
        k = [(1 - c * math.sqrt(a) - line(a).T) / a for a in (1e-8, 1e-6)]
        assert k[0] == pytest.approx(k[1], rel=0.05)


def test_spin_glass_series_raises_no_overflow_warning():
    """``q = E tanh^2(beta sigma z)`` picks its series only below beta sigma = 0.01; the
    series is no longer evaluated (and overflowing) at beta sigma ~ 1e150."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        q, _ = hopfield._spin_glass_qC(np.array([1e-3, 1e150]), 1.0)
    assert q[1] == 1.0
    assert q[0] == pytest.approx(1e-6 * (1 - 2e-6), rel=1e-12)
