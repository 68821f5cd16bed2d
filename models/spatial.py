"""Transposed and locally connected convolutions, sum pooling (neural-tangents 0.6.5 ``stax``).

Finite-width layers (NHWC, any number of spatial axes); their infinite-width kernels are in
:mod:`nnphys.theory.kernels.spatial_layers`. Every layer here reads, for each output
position ``p`` and filter offset ``f`` along one axis, at most one input position
``index[p, f]`` (or nothing, ``valid[p, f] = False``), so a layer is a table of taps per
axis (:func:`transpose_positions`, :func:`nnphys.models.network.window_positions`):

* ``ConvTranspose(out_chan, filter_shape, strides, padding, W_std, b_std,
  parameterization)``: ``jax.lax.conv_transpose`` (no kernel flip) -- the input dilated
  by the stride, padded by ``(a, pad - a)``, with ``pad = k + s - 2`` and ``a = k - 1`` if
  ``s > k - 1`` else ``ceil(pad / 2)`` (SAME; ``n_out = n s``), or ``pad = k + s - 2 +
  max(k - s, 0)`` and ``a = k - 1`` (VALID; ``n_out = (n - 1) s + max(k, s)``), then correlated with the filter at stride 1:
  ``y[p] = sum_f W[f] x[(p + f - a) / s]`` over the offsets where ``(p + f - a) / s`` is an
  integer in range. CIRCULAR: the VALID output folded periodically onto the SAME output
  length ``n s`` about its centre (neural-tangents' ``_same_pad_for_filter_shape_transpose``);
  the folded copies of one tap read inputs ``n`` apart, so still at most one of them.
  The fan-in is ``C prod(filter_shape)`` as for ``Conv`` (Novak et al. 2020,
  arXiv:1912.02803, sec. 3; the peer's convention).
* ``ConvLocal(...)``: a locally connected layer (LCN; Novak et al. 2019,
  arXiv:1810.05148, sec. 2.2): the windows of ``Conv`` but separate weights
  ``W[p, c f, o]`` (``p`` the output position, the ``C prod(F)`` inputs ordered channel
  first, as ``jax.lax.conv_general_dilated_local``) and a bias ``b[p, o]`` per position.
* ``SumPool(window_shape, strides, padding)``: ``AvgPool`` without the division;
  ``GlobalSumPool()``: the sum over all positions.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import checks
from ..errors import ParameterError
from . import network as nw

__all__ = ["ConvTranspose", "ConvLocal", "SumPool", "GlobalSumPool", "transpose_positions"]


def transpose_positions(size: int, window: int, stride: int, padding: str,
                        name: str = "window"):
    """``(index, valid)``, both ``(n_out, window)``: the input position read by each output
    position and filter offset of a transposed convolution (module docstring), and whether
    it exists. ``name`` is the argument named in errors about ``window``."""
    size = checks.integer("size", size, low=1, high=checks.MEMORY_LIMIT)
    window = checks.integer(name, window, low=1, high=checks.MEMORY_LIMIT)
    stride = checks.integer("stride", stride, low=1, high=checks.MEMORY_LIMIT)
    checks.one_of("padding", padding, nw.PADDINGS)
    if padding == "SAME":
        pad = window + stride - 2
        low = window - 1 if stride > window - 1 else -(-pad // 2)
    else:                                   # VALID, and CIRCULAR before its fold
        pad = window + stride - 2 + max(window - stride, 0)
        low = window - 1
    n_valid = (size - 1) * stride + 1 + pad - window + 1
    offsets = np.arange(window)[None, :]

    def taps(positions):
        q = positions[:, None] + offsets - low
        ok = (q >= 0) & (q % stride == 0) & (q // stride < size)
        return np.where(ok, q // stride, 0), ok

    if padding != "CIRCULAR":
        return taps(np.arange(n_valid))
    n_out = size * stride
    width = (-(-n_valid // n_out)) // 2 * 2 + 1
    centre = (n_valid - n_out) // 2
    index = np.zeros((n_out, window), dtype=int)
    valid = np.zeros((n_out, window), dtype=bool)
    for j in range(-(width // 2), width // 2 + 1):
        m = np.arange(n_out) + centre + j * n_out
        inside = (m >= 0) & (m < n_valid)
        i, ok = taps(np.clip(m, 0, n_valid - 1))
        ok &= inside[:, None]
        assert not np.any(ok & valid)          # folded copies read inputs n apart
        index = np.where(ok, i, index)
        valid |= ok
    return index, valid


def _conv_taps(layer, spatial, transpose: bool) -> list:
    fn = transpose_positions if transpose else nw.window_positions
    return [fn(n, f, s, layer.padding, "filter_shape")
            for n, f, s in zip(spatial, layer.filter_shape, layer.strides)]


@dataclasses.dataclass(frozen=True)
class ConvTranspose(nw.Conv):
    """Transposed convolution (neural-tangents' ``stax.ConvTranspose``; module docstring).

    Arguments as :class:`~nnphys.models.network.Conv`; weights ``filter_shape + (C,
    out_chan)``, fan-in ``C prod(filter_shape)``.
    """

    def taps(self, spatial: tuple) -> list:
        """Per spatial axis, ``(index, valid)`` of :func:`transpose_positions`."""
        return _conv_taps(self, spatial, True)

    def output_spatial(self, spatial: tuple) -> tuple:
        return tuple(len(index) for index, _ in self.taps(spatial))

    def apply(self, params, x):
        w, b = params
        nw._check_spatial("filter_shape", x.shape, self.filter_shape, "ConvTranspose")
        patches = nw._gather_patches(x, self.taps(x.shape[1:-1]))
        k = len(self.filter_shape) + 1
        y = np.tensordot(patches, w, axes=(tuple(range(patches.ndim - k, patches.ndim)),
                                           tuple(range(k))))
        return nw._scale_and_shift(y, self, self.fan_in(x.shape[-1]), b)


@dataclasses.dataclass(frozen=True)
class ConvLocal(nw.Conv):
    """Locally connected layer (neural-tangents' ``stax.ConvLocal``; module docstring).

    Arguments as :class:`~nnphys.models.network.Conv`; weights ``out_spatial + (C
    prod(filter_shape), out_chan)``, bias ``out_spatial + (out_chan,)``.
    """

    def taps(self, spatial: tuple) -> list:
        """Per spatial axis, ``(index, valid)`` of the convolution windows."""
        return _conv_taps(self, spatial, False)

    def init(self, seed, input_shape):
        input_shape = nw._input_shape(input_shape)
        rng = nw.as_rng(seed)
        spatial = nw._check_spatial("filter_shape", input_shape, self.filter_shape,
                                    "ConvLocal")
        out = self.output_spatial(spatial)
        fan_in = self.fan_in(int(input_shape[-1]))
        checks.work("input_shape", float(np.prod(out)) * fan_in * self.out_chan,
                    checks.MEMORY_LIMIT, what="weights")
        w = rng.standard_normal(out + (fan_in, self.out_chan))
        b = rng.standard_normal(out + (self.out_chan,)) if self.b_std is not None else None
        return ((input_shape[0],) + out + (self.out_chan,),
                nw.trained_parameters(self, w, b, fan_in))

    def apply(self, params, x):
        w, b = params
        nw._check_spatial("filter_shape", x.shape, self.filter_shape, "ConvLocal")
        patches = nw._gather_patches(x, self.taps(x.shape[1:-1]))    # (N, *out, *F, C)
        d = len(self.filter_shape)
        # channel-major inputs per position, as jax.lax.conv_general_dilated_local
        patches = np.moveaxis(patches, -1, 1 + d)                  # (N, *out, C, *F)
        patches = patches.reshape(patches.shape[:1 + d] + (-1,))
        if w.shape[:-1] != patches.shape[1:]:
            raise ParameterError(f"params: weights of shape {w.shape} do not fit inputs "
                                 f"{x.shape} (expected {patches.shape[1:] + w.shape[-1:]})")
        y = np.einsum("n...i,...io->n...o", patches, w)
        return nw._scale_and_shift(y, self, self.fan_in(x.shape[-1]), b)


@dataclasses.dataclass(frozen=True)
class SumPool(nw.AvgPool):
    """Sum over windows of the spatial axes (neural-tangents' ``stax.SumPool``).

    Args:
        window_shape: one positive size per spatial axis.
        strides: one positive stride per spatial axis; None means all ones.
        padding: ``"VALID"`` (default), ``"SAME"`` (zeros) or ``"CIRCULAR"``.
    """

    window_shape: tuple
    strides: tuple | None = None
    padding: str = "VALID"
    normalize_edges: bool = dataclasses.field(default=False, init=False, repr=False)

    def weights(self, spatial: tuple) -> list:
        """Per spatial axis, ones (a sum is not normalised)."""
        return [np.ones(n) for n in self.output_spatial(spatial)]


@dataclasses.dataclass(frozen=True)
class GlobalSumPool(nw.GlobalAvgPool):
    """Sum over all spatial positions: ``(N, *S, C) -> (N, C)`` (no-op on ``(N, C)``)."""

    def apply(self, params, x):
        return x.sum(axis=tuple(range(1, x.ndim - 1)))


for _name in ("ConvTranspose", "ConvLocal", "SumPool", "GlobalSumPool"):
    nw.register_layer(_name, globals()[_name])
