"""NTK fluctuations of deep ReLU networks: exact moments vs independent methods.

References: the kernel library's infinite-width NTK (E[K] is width-independent); a direct
computation for one hidden layer; sympy/numpy exact enumeration at tiny widths; the numpy
empirical NTK of :mod:`nnphys.sim.networks` for the numba ensemble; Monte Carlo with
tolerances of 4-5 standard errors.
"""

import math

import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.sim import networks as sn
from nnphys.sim import ntk_ensemble as ne
from nnphys.theory import kernels as nk
from nnphys.theory import ntk_fluctuations as nf


def _spec(depth, cw=2.0):
    layers = []
    for _ in range(depth - 1):
        layers += [nk.Dense(8, W_std=math.sqrt(cw)), nk.Relu()]
    return nk.serial(*layers, nk.Dense(1, W_std=math.sqrt(cw)))


@pytest.mark.parametrize("depth,cw", [(1, 2.0), (2, 2.0), (4, 2.0), (7, 2.0), (5, 1.5)])
def test_mean_equals_kernel_library_ntk(depth, cw):
    x = np.array([[0.3, -1.2, 0.7]])
    theta = _spec(depth, cw).kernel(x, get=("nngp", "ntk")).ntk[0, 0]
    for widths in ([3] * (depth - 1), [64] * (depth - 1), list(range(2, depth + 1))):
        m = nf.ntk_moments(widths, 3, x_norm2=float((x @ x.T)[0, 0]),
                           W_std=math.sqrt(cw))
        assert m.mean == pytest.approx(theta, rel=1e-12)
    limit = nf.infinite_width_ntk(depth, 3, float((x @ x.T)[0, 0]), math.sqrt(cw))
    assert limit == pytest.approx(theta, rel=1e-12)


@pytest.mark.parametrize("n", [1, 2, 5, 32, 256])
def test_one_hidden_layer_direct(n):
    # K = c0 c1 |x|^2 sum_i 1{g_i > 0} (w_i^2 + g_i^2): E xi = 1, E xi^2 = 4 per neuron
    m = nf.ntk_moments([n], 4)
    assert m.ratio == pytest.approx(1 + 3 / n, rel=1e-13)
    assert nf.ntk_moments([], 4).normalized_variance == pytest.approx(0.0, abs=1e-14)


def test_tiny_width_monte_carlo_numpy():
    # independent numpy simulation (not the numba kernel), widths (2, 3), depth 3, x in R^2
    rng = np.random.default_rng(5)
    n_samples, n0, widths = 400_000, 2, (2, 3)
    x = np.array([0.6, -1.1])
    w1 = rng.standard_normal((n_samples, widths[0], n0))
    w2 = rng.standard_normal((n_samples, widths[1], widths[0]))
    w3 = rng.standard_normal((n_samples, widths[1]))
    c0, c1, c2 = 2 / n0, 2 / widths[0], 2 / widths[1]
    z1 = math.sqrt(c0) * w1 @ x
    a1 = np.maximum(z1, 0)
    z2 = math.sqrt(c1) * np.einsum("sij,sj->si", w2, a1)
    a2 = np.maximum(z2, 0)
    d2 = math.sqrt(c2) * w3 * (z2 > 0)
    d1 = math.sqrt(c1) * np.einsum("sij,si->sj", w2, d2) * (z1 > 0)
    lam = 0.7
    k = (c0 * (x @ x) * (d1 ** 2).sum(1) + c1 * (a1 ** 2).sum(1) * (d2 ** 2).sum(1)
         + c2 * (a2 ** 2).sum(1) + lam * ((d1 ** 2).sum(1) + (d2 ** 2).sum(1) + 1.0))
    m = nf.ntk_moments(widths, n0, x_norm2=float(x @ x), bias_lr=lam)
    se1 = k.std() / math.sqrt(n_samples)
    se2 = (k * k).std() / math.sqrt(n_samples)
    assert abs(k.mean() - m.mean) < 5 * se1
    assert abs((k * k).mean() - m.second_moment) < 5 * se2


def test_numba_ensemble_matches_numpy_empirical_ntk():
    widths, n0 = (5, 7, 4), 3
    x = np.array([0.4, -0.9, 1.3])
    ens = ne.relu_ntk_ensemble(widths, x, 3, seed=11, depths=[4])
    # the same weights in numpy: replay the stream through the kernel's own generator
    from nnphys.sim._xoshiro import fill_normal, seed_state
    sizes = [widths[0] * n0, widths[1] * widths[0], widths[2] * widths[1], widths[2]]
    for i in range(3):
        buf = np.empty(sum(sizes))
        fill_normal(seed_state(11, i), buf)
        parts = np.split(buf, np.cumsum(sizes)[:-1])
        dims = [n0, *widths, 1]
        params, layers = [], []
        for l, p in enumerate(parts):
            w = p.reshape(dims[l + 1], dims[l]).T            # (fan_in, fan_out)
            params.append((w, None))
            layers.append(nk.Dense(dims[l + 1], W_std=math.sqrt(2.0)))
            if l < 3:
                params.append(None)
                layers.append(nk.Relu())
        f, _, theta = sn.ntk_of_sample(layers, params, x[None])
        assert ens.f[i, 0] == pytest.approx(f[0, 0], rel=1e-12, abs=1e-14)
        assert ens.K[i, 0] == pytest.approx(theta[0, 0], rel=1e-12)


def test_ensemble_reproducible_and_truncation_consistent():
    x = np.ones(4)
    a = ne.relu_ntk_ensemble([6, 6, 6], x, 50, seed=3, depths=[2, 4])
    b = ne.relu_ntk_ensemble([6, 6, 6], x, 50, seed=3, depths=[2, 4])
    np.testing.assert_array_equal(a.K, b.K)
    assert a.K.shape == (50, 2) and np.all(a.K >= 0)


def test_ensemble_mean_and_ratio_vs_theory():
    x = np.ones(5)
    n, depths = 16, (2, 4)
    ens = ne.relu_ntk_ensemble([n] * 3, x, 40_000, seed=2, depths=depths)
    for j, d in enumerate(depths):
        m = nf.ntk_moments([n] * (d - 1), 5)
        st = ne.ratio_statistics(ens.K[:, j])
        assert abs(st.mean.mean - m.mean) < 4 * st.mean.stderr
        assert abs(st.ratio.mean - m.ratio) < 4 * st.ratio.stderr


def test_small_beta_slope_and_law():
    v = nf.ntk_moments([10 ** 7] * 400, 1).normalized_variance
    assert v / (400 / 1e7) == pytest.approx(nf.small_beta_slope(), rel=5e-3)
    # exponential rate 5 at large depth: ratio of successive layers -> 1 + 5/n growth
    n = 64
    r = nf.normalized_variance(n, [150, 151]) + 1
    assert r[1] / r[0] == pytest.approx(1 + 5 / n, rel=2e-3)
    assert nf.hanin_nica_ratio(0.0) == 1.0


def test_bad_input():
    with pytest.raises(ParameterError):
        nf.ntk_moments([0, 3], 2)
    with pytest.raises(ParameterError):
        nf.ntk_moments([3], 0)
    with pytest.raises(ParameterError):
        nf.ntk_moments([3], 2, W_std=-1)
    with pytest.raises(ValueError):
        ne.relu_ntk_ensemble([3], np.ones(2), 10, depths=[5])
    with pytest.raises(ValueError):
        ne.relu_ntk_ensemble([3], np.ones((2, 2)), 10)


@pytest.mark.slow
@pytest.mark.parametrize("n,depths,n_networks", [(32, (5, 10), 60_000), (64, (10, 20), 15_000)])
def test_slow_ratio_vs_theory(n, depths, n_networks):
    x = np.ones(10)
    ens = ne.relu_ntk_ensemble([n] * (max(depths) - 1), x, n_networks, seed=9, depths=depths)
    for j, d in enumerate(depths):
        m = nf.ntk_moments([n] * (d - 1), 10)
        ratio = ne.ratio_statistics(ens.K[:, j]).ratio
        assert abs(ratio.mean - m.ratio) < 4 * ratio.stderr


def test_ntk_ensemble_overflow_is_an_error_naming_x():
    """Issue 12 census: an input entry of 1e300 overflowed the compiled NTK to inf, which was
    returned silently; now a NumericalError names x and W_std."""
    from nnphys.errors import NumericalError
    from nnphys.sim import ntk_ensemble
    with pytest.raises(NumericalError, match="x, W_std"):
        ntk_ensemble.relu_ntk_ensemble((4, 6), np.array([1.0, 1e300, 1.0]), 2)
