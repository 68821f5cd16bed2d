"""The numba activations of :mod:`nnphys.sim._activations` against the layers' numpy
``fn`` / ``fn_prime``: the same formula evaluated twice, so they agree to rounding (a few
ulps of the result, plus the ulps of ``erf``/``tanh``/``exp`` in libm against scipy)."""

import math

import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.models import network
from nnphys.sim import _activations
from nnphys._numba import jit

pytestmark = pytest.mark.jit_off

LAYERS = [
    network.Relu(), network.LeakyRelu(0.2), network.Abs(), network.ABRelu(-0.3, 1.7),
    network.Erf(), network.Erf(a=2.0, b=0.5, c=-0.1), network.Sigmoid_like(),
    network.Erf(b=math.sqrt(math.pi) / 2), network.Tanh(), network.Identity(),
    network.Sin(1.5, 0.7, 0.2), network.Cos(), network.Rbf(0.8), network.Exp(0.5, 0.3),
    network.Gaussian(1.2, -0.4), network.Polynomial((0.5, -1.0, 0.0, 2.0)),
    network.Monomial(3), network.Hermite(4), network.RectifiedMonomial(0),
    network.RectifiedMonomial(1), network.RectifiedMonomial(3), network.Sign(),
    network.Gelu(), network.Gelu(approximate=True),
]


@jit
def _evaluate(code, params, z, out, out_prime):
    for k in range(z.size):
        out[k] = _activations.phi(code, params, z[k])
        out_prime[k] = _activations.phi_prime(code, params, z[k])


@pytest.mark.parametrize("layer", LAYERS, ids=repr)
def test_phi_is_the_layer_function(layer):
    z = np.concatenate([np.linspace(-3.0, 3.0, 601), [0.0, -0.0, 1e-300, -1e-300]])
    code, params = _activations.lower(layer)
    out, out_prime = np.empty_like(z), np.empty_like(z)
    _evaluate(code, params, z, out, out_prime)
    np.testing.assert_allclose(out, layer.fn(z), rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(out_prime, layer.fn_prime(z), rtol=1e-13, atol=1e-14)


def test_lower_reads_the_parameters():
    code, params = _activations.lower(network.Erf(a=2.0, b=0.5, c=-0.1))
    assert code == _activations.ERF
    np.testing.assert_array_equal(params, [2.0, 0.5, -0.1])
    assert _activations.lower(network.Tanh())[0] == _activations.TANH


@pytest.mark.parametrize("bad", [network.Dense(3), network.Elementwise(np.sin), np.tanh,
                                 "relu", None])
def test_lower_refuses_what_numba_cannot_evaluate(bad):
    with pytest.raises(ParameterError, match="^activation: "):
        _activations.lower(bad)
