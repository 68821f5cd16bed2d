"""Dual kernels of any elementwise function by Hermite (Mehler) series.

For ``(u, v) ~ N(0, [[q11, q12], [q12, q22]])`` with correlation ``rho``, Mehler's
formula gives (O'Donnell, *Analysis of Boolean Functions*, ch. 11; Daniely, Frostig &
Singer 2016, arXiv:1602.05897)::

    E[f(u) g(v)] = sum_k c_k(q11) d_k(q22) rho^k,    c_k(q) = E[f(sqrt(q) a) h_k(a)],

with ``h_k = He_k / sqrt(k!)`` the orthonormal probabilists' Hermite polynomials and
``a ~ N(0, 1)``. Gaussian integration by parts (Stein's lemma,
``E[g(a) He_{k+1}(a)] = E[g'(a) He_k(a)]``) gives the derivative's coefficients from the
function's own, so the NTK map needs no derivative of ``f``::

    E[f'(sqrt(q) a) h_k(a)] = sqrt((k+1) / q) c_{k+1}(q).

Error control. By Cauchy-Schwarz the series truncated after K terms errs by at most
``sqrt(T_K(q11) T_K(q22))`` for every ``|rho| <= 1``, where ``T_K = sum_{k>K} c_k^2``;
an entry with ``|rho| < 1`` needs only ``log(tol) / log|rho|`` terms. The coefficients are
one-dimensional integrals, computed by the trapezoidal rule on ``[-40, 40]`` in the
variable ``a`` (spectrally accurate for smooth integrands decaying at both ends) with the
spacing halved until the coefficients agree to ``1e-11``; Parseval,
``sum_k c_k^2 = E[f^2]``, is checked on the same grid and bounds the truncation error
(at most ``1e-11`` of the natural scale; far smaller for moderate variances). Large preactivation variances only
make the coefficients decay more slowly, so the method stays accurate where a fixed 2-D
Gauss-Hermite rule (neural-tangents' ``ElementwiseNumerical``) needs degree ~1000.
A function the series cannot resolve (a kink, a jump) raises :class:`ConvergenceError`;
use a closed-form activation for those.

Large variances (above 30) of a bounded activation with exponentially approached limits
(tanh, sigmoids) leave the series, whose length grows like the variance, for an exact
decomposition around ``A erf(z) + B`` evaluated by adaptive quadrature to 1e-14 of the
entry's scale (see "Large variances" below); it holds up to variances of 1e300 and tends
to the arcsine kernel of the scaled sign. Other functions keep the series and its error.

Why this module keeps its own grid instead of a rule of :mod:`nnphys.theory.gaussian`: the
coefficients are integrals against the Hermite functions ``psi_k = h_k sqrt(phi)`` up to
``k = 4096``, which are bounded but oscillate out to ``|a| ~ 2 sqrt(k)``; the shared rules
fold the whole Gaussian weight into their weights and truncate at ``|z| <= 9`` (fine for
``E[f]`` and ``E[f g]``, too narrow here), and the spacing must be refined adaptively until
the coefficients settle, which a fixed rule cannot do.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from scipy import integrate, special

from ... import checks
from ...errors import ArgumentTypeError, ConvergenceError, NumericalError, ParameterError
from ...models import network as arch

__all__ = ["dual", "hermite_coefficients"]

_HALF_WIDTH = 40.0          # integrand ~ exp(-a^2 / 2): e^{-800} beyond
_INITIAL_STEP = 0.125
_MIN_STEP = 1.0 / 256
_MAX_TERMS = 4096
_COEF_TOL = 1e-11           # agreement of successive grids, relative to sqrt(E f^2)
_SERIES_TOL = 1e-15         # relative to the entry's natural scale sqrt(E f^2 E g^2)
_PARSEVAL_TOL = 1e-11       # accepted tail at the largest number of terms
_TAIL_TOL = 1e-13           # target tail weight: bounds every entry's error by 2e-13 of its scale


@functools.lru_cache(maxsize=32)
def _grid(step: float, n_terms: int) -> tuple[np.ndarray, np.ndarray]:
    """The trapezoid nodes on [-40, 40] and the Hermite functions on them (read-only)."""
    a = np.arange(-_HALF_WIDTH, _HALF_WIDTH + step / 2, step)
    psi = _hermite_functions(a, n_terms)
    a.flags.writeable = False
    psi.flags.writeable = False
    return a, psi


def _hermite_functions(a: np.ndarray, n_terms: int) -> np.ndarray:
    """``psi_k(a) = h_k(a) sqrt(phi(a))`` for k < n_terms: shape (n_terms, len(a)).

    The Hermite functions obey ``psi_{k+1} = (a psi_k - sqrt(k) psi_{k-1}) / sqrt(k+1)``
    and are bounded, so the recursion neither overflows nor underflows on [-40, 40].
    """
    psi = np.empty((n_terms, a.size))
    psi[0] = (2 * math.pi) ** -0.25 * np.exp(-a * a / 4)
    if n_terms > 1:
        psi[1] = a * psi[0]
    for k in range(1, n_terms - 1):
        psi[k + 1] = (a * psi[k] - math.sqrt(k) * psi[k - 1]) / math.sqrt(k + 1)
    return psi


def _coefficients_on_grid(fn, qs: np.ndarray, step: float, n_terms: int):
    a, psi = _grid(step, n_terms)
    values = np.asarray(fn(np.sqrt(qs)[:, None] * a[None, :]), dtype=np.float64)
    if values.shape != (qs.size, a.size):
        raise ValueError("fn: must map an array to an array of the same shape")
    if not np.all(np.isfinite(values)):
        raise NumericalError("fn: returned NaN or infinity within 40 standard deviations "
                             f"of the preactivation (variances up to {qs.max():.3g})")
    weighted = values * psi[0] * step            # f(sqrt(q) a) sqrt(phi(a)) da
    coef = weighted @ psi.T                       # (n_q, n_terms)
    norm2 = (values * values * (psi[0] * psi[0])) @ np.full(a.size, step)
    return coef, norm2


def hermite_coefficients(fn, qs) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal Hermite coefficients ``c[u, k] = E[fn(sqrt(qs[u]) a) h_k(a)]``.

    Returns ``(c, norm2)`` where ``norm2[u] = E[fn(sqrt(q_u) a)^2]``; the number of
    columns is the number of terms needed for every ``q``. Terms are added (doubling)
    until the Parseval tail ``E[f^2] - sum_k c_k^2`` is below ``1e-13`` of ``E[f^2]``
    (accepted up to ``1e-11`` at 4096 terms); the tail bounds the error of every kernel
    entry relative to its natural scale ``sqrt(E[f(u)^2] E[f(v)^2])``. (The coefficients of a function varying on a scale ``1/sqrt(q)`` decay like
    ``(1 - 1/(2q))^k``, so the terms needed grow linearly with the variance.)

    Raises:
        ConvergenceError: the coefficients do not settle with the grid (``fn`` is not
            smooth enough) or the tail stays above tolerance at 4096 terms.
    """
    if not callable(fn):
        raise ArgumentTypeError(f"fn: must be callable, got {type(fn).__name__}")
    qs = checks.finite_array("qs", qs, ndim=1, low=0.0)
    if qs.size == 0:
        raise ParameterError("qs: must hold at least one variance")
    n_terms = 64
    while True:
        step = min(_INITIAL_STEP, 1.0 / math.sqrt(4 * n_terms + 2))
        coef, norm2 = _coefficients_on_grid(fn, qs, step, n_terms)
        while True:
            step /= 2
            finer, norm2 = _coefficients_on_grid(fn, qs, step, n_terms)
            scale = np.sqrt(np.maximum(norm2, np.finfo(float).tiny))[:, None]
            change = np.max(np.abs(finer - coef) / scale)
            coef = finer
            if change < _COEF_TOL:
                break
            if step < _MIN_STEP:
                raise ConvergenceError(
                    "Elementwise: the Hermite coefficients do not converge with the "
                    f"quadrature grid (change {change:.1e}); the function is not smooth "
                    "enough for the series, use a closed-form activation", residual=change)
        tail = _parseval_tail(coef, norm2)
        if np.all(tail <= _TAIL_TOL) or n_terms >= _MAX_TERMS:
            break
        n_terms *= 2
    if np.any(tail > _PARSEVAL_TOL):
        worst = int(np.argmax(tail))
        raise ConvergenceError(
            f"Elementwise: the Hermite series leaves {tail[worst]:.1e} of E[f^2] after "
            f"{n_terms} terms at variance {qs[worst]:.3g}; the function varies too fast at "
            "this variance (or is not smooth)", iterations=n_terms, residual=float(tail[worst]))
    # Drop the trailing terms whose total weight is below the tolerance as well.
    trailing = np.cumsum((coef * coef)[:, ::-1], axis=1)[:, ::-1] / np.maximum(
        norm2, np.finfo(float).tiny)[:, None]
    negligible = np.all(trailing <= _TAIL_TOL, axis=0)
    n_used = int(np.argmax(negligible)) if negligible.any() else n_terms
    return coef[:, :max(n_used, 2)], norm2


def _parseval_tail(coef, norm2):
    """``(E[f^2] - sum_k c_k^2) / E[f^2]``: the weight the computed terms miss."""
    return np.abs(norm2 - (coef * coef).sum(axis=1)) / np.maximum(norm2, np.finfo(float).tiny)


def _suffix_norms(coef: np.ndarray) -> np.ndarray:
    """``R[u, k] = sqrt(sum_{m >= k} c[u, m]^2)``: by Cauchy-Schwarz the terms from ``k`` on
    contribute at most ``|r|^k R1[i, k] R2[j, k]`` to an entry."""
    return np.sqrt(np.cumsum((coef * coef)[:, ::-1], axis=1)[:, ::-1])


@numba.njit(inline="always", cache=True)
def _series_at(c1, c2, r1, r2, i, j, r, tol):  # pragma: no cover - compiled
    """``sum_k c1[i, k] c2[j, k] r^k``, stopped once the rest is provably below
    ``tol`` times the entry's scale ``r1[i, 0] r2[j, 0]``."""
    acc = c1[i, 0] * c2[j, 0]
    bound = tol * r1[i, 0] * r2[j, 0]
    power = 1.0
    for k in range(1, c1.shape[1]):
        power *= r
        if abs(power) * r1[i, k] * r2[j, k] < bound:
            break
        acc += c1[i, k] * c2[j, k] * power
    return acc


@numba.njit(inline="always", cache=True)
def _correlation(q11, q12, q22):  # pragma: no cover - compiled
    s = math.sqrt(q11 * q22)
    r = q12 / s if s > 0.0 else 0.0
    return min(max(r, -1.0), 1.0)


@numba.njit(parallel=True, cache=True)
def _sum_series(c, rc, idx1, idx2, rho, tol, out):  # pragma: no cover - compiled
    for e in numba.prange(rho.size):
        out[e] = _series_at(c, c, rc, rc, idx1[e], idx2[e], rho[e], tol)


@numba.njit(parallel=True, cache=True)
def _sum_series_matrix(c, rc, dc, rdc, idx1, idx2, q11, q22, q12, tol, nngp, dot,
                       need_dot):  # pragma: no cover - compiled
    """Fully connected layout: rows ``i`` with variance ``q11[i]``, columns ``q22[j]``."""
    for i in numba.prange(q12.shape[0]):
        for j in range(q12.shape[1]):
            r = _correlation(q11[i], q12[i, j], q22[j])
            nngp[i, j] = _series_at(c, c, rc, rc, idx1[i], idx2[j], r, tol)
            if need_dot:
                dot[i, j] = _series_at(dc, dc, rdc, rdc, idx1[i], idx2[j], r, tol)


def _derivative_coefficients(fn_prime, coef, qs):
    """Coefficients of ``f'``: ``sqrt((k+1)/q) c_{k+1}``; at q = 0 only ``f'(0)``."""
    k = np.arange(1, coef.shape[1])
    dcoef = np.zeros_like(coef)
    positive = qs > 0
    dcoef[positive, :-1] = coef[positive, 1:] * np.sqrt(k[None, :] / qs[positive, None])
    if np.any(~positive):
        if fn_prime is not None:
            slope = float(np.asarray(fn_prime(np.zeros(1)))[0])
        else:
            raise ParameterError("activation: Elementwise: a preactivation with variance 0 "
                                 "needs fn_prime to give the NTK map")
        dcoef[~positive, 0] = slope
    return dcoef


def _barycentric_matrix(nodes: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Interpolation matrix from values at Chebyshev points of the first kind to ``x``."""
    n = nodes.size
    weights = (-1.0) ** np.arange(n) * np.sin((2 * np.arange(n) + 1) * np.pi / (2 * n))
    diff = x[:, None] - nodes[None, :]
    exact = diff == 0
    diff[exact] = 1.0
    terms = weights / diff
    matrix = terms / terms.sum(axis=1, keepdims=True)
    rows = np.any(exact, axis=1)
    matrix[rows] = exact[rows].astype(float)
    return matrix


def _interpolated_coefficients(fn, qs: np.ndarray) -> np.ndarray:
    """Coefficients at many variances by Chebyshev interpolation in ``sqrt(q)``.

    ``c_k`` is analytic in ``sqrt(q)``; the interpolant's degree doubles (16 .. 128) until it
    reproduces direct computations at five of the variances to ``1e-12`` of the norm;
    otherwise every variance is computed directly.
    """
    s = np.sqrt(qs)
    lo, hi = s.min(), s.max()
    probes = np.unique(np.quantile(np.arange(qs.size), [0, 0.25, 0.5, 0.75, 1.0]).astype(int))
    direct, norm2 = hermite_coefficients(fn, qs[probes])
    for n in (16, 32, 64, 128):
        nodes = (lo + hi) / 2 + (hi - lo) / 2 * np.cos((2 * np.arange(n) + 1) * np.pi / (2 * n))
        table, _ = hermite_coefficients(fn, nodes ** 2)
        width = max(table.shape[1], direct.shape[1])
        table = np.pad(table, ((0, 0), (0, width - table.shape[1])))
        reference = np.pad(direct, ((0, 0), (0, width - direct.shape[1])))
        estimate = _barycentric_matrix(nodes, s[probes]) @ table
        error = np.max(np.abs(estimate - reference) / np.sqrt(norm2)[:, None])
        if error < 1e-12:
            return _barycentric_matrix(nodes, s) @ table
    return hermite_coefficients(fn, qs)[0]


_DIRECT_MAX = 16          # distinct variances computed directly; more are interpolated
_cache: list = [None, None, None]      # (fn, variances bytes, coefficients) of the last call


def _coefficients_for(fn, qs: np.ndarray) -> np.ndarray:
    """Coefficients for sorted distinct variances ``qs``, remembering the last call (the
    kernel and the per-input variances of one layer need the same table)."""
    key = qs.tobytes()
    if _cache[0] is fn and _cache[1] == key:
        return _cache[2]
    if qs.size <= _DIRECT_MAX or qs[-1] - qs[0] <= 1e-14 * qs[-1]:
        coef = hermite_coefficients(fn, qs)[0]
    else:
        coef = _interpolated_coefficients(fn, qs)
    _cache[:] = [fn, key, coef]
    return coef




# ---------------------------------------------------------------------------------------
# Large variances: the exact decomposition around the saturated limit
# ---------------------------------------------------------------------------------------
#
# The series needs a number of terms growing like the variance (4096 terms stop at q ~ 90
# for tanh). A bounded activation with limits f(+inf) = P, f(-inf) = M that it approaches
# exponentially fast is split as
#
#     f = L + g,   L(z) = A erf(z) + B,   A = (P - M)/2,  B = (P + M)/2,
#
# with g = f - L smooth and negligible (< 1e-16 of |A| + |B|) beyond |z| = _G_SUPPORT. Then
#
#     E[f(u) f(v)] = E[L L] + E[g(u) L(v)] + E[L(u) g(v)] + E[g(u) g(v)]
#
# exactly: E[L L] is the Erf dual (Williams 1997), the cross terms are one-dimensional
# integrals over the localised g with the conditional expectation in closed form,
# E[A erf(v) + B | u = x] = A erf(mu / sqrt(1 + 2 s^2)) + B (v | u ~ N(mu, s^2)), and
# E[g g] conditions on the variable of larger variance and smooths the other g by
# Gauss-Hermite (s <= 0.4) or a trapezoid on g's support (s > 0.4, Gaussian resolved).
# The derivative kernel is the same with f' = L' + g', L'(z) = (2A/sqrt(pi)) e^{-z^2}
# (the Gaussian dual, E[L'(v) | u] = A' exp(-mu^2/(1 + 2s^2)) / sqrt(1 + 2s^2)). The outer
# integrals are adaptive Gauss-Kronrod (scipy.integrate.quad_vec over all entries at once)
# to 1e-14 of the entry's scale; as q -> inf the result tends to the arcsine (scaled
# sign) kernel, which E[L L] reproduces, and the other terms are the O(q^-1/2) corrections.

_LARGE_VARIANCE = 30.0       # entries with a variance above this leave the series
_G_SUPPORT = 40.0            # |g| < 1e-16 (|A| + |B|) beyond (checked)
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2 * math.pi)
_TRAP_STEP = 0.25
_QUAD_TOL = 1e-14


def _saturation(fn):
    """``(A, B)`` of a bounded ``fn`` that reaches its limits exponentially fast, else None."""
    probe = np.array([-1e6, -1e3, -2 * _G_SUPPORT, -_G_SUPPORT, _G_SUPPORT, 2 * _G_SUPPORT,
                      1e3, 1e6])
    with np.errstate(all="ignore"):
        values = np.asarray(fn(probe), dtype=float)
    if values.shape != probe.shape or not np.all(np.isfinite(values)):
        return None
    lo, hi = values[0], values[-1]
    scale = abs(lo) + abs(hi)
    if scale == 0 or np.any(np.abs(values[:4] - lo) > 1e-16 * scale) or \
            np.any(np.abs(values[4:] - hi) > 1e-16 * scale):
        return None
    return (hi - lo) / 2, (hi + lo) / 2


_DIFF_STEP = 1.0 / 64
_DIFF_WEIGHTS = (4 / 5, -1 / 5, 4 / 105, -1 / 280)


def _central_difference(fn, z):
    """``fn'(z)`` by the 8th-order central difference with step 1/64, for an ``Elementwise``
    given without ``fn_prime``: truncation ~h^8 |f^(9)| / 630 ~ 1e-15 for functions analytic
    in a strip of half-width ~1.5 (tanh: pi/2), roundoff ~ 1e-14 of |f|."""
    return sum(w * (fn(z + k * _DIFF_STEP) - fn(z - k * _DIFF_STEP))
               for k, w in enumerate(_DIFF_WEIGHTS, start=1)) / _DIFF_STEP


def _gaussian_density(x, var):
    return np.exp(-x * x / (2 * var)) / np.sqrt(2 * math.pi * var)


def _integrate(integrand, scale):
    """``int_{-S}^{S} integrand(x) dx`` of a vector integrand (adaptive, quad_vec)."""
    value, err = integrate.quad_vec(integrand, -_G_SUPPORT, _G_SUPPORT,
                                    epsabs=_QUAD_TOL * scale, epsrel=0.0, norm="max",
                                    points=(0.0,), limit=2000)
    if not np.all(np.isfinite(value)) or err > 1e3 * _QUAD_TOL * scale:
        raise ConvergenceError(f"Elementwise: the large-variance quadrature reached only "
                               f"{err:.1e} (target {_QUAD_TOL * scale:.1e})", residual=err)
    return value


def _smoothed(g, mu, s):
    """``E[g(mu + s z)]``, z ~ N(0, 1), for vectors mu, s."""
    out = np.empty(mu.shape)
    narrow = s <= 0.4
    if np.any(narrow):
        nodes = mu[narrow, None] + s[narrow, None] * _GH_NODES[None, :]
        out[narrow] = g(nodes) @ _GH_WEIGHTS
    if np.any(~narrow):
        y = np.arange(-_G_SUPPORT, _G_SUPPORT + _TRAP_STEP / 2, _TRAP_STEP)
        w = _gaussian_density(y[None, :] - mu[~narrow, None], (s[~narrow] ** 2)[:, None])
        out[~narrow] = (w * _TRAP_STEP) @ g(y)
    return out


def _pair_terms(g, cond, qa, qb, c, scale):
    """``E[g(a) L(b)] + E[L(a) g(b)] + E[g(a) g(b)]`` for (a, b) with variances qa >= qb,
    covariance c; ``cond(mu, s2)`` is ``E[L(w)]`` for w ~ N(mu, s2)."""
    s2_b = np.maximum(qb - c * c / qa, 0.0)           # var(b | a)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2_a = np.where(qb > 0, np.maximum(qa - c * c / np.where(qb > 0, qb, 1.0), 0.0), qa)
        ratio_b = np.where(qb > 0, c / np.where(qb > 0, qb, 1.0), 0.0)
    root_s2_b = np.sqrt(s2_b)

    def over_a(x):
        # g(a = x) p(x) (E[L(b) | a = x] + E[g(b) | a = x])
        mu = c * x / qa
        rest = cond(mu, s2_b) + _smoothed(g, mu, root_s2_b)
        return float(g(np.array([x]))[0]) * _gaussian_density(x, qa) * rest

    # E[L(a) g(b)]: over b; a variance below 1 in the standardised variable z = b / sqrt(qb)
    # on |z| <= 12 (x = z * 40 / 12), else over b itself on g's support.
    small = qb < 1.0
    root_b = np.sqrt(qb)

    def over_b(x):
        z = x * (12.0 / _G_SUPPORT)
        y = np.where(small, root_b * z, x)
        weight = np.where(small, _gaussian_density(z, 1.0) * (12.0 / _G_SUPPORT),
                          _gaussian_density(x, np.where(small, 1.0, qb)))
        return g(y) * weight * cond(ratio_b * y, s2_a)

    return _integrate(over_a, scale) + _integrate(over_b, scale)


def _large_variance_dual(activation, q11, q12, q22, need_dot, saturation):
    """``(E[f f], E[f' f'] or None)`` on flat arrays by the decomposition above."""
    big_a, big_b = saturation
    fn = activation.function
    qa, qb = np.maximum(q11, q22), np.minimum(q11, q22)
    det = 1 + 2 * (qa + qb) + 4 * np.maximum(qa * qb - q12 * q12, 0.0)
    # E[L L]: the Erf dual of A erf(z) + B (cancellation-free form, see duals._erf)
    nngp = big_a * big_a * (2 / math.pi) * np.arctan2(2 * q12, np.sqrt(det)) + big_b * big_b
    nngp = nngp + _pair_terms(lambda z: fn(z) - (big_a * special.erf(z) + big_b),
                              lambda mu, s2: big_a * special.erf(mu / np.sqrt(1 + 2 * s2))
                              + big_b, qa, qb, q12, (abs(big_a) + abs(big_b)) ** 2)
    if not need_dot:
        return nngp, None
    fn_prime = activation.function_prime or functools.partial(_central_difference, fn)
    slope = 2 * big_a / math.sqrt(math.pi)             # L'(z) = slope exp(-z^2)
    dot = slope * slope / np.sqrt(det)                  # the Gaussian dual, b = -1
    dot = dot + _pair_terms(lambda z: fn_prime(z) - slope * np.exp(-z * z),
                            lambda mu, s2: slope * np.exp(-mu * mu / (1 + 2 * s2))
                            / np.sqrt(1 + 2 * s2), qa, qb, q12, slope * slope)
    return nngp, dot


_saturations: dict = {}


def _saturation_of(fn):
    """:func:`_saturation`, remembered per function."""
    key = id(fn)
    if key not in _saturations or _saturations[key][0] is not fn:
        _saturations[key] = (fn, _saturation(fn))
    return _saturations[key][1]


def dual(activation, q11, q12, q22, need_dot: bool):
    """``(E[f(u) f(v)], E[f'(u) f'(v)] or None)`` of an ``Elementwise`` activation.

    Entries with a variance above 30 use the large-variance decomposition when ``f`` is
    bounded with exponentially approached limits (tanh, sigmoids); otherwise the series,
    which raises :class:`ConvergenceError` (naming the variance) where it cannot converge.
    """
    if not isinstance(activation, arch.ElementwiseFunction):
        raise ArgumentTypeError(f"activation: must be an Elementwise activation, got "
                                f"{type(activation).__name__}")
    q11, q12, q22 = (checks.finite_array(name, q) for name, q in
                     (("q11", q11), ("q12", q12), ("q22", q22)))
    shape = np.broadcast_shapes(q11.shape, q12.shape, q22.shape)
    if np.any(q11 < 0) or np.any(q22 < 0):
        raise NumericalError(f"{activation!r}: negative preactivation variance "
                             f"{min(q11.min(), q22.min()):.3g}")
    top = max(float(q11.max(initial=0.0)), float(q22.max(initial=0.0)))
    saturation = _saturation_of(activation.function) if top > _LARGE_VARIANCE else None
    if saturation is None:
        return _series_dual(activation, q11, q12, q22, need_dot, shape)
    if not np.isfinite(top):
        raise NumericalError(f"{activation!r}: preactivation variance {top:.3g} is not finite")
    large = np.broadcast_to(np.maximum(q11, q22) > _LARGE_VARIANCE, shape)
    nngp, dot = _series_dual(activation, np.minimum(q11, _LARGE_VARIANCE), q12,
                             np.minimum(q22, _LARGE_VARIANCE), need_dot, shape)
    nngp = np.array(nngp)
    dot = None if dot is None else np.array(dot)
    pick = lambda v: np.broadcast_to(v, shape)[large]        # noqa: E731
    big_nngp, big_dot = _large_variance_dual(activation, pick(q11), pick(q12), pick(q22),
                                             need_dot, saturation)
    nngp[large] = big_nngp
    if need_dot:
        dot[large] = big_dot
    return nngp, dot


def _series_dual(activation, q11, q12, q22, need_dot, shape):
    """The Mehler-series dual (module docstring)."""
    qs, inverse = np.unique(np.concatenate([q11.ravel(), q22.ravel()]), return_inverse=True)
    coef = _coefficients_for(activation.function, qs)
    dcoef = _derivative_coefficients(activation.function_prime, coef, qs) if need_dot else coef
    inv1 = inverse[:q11.size].reshape(q11.shape)
    inv2 = inverse[q11.size:].reshape(q22.shape)
    if q12.ndim == 2 and q11.shape == (shape[0], 1) and q22.shape == (1, shape[1]):
        nngp = np.empty(shape)
        dot = np.empty(shape) if need_dot else nngp
        _sum_series_matrix(coef, _suffix_norms(coef), dcoef, _suffix_norms(dcoef), inv1[:, 0],
                           inv2[0], q11[:, 0], q22[0], np.ascontiguousarray(q12),
                           _SERIES_TOL, nngp, dot, need_dot)
        return nngp, (dot if need_dot else None)
    idx1 = np.broadcast_to(inv1, shape).ravel()
    idx2 = np.broadcast_to(inv2, shape).ravel()
    s = np.sqrt(np.broadcast_to(q11, shape) * np.broadcast_to(q22, shape)).ravel()
    q12_flat = np.broadcast_to(q12, shape).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.clip(np.where(s > 0, q12_flat / np.where(s > 0, s, 1.0), 0.0), -1.0, 1.0)
    nngp = np.empty(rho.size)
    _sum_series(coef, _suffix_norms(coef), idx1, idx2, rho, _SERIES_TOL, nngp)
    dot = None
    if need_dot:
        dot = np.empty(rho.size)
        _sum_series(dcoef, _suffix_norms(dcoef), idx1, idx2, rho, _SERIES_TOL, dot)
        dot = dot.reshape(shape)
    return nngp.reshape(shape), dot
