"""Single-hidden-layer ensembles (sim.shallow): numba kernel, laws, conditional moments."""

import itertools
import math

import numpy as np
import pytest

from nnphys.models.shallow import LAWS
from nnphys.sim import _shallow, shallow
from nnphys.theory import kernels as nk


def _reduce_rows_numpy(v, h, scale):
    a = scale * h
    return (v * a).sum(1), (a ** 2).sum(1), (a ** 4).sum(1)


def test_numba_kernel_matches_numpy():
    rng = np.random.default_rng(0)
    v, h = rng.standard_normal((2, 7, 5))
    out = [np.empty(7) for _ in range(3)]
    _shallow.reduce_rows(v, h, 0.3, *out)
    for got, expected in zip(out, _reduce_rows_numpy(v, h, 0.3)):
        np.testing.assert_allclose(got, expected, rtol=1e-14)


@pytest.mark.parametrize("law", list(LAWS))
def test_laws_have_unit_variance_and_their_fourth_moment(law):
    """Mean of w^2 and w^4 over 4e5 draws within 5 standard errors of 1 and m4."""
    w = shallow.draw(np.random.default_rng(1), law, 400_000)
    for k, target in ((2, 1.0), (4, LAWS[law][0])):
        se = np.std(w ** k) / math.sqrt(w.size)
        assert abs(np.mean(w ** k) - target) <= 5 * se + 1e-12


def test_conditional_moments_by_enumeration():
    """Rademacher readout, n = 3: E[f^2 | h] and E[f^4 | h] equal the exact average over
    the 2^4 sign patterns of (v, B) (with an output bias), to roundoff; the sampled output
    is the one the replayed draws give."""
    sample = shallow.sample_outputs(nk.Erf(), 3, 2, W_std=1.3, b_std=0.2,
                                    readout="rademacher", b_out_std=0.7, seed=5)
    rng = np.random.default_rng(5)        # replay the hidden layer of the first network
    u = 1.3 * shallow.draw(rng, "gaussian", (2, 3)) + 0.2 * shallow.draw(rng, "gaussian", (2, 3))
    a = 1.3 / math.sqrt(3) * nk.Erf().fn(u[0])
    v = shallow.draw(rng, "rademacher", (2, 3))
    bias = shallow.draw(rng, "rademacher", 2)
    assert sample.outputs[0] == pytest.approx(0.7 * bias[0] + v[0] @ a, rel=1e-13)
    outs = np.array([0.7 * s[3] + np.dot(s[:3], a)
                     for s in itertools.product((-1, 1), repeat=4)])
    assert sample.cond_m2[0] == pytest.approx(np.mean(outs ** 2), rel=1e-13)
    assert sample.cond_m4[0] == pytest.approx(np.mean(outs ** 4), rel=1e-13)


def test_same_seed_same_outputs_and_chunking():
    a = shallow.sample_outputs(nk.Relu(), 4, 1000, seed=7)
    b = shallow.sample_outputs(nk.Relu(), 4, 1000, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.outputs, b.outputs)
    assert a.outputs.shape == a.cond_m4.shape == (1000,)


@pytest.mark.parametrize("kwargs,name", [
    (dict(width=0), "width"), (dict(n_replicas=1), "n_replicas"),
    (dict(readout="cauchy"), "readout"), (dict(W_std=-1.0), "W_std"),
    (dict(activation=None), "activation")])
def test_bad_input_raises(kwargs, name):
    args = dict(activation=nk.Relu(), width=3, n_replicas=10) | kwargs
    with pytest.raises((ValueError, TypeError), match=name):
        shallow.sample_outputs(**args)
