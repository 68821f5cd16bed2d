"""numba kernels of :mod:`nnphys.sim.montecarlo` (private; pure-numpy references of the
same names in ``tests/naive.py``).

Every chain owns a xoshiro256** state (``uint64[4]``) of :mod:`nnphys.sim._xoshiro` and draws
its uniforms with its ``uniform``, so results depend only on the seed, not on how chains are
spread over threads. Local fields come from the pattern
sums ``S^mu_j = sum_i (x^mu_i)^j sigma_i`` (odd ``j``), never from a coupling tensor.
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import REASSOCIATE, inline_jit, jit, parallel_jit
from ._xoshiro import uniform

GLAUBER, METROPOLIS, ZERO_T = 0, 1, 2
_TIE = 1e-12        # |dE| below this is a tie at T = 0 (rounding of the pattern sums)
DISTINCT, POWER = 0, 1


@jit
def permute(order, s):
    """Fisher-Yates shuffle of ``order`` in place (each sweep shuffles 0..N-1 afresh, so
    the chain does not depend on how sweeps are grouped between records). ``min`` guards
    the product ``u (k + 1)``, ``u < 1``, against rounding up to ``k + 1``."""
    for k in range(order.size - 1, 0, -1):
        j = min(int(uniform(s) * (k + 1)), k)
        order[k], order[j] = order[j], order[k]


@inline_jit
def accept(delta_e, beta, dynamics, s):
    """Flip decision for an energy change ``delta_e`` at inverse temperature ``beta``."""
    if dynamics == ZERO_T:
        return delta_e < -_TIE          # exact ties (dE = 0 up to rounding) do not flip
    x = beta * delta_e
    if dynamics == METROPOLIS:          # always one draw, so ties cannot desynchronise
        return uniform(s) < np.exp(-x)
    if x > 40.0:                                         # heat bath 1/(1 + e^x) < 4e-18
        return False
    return uniform(s) * (1.0 + np.exp(x)) < 1.0


@jit(fastmath=REASSOCIATE)
def _dot(a, b):
    """sum_k a_k b_k, re-associated so that LLVM vectorises it (the hot loop; the terms
    are finite pattern entries times pattern sums, and NaN/inf semantics are kept)."""
    h = 0.0
    for k in range(a.size):
        h += a[k] * b[k]
    return h


def _pairwise_sweeps(xt, xwt, selfc, at, spins, S, SA, rng, beta, dynamics,
                     n_sweeps, shuffle):
    """``n_sweeps`` sweeps of every chain (chains in parallel) for pairwise couplings.

    ``xt`` (N, K): memories, transposed; ``xwt = xt * w / N``; ``selfc_i = sum_mu w x_i^2/N``
    (the removed diagonal); ``at`` (N, A): archetypes, transposed. Local field
    ``h_i = xwt[i] . S - selfc_i sigma_i`` (K multiply-adds), ``dE = 2 sigma_i h_i``; a flip
    updates ``S += 2 sigma_new xt[i]`` and ``SA += 2 sigma_new at[i]``.
    Sites are visited in the order 0..N-1 (systematic scan) or, with ``shuffle``, in a
    fresh random permutation each sweep. Returns the number of flips of each chain.
    """
    n_chains, n = spins.shape
    k = xt.shape[1]
    n_arch = at.shape[1]
    flips = np.zeros(n_chains, np.int64)
    for c in numba.prange(n_chains):
        order = np.arange(n)
        # thread-local copies (written back below): the chains' generator states share a
        # cache line, and writing them in place would ping-pong it between cores
        s = rng[c].copy()
        sc = S[c].copy()
        sa = SA[c].copy()
        sp = spins[c]
        count = 0
        for _ in range(n_sweeps):
            if shuffle:
                for t in range(n):
                    order[t] = t
                permute(order, s)
            for t in range(n):
                i = order[t]
                h = _dot(xwt[i], sc)
                sigma = sp[i]
                h -= selfc[i] * sigma
                if accept(2.0 * sigma * h, beta, dynamics, s):
                    sp[i] = -sigma
                    two = -2.0 * sigma
                    xr = xt[i]
                    for mu in range(k):
                        sc[mu] += two * xr[mu]
                    ar = at[i]
                    for a in range(n_arch):
                        sa[a] += two * ar[a]
                    count += 1
        rng[c] = s
        S[c] = sc
        SA[c] = sa
        flips[c] = count
    return flips


def _pairwise_sweeps_int8(xt8, coef, selfc, at, spins, S, SA, rng, beta, dynamics,
                          n_sweeps, shuffle):
    """:func:`_pairwise_sweeps` for +-1 memories of equal weight: ``xt8`` (N, K) int8, the
    pattern sums ``S`` float32 holding integers, field ``h_i = coef (xt8[i] . S) - selfc_i
    sigma_i``. Every partial sum is an integer below ``K N < 2^24``, so float32 is exact in
    any order (the re-association is harmless) and the dot product vectorises 8 lanes wide
    (int8 -> float32 converts are cheaper than integer multiplies here); the table is 8x
    smaller than float64 (5 MB at N = 10^4, K = 500: cache-resident). The chain (same draws)
    is that of the float64 kernel up to the rounding of its field."""
    n_chains, n = spins.shape
    k = xt8.shape[1]
    n_arch = at.shape[1]
    flips = np.zeros(n_chains, np.int64)
    for c in numba.prange(n_chains):
        order = np.arange(n)
        s = rng[c].copy()
        sc = S[c].copy()
        sa = SA[c].copy()
        sp = spins[c]
        count = 0
        for _ in range(n_sweeps):
            if shuffle:
                for t in range(n):
                    order[t] = t
                permute(order, s)
            for t in range(n):
                i = order[t]
                xr = xt8[i]
                dot = np.float32(0.0)
                for mu in range(k):
                    dot += np.float32(xr[mu]) * sc[mu]
                sigma = sp[i]
                h = coef * dot - selfc[i] * sigma
                if accept(2.0 * sigma * h, beta, dynamics, s):
                    sp[i] = -sigma
                    two = np.float32(-2.0) if sigma > 0 else np.float32(2.0)
                    for mu in range(k):
                        sc[mu] += two * np.float32(xr[mu])
                    ar = at[i]
                    for a in range(n_arch):
                        sa[a] += -2.0 * sigma * ar[a]
                    count += 1
        rng[c] = s
        S[c] = sc
        SA[c] = sa
        flips[c] = count
    return flips


@jit
def elementary_from_power(p, order, e):
    """``e_order`` from power sums ``p[1..order]`` by Newton's identities (``e`` is a work
    array of length >= order + 1; no allocation in the hot loop)."""
    e[0] = 1.0
    for kk in range(1, order + 1):
        acc = 0.0
        sign = 1.0
        for j in range(1, kk + 1):
            acc += sign * e[kk - j] * p[j]
            sign = -sign
        e[kk] = acc / kk
    return e[order]


@jit
def delta_energy(i, sigma, xt, w, even, sc, P, form, scale, n, p, e):
    """Energy change of flipping spin ``i`` (value ``sigma``) for P-body couplings.

    DISTINCT: ``H = -scale sum_mu w_mu e_P(x^mu_1 sigma_1, ..., x^mu_N sigma_N)``, and a flip
    changes ``e_P`` by ``-2 v_i e_{P-1}(others)``. POWER: ``H = -scale N sum_mu w_mu m_mu^P``
    with ``m_mu = S^mu_1 / N``.
    """
    k = xt.shape[1]
    de = 0.0
    for mu in range(k):
        x = xt[i, mu]
        if form == POWER:
            m = sc[mu, 0] / n
            m_new = m - 2.0 * x * sigma / n
            de -= scale * n * w[mu] * (m_new ** P - m ** P)
        else:
            xj = 1.0
            for j in range(1, P):
                xj *= x
                if j % 2 == 1:
                    p[j] = sc[mu, j // 2] - xj * sigma
                else:
                    p[j] = even[mu, j] - xj
            de += 2.0 * scale * w[mu] * x * sigma * elementary_from_power(p, P - 1, e)
    return de


def _dense_sweeps(xt, w, even, at, spins, S, SA, rng, beta, dynamics, n_sweeps, P, form,
                  scale, shuffle):
    """``n_sweeps`` sweeps of every chain for P-body couplings (see :func:`delta_energy`).

    ``S`` (chains, K, n_odd): odd power sums ``S[:, mu, l] = sum_i x^(2l+1) sigma_i``;
    ``even`` (K, P + 1): ``sum_i x^j`` for even ``j``. Returns flips per chain.
    """
    n_chains, n = spins.shape
    k = xt.shape[1]
    n_odd = S.shape[2]
    n_arch = at.shape[1]
    flips = np.zeros(n_chains, np.int64)
    for c in numba.prange(n_chains):
        order = np.arange(n)
        p = np.zeros(P + 1)
        e = np.zeros(P + 1)
        s = rng[c].copy()                  # thread-local copies, see pairwise_sweeps
        sc = S[c].copy()
        sa = SA[c].copy()
        sp = spins[c]
        count = 0
        for _ in range(n_sweeps):
            if shuffle:
                for t in range(n):
                    order[t] = t
                permute(order, s)
            for t in range(n):
                i = order[t]
                sigma = sp[i]
                de = delta_energy(i, sigma, xt, w, even, sc, P, form, scale, n, p, e)
                if accept(de, beta, dynamics, s):
                    sp[i] = -sigma
                    for mu in range(k):
                        x = xt[i, mu]
                        xj = x
                        for l in range(n_odd):
                            sc[mu, l] -= 2.0 * sigma * xj
                            xj *= x * x
                    for a in range(n_arch):
                        sa[a] -= 2.0 * sigma * at[i, a]
                    count += 1
        rng[c] = s
        S[c] = sc
        SA[c] = sa
        flips[c] = count
    return flips


# Each kernel compiled twice: threads over chains pay off only for enough work per call
# (launching the thread pool costs ~0.1-10 ms, more on a loaded machine).
# Re-association lets LLVM vectorise the field's K-term dot product (the hot loop); the
# field is a sum of finite products, and REASSOCIATE keeps NaN/inf semantics.
pairwise_sweeps = jit(fastmath=REASSOCIATE)(_pairwise_sweeps)
pairwise_sweeps_parallel = parallel_jit(fastmath=REASSOCIATE)(_pairwise_sweeps)
pairwise_sweeps_int8 = jit(fastmath=REASSOCIATE)(_pairwise_sweeps_int8)
pairwise_sweeps_int8_parallel = parallel_jit(fastmath=REASSOCIATE)(_pairwise_sweeps_int8)
dense_sweeps = jit(_dense_sweeps)
dense_sweeps_parallel = parallel_jit(_dense_sweeps)
