"""Closed-form dual activations: ``E[phi(u) phi(v)]`` and ``E[phi'(u) phi'(v)]``.

For ``(u, v) ~ N(0, [[q11, q12], [q12, q22]])`` each function returns the pair
``(nngp, dot)`` used by the NNGP/NTK recursion (Jacot et al. 2018, arXiv:1806.07572;
Lee et al. 2018, arXiv:1711.00165)::

    K^(l+1)     = sigma_b^2 + sigma_w^2 E[phi(u) phi(v)]
    Theta^(l+1) = K^(l+1) + sigma_w^2 E[phi'(u) phi'(v)] Theta^(l)

All arguments broadcast. Write ``s = sqrt(q11 q22)``, ``rho = q12 / s`` (clipped to
[-1, 1], the interval where it is defined, only against roundoff) and
``theta = arccos(rho)``.

Numerics. The formulas are evaluated in forms free of cancellation and of overflowing
intermediates for variances from 1e-300 to ~1e150 and every correlation: ``1 - rho^2``
never comes from ``rho`` but from the Gram determinant ``q11 q22 - q12^2``
(:func:`_gram_determinant`, exactly 0 on the diagonal), so that e.g. the erf determinant
``(1 + 2b^2 q11)(1 + 2b^2 q22) - 4b^4 q12^2 = 1 + 2b^2 (q11 + q22) + 4b^4 (q11 q22 - q12^2)``
is a sum of non-negative terms and ``arcsin(x) = atan2(x, sqrt(1 - x^2))``; ``pi - theta``
is ``atan2(sqrt(q11 q22 - q12^2), -q12)``; the ReLU, Gelu and rectified-monomial kernels,
which vanish as ``rho -> -1``, use series there; Sin uses ``expm1`` where its two
exponentials are within a factor e. The remaining error is
that of the float64 inputs (``16 eps (1 + condition number)``, checked against mpmath in
``tests/test_kernels_extreme.py``).

* ABRelu ``a min(z,0) + b max(z,0)`` (arc-cosine kernels, Cho & Saul 2009):
  ``E[phi phi] = a b q12 + (b-a)^2 s (sin theta + (pi - theta) cos theta) / (2 pi)``,
  ``E[phi' phi'] = a b + (b-a)^2 (pi - theta) / (2 pi)``.
* Erf ``a erf(b z) + c`` (Williams 1997):
  ``a^2 (2/pi) arcsin(2 b^2 q12 / sqrt((1+2b^2 q11)(1+2b^2 q22))) + c^2`` and
  ``a^2 b^2 (4/pi) / sqrt((1+2b^2 q11)(1+2b^2 q22) - 4 b^4 q12^2)``.
* Gelu ``z Phi(z)`` (Tsuchida, Pearce, van der Heide, Roosta, Gallagher 2021,
  arXiv:2002.08517).
* Sin ``a sin(b z + c)``: ``(a^2/2)[e^{-b^2(q11+q22-2q12)/2} - cos(2c) e^{-b^2(q11+q22+2q12)/2}]``;
  the derivative kernel has ``+ cos 2c`` and the factor ``a^2 b^2``.
* Rbf ``sqrt(2) sin(sqrt(2 gamma) z + pi/4)``: ``exp(-gamma (q11 + q22 - 2 q12))`` and
  ``2 gamma`` times it (neural-tangents' form; exact, where the Sin form would carry the
  rounding of ``cos(pi/2)``).
* Exp ``a e^{bz}``: ``a^2 exp(b^2 (q11 + q22 + 2 q12) / 2)``, derivative times ``b^2``.
* Gabor ``e^{-z^2} sin z``: ``e^{-n_+/(2D)} expm1(2 q12 / D) / (2 sqrt D)`` with
  ``D = 1 + 2 (q11 + q22) + 4 (q11 q22 - q12^2)``, ``n_+ = q11 + q22 + 4 (q11 q22 - q12^2)
  + 2 q12`` (a Gaussian integral; the derivative kernel is its ``q12``-derivative).
* ExpNormalized (Shankar et al. 2020, arXiv:2003.02237): ``sqrt(q11 q22) e^{gamma (rho +
  shift)}``, derivative map ``gamma e^{gamma (rho + shift)}``.
* Gaussian ``a e^{b z^2}``: with ``D = (1-2b q11)(1-2b q22) - 4 b^2 q12^2``,
  ``a^2 / sqrt(D)`` and ``4 a^2 b^2 q12 / D^{3/2}``.
* Sign: ``1 - 2 theta / pi``; derivative kernel 0 (neural-tangents' convention).
* Polynomial ``sum_i c_i z^i``: exact, from the Hermite expansion
  ``z^i = q^{i/2} sum_k A_{ik} He_k(z/sqrt q)`` and ``E[He_k He_m] = delta_km k! rho^k``.
* RectifiedMonomial ``max(z,0)^n``: ``s^n J_n(theta) / (2 pi)`` with Cho & Saul's
  ``J_n``; the derivative kernel follows from Price's theorem,
  ``d/dq12 E[phi phi] = E[phi' phi'] = n^2 E[relu^(n-1) relu^(n-1)]``.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from ... import checks
from ...errors import ArgumentTypeError, NumericalError, ParameterError
from ...models import elementwise
from ...models import network as arch

__all__ = ["dual", "has_closed_form"]

_TWO_PI = 2 * math.pi
_TINY = np.finfo(float).tiny
_HUGE = np.finfo(float).max
_ATAN_TERMS = 27
_J_SERIES_TERMS = 30   # 0.5^30 / (2n+1+30)! : far below 1e-16 relative


def _correlation(q11, q12, q22):
    """``(s, rho)`` with ``s = sqrt(q11 q22)`` and ``rho = q12 / s`` in [-1, 1] (0 where s = 0).

    Exactly coinciding inputs (``q12 == q11 == q22``) give ``rho == 1`` exactly. Where the
    product ``q11 q22`` over- or underflows, ``s = sqrt(q11) sqrt(q22)`` instead.
    """
    product = q11 * q22
    s = np.sqrt(product)
    outside = ~((product > _TINY) & (product < _HUGE))
    if np.any(outside & (np.broadcast_to(q11, np.shape(product)) > 0)
              & (np.broadcast_to(q22, np.shape(product)) > 0)):
        s = np.where(outside, np.sqrt(q11) * np.sqrt(q22), s)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(s > 0, q12 / np.where(s > 0, s, 1.0), 0.0)
    return s, np.clip(rho, -1.0, 1.0)


def _gram_determinant(q11, q12, q22):
    """``q11 q22 - q12^2`` (>= 0 for a covariance; negative roundoff clipped to 0).

    The closed forms below use it instead of ``1 - rho^2`` computed from ``rho``: on the
    diagonal (``q12 == q11 == q22`` bit for bit) it is exactly 0, and the determinants
    ``(1 + c q11)(1 + c q22) - c^2 q12^2 = 1 + c (q11 + q22) + c^2 (q11 q22 - q12^2)``
    become sums of non-negative terms, free of the cancellation that the product form
    suffers once ``c q`` exceeds ``1 / sqrt(eps) ~ 1e8``.
    """
    return np.maximum(q11 * q22 - q12 * q12, 0.0)


def _t_minus_atan(t):
    """``t - atan(t)`` for ``t >= 0`` with full relative accuracy: for ``t < 1/2`` the series
    ``sum_k (-1)^(k+1) t^(2k+1) / (2k+1)`` (27 terms reach 1e-17 of the first), else direct."""
    t = np.asarray(t, dtype=float)
    out = t - np.arctan(t)
    near = t < 0.5
    if np.any(near):
        tn = t[near]
        t2 = tn * tn
        series = np.zeros_like(tn)
        for k in range(_ATAN_TERMS, 0, -1):          # Horner in t^2
            series = series * t2 + (-1) ** (k + 1) / (2 * k + 1)
        out[near] = tn * t2 * series
    return out


def _relu_pair(q11, q12, q22, need_dot):
    """``E[relu relu]`` and ``E[step step]`` (arc-cosine kernels of order 1 and 0).

    With ``g = sqrt(q11 q22 - q12^2) = s sin(theta)`` and ``pi - theta = atan2(g, -q12)``:
    ``E[relu relu] = (g + q12 atan2(g, -q12)) / (2 pi)``. For ``q12 < 0`` this is
    ``|q12| (t - atan t) / (2 pi)`` with ``t = g / |q12|``, a difference that cancels as
    ``rho -> -1``; :func:`_t_minus_atan` keeps it accurate.
    """
    g = np.sqrt(_gram_determinant(q11, q12, q22))
    angle = np.arctan2(g, -q12)            # pi - theta
    shape = np.broadcast_shapes(np.shape(g), np.shape(q12))
    k1 = np.array(np.broadcast_to((g + q12 * angle) / _TWO_PI, shape))
    negative = np.broadcast_to(q12 < 0, shape)
    if np.any(negative):
        w = np.broadcast_to(-q12, shape)[negative]
        k1[negative] = w * _t_minus_atan(np.broadcast_to(g, shape)[negative] / w) / _TWO_PI
    k0 = angle / _TWO_PI if need_dot else None
    return k1, k0


def _abrelu(act: arch.ABRelu, q11, q12, q22, need_dot):
    a, b = act.a, act.b
    k1, k0 = _relu_pair(q11, q12, q22, need_dot)
    nngp = a * b * q12 + (b - a) ** 2 * k1
    return nngp, (a * b + (b - a) ** 2 * k0) if need_dot else None


def _erf(act: arch.Erf, q11, q12, q22, need_dot):
    # With D = (1 + 2b^2 q11)(1 + 2b^2 q22) - 4 b^4 q12^2, written as a sum of non-negative
    # terms (_gram_determinant), arcsin(2b^2 q12 / sqrt(d1 d2)) = atan2(2b^2 q12, sqrt(D)) and
    # the derivative kernel is 4 a^2 b^2 / (pi sqrt(D)): no 1 - arg^2 is ever formed.
    a, b2, c = act.a, act.b ** 2, act.c
    root = np.sqrt(1 + 2 * b2 * (q11 + q22) + 4 * b2 * b2 * _gram_determinant(q11, q12, q22))
    nngp = a * a * (2 / math.pi) * np.arctan2(2 * b2 * q12, root) + c * c
    return nngp, (a * a * b2 * (4 / math.pi) / root) if need_dot else None


def _gelu(act: arch.Gelu, q11, q12, q22, need_dot):
    # E[u Phi(u) v Phi(v)]: write Phi(u) = P(g1 <= u) with g1 ~ N(0, 1) independent; then
    # the expectation is a Gaussian integral over (u, v, g1, g2) (Tsuchida et al. 2021).
    # With p_i = 1 + q_ii, delta^2 = p1 p2 - q12^2 = 1 + q11 + q22 + (q11 q22 - q12^2) and
    # pi/2 + arcsin(q12 / sqrt(p1 p2)) = atan2(delta, -q12):
    #   E[phi phi]   = [q12 atan2(delta, -q12) + q12^2 / (p1 p2 delta)
    #                   + (q11/p1)(q22/p2) delta] / (2 pi),
    #   E[phi' phi'] = [atan2(delta, -q12) + (q12/delta)(1/delta^2 + 1/p1 + 1/p2)] / (2 pi),
    # every factor formed without cancellation or overflow of q^3-size intermediates.
    p1 = 1 + q11
    p2 = 1 + q22
    delta = np.sqrt(1 + q11 + q22 + _gram_determinant(q11, q12, q22))
    angle = np.arctan2(delta, -q12)
    ratio = q12 / np.sqrt(p1 * p2)
    nngp = np.array((q12 * angle + ratio * ratio / delta + (q11 / p1) * (q22 / p2) * delta)
                    / _TWO_PI)
    negative = np.broadcast_to(-q12 > delta, nngp.shape)
    if np.any(negative):
        # q12 = -w < -delta (large variances, rho near -1): the first term cancels the
        # others; regrouped as w (t - atan t) - delta (1 + q11 + q22 - w^2/delta^2) / (p1 p2)
        # with t = delta / w < 1 (elsewhere the original sum is the accurate one).
        pick = lambda v: np.broadcast_to(v, nngp.shape)[negative]   # noqa: E731
        w, dl, a1, a2 = pick(-q12), pick(delta), pick(q11), pick(q22)
        nngp[negative] = (w * _t_minus_atan(dl / w) - dl * (1 + a1 + a2 - (w / dl) ** 2)
                          / ((1 + a1) * (1 + a2))) / _TWO_PI
    dot = None
    if need_dot:
        dot = (angle + q12 / delta * (1 / (delta * delta) + 1 / p1 + 1 / p2)) / _TWO_PI
    return nngp, dot


def _sin(act: arch.Sin, q11, q12, q22, need_dot):
    # e^{-x} -+ cos(2c) e^{-y} with x = b^2 (q11 + q22 - 2 q12)/2, y = x + 2 b^2 q12, as
    # -e^{-x} expm1(-2 b^2 q12) + 2 {sin^2 c, cos^2 c} e^{-y}: the difference of two numbers
    # near 1 at small variances becomes an expm1 (relative accuracy down to q ~ 1e-300).
    a2, b2, c = act.a ** 2, act.b ** 2, act.c
    x = b2 * (q11 + q22 - 2 * q12) / 2
    z = -2 * b2 * q12
    minus = np.exp(-x)
    plus = np.exp(-x + z)
    # |z| >= 1: the two exponentials differ by a factor e or more, and the textbook
    # e^{-x} -+ cos(2c) e^{-y} is used as it stands (splitting it as e^{-x} - e^{-y} +
    # 2 sin^2(c) e^{-y} would cancel where cos 2c ~ 0 and e^{-y} >> e^{-x}: nine digits lost
    # for c = pi/4 on distant pairs).
    near = np.abs(z) < 1
    common = -minus * np.expm1(np.clip(z, -1.0, 1.0))
    nngp = a2 / 2 * np.where(near, common + 2 * math.sin(c) ** 2 * plus,
                             minus - math.cos(2 * c) * plus)
    if not need_dot:
        return nngp, None
    return nngp, a2 * b2 / 2 * np.where(near, common + 2 * math.cos(c) ** 2 * plus,
                                         minus + math.cos(2 * c) * plus)


def _rbf(act: arch.Rbf, q11, q12, q22, need_dot):
    # neural-tangents' exponential form: exp(-gamma (q11 + q22 - 2 q12)), derivative kernel
    # 2 gamma times it (the Sin form with c = pi/4 and cos(pi/2) = 0)
    nngp = np.exp(-act.gamma * (q11 + q22 - 2 * q12))
    return nngp, (2 * act.gamma * nngp) if need_dot else None


def _exp(act: arch.Exp, q11, q12, q22, need_dot):
    a2, b2 = act.a ** 2, act.b ** 2
    nngp = a2 * np.exp(b2 * (q11 + q22 + 2 * q12) / 2)
    return nngp, (b2 * nngp) if need_dot else None


def _gaussian(act: arch.Gaussian, q11, q12, q22, need_dot):
    # (1 - 2b q11)(1 - 2b q22) - 4 b^2 q12^2 = 1 - 2b (q11 + q22) + 4 b^2 (q11 q22 - q12^2):
    # for b < 0 (the bounded case) a sum of non-negative terms.
    a2, b = act.a ** 2, act.b
    det = 1 - 2 * b * (q11 + q22) + 4 * b * b * _gram_determinant(q11, q12, q22)
    if np.any((det <= 0) | ((1 - 2 * b * q11) <= 0) | ((1 - 2 * b * q22) <= 0)):
        raise ParameterError(f"Gaussian(a={act.a}, b={b}): E[exp(b u^2) exp(b v^2)] diverges; "
                         "it needs (1 - 2 b q11)(1 - 2 b q22) > 4 b^2 q12^2")
    nngp = a2 / np.sqrt(det)
    return nngp, (4 * a2 * b * b * q12 / det ** 1.5) if need_dot else None


def _sign(act: arch.Sign, q11, q12, q22, need_dot):
    # 1 - 2 arccos(rho) / pi = (2/pi) atan2(q12, sqrt(q11 q22 - q12^2)): no cancellation
    # at small rho, exactly 1 on the diagonal.
    nngp = (2 / math.pi) * np.arctan2(q12, np.sqrt(_gram_determinant(q11, q12, q22)))
    nngp = np.where(np.broadcast_to(q11 * q22, np.shape(nngp)) > 0, nngp, 0.0)
    return nngp, (np.zeros(np.shape(nngp))) if need_dot else None


def _identity(act: arch.Identity, q11, q12, q22, need_dot):
    return q12, (np.ones(np.shape(q12))) if need_dot else None


@functools.lru_cache(maxsize=None)
def _monomial_hermite_coefficients(degree: int) -> np.ndarray:
    """``A[i, k]``: ``z^i = sum_k A[i, k] He_k(z)`` for i, k <= degree."""
    table = np.zeros((degree + 1, degree + 1))
    for i in range(degree + 1):
        basis = np.zeros(i + 1)
        basis[i] = 1.0
        herm = np.polynomial.hermite_e.poly2herme(basis)
        table[i, :len(herm)] = herm
    return table


def _polynomial_dual(coef, q11, q12, q22):
    """``E[p(u) p(v)]`` for ``p(z) = sum_i coef[i] z^i``, exact.

    ``E[u^i v^j] = sum_k A_ik A_jk k! q12^k q11^((i-k)/2) q22^((j-k)/2)`` with the
    exponents even (``i - k`` and ``j - k`` of the parity of ``A``'s support).
    """
    coef = np.asarray(coef, dtype=float)
    n = len(coef) - 1
    table = _monomial_hermite_coefficients(n)
    result = np.zeros(np.broadcast_shapes(np.shape(q11), np.shape(q12), np.shape(q22)))
    for k in range(n + 1):
        # sum_i c_i A_ik q11^((i-k)/2)  (only i - k even contribute)
        left = sum(coef[i] * table[i, k] * q11 ** ((i - k) // 2)
                   for i in range(k, n + 1, 2) if table[i, k] != 0.0)
        right = sum(coef[j] * table[j, k] * q22 ** ((j - k) // 2)
                    for j in range(k, n + 1, 2) if table[j, k] != 0.0)
        if isinstance(left, int) or isinstance(right, int):
            continue
        result = result + math.factorial(k) * left * right * q12 ** k
    return result


def _polynomial(act: arch.Polynomial, q11, q12, q22, need_dot):
    nngp = _polynomial_dual(act.coef, q11, q12, q22)
    dot = None
    if need_dot:
        derivative = np.polynomial.polynomial.polyder(np.asarray(act.coef, dtype=float))
        dot = _polynomial_dual(derivative, q11, q12, q22) if len(act.coef) > 1 else \
            np.zeros(np.shape(nngp))
        dot = np.broadcast_to(dot, np.shape(nngp))
    return np.broadcast_to(nngp, np.broadcast_shapes(np.shape(q11), np.shape(q12),
                                                     np.shape(q22))), dot


#: The largest degree of :func:`_arccos_j`: its sympy derivation grows with the degree.
MAX_ARCCOS_DEGREE = 16


@functools.lru_cache(maxsize=None)
def _arccos_j_function(degree: int):
    """Cho & Saul's ``J_n`` as a numpy function, derived with sympy from
    ``J_n = (-1)^n sin^(2n+1) (1/sin d/dtheta)^n ((pi - theta)/sin)``; the result is a
    polynomial in ``theta``, ``sin`` and ``cos`` without division, finite at theta = 0."""
    import sympy as sp
    t = sp.Symbol("theta")
    f = (sp.pi - t) / sp.sin(t)
    for _ in range(degree):
        f = sp.diff(f, t) / sp.sin(t)
    j = sp.simplify((-1) ** degree * sp.sin(t) ** (2 * degree + 1) * f)
    return sp.lambdify(t, j, "numpy")


def _arccos_j(degree: int, theta):
    """Cho & Saul's angular function ``J_n(theta)`` (``J_0 = pi - theta``,
    ``J_1 = sin theta + (pi - theta) cos theta``, ``J_n(0) = pi (2n-1)!!``); sympy derives
    ``J_n``, so ``degree`` is at most :data:`MAX_ARCCOS_DEGREE`."""
    degree = checks.integer("degree", degree, low=0, high=MAX_ARCCOS_DEGREE)
    if degree == 0:
        return math.pi - theta
    if degree == 1:
        return np.sin(theta) + (math.pi - theta) * np.cos(theta)
    return _arccos_j_function(degree)(theta)


def _series_product(a: list, b: list, length: int) -> list:
    """First ``length`` coefficients of the product of two power series."""
    return [sum(a[i] * b[k - i] for i in range(k + 1) if i < len(a) and k - i < len(b))
            for k in range(length)]


@functools.lru_cache(maxsize=None)
def _arccos_j_near_pi(degree: int) -> np.ndarray:
    """Taylor coefficients (in increasing powers of ``phi = pi - theta``) of ``J_n(pi - phi)``,
    which vanishes like ``phi^(2n+1)``: the closed form cancels there, the series does not.

    Exact rational Laurent-series arithmetic (:class:`fractions.Fraction`) on Cho & Saul's
    definition with ``theta = pi - phi`` (so ``d/dtheta = -d/dphi``, ``sin theta = sin phi``):
    ``g_0 = phi / sin phi``, ``g_{k+1} = -(d g_k / d phi) / sin phi`` and
    ``J_n = (-1)^n sin^(2n+1)(phi) g_n``, with ``1/sin phi = phi^-1 (phi / sin phi)``; every
    coefficient up to ``phi^(2n+1+_J_SERIES_TERMS)`` is exact before its rounding to float.
    """
    length = 2 * degree + 2 + _J_SERIES_TERMS
    sinc = [Fraction((-1) ** (k // 2), math.factorial(k + 1)) if k % 2 == 0 else Fraction(0)
            for k in range(length)]                          # sin(phi) / phi
    inv_sinc = [Fraction(1)]                                 # phi / sin(phi), by division
    for k in range(1, length):
        inv_sinc.append(-sum(sinc[i] * inv_sinc[k - i] for i in range(1, k + 1)))
    coef, low = list(inv_sinc), 0                            # g = phi^low sum coef_k phi^k
    for _ in range(degree):
        coef = [-(k + low) * c for k, c in enumerate(coef)]
        coef, low = _series_product(coef, inv_sinc, length), low - 2
    power = [Fraction(1)]
    for _ in range(2 * degree + 1):
        power = _series_product(power, sinc, length)
    coef, low = _series_product(coef, power, length), low + 2 * degree + 1
    sign = (-1) ** degree
    out = np.zeros(length)
    for k, c in enumerate(coef):
        if 0 <= k + low < length:
            out[k + low] = float(sign * c)
    return out


def _rectified_monomial_dual(n: int, q11, q12, q22):
    """``E[max(u,0)^n max(v,0)^n] = s^n J_n(theta) / (2 pi)``; for ``pi - theta < 1/2``
    (``rho < -0.88``) ``J_n`` comes from its Taylor series about ``theta = pi``, with
    ``pi - theta = atan2(sqrt(q11 q22 - q12^2), -q12)`` free of the roundoff of ``rho``."""
    s, rho = _correlation(q11, q12, q22)
    theta = np.arccos(rho)
    j = np.asarray(_arccos_j(n, theta), dtype=float)
    phi = np.broadcast_to(np.arctan2(np.sqrt(_gram_determinant(q11, q12, q22)), -q12),
                          j.shape)
    near = phi < 0.5
    if n > 0 and np.any(near):
        j = np.array(np.broadcast_to(j, phi.shape))
        j[near] = np.polynomial.polynomial.polyval(phi[near], _arccos_j_near_pi(n))
    return s ** n * j / _TWO_PI


def _rectified_monomial(act: arch.RectifiedMonomial, q11, q12, q22, need_dot):
    n = act.degree
    nngp = _rectified_monomial_dual(n, q11, q12, q22)
    dot = None
    if need_dot:
        dot = n * n * _rectified_monomial_dual(n - 1, q11, q12, q22) if n > 0 else \
            np.zeros(np.shape(nngp))
    return nngp, dot



def _gabor(act, q11, q12, q22, need_dot):
    # phi = exp(-z^2) sin z. With sin u sin v = (cos(u - v) - cos(u + v)) / 2 and the
    # Gaussian integral E[exp(-z.z + i t.z)] = det(I + 2Q)^(-1/2) exp(-t.M t / 2),
    # M = Q (I + 2Q)^(-1) = [[q11 + 2g, q12], [q12, q22 + 2g]] / D, g = q11 q22 - q12^2,
    # D = det(I + 2Q) = 1 + 2 (q11 + q22) + 4 g (a sum of non-negative terms), t = (1, -+1):
    #   E[phi phi] = (e^{-n_-/(2D)} - e^{-n_+/(2D)}) / (2 sqrt D),  n_+- = q11 + q22 + 4g +- 2 q12,
    # evaluated as e^{-n_+/(2D)} expm1(2 q12 / D) / (2 sqrt D) (no cancellation at small q12;
    # neural-tangents' form, arXiv:1912.02803 code, uses e^x - 1). The derivative kernel is
    # d/dq12 of it (Price's theorem), T_+ [expm1(2 q12/D) c_- + (2D + 16 q12^2) / D^2] with
    # T_+ the prefactor and c_- = 4 q12 / D - ((-8 q12 - 2) D + 8 q12 n_-) / (2 D^2).
    g = _gram_determinant(q11, q12, q22)
    total = q11 + q22 + 4 * g
    det = 1 + 2 * (q11 + q22) + 4 * g
    prefactor = np.exp(-(total + 2 * q12) / (2 * det)) / (2 * np.sqrt(det))
    grow = np.expm1(2 * q12 / det)
    nngp = prefactor * grow
    if not need_dot:
        return nngp, None
    n_minus = total - 2 * q12
    c_minus = 4 * q12 / det - ((-8 * q12 - 2) * det + 8 * q12 * n_minus) / (2 * det * det)
    return nngp, prefactor * (grow * c_minus + (2 * det + 16 * q12 * q12) / (det * det))


def _exp_normalized(act, q11, q12, q22, need_dot):
    # Shankar et al. 2020 (arXiv:2003.02237) p. 6, neural-tangents' ExpNormalized:
    # sqrt(q11 q22) exp(gamma (rho + shift)); derivative map gamma exp(gamma (rho + shift))
    # (zero variance: 0, where neural-tangents floors q11 q22 at 1e-30).
    s, rho = _correlation(q11, q12, q22)
    if not act.do_clip:
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(s > 0, q12 / np.where(s > 0, s, 1.0), 0.0)
    factor = np.exp(act.gamma * (rho + act.shift))
    return s * factor, (act.gamma * factor) if need_dot else None

_DUALS = {
    arch.ABRelu: _abrelu,
    arch.Erf: _erf,
    arch.Gelu: _gelu,
    arch.Sin: _sin,
    arch.Rbf: _rbf,
    elementwise.Gabor: _gabor,
    elementwise.ExpNormalized: _exp_normalized,
    arch.Exp: _exp,
    arch.Gaussian: _gaussian,
    arch.Sign: _sign,
    arch.Identity: _identity,
    arch.Polynomial: _polynomial,
    arch.RectifiedMonomial: _rectified_monomial,
}


def has_closed_form(activation) -> bool:
    """Whether ``activation`` has a closed-form dual here."""
    return type(activation) in _DUALS


def _dual(activation, q11, q12, q22, need_dot: bool):
    """:func:`dual` without the argument checks: the kernel recursions call it on the
    variances they computed, and report an overflow themselves (as a
    :class:`~nnphys.errors.NumericalError` naming the kernel)."""
    return _DUALS[type(activation)](activation, q11, q12, q22, need_dot)


def dual(activation, q11, q12, q22, need_dot: bool):
    """``(E[phi(u) phi(v)], E[phi'(u) phi'(v)] or None)`` for a closed-form activation.

    ``(q11, q12, q22)`` (broadcasting arrays) must be finite covariances: ``q11, q22 >= 0``
    and ``q12^2 <= q11 q22`` up to roundoff (a relative ``8 eps``).

    Raises:
        ArgumentTypeError: no closed form for ``activation`` (see :func:`has_closed_form`),
            or a non-real argument.
        ParameterError: a non-finite or negative variance, or ``|q12| > sqrt(q11 q22)``.
        NumericalError: the kernel overflows float64 at these variances.
    """
    if type(activation) not in _DUALS:
        raise ArgumentTypeError(f"activation: no closed-form dual for "
                                f"{type(activation).__name__} (see has_closed_form)")
    q11, q12, q22 = (checks.finite_array(name, q) for name, q in
                     (("q11", q11), ("q12", q12), ("q22", q22)))
    for name, q in (("q11", q11), ("q22", q22)):
        if np.any(q < 0):
            raise ParameterError(f"{name}: a variance must be >= 0, got {q.min():.3g}")
    if np.any(np.abs(q12) > np.sqrt(q11) * np.sqrt(q22) * (1 + 8 * np.finfo(float).eps)):
        raise ParameterError("q12: must satisfy |q12| <= sqrt(q11 q22) (a covariance)")
    with np.errstate(over="ignore", invalid="ignore"):     # an overflow is raised below
        out = _dual(activation, q11, q12, q22, need_dot)
    for what, value in zip(("E[phi(u) phi(v)]", "E[phi'(u) phi'(v)]"), out):
        if value is not None and not np.all(np.isfinite(value)):
            raise NumericalError(f"{activation!r}: {what} overflows float64 at variances up "
                                 f"to {max(q11.max(initial=0), q22.max(initial=0)):.3g}")
    return out
