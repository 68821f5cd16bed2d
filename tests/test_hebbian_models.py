"""Specs of the Hebbian family (models.hebbian): validation at the edge, the load realised at
finite N, the dataset quantities, and that every theory solver accepts the spec, reports its
measured health, and honours strict= uniformly."""

import math

import numpy as np
import pytest

from nnphys.errors import ConvergenceError, ParameterError
from nnphys.models import hebbian as models
from nnphys.theory.hebbian import dense, hopfield, learning, multitask


@pytest.mark.parametrize("build,match", [
    (lambda: models.Hopfield(alpha=-0.1), "alpha"), (lambda: models.Hopfield(T=math.nan), "T"),
    (lambda: models.DenseMemory(P=1), "P"), (lambda: models.DenseMemory(convention="x"),
                                             "convention"),
    (lambda: models.ExampleLearning(r=0.0, M=3), "r"),
    (lambda: models.ExampleLearning(r=0.5), "r, M"),
    (lambda: models.ExampleLearning(r=0.5, M=3, rho=0.1), "rho"),
    (lambda: models.ExampleLearning(supervised=False), "kappa"),
    (lambda: models.Multitask(d=1.0), "d"), (lambda: models.Multitask(K=13), "K")])
def test_specs_reject_bad_arguments(build, match):
    with pytest.raises(ParameterError, match=match):
        build()


def test_load_realised_at_finite_size():
    spec = models.Hopfield(alpha=0.1234, T=0.2)
    assert spec.n_patterns(1000) == 123 and spec.at_size(1000).alpha == 0.123
    dense3 = models.DenseMemory(alpha=0.05, P=3).at_size(150)
    assert dense3.alpha == round(0.05 * 150 ** 2) / 150 ** 2
    assert models.DenseMemory(convention="all-index", P=4).hamiltonian(10) == ("power", 1 / 24)
    assert models.DenseMemory(P=3).hamiltonian(10) == ("distinct", 1e-2)


@pytest.mark.parametrize("P", [2, 3])
def test_theriault_tantari_is_the_scaled_distinct_model(P):
    """Theory: TT at (alpha, T) is distinct at (alpha/P!, T/P!) (same m); simulation: the
    TT network is the distinct one with P!-scaled couplings and K/P! patterns."""
    f = math.factorial(P)
    alpha, T = (0.1, 0.6) if P == 2 else (0.3, 1.2)
    tt = dense.solve(alpha, T, P, convention="theriault-tantari").m
    assert tt == pytest.approx(dense.solve(alpha / f, T / f, P).m, abs=1e-10)
    spec = models.DenseMemory(alpha=alpha, T=T, P=P, convention="theriault-tantari")
    N = 40
    assert spec.n_patterns(N) == round(alpha * N ** (P - 1) / f)
    assert spec.hamiltonian(N) == ("distinct", f * float(N) ** (1 - P))
    assert spec.at_size(N).alpha == spec.n_patterns(N) * f / N ** (P - 1)


def test_dataset_quantities_follow_from_r_and_M():
    spec = models.ExampleLearning(P=3, r=0.5, M=20, supervised=False)
    assert spec.rho == pytest.approx((1 - 0.25) / (20 * 0.25), rel=1e-15)
    assert spec.kappa == pytest.approx(float(learning.kappa(3, 0.5, 20, False)), rel=1e-15)
    xi, eta = spec.examples(100, seed=0)
    assert xi.shape == (1, 100) and eta.shape == (1, 20, 100)
    # examples agree with their archetype with probability (1 + r)/2: 4 binomial sigmas
    agree = np.mean(eta == xi[:, None, :])
    assert abs(agree - 0.75) < 4 * math.sqrt(0.75 * 0.25 / eta.size)


def test_theory_accepts_the_spec():
    h = models.Hopfield(alpha=0.05, T=0.3)
    assert hopfield.solve(h).m == hopfield.solve(0.05, 0.3).m
    with pytest.raises(ParameterError, match="T"):
        hopfield.solve(h, 0.3)
    d = models.DenseMemory(alpha=0.05, T=0.2, P=3)
    assert dense.solve(d).m == dense.solve(0.05, 0.2, 3).m
    e = models.ExampleLearning(alpha=0.02, T=0.1, P=3, r=0.5, M=20)
    assert learning.solve(e).m == learning.solve(0.02, 0.1, 3, e.rho, e.kappa).m
    assert learning.critical_load(e).alpha_c == learning.critical_load(3, e.rho, e.kappa).alpha_c
    mt = models.Multitask(d=0.3, T=0.1, K=2)
    np.testing.assert_array_equal(multitask.solve(mt).m, multitask.solve(0.3, 0.1, 2).m)


def test_records_carry_measured_health():
    c = hopfield.critical_capacity(0.0)
    assert c.converged and c.iterations > 0 and c.residual < 1e-8
    c = hopfield.critical_capacity(0.3)
    assert c.converged and c.residual < 1e-8
    s = hopfield.solve(0.05, 0.3)
    assert s.converged and s.iterations > 0 and s.residual < 1e-8
    p = hopfield.solve(0.05, 1.5, "paramagnet")
    assert p.iterations is None and p.residual == 0.0         # closed form, exact
    t = hopfield.retrieval_temperature(0.05)
    assert t.converged and t.line == "T_M" and t.residual < 1e-9
    assert hopfield.transition_capacity(0.0).residual < 1e-9
    dc = dense.critical_capacity(3, 0.1)
    assert dc.converged and dc.iterations > 0 and dc.residual < 1e-10
    assert dense.gamma_c(3).residual < 1e-10
    st = dense.solve(0.05, 0.2, 3)
    assert st.converged and 0 < st.residual < 1e-12          # the last step, measured
    assert dense.solve(0.05, 0.0, 3, "spin_glass").converged is None     # closed form
    assert learning.solve(0.0, 0.0, 3, 0.1).converged is None           # closed form
    assert learning.critical_entropy(0.2).residual <= 1e-4
    assert multitask.hierarchy_threshold(3).residual < 1e-12
    assert hopfield.phase_diagram([0.02, 0.1], [0.0, 0.3]).residual < 1e-8


def test_strict_uniformly(monkeypatch):
    """A solver that does not converge raises ConvergenceError; strict=False returns the
    best effort with converged=False (forced here by an impossible tolerance or budget)."""
    monkeypatch.setattr(hopfield, "_RESIDUAL_TOL", -1.0)   # no residual meets it
    with pytest.raises(ConvergenceError):
        hopfield.solve(0.05, 0.3)
    assert hopfield.solve(0.05, 0.3, strict=False).converged is False
    assert hopfield.critical_capacity(0.3, strict=False).converged is False
    monkeypatch.setattr(dense, "_MAXITER", 2)
    with pytest.raises(ConvergenceError):
        dense.solve(0.05, 0.2, 3)
    assert dense.solve(0.05, 0.2, 3, strict=False).converged is False
    monkeypatch.setattr(learning, "_MAXITER", 2)
    with pytest.raises(ConvergenceError):
        learning.solve(0.02, 0.1, 3, 0.1)
    assert learning.solve(0.02, 0.1, 3, 0.1, strict=False).converged is False
    with pytest.raises(ConvergenceError):
        multitask.solve(0.3, 0.1, 2, maxiter=2)
    assert multitask.solve(0.3, 0.1, 2, maxiter=2, strict=False).converged is False
