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
from numba import types
from numba.extending import overload
from numba.np.numpy_support import as_dtype

from .._numba import REASSOCIATE, inline_jit, jit, parallel_jit
from ._xoshiro import uniform

GLAUBER, METROPOLIS, ZERO_T = 0, 1, 2
_TIE = 1e-12        # |dE| below this is a tie at T = 0 (rounding of the pattern sums)
_SURE = 1.0 + 1e-9  # a bound of the acceptance test this far past 1 decides it
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
    """Flip decision for an energy change ``delta_e`` at inverse temperature ``beta``.

    Uphill moves (``x = beta dE > 0``) are first tested against ``e^x >= 1 + x + x^2/2``:
    a draw with ``u (2 + x + x^2/2) >= 1 + 1e-9`` is refused without computing ``e^x``
    (the exact test would refuse it too: the margin exceeds the few-ulp rounding of both
    sides), so decisions are those of the plain heat-bath / Metropolis test, cheaper.
    """
    if dynamics == ZERO_T:
        return delta_e < -_TIE          # exact ties (dE = 0 up to rounding) do not flip
    x = beta * delta_e
    if dynamics == METROPOLIS:          # always one draw, so ties cannot desynchronise
        u = uniform(s)
        if x > 0.0 and u * (1.0 + x + 0.5 * x * x) >= _SURE:
            return False
        return u < np.exp(-x)
    if x > 40.0:                                         # heat bath 1/(1 + e^x) < 4e-18
        return False
    u = uniform(s)
    if x > 0.0 and u * (2.0 + x + 0.5 * x * x) >= _SURE:
        return False
    return u * (1.0 + np.exp(x)) < 1.0


def field_dot(row, sums):
    """``sum_k row_k sums_k``: one spin's pattern row against the pattern sums (the hot
    loop). Compiled per dtype by the overload below; this plain-Python body is what runs
    with ``NUMBA_DISABLE_JIT=1``."""
    return float(np.dot(row.astype(np.float64), sums.astype(np.float64)))


@overload(field_dot, jit_options={"fastmath": set(REASSOCIATE)})
def _field_dot(row, sums):
    """Integer sums (+-1 int8 rows): exact int32 accumulation, each partial sum truncated
    to 32 bits so that LLVM keeps 32-bit lanes (int8 x int16 becomes ``vpmaddwd``; the caller
    guarantees ``|S_mu| <= N`` and ``K N < 2^31``).
    Float sums: an accumulator of the sums' dtype, re-associated so that LLVM vectorises it
    (the terms are finite pattern entries times pattern sums; NaN/inf semantics are kept;
    for float32 sums of integer-valued +-1 rows every partial sum is an integer below 2^24,
    exact in any order)."""
    if isinstance(sums.dtype, types.Integer):
        def integer(row, sums):
            acc = np.int32(0)
            for k in range(row.size):
                acc = np.int32(acc + np.int32(row[k]) * np.int32(sums[k]))
            return acc
        return integer
    kind = as_dtype(sums.dtype).type

    def real(row, sums):
        acc = kind(0.0)
        for k in range(row.size):
            acc += kind(row[k]) * sums[k]
        return acc
    return real


def _pairwise_sweeps(ft, coef, ut, selfc, at, spins, S, SA, rng, beta, dynamics, n_sweeps,
                     shuffle):
    """``n_sweeps`` sweeps of every chain (chains in parallel) for pairwise couplings.

    ``ft`` (N, K): the field table, ``coef``: its factor, ``ut`` (N, K): the memories,
    transposed (the update table); ``selfc_i`` the removed diagonal ``sum_mu w x_i^2 / N``;
    ``at`` (N, A): archetypes, transposed. Local field ``h_i = coef (ft[i] . S) - selfc_i
    sigma_i`` (K multiply-adds, :func:`field_dot`), ``dE = 2 sigma_i h_i``; a flip updates
    ``S -= 2 sigma_old ut[i]`` and ``SA -= 2 sigma_old at[i]``. Real memories: ``ft = ut
    w scale`` (float64), ``coef = 1``, ``S`` float64. +-1 memories of equal weight: ``ft =
    ut`` int8, ``coef = w scale`` and ``S`` holding exact integers, so the field is an exact
    integer dot product times ``coef`` and the chain (same draws) is that of the float64
    table up to the rounding of its field.
    Sites are visited in the order 0..N-1 (systematic scan) or, with ``shuffle``, in a
    fresh random permutation each sweep. Returns the number of flips of each chain.
    """
    n_chains, n = spins.shape
    k = ut.shape[1]
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
                sigma = sp[i]
                h = coef * field_dot(ft[i], sc) - selfc[i] * sigma
                if accept(2.0 * sigma * h, beta, dynamics, s):
                    sp[i] = -sigma
                    xr = ut[i]
                    if sigma > 0:            # x + x = 2x exactly, for every dtype
                        for mu in range(k):
                            sc[mu] -= xr[mu] + xr[mu]
                    else:
                        for mu in range(k):
                            sc[mu] += xr[mu] + xr[mu]
                    two = -2.0 * sigma
                    ar = at[i]
                    for a in range(n_arch):
                        sa[a] += two * ar[a]
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
def delta_energy(i, sigma, xt, w, even, sc, P, form, scale, n, p, e, etab):
    """Energy change of flipping spin ``i`` (value ``sigma``) for P-body couplings.

    DISTINCT: ``H = -scale sum_mu w_mu e_P(x^mu_1 sigma_1, ..., x^mu_N sigma_N)``, and a flip
    changes ``e_P`` by ``-2 v_i e_{P-1}(others)``. POWER: ``H = -scale N sum_mu w_mu m_mu^P``
    with ``m_mu = S^mu_1 / N``. For +-1 memories (DISTINCT) the power sums of the others are
    ``p_j = S^mu_1 - x sigma`` (odd j) and ``N - 1`` (even j), functions of the integer
    ``s = S^mu_1 - x sigma`` alone, so a non-empty ``etab`` holds ``e_{P-1}`` at ``s = 1 - N
    .. N - 1`` (:func:`elementary_table`, the same floats as Newton's identities here) and
    an attempt costs one lookup per memory instead of O(P^2).
    """
    k = xt.shape[1]
    de = 0.0
    for mu in range(k):
        x = xt[i, mu]
        if form == POWER:
            m = sc[mu, 0] / n
            m_new = m - 2.0 * x * sigma / n
            de -= scale * n * w[mu] * (m_new ** P - m ** P)
        elif etab.size:
            v = etab[int(sc[mu, 0] - x * sigma) + n - 1]
            de += 2.0 * scale * w[mu] * x * sigma * v
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


@jit
def elementary_table(n, P):
    """``e_{P-1}`` of ``N - 1`` values +-1 summing to ``s``, for ``s = 1 - N .. N - 1``:
    Newton's identities on ``p_j = s`` (odd j), ``N - 1`` (even j), exactly as
    :func:`delta_energy` evaluates them for +-1 memories."""
    p = np.zeros(P + 1)
    e = np.zeros(P + 1)
    out = np.empty(2 * n - 1)
    for t in range(2 * n - 1):
        for j in range(1, P):
            p[j] = float(t - (n - 1)) if j % 2 == 1 else float(n - 1)
        out[t] = elementary_from_power(p, P - 1, e)
    return out


def _dense_sweeps(xt, w, even, at, spins, S, SA, rng, beta, dynamics, n_sweeps, P, form,
                  scale, shuffle, etab):
    """``n_sweeps`` sweeps of every chain for P-body couplings (see :func:`delta_energy`;
    ``etab``: the +-1 lookup table of :func:`elementary_table`, or empty).

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
                de = delta_energy(i, sigma, xt, w, even, sc, P, form, scale, n, p, e, etab)
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
# Re-association lets LLVM vectorise the field's K-term dot product (the hot loop, see
# field_dot); the field is a sum of finite products, and REASSOCIATE keeps NaN/inf semantics.
pairwise_sweeps = jit(fastmath=REASSOCIATE)(_pairwise_sweeps)
pairwise_sweeps_parallel = parallel_jit(fastmath=REASSOCIATE)(_pairwise_sweeps)
dense_sweeps = jit(_dense_sweeps)
dense_sweeps_parallel = parallel_jit(_dense_sweeps)
