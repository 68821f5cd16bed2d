"""Batch normalisation: each unit normalised over the batch (Ioffe & Szegedy 2015,
arXiv:1502.03167), as a layer of :mod:`nnphys.models.network`.

``BatchNorm(axis=0, epsilon=0.0, subtract_mean=True)`` maps a batch ``h`` of ``B`` inputs to

    y = (h - mean_batch(h)) / sqrt(var_batch(h) + epsilon),

with the mean and the biased variance (divided by ``B``) taken over the axes ``axis`` (the
batch axis 0, and spatial axes if given) separately for every channel, at initialisation
(scale ``gamma = 1``, shift ``beta = 0``, as in Yang et al. 2019, arXiv:1902.08129, sec. 2).
``subtract_mean=False`` divides by the batch root mean square without centring: the
normalisation of Meterez et al. 2023, arXiv:2310.02012, sec. 3.

Unlike :class:`~nnphys.models.network.LayerNorm`, the output for one input depends on the
whole batch, so the layer's infinite-width kernel (:mod:`nnphys.theory.kernels.batchnorm`)
is defined for one batch, ``Network.kernel(x)`` (NNGP and NTK); a cross-batch
``kernel(x1, x2)`` is refused.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from .network import Layer, register_layer

__all__ = ["BatchNorm"]


@dataclasses.dataclass(frozen=True)
class BatchNorm(Layer):
    """Normalise every channel over the batch (module docstring).

    Parameters
    ----------
    axis : int or tuple of int
        The axes reduced: they must include the batch axis 0 and not the channel axis
        (``-1``); ``0`` for ``(B, features)`` inputs, ``(0, 1, 2)`` for NHWC images.
    epsilon : float
        Added to the batch variance, ``>= 0``.
    subtract_mean : bool
        True: subtract the batch mean (standard batch normalisation); False: divide by
        the batch root mean square only (Meterez et al. 2023).
    """

    #: The output of a unit is not Gaussian (it lies on a sphere of the batch), so an
    #: activation may follow only directly, where the kernel treats the pair together.
    non_gaussian_output = True

    axis: int | tuple = 0
    epsilon: float = 0.0
    subtract_mean: bool = True

    def __post_init__(self):
        axes = self.axis if isinstance(self.axis, (tuple, list)) else (self.axis,)
        if not axes or any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                           for a in axes):
            raise ArgumentTypeError(f"axis: must be an int or a tuple of ints, got "
                                    f"{self.axis!r}")
        object.__setattr__(self, "axis", tuple(int(a) for a in axes)
                           if isinstance(self.axis, (tuple, list)) else int(self.axis))
        object.__setattr__(self, "epsilon", checks.real("epsilon", self.epsilon, low=0.0))
        if not isinstance(self.subtract_mean, (bool, np.bool_)):
            raise ArgumentTypeError(f"subtract_mean: must be True or False, got "
                                    f"{self.subtract_mean!r}")
        object.__setattr__(self, "subtract_mean", bool(self.subtract_mean))

    def axes(self, ndim: int) -> tuple:
        """The reduced axes as sorted non-negative ints for ``ndim``-dimensional inputs.

        Raises
        ------
        ParameterError
            An axis out of range, the batch axis missing or the channel axis included.
        """
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        if any(not -ndim <= a < ndim for a in axes):
            raise ParameterError(f"axis: {self.axis} is out of range for {ndim}-dimensional "
                                 "inputs")
        canonical = tuple(sorted({a % ndim for a in axes}))
        if 0 not in canonical:
            raise ParameterError(f"axis: {self.axis} must include the batch axis 0 (a "
                                 "normalisation over features only is LayerNorm)")
        if ndim - 1 in canonical:
            raise ParameterError(f"axis: {self.axis} includes the channel axis -1; batch "
                                 "normalisation acts on each channel separately")
        return canonical

    def apply(self, params, x):
        x = np.asarray(x, dtype=float)
        axes = self.axes(x.ndim)
        if self.subtract_mean:
            x = x - x.mean(axis=axes, keepdims=True)
        second = (x * x).mean(axis=axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            y = x / np.sqrt(second + self.epsilon)
        if not np.all(np.isfinite(y)):
            raise ParameterError("x: a channel is constant over the batch (or the batch "
                                 "has one input), so its batch variance is 0; give "
                                 "epsilon > 0")
        return y


register_layer("BatchNorm", BatchNorm)
