"""Dense P-body RS theory: reference landmarks (Gardner 1987; computed by an independent
solver, tests/data/README.md), conventions, the P = 2 reduction to AGS, stationarity of the
free energy, continuity."""

import math

import numpy as np
import pytest

from nnphys.errors import ConvergenceError, ConvergenceWarning, ParameterError
from nnphys.theory.hebbian import dense, hopfield


@pytest.mark.parametrize("P,gamma,distinct,all_index,tt", [
    (3, 0.25219043, 0.12609522, 0.08406348, 0.75657),
    (4, 0.19786012, 0.03297669, 0.01319067, 0.79144),
    (5, 0.17277255, 0.00719886, 0.00164545, 0.86386),
    (6, 0.15767954, 0.00131400, 0.00016686, 0.94608)])
def test_zero_temperature_capacities(P, gamma, distinct, all_index, tt):
    # reference values quoted to 8 digits (5 for Theriault-Tantari): half a last digit
    assert dense.gamma_c(P).gamma_c == pytest.approx(gamma, abs=5e-9)
    capacity = {c: dense.critical_capacity(P, 0.0, c).alpha_c for c in dense.CONVENTIONS}
    assert capacity["distinct"] == pytest.approx(distinct, abs=5e-9)
    assert capacity["all-index"] == pytest.approx(all_index, abs=5e-9)
    assert capacity["theriault-tantari"] == pytest.approx(tt, abs=5e-6)
    # factorial relations between the conventions (exact)
    g = dense.gamma_c(P).gamma_c
    assert capacity["distinct"] * math.factorial(P - 1) == pytest.approx(g, rel=1e-12)
    double_factorial = math.prod(range(2 * P - 3, 0, -2))
    assert capacity["all-index"] * double_factorial == pytest.approx(g, rel=1e-12)


@pytest.mark.parametrize("P,alpha,m", [(3, 0.05, 0.99838), (3, 0.10, 0.96114),
                                       (3, 0.12, 0.90661), (4, 0.01, 0.99996),
                                       (4, 0.02, 0.99561), (4, 0.03, 0.96686)])
def test_zero_temperature_overlaps(P, alpha, m):
    assert dense.solve(alpha, 0.0, P).m == pytest.approx(m, abs=5e-6)


def test_finite_temperature_connects_to_zero_temperature():
    # alpha_c(T) is continuous at T = 0 (the m-parametrised maximum vs the erf closed form);
    # the RS correction is O(T) (here 3e-4 at T = 1e-3)
    assert dense.critical_capacity(3, 1e-3).alpha_c == pytest.approx(
        dense.critical_capacity(3).alpha_c, abs=1e-3)
    s0, s1 = dense.solve(0.1, 0.0, 3), dense.solve(0.1, 1e-3, 3)
    assert s1.m == pytest.approx(s0.m, abs=1e-3) and s1.f == pytest.approx(s0.f, abs=1e-3)


def test_capacity_at_finite_temperature_matches_fixed_point_existence():
    # second method: the fixed-point iteration finds retrieval just below alpha_c(T) and
    # none just above (1e-3 relative margin, far above the maximiser's 1e-11)
    a_c = dense.critical_capacity(3, 0.1).alpha_c
    assert dense.solve(a_c * 0.999, 0.1, 3).m > 0.5
    with pytest.raises(ParameterError, match="alpha"):
        dense.solve(a_c * 1.001, 0.1, 3)


@pytest.mark.parametrize("convention", dense.CONVENTIONS)
def test_free_energy_is_stationary_at_the_solution(convention):
    # df/dm = df/dq = 0 at the RS fixed point (checks the noise term's prefactor)
    P, alpha, T = 3, 0.03 if convention == "all-index" else 0.08, 0.15
    if convention == "theriault-tantari":
        alpha = 0.4
    st = dense.solve(alpha, T, P, convention=convention)
    f = lambda m, q: float(dense._free_energy(m, q, alpha, T, P, convention))  # noqa: E731
    h = 1e-5
    dm = (f(st.m + h, st.q) - f(st.m - h, st.q)) / (2 * h)
    dq = (f(st.m, st.q + h) - f(st.m, st.q - h)) / (2 * h)
    assert abs(dm) < 1e-7 and abs(dq) < 1e-7        # central differences: O(h^2) ~ 1e-10
    assert st.f == pytest.approx(f(st.m, st.q), abs=1e-14)


def test_paramagnet_free_energy_closed_form():
    # m = q = 0: f = -T ln 2 - beta xi(1)/2, xi(1) = alpha/P! (distinct)
    st = dense.solve(0.05, 2.0, 3, "paramagnet")
    assert st.f == pytest.approx(-2 * math.log(2) - 0.5 / 2 * 0.05 / 6, abs=1e-14)


def test_p2_reduces_to_hopfield():
    for T in (0.0, 0.3):
        h = hopfield.solve(0.05, T)
        d = dense.solve(0.05, T, 2)
        assert d.m == h.m and d.f == h.f
        assert dense.solve(0.05, T, 2, convention="all-index").f == pytest.approx(
            h.f - 0.025, abs=1e-15)
    assert dense.critical_capacity(2).alpha_c == hopfield.critical_capacity(0.0).alpha_c
    tt = dense.solve(0.1, 0.6, 2, convention="theriault-tantari")
    assert tt.m == hopfield.solve(0.05, 0.3).m


def test_phase_diagram_consistent_with_solve():
    alpha, T = np.array([0.02, 0.08, 0.2]), np.array([0.0, 0.1, 1.5])
    pd = dense.phase_diagram(alpha, T, 3)
    assert pd.phase_name(1, 1).startswith("retrieval")
    assert pd.phase_name(2, 0) == "spin glass"           # beyond alpha_c at T = 0
    assert pd.phase_name(0, 2) == "paramagnet"
    assert pd.fields["m"][1, 1] == pytest.approx(dense.solve(0.08, 0.1, 3).m, abs=1e-10)
    assert pd.boundaries["alpha_c"][0] == pytest.approx([dense.critical_capacity(3).alpha_c, 0.0])


@pytest.mark.parametrize("kwargs,match", [
    (dict(alpha=0.05, T=0.1, P=1), "P"), (dict(alpha=0.05, T=0.1, P=3, convention="x"),
                                           "convention"),
    (dict(alpha=-1.0, T=0.1, P=3), "alpha"), (dict(alpha=0.2, T=0.0, P=3), "alpha")])
def test_bad_input(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        dense.solve(**kwargs)


def test_phase_diagram_records_a_point_that_does_not_converge(monkeypatch):
    """A spin-glass iteration left unconverged at one T > 0 point (injected: the
    mechanism, not the physics) marks that point failed (NaN fields, phase -1, a warning)
    and leaves the rest of the grid as it was; strict=True raises instead."""
    alpha, T = np.array([0.02, 0.1]), np.array([0.0, 0.2, 0.4])
    ref = dense.phase_diagram(alpha, T, 3)
    assert ref.n_failed == 0
    iterate = dense._iterate

    def sticky(m, q, *args, fixed_m=False):
        out = list(iterate(m, q, *args, fixed_m=fixed_m))
        if fixed_m and np.all(q == 1):             # the spin-glass start
            out[4] = np.union1d(out[4], [0])       # hot point 0 = (alpha 0.02, T 0.2)
        return tuple(out)
    monkeypatch.setattr(dense, "_iterate", sticky)
    with pytest.warns(ConvergenceWarning, match="1 of 6 .* alpha=0.02, T=0.2"):
        pd = dense.phase_diagram(alpha, T, 3)
    assert pd.status[0, 1] == 1 and pd.n_failed == 1 and pd.converged is False
    keep = pd.status == 0
    np.testing.assert_array_equal(pd.phase[keep], ref.phase[keep])
    for name, value in pd.fields.items():
        assert np.isnan(value[0, 1])
        np.testing.assert_array_equal(value[keep], ref.fields[name][keep])
    with pytest.raises(ConvergenceError):
        dense.phase_diagram(alpha, T, 3, strict=True)


@pytest.mark.parametrize("P", [3, 6])
@pytest.mark.parametrize("T", [1e-300, 1e-12, 1e-10])
def test_critical_capacity_at_tiny_temperature_is_continuous(P, T):
    """Issue 12: at T ~ 1e-11 the T > 0 scan found no maximum (ConvergenceError) although
    alpha_c(T) -> alpha_c(0). alpha_c = alpha_c(0) + s T + O(T^2), s from the scan at 1e-6
    and 1e-7 (accurate there); tolerance: curvature 50 T^2 (measured), slope change times
    T, 1e-12."""
    zero = dense.critical_capacity(P, 0.0)
    s6 = (dense.critical_capacity(P, 1e-6).alpha_c - zero.alpha_c) / 1e-6
    s7 = (dense.critical_capacity(P, 1e-7).alpha_c - zero.alpha_c) / 1e-7
    got = dense.critical_capacity(P, T)
    assert got.converged
    assert abs(got.alpha_c - (zero.alpha_c + s7 * T)) <= 50 * T ** 2 + abs(s6 - s7) * T + 1e-12
