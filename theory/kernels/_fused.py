"""Fused, compiled NNGP/NTK of fully connected Dense / ReLU-family / erf networks.

The whole recursion of :mod:`.layers` runs entry by entry while the entry sits in cache:
one BLAS Gram product ``x1 x2^T / d``, then for each row every layer in turn over the
row (a branch-free loop that LLVM vectorises), in place in the output arrays. With
``x2 = None`` only the upper triangle is computed and mirrored. The inverse trigonometric
functions are evaluated by a vectorisable polynomial (below) instead of libm calls, which
is what makes the fused path several times faster than neural-tangents on the CPU.

Per-input variances are propagated by the same compiled code applied to
``(q, q, q)``, so on the diagonal ``q12 == q11 == q22`` holds bit for bit and the arc-cosine
angle there is exactly 0: the NTK diagonal is exact, where neural-tangents' is off by
~1e-8 relative (``sqrt`` of a roundoff-level difference).

Erf entries use ``D = 1 + 2b^2 (q11 + q22) + 4b^4 max(q11 q22 - q12^2, 0)`` for
``(1 + 2b^2 q11)(1 + 2b^2 q22)(1 - arg^2)`` and :func:`asin_cos`, so that arguments near 1
(variances above ~1e8) lose no accuracy; ReLU entries take ``pi - theta = arccos(-rho)``.

arcsin on [0, 1/2] is ``y + y^3 R(y^2)`` with ``R`` a degree-16 polynomial on
``t in [0, 1/4]`` (the Chebyshev interpolant, error 4e-16 in ``R``, ~1e-17 relative in
arcsin), computed at import with mpmath; larger arguments use
``arccos(x) = 2 arcsin(sqrt((1 - x)/2))``. Tests compare it with libm to 1e-15.
"""

from __future__ import annotations

import math

import mpmath
import numba
import numpy as np
from scipy.linalg import blas

from ..._numba import inline_jit, jit, parallel_jit
from ...errors import ArgumentTypeError
from ...models import network as arch
from .kernel import Kernel

__all__ = ["supports", "kernel", "acos", "asin", "all_finite"]

_DENSE, _ABRELU, _ERF, _IDENTITY = 0, 1, 2, 3
_N_PARAMS = 5
_PI = math.pi
_HALF_PI = math.pi / 2
_TWO_PI = 2 * math.pi
_DEGREE = 16


def _asin_remainder_coefficients(degree: int) -> np.ndarray:
    """Monomial coefficients ``a_k`` of ``R(t) = (asin(sqrt t)/sqrt t - 1)/t ~ sum a_k t^k``
    on ``t in [0, 1/4]``: Chebyshev interpolation at 40 digits, converted to the monomial
    basis at 40 digits (all terms are positive there, so the sum is well conditioned)."""
    with mpmath.workdps(40):
        n = degree + 1
        nodes = [mpmath.cos(mpmath.pi * (j + mpmath.mpf(1) / 2) / n) for j in range(n)]
        values = []
        for s in nodes:
            t = (s + 1) / 8
            y = mpmath.sqrt(t)
            values.append((mpmath.asin(y) / y - 1) / t)
        # Chebyshev coefficients c_m = (2/n) sum_j f(x_j) T_m(x_j)  (c_0 halved)
        cheb = [2 * sum(v * mpmath.chebyt(m, x) for v, x in zip(values, nodes)) / n
                for m in range(n)]
        cheb[0] /= 2
        # sum_m c_m T_m(8 t - 1) expanded in powers of t
        coeffs = [mpmath.mpf(0)] * n
        for m, c in enumerate(cheb):
            poly = mpmath.taylor(lambda t, m=m: mpmath.chebyt(m, 8 * t - 1), 0, m)
            for k, a in enumerate(poly):
                coeffs[k] += c * a
        return np.array([float(c) for c in coeffs])


_COEF = _asin_remainder_coefficients(_DEGREE)
A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16 = _COEF


@inline_jit
def _asin_small(y):  # pragma: no cover - compiled
    """arcsin(y) for 0 <= y <= 1/2: ``y + y t R(t)``, ``R`` by Estrin's scheme (short
    dependency chains, so vectorised loops stay throughput-bound)."""
    t = y * y
    t2 = t * t
    t4 = t2 * t2
    t8 = t4 * t4
    p01 = A0 + A1 * t
    p23 = A2 + A3 * t
    p45 = A4 + A5 * t
    p67 = A6 + A7 * t
    p89 = A8 + A9 * t
    p1011 = A10 + A11 * t
    p1213 = A12 + A13 * t
    p1415 = A14 + A15 * t
    q0 = p01 + p23 * t2
    q1 = p45 + p67 * t2
    q2 = p89 + p1011 * t2
    q3 = p1213 + p1415 * t2
    r0 = q0 + q1 * t4
    r1 = q2 + q3 * t4
    r = r0 + (r1 + A16 * t8) * t8
    return y + y * t * r


@inline_jit
def acos(x):  # pragma: no cover - compiled
    """arccos(x) for -1 <= x <= 1, branch-free (vectorisable)."""
    ax = abs(x)
    big = ax > 0.5
    y = math.sqrt((1.0 - ax) * 0.5) if big else ax
    p = _asin_small(y)
    r = 2.0 * p if big else _HALF_PI - p
    return _PI - r if x < 0.0 else r


@inline_jit
def asin(x):  # pragma: no cover - compiled
    """arcsin(x) for -1 <= x <= 1, branch-free (vectorisable)."""
    ax = abs(x)
    big = ax > 0.5
    y = math.sqrt((1.0 - ax) * 0.5) if big else ax
    p = _asin_small(y)
    r = _HALF_PI - 2.0 * p if big else p
    return -r if x < 0.0 else r


@inline_jit
def asin_cos(x, c):  # pragma: no cover - compiled
    """arcsin(x) given ``c = sqrt(1 - x^2)`` computed without cancellation: for |x| > 1/2
    ``arcsin|x| = pi/2 - 2 arcsin(sqrt((1 - |x|)/2))`` with ``1 - |x| = c^2 / (1 + |x|)``,
    so arguments within roundoff of 1 keep their full relative accuracy in ``pi/2 - |r|``."""
    ax = abs(x)
    big = ax > 0.5
    y = c / math.sqrt(2.0 * (1.0 + ax)) if big else ax
    p = _asin_small(y)
    r = _HALF_PI - 2.0 * p if big else p
    return -r if x < 0.0 else r


@inline_jit
def _feature(code, p, q):  # pragma: no cover - compiled
    """What an op needs of a per-input variance ``q`` besides ``q``: for erf
    ``1 / sqrt(1 + 2 b^2 q)`` (so the entry loop needs one square root, not three)."""
    if code == _ERF:
        return 1.0 / math.sqrt(1.0 + 2.0 * p[1] * q)
    return q


@inline_jit
def _apply_op(code, p, q11, q22, f11, f22, q12, ntk, need_ntk, m):  # pragma: no cover
    """One layer on ``m`` entries: ``q12`` (and ``ntk``) in place, given the marginal
    variances ``q11``, ``q22`` and their features ``f11``, ``f22`` (:func:`_feature`)."""
    if code == _DENSE:
        w2 = p[0]
        b2 = p[1]
        standard = p[2]
        fan_in = p[3]
        bias_grad = p[4]
        if need_ntk:
            if standard != 0.0:
                for j in range(m):
                    old = q12[j]
                    ntk[j] = fan_in * old + w2 * ntk[j] + bias_grad
                    q12[j] = w2 * old + b2
            else:
                for j in range(m):
                    new = w2 * q12[j] + b2
                    ntk[j] = new + w2 * ntk[j]
                    q12[j] = new
        else:
            for j in range(m):
                q12[j] = w2 * q12[j] + b2
    elif code == _ABRELU:
        ab = p[0] * p[1]
        c2 = (p[1] - p[0]) ** 2
        for j in range(m):
            s = math.sqrt(q11[j] * q22[j])
            rho = q12[j] / s if s > 0.0 else 0.0
            rho = min(max(rho, -1.0), 1.0)
            # pi - theta as arccos(-rho) (not pi minus a rounded theta), so that
            # sin(theta) + (pi - theta) rho, which cancels as rho -> -1, errs only by the
            # conditioning of the kernel there (~ eps / (pi - theta)^2 relative).
            phi = acos(-rho)
            sin_theta = math.sqrt((1.0 - rho) * (1.0 + rho))
            k1 = s * (sin_theta + phi * rho) / _TWO_PI
            if need_ntk:
                ntk[j] *= ab + c2 * phi / _TWO_PI
            q12[j] = ab * q12[j] + c2 * k1
    elif code == _ERF:
        # As duals._erf: D = 1 + 2b^2 (q11 + q22) + 4 b^4 max(q11 q22 - q12^2, 0) is
        # (1 + 2b^2 q11)(1 + 2b^2 q22)(1 - arg^2) without cancellation.
        a2 = p[0]
        b2 = p[1]
        c2 = p[2]
        for j in range(m):
            r = f11[j] * f22[j]          # 1 / sqrt((1 + 2 b^2 q11)(1 + 2 b^2 q22))
            x = q12[j]
            gram = max(q11[j] * q22[j] - x * x, 0.0)
            root = math.sqrt(1.0 + 2.0 * b2 * (q11[j] + q22[j]) + 4.0 * b2 * b2 * gram)
            arg = min(max(2.0 * b2 * x * r, -1.0), 1.0)
            if need_ntk:
                ntk[j] *= a2 * b2 * (4.0 / _PI) / root
            q12[j] = a2 * (2.0 / _PI) * asin_cos(arg, min(root * r, 1.0)) + c2


@jit
def _diagonal_sequence(codes, params, q):  # pragma: no cover - compiled
    """Per-input variances entering each op (row ``len(codes)``: the output), and the
    features each op reads of them (see :func:`_feature`)."""
    n = q.size
    out = np.empty((codes.size + 1, n))
    features = np.empty((codes.size, n))
    cur = q.copy()
    dummy = np.empty(n)
    for l in range(codes.size):
        out[l] = cur
        for k in range(n):
            features[l, k] = _feature(codes[l], params[l], cur[k])
        marginal = out[l].copy()
        _apply_op(codes[l], params[l], marginal, marginal, features[l], features[l], cur,
                  dummy, False, n)
    out[codes.size] = cur
    return out, features


@jit
def _row(codes, params, d1, d2, f1, f2, i, j0, q12, ntk, need_ntk):  # pragma: no cover
    m = q12.size
    q11 = np.empty(m)
    f11 = np.empty(m)
    for l in range(codes.size):
        q11[:] = d1[l, i]
        f11[:] = f1[l, i]
        _apply_op(codes[l], params[l], q11, d2[l, j0:j0 + m], f11, f2[l, j0:j0 + m], q12,
                  ntk, need_ntk, m)


@parallel_jit
def _rows(codes, params, d1, d2, f1, f2, nngp, ntk, need_ntk, symmetric):  # pragma: no cover
    n1 = nngp.shape[0]
    n_tasks = (n1 + 1) // 2 if symmetric else n1
    for t in numba.prange(n_tasks):
        if symmetric:
            # Upper triangle only; row t is paired with row n1-1-t so tasks balance.
            _row(codes, params, d1, d2, f1, f2, t, t, nngp[t, t:], ntk[t, t:], need_ntk)
            other = n1 - 1 - t
            if other != t:
                _row(codes, params, d1, d2, f1, f2, other, other, nngp[other, other:],
                     ntk[other, other:], need_ntk)
        else:
            _row(codes, params, d1, d2, f1, f2, t, 0, nngp[t], ntk[t], need_ntk)


@parallel_jit
def _mirror(a):  # pragma: no cover - compiled
    """Copy the upper triangle of a square array into the lower one, tile by tile."""
    n = a.shape[0]
    tile = 32
    n_tiles = (n + tile - 1) // tile
    n_pairs = n_tiles * (n_tiles + 1) // 2
    for t in numba.prange(n_pairs):
        bi = int((math.sqrt(8.0 * t + 1.0) - 1.0) / 2.0)       # t -> (bi, bj), bj <= bi
        while bi * (bi + 1) // 2 > t:
            bi -= 1
        while (bi + 1) * (bi + 2) // 2 <= t:
            bi += 1
        bj = t - bi * (bi + 1) // 2
        for i in range(bi * tile, min((bi + 1) * tile, n)):
            for j in range(bj * tile, min((bj + 1) * tile, i)):
                a[i, j] = a[j, i]


@parallel_jit
def all_finite(a):  # pragma: no cover - compiled
    """True if no entry of the 2-D array is NaN or infinite."""
    bad = 0
    for i in numba.prange(a.shape[0]):
        for j in range(a.shape[1]):
            if not math.isfinite(a[i, j]):
                bad += 1
    return bad == 0


def _program(spec: arch.Layer, channels: int, ops: list) -> int:
    """Append ``(code, params)`` of each layer to ``ops``; return the output channels."""
    if isinstance(spec, arch.Serial):
        for layer in spec.layers:
            channels = _program(layer, channels, ops)
    elif isinstance(spec, arch.Dense):
        b2 = 0.0 if spec.b_std is None else spec.b_std ** 2
        ops.append((_DENSE, (spec.W_std ** 2, b2, float(spec.parameterization == "standard"),
                             float(channels), float(spec.b_std is not None))))
        channels = spec.out_dim
    elif isinstance(spec, arch.ABRelu):
        ops.append((_ABRELU, (spec.a, spec.b, 0.0, 0.0, 0.0)))
    elif isinstance(spec, arch.Erf):
        ops.append((_ERF, (spec.a ** 2, spec.b ** 2, spec.c ** 2, 0.0, 0.0)))
    elif not isinstance(spec, arch.Identity):
        raise ArgumentTypeError(f"spec: no fused kernel for {type(spec).__name__}")
    return channels


def supports(spec: arch.Layer) -> bool:
    """Whether the fused path covers every layer of ``spec``."""
    if isinstance(spec, arch.Serial):
        return all(supports(layer) for layer in spec.layers)
    return isinstance(spec, (arch.Dense, arch.ABRelu, arch.Erf, arch.Identity))


def kernel(spec: arch.Layer, x1: np.ndarray, x2: np.ndarray | None, need_ntk: bool) -> Kernel:
    """NNGP/NTK of a fully connected ``spec`` on ``(N, d)`` inputs (see module docstring)."""
    ops: list = []
    channels = _program(spec, x1.shape[1], ops)
    codes = np.array([c for c, _ in ops], dtype=np.int64)
    params = np.array([p for _, p in ops], dtype=np.float64).reshape(len(ops), _N_PARAMS)
    symmetric = x2 is None
    d = x1.shape[1]
    if symmetric:
        # Upper triangle only (dsyrk on the Fortran view), scaled by 1/d in BLAS.
        nngp = blas.dsyrk(1.0 / d, np.asfortranarray(x1.T), trans=1, lower=1).T
        q1 = np.diagonal(nngp).copy()
        q2 = q1
    else:
        nngp = x1 @ x2.T
        nngp /= d
        q1 = np.einsum("ic,ic->i", x1, x1) / d
        q2 = np.einsum("ic,ic->i", x2, x2) / d
    d1, f1 = _diagonal_sequence(codes, params, q1)
    d2, f2 = (d1, f1) if symmetric else _diagonal_sequence(codes, params, q2)
    # Without an NTK the compiled code never touches its ntk argument: pass nngp itself.
    ntk = np.zeros_like(nngp) if need_ntk else nngp
    _rows(codes, params, d1, d2, f1, f2, nngp, ntk, need_ntk, symmetric)
    if symmetric:
        _mirror(nngp)
        if need_ntk:
            _mirror(ntk)
    return Kernel(nngp=nngp, ntk=ntk if need_ntk else None, cov1=d1[-1], cov2=d2[-1],
                  layout="fc", channels=channels, x1_is_x2=symmetric)
