"""numba kernels of :mod:`nnphys.sim.regression.plrf` (private; pure-numpy references in
``tests/test_sim_regression_plrf.py``).

Random numbers: seed ``s`` of a run owns the stream ``seed_state(base, s)`` of
:mod:`nnphys.sim._xoshiro` and draws its standard normal variates with its ``normal``
(ziggurat), so the numbers of a seed do not depend on the thread that runs it or on the
number of cores.

Order of the draws (the numpy references replay it with ``_xoshiro.fill_normal``):
- raw SGD, each step, for each batch sample ``i``: ``v`` normals ``z_j`` giving
  ``x_j = sqrt(D_j) z_j``;
- spectral SGD, each step, for each batch sample ``i``: ``d`` normals ``xi_k`` (the
  eigen-coordinates ``phi~_k = sqrt(lam_k) xi_k``), then one normal ``zeta`` (the label noise).
"""

from __future__ import annotations

import numba
import numpy as np

from ..._numba import REASSOCIATE, inline_jit, jit, parallel_jit
from .._xoshiro import normal

# fastmath=REASSOCIATE: re-associating the sum lets LLVM vectorise it; it keeps NaN/inf
# semantics, so a diverging run still shows up as a non-finite risk.
@inline_jit(fastmath=REASSOCIATE)
def _dot(a, b):
    h = 0.0
    for k in range(a.size):
        h += a[k] * b[k]
    return h


@jit
def draw_raw(states, sqrt_d, b, batch, X, y):
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


@jit
def update_raw(theta, phi, y, gamma, batch):
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


@parallel_jit
def spectral_sgd(states, e0, lam, sigma, gamma, batch, record, threshold, out, diverged):
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
    for s in numba.prange(n_seeds):
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


@jit(fastmath=REASSOCIATE)     # re-associated for vectorisation; NaN/inf semantics kept
def small_product(X, W, out):
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
