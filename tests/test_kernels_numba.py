"""Every numba kernel of ``nnphys.sim`` against its plain reference of the same name in
``tests/naive.py``, at small sizes.

The random streams are the same (the references replay xoshiro256** in Python integers), so
integer results (spins, flips, generator states) agree exactly and floating-point results to
rounding: ``rtol = 1e-12`` covers the ~1e-15 relative error of a sum of a few hundred terms
evaluated in another order (numpy's pairwise/BLAS sums, libm against numpy ``tanh``), with
room. The tests marked ``jit_off`` also run with ``NUMBA_DISABLE_JIT=1`` (``.ci/run``), so
the kernels' bodies are covered as Python.
"""

import math

import numpy as np
import pytest
from scipy import stats

from nnphys.models import network
from nnphys.sim import _kernels, _montecarlo, _ntk_ensemble, _preactivations, _rnn, _shallow
from nnphys.sim import _xoshiro
from nnphys.sim._activations import lower

from . import naive

RTOL = 1e-12
N_SE = 4.0       # statistical tolerance, in standard errors


# --------------------------------------------------------------------------- random numbers

@pytest.mark.jit_off
@pytest.mark.parametrize("seed,stream", [(0, 0), (1, 0), (0, 1), (12345, 678),
                                         (2 ** 63 - 5, 2 ** 40)])
def test_seed_state_and_draws_match_the_python_generator(seed, stream):
    state = _xoshiro.seed_state(seed, stream)
    np.testing.assert_array_equal(state, naive.seed_state(seed, stream))
    ref = state.copy()
    for _ in range(8):
        assert int(_xoshiro.next_u64(state)) == naive.next_u64(ref)
    for _ in range(8):
        assert _xoshiro.uniform(state) == naive.uniform(ref)
    np.testing.assert_array_equal(state, ref)


@pytest.mark.jit_off
def test_splitmix_and_seed_states():
    for x in (0, 1, 2 ** 64 - 1, 0x0123456789ABCDEF):
        counter, out = _xoshiro.splitmix(np.uint64(x))
        assert (int(counter), int(out)) == naive.splitmix(x)
    np.testing.assert_array_equal(_xoshiro.seed_states(7, 5), naive.seed_states(7, 5))


@pytest.mark.jit_off
def test_normals_match_the_python_ziggurat():
    """20 000 variates: the rectangle, ~240 wedge tests and (with probability 0.99) a few
    tail draws beyond r = 3.654 take the same branches and draws in both."""
    state = _xoshiro.seed_state(3, 1)
    ref = state.copy()
    out, expected = np.empty(20_000), np.empty(20_000)
    _xoshiro.fill_normal(state, out)
    naive.fill_normal(ref, expected)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(state, ref)


def test_uniform_is_on_the_open_interval():
    """The extreme 53-bit words map to 2^-54 and 1 - 2^-54, never 0 or 1."""
    for word, value in ((0, 2.0 ** -54), (2 ** 64 - 1, 1.0 - 2.0 ** -54)):
        state = np.zeros(4, dtype=np.uint64)
        # a state whose next output is `word`: solve xoshiro256**'s output for s[1]
        s1 = (pow(9, -1, 2 ** 64) * word) % 2 ** 64
        s1 = ((s1 >> 7) | (s1 << 57)) % 2 ** 64
        state[1] = np.uint64((pow(5, -1, 2 ** 64) * s1) % 2 ** 64)
        assert _xoshiro.uniform(state.copy()) == value == naive.uniform(state.copy())


def test_ziggurat_tables():
    """r of the 256-layer normal ziggurat is 3.6541528853610088 (Marsaglia & Tsang 2000,
    J. Stat. Softw. 5(8)); all layers have the area of the base strip plus the tail."""
    x, f = _xoshiro.ZIG_X, _xoshiro.ZIG_F
    assert abs(_xoshiro.ZIG_R - 3.6541528853610088) < 1e-12
    area = x[1] * f[1] + math.sqrt(math.pi / 2) * math.erfc(x[1] / math.sqrt(2))
    np.testing.assert_allclose(x[0] * f[1], area, rtol=1e-14)
    layers = x[1:-1] * (f[2:] - f[1:-1])
    np.testing.assert_allclose(layers, area, rtol=1e-9)


def test_normals_distribution():
    """Moments, KS and the tail frequency of 2e6 variates, each within 4 standard errors
    (the KS p-value above 1e-4)."""
    n = 2_000_000
    z = np.empty(n)
    _xoshiro.fill_normal(_xoshiro.seed_state(12345, 0), z)
    se = 1 / math.sqrt(n)
    assert abs(z.mean()) < N_SE * se
    assert abs(z.var() - 1) < N_SE * math.sqrt(2) * se
    assert abs(np.mean(z ** 4) - 3) < N_SE * math.sqrt(96) * se          # Var z^4 = 105 - 9
    assert stats.kstest(z, "norm").pvalue > 1e-4
    # the tail sampler (beyond r = 3.654): frequency of |z| > 3.8 against 2 Phi(-3.8)
    p = math.erfc(3.8 / math.sqrt(2))
    count = np.count_nonzero(np.abs(z) > 3.8)
    assert abs(count - n * p) < N_SE * math.sqrt(n * p)


def test_streams_reproducible_and_distinct():
    def draws(seed, stream):
        out = np.empty(100)
        _xoshiro.fill_normal(_xoshiro.seed_state(seed, stream), out)
        return out
    a = draws(7, 3)
    np.testing.assert_array_equal(a, draws(7, 3))
    assert not np.allclose(a, draws(7, 4))
    assert not np.allclose(a, draws(8, 3))
    np.testing.assert_array_equal(_xoshiro.seed_states(7, 5)[3], _xoshiro.seed_state(7, 3))


# --------------------------------------------------------------------------- preactivations

@pytest.mark.jit_off
def test_cholesky():
    a = np.array([[2.0, 0.6, -0.3], [0.6, 1.5, 0.2], [-0.3, 0.2, 1.1]])
    out, ref = np.empty((3, 3)), np.empty((3, 3))
    _preactivations.cholesky(a, out)
    naive.cholesky(a, ref)
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=1e-15)


@pytest.mark.jit_off
@pytest.mark.parametrize("layer", [network.Erf(a=1.2, b=0.8, c=0.1), network.Relu(),
                                   network.Tanh()], ids=repr)
def test_reduced_ensemble(layer):
    kernel0 = np.array([[1.3, 0.4], [0.4, 0.9]])
    code, params = lower(layer)
    out, ref = np.empty((3, 4, 2, 2)), np.empty((3, 4, 2, 2))
    _preactivations.reduced_ensemble(5, 2, out, kernel0, 6, 1.7, 0.1, code, params)
    naive.reduced_ensemble(5, 2, ref, kernel0, 6, 1.7, 0.1, layer.fn)
    np.testing.assert_allclose(out, ref, rtol=RTOL)


@pytest.mark.jit_off
@pytest.mark.parametrize("width", [5, 6])
def test_reduced_ensemble_single(width):
    layer = network.Erf(a=1.2, b=0.8, c=0.1)
    code, params = lower(layer)
    out, ref = np.empty((3, 4)), np.empty((3, 4))
    _preactivations.reduced_ensemble_single(5, 2, out, 1.3, width, 1.7, 0.1, code, params)
    naive.reduced_ensemble_single(5, 2, ref, 1.3, width, 1.7, 0.1, layer.fn)
    np.testing.assert_allclose(out, ref, rtol=RTOL)
    matrix = np.empty((3, 4, 1, 1))          # the same draws as the matrix kernel at m = 1
    _preactivations.reduced_ensemble(5, 2, matrix, np.array([[1.3]]), width, 1.7, 0.1, code,
                                     params)
    np.testing.assert_array_equal(out, matrix[..., 0, 0])


# --------------------------------------------------------------------------- NTK ensemble

@pytest.mark.jit_off
def test_relu_ntk_diagonal():
    widths = np.array([3, 5, 4, 6])
    depths = np.array([1, 2, 4])
    x = np.array([0.4, -0.9, 1.3])
    out_k, out_f = np.empty((2, 3)), np.empty((2, 3))
    ref_k, ref_f = np.empty((2, 3)), np.empty((2, 3))
    _ntk_ensemble.relu_ntk_diagonal(11, 1, x, widths, depths, 2.0, 0.3, out_k, out_f)
    naive.relu_ntk_diagonal(11, 1, x, widths, depths, 2.0, 0.3, ref_k, ref_f)
    np.testing.assert_allclose(out_k, ref_k, rtol=RTOL)
    np.testing.assert_allclose(out_f, ref_f, rtol=RTOL, atol=1e-14)


# --------------------------------------------------------------------------- dense networks

@pytest.mark.jit_off
def test_network_kernels():
    rng = np.random.default_rng(0)
    theta, hh, gg = (rng.standard_normal((3, 4)) for _ in range(3))
    expected = naive.accumulate_layer(theta, hh, gg, 0.3, 0.2)
    _kernels.accumulate_layer(theta, hh, gg, 0.3, 0.2)
    np.testing.assert_allclose(theta, expected, rtol=RTOL)
    g, d = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    expected = naive.multiply_inplace(g, d)
    _kernels.multiply_inplace(g, d)
    np.testing.assert_array_equal(g, expected)


@pytest.mark.jit_off
def test_reduce_rows():
    rng = np.random.default_rng(1)
    v, h = rng.standard_normal((4, 7)), rng.standard_normal((4, 7))
    got = [np.empty(4) for _ in range(3)]
    ref = [np.empty(4) for _ in range(3)]
    _shallow.reduce_rows(v, h, 0.7, *got)
    naive.reduce_rows(v, h, 0.7, *ref)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=RTOL)


# --------------------------------------------------------------------------- recurrent nets

@pytest.mark.jit_off
def test_rnn_kernels():
    rng = np.random.default_rng(2)
    x, slope, field, k2, k3, k4 = (rng.standard_normal((5, 3)) for _ in range(6))
    pairs = [(np.empty((5, 3)), np.empty((5, 3))) for _ in range(2)]
    _rnn.tanh_into(x, pairs[0][0])
    naive.tanh_into(x, pairs[0][1])
    np.testing.assert_allclose(*pairs[0], rtol=RTOL)
    a, b = [np.empty((5, 3)) for _ in range(4)], [np.empty((5, 3)) for _ in range(4)]
    _rnn.stage(x, slope, 0.1, a[0], a[1])
    naive.stage(x, slope, 0.1, b[0], b[1])
    _rnn.derivative(x, field, a[2])
    naive.derivative(x, field, b[2])
    for u, v in zip(a[:3], b[:3]):
        np.testing.assert_allclose(u, v, rtol=RTOL, atol=1e-15)
    y, z = x.copy(), x.copy()
    _rnn.rk4_combine(y, slope, k2, k3, k4, 0.05)
    naive.rk4_combine(z, slope, k2, k3, k4, 0.05)
    np.testing.assert_allclose(y, z, rtol=RTOL)
    y, z = x.copy(), x.copy()
    _rnn.euler_update(y, field, 0.05, a[0])
    naive.euler_update(z, field, 0.05, b[0])
    np.testing.assert_allclose(y, z, rtol=RTOL)
    np.testing.assert_allclose(a[0], b[0], rtol=RTOL)
    u, sx, su = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    got = [np.empty(5), np.empty(5), np.empty((5, 2))]
    ref = [np.empty(5), np.empty(5), np.empty((5, 2))]
    _rnn.tangent_stage(x[:, 0].copy(), u, sx, su, 0.1, *got)
    naive.tangent_stage(x[:, 0].copy(), u, sx, su, 0.1, *ref)
    for p, q in zip(got, ref):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)
    a = rng.standard_normal(1000)
    assert _rnn.stream_sum(a) == pytest.approx(naive.stream_sum(a), rel=RTOL, abs=1e-12)


# --------------------------------------------------------------------------- Monte Carlo

@pytest.mark.jit_off
def test_elementary_from_power():
    v = np.array([0.3, -1.2, 0.7, 1.1, -0.4])
    p = np.array([np.sum(v ** j) for j in range(6)])
    brute = naive.elementary_symmetric(v, 5)
    for order in range(6):
        e, ref = np.zeros(6), np.zeros(6)
        got = _montecarlo.elementary_from_power(p, order, e)
        assert got == pytest.approx(naive.elementary_from_power(p, order, ref), rel=RTOL,
                                    abs=1e-13)
        assert got == pytest.approx(brute[order], rel=RTOL, abs=1e-13)


def _states(n_chains):
    return naive.seed_states(9, n_chains)


DYNAMICS = [(_montecarlo.GLAUBER, 1.4), (_montecarlo.METROPOLIS, 2.0),
            (_montecarlo.ZERO_T, 0.0)]


def _assert_same_sweeps(flips, expected, mine, ref):
    """Compiled and reference sweeps agree: flips, spins and generator states exactly, the
    running fields to rounding."""
    assert expected.sum() > 0                      # the sweeps did flip spins
    np.testing.assert_array_equal(flips, expected)
    np.testing.assert_array_equal(mine[0], ref[0])
    np.testing.assert_array_equal(mine[3], ref[3])
    np.testing.assert_allclose(mine[1], ref[1], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(mine[2], ref[2], rtol=RTOL, atol=1e-12)


@pytest.mark.jit_off
@pytest.mark.parametrize("table", ["float64", "int8-float32", "int8-int16"])
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("dynamics,beta", DYNAMICS)
def test_pairwise_sweeps(dynamics, beta, shuffle, parallel, table):
    rng = np.random.default_rng(4)
    n, k, n_chains = 9, 3, 2
    xt = rng.choice([-1.0, 1.0], size=(n, k))
    scale = 1.0 / n
    at = rng.choice([-1.0, 1.0], size=(n, 2))
    spins = rng.choice([-1.0, 1.0], size=(n_chains, n))
    if table == "float64":      # weighted float table, float64 sums
        w = np.array([1.0, 0.5, 0.8])
        args = [xt * (w * scale), 1.0, xt, (xt ** 2) @ w * scale, at]
        sums = spins @ xt
    else:                       # +-1 int8 table, exact integer sums, the weight in coef
        x8 = xt.astype(np.int8)
        args = [x8, 0.7 * scale, x8, np.full(n, 0.7 * k * scale), at]
        sums = (spins @ xt).astype(table.split("-")[1])
    mine = [spins.copy(), sums.copy(), spins @ at, _states(n_chains)]
    ref = [spins.copy(), sums.copy(), spins @ at, _states(n_chains)]
    kernel = _montecarlo.pairwise_sweeps_parallel if parallel else _montecarlo.pairwise_sweeps
    flips = kernel(*args, *mine, beta, dynamics, 3, shuffle)
    expected = naive.pairwise_sweeps(*args, *ref, beta, dynamics, 3, shuffle)
    _assert_same_sweeps(flips, expected, mine, ref)


@pytest.mark.jit_off
@pytest.mark.parametrize("P", [3, 4, 5])
def test_elementary_table_matches_brute_force(P):
    n = 7
    table = _montecarlo.elementary_table(n, P)
    for t, s in enumerate(range(1 - n, n)):
        if (s + n - 1) % 2:                    # N - 1 values +-1 cannot sum to s
            continue
        ups = (s + n - 1) // 2
        v = np.array([1.0] * ups + [-1.0] * (n - 1 - ups))
        assert table[t] == pytest.approx(naive.elementary_symmetric(v, P - 1)[P - 1],
                                         rel=RTOL, abs=1e-12)


@pytest.mark.jit_off
@pytest.mark.parametrize("memories", ["real", "pm1"])
@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("form", [_montecarlo.DISTINCT, _montecarlo.POWER])
@pytest.mark.parametrize("P", [3, 4])
@pytest.mark.parametrize("dynamics,beta", DYNAMICS)
def test_dense_sweeps(dynamics, beta, P, form, parallel, memories):
    rng = np.random.default_rng(5)
    n, k, n_chains = 8, 2, 2
    if memories == "real":
        xt = rng.standard_normal((n, k))                  # real patterns: no exact ties
        etab = np.zeros(0)
    else:                                                 # +-1: the e_{P-1} lookup table
        xt = rng.choice([-1.0, 1.0], size=(n, k))
        etab = _montecarlo.elementary_table(n, P) if form == _montecarlo.DISTINCT \
            else np.zeros(0)
    w = np.array([1.0, 0.6])
    scale = 1.0 / n ** (P - 1)
    even = np.zeros((k, P + 1))
    for j in range(0, P + 1, 2):
        even[:, j] = (xt ** j).sum(axis=0)
    at = rng.choice([-1.0, 1.0], size=(n, 1))
    spins = rng.choice([-1.0, 1.0], size=(n_chains, n))
    odd = np.stack([spins @ xt ** (2 * l + 1) for l in range(P // 2)], axis=-1)
    mine = [spins.copy(), odd.copy(), spins @ at, _states(n_chains)]
    ref = [spins.copy(), odd.copy(), spins @ at, _states(n_chains)]
    kernel = _montecarlo.dense_sweeps_parallel if parallel else _montecarlo.dense_sweeps
    flips = kernel(xt, w, even, at, *mine, beta, dynamics, 2, P, form, scale, True, etab)
    expected = naive.dense_sweeps(xt, w, even, at, *ref, beta, dynamics, 2, P, form, scale,
                                  True)
    _assert_same_sweeps(flips, expected, mine, ref)


# --------------------------------------------------------------------------- PLRF SGD

@pytest.mark.jit_off
def test_plrf_raw_kernels():
    from nnphys.sim.regression import _plrf
    rng = np.random.default_rng(6)
    n_seeds, batch, v, d = 2, 3, 5, 4
    sqrt_d, b = rng.uniform(0.2, 1.0, v), rng.standard_normal(v)
    states, ref_states = naive.seed_states(2, n_seeds), naive.seed_states(2, n_seeds)
    X, y = np.empty((n_seeds * batch, v)), np.empty(n_seeds * batch)
    X_ref, y_ref = np.empty_like(X), np.empty_like(y)
    _plrf.draw_raw(states, sqrt_d, b, batch, X, y)
    naive.draw_raw(ref_states, sqrt_d, b, batch, X_ref, y_ref)
    np.testing.assert_array_equal(X, X_ref)
    np.testing.assert_allclose(y, y_ref, rtol=RTOL, atol=1e-14)
    np.testing.assert_array_equal(states, ref_states)
    W = rng.standard_normal((v, d))
    phi, phi_ref = np.empty((n_seeds * batch, d)), np.empty((n_seeds * batch, d))
    _plrf.small_product(X, W, phi)
    naive.small_product(X, W, phi_ref)
    np.testing.assert_allclose(phi, phi_ref, rtol=RTOL, atol=1e-14)
    theta = rng.standard_normal((n_seeds, d))
    ref = theta.copy()
    _plrf.update_raw(theta, phi, y, 0.05, batch)
    naive.update_raw(ref, phi, y, 0.05, batch)
    np.testing.assert_allclose(theta, ref, rtol=RTOL, atol=1e-14)


@pytest.mark.jit_off
@pytest.mark.parametrize("batch", [1, 3])
def test_plrf_spectral_sgd(batch):
    from nnphys.sim.regression import _plrf
    rng = np.random.default_rng(7)
    d, n_seeds = 6, 2
    lam, e0 = np.sort(rng.uniform(0.1, 1.0, d))[::-1].copy(), rng.standard_normal(d)
    record = np.array([0, 1, 2, 5, 9])
    out, ref = np.empty((n_seeds, record.size)), np.empty((n_seeds, record.size))
    div, div_ref = np.empty(n_seeds, np.int64), np.empty(n_seeds, np.int64)
    _plrf.spectral_sgd(naive.seed_states(4, n_seeds), e0, lam, 0.3, 0.1, batch, record,
                       1e30, out, div)
    naive.spectral_sgd(naive.seed_states(4, n_seeds), e0, lam, 0.3, 0.1, batch, record,
                       1e30, ref, div_ref)
    np.testing.assert_allclose(out, ref, rtol=RTOL)
    np.testing.assert_array_equal(div, div_ref)
    np.testing.assert_array_equal(div, -1)
