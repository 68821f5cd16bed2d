"""numba kernel of :mod:`nnphys.sim.ntk_ensemble` (private; its pure-numpy reference of the
same name is in ``tests/naive.py``, and the tests also check it against
:func:`nnphys.sim.networks.ntk_of_sample`).

Every network ``first + i`` draws its weights from its own stream
``seed_state(seed, first + i)`` of :mod:`nnphys.sim._xoshiro` (its ``fill_normal``), so
results do not depend on batching or on the number of threads.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .._numba import parallel_jit
from ._xoshiro import fill_normal, seed_state


@parallel_jit
def relu_ntk_diagonal(seed, first, x, widths, depths, cw, bias_lr, out_k, out_f):
    """``out_k[i, t] = K(x, x)``, ``out_f[i, t] = f(x)`` of network ``first + i`` truncated
    at depth ``depths[t]``: hidden matrices ``W^(l)`` (shape ``(n_l, n_(l-1))``, NTK
    parameterization ``sqrt(cw / n_(l-1))``, zero biases) shared by all depths, and an
    independent Gaussian readout vector for each depth ``d`` (``f = z^(d)``). Forward pass
    storing ``a^(l)``, then per depth a backward pass
    ``delta^(l) = 1{z^(l) > 0} W^(l+1)^T delta^(l+1)``, and
    ``K = sum_l (cw / n_(l-1)) |a^(l-1)|^2 |delta^(l)|^2 + bias_lr sum_l |delta^(l)|^2``.
    ``widths = (n_0, n_1, ..., n_H)``; every ``depths[t] <= H + 1``."""
    n_networks = out_k.shape[0]
    hidden = widths.shape[0] - 1
    n_depths = depths.shape[0]
    nmax = 0
    for l in range(hidden + 1):
        nmax = max(nmax, widths[l])
    offsets = np.zeros(hidden + 1, dtype=np.int64)
    total = 0
    for l in range(1, hidden + 1):
        offsets[l] = total
        total += widths[l] * widths[l - 1]
    roff = np.zeros(n_depths, dtype=np.int64)
    for t in range(n_depths):
        roff[t] = total
        total += widths[depths[t] - 1]
    for i in numba.prange(n_networks):
        state = seed_state(seed, first + i)
        weights = np.empty(total)
        fill_normal(state, weights)
        acts = np.zeros((hidden + 1, nmax))        # a^(0..H)
        for k in range(widths[0]):
            acts[0, k] = x[k]
        for l in range(1, hidden + 1):
            n_in, n_out = widths[l - 1], widths[l]
            scale = math.sqrt(cw / n_in)
            base = offsets[l]
            for r in range(n_out):
                s = 0.0
                row = base + r * n_in
                for c in range(n_in):
                    s += weights[row + c] * acts[l - 1, c]
                s *= scale
                acts[l, r] = s if s > 0.0 else 0.0
        delta = np.zeros(nmax)
        new = np.zeros(nmax)
        for t in range(n_depths):
            d = depths[t]
            n_last = widths[d - 1]
            scale = math.sqrt(cw / n_last)
            a2 = 0.0
            f = 0.0
            for c in range(n_last):
                a2 += acts[d - 1, c] * acts[d - 1, c]
                f += weights[roff[t] + c] * acts[d - 1, c]
            out_f[i, t] = f * scale
            k_total = cw / n_last * a2 + bias_lr
            if d > 1:
                for c in range(n_last):          # delta^(d-1)
                    delta[c] = weights[roff[t] + c] * scale if acts[d - 1, c] > 0.0 else 0.0
            for l in range(d - 1, 0, -1):       # layer l: weights W^(l), delta = delta^(l)
                n_in, n_out = widths[l - 1], widths[l]
                d2 = 0.0
                for r in range(n_out):
                    d2 += delta[r] * delta[r]
                a2 = 0.0
                for c in range(n_in):
                    a2 += acts[l - 1, c] * acts[l - 1, c]
                k_total += cw / n_in * a2 * d2 + bias_lr * d2
                if l == 1:
                    break
                sc = math.sqrt(cw / n_in)
                base = offsets[l]
                for c in range(n_in):
                    new[c] = 0.0
                for r in range(n_out):
                    g = delta[r] * sc
                    if g != 0.0:
                        row = base + r * n_in
                        for c in range(n_in):
                            new[c] += weights[row + c] * g
                for c in range(n_in):
                    delta[c] = new[c] if acts[l - 1, c] > 0.0 else 0.0
            out_k[i, t] = k_total
