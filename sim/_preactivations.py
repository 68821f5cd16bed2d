"""numba kernels of :mod:`nnphys.sim.preactivations` (private; their pure-numpy references
of the same names are in ``tests/naive.py``).

Random numbers: network ``first + i`` owns the stream ``seed_state(seed, first + i)`` of
:mod:`nnphys.sim._xoshiro` and draws its Gaussian variates with its ``normal``, so the
numbers of a network do not depend on the thread that simulates it, on the batch it falls
in, or on the number of cores. The activation ``(code, params)`` comes from
:func:`nnphys.sim._activations.lower`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._numba import jit, parallel_jit
from ._activations import phi
from ._xoshiro import fill_normal, normal, seed_state


@jit
def cholesky(a, out):
    """Lower Cholesky factor of a small PSD matrix into ``out`` (a zero column for each
    null direction, so a singular kernel still gives ``out out^T = a``)."""
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


@parallel_jit
def reduced_ensemble(seed, first, out, kernel0, width, cw, cb, code, params):
    """``out[i, l] = S_l`` of network ``first + i`` (``out`` of shape (N, depth, m, m)).

    ``S_1 = kernel0``; given layer ``l`` the next preactivations are i.i.d. over neurons,
    ``z_j ~ N(0, S_l)``, and ``S_{l+1} = cb + (cw / width) sum_j phi(z_j) phi(z_j)^T``.
    """
    n_networks, depth, m = out.shape[0], out.shape[1], out.shape[2]
    for i in numba.prange(n_networks):
        state = seed_state(seed, first + i)
        chol = np.empty((m, m))
        g = np.empty(m)
        s = np.empty(m)
        acc = np.empty((m, m))
        out[i, 0] = kernel0
        for l in range(1, depth):
            cholesky(out[i, l - 1], chol)
            acc[:] = 0.0
            for _ in range(width):
                fill_normal(state, g)
                for a in range(m):
                    v = 0.0
                    for b in range(a + 1):
                        v += chol[a, b] * g[b]
                    s[a] = phi(code, params, v)
                for a in range(m):
                    for b in range(a + 1):
                        acc[a, b] += s[a] * s[b]
            for a in range(m):
                for b in range(a + 1):
                    v = cb + cw * acc[a, b] / width
                    out[i, l, a, b] = v
                    out[i, l, b, a] = v


@parallel_jit
def reduced_ensemble_single(seed, first, out, q0, width, cw, cb, code, params):
    """One input: ``out[i, l] = S_l`` (shape (N, depth)), the same recursion (and the same
    draws) as :func:`reduced_ensemble` with ``m = 1``, without the matrix bookkeeping."""
    n_networks, depth = out.shape
    for i in numba.prange(n_networks):
        state = seed_state(seed, first + i)
        out[i, 0] = q0
        variance = q0
        for l in range(1, depth):
            scale = math.sqrt(variance)
            acc = 0.0
            for _ in range(width):
                a = phi(code, params, scale * normal(state))
                acc += a * a
            variance = cb + cw * acc / width
            out[i, l] = variance
