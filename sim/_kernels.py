"""numba kernels of :mod:`nnphys.sim.networks` (private; pure-numpy references of the same
names in ``tests/naive.py``)."""

from __future__ import annotations

from .._numba import jit


@jit
def accumulate_layer(theta, hh, gg, weight_scale2, bias_scale2):
    """``theta += (weight_scale2 * hh + bias_scale2) * gg`` in place: one Dense layer's
    contribution to the empirical NTK."""
    for i in range(theta.shape[0]):
        for j in range(theta.shape[1]):
            theta[i, j] += (weight_scale2 * hh[i, j] + bias_scale2) * gg[i, j]


@jit
def multiply_inplace(g, d):
    """``g *= d`` elementwise (back-propagation through ``phi'``)."""
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            g[i, j] *= d[i, j]
