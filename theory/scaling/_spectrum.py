"""Compiled kernel of the PLRF resolvent's Newton iteration (private; see
:mod:`nnphys.theory.scaling.spectrum`)."""

from __future__ import annotations

from ..._numba import jit


@jit
def resolvent_residual(D, wd, m, z, phi, dphi):
    """``phi_i = m_i - 1 + sum_j wd_j D_j m_i / (D_j m_i - z_i)`` and its derivative in
    ``m_i``, ``dphi_i = 1 - sum_j wd_j D_j z_i / (D_j m_i - z_i)^2``, without the
    ``(points, levels)`` temporaries of the numpy form (one complex division per term)."""
    for i in range(m.size):
        mi, zi = m[i], z[i]
        s1 = 0j
        s2 = 0j
        for j in range(D.size):
            q = D[j] * mi
            inv = 1.0 / (q - zi)
            s1 += wd[j] * q * inv
            s2 += wd[j] * D[j] * inv * inv
        phi[i] = mi - 1.0 + s1
        dphi[i] = 1.0 - zi * s2
    return phi, dphi
