"""Convolutional kernels: structural identities, blocking, sampled networks, errors.
(Agreement with neural-tangents on SAME/VALID/CIRCULAR, strides, pooling, Flatten,
LayerNorm and residual nets is in test_neural_tangents_reference.py.)"""

import math

import numpy as np
import pytest

from nnphys.theory import kernels as nk


def _images(n, h=5, w=4, c=2, seed=0):
    return np.random.default_rng(seed).standard_normal((n, h, w, c))


def test_one_by_one_conv_on_one_pixel_is_dense():
    x = np.random.default_rng(1).standard_normal((4, 3))
    conv = nk.serial(nk.Conv(8, (1, 1), W_std=1.3, b_std=0.2), nk.Relu(), nk.Flatten(),
                     nk.Dense(1, 1.3, 0.2))
    dense = nk.serial(nk.Dense(8, 1.3, 0.2), nk.Relu(), nk.Dense(1, 1.3, 0.2))
    kc, kd = conv.kernel(x[:, None, None, :]), dense.kernel(x)
    np.testing.assert_allclose(kc.nngp, kd.nngp, rtol=1e-13)
    np.testing.assert_allclose(kc.ntk, kd.ntk, rtol=1e-13)


def test_flatten_same_in_both_layouts():
    """A Flatten readout gives the same kernel whether the full covariance is carried."""
    from nnphys.theory.kernels.kernel import input_kernel
    from nnphys.theory.kernels.layers import apply_layer
    net = nk.serial(nk.Conv(4, (3, 2), padding="CIRCULAR", W_std=1.2, b_std=0.1), nk.Erf(),
                    nk.Conv(4, (2, 2), strides=(2, 1), padding="SAME", W_std=1.2), nk.Relu(),
                    nk.Flatten(), nk.Dense(1))
    x1, x2 = _images(3), _images(2, seed=1)
    diag = apply_layer(net.spec, input_kernel(x1, x2, "diagonal"))
    full = apply_layer(net.spec, input_kernel(x1, x2, "full"))
    np.testing.assert_allclose(diag.nngp, full.nngp, rtol=1e-13)
    np.testing.assert_allclose(diag.ntk, full.ntk, rtol=1e-13)


def test_translation_invariance_with_circular_padding():
    """CIRCULAR conv + global pooling is invariant under cyclic shifts of an input."""
    net = nk.serial(nk.Conv(4, (3, 3), padding="CIRCULAR", W_std=1.4, b_std=0.1), nk.Relu(),
                    nk.Conv(4, (3, 3), padding="CIRCULAR", W_std=1.4), nk.Relu(),
                    nk.GlobalAvgPool(), nk.Dense(1))
    x = _images(2)
    shifted = np.roll(x, (2, 1), axis=(1, 2))
    np.testing.assert_allclose(net.kernel(x).ntk, net.kernel(shifted).ntk, rtol=1e-12)


@pytest.mark.parametrize("readout", [nk.GlobalAvgPool(), nk.Flatten()])
def test_blocked_equals_unblocked(readout):
    net = nk.serial(nk.Conv(3, (3, 3), W_std=1.3, b_std=0.1), nk.Relu(),
                    nk.AvgPool((2, 2), padding="SAME"), nk.Conv(3, (2, 2), W_std=1.3), nk.Erf(),
                    readout, nk.Dense(1))
    x1, x2 = _images(7), _images(5, seed=2)
    for a, b in ((x1, x2), (x1, None)):
        full = net.kernel(a, b)
        for block in (2, 3, (4, 3)):
            blocked = net.kernel(a, b, block_size=block)
            np.testing.assert_allclose(blocked.nngp, full.nngp, rtol=1e-13)
            np.testing.assert_allclose(blocked.ntk, full.ntk, rtol=1e-13)


def test_conv_nngp_matches_sampled_networks():
    """Output covariance of 400 sampled conv nets (64 channels, 16 outputs each) vs the
    NNGP: within 4 standard errors plus an O(1/channels) finite-width allowance."""
    net = nk.serial(nk.Conv(64, (3, 3), padding="SAME", W_std=1.4, b_std=0.2), nk.Relu(),
                    nk.Conv(64, (2, 2), strides=(2, 2), padding="VALID", W_std=1.4), nk.Relu(),
                    nk.GlobalAvgPool(), nk.Dense(16, 1.4, 0.2))
    x = _images(3, h=4, w=4)
    theory = net.kernel(x, get="nngp")
    rng = np.random.default_rng(3)
    samples = []
    for _ in range(400):
        y = net.apply(net.init(rng, x.shape), x)
        samples.append(y @ y.T / y.shape[1])
    samples = np.array(samples)
    mean, se = samples.mean(0), samples.std(0, ddof=1) / math.sqrt(len(samples))
    assert np.all(np.abs(mean - theory) <= 4 * se + 2 * np.abs(theory) / 64)


def test_finite_width_shapes():
    net = nk.serial(nk.Conv(5, (3, 3), strides=(2, 2), padding="SAME"), nk.Relu(),
                    nk.AvgPool((2, 2)), nk.Flatten(), nk.Dense(2))
    x = _images(3, h=7, w=6)
    y = net.apply(net.init(0, x.shape), x)
    assert y.shape == (3, 2)


@pytest.mark.parametrize("bad,match", [
    (lambda: nk.Conv(3, (3, 3), padding="REFLECT"), "padding"),
    (lambda: nk.Conv(3, (0, 3)), "filter_shape"),
    (lambda: nk.Conv(3, (3, 3), W_std=-1.0), "W_std"),
    (lambda: nk.Conv(0, (3, 3)), "out_chan"),
    (lambda: nk.Conv(3, (3, 3), strides=(1,)), "strides"),
    (lambda: nk.AvgPool((2, 2), padding="FOO"), "padding"),
])
def test_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_conv_on_flat_inputs_is_refused():
    net = nk.serial(nk.Conv(3, (3,)), nk.Relu(), nk.Flatten(), nk.Dense(1))
    with pytest.raises(ValueError, match="spatial"):
        net.kernel(np.ones((2, 4)))
