"""The activations of neural-tangents 0.6.5 added with the spatial layers: ``Gabor`` and
``ExpNormalized`` (``Exp(a, b)`` is in :mod:`nnphys.models.network`). Their closed-form dual
kernels are in :mod:`nnphys.theory.kernels.duals`."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ParameterError
from . import network as nw

__all__ = ["Gabor", "ExpNormalized"]


@dataclasses.dataclass(frozen=True)
class Gabor(nw.Activation):
    """``phi(z) = exp(-z^2) sin(z)`` (neural-tangents' ``Gabor``)."""

    def fn(self, x):
        return np.exp(-x * x) * np.sin(x)

    def fn_prime(self, x):
        return np.exp(-x * x) * (np.cos(x) - 2 * x * np.sin(x))


@dataclasses.dataclass(frozen=True)
class ExpNormalized(nw.Activation):
    """The "Gaussian normalized kernel" of Shankar, Fang, Guo, Fridovich-Keil, Schmidt,
    Ragan-Kelley & Recht 2020, "Neural Kernels Without Tangents", arXiv:2003.02237, p. 6
    (neural-tangents' ``ExpNormalized``): a map of kernels, not of activations,

        K' = sqrt(q11 q22) exp(gamma (rho + shift)),   Theta' = gamma exp(gamma (rho + shift)) Theta

    with ``rho = q12 / sqrt(q11 q22)`` (clipped to [-1, 1] if ``do_clip``). No finite-width
    network has it as an elementwise activation, so ``apply`` raises (as neural-tangents).

    Args:
        gamma: the exponent's scale (real).
        shift: added to the normalised covariance (real).
        do_clip: clip ``rho`` to [-1, 1].
    """

    gamma: float = 1.0
    shift: float = -1.0
    do_clip: bool = False

    def __post_init__(self):
        nw._check_reals(self, ("gamma", "shift"))
        if not isinstance(self.do_clip, (bool, np.bool_)):
            raise ParameterError(f"do_clip: must be True or False, got {self.do_clip!r}")

    def fn(self, x):
        raise ParameterError("ExpNormalized: a kernel map without a finite-width activation "
                             "(neural-tangents' apply_fn raises too); use it in kernels only")

    fn_prime = fn


for _name in __all__:
    nw.register_layer(_name, globals()[_name])
