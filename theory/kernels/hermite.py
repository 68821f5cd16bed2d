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

Large variances (above 30) of an activation whose asymptotes are linear or constant and
approached exponentially fast -- bounded ones (tanh, sigmoids) and rectifier-like ones
(softplus, SiLU/swish) -- leave the series, whose length grows like the variance, for an
exact decomposition ``f = p z + r Gelu(z) + A erf(z) + B + g`` with a localised remainder
``g`` (see "Large variances" below): closed forms plus one-dimensional corrections, by
fixed Gauss rules over all entries at once with a second rule as error estimate (1e-13 of
the entry's scale), adaptive quadrature where that estimate fails. It tends to the arcsine
kernel of the scaled sign (bounded, up to variances of 1e300) or to the arc-cosine kernel of
``a' min(z, 0) + a max(z, 0)`` (rectifiers; finite while the Gelu dual is, ~1e150). The
series at the variances clipped to 30 still runs and raises for a function that is not
smooth (ELU, with its jump in f''). Other functions keep the series and its error.

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
            changes = np.max(np.abs(finer - coef) / scale, axis=1)
            change = float(changes.max())
            coef = finer
            if change < _COEF_TOL:
                break
            if step < _MIN_STEP:
                raise ConvergenceError(
                    "Elementwise: the Hermite coefficients do not converge with the "
                    f"quadrature grid (change {change:.1e} at variance "
                    f"{qs[int(np.argmax(changes))]:.3g}); the function is not smooth enough "
                    "for the series at this variance, use a closed-form activation",
                    residual=change)
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


_NEAR = 0.95        # |rho| above this: summed entry by entry (the row pass stops earlier)


@numba.njit(cache=True)
def _tail_ratios(r):  # pragma: no cover - compiled
    """``R[u, k] / R[u, 0]`` (0 for a zero function) and its maximum over ``u`` per ``k``."""
    ratio = np.zeros_like(r)
    for u in range(r.shape[0]):
        if r[u, 0] > 0.0:
            ratio[u] = r[u] / r[u, 0]
    top = np.zeros(r.shape[1])
    for u in range(r.shape[0]):
        for k in range(r.shape[1]):
            top[k] = max(top[k], ratio[u, k])
    return ratio, top


@numba.njit(cache=True)
def _row_terms(ratio_row, ratio_top, rmax, tol):  # pragma: no cover - compiled
    """Terms ``0 .. k-1`` that every entry of a row with ``|rho| <= rmax`` needs: the first
    ``k`` at which ``rmax^k ratio_row[k] ratio_top[k] < tol`` bounds every entry's own
    stopping test of :func:`_series_at` (suffix norms and powers only decrease in ``k``)."""
    power = 1.0
    for k in range(1, ratio_row.size):
        power *= rmax
        if power * ratio_row[k] * ratio_top[k] < tol:
            return k
    return ratio_row.size


@numba.njit(inline="always", cache=True)
def _row_series(a, ra, B, RB, da, dra, dB, dRB, rho, n_terms, tol, need_dot, acc, dacc,
                power, bound, dbound):  # pragma: no cover - compiled
    """One row of :func:`_series_at` for all columns at once (both series when
    ``need_dot``), ``k``-outer so that the columns' loop is vectorised: each entry adds
    term ``k`` while its own stopping test holds, which (being monotone in ``k``) adds the
    same terms in the same order: the same numbers."""
    n2 = rho.size
    for j in range(n2):
        acc[j] = a[0] * B[0, j]
        bound[j] = tol * ra[0] * RB[0, j]
        power[j] = 1.0
    if need_dot:
        for j in range(n2):
            dacc[j] = da[0] * dB[0, j]
            dbound[j] = tol * dra[0] * dRB[0, j]
    for k in range(1, n_terms):
        ak, rak, bk, rbk = a[k], ra[k], B[k], RB[k]
        if need_dot:
            dak, drak, dbk, drbk = da[k], dra[k], dB[k], dRB[k]
            for j in range(n2):
                pw = power[j] * rho[j]
                power[j] = pw
                mag = abs(pw)
                acc[j] += ak * bk[j] * pw if mag * rak * rbk[j] >= bound[j] else 0.0
                dacc[j] += dak * dbk[j] * pw if mag * drak * drbk[j] >= dbound[j] else 0.0
        else:
            for j in range(n2):
                pw = power[j] * rho[j]
                power[j] = pw
                acc[j] += ak * bk[j] * pw if abs(pw) * rak * rbk[j] >= bound[j] else 0.0


@numba.njit(cache=True)
def _columns(c, rc, idx2, n_terms):  # pragma: no cover - compiled
    """``c[idx2[j], k]`` and ``rc[idx2[j], k]`` laid out ``(k, j)``, for ``k < n_terms``."""
    B = np.zeros((n_terms, idx2.size))
    RB = np.zeros((n_terms, idx2.size))
    for j in range(idx2.size):
        for k in range(min(n_terms, c.shape[1])):
            B[k, j] = c[idx2[j], k]
            RB[k, j] = rc[idx2[j], k]
    return B, RB


@numba.njit(parallel=True, cache=True)
def _sum_series_matrix(c, rc, dc, rdc, idx1, idx2, q11, q22, q12, tol, nngp, dot,
                       need_dot):  # pragma: no cover - compiled
    """Fully connected layout: rows ``i`` with variance ``q11[i]``, columns ``q22[j]``:
    :func:`_series_at` for every entry, by rows (:func:`_row_series`) with the terms a
    row needs (:func:`_row_terms`, over its entries with ``|rho| <= _NEAR``); the entries
    above ``_NEAR`` (the diagonal, near-duplicates) one by one."""
    n1, n2 = q12.shape
    ratio, top = _tail_ratios(rc)
    dratio, dtop = _tail_ratios(rdc)
    terms = np.empty(n1, np.int64)
    for i in numba.prange(n1):
        rmax = 0.0
        for j in range(n2):
            r = abs(_correlation(q11[i], q12[i, j], q22[j]))
            if r <= _NEAR and r > rmax:
                rmax = r
        terms[i] = _row_terms(ratio[idx1[i]], top, rmax, tol)
        if need_dot:
            terms[i] = max(terms[i], _row_terms(dratio[idx1[i]], dtop, rmax, tol))
    n_terms = terms.max() if n1 > 0 else 1
    B, RB = _columns(c, rc, idx2, n_terms)
    dB, dRB = _columns(dc, rdc, idx2, n_terms if need_dot else 1)
    for i in numba.prange(n1):
        rho = np.empty(n2)
        power = np.empty(n2)
        bound = np.empty(n2)
        dbound = np.empty(n2)
        for j in range(n2):
            rho[j] = _correlation(q11[i], q12[i, j], q22[j])
        u = idx1[i]
        _row_series(c[u], rc[u], B, RB, dc[u], rdc[u], dB, dRB, rho, terms[i], tol, need_dot,
                    nngp[i], dot[i], power, bound, dbound)
        for j in range(n2):
            if abs(rho[j]) > _NEAR:
                nngp[i, j] = _series_at(c, c, rc, rc, idx1[i], idx2[j], rho[j], tol)
                if need_dot:
                    dot[i, j] = _series_at(dc, dc, rdc, rdc, idx1[i], idx2[j], rho[j], tol)


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
# Large variances: an exact decomposition around the asymptotes
# ---------------------------------------------------------------------------------------
#
# The series needs a number of terms growing like the variance (4096 terms stop at q ~ 90
# for tanh). A function whose asymptotes f(z) ~ a z + b (z -> +inf) and f(z) ~ a' z + c
# (z -> -inf) are reached exponentially fast -- bounded ones (tanh, sigmoids: a = a' = 0)
# and rectifier-like ones (softplus, SiLU/swish: a = 1, a' = 0) -- is split as
#
#     f = L + g,   L(z) = p z + r Gelu(z) + A erf(z) + B,
#     p = a',  r = a - a',  A = (b - c)/2,  B = (b + c)/2,   Gelu(z) = z Phi(z),
#
# whose asymptotes are f's, so g = f - L is smooth and negligible beyond |z| = _G_SUPPORT
# (checked). L is smooth (a ReLU or sign in its place would leave a kink or a jump in g),
# and every Gaussian expectation involving it is closed-form, so
#
#     E[f(u) f(v)] = E[L L] + E[g(u) L(v)] + E[L(u) g(v)] + E[g(u) g(v)]
#
# exactly, with E[L L] the sum of the Williams (1997) erf dual, the Gelu dual (Tsuchida et
# al. 2021, arXiv:2002.08517) and the cross moments (Stein's lemma):
# E[u Gelu(v)] = q12/2, E[u erf(v)] = 2 q12 / sqrt(pi (1 + 2 q22)),
# E[Gelu(u) erf(v)] = q12 / sqrt(pi (1 + 2 q22)), E[Gelu(v)] = q22 / sqrt(2 pi (1 + q22)).
# The cross terms are one-dimensional integrals over the localised g with the conditional
# expectation of L in closed form: for w ~ N(mu, s2), t = sqrt(1 + s2),
# E[Gelu(w)] = mu Phi(mu/t) + s2 phi(mu/t)/t and E[erf(w)] = erf(mu / sqrt(1 + 2 s2)).
# The derivative kernel is the same with f' = L' + g', E[L' L'] = d E[L L] / d q12 (Price's
# theorem). As q -> inf E[L L] tends to the ReLU-type (arc-cosine) or sign (arcsine) kernel
# and the other terms are the O(q^-1/2) corrections.
#
# Quadrature. All entries at once: Gauss-Legendre rules of orders 16 and 12 on panels of
# width 2 over g's support (break point at 0), g's support trimmed to where |g| exceeds
# 64 eps of |L|; the conditional E[g(b) | a] (a the variable of larger variance) by
# Gauss-Hermite (80 / 60 nodes) where its width s is below 0.6, and otherwise E[g g] by the
# bivariate density on the product grid, with exp(kappa x y) (kappa = q12 / det) summed as a
# Taylor series where its a-priori truncation and roundoff bound is below a tenth of the
# tolerance. The two rules' difference is the error estimate; entries where it exceeds
# 1e-13 of the entry's scale are redone by adaptive Gauss-Kronrod (quad_vec) to 1e-14.
# Cost per entry: O(nodes) for the cross terms and the Taylor form (~300 nodes for tanh,
# ~500 for SiLU), O(nodes x 80) with the Gauss-Hermite inner rule, O(nodes^2) on the
# product grid (|rho| near 1 but not within the Gauss-Hermite width: the slow case).

_LARGE_VARIANCE = 30.0       # entries with a variance above this leave the series
_G_SUPPORT = 40.0            # |g| < 64 eps |L| beyond (checked)
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(24)
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2 * math.pi)
_TRAP_STEP = 0.25
_QUAD_TOL = 1e-14
_FIXED_TOL = 1e-13           # accepted difference of the two fixed rules (of the scale)
_PANEL = 2.0
_ORDERS = (16, 12)           # Gauss-Legendre points per panel: value, error estimate
_GH_ORDERS = (80, 60)
_GH_WIDTH = 0.6              # conditional widths below: Gauss-Hermite; above: product grid
_STANDARD_LIMIT = 12.0       # standardised half-width for variances below 1
_TAYLOR_TERMS = 64
_CHUNK = 2 ** 21             # array elements per block of the three-index sums
_LINEAR_TOL = 64 * np.finfo(float).eps
_SQRT_PI = math.sqrt(math.pi)


def _saturation(fn):
    """The limit ``(p, r, A, B)`` of ``fn`` (see above) if its asymptotes are linear (or
    constant) and reached exponentially fast, else None.

    The asymptotes are fitted at ``|z| = 80, 160`` and must hold to 64 eps (relative to
    ``|L(z)|``) at ``|z| = 40`` and ``640``; a function approached algebraically
    (``z + 1/z``) or growing faster than linearly fails at one of them."""
    s = _G_SUPPORT
    probe = np.array([-16 * s, -4 * s, -2 * s, -s, s, 2 * s, 4 * s, 16 * s])
    with np.errstate(all="ignore"):
        values = np.asarray(fn(probe), dtype=float)
    if values.shape != probe.shape or not np.all(np.isfinite(values)):
        return None
    slope_r = (values[6] - values[5]) / (2 * s)
    slope_l = (values[1] - values[2]) / (-2 * s)
    icpt_r = values[5] - slope_r * 2 * s
    icpt_l = values[2] + slope_l * 2 * s
    if not all(math.isfinite(v) for v in (slope_l, slope_r, icpt_l, icpt_r)):
        return None
    # secants of exponentially small size (e^-80 for softplus at -inf) are zero
    slopes = abs(slope_l) + abs(slope_r)
    slope_l, slope_r = (0.0 if abs(v) <= _LINEAR_TOL * slopes else v for v in (slope_l, slope_r))
    icpts = abs(icpt_l) + abs(icpt_r) + 2 * s * slopes
    icpt_l, icpt_r = (0.0 if abs(v) <= _LINEAR_TOL * icpts else v for v in (icpt_l, icpt_r))
    limit = (slope_l, slope_r - slope_l, (icpt_r - icpt_l) / 2, (icpt_r + icpt_l) / 2)
    if _limit_size(limit, 1.0) == 0:
        return None
    with np.errstate(all="ignore"):
        fitted = np.where(probe > 0, slope_r * probe + icpt_r, slope_l * probe + icpt_l)
    if np.any(np.abs(values - fitted) > _LINEAR_TOL * _limit_size(limit, probe)):
        return None
    return tuple(float(v) for v in limit)


def _limit_size(limit, z):
    """``|A| + |B| + (|p| + |r|) |z|``: the size of ``L(z)``, the scale of its roundoff."""
    p, r, a, b = limit
    return abs(a) + abs(b) + (abs(p) + abs(r)) * np.abs(z)


def _limit(limit, z):
    p, r, a, b = limit
    return p * z + r * z * special.ndtr(z) + a * special.erf(z) + b


def _limit_prime(limit, z):
    p, r, a, b = limit
    return p + r * (special.ndtr(z) + z * _gaussian_density(z, 1.0)) \
        + a * (2 / _SQRT_PI) * np.exp(-z * z)


def _limit_mean(limit, mu, s2):
    """``E[L(w)]`` for ``w ~ N(mu, s2)``."""
    p, r, a, b = limit
    out = a * special.erf(mu / np.sqrt(1 + 2 * s2)) + (p * mu + b)
    if r != 0:
        t = np.sqrt(1 + s2)
        out = out + r * (mu * special.ndtr(mu / t) + s2 * _gaussian_density(mu / t, 1.0) / t)
    return out


def _limit_prime_mean(limit, mu, s2):
    """``E[L'(w)]`` for ``w ~ N(mu, s2)``."""
    p, r, a, b = limit
    e2 = 1 + 2 * s2
    out = a * (2 / _SQRT_PI) * np.exp(-mu * mu / e2) / np.sqrt(e2) + p
    if r != 0:
        t2 = 1 + s2
        t = np.sqrt(t2)
        out = out + r * (special.ndtr(mu / t) + mu * _gaussian_density(mu / t, 1.0) / (t * t2))
    return out


def _gelu_dual(q11, q12, q22, m, need_dot):
    """The Gelu dual on flat arrays; where the variance ``m`` exceeds 1e32, the arc-cosine
    (ReLU) dual of the variances scaled by ``1/m``, times ``m`` (the two differ by O(1),
    below eps of the O(q) value), which does not overflow."""
    from . import duals
    huge = m > 1e32
    gelu = np.empty(m.shape)
    gelu_dot = np.empty(m.shape) if need_dot else None
    rest = ~huge
    if np.any(rest):
        k1, k0 = duals.dual(arch.Gelu(), q11[rest], q12[rest], q22[rest], need_dot)
        gelu[rest] = k1
        if need_dot:
            gelu_dot[rest] = k0
    if np.any(huge):
        mh = m[huge]
        k1, k0 = duals._relu_pair(q11[huge] / mh, q12[huge] / mh, q22[huge] / mh, need_dot)
        gelu[huge] = mh * k1
        if need_dot:
            gelu_dot[huge] = k0
    return gelu, gelu_dot


def _limit_dual(limit, q11, q12, q22, need_dot):
    """``(E[L(u) L(v)], E[L'(u) L'(v)] or None)`` in closed form (see above)."""
    from . import duals
    p, r, a, b = limit
    # sqrt(1 + 2 (q11 + q22) + 4 (q11 q22 - q12^2)) with the variances scaled by m: no
    # overflow of q^2 up to variances of 1e300
    m = np.maximum(np.maximum(q11, q22), 1.0)
    root = m * np.sqrt(1 / m / m + 2 * (q11 / m + q22 / m) / m
                       + 4 * duals._gram_determinant(q11 / m, q12 / m, q22 / m))
    e_sum = 1 / np.sqrt(1 + 2 * q11) + 1 / np.sqrt(1 + 2 * q22)
    nngp = (a * a * (2 / math.pi) * np.arctan2(2 * q12, root) + b * b
            + (p * p + p * r) * q12 + (2 * p + r) * a * q12 * e_sum / _SQRT_PI)
    dot = (a * a * (4 / math.pi) / root + p * p + p * r
           + (2 * p + r) * a * e_sum / _SQRT_PI) if need_dot else None
    if r != 0:
        gelu, gelu_dot = _gelu_dual(q11, q12, q22, m, need_dot)
        nngp = nngp + r * r * gelu + b * r * (q11 / np.sqrt(2 * math.pi * (1 + q11))
                                              + q22 / np.sqrt(2 * math.pi * (1 + q22)))
        if need_dot:
            dot = dot + r * r * gelu_dot
    return nngp, dot


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


# --- adaptive route (fallback) ----------------------------------------------------------

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


def _conditionals(qa, qb, c):
    """``var(b | a)``, ``var(a | b)`` and ``cov / var(b)`` (0 where var(b) = 0)."""
    s2_b = np.maximum(qb - (c / qa) * c, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_b = np.where(qb > 0, c / np.where(qb > 0, qb, 1.0), 0.0)
        s2_a = np.where(qb > 0, np.maximum(qa - ratio_b * c, 0.0), qa)
    return s2_b, s2_a, ratio_b


def _pair_terms(g, cond, qa, qb, c, scale):
    """``E[g(a) L(b)] + E[L(a) g(b)] + E[g(a) g(b)]`` for (a, b) with variances qa >= qb,
    covariance c, by adaptive quadrature; ``cond(mu, s2)`` is ``E[L(w)]``, w ~ N(mu, s2)."""
    s2_b, s2_a, ratio_b = _conditionals(qa, qb, c)
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
        z = x * (_STANDARD_LIMIT / _G_SUPPORT)
        y = np.where(small, root_b * z, x)
        weight = np.where(small, _gaussian_density(z, 1.0) * (_STANDARD_LIMIT / _G_SUPPORT),
                          _gaussian_density(x, np.where(small, 1.0, qb)))
        return g(y) * weight * cond(ratio_b * y, s2_a)

    return _integrate(over_a, scale) + _integrate(over_b, scale)


# --- fixed rules (all entries at once) ---------------------------------------------------

@functools.lru_cache(maxsize=16)
def _panel_rule(half_width: float, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights, ``order`` per panel of width 2 on [-h, h]."""
    edges = np.arange(-half_width, half_width + _PANEL / 2, _PANEL)
    t, w = np.polynomial.legendre.leggauss(order)
    mid = (edges[:-1] + edges[1:]) / 2
    x = (mid[:, None] + (_PANEL / 2) * t[None, :]).ravel()
    w = np.tile(w * (_PANEL / 2), mid.size)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


@functools.lru_cache(maxsize=4)
def _hermite_rule(order: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = np.polynomial.hermite_e.hermegauss(order)
    return z, w / math.sqrt(2 * math.pi)


def _support(g, size):
    """Half-width (a multiple of the panel width, at most 40) beyond which |g| stays below
    64 eps of ``size(z)`` (the size of the limit function) on a grid of step 1/4."""
    z = np.arange(-_G_SUPPORT, _G_SUPPORT + _TRAP_STEP / 2, _TRAP_STEP)
    with np.errstate(all="ignore"):
        big = ~(np.abs(g(z)) <= _LINEAR_TOL * size(z))
    reach = float(np.abs(z[big]).max()) if big.any() else 0.0
    return min(_G_SUPPORT, _PANEL * (math.floor(reach / _PANEL) + 1))


def _blocks(n, per_entry):
    """Slices of ``range(n)`` with at most ``_CHUNK / per_entry`` entries each."""
    step = max(1, _CHUNK // max(per_entry, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def _fixed_terms(g, cond, qa, qb, c, half_width, taylor, taylor_gg, rule):
    """The three correction terms by the fixed rule number ``rule`` (0 or 1); ``taylor``
    marks the entries whose E[g g] is ``taylor_gg``, the Taylor-summed product form."""
    x, w = _panel_rule(half_width, _ORDERS[rule])
    gx = g(x)
    s2_b, s2_a, ratio_b = _conditionals(qa, qb, c)
    wg = w * gx
    dens_a = _gaussian_density(x[None, :], qa[:, None])
    # E[g(a) L(b)]
    total = (dens_a * cond((c / qa)[:, None] * x[None, :], s2_b[:, None])) @ wg
    # E[L(a) g(b)]
    small = qb < 1.0
    if np.any(~small):
        big = ~small
        total[big] += (_gaussian_density(x[None, :], qb[big, None])
                       * cond(ratio_b[big, None] * x[None, :], s2_a[big, None])) @ wg
    if np.any(small):
        z, wz = _panel_rule(_STANDARD_LIMIT, _ORDERS[rule])
        y = np.sqrt(qb[small])[:, None] * z[None, :]
        total[small] += np.sum(g(y) * cond(ratio_b[small, None] * y, s2_a[small, None])
                               * (wz * _gaussian_density(z, 1.0))[None, :], axis=1)
    # E[g(a) g(b)]
    s_b = np.sqrt(s2_b)
    narrow = s_b < _GH_WIDTH
    wide = ~narrow & ~taylor
    if np.any(narrow):
        zh, wh = _hermite_rule(_GH_ORDERS[rule])
        idx = np.flatnonzero(narrow)
        for blk in _blocks(idx.size, x.size * zh.size):
            e = idx[blk]
            mu = (c[e] / qa[e])[:, None] * x[None, :]
            inner = g(mu[:, :, None] + s_b[e, None, None] * zh[None, None, :]) @ wh
            total[e] += (inner * dens_a[e]) @ wg
    if np.any(wide):
        idx = np.flatnonzero(wide)
        for blk in _blocks(idx.size, x.size * x.size):
            e = idx[blk]
            mu = (c[e] / qa[e])[:, None] * x[None, :]
            kern = _gaussian_density(x[None, None, :] - mu[:, :, None], s2_b[e, None, None])
            total[e] += ((kern @ wg) * dens_a[e]) @ wg
    if np.any(taylor):
        total[taylor] += taylor_gg
    return total


@functools.lru_cache(maxsize=16)
def _powers(half_width: float, order: int) -> np.ndarray:
    x, _ = _panel_rule(half_width, order)
    out = (x[:, None] / half_width) ** np.arange(_TAYLOR_TERMS)[None, :]
    out.flags.writeable = False
    return out


def _taylor_gg(wg, half_width, order, qa, qb, c):
    """``E[g(a) g(b)]`` = sum_ij wg_i wg_j exp(-(qb x_i^2 - 2 c x_i x_j + qa x_j^2)/(2 det))
    / (2 pi sqrt(det)), with ``exp(kappa x_i x_j)`` as its Taylor series in ``kappa = c/det``;
    returns the value and the a-priori bound of its truncation and roundoff error."""
    x = _panel_rule(half_width, order)[0]
    s2_b = np.maximum(_conditionals(qa, qb, c)[0], np.finfo(float).tiny)   # det = qa s2_b
    u = wg[None, :] * np.exp(-(qb / qa)[:, None] * (x * x)[None, :] / (2 * s2_b[:, None]))
    v = wg[None, :] * np.exp(-(x * x)[None, :] / (2 * s2_b[:, None]))
    pw = _powers(half_width, order)
    t = (c / qa / s2_b) * half_width ** 2
    k = np.arange(1, _TAYLOR_TERMS)
    coef = np.cumprod(np.concatenate([np.ones((t.size, 1)), t[:, None] / k[None, :]], axis=1),
                      axis=1)                                     # t^k / k!
    norm = 1 / (2 * math.pi * np.sqrt(qa) * np.sqrt(s2_b))
    value = np.sum(coef * (u @ pw) * (v @ pw), axis=1) * norm
    at = np.abs(t)
    tail = np.exp(_TAYLOR_TERMS * np.log(np.maximum(at, 1e-300))
                  - special.gammaln(_TAYLOR_TERMS + 1))
    bound = (tail + _TAYLOR_TERMS * np.finfo(float).eps) * np.exp(at) \
        * np.abs(u).sum(axis=1) * np.abs(v).sum(axis=1) * norm
    return value, bound


def _correction_terms(g, cond, size, qa, qb, c, scale):
    """``E[g L] + E[L g] + E[g g]`` per entry: two fixed rules, adaptive where they differ
    by more than ``1e-13 * scale``; ``size(z)`` is the size of L (for g's support)."""
    half_width = _support(g, size)
    x, w = _panel_rule(half_width, _ORDERS[0])
    wg = w * g(x)
    taylor = np.sqrt(_conditionals(qa, qb, c)[0]) >= _GH_WIDTH
    gg = [np.empty(0), np.empty(0)]
    with np.errstate(all="ignore"):
        if np.any(taylor):
            sel = np.flatnonzero(taylor)
            gg[0], bound = _taylor_gg(wg, half_width, _ORDERS[0], qa[sel], qb[sel], c[sel])
            ok = bound <= 0.1 * _FIXED_TOL * scale[sel]
            taylor[sel[~ok]] = False
            gg[0], sel = gg[0][ok], sel[ok]
            x1, w1 = _panel_rule(half_width, _ORDERS[1])
            gg[1] = _taylor_gg(w1 * g(x1), half_width, _ORDERS[1], qa[sel], qb[sel], c[sel])[0]
        value = _fixed_terms(g, cond, qa, qb, c, half_width, taylor, gg[0], 0)
        check = _fixed_terms(g, cond, qa, qb, c, half_width, taylor, gg[1], 1)
    redo = ~(np.abs(value - check) <= _FIXED_TOL * scale)
    if np.any(redo):
        value[redo] = _pair_terms(g, cond, qa[redo], qb[redo], c[redo], float(scale[redo].min()))
    return value


def _large_variance_dual(activation, q11, q12, q22, need_dot, saturation):
    """``(E[f f], E[f' f'] or None)`` on flat arrays by the decomposition above;
    ``saturation`` is the limit ``(p, r, A, B)`` from :func:`_saturation`."""
    limit = saturation
    p, r, big_a, big_b = limit
    fn = activation.function
    qa, qb = np.maximum(q11, q22), np.minimum(q11, q22)
    nngp, dot = _limit_dual(limit, qa, q12, qb, need_dot)
    size = abs(big_a) + abs(big_b)
    slopes = abs(p) + abs(r)
    scale = (size + slopes * np.sqrt(qa)) * (size + slopes * np.sqrt(qb))
    nngp = nngp + _correction_terms(lambda z: fn(z) - _limit(limit, z),
                                    functools.partial(_limit_mean, limit),
                                    functools.partial(_limit_size, limit), qa, qb, q12, scale)
    if not need_dot:
        return nngp, None
    fn_prime = activation.function_prime or functools.partial(_central_difference, fn)
    prime_size = slopes + 2 * abs(big_a) / _SQRT_PI           # the bound of |L'|
    dot = dot + _correction_terms(lambda z: fn_prime(z) - _limit_prime(limit, z),
                                  functools.partial(_limit_prime_mean, limit),
                                  lambda z: np.full(np.shape(z), prime_size), qa, qb, q12,
                                  np.full(qa.shape, prime_size ** 2))
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

    Entries with a variance above 30 use the large-variance decomposition when ``f`` has
    linear or constant asymptotes approached exponentially fast (tanh, sigmoids, softplus,
    SiLU); otherwise the series, which raises :class:`ConvergenceError` (naming the
    variance) where it cannot converge.
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
