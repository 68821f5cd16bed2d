"""Random-feature gradient descent: exact eigenbasis evaluation vs explicit iteration, the
flow limit, and agreement with the BAP DMFT at finite N and P."""

import math

import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.models.regression import BAPModel
from nnphys.sim.regression import gradient_descent as gd
from nnphys.theory.dmft import learning


def test_eigenbasis_equals_explicit_iteration():
    """Same draw: the closed-form iterate equals 50 explicit GD steps (roundoff)."""
    spec = BAPModel(2.0, 1.5, 60).spectrum
    lam, tgt = spec.eigenvalues, spec.target
    N, P, lr = 20, 30, 0.3
    out = gd.random_feature_gd(N, P, [50 * lr], spectrum=spec, lr=lr, n_replicas=1, seed=3)
    rng = np.random.default_rng(np.random.SeedSequence(3).spawn(1)[0])
    A = rng.standard_normal((N, 60))
    psi = rng.standard_normal((P, 60)) * np.sqrt(lam)
    w_star = np.sqrt(tgt)
    y = psi @ w_star
    w = np.zeros(N)
    for _ in range(50):
        f = psi @ A.T @ w / math.sqrt(N)
        w += lr * A @ psi.T @ (y - f) / (P * math.sqrt(N))
    v = w_star - A.T @ w / math.sqrt(N)
    assert out.test.mean[0] == pytest.approx(v @ (lam * v), rel=1e-10)
    assert out.train.mean[0] == pytest.approx(np.mean((psi @ v) ** 2), rel=1e-10)
    assert np.isnan(out.test.stderr[0])           # one replica: no measurable spread


def test_small_learning_rate_approaches_flow():
    spec = BAPModel(2.0, 1.5, 200).spectrum
    flow = gd.random_feature_gd(40, 80, [5.0], spectrum=spec, n_replicas=1, seed=1)
    step = gd.random_feature_gd(40, 80, [5.0], spectrum=spec, lr=1e-3, n_replicas=1, seed=1)
    assert step.test.mean[0] == pytest.approx(flow.test.mean[0], rel=1e-3)   # O(lr) discretisation


def test_dmft_matches_simulation_finite_n_and_p():
    """Test and train loss of the flow vs the DMFT (N = 100, P = 400, M = 1000, 8 draws):
    tolerance 4 standard errors + O(1/N) = 3% of the loss (finite-size bias of the DMFT)."""
    t = np.array([1.0, 10.0, 100.0, 1e4])
    sim = gd.random_feature_gd(100, 400, t, M=1000, n_replicas=8, seed=0)
    th = learning.loss(t, N=100, P=400, M=1000)
    test, train = sim.test, sim.train
    np.testing.assert_array_less(np.abs(test.mean - th.test), 4 * test.stderr + 0.03 * th.test)
    np.testing.assert_array_less(np.abs(train.mean - th.train),
                                 4 * train.stderr + 0.03 * th.train)
    assert np.all(train.mean[1:] < test.mean[1:]) and np.all(th.train[1:] < th.test[1:])
    assert sim.converged is None and sim.residual is None        # a simulation


@pytest.mark.parametrize("bad", [dict(N=0), dict(P=0), dict(t=[-1.0]), dict(lr=-0.1),
                                 dict(n_replicas=0), dict(lr=50.0)])
def test_bad_input(bad):
    args = dict(N=10, P=20, t=[1.0], M=30, n_replicas=2)
    args.update(bad)
    with pytest.raises(ParameterError):
        gd.random_feature_gd(**args)
