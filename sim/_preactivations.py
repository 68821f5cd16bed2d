"""numba kernels of :mod:`nnphys.sim.preactivations` (private; the pure-numpy reference
sampler is ``tests/naive.py::reduced_ensemble``).

Random numbers: every network ``i`` owns a xoshiro256** stream seeded by splitmix64 from
``(seed, i)`` (Blackman & Vigna 2018, arXiv:1805.01407), and Gaussian variates come from
the Box-Muller transform, so the numbers of a network do not depend on the thread that
simulates it, on the batch it falls in, or on the number of cores.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._activations import phi
from ._xoshiro import next_u64, splitmix

_TWO_PI = 2.0 * math.pi
_MASK64 = 0xFFFFFFFFFFFFFFFF


@numba.njit(cache=True)
def seed_state(seed, stream):  # pragma: no cover - compiled
    """xoshiro256** state of stream ``stream`` under ``seed`` (splitmix64-expanded)."""
    s = np.empty(4, dtype=np.uint64)
    x = numba.uint64(seed) * numba.uint64(0x9E3779B97F4A7C15) ^ numba.uint64(stream)
    for k in range(4):
        x, s[k] = splitmix(x)
    return s


@numba.njit(cache=True)
def next_uniform(s):  # pragma: no cover - compiled
    """A uniform double in (0, 1) from the 53 top bits of xoshiro256**."""
    result = next_u64(s)
    return ((result >> numba.uint64(11)) + 0.5) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True)
def fill_normal(s, out):  # pragma: no cover - compiled
    """Standard normal variates into ``out`` (Box-Muller, two per pair of uniforms)."""
    n = out.size
    for k in range(0, n - 1, 2):
        r = math.sqrt(-2.0 * math.log(next_uniform(s)))
        angle = _TWO_PI * next_uniform(s)
        out[k] = r * math.cos(angle)
        out[k + 1] = r * math.sin(angle)
    if n % 2:
        out[n - 1] = math.sqrt(-2.0 * math.log(next_uniform(s))) * \
            math.cos(_TWO_PI * next_uniform(s))


@numba.njit(cache=True)
def _cholesky(a, out):  # pragma: no cover - compiled
    """Lower Cholesky factor of a small PSD matrix (zero columns for null directions)."""
    m = a.shape[0]
    out[:] = 0.0
    for j in range(m):
        d = a[j, j]
        for k in range(j):
            d -= out[j, k] * out[j, k]
        if d <= 1e-300 * max(a[j, j], 1e-300):
            continue
        out[j, j] = math.sqrt(d)
        for i in range(j + 1, m):
            v = a[i, j]
            for k in range(j):
                v -= out[i, k] * out[j, k]
            out[i, j] = v / out[j, j]


@numba.njit(cache=True, parallel=True)
def reduced_ensemble(seed, first, out, kernel0, width, cw, cb, code, params):  # pragma: no cover
    """``out[i, l] = S_l`` of network ``first + i`` (``out`` of shape (N, depth, m, m)).

    ``S_1 = kernel0``; given layer ``l`` the next preactivations are i.i.d. over neurons,
    ``z_j ~ N(0, S_l)``, and ``S_{l+1} = cb + (cw / width) sum_j phi(z_j) phi(z_j)^T``.
    """
    n_networks, depth, m = out.shape[0], out.shape[1], out.shape[2]
    for i in numba.prange(n_networks):
        state = seed_state(seed, first + i)
        chol = np.empty((m, m))
        g = np.empty(m)
        z = np.empty(m)
        s = np.empty(m)
        acc = np.empty((m, m))
        out[i, 0] = kernel0
        for l in range(1, depth):
            _cholesky(out[i, l - 1], chol)
            acc[:] = 0.0
            for _ in range(width):
                fill_normal(state, g)
                for a in range(m):
                    v = 0.0
                    for b in range(a + 1):
                        v += chol[a, b] * g[b]
                    z[a] = v
                    s[a] = phi(code, params, v)
                for a in range(m):
                    for b in range(a + 1):
                        acc[a, b] += s[a] * s[b]
            for a in range(m):
                for b in range(a + 1):
                    v = cb + cw * acc[a, b] / width
                    out[i, l, a, b] = v
                    out[i, l, b, a] = v


@numba.njit(cache=True, parallel=True)
def reduced_ensemble_single(seed, first, out, q0, width, cw, cb, code, params):  # pragma: no cover
    """One input: ``out[i, l] = S_l`` (shape (N, depth)), the same recursion as
    :func:`reduced_ensemble` without the matrix bookkeeping."""
    n_networks, depth = out.shape
    for i in numba.prange(n_networks):
        state = seed_state(seed, first + i)
        out[i, 0] = q0
        variance = q0
        for l in range(1, depth):
            scale = math.sqrt(variance)
            acc = 0.0
            for _ in range(width // 2):
                r = math.sqrt(-2.0 * math.log(next_uniform(state)))
                angle = _TWO_PI * next_uniform(state)
                a = phi(code, params, scale * r * math.cos(angle))
                b = phi(code, params, scale * r * math.sin(angle))
                acc += a * a + b * b
            if width % 2:
                r = math.sqrt(-2.0 * math.log(next_uniform(state)))
                a = phi(code, params, scale * r * math.cos(_TWO_PI * next_uniform(state)))
                acc += a * a
            variance = cb + cw * acc / width
            out[i, l] = variance
