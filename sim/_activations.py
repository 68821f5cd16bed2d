"""Activations for the numba kernels, derived from the layer objects of
:mod:`nnphys.models.network` (private).

A kernel cannot call a layer's numpy ``fn``; it evaluates ``phi`` itself from an integer
``code`` (the layer's class) and a float64 array ``params`` (the layer's parameters), both
produced by :func:`lower` from the object, so there is no second activation vocabulary::

    code, params = lower(network.Erf(a=2.0, b=0.5))      # phi(z) = 2 erf(z / 2)
    phi(code, params, 0.3), phi_prime(code, params, 0.3)   # inside a kernel

Each branch of :func:`phi` / :func:`phi_prime` is the formula of the layer's ``fn`` /
``fn_prime`` (the tests compare them on a grid, to rounding):

=====================  ============================  ======================================
layer                  ``params``                    ``phi(z)``
=====================  ============================  ======================================
``ABRelu(a, b)``       ``(a, b)``                    ``a min(z, 0) + b max(z, 0)``
``Erf(a, b, c)``       ``(a, b, c)``                 ``a erf(b z) + c``
``Tanh()``             ``()``                        ``tanh(z)``
``Identity()``         ``()``                        ``z``
``Sin(a, b, c)``       ``(a, b, c)``                 ``a sin(b z + c)``
``Exp(a, b)``          ``(a, b)``                    ``a exp(b z)``
``Gaussian(a, b)``     ``(a, b)``                    ``a exp(b z^2)``
``Polynomial(coef)``   ``coef`` (increasing degree)  ``sum_i coef_i z^i`` (Horner)
``RectifiedMonomial``  ``(degree,)``                 ``max(z, 0)^degree`` (1 at ``z >= 0``
                                                     for degree 0)
``Sign()``             ``()``                        ``sign(z)`` (``phi' = 0``)
``Gelu(approximate)``  ``(approximate,)``            ``z Phi(z)`` or its tanh approximation
                                                     (Hendrycks & Gimpel 2016,
                                                     arXiv:1606.08415); ``phi'`` is the
                                                     exact one in both cases, as the
                                                     layer's ``fn_prime``
=====================  ============================  ======================================

``Tanh()`` is the :class:`~nnphys.models.network.ElementwiseFunction` wrapping ``np.tanh``;
any other numpy callable cannot be evaluated by a compiled kernel and :func:`lower` says so.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import ParameterError
from ..models import network
from .._numba import inline_jit

__all__ = ["lower", "phi", "phi_prime", "ABRELU", "ERF", "TANH", "IDENTITY", "SIN", "EXP",
           "GAUSSIAN", "POLYNOMIAL", "RECTIFIED_MONOMIAL", "SIGN", "GELU"]

(ABRELU, ERF, TANH, IDENTITY, SIN, EXP, GAUSSIAN, POLYNOMIAL, RECTIFIED_MONOMIAL, SIGN,
 GELU) = range(11)

_SQRT_HALF = math.sqrt(0.5)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_INV_SQRT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


def _params(*values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


@functools.singledispatch
def lower(activation) -> tuple[int, np.ndarray]:
    """``(code, params)`` of an activation layer, for :func:`phi` / :func:`phi_prime`.

    Args:
        activation: a layer of :mod:`nnphys.models.network` (see the module's table).

    Raises:
        ParameterError: naming ``activation``, for an object numba cannot evaluate (a layer
            that is not an activation, an elementwise numpy callable other than ``tanh``,
            or anything else).
    """
    raise ParameterError(
        f"activation: numba kernels evaluate the activation layers ABRelu/Relu/LeakyRelu/"
        f"Abs, Erf, Tanh, Identity, Sin/Cos/Rbf, Exp, Gaussian, Polynomial/Monomial/"
        f"Hermite, RectifiedMonomial, Sign and Gelu; got {activation!r}")


@lower.register
def _(activation: network.ABRelu):
    return ABRELU, _params(activation.a, activation.b)


@lower.register
def _(activation: network.Erf):
    return ERF, _params(activation.a, activation.b, activation.c)


@lower.register
def _(activation: network.Identity):
    return IDENTITY, _params()


@lower.register
def _(activation: network.Sin):
    return SIN, _params(activation.a, activation.b, activation.c)


@lower.register
def _(activation: network.Rbf):
    return lower(activation.as_sin())


@lower.register
def _(activation: network.Exp):
    return EXP, _params(activation.a, activation.b)


@lower.register
def _(activation: network.Gaussian):
    return GAUSSIAN, _params(activation.a, activation.b)


@lower.register
def _(activation: network.Polynomial):
    return POLYNOMIAL, _params(*activation.coef)


@lower.register
def _(activation: network.RectifiedMonomial):
    return RECTIFIED_MONOMIAL, _params(activation.degree)


@lower.register
def _(activation: network.Sign):
    return SIGN, _params()


@lower.register
def _(activation: network.Gelu):
    return GELU, _params(1.0 if activation.approximate else 0.0)


@lower.register
def _(activation: network.ElementwiseFunction):
    if activation.function is np.tanh:
        return TANH, _params()
    return lower.dispatch(object)(activation)


@inline_jit
def phi(code, params, z):
    """``phi(z)`` of the activation ``(code, params) = lower(layer)``."""
    if code == ABRELU:
        return params[0] * min(z, 0.0) + params[1] * max(z, 0.0)
    if code == ERF:
        return params[0] * math.erf(params[1] * z) + params[2]
    if code == TANH:
        return math.tanh(z)
    if code == IDENTITY:
        return z
    if code == SIN:
        return params[0] * math.sin(params[1] * z + params[2])
    if code == EXP:
        return params[0] * math.exp(params[1] * z)
    if code == GAUSSIAN:
        return params[0] * math.exp(params[1] * z * z)
    if code == POLYNOMIAL:
        v = 0.0
        for i in range(params.size - 1, -1, -1):
            v = v * z + params[i]
        return v
    if code == RECTIFIED_MONOMIAL:
        return z ** params[0] if z >= 0.0 else 0.0
    if code == SIGN:
        return 1.0 if z > 0.0 else (-1.0 if z < 0.0 else 0.0 * z)
    if params[0] != 0.0:                                             # GELU, tanh form
        return 0.5 * z * (1.0 + math.tanh(_SQRT_TWO_OVER_PI * (z + 0.044715 * z * z * z)))
    return 0.5 * z * (1.0 + math.erf(z * _SQRT_HALF))


@inline_jit
def phi_prime(code, params, z):
    """``phi'(z)`` of the activation ``(code, params) = lower(layer)`` (the layer's
    ``fn_prime``: ``b`` at ``z >= 0`` for ABRelu, 0 for Sign)."""
    if code == ABRELU:
        return params[1] if z >= 0.0 else params[0]
    if code == ERF:
        bz = params[1] * z
        return params[0] * params[1] * _TWO_OVER_SQRT_PI * math.exp(-bz * bz)
    if code == TANH:
        t = math.tanh(z)
        return 1.0 - t * t
    if code == IDENTITY:
        return 1.0
    if code == SIN:
        return params[0] * params[1] * math.cos(params[1] * z + params[2])
    if code == EXP:
        return params[0] * params[1] * math.exp(params[1] * z)
    if code == GAUSSIAN:
        return 2.0 * params[0] * params[1] * z * math.exp(params[1] * z * z)
    if code == POLYNOMIAL:
        v = 0.0
        for i in range(params.size - 1, 0, -1):
            v = v * z + i * params[i]
        return v
    if code == RECTIFIED_MONOMIAL:
        if params[0] == 0.0 or z < 0.0:
            return 0.0
        return params[0] * z ** (params[0] - 1.0)
    if code == SIGN:
        return 0.0
    return 0.5 * (1.0 + math.erf(z * _SQRT_HALF)) + z * math.exp(-0.5 * z * z) * _INV_SQRT_TWO_PI
