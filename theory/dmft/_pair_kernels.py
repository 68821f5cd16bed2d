"""Compiled rows of Gaussian two-point functions for the time-domain DMFT (private).

``pair_row(kind, q_row, m_row, q, m, c, z, w, out)`` fills ``out[l] = E[phi(x) phi(y_l)]`` with
``x ~ N(m_row, q_row)``, ``y_l ~ N(m[l], q[l])`` and ``Cov(x, y_l) = c[l]``, on the product
rule ``(z, w)``: ``x_i = m_row + sqrt(q_row) z_i``, ``y_l = m[l] + a_l z_i + b_l z_j`` with
``a_l = c[l]/sqrt(q_row)``, ``b_l = sqrt(q[l] - a_l^2)``. ``kind`` 0 is tanh, 1 is
``erf(sqrt(pi) x/2)`` (whose inner integral is closed form: ``E[erf(s(mu + b z))] =
erf(s mu / sqrt(1 + 2 s^2 b^2))``, so only the outer sum remains). For tanh the inner sum
is written ``tanh(mu + b z_j) = 1 - 2 / (1 + e^{2 mu} e^{2 b z_j})``: ``n`` exponentials per
entry and ``n^2`` divisions, which LLVM vectorises (``fastmath``), instead of ``n^2``
``tanh`` calls. Both exponents are clamped to ``[-300, 300]`` so the product never
overflows (exact unless a variance exceeds ~500). The pure-numpy
reference is :func:`nnphys.theory.dmft._gauss.expect_pair`, used by the tests.
"""

from __future__ import annotations

import math

import numba
import numpy as np

TANH, ERF = 0, 1
_ERF_SCALE = math.sqrt(math.pi) / 2.0


@numba.njit(cache=True, inline="always")
def _phi(kind, x):  # pragma: no cover - compiled
    if kind == TANH:
        return math.tanh(x)
    return math.erf(_ERF_SCALE * x)


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _tanh_inner(w, growth, u):  # pragma: no cover - compiled
    """``sum_j w_j tanh(mu + b z_j)`` with ``growth_j = e^{2 b z_j}``, ``u = e^{2 mu}``."""
    total = 0.0
    for j in range(w.size):
        total += w[j] / (1.0 + u * growth[j])
    return total


@numba.njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def pair_row(kind, q_row, m_row, q, m, c, z, w, out):  # pragma: no cover - compiled
    n = z.size
    w_sum = 0.0
    for j in range(n):
        w_sum += w[j]
    s_row = math.sqrt(max(q_row, 0.0))
    fx = np.empty(n)
    for i in range(n):
        fx[i] = _phi(kind, m_row + s_row * z[i])
    for l in numba.prange(c.size):
        a = c[l] / s_row if s_row > 0.0 else 0.0
        b = math.sqrt(max(q[l] - a * a, 0.0))
        growth = np.empty(n)
        if kind == TANH:
            for j in range(n):
                growth[j] = math.exp(min(max(2.0 * b * z[j], -300.0), 300.0))
        total = 0.0
        for i in range(n):
            mu = m[l] + a * z[i]
            if kind == ERF:
                inner = math.erf(_ERF_SCALE * mu / math.sqrt(1.0 + 2.0 * _ERF_SCALE ** 2 * b * b))
            else:
                inner = w_sum - 2.0 * _tanh_inner(w, growth, math.exp(min(max(2.0 * mu, -300.0), 300.0)))
            total += w[i] * fx[i] * inner
        out[l] = total
