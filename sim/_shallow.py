"""numba kernels of :mod:`nnphys.sim.shallow` (private; its pure-numpy reference of the same
name is in ``tests/naive.py``)."""

from __future__ import annotations

from .._numba import jit


@jit
def reduce_rows(v, h, scale, f, s2, s4):
    """Per network (row) ``i``, with ``a_j = scale * h_ij``: ``f_i = sum_j v_ij a_j``,
    ``s2_i = sum_j a_j^2``, ``s4_i = sum_j a_j^4``, in one pass over the row."""
    for i in range(h.shape[0]):
        acc_f = 0.0
        acc2 = 0.0
        acc4 = 0.0
        for j in range(h.shape[1]):
            a = scale * h[i, j]
            a2 = a * a
            acc_f += v[i, j] * a
            acc2 += a2
            acc4 += a2 * a2
        f[i] = acc_f
        s2[i] = acc2
        s4[i] = acc4
