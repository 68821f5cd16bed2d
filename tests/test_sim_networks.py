"""Finite-width ensembles: numba kernels, analytic empirical NTK, reproducibility, errors."""

import math

import numpy as np
import pytest

from nnphys.sim import _kernels, networks
from nnphys.theory import kernels as nk

from . import naive


def test_numba_kernels_match_numpy():
    rng = np.random.default_rng(0)
    theta, hh, gg = rng.standard_normal((3, 7, 5))
    expected = naive.accumulate_layer(theta, hh, gg, 0.3, 0.2)
    _kernels.accumulate_layer(theta, hh, gg, 0.3, 0.2)
    np.testing.assert_allclose(theta, expected, rtol=1e-15)
    g, d = rng.standard_normal((2, 4, 6))
    expected = naive.multiply_inplace(g, d)
    _kernels.multiply_inplace(g, d)
    np.testing.assert_array_equal(g, expected)


@pytest.mark.parametrize("param", ["ntk", "standard"])
@pytest.mark.parametrize("act", [nk.Erf(), nk.Tanh(), nk.Gelu()])
def test_analytic_ntk_equals_finite_differences(param, act):
    """J J^T by central differences (step 1e-5: truncation ~1e-10, roundoff ~1e-11)."""
    net = nk.serial(nk.Dense(5, 1.3, 0.2, param), act, nk.Dense(4, 1.1, 0.3, param), act,
                    nk.Dense(1, 1.2, 0.1, param))
    layers = networks.mlp_layers(net)
    x = np.random.default_rng(1).standard_normal((3, 4))
    params = networks.sample_params(layers, 4, np.random.default_rng(2))
    _, _, theta = networks.ntk_of_sample(layers, params, x)
    reference = naive.ntk_by_finite_differences(layers, params, x, step=1e-5)
    np.testing.assert_allclose(theta, reference, rtol=1e-7, atol=1e-9)


def test_forward_matches_architecture_apply():
    """sim's forward pass and the spec's own numpy apply agree for the same parameters."""
    net = nk.serial(nk.Dense(6, 1.4, 0.2), nk.Relu(), nk.Dense(2, 1.4, 0.2))
    x = np.random.default_rng(3).standard_normal((5, 3))
    layers = networks.mlp_layers(net)
    params = networks.sample_params(layers, 3, np.random.default_rng(4))
    spec_params = tuple(() if p is None else p for p in params)
    np.testing.assert_allclose(networks.forward(layers, params, x)[0],
                               net.apply(spec_params, x), rtol=1e-13)


@pytest.mark.parametrize("law", networks.WEIGHT_LAWS)
def test_weight_laws_have_unit_variance(law):
    """Every law's entries have variance 1 (mean of 40k squared entries: se ~0.7-2%)."""
    rng = np.random.default_rng(5)
    w = np.concatenate([networks.draw_weights(rng, (200, 100), law, 0.3, None).ravel()
                        for _ in range(2)])
    se = np.std(w ** 2) / math.sqrt(w.size)
    assert abs(np.mean(w ** 2) - 1) < 5 * se


def test_orthogonal_weights_are_orthogonal():
    w = networks.draw_weights(np.random.default_rng(6), (50, 20), "orthogonal", 1.0, None)
    np.testing.assert_allclose(w.T @ w / 50, np.eye(20), atol=1e-12)


def test_reproducible_from_seed():
    net = nk.serial(nk.Dense(16), nk.Relu(), nk.Dense(1))
    x = np.random.default_rng(7).standard_normal((4, 3))
    a = networks.empirical_kernels(net, x, n_replicas=3, seed=11)
    b = networks.empirical_kernels(net, x, n_replicas=3, seed=11)
    np.testing.assert_array_equal(a.ntk.mean, b.ntk.mean)
    np.testing.assert_array_equal(a.nngp.mean, b.nngp.mean)


def test_ensemble_mean_matches_theory():
    """Erf MLP, width 512, 64 networks: within 4 standard errors plus the O(L/n) bias."""
    net = nk.serial(nk.Dense(512, 1.3, 0.1), nk.Erf(), nk.Dense(1, 1.3, 0.1))
    x = np.random.default_rng(8).standard_normal((3, 6))
    emp = networks.empirical_kernels(net, x, n_replicas=64, seed=0)
    theory = net.kernel(x)
    assert np.all(np.abs(emp.ntk.mean - theory.ntk) <= 4 * emp.ntk.stderr
                  + np.abs(theory.ntk) / 512)


def test_trained_network_reaches_training_targets():
    net = nk.serial(nk.Dense(256, 1.4, 0.1), nk.Relu(), nk.Dense(1, 1.4, 0.1))
    x = np.random.default_rng(9).standard_normal((6, 3))
    y = np.random.default_rng(10).standard_normal((6, 1))
    run = networks.train_mse(net, x, y, x, lr=1.0, steps=3000, seed=1)
    np.testing.assert_allclose(run.final, y, atol=1e-3)
    assert run.times[-1] == 3000 and run.converged is None


@pytest.mark.parametrize("call,match", [
    (lambda net, x: networks.empirical_kernels(net, x, n_replicas=1), "n_replicas"),
    (lambda net, x: networks.empirical_kernels(net, x, weights="cauchy"), "weights"),
    (lambda net, x: networks.empirical_kernels(net, x, x[:, :2]), "x2"),
    (lambda net, x: networks.empirical_kernels(net, x, width=0), "width"),
    (lambda net, x: networks.train_mse(net, x, x[:, :1], x, lr=-1, steps=3), "lr"),
])
def test_bad_arguments(call, match):
    net = nk.serial(nk.Dense(4), nk.Relu(), nk.Dense(1))
    with pytest.raises(ValueError, match=match):
        call(net, np.ones((2, 3)))


def test_conv_layers_are_refused_clearly():
    with pytest.raises(NotImplementedError, match="fully connected"):
        networks.mlp_layers(nk.serial(nk.Dense(3), nk.FanOut(2)))
