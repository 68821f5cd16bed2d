"""Dense Hebbian learning from examples: reference landmarks (Agliari et al., arXiv:2211.14067;
values from an independent solver, tests/data/README.md), limits, and the
exact binomial low-load overlap."""

import math

import numpy as np
import pytest

from nnphys.errors import ConvergenceError, ConvergenceWarning, ParameterError
from nnphys.theory.hebbian import dense, learning


@pytest.mark.parametrize("P,rho,alpha_c,m,n", [
    (3, 0.05, 0.11053450, 0.791284, 0.794423), (3, 0.1, 0.09956539, 0.749167, 0.759485),
    (3, 1.0, 0.05838447, 0.448124, 0.598090), (4, 0.2, 0.01645049, 0.779492, 0.795837),
    (4, 1.0, 0.00815318, 0.524972, 0.683472)])
def test_supervised_critical_load(P, rho, alpha_c, m, n):
    c = learning.critical_load(P, rho)
    a, mm, nn = c.alpha_c, c.m, c.n
    assert c.converged and c.residual < 1e-7
    assert a == pytest.approx(alpha_c, abs=5e-9)
    assert mm == pytest.approx(m, abs=5e-7) and nn == pytest.approx(n, abs=5e-7)


@pytest.mark.parametrize("P", [3, 4])
def test_rho_zero_is_the_dense_model(P):
    assert learning.critical_load(P, 0.0).alpha_c == pytest.approx(
        dense.critical_capacity(P).alpha_c, rel=1e-10)
    T, alpha = (0.1, 0.05) if P == 3 else (0.02, 0.01)      # the field scale is 1/(P-1)!
    assert learning.solve(alpha, T, P, 0.0).m == pytest.approx(
        dense.solve(alpha, T, P).m, abs=1e-10)


@pytest.mark.parametrize("P,r,M,kap,alpha_c", [(3, 0.5, 20, 2.728692, 3.354519e-02),
                                               (4, 0.3, 100, 104.3559, 2.077663e-04),
                                               (4, 0.3, 1000, 15.60001, 2.011123e-03)])
def test_unsupervised_kappa_and_load(P, r, M, kap, alpha_c):
    k = float(learning.kappa(P, r, M, supervised=False))
    assert k == pytest.approx(kap, rel=5e-7)
    rho = float(learning.dataset_entropy(r, M))
    assert learning.critical_load(P, rho, k).alpha_c == pytest.approx(alpha_c, rel=5e-7)
    # kappa -> 1 as M -> infinity at fixed r
    # (leading correction 1/(M r^{2P}) ~ 2e-5 at M = 1e9)
    assert float(learning.kappa(P, r, 10 ** 9, False)) == pytest.approx(1.0, rel=1e-4)


@pytest.mark.parametrize("r,M,exact", [(0.2, 20, 0.627816), (0.2, 100, 0.956139),
                                       (0.5, 5, 0.792969), (0.5, 20, 0.982193)])
def test_low_load_overlap_exact_and_gaussian(r, M, exact):
    """Exact binomial overlap (reference values) and the Gaussian (RS) approximation.

    The gap between them is bounded by Berry-Esseen, a rigorous bound derived below; it is
    about 20x the observed gaps (0.003-0.011). A sharp estimate would need the lattice
    Edgeworth expansion to second order (the first-order skewness term alone, ~1e-3 at
    r = 0.2, M = 20, undershoots the gap), so the rigorous bound is what is asserted."""
    assert learning.exact_low_load_overlap(r, M) == pytest.approx(exact, abs=5e-7)
    rho = float(learning.dataset_entropy(r, M))
    gauss = learning.solve(0.0, 0.0, 3, rho).m
    assert gauss == pytest.approx(math.erf(1 / math.sqrt(2 * rho)), abs=1e-15)
    # The Gaussian approximation replaces the law of S = sum_a chi_a (M iid +-1 of mean r)
    # by a normal one. exact = 1 - F(0) - F(0-) and gauss = 1 - 2 Phi(-1/sqrt(rho)) with F
    # the CDF of S; by Berry-Esseen (constant C <= 0.4748, Shevtsova 2011) each
    # |F - Phi| <= C E|X - r|^3 / (sigma^3 sqrt(M)), with sigma^2 = 1 - r^2 and
    # E|X - r|^3 = (1 - r^2)(1 + r^2) for X = +-1, so |gauss - exact| is bounded by
    # 2 C (1 + r^2) / sqrt((1 - r^2) M): a rigorous bound, not one read off the output.
    bound = 2 * 0.4748 * (1 + r ** 2) / math.sqrt((1 - r ** 2) * M)
    assert abs(gauss - exact) <= bound


def test_finite_temperature_connects_to_zero():
    s0, s1 = learning.solve(0.05, 0.0, 3, 0.1), learning.solve(0.05, 1e-3, 3, 0.1)
    assert s1.m == pytest.approx(s0.m, abs=2e-3) and s1.n == pytest.approx(s0.n, abs=2e-3)
    assert s1.converged


def test_critical_entropy_and_phase_diagram():
    rho_c = learning.critical_entropy(0.2, P=3).rho_c
    assert learning.solve(0.0, 0.2, 3, rho_c * 0.97).m > 0        # bisection to 1e-4
    with pytest.raises(ParameterError):
        learning.solve(0.0, 0.2, 3, rho_c * 1.03)
    pd = learning.phase_diagram([0.2, 0.9], [5, 200], P=3, T=0.2)
    assert pd.phase_name(1, 1) == "learning"
    assert pd.fields["rho"][0, 0] == pytest.approx(learning.dataset_entropy(0.2, 5))


def test_loss_map():
    out = learning.loss(np.array([1.0, 0.0, 0.5]), P=3)
    np.testing.assert_allclose(out.L, [0.0, 0.5, 0.25])
    np.testing.assert_allclose(out.cost, -np.array([1.0, 0.0, 0.125]) / 6)
    # an overlap outside [-1, 1] is refused by name (m^P overflowed before)
    with pytest.raises(ParameterError, match="^m: entries must be <= 1"):
        learning.loss(np.array([1e6]), P=10 ** 5)
    assert np.all(learning.loss(np.array([-1.0, 1.0]), P=10 ** 5).cost == 0.0)


def test_bad_input():
    with pytest.raises(ParameterError, match="alpha"):
        learning.solve(0.01, 0.1, 2, 0.1)
    with pytest.raises(ParameterError, match="r, M"):
        learning.dataset_entropy(0.0, 10)


def test_phase_diagram_records_a_point_that_does_not_converge(monkeypatch):
    """A point whose solver raises ConvergenceError (injected at one (r, M): the mechanism,
    not the physics) is recorded as failed and the rest of the grid stands; strict=True
    raises instead."""
    r, M = [0.2, 0.9], [5, 200]
    ref = learning.phase_diagram(r, M, P=3, T=0.2)
    bad_rho = learning.dataset_entropy(0.9, 5)
    solve = learning.solve

    def failing(alpha, T, P, rho, kappa):
        if rho == bad_rho:
            raise ConvergenceError("injected")
        return solve(alpha, T, P, rho, kappa)
    monkeypatch.setattr(learning, "solve", failing)
    with pytest.warns(ConvergenceWarning, match="1 of 4 .* r=0.9, M=5"):
        pd = learning.phase_diagram(r, M, P=3, T=0.2)
    assert pd.status[1, 0] == 1 and pd.n_failed == 1 and pd.converged is False
    keep = pd.status == 0
    np.testing.assert_array_equal(pd.phase[keep], ref.phase[keep])
    for name, value in pd.fields.items():
        assert np.isnan(value[1, 0])
        np.testing.assert_array_equal(value[keep], ref.fields[name][keep])
    with pytest.raises(ConvergenceError, match="injected"):
        learning.phase_diagram(r, M, P=3, T=0.2, strict=True)


@pytest.mark.parametrize("P", [3, 4, 6])
def test_critical_load_at_large_entropy_tends_to_its_limit(P):
    """rho -> inf: with y = t / sqrt(2 rho), n -> t sqrt(2/pi) and alpha(t) ->
    (2/pi)^(P-1) t^(2P-4) (1 - t^2) / (P-1)!, largest at t^2 = (P-2)/(P-1). The corrections
    are O(1/rho): at rho = 1e8 and 1e300 the limit holds to 1e-7 (the maximiser's
    tolerance on a quadratic maximum leaves ~1e-13). rho = 1e300 used to invert the
    maximiser's bracket (1e-3, 1/sqrt(2 rho))."""
    s = (P - 2) / (P - 1)
    limit = (2 / math.pi) ** (P - 1) * s ** (P - 2) * (1 - s) / math.factorial(P - 1)
    for rho in (1e8, 1e300):
        c = learning.critical_load(P, rho)
        assert c.converged
        assert c.alpha_c == pytest.approx(limit, rel=1e-7)


def test_critical_load_at_huge_P_is_bounded_work():
    """(P-1)! enters through lgamma: P = 10**12 returns at once; alpha_c ~ 1/(P-1)!
    underflows to 0."""
    assert learning.critical_load(10 ** 12, 0.1).alpha_c == 0.0


def test_zero_temperature_state_at_vanishing_load_is_the_low_load_state():
    """alpha = 1e-300 at rho > 0: the root lies within the float64 resolution of the end
    y = 1/sqrt(2 rho) of the branch, i.e. the alpha = 0 state m = erf(1/sqrt(2 rho))
    (to 1e-14: erf' < 1 moves m by less than y's rounding)."""
    r, M = 0.3, 5
    tiny = learning.phase_diagram([r], [M], alpha=1e-300).fields["m"]
    zero = learning.phase_diagram([r], [M], alpha=0.0).fields["m"]
    np.testing.assert_allclose(tiny, zero, rtol=1e-14)


def test_huge_interaction_order_is_bounded_work():
    """Issue 12 census: critical_entropy(T, P = 1e12) computed (P - 1)! as an integer and ran
    without end. Beyond P = 171 the 1/(P-1)! signal is not representable: no learning
    state (rho_c = 0), at once; the loss' 1/P! likewise (cost -0.0 for |m| <= 1)."""
    assert learning.critical_entropy(0.05, 10 ** 12).rho_c == 0.0
    assert float(learning.loss(0.9, 1000).cost) == 0.0
