"""Attention, graph aggregation, fan-in combinators, repeat and dropout (issue 15, part A).

(a) neural-tangents 0.6.5, float64: whole-network NNGP/NTK and single-layer finite-width
    outputs on shared parameters from ``data/nt_layers_reference.npz``
    (``_precompute/nt_layers_reference.py``): every attention mechanism with and without
    positional embeddings (SUM / CONCAT, decaying covariance, values with embeddings), the
    square-root-scaled identity attention, graphs (dense weighted, sparse with padding, a
    graph over one axis of a grid, attention after aggregation), channel and spatial
    concatenation, products, ``repeat``, dropout in both modes. The peer's closed forms
    are exact to roundoff for these smooth activations, so the tolerance is 1e-10
    relative to the largest entry (the issue's target; roundoff is ~1e-15).
(b) independent identities: attention with constant logits is a mean over positions;
    ``FanInConcat`` of identical branches is a no-op; blocked evaluation equals unblocked
    (to a few ulp: BLAS orders batched products differently).
(c) bad arguments raise errors naming the argument; refused compositions say why.
"""

import json

import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.models import network as arch
from nnphys.theory import kernels as nk

from .peer_data import case_keys, load, rel_err

REF = load("nt_layers_reference.npz")
RTOL = 1e-10


KERNEL_KEYS = case_keys(REF, "kernel/")
APPLY_KEYS = case_keys(REF, "apply/")

NAMESPACE = dict(arch.LAYERS)
NAMESPACE.update(serial=lambda *l: arch.Serial(l), parallel=lambda *l: arch.Parallel(l),
                 repeat=nk.repeat, decay=lambda d: np.exp(-d / 2.0))


def _build(spec):
    """The spec read as Python in nnphys' namespace (the peer's reads it in stax')."""
    return nk.Network(arch.Serial(tuple(eval(f"({spec},)", dict(NAMESPACE)))))


def test_reference_file_complete():
    assert REF is not None, "run tests/_precompute/nt_layers_reference.py (peer environment)"
    meta = json.loads(str(REF["meta"]))
    assert meta["neural_tangents"] == "0.6.5" and meta["failures"] == {}
    mechanisms = {k.split("/")[3] for k in KERNEL_KEYS if k.startswith("kernel/attention/seq")}
    assert {"SOFTMAX", "IDENTITY", "ABS", "RELU"} <= mechanisms
    assert sum(k.startswith("kernel/graph/") for k in KERNEL_KEYS) >= 2
    assert len(KERNEL_KEYS) >= 40 and len(APPLY_KEYS) >= 25


@pytest.mark.parametrize("key", KERNEL_KEYS)
def test_kernels_against_neural_tangents(key):
    net = _build(str(REF[f"{key}/spec"]))
    kind = str(REF[f"{key}/inputs"])
    x1, x2 = REF[f"{kind}/x1"], REF[f"{kind}/x2"]
    graphs = f"{key}/pattern1" in REF.files
    p1 = REF[f"{key}/pattern1"] if graphs else None
    p2 = REF[f"{key}/pattern2"] if graphs else None
    for tag, other, pattern in (("11", None, (p1, None)), ("12", x2, (p1, p2))):
        k = net.kernel(x1, other, pattern=pattern if graphs else None)
        for name in ("nngp", "ntk"):
            ref = REF[f"{key}/{name}_{tag}"]
            ours = getattr(k, name)
            assert ours.shape == ref.shape
            assert rel_err(ours, ref) <= RTOL, f"{name}_{tag}: {rel_err(ours, ref):.2e}"


@pytest.mark.parametrize("key", APPLY_KEYS)
def test_finite_width_apply_against_neural_tangents(key):
    (layer,) = eval(f"({REF[f'{key}/spec']},)", dict(NAMESPACE))
    x = REF[f"{key}/x"]
    if isinstance(layer, nk.GlobalSelfAttention):
        params = tuple(REF[f"{key}/param{i}"] if f"{key}/param{i}" in REF.files else None
                       for i in range(6))
        out = layer.apply(params, x)
        shape, drawn = layer.init(np.random.default_rng(0), x.shape)
        assert [None if p is None else p.shape for p in drawn] == \
            [None if p is None else p.shape for p in params]
    else:
        out = layer.apply((), x, pattern=REF[f"{key}/pattern"])
        shape = layer.init(0, x.shape)[0]
    ref = REF[f"{key}/out"]
    assert out.shape == ref.shape and tuple(shape) == ref.shape
    assert rel_err(out, ref) <= 1e-12      # a few float64 roundings per entry


# --------------------------------------------------------------------------------------
# (b) identities
# --------------------------------------------------------------------------------------

def test_softmax_attention_with_zero_logits_is_a_mean_over_positions():
    """W_query_std = 0: every logit is 0, softmax weights are 1/P, so the attention output
    is OV * (the mean token); its kernel is OV^2 times the position-averaged kernel."""
    x = np.random.default_rng(1).standard_normal((3, 4, 2))
    att = nk.serial(nk.Dense(3, W_std=1.3), nk.GlobalSelfAttention(
        3, 3, 3, 2, W_query_std=0.0, W_out_std=1.5, W_value_std=0.8), nk.GlobalAvgPool())
    ref = nk.serial(nk.Dense(3, W_std=1.3), nk.GlobalAvgPool())
    k, r = att.kernel(x), ref.kernel(x)
    ov2 = (1.5 * 0.8) ** 2
    np.testing.assert_allclose(k.nngp, ov2 * r.nngp, rtol=1e-13)
    # the value and output weights add 2 OV^2 K to OV^2 Theta
    np.testing.assert_allclose(k.ntk, ov2 * (r.ntk + 2 * r.nngp), rtol=1e-13)


def test_concat_of_identical_branches_and_blocks():
    x = np.random.default_rng(2).standard_normal((5, 3, 2))
    base = nk.serial(nk.Conv(3, (2,), padding="SAME"), nk.Erf(), nk.Dense(4, b_std=0.1))
    cat = nk.serial(base, nk.FanOut(2), nk.parallel(nk.Identity(), nk.Identity()),
                    nk.FanInConcat(), nk.GlobalAvgPool())
    np.testing.assert_allclose(cat.kernel(x).nngp, nk.serial(base, nk.GlobalAvgPool()
                                                             ).kernel(x).nngp, rtol=1e-14)
    key = "kernel/graph/dense-gcn"
    net = _build(str(REF[f"{key}/spec"]))
    xg, p = REF["graph/x1"], REF[f"{key}/pattern1"]
    whole = net.kernel(xg, pattern=(p, None))
    blocked = net.kernel(xg, pattern=(p, None), block_size=2)
    # the same sums; BLAS may order a batched matmul's terms differently (1 ulp)
    np.testing.assert_allclose(whole.ntk, blocked.ntk, rtol=4e-16 * 8, atol=0)


# --------------------------------------------------------------------------------------
# (c) bad input and refused compositions
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, name", [
    (lambda: nk.GlobalSelfAttention(0, 1, 1, 1), "n_chan_out"),
    (lambda: nk.GlobalSelfAttention(1, 1, 1, 1, attention_mechanism="TANH"),
     "attention_mechanism"),
    (lambda: nk.GlobalSelfAttention(1, 1, 1, 1, pos_emb_type="ROPE"), "pos_emb_type"),
    (lambda: nk.GlobalSelfAttention(1, 1, 1, 1, W_key_std=-1.0), "W_key_std"),
    (lambda: nk.Aggregate(batch_axis=1), "batch_axis"),
    (lambda: nk.Aggregate(implementation="CSR"), "implementation"),
    (lambda: nk.Dropout(0.0), "rate"),
    (lambda: nk.Dropout(0.5, mode="eval"), "mode"),
    (lambda: nk.repeat(nk.Relu(), 0), "n"),
    (lambda: nk.FanInConcat(axis=0).canonical_axis(3), "axis"),
])
def test_bad_arguments_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_refused_compositions_say_why():
    x = np.random.default_rng(3).standard_normal((2, 4, 3))
    sqrt_softmax = nk.serial(nk.Dense(3), nk.GlobalSelfAttention(3, 3, 3, 1,
                                                                 linear_scaling=False))
    with pytest.raises(NotImplementedError, match="no closed form"):
        sqrt_softmax.kernel(x)
    for layer in (nk.Dropout(0.5), nk.FanInProd()):
        branches = [] if isinstance(layer, nk.Dropout) else \
            [nk.FanOut(2), nk.parallel(nk.Dense(3), nk.Dense(3))]
        net = nk.serial(nk.Dense(3), *branches, layer, nk.Erf())
        with pytest.raises(ParameterError, match="not a Gaussian process"):
            net.kernel(x[:, 0])
    agg = nk.serial(nk.Dense(3), nk.Aggregate())
    with pytest.raises(ParameterError, match="pattern"):
        agg.kernel(x, pattern=(np.ones((3, 4, 4)), None))
    sparse = nk.serial(nk.Dense(3), nk.Aggregate(implementation="SPARSE"))
    with pytest.raises(ParameterError, match="negative tail"):
        sparse.kernel(x, pattern=(np.array([[[-1, 2]], [[0, 1]]]), None))


# --------------------------------------------------------------------------------------
# (d) the stax translator, and the validation checks (quick)
# --------------------------------------------------------------------------------------

def test_from_stax_reads_a_peer_script():
    source = """
import neural_tangents as nt
from neural_tangents import stax
block = stax.serial(stax.Dense(8, W_std=1.5, b_std=0.05, batch_axis=0), stax.Erf())
init_fn, apply_fn, kernel_fn = stax.serial(
    stax.Conv(4, (3,), padding=stax.Padding.SAME.name, channel_axis=-1), block,
    stax.repeat(block, 2),
    stax.GlobalSelfAttention(6, 4, 4, 2, attention_mechanism=stax.AttentionMechanism.RELU,
                             pos_emb_type='SUM'),
    stax.FanOut(2), stax.parallel(stax.Dense(3), stax.Identity()),
    stax.FanInConcat(), stax.Dropout(0.9, mode='test'), nt.stax.GlobalAvgPool(),
    stax.Dense(1))
"""
    ours = nk.from_stax(source)
    block = (nk.Dense(8, W_std=1.5, b_std=0.05), nk.Erf())
    expected = nk.serial(nk.Conv(4, (3,), padding="SAME"), arch.Serial(block), nk.repeat(
        arch.Serial(block), 2), nk.GlobalSelfAttention(6, 4, 4, 2, attention_mechanism="RELU",
                                                       pos_emb_type="SUM"),
        nk.FanOut(2), nk.parallel(nk.Dense(3), nk.Identity()), nk.FanInConcat(),
        nk.Dropout(0.9, mode="test"), nk.GlobalAvgPool(), nk.Dense(1))
    assert arch.spec_string(ours.spec) == arch.spec_string(expected.spec)
    x = np.random.default_rng(4).standard_normal((3, 5, 2))
    np.testing.assert_array_equal(ours.kernel(x).ntk, expected.kernel(x).ntk)


@pytest.mark.parametrize("source, name", [
    ("stax.serial(stax.Dense(3, channel_axis=1))", "channel_axis"),
    ("stax.serial(stax.ElementwiseNumerical(fn, deg=25))", "ElementwiseNumerical"),
    ("stax.serial(stax.GlobalSelfAttention(4, 4, 4, 1, pos_emb_decay_fn=lambda d: d))",
     "literals"),
    ("for i in range(3): pass", "statement"),
])
def test_from_stax_refuses_by_name(source, name):
    with pytest.raises(ParameterError, match=name):
        nk.from_stax(source)


@pytest.mark.parametrize("family, count", [
    ("kernels_graph", 24), ("kernels_combinators", 36),
    pytest.param("kernels_attention", 36, marks=pytest.mark.slow),   # ~10 s: many heads
])
def test_quick_validation_checks_pass(family, count):
    """The finite-width ensembles of every new layer family agree with the kernels (each
    comparison's tolerance is 4 standard errors plus the stated O(1/width) bias)."""
    from nnphys import validation
    results = validation.run([family], quick=True)
    assert len(results) == count
    failed = [(c.name, c.quantity) for c in results if not c.passed]
    assert not failed, failed


def test_spec_strings_round_trip_and_dropout_on_inputs():
    layers = [nk.GlobalSelfAttention(4, 3, 2, 2, attention_mechanism="ABS", pos_emb_type="CONCAT",
                                     n_chan_pos_emb=2, b_std=0.1),
              nk.Aggregate(aggregate_axis=(1,), implementation="SPARSE"),
              nk.FanInConcat(axis=1), nk.FanInProd(), nk.Dropout(0.3, mode="test")]
    for layer in layers:
        assert arch.parse_spec(arch.spec_string(layer)).layers[0] == layer
    # dropout on deterministic inputs: E[(x m / r)(x' m' / r)] = x.x' (1 + [same] (1/r - 1))
    x = np.random.default_rng(5).standard_normal((3, 4))
    k = nk.serial(nk.Dropout(0.25), nk.Dense(2, W_std=1.0)).kernel(x, get="nngp")
    gram = x @ x.T / 4
    np.testing.assert_allclose(k, gram + np.diag(np.diag(gram)) * 3.0, rtol=1e-14)


def test_spec_string_refuses_callable_fields():
    from nnphys.errors import ArgumentTypeError
    layer = nk.GlobalSelfAttention(2, 2, 2, 1, pos_emb_type="SUM", pos_emb_decay_fn=np.exp)
    with pytest.raises(ArgumentTypeError, match="pos_emb_decay_fn"):
        arch.spec_string(layer)
