"""Compiled kernels of the PLRF resolvent's Newton iteration and of the exponential-sum
Volterra solver's secular equation (private; see :mod:`nnphys.theory.scaling.spectrum` and
:mod:`nnphys.theory.scaling.volterra`)."""

from __future__ import annotations

from ..._numba import REASSOCIATE, jit


@jit(fastmath=REASSOCIATE)
def resolvent_residual(D, wd, m, z, phi, dphi):
    """``phi_i = m_i - 1 + sum_j wd_j D_j m_i / (D_j m_i - z_i)`` and its derivative in
    ``m_i``, ``dphi_i = 1 - sum_j wd_j D_j z_i / (D_j m_i - z_i)^2``, without the
    ``(points, levels)`` temporaries of the numpy form.

    ``1/(q - z) = conj(q - z) / |q - z|^2`` in real arithmetic (one real division per term,
    re-associated so that LLVM vectorises the sum over levels): ``|q - z|`` is bounded below
    by ``Im z > 0`` and above by the spectrum's scale, far from over- or underflow, so
    the scaling of a general complex division buys nothing here."""
    for i in range(m.size):
        mr, mi = m[i].real, m[i].imag
        zr, zi = z[i].real, z[i].imag
        s1r = s1i = s2r = s2i = 0.0
        for j in range(D.size):
            a = D[j] * mr - zr
            b = D[j] * mi - zi
            den = 1.0 / (a * a + b * b)
            ir, ii = a * den, -b * den                    # 1 / (q - z)
            c = wd[j] * D[j]
            s1r += c * (mr * ir - mi * ii)                # wd D m / (q - z)
            s1i += c * (mr * ii + mi * ir)
            s2r += c * (ir * ir - ii * ii)                # wd D / (q - z)^2
            s2i += c * (2.0 * ir * ii)
        phi[i] = complex(mr - 1.0 + s1r, mi + s1i)
        dphi[i] = complex(1.0 - (zr * s2r - zi * s2i), -(zr * s2i + zi * s2r))
    return phi, dphi


@jit(fastmath=REASSOCIATE)
def resolvent_forcing(D, c2w, m, z, out):
    """``out_i = sum_j c2w_j / (D_j m_i - z_i)`` (the same real-arithmetic reciprocal)."""
    for i in range(m.size):
        mr, mi = m[i].real, m[i].imag
        zr, zi = z[i].real, z[i].imag
        sr = si = 0.0
        for j in range(D.size):
            a = D[j] * mr - zr
            b = D[j] * mi - zi
            den = c2w[j] / (a * a + b * b)
            sr += a * den
            si -= b * den
        out[i] = complex(sr, si)
    return out


@jit     # no re-association: ``(w_i - ref) - offset`` must stay in this order (no cancellation)
def secular_roots(w, k, bisections, newton_from, newton_steps, ref, offset):
    """Roots ``nu_r = ref_r + offset_r`` of ``sum_i k_i / (w_i - nu) = 1`` for sorted poles
    ``w`` (see ``ExponentialSumVolterra._secular_roots``), one root at a time: bisection on
    the offset from the interval end ``ref_r`` the root lies nearer to, until the bracket is
    ``newton_from`` of the offset, then ``newton_steps`` Newton steps kept in the bracket.
    No ``(roots, poles)`` temporaries; each root stops bisecting when it is bracketed."""
    n = w.size
    for r in range(n):
        left = 0.0 if r == 0 else w[r - 1]
        width = w[r] - left
        mid = left + 0.5 * width
        h = 0.0
        for i in range(n):
            h += k[i] / (w[i] - mid)
        near_left = h > 1.0         # h increases with nu: the root is in the left half
        ref[r] = left if near_left else w[r]
        lo = 0.0 if near_left else -0.5 * width
        hi = 0.5 * width if near_left else 0.0
        for _ in range(bisections):
            off = 0.5 * (lo + hi)
            h = 0.0
            for i in range(n):
                h += k[i] / ((w[i] - ref[r]) - off)
            if h < 1.0:
                lo = off
            else:
                hi = off
            if hi - lo <= newton_from * abs(off):
                break
        x = 0.5 * (lo + hi)
        for _ in range(newton_steps):
            s1 = 0.0
            s2 = 0.0
            for i in range(n):
                g = (w[i] - ref[r]) - x
                s1 += k[i] / g
                s2 += k[i] / (g * g)
            x = min(max(x - (s1 - 1.0) / s2, lo), hi)
        offset[r] = x
    return ref, offset
