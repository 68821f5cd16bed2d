"""Activations and Gaussian expectations shared by the rate-network DMFT.

An :class:`Activation` bundles an odd transfer function ``phi`` with its derivative
``phi'`` and its primitive ``Phi(x) = int_0^x phi`` (needed for the classical potential of
Sompolinsky, Crisanti & Sommers 1988). Built in: ``"tanh"`` (``Phi = log cosh``) and
``"erf"`` = ``erf(sqrt(pi) x / 2)`` (unit slope at 0, closed-form Gaussian two-point
function). Any vectorised callable is accepted; its derivative then comes from a 4th-order
central difference (step 1e-3, error ~1e-12 |phi^(5)|) unless given, and its primitive from
24-point Gauss-Legendre quadrature on ``[0, x]`` (exact to rounding for smooth ``phi`` on
the ranges met here).

Gaussian expectations ``E[f(z)] = sum_i w_i f(z_i)``, ``z ~ N(0, 1)``, use the trapezoidal
rule on ``|z| <= 9`` (the Gaussian weight beyond is < 3e-18). For integrands analytic in the
strip ``|Im z| < d`` its error is ``O(exp(-2 pi d / h))`` (Trefethen & Weideman, SIAM Rev.
56, 385 (2014), Thm 5.1), far better than Gauss-Hermite for ``tanh(s z)``, whose poles at
``z = i pi/(2 s)`` approach the real axis as the variance ``s^2`` grows (121-node
Gauss-Hermite is only good to ~1e-9 at ``s^2 = 2`` and ~1e-6 at ``s^2 = 4.5``).
:func:`normal_rule` picks ``h = min(0.1, 0.2 d)`` with ``d = pi/(2 s)``, i.e. an error
below ``exp(-2 pi / 0.2) ~ 2e-14`` for tanh-like poles. Gauss-Hermite nodes
(:func:`gauss_hermite`) remain available. Two correlated variables with variances ``q1, q2``
and covariance ``c`` are written ``x = sqrt(q1) z1``, ``y = (c/sqrt(q1)) z1 + sqrt(q2 -
c^2/q1) z2`` and integrated on the product grid.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
from scipy import special

from ...errors import ParameterError

__all__ = ["Activation", "activation", "gauss_hermite", "normal_rule", "expect_pair", "erf_pair"]

_FD_STEP = 1e-3
_LEGENDRE = np.polynomial.legendre.leggauss(24)


@dataclasses.dataclass(frozen=True)
class Activation:
    """An odd transfer function with derivative ``dphi``, primitive ``Phi`` and name."""

    name: str
    phi: Callable[[np.ndarray], np.ndarray]
    dphi: Callable[[np.ndarray], np.ndarray]
    Phi: Callable[[np.ndarray], np.ndarray]
    slope0: float
    closed_form: str = ""          # "erf" when E[phi phi] has the arcsine closed form


def _tanh_prime(x):
    t = np.tanh(x)
    return 1.0 - t * t


def _log_cosh(x):
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)


_ERF_SCALE = math.sqrt(math.pi) / 2.0


def _erf(x):
    return special.erf(_ERF_SCALE * x)


def _erf_prime(x):
    return np.exp(-(_ERF_SCALE * x) ** 2)


def _erf_primitive(x):
    a = _ERF_SCALE * x
    return (a * special.erf(a) + (np.exp(-a * a) - 1.0) / math.sqrt(math.pi)) / _ERF_SCALE


def _numeric_derivative(phi):
    h = _FD_STEP

    def dphi(x):
        x = np.asarray(x, dtype=float)
        return (8.0 * (phi(x + h) - phi(x - h)) - (phi(x + 2 * h) - phi(x - 2 * h))) / (12 * h)
    return dphi


def _numeric_primitive(phi):
    s, w = _LEGENDRE
    s = 0.5 * (s + 1.0)
    w = 0.5 * w

    def Phi(x):
        x = np.asarray(x, dtype=float)
        return x * np.tensordot(phi(x[..., None] * s), w, axes=([-1], [0]))
    return Phi


def activation(phi="tanh", phi_prime=None) -> Activation:
    """The :class:`Activation` for ``phi``: ``"tanh"``, ``"erf"`` or an odd callable.

    Raises:
        ParameterError: unknown name, non-callable, or ``phi`` not odd / not finite.
    """
    if isinstance(phi, Activation):
        return phi
    if isinstance(phi, str):
        if phi == "tanh":
            return Activation("tanh", np.tanh, _tanh_prime, _log_cosh, 1.0)
        if phi == "erf":
            return Activation("erf", _erf, _erf_prime, _erf_primitive, 1.0, "erf")
        raise ParameterError(f"phi: unknown activation {phi!r}; use 'tanh', 'erf' or a callable")
    if not callable(phi):
        raise ParameterError("phi: must be 'tanh', 'erf' or a vectorised callable")
    probe = np.linspace(-3.0, 3.0, 13)
    values = np.asarray(phi(probe), dtype=float)
    if values.shape != probe.shape or not np.all(np.isfinite(values)):
        raise ParameterError("phi: callable must map arrays to finite arrays of the same shape")
    if not np.allclose(values, -values[::-1], atol=1e-12, rtol=1e-10):
        raise ParameterError("phi: the SCS mean-field theory needs an odd function phi(-x) = -phi(x)")
    dphi = phi_prime if phi_prime is not None else _numeric_derivative(phi)
    name = getattr(phi, "__name__", "callable")
    return Activation(name, phi, dphi, _numeric_primitive(phi), float(dphi(np.zeros(1))[0]))


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``E[f(z)] ~ sum_i w_i f(z_i)`` for ``z ~ N(0, 1)``."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / math.sqrt(2.0 * math.pi)


_Z_MAX = 9.0


def normal_rule(scale: float, z_max: float = _Z_MAX, ratio: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoidal nodes and weights for ``E[f(z)]``, ``z ~ N(0, 1)``, on ``|z| <= z_max``
    with step ``h = min(0.5, ratio d)``, ``d = pi / (2 scale)``: error ``~exp(-2 pi / ratio)``
    (2e-14 at the default 0.2) for ``f(z) = phi(s z)``, ``s <= scale``, ``phi`` analytic in
    ``|Im x| < pi/2`` (tanh), plus the Gaussian tail beyond ``z_max`` (the cap 0.5 keeps the
    rule's own error on the Gaussian weight, ``~exp(-2 pi^2 / h^2)``, below 1e-17)."""
    step = min(0.5, ratio * (math.pi / 2.0) / max(float(scale), 1e-300))
    half = int(math.ceil(z_max / step))
    z = np.arange(-half, half + 1) * (z_max / half)
    w = (z_max / half) * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return z, w


def expect_pair(f, h, q1, q2, c, rule=None, m1=0.0, m2=0.0) -> np.ndarray:
    """``E[f(x) h(y)]`` for jointly Gaussian ``x, y`` (means ``m1, m2``, variances ``q1, q2``,
    covariance ``c``; broadcast arrays) on the product grid of ``rule = (z, w)`` (default
    :func:`normal_rule` for the largest standard deviation)."""
    if rule is None:
        rule = normal_rule(math.sqrt(max(np.max(q1), np.max(q2))))
    z, w = rule
    q1, q2, c, m1, m2 = np.broadcast_arrays(*(np.asarray(a, dtype=float)[..., None]
                                              for a in (q1, q2, c, m1, m2)))
    s1 = np.sqrt(np.maximum(q1, 0.0))
    a = np.where(s1 > 0, c / np.where(s1 > 0, s1, 1.0), 0.0)
    b = np.sqrt(np.maximum(q2 - a * a, 0.0))
    fx = f(m1 + s1 * z)                                     # (..., n)
    hy = h((m2 + a * z)[..., :, None] + b[..., None] * z)   # (..., n, n)
    inner = hy @ w                                          # (..., n)
    return (fx * inner) @ w


def erf_pair(q1, q2, c):
    """Closed form of ``E[phi(x) phi(y)]`` for ``phi = erf(sqrt(pi) x / 2)`` (zero means):
    ``(2/pi) arcsin(2 a^2 c / sqrt((1 + 2 a^2 q1)(1 + 2 a^2 q2)))`` with ``a^2 = pi/4``
    (Williams 1997, Neural Computation 10, 1203)."""
    k = 2.0 * _ERF_SCALE ** 2
    return (2.0 / math.pi) * np.arcsin(k * c / np.sqrt((1.0 + k * q1) * (1.0 + k * q2)))
