"""Finite-width preactivation ensembles: the numba reduced sampler against its numpy
reference, exact results for linear networks, reproducibility, explicit matrices.

Statistical comparisons allow 4 combined standard errors (false alarm ~1e-4 each)."""

import math

import numpy as np
import pytest

from nnphys.models import network as arch
from nnphys.sim import _xoshiro
from nnphys.sim import preactivations as pa


def test_gaussian_variates():
    out = np.empty(400_000)
    _xoshiro.fill_normal(_xoshiro.seed_state(3, 7), out)
    n = out.size
    assert abs(out.mean()) < 4 / math.sqrt(n)
    assert abs(out.var() - 1) < 4 * math.sqrt(2 / n)
    assert abs(np.mean(out ** 4) - 3) < 4 * math.sqrt(96 / n)         # Var z^4 = 105 - 9
    assert abs(np.mean(out > 1.0) - 0.15865525) < 4 * math.sqrt(0.134 / n)


def test_reproducible_and_independent_of_batching(monkeypatch):
    b_std = math.sqrt(0.1)
    a = pa.conditional_kernels(arch.Tanh(), 4, 16, 300, 1.0, b_std, 1.0, seed=5)
    monkeypatch.setattr(pa, "_BATCH", 7)
    b = pa.conditional_kernels(arch.Tanh(), 4, 16, 300, 1.0, b_std, 1.0, seed=5)
    assert np.array_equal(a, b)
    c = pa.conditional_kernels(arch.Tanh(), 4, 16, 300, 1.0, b_std, 1.0, seed=6)
    assert not np.array_equal(a, c)


def test_linear_network_is_exact():
    """phi(z) = z, C_W = 1, C_b = 0: S_l = q0 prod chi^2_n / n, so E S = q0 and the
    kurtosis is 3[(1 + 2/n)^(l-1) - 1]."""
    n, depth = 16, 6
    s = pa.conditional_kernels(arch.Identity(), depth, n, 100_000, 1.0, 0.0, 1.3, seed=1)
    m = pa.moments(s)
    assert np.all(np.abs(m.mean - 1.3) <= 4 * m.stderr + 1e-10)       # + summation roundoff
    kappa = pa.kurtosis(s)
    exact = 3 * ((1 + 2 / n) ** np.arange(depth) - 1)
    assert np.all(np.abs(kappa.mean - exact) <= 4 * kappa.stderr + 1e-10)


@pytest.mark.parametrize("q0", [0.8, np.array([[1.0, 0.4], [0.4, 0.7]])])
def test_numba_sampler_matches_numpy_reference(q0):
    kw = dict(depth=5, width=24, n_replicas=40_000, W_std=math.sqrt(1.7), b_std=math.sqrt(0.1),
              q0=q0)
    fast = pa.conditional_kernels(arch.Relu(), seed=1, **kw)
    slow = pa.conditional_kernels(lambda z: np.maximum(z, 0.0), seed=2, **kw)
    for s in (fast, slow):
        assert np.all(np.isfinite(s))
    m1, m2 = fast.mean(0), slow.mean(0)
    se = np.sqrt(fast.var(0) / len(fast) + slow.var(0) / len(slow))
    assert np.all(np.abs(m1 - m2) <= 4 * se + 1e-15)
    if np.ndim(q0) == 0:
        k1, k2 = pa.kurtosis(fast), pa.kurtosis(slow)
        assert np.all(np.abs(k1.mean - k2.mean) <= 4 * np.hypot(k1.stderr, k2.stderr) + 1e-15)


def test_full_gaussian_ensemble_matches_reduced_sampler():
    """Explicit Gaussian matrices and the reduced sampler describe the same networks."""
    n, depth = 16, 4
    x = np.ones((1, n))
    ens = pa.full_ensemble(arch.Tanh(), x, depth, n, 6000, math.sqrt(1.2), 0.0, seed=3)
    red = pa.conditional_kernels(arch.Tanh(), depth, n, 60_000, math.sqrt(1.2), 0.0, 1.2,
                                 seed=4)
    second = ens.kernels[:, :, 0, 0]
    se = np.sqrt(second.var(0) / len(second) + red.var(0) / len(red))
    assert np.all(np.abs(second.mean(0) - red.mean(0)) <= 4 * se + 1e-15)
    k_full, k_red = pa.sample_kurtosis(ens), pa.kurtosis(red)
    assert np.all(np.abs(k_full.mean - k_red.mean) <= 4 * np.hypot(k_full.stderr, k_red.stderr))


def test_orthogonal_first_layer_is_uniform_on_the_sphere():
    """z = sqrt(n) Q x / |x| * |x|/sqrt(n): kurtosis of one coordinate of a uniform
    point on the sphere S^(n-1) is -6/(n+2)."""
    n = 20
    ens = pa.full_ensemble(arch.Tanh(), np.ones((1, n)), 1, n, 20_000, 1.0, 0.0,
                           weights="orthogonal", seed=0)
    assert np.allclose(ens.kernels[:, 0, 0, 0], 1.0, rtol=1e-12)     # |z|^2 = n exactly
    kappa = pa.sample_kurtosis(ens)[0]
    assert abs(kappa.mean + 6 / (n + 2)) <= 4 * kappa.stderr


def test_bad_input():
    with pytest.raises(ValueError, match="width"):
        pa.conditional_kernels(arch.Relu(), 3, 0, 10, math.sqrt(2.0), 0.0)
    with pytest.raises(ValueError, match="q0"):
        pa.conditional_kernels(arch.Relu(), 3, 4, 10, math.sqrt(2.0), 0.0,
                               np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="weights"):
        pa.full_ensemble(arch.Relu(), np.ones((1, 3)), 2, 4, 2, math.sqrt(2.0), 0.0,
                         weights="cauchy")
    with pytest.raises(TypeError, match="activation"):
        pa.conditional_kernels(3.0, 3, 4, 10, math.sqrt(2.0), 0.0)
