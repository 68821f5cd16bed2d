"""numba kernels of :mod:`nnphys.sim.rnn` (private; numpy references of the same names
in ``tests/naive.py``).

All kernels work on ``(N, K)`` state blocks (``K`` trajectories side by side, so the
recurrent input of all of them is one BLAS product ``J @ phi(X)`` that reads ``J`` once) and
fuse the elementwise work of one integrator stage into a single pass over memory.

``fastmath=REASSOCIATE`` (re-association, contraction, no signed zeros) lets LLVM vectorise
the loops; it keeps NaN/inf semantics, so a state that overflows at an unstable step ``dt``
(``|1 - dt| > 1`` in Euler) still reaches the caller as inf/NaN instead of being assumed away
(full ``fastmath=True`` would assume it cannot occur).
"""

from __future__ import annotations

import numba
import numpy as np

from .._numba import REASSOCIATE, jit, parallel_jit


@jit(fastmath=REASSOCIATE)
def tanh_into(x, out):
    """``out = tanh(x)``."""
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            out[i, k] = np.tanh(x[i, k])


@jit(fastmath=REASSOCIATE)
def stage(x, slope, step, out_state, out_phi):
    """RK stage input: ``out_state = x + step * slope``, ``out_phi = tanh(out_state)``.
    ``slope`` is the derivative ``-x' + J phi(x')`` already formed by :func:`derivative`."""
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            y = x[i, k] + step * slope[i, k]
            out_state[i, k] = y
            out_phi[i, k] = np.tanh(y)


@jit(fastmath=REASSOCIATE)
def derivative(state, field, out):
    """``out = -state + field`` (``field = J @ phi(state)``)."""
    for i in range(state.shape[0]):
        for k in range(state.shape[1]):
            out[i, k] = field[i, k] - state[i, k]


@jit(fastmath=REASSOCIATE)
def rk4_combine(x, k1, k2, k3, k4, dt):
    """``x += dt/6 (k1 + 2 k2 + 2 k3 + k4)`` in place."""
    c = dt / 6.0
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            x[i, k] += c * (k1[i, k] + 2.0 * (k2[i, k] + k3[i, k]) + k4[i, k])


@jit(fastmath=REASSOCIATE)
def euler_update(x, field, dt, out_phi):
    """``x = (1 - dt) x + dt * field`` in place, then ``out_phi = tanh(x)``."""
    a = 1.0 - dt
    for i in range(x.shape[0]):
        for k in range(x.shape[1]):
            y = a * x[i, k] + dt * field[i, k]
            x[i, k] = y
            out_phi[i, k] = np.tanh(y)


@jit(fastmath=REASSOCIATE)
def tangent_stage(x, u, sx, su, step, out_x, out_u, out_drive):
    """Stage of the joint state/tangent system ``x' = -x + J tanh(x)``,
    ``u' = -u + J (tanh'(x) u)``: ``out_x = x + step sx``, ``out_u = u + step su`` and the
    two-column drive ``out_drive[:, 0] = tanh(out_x)``, ``out_drive[:, 1] = tanh'(out_x) out_u``."""
    for i in range(x.shape[0]):
        y = x[i] + step * sx[i]
        v = u[i] + step * su[i]
        t = np.tanh(y)
        out_x[i] = y
        out_u[i] = v
        out_drive[i, 0] = t
        out_drive[i, 1] = (1.0 - t * t) * v


@parallel_jit(fastmath=REASSOCIATE)
def stream_sum(a):
    """Sum of a 1-D array in 64 parallel chunks: a read-bandwidth probe for the benchmark."""
    chunks = 64
    size = (a.size + chunks - 1) // chunks
    partial = np.zeros(chunks)
    for c in numba.prange(chunks):
        s = 0.0
        for i in range(c * size, min(a.size, (c + 1) * size)):
            s += a[i]
        partial[c] = s
    return partial.sum()

