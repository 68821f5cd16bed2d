"""sim.training: the trainer against a plain replay of its recipe (weights, minibatches,
gradients, and the gradient kernel from finite differences), its numba kernels against
numpy, the realisation of the Bordelon-Pehlevan network, seeds, divergence, bad input."""

import math

import numpy as np
import pytest

from nnphys.errors import ArgumentTypeError, NumericalError, ParameterError
from nnphys.models import network as nw
from nnphys.models.parametrization import named, realise
from nnphys.sim import _activations
from nnphys.sim.networks import mlp_layers
from nnphys.sim.training import _kernels, train
from nnphys.sim.training.mlp import _chain
from nnphys.theory import kernels as nk

from . import naive

NET = nk.serial(nk.Dense(4), nk.Tanh(), nk.Dense(4), nk.Erf(), nk.Dense(1))
ACTS = [nw.Tanh(), nw.Erf()]


def _data(P=4, Q=2, d=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((P + Q, d))
    return x[:P], np.sin(x[:P, 0]) + 0.5 * x[:P, 1], x[P:]


@pytest.mark.parametrize("layer", [nw.Tanh(), nw.Relu(), nw.Erf(a=2.0, b=0.5),
                                   nw.Gelu(), nw.Monomial(3)])
def test_activate_matches_layer_fn(layer):
    h = np.linspace(-3, 3, 41)
    x, d = np.empty_like(h), np.empty_like(h)
    _kernels.activate(*_activations.lower(layer), h, x, d)
    rx, rd = naive.activate(layer, h)
    np.testing.assert_allclose(x, rx, rtol=1e-14, atol=1e-15)     # same formula: rounding
    np.testing.assert_allclose(d, rd, rtol=1e-14, atol=1e-15)


def test_subtract_scaled_matches_numpy():
    rng = np.random.default_rng(1)
    w, g = rng.standard_normal(50), rng.standard_normal(50)
    ref = naive.subtract_scaled(w, 0.3, g)
    _kernels.subtract_scaled(w, 0.3, g)
    np.testing.assert_allclose(w, ref, rtol=0, atol=1e-15)


@pytest.mark.parametrize("name,batch_size", [("mup", None), ("ntk", 2), ("sp", None),
                                             ("mean_field", 3)])
def test_trainer_equals_plain_replay(name, batch_size):
    """Same seeds, same recipe: outputs, loss, kernels and coordinate check agree to
    rounding; the gradient kernel's reference is a central difference (step 1e-6: error
    ~1e-10 relative), so G gets rtol 1e-6."""
    x, y, xt = _data()
    width, steps, lr = 5, 6, 0.4
    times = [0, 3, 6]
    p = named(name, 2)
    run = train(NET, x, y, xt, parametrization=p, width=width, lr=lr, steps=steps,
                batch_size=batch_size, n_replicas=2, seed=11, record_every=3, base_width=2,
                gamma0=1.5 if name == "mean_field" else 1.0)
    real = realise(mlp_layers(NET, width), 3, p, width, 2, lr,
                   1.5 if name == "mean_field" else 1.0)
    ref = naive.mlp_training(ACTS, real, x, y, xt, steps, times, batch_size, 11, 2)
    np.testing.assert_array_equal(run.times, times)
    for key in ("loss", "f_train", "f_test", "Phi", "dh_rms"):
        np.testing.assert_allclose(getattr(run, key), ref[key], rtol=1e-10, atol=1e-13,
                                   err_msg=key)
    np.testing.assert_allclose(run.G, ref["G"], rtol=1e-6, atol=1e-9)


def test_replica_independent_of_n_replicas():
    x, y, xt = _data()
    one = train(NET, x, y, xt, parametrization="ntk", width=6, lr=0.3, steps=4,
                n_replicas=1, seed=5, batch_size=2)
    three = train(NET, x, y, xt, parametrization="ntk", width=6, lr=0.3, steps=4,
                  n_replicas=3, seed=5, batch_size=2)
    np.testing.assert_array_equal(one.f_train[0], three.f_train[0])
    assert not np.allclose(three.f_train[1], three.f_train[0])


def test_bordelon_pehlevan_realisation():
    """mean_field, base width 1, W_std = 1: multipliers 1/sqrt(D), 1/sqrt(N), 1/(gamma0 N),
    unit init, every lr = lr gamma0^2 N (arXiv:2205.09653, Sec. 2)."""
    N, D, g0 = 64, 3, 0.7
    real = realise(mlp_layers(NET, N), D, named("mf", 2), N, 1, 0.1, g0)
    np.testing.assert_allclose(real.multiplier, [1 / math.sqrt(D), 1 / math.sqrt(N),
                                                 1 / (g0 * N)], rtol=1e-14)
    np.testing.assert_allclose(real.init_std, 1.0, rtol=1e-14)
    np.testing.assert_allclose(real.lr, 0.1 * g0 ** 2 * N, rtol=1e-14)


def test_base_width_is_the_standard_network():
    """At width = base_width every parametrization is the spec's own network at lr."""
    net = nk.serial(nk.Dense(4, W_std=1.3, parameterization="standard"), nk.Relu(),
                    nk.Dense(1, W_std=0.8, parameterization="standard"))
    for name in ("sp", "ntk", "mf", "mup"):
        real = realise(mlp_layers(net, 32), 5, named(name, 1), 32, 32, 0.2)
        np.testing.assert_allclose(real.multiplier, 1.0)
        np.testing.assert_allclose(real.init_std, [1.3 / math.sqrt(5), 0.8 / math.sqrt(32)])
        np.testing.assert_allclose(real.lr, 0.2)


def test_features_move_linearly_in_gamma0():
    """BP's network at small gamma0: the hidden preactivations move by O(gamma0) at fixed
    t while the output moves by O(1) (arXiv:2205.09653, Sec. 2). Doubling gamma0 (0.2 ->
    0.4) doubles dh_rms up to the relative O(gamma0^2) <= 0.16 correction and the
    1/(gamma0 sqrt(N)) ~ 0.08 initial output at N = 4000: tolerance 0.25 on the ratio 2."""
    x, y, _ = _data(P=3)
    net = nk.serial(nk.Dense(4), nk.Tanh(), nk.Dense(1))
    runs = [train(net, x, y, parametrization="mf", width=4000, lr=0.05, steps=40,
                  gamma0=g0, seed=2, record_every=40, n_replicas=2) for g0 in (0.2, 0.4)]
    hidden = runs[1].dh_rms[:, -1, 0].mean() / runs[0].dh_rms[:, -1, 0].mean()
    assert abs(hidden - 2.0) < 0.25
    output = runs[1].dh_rms[:, -1, 1].mean() / runs[0].dh_rms[:, -1, 1].mean()
    assert abs(output - 1.0) < 0.16


def test_divergence_raise_and_mark():
    x, y, xt = _data()
    kw = dict(parametrization=named("sp", 2, c=0), width=64, lr=50.0, steps=30)
    with pytest.raises(NumericalError, match="lr"):
        train(NET, x, y, xt, **kw)
    run = train(NET, x, y, xt, diverged="mark", n_replicas=2, record_every=1, **kw)
    assert run.diverged.all()
    assert np.isnan(run.loss[:, -1]).all() and np.isfinite(run.loss[:, 0]).all()


def test_chain_patterns():
    layers = mlp_layers(nk.serial(nk.Dense(3), nk.Dense(3), nk.Relu(), nk.Dense(1)), 3)
    codes = [c for c, _ in _chain(layers)]
    assert codes == [_activations.IDENTITY, _activations.ABRELU]


def test_bad_input():
    x, y, xt = _data()
    kw = dict(width=4, lr=0.1, steps=2)
    with pytest.raises(ParameterError, match="net"):
        train(nk.serial(nk.Dense(4), nk.Relu(), nk.Dense(2)), x, y, **kw)
    with pytest.raises(ParameterError, match="net"):
        train(nk.serial(nk.Dense(4, b_std=0.1), nk.Relu(), nk.Dense(1)), x, y, **kw)
    with pytest.raises(ParameterError, match="y_train"):
        train(NET, x, y[:2], **kw)
    with pytest.raises(ParameterError, match="batch_size"):
        train(NET, x, y, batch_size=10, **kw)
    with pytest.raises(ParameterError, match="parametrization"):
        train(NET, x, y, parametrization=named("mup", 3), **kw)
    with pytest.raises(ArgumentTypeError, match="parametrization"):
        train(NET, x, y, parametrization=3, **kw)
    with pytest.raises(ParameterError, match="width"):
        train(NET, x, y, parametrization="mup", width=10 ** 9, lr=0.1, steps=1)
