"""Convolutional and structural layers (Conv, AvgPool, GlobalAvgPool, Flatten, LayerNorm).

Four kinds of check:

(a) neural-tangents 0.6.5, float64: whole-network NNGP/NTK of the conv cases of
    ``data/nt_reference.npz`` (``benchmarks/peers/nt_reference.py``) and of
    ``data/nt_conv_reference.npz`` (``_precompute/nt_conv_reference.py``: 1-, 2-, 3-D
    inputs, SAME/VALID/CIRCULAR, strides, AvgPool with and without normalize_edges,
    LayerNorm over spatial axes, standard parameterization, residual branches), and single-layer finite-width outputs on shared
    parameters. Tolerance 1e-10 relative to the largest entry, except where
    neural-tangents is known to be less accurate (ReLU NTK self-entries, below).
(b) independent routes: Monte Carlo over sampled finite networks (NNGP as the output
    covariance, NTK as the covariance of a random directional derivative ``J v``) with
    tolerances from the standard error, for networks whose kernel is exact in expectation
    at any width; structural identities (1x1 conv = Dense, constant images, AvgPool over
    the whole image = GlobalAvgPool, layouts agree, translation invariance).
(c) blocked evaluation equals unblocked evaluation exactly.
(d) bad arguments raise ValueError naming the argument.
"""

import json

import numpy as np
import pytest

from nnphys.models import network as arch
from nnphys.theory import kernels as nk
from nnphys.theory.kernels import network
from nnphys.theory.kernels.kernel import input_kernel
from nnphys.theory.kernels.layers import apply_layer

from .peer_data import (assert_kernels_match_sampled_networks, case_keys, kernel_errors, load,
                        rel_err)

EPS = np.finfo(float).eps

PEER = load("nt_reference.npz")           # written by benchmarks/peers/nt_reference.py
OWN = load("nt_conv_reference.npz")       # written by tests/_precompute/nt_conv_reference.py

# Layers of this module: a key of the peer file is ours to check if its spec uses one.
SPATIAL_LAYERS = ("Conv(", "AvgPool(", "GlobalAvgPool(", "Flatten(", "LayerNorm(")
# neural-tangents layers nnphys has no kernel for; keys using them are skipped, by name.
NOT_IMPLEMENTED = ("SumPool(", "GlobalSumPool(", "ConvTranspose(", "ConvLocal(", "Dropout(",
                   "GlobalSelfAttention(", "ImageResize(", "Aggregate(", "DotGeneral(",
                   "Index(", "FanInConcat(", "FanInProd(")
# Activations whose NTK self-entries neural-tangents computes from sqrt(q11 q22 - q12^2)
# of a roundoff-level difference (~1e-9 relative error in its diagonal-layout kernels;
# tests/data/README.md); these entries are compared to 1e-6 and
# checked to 1e-13 against extended precision instead (test_relu_ntk_self_entries_...).
KINKED = ("Relu(", "LeakyRelu(", "ABRelu(", "Abs(", "RectifiedMonomial(", "Sign(")
RTOL = 1e-10


PEER_KEYS = [k for k in case_keys(PEER) if any(s in str(PEER[f"{k}/spec"]) for s in SPATIAL_LAYERS)]
SKIPPED_PEER_KEYS = [k for k in PEER_KEYS
                     if any(s in str(PEER[f"{k}/spec"]) for s in NOT_IMPLEMENTED)]
OWN_KERNEL_KEYS = case_keys(OWN, "kernel/")
OWN_APPLY_KEYS = case_keys(OWN, "apply/")


def _compare(data, key, x1, x2):
    """Max relative errors per kernel; self-entries of kinked NTKs reported apart."""
    return kernel_errors(data, key, x1, x2, any(s in str(data[f"{key}/spec"]) for s in KINKED))


# --------------------------------------------------------------------------------------
# (a) neural-tangents reference values
# --------------------------------------------------------------------------------------

def test_reference_files_present_and_complete():
    assert PEER is not None, "run benchmarks/peers/nt_reference.py (peer environment)"
    assert OWN is not None, "run tests/_precompute/nt_conv_reference.py (peer environment)"
    for data in (PEER, OWN):
        meta = json.loads(str(data["meta"]))
        assert meta["neural_tangents"] == "0.6.5"
        assert meta["failures"] == {}
    assert len(PEER_KEYS) >= 14 and len(OWN_KERNEL_KEYS) >= 20 and len(OWN_APPLY_KEYS) >= 41
    assert SKIPPED_PEER_KEYS == []      # every conv case of the peer file is checked


@pytest.mark.parametrize("key", PEER_KEYS)
def test_peer_reference(key):
    """The conv cases of nt_reference.npz (ReLU nets; SAME/VALID/CIRCULAR, strides,
    Flatten / GlobalAvgPool readouts, AvgPool, standard parameterization)."""
    if key in SKIPPED_PEER_KEYS:
        pytest.skip(f"uses a layer nnphys does not implement: {PEER[f'{key}/spec']}")
    kind = str(PEER[f"{key}/inputs"])
    errors = _compare(PEER, key, PEER[f"{kind}/x1"], PEER[f"{kind}/x2"])
    for name, err in errors.items():
        tol = 1e-6 if name == "ntk_11 self-entries" else RTOL
        assert err <= tol, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("key", OWN_KERNEL_KEYS)
def test_own_reference_kernels(key):
    """Smooth activations, so every entry is compared at 1e-10."""
    kind = str(OWN[f"{key}/inputs"])
    errors = _compare(OWN, key, OWN[f"{kind}/x1"], OWN[f"{kind}/x2"])
    assert max(errors.values()) <= RTOL, errors


@pytest.mark.parametrize("key", OWN_APPLY_KEYS)
def test_own_reference_finite_width_apply(key):
    """One layer at finite width on the parameters neural-tangents was given."""
    (layer,) = arch.parse_spec(str(OWN[f"{key}/spec"])).layers
    params = ()
    if f"{key}/W" in OWN.files:
        params = (OWN[f"{key}/W"], OWN[f"{key}/b"] if f"{key}/b" in OWN.files else None)
    x = OWN[f"{key}/x"]
    out = layer.apply(params, x)
    ref = OWN[f"{key}/out"]
    assert out.shape == ref.shape
    assert rel_err(out, ref) <= 1e-12
    shape, _ = layer.init(np.random.default_rng(0), x.shape)
    assert tuple(shape) == ref.shape


_EXTENDED = np.finfo(np.longdouble).eps < 1e-18

@pytest.mark.skipif(not _EXTENDED, reason="np.longdouble is not extended precision here")
@pytest.mark.parametrize("key", [
    "conv/SAME/None/Flatten()",
    "conv/CIRCULAR/(2, 2)/Flatten()",
    "conv/VALID/None/GlobalAvgPool()",
])
def test_relu_ntk_self_entries_against_extended_precision(key):
    """The ReLU NTK self-entries, where neural-tangents is off by ~1e-9 in its diagonal
    layout, agree with the same recursion in 80-bit long double to 1e-13."""
    net = nk.from_spec(str(PEER[f"{key}/spec"]))
    x = PEER["conv/x1"]
    ours = net.kernel(x, get="ntk")
    layout = network._layout_for(net.spec)
    extended = apply_layer(net.spec, input_kernel(x.astype(np.longdouble), None, layout)).ntk
    assert extended.dtype == np.longdouble
    err = np.max(np.abs(np.diag(ours) - np.diag(extended)) / np.abs(np.diag(extended)))
    assert float(err) <= 1e-13


# --------------------------------------------------------------------------------------
# (b) Monte Carlo over finite networks, and structural identities
# --------------------------------------------------------------------------------------

MC_NETS = {
    # one nonlinearity between linear layers: the expected output covariance and expected
    # empirical NTK equal the infinite-width kernels exactly at any width, so the only
    # error is statistical.
    "full-layout/standard": nk.serial(
        nk.Conv(6, (3, 3), padding="SAME", W_std=1.4, b_std=0.3, parameterization="standard"),
        nk.Relu(), nk.AvgPool((2, 2), padding="SAME"),
        nk.Conv(6, (2, 2), strides=(2, 2), padding="VALID", W_std=1.2, b_std=0.2,
                parameterization="standard"),
        nk.GlobalAvgPool(), nk.Dense(8, 1.1, 0.1, parameterization="standard")),
    "diagonal-layout/ntk": nk.serial(
        nk.Conv(6, (3, 2), padding="CIRCULAR", W_std=1.3, b_std=0.2), nk.Erf(),
        nk.Conv(6, (2, 3), strides=(2, 1), padding="SAME", W_std=1.5),
        nk.Flatten(), nk.Dense(8, 1.2, 0.3)),
}


@pytest.mark.parametrize("name", sorted(MC_NETS))
def test_kernels_match_sampled_networks(name):
    """NNGP = E[y(x) y(x')], NTK = E[t(x) t(x')] over 1500 sampled networks (6 channels,
    8 outputs); every entry within 4.5 standard errors (the networks are independent)."""
    x = np.random.default_rng(5).standard_normal((3, 5, 4, 2))
    assert_kernels_match_sampled_networks(MC_NETS[name], x, n_samples=1500, seed=11)


def test_one_by_one_conv_on_one_pixel_is_dense():
    x = np.random.default_rng(1).standard_normal((4, 3))
    for p in ("ntk", "standard"):
        conv = nk.serial(nk.Conv(8, (1, 1), W_std=1.3, b_std=0.2, parameterization=p),
                         nk.Relu(), nk.Flatten(), nk.Dense(1, 1.3, 0.2, parameterization=p))
        dense = nk.serial(nk.Dense(8, 1.3, 0.2, parameterization=p), nk.Relu(),
                          nk.Dense(1, 1.3, 0.2, parameterization=p))
        kc, kd = conv.kernel(x[:, None, None, :]), dense.kernel(x)
        np.testing.assert_allclose(kc.nngp, kd.nngp, rtol=1e-13)
        np.testing.assert_allclose(kc.ntk, kd.ntk, rtol=1e-13)


@pytest.mark.parametrize("readout", [nk.GlobalAvgPool(), nk.Flatten()])
def test_circular_conv_of_constant_images_is_dense(readout):
    """Every CIRCULAR window of a constant image sees the same pixel, so the conv net's
    kernel is the dense net's (NTK parameterization, where the fan-in does not enter)."""
    pixels = np.random.default_rng(2).standard_normal((4, 3))
    images = np.broadcast_to(pixels[:, None, None, :], (4, 5, 4, 3))
    conv = nk.serial(nk.Conv(5, (3, 2), padding="CIRCULAR", W_std=1.4, b_std=0.1), nk.Erf(),
                     nk.Conv(5, (2, 2), strides=(2, 2), padding="CIRCULAR", W_std=1.2),
                     nk.Relu(), readout, nk.Dense(1, 1.1, 0.2))
    dense = nk.serial(nk.Dense(5, 1.4, 0.1), nk.Erf(), nk.Dense(5, 1.2), nk.Relu(),
                      nk.Dense(1, 1.1, 0.2))
    kc, kd = conv.kernel(images, images[:2]), dense.kernel(pixels, pixels[:2])
    np.testing.assert_allclose(kc.nngp, kd.nngp, rtol=1e-13)
    np.testing.assert_allclose(kc.ntk, kd.ntk, rtol=1e-13)


def test_avgpool_over_the_whole_image_is_global_avgpool():
    body = (nk.Conv(4, (3, 3), padding="SAME", W_std=1.3, b_std=0.1), nk.Relu())
    gap = nk.serial(*body, nk.GlobalAvgPool(), nk.Dense(1))
    pool = nk.serial(*body, nk.AvgPool((5, 4)), nk.Flatten(), nk.Dense(1))
    x = np.random.default_rng(3).standard_normal((3, 5, 4, 2))
    kg, kp = gap.kernel(x), pool.kernel(x)
    np.testing.assert_allclose(kp.nngp, kg.nngp, rtol=1e-13)
    np.testing.assert_allclose(kp.ntk, kg.ntk, rtol=1e-13)


@pytest.mark.parametrize("same", [False, True])
def test_flatten_same_in_both_layouts(same):
    """A Flatten readout gives the same kernel whether the full covariance is carried."""
    net = nk.serial(nk.Conv(4, (3, 2), padding="CIRCULAR", W_std=1.2, b_std=0.1), nk.Erf(),
                    nk.Conv(4, (2, 2), strides=(2, 1), padding="SAME", W_std=1.2),
                    nk.LayerNorm(axis=(1, 3), eps=0.1), nk.Relu(), nk.Flatten(), nk.Dense(1))
    rng = np.random.default_rng(4)
    x1, x2 = rng.standard_normal((3, 5, 4, 2)), rng.standard_normal((2, 5, 4, 2))
    other = None if same else x2
    diag = apply_layer(net.spec, input_kernel(x1, other, "diagonal"))
    full = apply_layer(net.spec, input_kernel(x1, other, "full"))
    np.testing.assert_allclose(diag.nngp, full.nngp, rtol=1e-13)
    np.testing.assert_allclose(diag.ntk, full.ntk, rtol=1e-13)


def test_translation_invariance_with_circular_padding():
    """CIRCULAR conv + global pooling is invariant under cyclic shifts of an input."""
    net = nk.serial(nk.Conv(4, (3, 3), padding="CIRCULAR", W_std=1.4, b_std=0.1), nk.Relu(),
                    nk.AvgPool((2, 2), padding="CIRCULAR"),
                    nk.Conv(4, (3, 3), padding="CIRCULAR", W_std=1.4), nk.Relu(),
                    nk.GlobalAvgPool(), nk.Dense(1))
    x = np.random.default_rng(6).standard_normal((2, 5, 4, 2))
    shifted = np.roll(x, (2, 1), axis=(1, 2))
    np.testing.assert_allclose(net.kernel(x).ntk, net.kernel(shifted).ntk, rtol=1e-12)


def test_layout_choice():
    """Full layout iff some layer mixes positions (AvgPool, GlobalAvgPool)."""
    conv = nk.Conv(2, (2, 2))
    assert network._layout_for(nk.serial(conv, nk.Relu(), nk.Flatten()).spec) == "diagonal"
    assert network._layout_for(nk.serial(conv, nk.LayerNorm((1, 2, 3)), nk.Flatten()).spec) \
        == "diagonal"
    assert network._layout_for(nk.serial(conv, nk.GlobalAvgPool()).spec) == "full"
    assert network._layout_for(nk.serial(conv, nk.AvgPool((2, 2)), nk.Flatten()).spec) == "full"


def test_structural_layers_are_no_ops_without_spatial_axes():
    """On (N, C) inputs Flatten and GlobalAvgPool change nothing (as in neural-tangents)."""
    x = np.random.default_rng(7).standard_normal((4, 3))
    plain = nk.serial(nk.Dense(3, 1.2, 0.1), nk.Erf(), nk.Dense(1))
    padded = nk.serial(nk.Dense(3, 1.2, 0.1), nk.Flatten(), nk.Erf(), nk.GlobalAvgPool(),
                       nk.Dense(1))
    # (the plain net takes the fused compiled path, the other the layer maps: roundoff)
    np.testing.assert_allclose(plain.kernel(x).ntk, padded.kernel(x).ntk, rtol=1e-14)


def test_finite_width_shapes_and_no_input_mutation():
    net = nk.serial(nk.Conv(5, (3, 3), strides=(2, 2), padding="SAME"), nk.Relu(),
                    nk.AvgPool((2, 2)), nk.LayerNorm(), nk.Flatten(), nk.Dense(2))
    x = np.random.default_rng(8).standard_normal((3, 7, 6, 2))
    y = net.apply(net.init(0, x.shape), x)
    assert y.shape == (3, 2)
    k0 = input_kernel(x, None, "full")
    before = k0.nngp.copy()
    apply_layer(nk.Conv(3, (1, 1)), k0)          # a 1x1 window returns its input unchanged
    np.testing.assert_array_equal(k0.nngp, before)


# --------------------------------------------------------------------------------------
# (c) blocked evaluation
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("readout", [nk.GlobalAvgPool(), nk.Flatten()])
def test_blocked_equals_unblocked(readout):
    """Blocks that do not divide N (11 x 8 inputs) give the same kernels in both layouts,
    to 4 ulp: numpy's reductions (the global mean over positions, einsum) pick their
    summation order by memory layout and by the CPU's SIMD width, so a block's sums may
    round differently on some machines (1 ulp seen on an AVX-512 machine with
    GlobalAvgPool). Two cases agree to roundoff only, for reasons upstream of these layers
    (whose block-locality is exact, next test): with x2 = x1, off-diagonal blocks compute
    the per-input variances by another einsum than the diagonal of the Gram matrix; and a
    block of one input makes numpy's einsum take another summation path for x.x'/C."""
    net = nk.serial(nk.Conv(3, (3, 3), padding="SAME", W_std=1.3, b_std=0.1), nk.Relu(),
                    nk.Conv(3, (2, 2), strides=(2, 1), W_std=1.3), nk.Erf(),
                    nk.LayerNorm(axis=-1), readout, nk.Dense(1))
    rng = np.random.default_rng(9)
    x1, x2 = rng.standard_normal((11, 5, 4, 2)), rng.standard_normal((8, 5, 4, 2))
    whole = net.kernel(x1, x2)
    for block in (3, 4, (6, 5)):
        blocked = net.kernel(x1, x2, block_size=block)
        np.testing.assert_allclose(blocked.nngp, whole.nngp, rtol=4 * EPS, atol=0)
        np.testing.assert_allclose(blocked.ntk, whole.ntk, rtol=4 * EPS, atol=0)
    for a, b, block in ((x1, x2, (5, 7)), (x1, None, 3), (x1, None, (6, 6))):
        whole, blocked = net.kernel(a, b), net.kernel(a, b, block_size=block)
        np.testing.assert_allclose(blocked.nngp, whole.nngp, rtol=1e-14, atol=0)
        np.testing.assert_allclose(blocked.ntk, whole.ntk, rtol=1e-14, atol=0)


def test_blocked_self_entries_with_unequal_blocks():
    """With x2 = None every self-pair stays in a diagonal block, whatever block sizes."""
    net = nk.serial(nk.Conv(3, (3, 3), padding="SAME", W_std=1.3, b_std=0.1), nk.Relu(),
                    nk.Flatten(), nk.Dense(1))
    x = np.random.default_rng(9).standard_normal((11, 5, 4, 2))
    np.testing.assert_allclose(net.kernel(x, block_size=(4, 3)).ntk, net.kernel(x).ntk,
                               rtol=1e-14, atol=0)


def test_layers_are_local_in_the_batch():
    """The layer maps themselves are exactly block-local: a block of the input kernel
    mapped through every layer equals the same block of the whole kernel mapped, bit for
    bit, including single-input blocks."""
    net = nk.serial(nk.Conv(3, (3, 2), strides=(1, 2), padding="CIRCULAR", b_std=0.1),
                    nk.Relu(), nk.AvgPool((2, 2), padding="SAME"),
                    nk.Conv(3, (2, 2), padding="SAME", parameterization="standard"),
                    nk.LayerNorm(axis=(1, 2, 3)), nk.Erf(), nk.GlobalAvgPool(), nk.Dense(1))
    rng = np.random.default_rng(12)
    x1, x2 = rng.standard_normal((4, 5, 4, 2)), rng.standard_normal((3, 5, 4, 2))
    whole = input_kernel(x1, x2, "full")
    rows, cols = slice(1, 4), slice(2, 3)
    block = whole.replace(nngp=whole.nngp[rows, cols], ntk=whole.ntk[rows, cols],
                          cov1=whole.cov1[rows], cov2=whole.cov2[cols])
    whole, block = apply_layer(net.spec, whole), apply_layer(net.spec, block)
    np.testing.assert_array_equal(block.nngp, whole.nngp[rows, cols])
    np.testing.assert_array_equal(block.ntk, whole.ntk[rows, cols])
    np.testing.assert_array_equal(block.cov1, whole.cov1[rows])


def test_global_pooling_holds_one_block_at_a_time(monkeypatch):
    """With the default block size the full (HW)^2 covariance is only ever built for a
    block of inputs; here the entry budget allows 2 x 2 inputs per block."""
    spatial = (6, 5)
    monkeypatch.setattr(network, "_DEFAULT_BLOCK_ENTRIES", 4 * int(np.prod(spatial)) ** 2)
    seen = []

    def recording(x1, x2, layout, need_ntk=True):
        seen.append((len(x1), len(x1) if x2 is None else len(x2), layout))
        return input_kernel(x1, x2, layout, need_ntk)

    monkeypatch.setattr(network, "input_kernel", recording)
    net = nk.serial(nk.Conv(3, (3, 3), padding="SAME", W_std=1.3), nk.Relu(),
                    nk.GlobalAvgPool(), nk.Dense(1))
    x = np.random.default_rng(10).standard_normal((5,) + spatial + (2,))
    blocked = net.kernel(x)
    assert seen and all(n1 <= 2 and n2 <= 2 and layout == "full" for n1, n2, layout in seen)
    np.testing.assert_allclose(blocked.ntk, net.kernel(x, block_size=5).ntk, rtol=1e-14)


# --------------------------------------------------------------------------------------
# (d) bad input
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad,match", [
    (lambda: nk.Conv(3, (3, 3), padding="REFLECT"), "padding"),
    (lambda: nk.Conv(3, (3, 3), padding="same"), "padding"),
    (lambda: nk.Conv(3, (0, 3)), "filter_shape"),
    (lambda: nk.Conv(3, (-1,)), "filter_shape"),
    (lambda: nk.Conv(3, (2.5, 2)), "filter_shape"),
    (lambda: nk.Conv(3, ()), "filter_shape"),
    (lambda: nk.Conv(3, 3), "filter_shape"),
    (lambda: nk.Conv(3, (3, 3), W_std=-1.0), "W_std"),
    (lambda: nk.Conv(3, (3, 3), W_std=float("nan")), "W_std"),
    (lambda: nk.Conv(3, (3, 3), W_std=float("inf")), "W_std"),
    (lambda: nk.Conv(3, (3, 3), b_std=-0.1), "b_std"),
    (lambda: nk.Conv(0, (3, 3)), "out_chan"),
    (lambda: nk.Conv(3, (3, 3), strides=(1,)), "strides"),
    (lambda: nk.Conv(3, (3, 3), strides=(0, 1)), "strides"),
    (lambda: nk.Conv(3, (3, 3), parameterization="mup"), "parameterization"),
    (lambda: nk.AvgPool((2, 2), padding="FOO"), "padding"),
    (lambda: nk.AvgPool((2, 0)), "window_shape"),
    (lambda: nk.AvgPool((2, 2), strides=(2,)), "strides"),
    (lambda: nk.AvgPool((2, 2), normalize_edges="yes"), "normalize_edges"),
    (lambda: nk.LayerNorm(eps=-1.0), "eps"),
    (lambda: nk.LayerNorm(axis=1.5), "axis"),
    (lambda: nk.from_spec("Conv(3, (3, 3), padding='REFLECT'), Flatten()"), "padding"),
])
def test_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


@pytest.mark.parametrize("net,x,match", [
    (nk.serial(nk.Conv(3, (3,)), nk.Relu(), nk.Flatten(), nk.Dense(1)), (2, 4), "spatial"),
    (nk.serial(nk.Conv(3, (3, 3)), nk.Flatten()), (2, 5, 3), "filter_shape"),
    (nk.serial(nk.Conv(3, (7, 3)), nk.Flatten()), (2, 5, 4, 1), "filter_shape"),
    (nk.serial(nk.AvgPool((2,)), nk.Flatten()), (2, 5, 4, 1), "window_shape"),
    (nk.serial(nk.Conv(3, (2, 2)), nk.LayerNorm(axis=(1, 2))), (2, 5, 4, 1), "axis"),
    (nk.serial(nk.Conv(3, (2, 2)), nk.LayerNorm(axis=(0, 3))), (2, 5, 4, 1), "axis"),
    (nk.serial(nk.Conv(3, (2, 2)), nk.LayerNorm(axis=(4,))), (2, 5, 4, 1), "axis"),
])
def test_bad_networks_for_the_input(net, x, match):
    """Mismatches between a network and its input: the kernel and the finite network
    both refuse them with a ValueError naming the argument."""
    x = np.ones(x)
    with pytest.raises(ValueError, match=match):
        net.kernel(x)
    if len(x.shape) > 2:
        with pytest.raises(ValueError, match=match):
            net.apply(net.init(0, x.shape), x)
