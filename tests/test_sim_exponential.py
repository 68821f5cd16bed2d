"""Exponential-memory kernels against the brute-force references of tests/naive.py, and the
retrieval simulation's statistics at small sizes."""

import math

import numpy as np
import pytest

from nnphys.errors import ParameterError
from nnphys.models.hebbian import ExponentialMemory
from nnphys.sim import _exponential as _k
from nnphys.sim import _xoshiro
from nnphys.sim import exponential as se
from nnphys.theory.hebbian import modern

from . import naive


def _patterns(K, N, seed):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(K, N))


@pytest.mark.jit_off
@pytest.mark.parametrize("K", [1, 63, 64, 130])
def test_planes_and_overlaps(K):
    x = _patterns(K, 11, K)
    planes = se.pack(x)
    for mu in (0, K - 1):
        assert np.array_equal(se.pattern_spins(planes, mu), x[mu])
    s = _patterns(1, 11, 99)[0]
    assert np.array_equal(_k.overlaps_from_planes(planes, s, K).astype(np.int64),
                          naive.overlaps_from_planes_patterns(x, s))
    rng_a, rng_b = _xoshiro.seed_state(3, 0), naive.seed_state(3, 0)
    assert np.array_equal(_k.random_planes(rng_a, 4, K), naive.random_planes(rng_b, 4, K))


def test_overlaps_at_most_spins_across_counter_blocks():
    # N = 127 fills the 7-bit disagreement counters (the cue disagreeing with every spin of
    # pattern 0); K spans two blocks of counter words and ends in a partial word
    N, K = 127, 64 * 256 + 70
    x = _patterns(K, N, 5)
    s = -x[0]
    got = _k.overlaps_from_planes(se.pack(x), s, K).astype(np.int64)
    assert got[0] == -N
    assert np.array_equal(got, naive.overlaps_from_planes_patterns(x, s))


@pytest.mark.jit_off
@pytest.mark.parametrize("T", [0.0, 0.7])
def test_binary_sweeps_match_brute_force(T):
    K, N, lam = 90, 12, 0.4
    x = _patterns(K, N, 1)
    planes = se.pack(x)
    start = x[0] * np.where(np.arange(N) < 4, -1.0, 1.0)
    seed = _xoshiro.seed_state(7, 0)
    ref, done_ref, flips_ref = naive.binary_sweeps(x, start, lam, 1 / T if T else 0.0, T == 0,
                                                   6, seed.copy())
    sp = start.copy()
    ov = _k.overlaps_from_planes(planes, sp, K)
    w = np.exp(lam * (np.arange(-N, N + 1) - N))
    code = _k.ZERO_T if T == 0 else _k.GLAUBER
    done, flips = _k.binary_sweeps(planes, ov, sp, w, lam, 1 / T if T else 0.0, code, 6,
                                   seed.copy())
    assert np.array_equal(sp, ref) and (done, flips) == (done_ref, flips_ref)
    assert np.array_equal(ov.astype(np.int64), x @ sp)      # overlaps kept in step


@pytest.mark.parametrize("n_sweeps", [1, 2, 3, 8])
def test_zero_temperature_early_stop_reports_the_plain_scan(n_sweeps):
    # the T = 0 kernel stops once N spins in a row are stable; sweeps, flips and spins must
    # be those of the plain scan (naive reference) for descents of every length, capped or not
    K, N, lam = 200, 14, 0.3
    cases = 0
    for seed in range(12):
        x = _patterns(K, N, 100 + seed)
        start = x[0] * np.where(np.random.default_rng(seed).random(N) < 0.35, -1.0, 1.0)
        ref, done_ref, flips_ref = naive.binary_sweeps(x, start, lam, 0.0, True, n_sweeps,
                                                       _xoshiro.seed_state(1, 0))
        sp = start.copy()
        ov = _k.overlaps_from_planes(se.pack(x), sp, K)
        w = np.exp(lam * (np.arange(-N, N + 1) - N))
        got = _k.binary_sweeps(se.pack(x), ov, sp, w, lam, 0.0, _k.ZERO_T, n_sweeps,
                               _xoshiro.seed_state(1, 0))
        assert np.array_equal(sp, ref) and got == (done_ref, flips_ref)
        cases += flips_ref > 0
    assert cases >= 6                                       # most starts descend


@pytest.mark.jit_off
def test_softmax_step_matches_reference_and_theory():
    x = np.random.default_rng(2).standard_normal((300, 9))
    s = np.random.default_rng(3).standard_normal(9)
    out, ref = np.empty(9), np.empty(9)
    lse = _k.softmax_step(x, s, 2.5, out)
    assert lse == pytest.approx(naive.softmax_step(x, s, 2.5, ref), rel=1e-13)
    assert np.allclose(out, ref, rtol=1e-12, atol=1e-14)
    assert np.allclose(out, modern.update(s, x, 2.5), rtol=1e-12, atol=1e-14)


def test_retrieval_probability_limits():
    # far below threshold every cue is retrieved, far above none is (lam = 0.15: alpha_1
    # = 0.2557; at N = 30 the finite-size threshold lies near 0.20)
    lo = se.retrieval_probability(ExponentialMemory(alpha=0.08, lam=0.15), 30, 16, seed=0)
    hi = se.retrieval_probability(ExponentialMemory(alpha=0.4, lam=0.15), 30, 16, seed=0)
    assert lo.probability.mean == 1.0 and lo.converged and lo.overlap.mean == 1.0
    assert hi.probability.mean == 0.0
    # the threshold interpolates the 1/2 crossing
    pts = [lo, se.retrieval_probability(ExponentialMemory(alpha=0.25, lam=0.15), 30, 16), hi]
    t = se.threshold(pts)
    assert lo.alpha < t.mean < hi.alpha and t.stderr >= 0
    # continuous patterns: the softmax retrieval at low load
    sph = se.retrieval_probability(ExponentialMemory(alpha=0.1, lam=0.5, patterns="spherical"),
                                   20, 8, seed=0, flip_fraction=0.2)
    assert sph.probability.mean == 1.0 and sph.converged


def test_bad_input():
    with pytest.raises(ParameterError, match="N"):
        se.random_planes(200, 10)
    with pytest.raises(ParameterError, match="patterns"):
        se.pack(np.zeros((2, 3)))
    with pytest.raises(ParameterError, match="spec"):
        se.retrieval_probability(ExponentialMemory(interaction="polynomial"), 10)
    with pytest.raises(ParameterError, match="lam"):
        se.run_binary(se.random_planes(20, 5), 5, 40.0, 0.0, np.ones(20))
    with pytest.raises(ParameterError, match="spins"):
        se.run_binary(se.random_planes(20, 5), 5, 1.0, 0.0, np.ones(19))


@pytest.mark.jit_off
@pytest.mark.parametrize("T", [0.0, 0.4])
def test_int8_hopfield_kernel_matches_reference(T):
    # the +-1 Hopfield path of sim.montecarlo (int8 table, exact int16 pattern sums)
    from nnphys.sim import _montecarlo as _mk
    rng = np.random.default_rng(4)
    n, k = 24, 5
    x = rng.choice([-1.0, 1.0], size=(k, n))
    xt = np.ascontiguousarray(x.T)
    xwt, selfc = xt / n, (xt ** 2).sum(axis=1) / n
    at = np.zeros((n, 0))
    spins = np.tile(x[0] * np.where(rng.random(n) < 0.3, -1.0, 1.0), (2, 1))
    S = spins @ xt
    states = _xoshiro.seed_states(5, 2)
    code = _mk.ZERO_T if T == 0 else _mk.GLAUBER
    beta = 0.0 if T == 0 else 1 / T
    ref_spins, ref_S, ref_states = spins.copy(), S.copy(), states.copy()
    ref_flips = naive.pairwise_sweeps(xwt, 1.0, xt, selfc, at, ref_spins, ref_S,
                                      np.zeros((2, 0)), ref_states, beta, code, 3, True)
    S_int = np.rint(S).astype(np.int16)
    x8 = xt.astype(np.int8)
    flips = _mk.pairwise_sweeps(x8, 1.0 / n, x8, selfc, at, spins, S_int, np.zeros((2, 0)),
                                states, beta, code, 3, True)
    assert np.array_equal(spins, ref_spins) and np.array_equal(flips, ref_flips)
    assert np.array_equal(S_int, ref_S)
