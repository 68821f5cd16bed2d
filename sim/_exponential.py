"""numba kernels of :mod:`nnphys.sim.exponential` (private; pure-numpy references of the same
names in ``tests/naive.py``).

Binary patterns are stored as bit planes: ``planes[i, w]`` holds bit ``i`` of patterns
``64 w .. 64 w + 63`` (1 for ``xi = +1``), so the field of spin ``i`` streams one row of
``K/8`` bytes plus the ``K`` float32 weights ``e^{lam (x_mu - N)}``, ``x_mu = xi^mu .
sigma`` kept as int8 and the weights refreshed from a table of the ``2N + 1`` possible
overlaps at each flip.
"""

from __future__ import annotations

import numpy as np

from .._numba import REASSOCIATE, jit
from ._montecarlo import GLAUBER, ZERO_T
from ._xoshiro import next_u64, uniform

_TIE = 1e-12        # |dS| / S below this is a tie at T = 0 (rounding of the weight sums)
_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_COUNT_BITS = 7     # disagreement counters up to 127 = MAX_N
_WORD_BLOCK = 256   # words of counters kept in L1 (7 x 2 KB)


@jit
def overlaps_from_planes(planes, spins, K):
    """``x_mu = xi^mu . sigma`` (int8) from the bit planes and +-1 ``spins`` (N <= 127):
    ``N - 2 d_mu`` with ``d_mu`` the disagreements, counted bit-sliced: for a block of
    words, ``_COUNT_BITS`` counter planes (bit ``k`` of 64 counters per word) take each
    spin's disagreement word by a ripple-carry add (word-parallel, vectorised over the
    block), then the counters are read out."""
    n = spins.size
    words = (K + 63) >> 6
    x = np.empty(K, np.int8)
    count = np.empty((_COUNT_BITS, _WORD_BLOCK), np.uint64)
    for start in range(0, words, _WORD_BLOCK):
        m = min(_WORD_BLOCK, words - start)
        count[:, :m] = 0
        for i in range(n):
            mask = _ONES if spins[i] > 0 else np.uint64(0)
            row = planes[i]
            for w in range(m):
                carry = row[start + w] ^ mask
                for k in range(_COUNT_BITS):
                    c = count[k, w]
                    count[k, w] = c ^ carry
                    carry &= c
        for w in range(m):
            base = (start + w) << 6
            for b in range(min(64, K - base)):
                d = 0
                for k in range(_COUNT_BITS):
                    d += np.intp((count[k, w] >> np.uint64(b)) & np.uint64(1)) << k
                x[base + b] = np.int8(n - 2 * d)
    return x


@jit(fastmath=REASSOCIATE)
def _flip_weights(row, s_bit, x, wts, wtab, offset, K):
    """A flip of the spin whose bit plane is ``row`` (``s_bit``: its old value's mask):
    ``x_mu += 2`` where the pattern disagreed with it, ``-2`` elsewhere (word by word, the
    64-lane loop vectorised), then each weight read again from the float32 table ``wtab``
    of the ``2N + 1`` overlaps (exact, no drift; a separate loop, so that the gather
    vectorises) and their new total. Re-associated: a sum of positive finite weights."""
    for w in range((K + 63) >> 6):
        bits = row[w] ^ s_bit
        base = w << 6
        for b in range(min(64, K - base)):
            up = np.int8((bits >> np.uint64(b)) & np.uint64(1))
            x[base + b] = np.int8(x[base + b] + 4 * up - 2)
    return _refresh_weights(x, wts, wtab, offset)


@jit(fastmath=REASSOCIATE)
def _refresh_weights(x, wts, wtab, offset):
    """``wts_mu = wtab[x_mu + offset]`` (a vectorised gather from the float32 table) and
    their total in float64. Re-associated: a sum of positive finite weights."""
    total = 0.0
    for mu in range(x.size):
        v = wtab[np.intp(x[mu]) + offset]
        wts[mu] = v
        total += v
    return total


@jit(fastmath=REASSOCIATE)
def _disagreeing(row, wts, s_bit, K):
    """Weight of the patterns disagreeing with spin ``i`` (``row`` its bit plane): full
    64-pattern words in a fixed-length loop (vectorised), the last partial word apart.
    Re-associated: a sum of positive finite weights."""
    dis = 0.0
    full = K >> 6
    for w in range(full):
        bits = row[w] ^ s_bit                        # 1 where the pattern disagrees
        base = w << 6
        acc = np.float32(0.0)
        for b in range(64):
            acc += np.float32((bits >> np.uint64(b)) & np.uint64(1)) * wts[base + b]
        dis += acc
    base = full << 6
    if base < K:
        bits = row[full] ^ s_bit
        for b in range(K - base):
            dis += np.float64((bits >> np.uint64(b)) & np.uint64(1)) * wts[base + b]
    return dis


@jit
def binary_sweeps(planes, x, spins, wtab, lam, beta, dynamics, n_sweeps, rng):
    """Sequential-scan sweeps of the log-sum-exp memory ``E = -(1/lam) ln sum_mu e^{lam x_mu}``.

    A flip of spin ``i`` multiplies the weights of the patterns agreeing with it by
    ``e^{-2 lam}`` and of the others by ``e^{2 lam}``: ``dS = A (e^{-2lam} - 1) + D (e^{2lam}
    - 1)``, ``dE = -(1/lam) ln(1 + dS/S)``. ``ZERO_T``: flip iff ``dS > 1e-12 S``, stop after
    a sweep without flips (as soon as N spins in a row were found stable, reporting the
    sweeps of the plain scan); ``GLAUBER``: heat bath at ``beta``. The weights ``e^{lam (x -
    N)}`` are kept as float32 per pattern (one stream per attempt) and their total ``S``
    in float64, both refreshed at each flip (:func:`_flip_weights`). ``x`` and ``spins`` are
    updated in place; returns ``(sweeps done, flips)``.
    """
    n = spins.size
    K = x.size
    offset = n
    up = np.exp(2.0 * lam) - 1.0
    down = np.exp(-2.0 * lam) - 1.0
    wtab = wtab.astype(np.float32)
    wts = np.empty(K, np.float32)
    total = _refresh_weights(x, wts, wtab, offset)
    flips = 0
    done = 0
    stable = 0          # T = 0: spins found stable in a row since the last flip
    for _ in range(n_sweeps):
        swept = 0
        for i in range(n):
            s_bit = _ONES if spins[i] > 0 else np.uint64(0)
            dis = _disagreeing(planes[i], wts, s_bit, K)
            ds = (total - dis) * down + dis * up
            if dynamics == ZERO_T:
                flip = ds > _TIE * total
            else:
                de = -np.log1p(ds / total) / lam
                z = beta * de
                flip = False if z > 40.0 else uniform(rng) * (1.0 + np.exp(z)) < 1.0
            if flip:
                total = _flip_weights(planes[i], s_bit, x, wts, wtab, offset, K)
                spins[i] = -spins[i]
                swept += 1
                stable = 0
            elif dynamics == ZERO_T:
                stable += 1
                if stable == n:
                    # every spin was found stable with the current weights: a fixed point
                    # (this happens in the sweep after the last flip, so swept == 0). The
                    # plain scan would repeat the same decisions to the end of this sweep
                    # and stop: report what it reports, without the repeated attempts.
                    return done + 1, flips
        flips += swept
        done += 1
        if dynamics == ZERO_T and swept == 0:
            break
    return done, flips


@jit(fastmath=REASSOCIATE)
def softmax_step(patterns, state, lam, out):
    """``out = sum_mu p_mu xi^mu`` with ``p = softmax(lam X state)``, in one pass over the
    ``(K, N)`` table (online softmax: a running maximum rescales the accumulators).
    Returns ``ln sum_mu e^{lam (xi^mu . state)}``. Re-associated: dot products of finite
    entries."""
    K, n = patterns.shape
    for j in range(n):
        out[j] = 0.0
    top = -np.inf
    total = 0.0
    for mu in range(K):
        row = patterns[mu]
        dot = 0.0
        for j in range(n):
            dot += row[j] * state[j]
        z = lam * dot
        if z > top:
            scale = np.exp(top - z)
            total *= scale
            for j in range(n):
                out[j] *= scale
            top = z
        wt = np.exp(z - top)
        total += wt
        for j in range(n):
            out[j] += wt * row[j]
    for j in range(n):
        out[j] /= total
    return top + np.log(total)


@jit
def random_planes(rng, n, K):
    """``(n, ceil(K/64))`` uniformly random bit planes from a xoshiro state."""
    words = (K + 63) >> 6
    planes = np.empty((n, words), np.uint64)
    for i in range(n):
        for w in range(words):
            planes[i, w] = next_u64(rng)
    return planes
