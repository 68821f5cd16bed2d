"""Compiled rows of Gaussian two-point functions for the time-domain DMFT (private).

``pair_row(kind, a, b, q_row, m_row, q, m, c, z, w, out)`` fills ``out[l] = E[phi(x) phi(y_l)]`` with
``x ~ N(m_row, q_row)``, ``y_l ~ N(m[l], q[l])`` and ``Cov(x, y_l) = c[l]``, on the product
rule ``(z, w)``: ``x_i = m_row + sqrt(q_row) z_i``, ``y_l = m[l] + a_l z_i + b_l z_j`` with
``r_l = c[l]/sqrt(q_row)``, ``s_l = sqrt(q[l] - r_l^2)``. ``kind`` (from
:func:`._activation.scs_activation`, derived from the layer object) is ``TANH`` (``phi =
tanh``; ``a, b`` unused) or ``ERF`` (``phi = a erf(b x)``, whose inner integral is closed
form: ``E[erf(b(mu + s z))] = erf(b mu / sqrt(1 + 2 b^2 s^2))``, so only the outer sum
remains). For tanh the inner sum
is written ``tanh(mu + b z_j) = 1 - 2 / (1 + e^{2 mu} e^{2 b z_j})``: ``n`` exponentials per
entry and ``n^2`` divisions, which LLVM vectorises (``fastmath``), instead of ``n^2``
``tanh`` calls. Both exponents are clamped to ``[-300, 300]`` so the product never
overflows (exact unless a variance exceeds ~500). ``fastmath`` is safe: every argument
of ``exp`` is clamped and every division is by ``1 + positive`` or by a square root
``>= 1``, so no NaN or infinity can occur. The pure-numpy reference is
:func:`nnphys.theory.gaussian.expect_pair`, used by the tests.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ._activation import ERF, TANH

__all__ = ["pair_row", "TANH", "ERF"]


@numba.njit(cache=True, inline="always")
def _phi(kind, amp, slope, x):  # pragma: no cover - compiled
    if kind == TANH:
        return math.tanh(x)
    return amp * math.erf(slope * x)


@numba.njit(cache=True, fastmath=True, error_model="numpy")
def _tanh_inner(w, growth, u):  # pragma: no cover - compiled
    """``sum_j w_j tanh(mu + b z_j)`` with ``growth_j = e^{2 b z_j}``, ``u = e^{2 mu}``."""
    total = 0.0
    for j in range(w.size):
        total += w[j] / (1.0 + u * growth[j])
    return total


@numba.njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
def pair_row(kind, amp, slope, q_row, m_row, q, m, c, z, w, out):  # pragma: no cover - compiled
    n = z.size
    w_sum = 0.0
    for j in range(n):
        w_sum += w[j]
    s_row = math.sqrt(max(q_row, 0.0))
    fx = np.empty(n)
    for i in range(n):
        fx[i] = _phi(kind, amp, slope, m_row + s_row * z[i])
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
                inner = amp * math.erf(slope * mu / math.sqrt(1.0 + 2.0 * slope * slope * b * b))
            else:
                inner = w_sum - 2.0 * _tanh_inner(w, growth, math.exp(min(max(2.0 * mu, -300.0), 300.0)))
            total += w[i] * fx[i] * inner
        out[l] = total
