"""The random rate network of Sompolinsky, Crisanti & Sommers, described once.

Model (H. Sompolinsky, A. Crisanti, H.-J. Sommers, "Chaos in random neural networks",
Phys. Rev. Lett. 61, 259 (1988), Eq. 1; noise and a common input as in Crisanti &
Sompolinsky, Phys. Rev. E 98, 062120 (2018), arXiv:1809.06042, Eq. 1)::

    dx_i/dt = -x_i + sum_j J_ij phi(x_j) + I(t) + xi_i(t),   i = 1..N,
    J_ij ~ N(0, g^2 / N),   <xi_i(t) xi_j(s)> = sigma^2 delta_ij delta(t - s).

:class:`RateNetwork` holds ``g``, the activation ``phi`` (a layer object of
:mod:`nnphys.models.network`: ``Tanh()`` as in SCS, ``Erf(b=sqrt(pi)/2)`` for the
unit-slope erf with a closed-form two-point function, ``Elementwise(fn, fn_prime)`` for any
other), the noise strength ``noise = sigma^2``, the common input ``I`` (``None``, a number,
or a callable of time) and the size ``N`` (``None`` for the ``N -> infinity`` limit the DMFT
describes). :mod:`nnphys.theory.dmft.rnn` and :mod:`nnphys.sim.rnn` both take it.
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Any, Callable

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from .network import Activation, ElementwiseFunction, Tanh

__all__ = ["RateNetwork", "rate_network", "is_tanh"]

_MAX_N = 50000


@dataclasses.dataclass(frozen=True)
class RateNetwork:
    """The SCS rate network ``dx/dt = -x + J phi(x) + I(t) + xi``, ``J_ij ~ N(0, g^2/N)``.

    Attributes:
        g: coupling strength (``>= 0``; the chaotic transition of tanh is at ``g = 1``).
        activation: ``phi``, a layer object of :mod:`nnphys.models.network`.
        noise: white-noise strength ``sigma^2 >= 0``.
        input: common input ``I(t)``: ``None`` (none), a number, or a callable of time.
        N: number of neurons (an integer in ``[2, 50000]``), or ``None`` for ``N -> inf``.
    """

    g: float
    activation: Activation = dataclasses.field(default_factory=Tanh)
    noise: float = 0.0
    input: float | Callable | None = None
    N: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "g", checks.real("g", self.g, low=0.0))
        if not isinstance(self.activation, Activation):
            raise ArgumentTypeError(
                "activation: must be a layer object of nnphys.models.network (Tanh(), "
                f"Erf(b=sqrt(pi)/2), Elementwise(fn, fn_prime)), got {self.activation!r}")
        object.__setattr__(self, "noise", checks.real("noise", self.noise, low=0.0))
        if self.input is not None and not callable(self.input):
            if isinstance(self.input, bool) or not isinstance(self.input, numbers.Real):
                raise ArgumentTypeError("input: must be None, a number or a callable I(t), "
                                        f"got {type(self.input).__name__}")
            object.__setattr__(self, "input", checks.real("input", self.input))
        if self.N is not None:
            object.__setattr__(self, "N", checks.integer("N", self.N, low=2, high=_MAX_N))

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable parameters (for the ``parameters`` of a record)."""
        inp = self.input
        return {"g": self.g, "activation": repr(self.activation), "noise": self.noise,
                "input": None if inp is None else (inp if isinstance(inp, float)
                                                   else getattr(inp, "__name__", "callable")),
                "N": self.N}


def rate_network(network, **fields) -> RateNetwork:
    """A :class:`RateNetwork` from a spec or from ``g`` (the keyword convenience).

    ``network`` is a :class:`RateNetwork` or a number ``g``; ``fields`` (``activation``,
    ``noise``, ``input``, ``N``) that are not ``None`` replace the spec's values.
    """
    given = {k: v for k, v in fields.items() if v is not None}
    if isinstance(network, RateNetwork):
        return dataclasses.replace(network, **given) if given else network
    if isinstance(network, bool) or not isinstance(network, numbers.Real):
        raise ArgumentTypeError(f"network: a RateNetwork or a coupling strength g, got "
                                f"{type(network).__name__}")
    try:
        return RateNetwork(g=network, **given)
    except ParameterError as error:
        raise ParameterError(f"network: {error}") from None


def is_tanh(layer) -> bool:
    """Whether ``layer`` is :func:`nnphys.models.network.Tanh` (an ``Elementwise`` of
    ``np.tanh``): SCS's activation, for which theory and simulation have compiled paths."""
    return isinstance(layer, ElementwiseFunction) and layer.function is np.tanh
