"""Closed-form dual activations: ``E[phi(u) phi(v)]`` and ``E[phi'(u) phi'(v)]``.

For ``(u, v) ~ N(0, [[q11, q12], [q12, q22]])`` each function returns the pair
``(nngp, dot)`` used by the NNGP/NTK recursion (Jacot et al. 2018, arXiv:1806.07572;
Lee et al. 2018, arXiv:1711.00165)::

    K^(l+1)     = sigma_b^2 + sigma_w^2 E[phi(u) phi(v)]
    Theta^(l+1) = K^(l+1) + sigma_w^2 E[phi'(u) phi'(v)] Theta^(l)

All arguments broadcast. Write ``s = sqrt(q11 q22)``, ``rho = q12 / s`` (clipped to
[-1, 1], the interval where it is defined, only against roundoff) and
``theta = arccos(rho)``.

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
* Exp ``a e^{bz}``: ``a^2 exp(b^2 (q11 + q22 + 2 q12) / 2)``, derivative times ``b^2``.
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

import numpy as np

from ... import checks
from ...errors import ArgumentTypeError, ParameterError
from ...models import network as arch

__all__ = ["dual", "has_closed_form", "correlation"]

_TWO_PI = 2 * math.pi


def correlation(q11, q12, q22):
    """``(s, rho)`` with ``s = sqrt(q11 q22)`` and ``rho = q12 / s`` in [-1, 1] (0 where s = 0).

    Exactly coinciding inputs (``q12 == q11 == q22``) give ``rho == 1`` exactly.
    """
    s = np.sqrt(q11 * q22)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(s > 0, q12 / np.where(s > 0, s, 1.0), 0.0)
    return s, np.clip(rho, -1.0, 1.0)


def _relu_pair(q11, q12, q22, need_dot):
    """``E[relu relu]`` and ``E[step step]`` (arc-cosine kernels of order 1 and 0)."""
    s, rho = correlation(q11, q12, q22)
    theta = np.arccos(rho)
    sin_theta = np.sqrt((1 - rho) * (1 + rho))
    k1 = s * (sin_theta + (math.pi - theta) * rho) / _TWO_PI
    k0 = (math.pi - theta) / _TWO_PI if need_dot else None
    return k1, k0


def _abrelu(act: arch.ABRelu, q11, q12, q22, need_dot):
    a, b = act.a, act.b
    k1, k0 = _relu_pair(q11, q12, q22, need_dot)
    nngp = a * b * q12 + (b - a) ** 2 * k1
    return nngp, (a * b + (b - a) ** 2 * k0) if need_dot else None


def _erf(act: arch.Erf, q11, q12, q22, need_dot):
    a, b2, c = act.a, act.b ** 2, act.c
    d1 = 1 + 2 * b2 * q11
    d2 = 1 + 2 * b2 * q22
    arg = np.clip(2 * b2 * q12 / np.sqrt(d1 * d2), -1.0, 1.0)
    nngp = a * a * (2 / math.pi) * np.arcsin(arg) + c * c
    dot = None
    if need_dot:
        dot = a * a * b2 * (4 / math.pi) / np.sqrt(d1 * d2 - 4 * b2 * b2 * q12 * q12)
    return nngp, dot


def _gelu(act: arch.Gelu, q11, q12, q22, need_dot):
    # E[u Phi(u) v Phi(v)]: write Phi(u) = P(g1 <= u) with g1 ~ N(0, 1) independent; then
    # the expectation is a Gaussian integral over (u, v, g1, g2) (Tsuchida et al. 2021).
    p1 = 1 + q11
    p2 = 1 + q22
    delta2 = p1 * p2 - q12 * q12
    delta = np.sqrt(delta2)
    angle = np.arctan2(q12, delta)
    nngp = q12 / 4 + (q12 * angle + (q12 * q12 + q11 * q22 * delta2) / (p1 * p2 * delta)) / _TWO_PI
    dot = None
    if need_dot:
        dot = 0.25 + angle / _TWO_PI + q12 / (delta * _TWO_PI) * (
            1 / delta2 + (1 - q11 * q22) / (p1 * p2) + 1)
    return nngp, dot


def _sin(act: arch.Sin, q11, q12, q22, need_dot):
    a2, b2, c = act.a ** 2, act.b ** 2, act.c
    total = q11 + q22
    minus = np.exp(-b2 * (total - 2 * q12) / 2)
    plus = np.exp(-b2 * (total + 2 * q12) / 2) * math.cos(2 * c)
    nngp = a2 / 2 * (minus - plus)
    return nngp, (a2 * b2 / 2 * (minus + plus)) if need_dot else None


def _exp(act: arch.Exp, q11, q12, q22, need_dot):
    a2, b2 = act.a ** 2, act.b ** 2
    nngp = a2 * np.exp(b2 * (q11 + q22 + 2 * q12) / 2)
    return nngp, (b2 * nngp) if need_dot else None


def _gaussian(act: arch.Gaussian, q11, q12, q22, need_dot):
    a2, b = act.a ** 2, act.b
    det = (1 - 2 * b * q11) * (1 - 2 * b * q22) - 4 * b * b * q12 * q12
    if np.any(det <= 0):
        raise ParameterError(f"Gaussian(a={act.a}, b={b}): E[exp(b u^2) exp(b v^2)] diverges; "
                         "it needs (1 - 2 b q11)(1 - 2 b q22) > 4 b^2 q12^2")
    nngp = a2 / np.sqrt(det)
    return nngp, (4 * a2 * b * b * q12 / det ** 1.5) if need_dot else None


def _sign(act: arch.Sign, q11, q12, q22, need_dot):
    _, rho = correlation(q11, q12, q22)
    nngp = 1 - 2 * np.arccos(rho) / math.pi
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


def polynomial_dual(coef, q11, q12, q22):
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
    nngp = polynomial_dual(act.coef, q11, q12, q22)
    dot = None
    if need_dot:
        derivative = np.polynomial.polynomial.polyder(np.asarray(act.coef, dtype=float))
        dot = polynomial_dual(derivative, q11, q12, q22) if len(act.coef) > 1 else \
            np.zeros(np.shape(nngp))
        dot = np.broadcast_to(dot, np.shape(nngp))
    return np.broadcast_to(nngp, np.broadcast_shapes(np.shape(q11), np.shape(q12),
                                                     np.shape(q22))), dot


#: The largest degree of :func:`arccos_j`: its sympy derivation grows with the degree.
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


def arccos_j(degree: int, theta):
    """Cho & Saul's angular function ``J_n(theta)`` (``J_0 = pi - theta``,
    ``J_1 = sin theta + (pi - theta) cos theta``, ``J_n(0) = pi (2n-1)!!``); sympy derives
    ``J_n``, so ``degree`` is at most :data:`MAX_ARCCOS_DEGREE`."""
    degree = checks.integer("degree", degree, low=0, high=MAX_ARCCOS_DEGREE)
    if degree == 0:
        return math.pi - theta
    if degree == 1:
        return np.sin(theta) + (math.pi - theta) * np.cos(theta)
    return _arccos_j_function(degree)(theta)


def rectified_monomial_dual(n: int, q11, q12, q22):
    """``E[max(u,0)^n max(v,0)^n] = s^n J_n(theta) / (2 pi)``."""
    s, rho = correlation(q11, q12, q22)
    theta = np.arccos(rho)
    return s ** n * arccos_j(n, theta) / _TWO_PI


def _rectified_monomial(act: arch.RectifiedMonomial, q11, q12, q22, need_dot):
    n = act.degree
    nngp = rectified_monomial_dual(n, q11, q12, q22)
    dot = None
    if need_dot:
        dot = n * n * rectified_monomial_dual(n - 1, q11, q12, q22) if n > 0 else \
            np.zeros(np.shape(nngp))
    return nngp, dot


_DUALS = {
    arch.ABRelu: _abrelu,
    arch.Erf: _erf,
    arch.Gelu: _gelu,
    arch.Sin: _sin,
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


def dual(activation, q11, q12, q22, need_dot: bool):
    """``(E[phi(u) phi(v)], E[phi'(u) phi'(v)] or None)`` for a closed-form activation."""
    if type(activation) not in _DUALS:
        raise ArgumentTypeError(f"activation: no closed-form dual for "
                                f"{type(activation).__name__} (see has_closed_form)")
    return _DUALS[type(activation)](activation, q11, q12, q22, need_dot)
