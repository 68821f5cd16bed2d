"""A single-hidden-layer network at one scalar input, with symmetric unit-variance weight
laws: the model of Antognini's finite-width output density (J. M. Antognini 2019,
"Finite size corrections for neural network Gaussian processes", arXiv:1908.10030).

The network, in the NTK parameterization at the input ``x = sqrt(q0)``::

    f = b_out_std B + (W_std / sqrt(n)) sum_{j=1}^n v_j phi(W_std sqrt(q0) w_j + b_std b_j)

with ``w_j, b_j`` i.i.d. from the ``first_layer`` law and ``v_j, B`` from the ``readout``
law. :mod:`nnphys.theory.edgeworth` computes its exact cumulants and Edgeworth density,
:mod:`nnphys.sim.shallow` samples it; both read the spec and the laws from here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

from .. import checks
from ..errors import ParameterError
from .network import activation_function

__all__ = ["LAWS", "law_moments", "ShallowNetwork"]

#: unit-variance symmetric weight laws: name -> (E v^4, E v^6). Gaussian; uniform on
#: ``[-sqrt 3, sqrt 3]`` (``E v^(2k) = 3^k / (2k + 1)``); Rademacher ``+-1``.
LAWS = {"gaussian": (3.0, 15.0), "uniform": (9.0 / 5.0, 27.0 / 7.0), "rademacher": (1.0, 1.0)}


def law_moments(law: str) -> tuple[float, float]:
    """``(E v^4, E v^6)`` of the unit-variance symmetric law ``law``."""
    return LAWS[checks.one_of("law", law, LAWS)]


@dataclasses.dataclass(frozen=True)
class ShallowNetwork:
    """The network of the module docstring (arguments checked on construction).

    Attributes:
        activation: a layer of :mod:`nnphys.models.network` (``Relu()``, ...) or a
            vectorised numpy callable ``phi``.
        width: hidden width ``n >= 1``.
        W_std: weight scale of both layers; b_std: hidden-layer bias scale (``>= 0``).
        q0: squared input per dimension ``|x|^2 / d`` (``>= 0``).
        readout, first_layer: the laws of ``(v, B)`` and of ``(w, b)`` (keys of
            :data:`LAWS`).
        b_out_std: scale of the output bias ``B`` (``>= 0``; default none).
    """

    activation: Any
    width: int
    W_std: float = 1.0
    b_std: float = 0.0
    q0: float = 1.0
    readout: str = "gaussian"
    first_layer: str = "gaussian"
    b_out_std: float = 0.0

    def __post_init__(self):
        width = self.width
        try:
            whole = not isinstance(width, bool) and int(width) == width and \
                1 <= width <= 2 ** 53
        except (TypeError, ValueError, OverflowError):
            whole = False
        if not whole:
            raise ParameterError(f"width: must be an integer in [1, 2^53], got {width!r}")
        object.__setattr__(self, "width", int(width))
        for name in ("W_std", "b_std", "q0", "b_out_std"):
            object.__setattr__(self, name,
                               checks.positive(name, getattr(self, name), allow_zero=True,
                                               high=1e150))     # its square stays finite
        for name in ("readout", "first_layer"):
            if getattr(self, name) not in LAWS:
                raise ParameterError(f"{name}: the law must be one of {tuple(LAWS)}, got "
                                     f"{getattr(self, name)!r}")
        activation_function(self.activation)

    @property
    def fn(self) -> Callable:
        """``phi`` as a numpy callable."""
        return activation_function(self.activation)
