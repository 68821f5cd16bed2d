"""numba kernels of :mod:`nnphys.sim.regression.plrf` (private; pure-numpy references in
``tests/test_sim_regression_plrf.py``).

Random numbers: seed ``s`` of a run owns one xoshiro256** stream (Blackman & Vigna 2018,
arXiv:1805.01407) whose state is expanded by splitmix64 from ``(base, s)``, so the numbers of
a seed do not depend on the thread that runs it or on the number of cores. Standard normal
variates come from a 256-layer ziggurat (Marsaglia & Tsang, J. Stat. Softw. 5(8), 2000):
one 64-bit draw per variate on the fast path (8 bits pick the layer, 1 bit the sign,
53 bits the abscissa), the exact wedge test and Marsaglia's exponential tail sampler
otherwise. The tables are built here from the equal-area condition (``_ziggurat_tables``).

Order of the draws (the numpy references replay it with :func:`fill_normal`):
- raw SGD, each step, for each batch sample ``i``: ``v`` normals ``z_j`` giving
  ``x_j = sqrt(D_j) z_j``;
- spectral SGD, each step, for each batch sample ``i``: ``d`` normals ``xi_k`` (the
  eigen-coordinates ``phi~_k = sqrt(lam_k) xi_k``), then one normal ``zeta`` (the label noise).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._xoshiro import next_u64, splitmix
from numba import prange

_LAYERS = 256


def _ziggurat_tables(n=_LAYERS):
    """Abscissae ``x[0..n]`` (``x[0] = V / f(r)`` the pseudo-width of the base strip,
    ``x[1] = r``, decreasing, ``x[n] = 0``) and ``f(x)`` for ``f(x) = exp(-x^2/2)``: every
    layer ``[0, x[i]] x [f(x[i]), f(x[i+1])]`` (``i >= 1``) and the base strip plus the tail
    beyond ``r`` have the same area ``V``. ``r`` is found by bisection so that the top layer
    closes at ``f = 1``."""
    f = lambda x: math.exp(-0.5 * x * x)
    tail = lambda r: math.sqrt(math.pi / 2.0) * math.erfc(r / math.sqrt(2.0))

    def excess(r):
        area = r * f(r) + tail(r)
        x = r
        for _ in range(n - 2):
            y = f(x) + area / x
            if y >= 1.0:
                return 1.0                      # layers close too early: r too small
            x = math.sqrt(-2.0 * math.log(y))
        return f(x) + area / x - 1.0

    lo, hi = 3.0, 4.5
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if excess(mid) > 0.0:
            lo = mid
        else:
            hi = mid
    r = 0.5 * (lo + hi)
    area = r * f(r) + tail(r)
    x = np.empty(n + 1)
    x[0], x[1], x[n] = area / f(r), r, 0.0
    for i in range(1, n - 1):
        x[i + 1] = math.sqrt(-2.0 * math.log(f(x[i]) + area / x[i]))
    fx = np.exp(-0.5 * x * x)
    return x, fx, r


ZIG_X, ZIG_F, ZIG_R = _ziggurat_tables()


@numba.njit(cache=True)
def seed_state(base, stream):  # pragma: no cover - compiled
    """xoshiro256** state (``uint64[4]``) of stream ``stream`` under the 64-bit ``base``."""
    s = np.empty(4, dtype=np.uint64)
    x = numba.uint64(base) ^ (numba.uint64(stream) * numba.uint64(0xD1B54A32D192ED03))
    for k in range(4):
        x, s[k] = splitmix(x)
    return s


@numba.njit(cache=True)
def seed_states(base, n):  # pragma: no cover - compiled
    """States of streams ``0..n-1`` as an ``(n, 4)`` array."""
    out = np.empty((n, 4), dtype=np.uint64)
    for k in range(n):
        out[k] = seed_state(base, k)
    return out


@numba.njit(cache=True, inline="always")
def _open_uniform(s):  # pragma: no cover - compiled
    """A double in (0, 1]."""
    return np.float64(np.int64((next_u64(s) >> numba.uint64(11)) + numba.uint64(1))) * \
        (1.0 / 9007199254740992.0)


@numba.njit(cache=True, inline="always")
def normal(s):  # pragma: no cover - compiled
    """One standard normal variate (ziggurat)."""
    zx, zf = ZIG_X, ZIG_F
    while True:
        u = next_u64(s)
        i = np.int64(u & numba.uint64(0xFF))
        negative = u & numba.uint64(0x100)
        z = np.float64(np.int64(u >> numba.uint64(11))) * (1.0 / 9007199254740992.0) * zx[i]
        if z < zx[i + 1]:                               # inside the rectangle: ~98.8%
            return -z if negative else z
        if i == 0:                                      # tail beyond r (Marsaglia 1964)
            while True:
                a = -math.log(_open_uniform(s)) / ZIG_R
                c = -math.log(_open_uniform(s))
                if c + c > a * a:
                    z = ZIG_R + a
                    return -z if negative else z
        y = zf[i] + _open_uniform(s) * (zf[i + 1] - zf[i])   # wedge
        if y < math.exp(-0.5 * z * z):
            return -z if negative else z


@numba.njit(cache=True)
def fill_normal(s, out):  # pragma: no cover - compiled
    """``out[:] =`` standard normals, in order; ``s`` advanced."""
    for k in range(out.size):
        out[k] = normal(s)


@numba.njit(cache=True, fastmath={"reassoc", "contract", "nsz"}, inline="always")
def _dot(a, b):  # pragma: no cover - compiled
    h = 0.0
    for k in range(a.size):
        h += a[k] * b[k]
    return h


@numba.njit(cache=True)
def draw_raw(states, sqrt_d, b, batch, X, y):  # pragma: no cover - compiled
    """Fresh samples of every seed: row ``s * batch + i`` of ``X`` (``(S*batch, v)``) is
    ``x ~ N(0, D)`` drawn from stream ``s``; ``y[row] = <x, b>``.

    Serial on purpose: the draw costs ``S B v`` variates (~4 ns each) against the
    ``8 v d`` bytes of ``W`` streamed by the BLAS product that follows, and numba worker
    threads woken between BLAS calls fight OpenBLAS's spinning threads for the cores
    (measured: 2-10x slower steps on 2 cores)."""
    n_seeds = states.shape[0]
    v = sqrt_d.size
    for s in range(n_seeds):
        st = states[s]
        for i in range(batch):
            row = s * batch + i
            acc = 0.0
            for j in range(v):
                xj = sqrt_d[j] * normal(st)
                X[row, j] = xj
                acc += b[j] * xj
            y[row] = acc


@numba.njit(cache=True)
def update_raw(theta, phi, y, gamma, batch):  # pragma: no cover - compiled
    """One SGD step of every seed: ``r_i = phi_i . theta_s - y_i`` for the ``batch`` rows of
    seed ``s`` (all with the old ``theta_s``), then ``theta_s -= gamma sum_i r_i phi_i``
    (``O(S B d)``, serial for the reason given in :func:`draw_raw`)."""
    n_seeds, d = theta.shape
    res = np.empty(batch)
    for s in range(n_seeds):
        th = theta[s]
        for i in range(batch):
            row = s * batch + i
            res[i] = _dot(phi[row], th) - y[row]
        for i in range(batch):
            row = s * batch + i
            c = gamma * res[i]
            for k in range(d):
                th[k] -= c * phi[row, k]


@numba.njit(cache=True, parallel=True)
def spectral_sgd(states, e0, lam, sigma, gamma, batch, record, threshold, out, diverged):
    # pragma: no cover - compiled
    """One-pass SGD in the eigenbasis of ``K`` for every seed (seeds in parallel).

    ``e = U^T (theta - theta*)`` starts at ``e0``; per sample ``phi~ = sqrt(lam) xi``,
    residual ``r = phi~ . e - sigma zeta``; per step ``e -= gamma sum_i r_i phi~_i`` (all
    residuals of a batch with the old ``e``). At iterations ``record`` (increasing) the exact
    risk ``1/2 (sum_k lam_k e_k^2 + sigma^2)`` goes to ``out[s, :]``; a non-finite risk or one
    above ``threshold`` stops that seed and stores the iteration in ``diverged[s]``
    (``-1`` otherwise). At batch 1 the update of a step is applied in the same pass over
    ``e`` that draws the next sample and forms its residual (one pass per step instead of
    two; the arithmetic and the draws are the same)."""
    n_seeds = states.shape[0]
    d = e0.size
    n_rec = record.size
    sqrt_lam = np.sqrt(lam)
    sigma2 = sigma * sigma
    for s in prange(n_seeds):
        st = states[s]
        e = e0.copy()
        phi = np.empty((batch, d))
        res = np.empty(batch)
        diverged[s] = -1
        step = 0
        k = 0
        pending = False             # batch 1: the update of the last step is not applied yet
        c = 0.0
        while True:
            if pending and k < n_rec and record[k] == step:
                row = phi[0]
                for j in range(d):
                    e[j] -= c * row[j]
                pending = False
            while k < n_rec and record[k] == step:
                loss = 0.0
                for j in range(d):
                    loss += lam[j] * e[j] * e[j]
                loss = 0.5 * (loss + sigma2)
                out[s, k] = loss
                if not (loss <= threshold):             # also catches nan
                    diverged[s] = step
                    break
                k += 1
            if k >= n_rec or diverged[s] >= 0:
                break
            if batch == 1:
                # one pass: finish the previous update and draw/dot the new sample
                row = phi[0]
                acc = 0.0
                if pending:
                    for j in range(d):
                        ej = e[j] - c * row[j]
                        e[j] = ej
                        p = sqrt_lam[j] * normal(st)
                        row[j] = p
                        acc += p * ej
                else:
                    for j in range(d):
                        p = sqrt_lam[j] * normal(st)
                        row[j] = p
                        acc += p * e[j]
                c = gamma * (acc - sigma * normal(st))
                pending = True
            else:
                for i in range(batch):
                    row = phi[i]
                    acc = 0.0
                    for j in range(d):
                        p = sqrt_lam[j] * normal(st)
                        row[j] = p
                        acc += p * e[j]
                    res[i] = acc - sigma * normal(st)
                for i in range(batch):
                    ci = gamma * res[i]
                    row = phi[i]
                    for j in range(d):
                        e[j] -= ci * row[j]
            step += 1


@numba.njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def small_product(X, W, out):  # pragma: no cover - compiled
    """``out = X @ W`` on one thread, for products too small to pay for BLAS threads (whose
    wake-up dominates, badly so on a loaded machine)."""
    m, v = X.shape
    d = W.shape[1]
    for r in range(m):
        o = out[r]
        for k in range(d):
            o[k] = 0.0
        for j in range(v):
            x = X[r, j]
            w = W[j]
            for k in range(d):
                o[k] += x * w[k]
