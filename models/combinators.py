"""Fan-in combinators, ``repeat`` and dropout, as neural-tangents' ``stax`` (0.6.5).

* ``FanInConcat(axis)`` concatenates a list of branches (from :class:`FanOut` and
  :class:`Parallel`) along ``axis``;
* ``FanInProd()`` multiplies them elementwise;
* ``repeat(layer, n)`` is ``serial(layer, ..., layer)`` with ``n`` independent draws of
  the parameters (neural-tangents compiles it as a loop; the network is the same);
* ``Dropout(rate, mode)`` keeps each unit with probability ``rate`` (the *keep* rate, as in
  ``jax.example_libraries.stax.Dropout``) and rescales it by ``1 / rate`` in
  ``mode="train"``; ``mode="test"`` is the identity. At finite width the masks come from
  the seed drawn at ``init`` (one fresh mask per unit, per input and per call order), so
  ``apply`` stays a function of ``(params, x)``.

The kernels are in :mod:`nnphys.theory.kernels.combinators`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import checks
from ..errors import ParameterError
from .network import Layer, Serial, as_rng, register_layer

__all__ = ["FanInConcat", "FanInProd", "Dropout", "repeat", "DROPOUT_MODES"]

DROPOUT_MODES = ("train", "test")


@dataclasses.dataclass(frozen=True)
class FanInConcat(Layer):
    """Concatenate branches along ``axis`` (``-1``: channels; a spatial axis; not the batch).

    Parameters
    ----------
    axis : int
        The axis of the ``(batch, *S, channels)`` branch outputs.
    """

    axis: int = -1

    def __post_init__(self):
        object.__setattr__(self, "axis", checks.integer("axis", self.axis))

    def canonical_axis(self, ndim: int) -> int:
        """``axis`` as a non-negative index for ``ndim``-dimensional branches.

        Raises:
            ParameterError: out of range, or the batch axis.
        """
        if not -ndim <= self.axis < ndim:
            raise ParameterError(f"axis: {self.axis} is out of range for {ndim}-dimensional "
                                 "branches")
        axis = self.axis % ndim
        if axis == 0:
            raise ParameterError("axis: concatenation along the batch axis 0 has no kernel "
                                 "(the covariances of a batch would depend on its blocks)")
        return axis

    @property
    def non_gaussian_output(self) -> bool:
        """A channel concatenation of branches with different kernels is a mixture, not a
        Gaussian process with one kernel (neural-tangents' ``is_gaussian=False``)."""
        return self.axis == -1

    def init(self, seed, input_shape):
        shapes = [tuple(s) for s in input_shape]
        ndim = len(shapes[0])
        axis = self.canonical_axis(ndim)
        rest = {s[:axis] + s[axis + 1:] for s in shapes}
        if len(rest) != 1 or any(len(s) != ndim for s in shapes):
            raise ParameterError(f"FanInConcat: branch shapes differ outside axis {self.axis}: "
                                 f"{shapes}")
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        return tuple(out), ()

    def apply(self, params, x):
        return np.concatenate(x, axis=self.canonical_axis(np.ndim(x[0])))


@dataclasses.dataclass(frozen=True)
class FanInProd(Layer):
    """Multiply branches of equal shape elementwise."""

    non_gaussian_output = True

    def init(self, seed, input_shape):
        shapes = {tuple(s) for s in input_shape}
        if len(shapes) != 1:
            raise ParameterError(f"FanInProd: branch shapes differ: {sorted(shapes)}")
        return tuple(input_shape[0]), ()

    def apply(self, params, x):
        out = x[0]
        for other in x[1:]:
            out = out * other
        return out


@dataclasses.dataclass(frozen=True)
class Dropout(Layer):
    """Keep each unit with probability ``rate`` and divide it by ``rate`` (``"train"``).

    Parameters
    ----------
    rate : float
        Keep probability, ``0 < rate <= 1``.
    mode : str
        ``"train"`` or ``"test"`` (identity).
    """

    rate: float
    mode: str = "train"

    def __post_init__(self):
        object.__setattr__(self, "rate", checks.real("rate", self.rate, low=0.0, high=1.0,
                                                     low_open=True))
        checks.one_of("mode", self.mode, DROPOUT_MODES)

    @property
    def non_gaussian_output(self) -> bool:
        """Dropped-out units are not Gaussian (neural-tangents' ``is_gaussian=False``)."""
        return self.mode == "train" and self.rate < 1.0

    def init(self, seed, input_shape):
        rng = as_rng(seed)
        return tuple(input_shape), int(rng.integers(0, 2 ** 63 - 1))

    def apply(self, params, x):
        if self.mode == "test":
            return x
        x = np.asarray(x, dtype=float)
        keep = np.random.default_rng(params).random(x.shape) < self.rate
        return np.where(keep, x / self.rate, 0.0)


def repeat(layer: Layer, n: int) -> Serial:
    """``layer`` applied ``n`` times, each copy with its own parameters.

    Parameters
    ----------
    layer : Layer
        The repeated block; it must keep the shape of its input.
    n : int
        Number of copies, ``>= 1``.

    Returns
    -------
    Serial
        ``Serial((layer,) * n)``.
    """
    n = checks.integer("n", n, low=1, high=checks.MEMORY_LIMIT)
    return Serial((layer,) * n)


for _name in ("FanInConcat", "FanInProd", "Dropout"):
    register_layer(_name, globals()[_name])
