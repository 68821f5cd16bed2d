"""numba kernels of :mod:`nnphys.sim.training` (private; pure-numpy references of the same
names in ``tests/naive.py``).

The matrix products of a training step go to BLAS (numpy ``matmul``); these kernels fuse
the elementwise passes around them, over flat contiguous views of the arrays:
``phi`` and ``phi'`` of a layer's preactivations in one pass, and the in-place SGD update.
"""

from __future__ import annotations

import numba

from .._activations import phi, phi_prime
from ..._numba import parallel_jit


@parallel_jit
def activate(code, params, h, x, d):
    """``x = phi(h)``, ``d = phi'(h)`` elementwise (flat float64 arrays of one size), the
    activation ``(code, params) = sim._activations.lower(layer)``."""
    for i in numba.prange(h.size):
        x[i] = phi(code, params, h[i])
        d[i] = phi_prime(code, params, h[i])


@parallel_jit
def subtract_scaled(w, alpha, g):
    """``w -= alpha * g`` in place (flat float64 arrays of one size): one SGD update."""
    for i in numba.prange(w.size):
        w[i] -= alpha * g[i]
