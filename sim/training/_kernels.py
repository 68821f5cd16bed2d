"""numba kernels of :mod:`nnphys.sim.training` (private; pure-numpy references of the same
names in ``tests/naive.py``).

The matrix products of a training step go to BLAS (numpy ``matmul``); these kernels fuse
the elementwise passes around them, over flat contiguous views of the arrays:
``phi`` and ``phi'`` of a layer's preactivations in one pass, and the in-place SGD update.
Each is compiled twice, serial and ``parallel=True``; :func:`activate` and
:func:`subtract_scaled` use the threads only for arrays of at least :data:`PARALLEL_SIZE`
entries (below it, starting the threads costs more than the pass, badly so on a loaded
machine).
"""

from __future__ import annotations

import numba

from .._activations import phi, phi_prime
from ..._numba import jit, parallel_jit

#: arrays smaller than this run on one thread
PARALLEL_SIZE = 1 << 18


def _activate(code, params, h, x, d):
    for i in numba.prange(h.size):
        x[i] = phi(code, params, h[i])
        d[i] = phi_prime(code, params, h[i])


def _subtract_scaled(w, alpha, g):
    for i in numba.prange(w.size):
        w[i] -= alpha * g[i]


_activate_serial, _activate_parallel = jit(_activate), parallel_jit(_activate)
_subtract_serial, _subtract_parallel = jit(_subtract_scaled), parallel_jit(_subtract_scaled)


def activate(code, params, h, x, d):
    """``x = phi(h)``, ``d = phi'(h)`` elementwise (flat float64 arrays of one size), the
    activation ``(code, params) = sim._activations.lower(layer)``."""
    kernel = _activate_parallel if h.size >= PARALLEL_SIZE else _activate_serial
    kernel(code, params, h, x, d)


def subtract_scaled(w, alpha, g):
    """``w -= alpha * g`` in place (flat float64 arrays of one size): one SGD update."""
    kernel = _subtract_parallel if w.size >= PARALLEL_SIZE else _subtract_serial
    kernel(w, alpha, g)
