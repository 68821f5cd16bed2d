"""Multitasking network (diluted patterns, low storage): reference landmarks
(Agliari et al., arXiv:1111.5191; values from an independent enumeration, tests/data/README.md),
closed forms and the Landau criterion at K = 2."""

import numpy as np
import pytest

from nnphys.errors import ConvergenceError, ConvergenceWarning, ParameterError
from nnphys.theory.hebbian import multitask as mt


@pytest.mark.parametrize("K,d", [(2, 0.2), (2, 0.8), (3, 0.3), (3, 0.6), (4, 0.5), (5, 0.4)])
def test_zero_temperature_hierarchy(K, d):
    st = mt.solve(d, 0.0, K, "hierarchical")
    # exact enumeration reproduces (1 - d) d^(k-1) to rounding (the ansatz is exact)
    np.testing.assert_allclose(st.m, mt.hierarchical_amplitudes(d, K), atol=1e-12)


@pytest.mark.parametrize("K,d_k", [(3, 0.618034), (4, 0.543689), (5, 0.518790),
                                   (6, 0.508660), (8, 0.502017)])
def test_hierarchy_thresholds(K, d_k):
    assert mt.hierarchy_threshold(K).d_K == pytest.approx(d_k, abs=5e-7)
    # the hierarchy is a T = 0 fixed point just below d_K and not just above
    below = mt.solve(d_k - 0.01, 0.0, K, mt.hierarchical_amplitudes(d_k - 0.01, K))
    np.testing.assert_allclose(below.m, mt.hierarchical_amplitudes(d_k - 0.01, K), atol=1e-12)
    above = mt.solve(d_k + 0.01, 0.0, K, mt.hierarchical_amplitudes(d_k + 0.01, K))
    assert np.max(np.abs(above.m - mt.hierarchical_amplitudes(d_k + 0.01, K))) > 1e-3


def test_beyond_threshold_closed_form_k3():
    # m = (1-d)(1, d, d^2) + ((1-d)^3/2)(-1, 1, 1) for K = 3 beyond d_3 (closed form)
    for d in (0.7, 0.9):
        st = mt.solve(d, 0.0, 3, mt.hierarchical_amplitudes(d, 3))     # iterate the ansatz
        expected = (1 - d) * d ** np.arange(3) + (1 - d) ** 3 / 2 * np.array([-1, 1, 1])
        np.testing.assert_allclose(st.m, expected, atol=1e-12)


def test_k2_finite_temperature_landmarks():
    assert mt.instability_temperature(0.5, "pure").T == pytest.approx((0.287210,), abs=5e-7)
    assert mt.instability_temperature(0.7, "parallel").T == pytest.approx((0.093764,), abs=5e-7)
    assert mt.instability_temperature(0.65, "parallel").T == pytest.approx((0.136981, 0.327252),
                                                                         abs=5e-7)


@pytest.mark.parametrize("d,T,m", [(0.7, 0.05, (0.29698, 0.21293)), (0.5, 0.1, (0.49831, 0.2482)),
                                   (0.7, 0.2, (0.20615, 0.20615))])
def test_k2_fixed_points(d, T, m):
    st = mt._best(d, T, 2)
    np.testing.assert_allclose(np.sort(st.m)[::-1], m, atol=6e-6)


def test_landau_criterion_two_thirds():
    # just below T_c = 1 - d: the parallel state is stable iff d > 2/3, the pure iff d < 2/3
    for d, parallel_stable in ((0.6, False), (0.64, False), (0.69, True), (0.8, True)):
        T = (1 - d) * 0.995
        assert mt.solve(d, T, 2, "parallel").stable == parallel_stable
        assert mt.solve(d, T, 2, "pure").stable == (not parallel_stable)


def test_paramagnet_above_critical_temperature():
    st = mt.solve(0.4, 0.61, 3, "hierarchical")
    assert st.kind == "paramagnet" and mt.critical_temperature(0.4) == pytest.approx(0.6)
    assert mt.solve(0.4, 0.59, 3, "pure").m[0] > 1e-3


def test_phase_diagram_labels():
    pd = mt.phase_diagram([0.3, 0.8], [0.0, 0.1, 0.5, 0.9])
    assert pd.phase_name(0, 0) == "hierarchical" and pd.phase_name(0, 2) == "pure"
    assert pd.phase_name(1, 1) == "parallel" and pd.phase_name(0, 3) == "paramagnet"
    assert pd.fields["m"].shape == (2, 4, 2)


@pytest.mark.parametrize("args,match", [((1.0, 0.1, 2), "d"), ((0.5, -1, 2), "T"),
                                        ((0.5, 0.1, 0), "K")])
def test_bad_input(args, match):
    with pytest.raises(ParameterError, match=match):
        mt.solve(*args)


def test_phase_diagram_records_the_point_that_does_not_converge():
    """Issue 12's reproducer: at (d, T) = (0, 1), on the critical line T_c = 1 - d, the
    iteration slows down algebraically (m ~ t^(-1/2)) and misses 1e-13 in 200000 steps, which
    used to sink the whole grid. It is recorded (status 1, NaN, phase -1, a warning) and
    every other point equals its own solve."""
    d, T = np.linspace(0, 0.9, 4), np.linspace(0, 1.0, 4)
    with pytest.warns(ConvergenceWarning, match="1 of 16 grid points .* d=0, T=1"):
        pd = mt.phase_diagram(d, T, 2)
    assert pd.n_failed == 1 and pd.status[0, 3] == 1 and pd.converged is False
    assert np.all(np.isnan(pd.fields["m"][0, 3])) and np.isnan(pd.fields["f"][0, 3])
    assert pd.phase[0, 3] == -1
    with pytest.raises(ConvergenceError):
        mt.solve(0.0, 1.0, 2, "pure")
    code = {v: k for k, v in mt.PHASES.items()}
    for i, j in np.ndindex(pd.phase.shape):
        if (i, j) != (0, 3):
            best = mt._best(float(d[i]), float(T[j]), 2)
            np.testing.assert_array_equal(pd.fields["m"][i, j], np.sort(np.abs(best.m))[::-1])
            assert pd.fields["f"][i, j] == best.f and pd.phase[i, j] == code[best.kind]
