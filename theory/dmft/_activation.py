"""What the SCS mean-field theory needs of an activation layer (private).

The DMFT of :mod:`.rnn` needs, besides ``phi`` itself, its derivative ``phi'`` (the
Lyapunov potential and the tail rate) and its primitive ``Phi(x) = int_0^x phi`` (the
classical potential of Sompolinsky, Crisanti & Sommers 1988, Eq. 5), and it requires ``phi``
odd. :func:`scs_activation` derives them from a layer object of
:mod:`nnphys.models.network`:

* ``Erf(a, b, c=0)``: ``phi = a erf(b x)``, ``phi' = (2 a b / sqrt(pi)) exp(-b^2 x^2)``,
  ``Phi = a (x erf(b x) + (exp(-b^2 x^2) - 1) / (b sqrt(pi)))``; its Gaussian two-point
  function is the arcsine closed form (:func:`nnphys.theory.gaussian.erf_pair`), and the
  time-domain rows are compiled. SCS's "erf" is ``Erf(b=sqrt(pi)/2)`` (unit slope at 0). An
  ``Erf`` with ``c != 0`` is not odd and is refused.
* ``Tanh()``: ``phi' = 1 - tanh^2``, ``Phi = log cosh`` (written overflow-free); compiled rows.
* ``Identity()``: the linear network, ``Phi = x^2 / 2``.
* any other layer (``Elementwise(fn, fn_prime)``, ``Sin``, ...): its ``fn`` and ``fn_prime``;
  without ``fn_prime``, a 4th-order central difference (step 1e-3, error ~1e-12
  ``|phi^(5)|``); the primitive by 24-point Gauss-Legendre quadrature on ``[0, x]`` (exact to
  rounding for smooth ``phi`` on the ranges met here).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np
from scipy import special

from ...errors import ArgumentTypeError, ParameterError
from ...models import network
from ...models.rnn import is_tanh
from ..gaussian import gauss_legendre

__all__ = ["ScsActivation", "scs_activation", "TANH", "ERF"]

TANH, ERF = 0, 1               # compiled row kinds of ._pair_kernels
_FD_STEP = 1e-3
_PRIMITIVE_NODES = 24


@dataclasses.dataclass(frozen=True)
class ScsActivation:
    """An odd ``phi`` with derivative ``dphi``, primitive ``Phi`` and slope ``phi'(0)``.

    ``kind`` is the compiled row kind (``TANH``, ``ERF`` or ``None`` for the numpy path) and
    ``erf`` the ``(a, b)`` of ``a erf(b x)`` when the arcsine closed form applies.
    ``scale``: how much faster than ``tanh`` (poles at ``+-i pi/2``) ``phi`` varies, so that a
    trapezoidal rule designed for tanh at variance ``q`` is used at ``scale^2 q``: 1 for tanh
    and SCS's erf, ``b / (sqrt(pi)/2)`` for ``a erf(b x)`` with a steeper ``b``.
    """

    layer: network.Activation
    phi: Callable[[np.ndarray], np.ndarray]
    dphi: Callable[[np.ndarray], np.ndarray]
    Phi: Callable[[np.ndarray], np.ndarray]
    slope0: float
    kind: int | None = None
    erf: tuple[float, float] | None = None
    scale: float = 1.0

    @property
    def name(self) -> str:
        return repr(self.layer)


def _tanh_prime(x):
    t = np.tanh(x)
    return 1.0 - t * t


def _log_cosh(x):
    a = np.abs(x)
    return a + np.log1p(np.exp(-2.0 * a)) - math.log(2.0)


def _erf_functions(a: float, b: float):
    def phi(x):
        return a * special.erf(b * x)

    def dphi(x):
        return (2.0 * a * b / math.sqrt(math.pi)) * np.exp(-(b * x) ** 2)

    def Phi(x):
        u = b * x
        return a * (u * special.erf(u) + (np.exp(-u * u) - 1.0) / math.sqrt(math.pi)) / b
    return phi, dphi, Phi


def _numeric_derivative(phi):
    h = _FD_STEP

    def dphi(x):
        x = np.asarray(x, dtype=float)
        return (8.0 * (phi(x + h) - phi(x - h)) - (phi(x + 2 * h) - phi(x - 2 * h))) / (12 * h)
    return dphi


def _numeric_primitive(phi):
    s, w = gauss_legendre(_PRIMITIVE_NODES)
    s = 0.5 * (s + 1.0)
    w = 0.5 * w

    def Phi(x):
        x = np.asarray(x, dtype=float)
        return x * np.tensordot(phi(x[..., None] * s), w, axes=([-1], [0]))
    return Phi


def _check_odd(layer, phi):
    probe = np.linspace(-3.0, 3.0, 13)
    values = np.asarray(phi(probe), dtype=float)
    if values.shape != probe.shape or not np.all(np.isfinite(values)):
        raise ParameterError(f"activation: {layer!r} must map arrays to finite arrays of the "
                             "same shape")
    if not np.allclose(values, -values[::-1], atol=1e-12, rtol=1e-10):
        raise ParameterError(f"activation: the SCS mean-field theory needs an odd function "
                             f"phi(-x) = -phi(x), and {layer!r} is not")


def scs_activation(layer) -> ScsActivation:
    """The :class:`ScsActivation` of a layer object of :mod:`nnphys.models.network`.

    Raises:
        ArgumentTypeError: ``layer`` is not an activation layer (a string, a bare callable).
        ParameterError: ``phi`` is not odd, or not finite on ``[-3, 3]``.
    """
    if isinstance(layer, ScsActivation):
        return layer
    if not isinstance(layer, network.Activation):
        raise ArgumentTypeError(
            "activation: must be a layer object of nnphys.models.network (Tanh(), "
            f"Erf(b=sqrt(pi)/2), Elementwise(fn, fn_prime)), got {layer!r}")
    if is_tanh(layer):
        return ScsActivation(layer, np.tanh, _tanh_prime, _log_cosh, 1.0, kind=TANH)
    if isinstance(layer, network.Erf):
        if layer.c != 0.0:
            raise ParameterError(f"activation: the SCS mean-field theory needs an odd phi; "
                                 f"{layer!r} has c = {layer.c} != 0")
        if layer.a == 0.0 or layer.b == 0.0:
            raise ParameterError(f"activation: {layer!r} is identically zero")
        phi, dphi, Phi = _erf_functions(layer.a, layer.b)
        return ScsActivation(layer, phi, dphi, Phi, float(dphi(np.zeros(1))[0]), kind=ERF,
                             erf=(layer.a, layer.b),
                             scale=max(1.0, abs(layer.b) / (math.sqrt(math.pi) / 2.0)))
    if isinstance(layer, network.Identity):
        return ScsActivation(layer, layer.fn, layer.fn_prime, lambda x: 0.5 * np.square(x), 1.0)
    phi = layer.fn
    _check_odd(layer, phi)
    has_prime = not (isinstance(layer, network.ElementwiseFunction)
                     and layer.function_prime is None)
    dphi = layer.fn_prime if has_prime else _numeric_derivative(phi)
    return ScsActivation(layer, phi, dphi, _numeric_primitive(phi),
                         float(np.asarray(dphi(np.zeros(1)))[0]))
