"""Kernel maps of convolution, average pooling, flattening and layer normalisation.

Conventions of neural-tangents 0.6.5 (CNN-GP: Novak et al. 2019, arXiv:1810.05148;
CNTK: Arora et al. 2019, arXiv:1904.11955; Novak et al. 2020, arXiv:1912.02803). A
kernel carries its spatial axes in one of two layouts (:mod:`.kernel`): ``"diagonal"``
keeps the covariance of each position with itself, ``K[i, j, p]``; ``"full"`` keeps all
pairs, ``K[i, j, p, p']``.

**Conv** (filter ``F``, ``|F| = prod(filter_shape)``, strides ``s``; positions of the padded
input, see :func:`nnphys.models.network.window_padding`). The weights are shared, so both
positions move by the same filter offset ``f``::

    diagonal:  K'[p]     = W^2 / |F| sum_f K[s p + f]           + b^2
    full:      K'[p, p'] = W^2 / |F| sum_f K[s p + f, s p' + f] + b^2
    NTK param:      Theta' = W^2 / |F| sum_f Theta[...] + K'
    standard param: Theta' = C sum_f K[...] + W^2 / |F| sum_f Theta[...] + [b_std is not None]

with zero padding (SAME; the sum is still divided by the full ``|F|``), periodic padding
(CIRCULAR) or none (VALID), ``C`` the input channels (so ``C |F|`` is the fan-in).

**AvgPool** (window ``A``) averages activations, so the two positions move independently:
``K'[p, p'] = 1 / |A|^2 sum_{a, a'} K[s p + a, s p' + a']`` (full layout only, also for the
NTK); the division is by the full window even at SAME borders (``normalize_edges=False``,
the default) or by the number of input positions in each window (``normalize_edges=True``).

**GlobalAvgPool** averages the full covariance over all position pairs; **Flatten** averages
the per-position diagonal (cross-position terms never reach a Dense readout); both return
the fully connected layout ``"fc"`` and are no-ops on it.

**LayerNorm** over the channel axis and the spatial axes ``A`` of ``axis``:
``K'[p, p'] = K[p, p'] / sqrt(v1[p] v2[p'])`` with ``v[p] = eps + <K[q, q]>_{q ~ p}``, the
self-covariance averaged over the positions ``q`` that share ``p``'s coordinates outside
``A``; the NTK is divided likewise. The mean subtraction is neglected, which is exact in
the limit for zero-mean Gaussian inputs (a ``Dense``/``Conv`` output, or a sum of them);
neural-tangents refuses other inputs, nnphys does not check.

**Algorithm.** Every map is separable over the spatial axes and applied one axis (or one
pair of position axes, in the full layout) at a time. A window sum is a loop over the
window offsets, each adding one strided slice (a view) of the input to a rectangle of the
output: zero padding is never built, periodic padding is one gather. The cost is
``window x output size`` per axis, nothing of size ``(prod S)^2 x (prod S)^2`` is ever
formed, and memory stays at a few arrays of the size of the current block's kernel
(``Network.kernel`` evaluates blocks of inputs). Every map is elementwise in the pair of
inputs, so blocked and whole evaluations agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ...models import network as arch
from .kernel import Kernel, _spatial_diagonal
from .layers import register

__all__: list = []


# ---------------------------------------------------------------------------------------
# Window sums
# ---------------------------------------------------------------------------------------

def _wrap(arr: np.ndarray, axes: tuple, size: int, low: int, high: int) -> np.ndarray:
    """``arr`` extended periodically by ``low`` positions before and ``high`` after."""
    index = np.arange(-low, size + high) % size
    for ax in axes:
        arr = np.take(arr, index, axis=ax)
    return arr


def _window_sum(arr: np.ndarray, axes: tuple, size: int, window: int, stride: int,
                padding: str, name: str) -> np.ndarray:
    """``out[.., p, .., p', ..] = sum_k arr[.., s p + k - low, .., s p' + k - low, ..]``.

    The same offset ``k`` runs on every axis in ``axes`` (two axes: the shared filter
    offset of a convolution in the full layout; one axis: a plain window sum). Positions
    outside the input read zeros (SAME) or wrap around (CIRCULAR). Each offset adds one
    strided slice (a view) of ``arr`` to a rectangle of the output, so zero padding is
    never materialised. May return ``arr`` itself (a 1-wide window with stride 1).
    """
    n_out, low, high = arch.window_padding(size, window, stride, padding, name)
    if window == 1 and stride == 1 and n_out == size:
        return arr
    if padding == "CIRCULAR" and (low or high):
        arr = _wrap(arr, axes, size, low, high)
        size, low = size + low + high, 0
    full, partial = [], []
    for k in range(window):
        # outputs p whose input s p + k - low lies inside [0, size)
        first = max(0, -((k - low) // stride))
        last = min(n_out - 1, (size - 1 + low - k) // stride)
        if first > last:
            continue
        begin = stride * first + k - low
        src = [slice(None)] * arr.ndim
        dst = [slice(None)] * arr.ndim
        for ax in axes:
            src[ax] = slice(begin, begin + stride * (last - first) + 1, stride)
            dst[ax] = slice(first, last + 1)
        view = arr[tuple(src)]
        (full if first == 0 and last == n_out - 1 else partial).append((tuple(dst), view))
    # start from offsets that cover every output (one pass fewer than zeros + adds)
    if len(full) >= 2:
        out = full[0][1] + full[1][1]
        rest = full[2:] + partial
    elif full:
        out = np.array(full[0][1])
        rest = partial
    else:
        shape = list(arr.shape)
        for ax in axes:
            shape[ax] = n_out
        out = np.zeros(shape, dtype=arr.dtype)
        rest = partial
    for dst, view in rest:
        out[dst] += view
    return out


def _conv_sum(arr: np.ndarray, batch_ndim: int, layout: str, spatial: tuple, filt: tuple,
              strides: tuple, padding: str) -> np.ndarray:
    """``sum_f arr[s p + f(, s p' + f)]`` over the filter (not yet divided by ``|F|``)."""
    d = len(spatial)
    for i, (n, w, s) in enumerate(zip(spatial, filt, strides)):
        axes = (batch_ndim + i,) if layout == "diagonal" else (batch_ndim + i,
                                                               batch_ndim + d + i)
        arr = _window_sum(arr, axes, n, w, s, padding, "filter_shape")
    return arr


def _pool_sum(arr: np.ndarray, batch_ndim: int, spatial: tuple, window: tuple,
              strides: tuple, padding: str) -> np.ndarray:
    """``sum_{a, a'} arr[s p + a, s p' + a']`` (full layout; independent offsets)."""
    d = len(spatial)
    for i, (n, w, s) in enumerate(zip(spatial, window, strides)):
        for ax in (batch_ndim + i, batch_ndim + d + i):
            arr = _window_sum(arr, (ax,), n, w, s, padding, "window_shape")
    return arr


def _require_spatial(k, layer) -> Kernel:
    if isinstance(k, list):
        raise ParameterError(f"{type(layer).__name__}: got {len(k)} branches; join them first "
                         "(e.g. with FanInSum)")
    if k.layout == "fc":
        raise ParameterError(f"{type(layer).__name__}: needs inputs with spatial axes "
                         "(batch, *spatial, channels), got a fully connected kernel")
    return k


def _check_ndim(name: str, shape: tuple, k: Kernel, layer) -> None:
    if len(shape) != k.n_spatial:
        raise ParameterError(f"{name}: {shape} has {len(shape)} axes but the input of "
                         f"{type(layer).__name__} has {k.n_spatial} spatial axes "
                         f"{k.spatial_shape}")


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------

@register(arch.Conv)
def _conv(layer: arch.Conv, k) -> Kernel:
    k = _require_spatial(k, layer)
    _check_ndim("filter_shape", layer.filter_shape, k, layer)

    def window(arr, batch_ndim):
        return _conv_sum(arr, batch_ndim, k.layout, k.spatial_shape, layer.filter_shape,
                         layer.strides, layer.padding)

    size = float(np.prod(layer.filter_shape))
    scale = layer.W_std ** 2 / size
    b2 = 0.0 if layer.b_std is None else layer.b_std ** 2

    def affine(summed):
        # W^2 <K>_F + b^2; the product is a fresh array (a 1x1 window returns its input)
        out = summed * scale
        if b2:
            out += b2
        return out

    nngp_sum = window(k.nngp, 2)
    nngp = affine(nngp_sum)
    ntk = None
    if k.ntk is not None:
        ntk = window(k.ntk, 2) * scale
        if layer.parameterization == "ntk":
            ntk += nngp
        else:
            ntk += (layer.fan_in(k.channels) / size) * nngp_sum
            if layer.b_std is not None:
                ntk += 1.0
    cov1 = affine(window(k.cov1, 1))
    cov2 = cov1 if k.x1_is_x2 else affine(window(k.cov2, 1))
    return k.replace(nngp=nngp, ntk=ntk, cov1=cov1, cov2=cov2,
                     spatial_shape=layer.output_spatial(k.spatial_shape),
                     channels=layer.out_chan)


def _pool_layer(layer, k, normalise) -> Kernel:
    """Every covariance summed over ``layer``'s pooling windows on both sides (the full
    layout), then ``normalise(out, batch_ndim, spatial_shape)``: the map of AvgPool and
    SumPool, which differ only in the normalisation."""
    k = _require_spatial(k, layer)
    _check_ndim("window_shape", layer.window_shape, k, layer)
    if k.layout != "full":
        raise ParameterError(f"{type(layer).__name__}: needs the full spatial layout (it mixes "
                             "covariances of different positions); Network.kernel chooses it "
                             "automatically")

    def pool(arr, batch_ndim):
        out = _pool_sum(arr, batch_ndim, k.spatial_shape, layer.window_shape, layer.strides,
                        layer.padding)
        return normalise(out, batch_ndim, k.spatial_shape)

    cov1 = pool(k.cov1, 1)
    return k.replace(nngp=pool(k.nngp, 2), ntk=None if k.ntk is None else pool(k.ntk, 2),
                     cov1=cov1, cov2=cov1 if k.x1_is_x2 else pool(k.cov2, 1),
                     spatial_shape=layer.output_spatial(k.spatial_shape))


@register(arch.AvgPool)
def _avg_pool(layer: arch.AvgPool, k) -> Kernel:
    def normalise(out, batch_ndim, spatial_shape):
        if not layer.normalize_edges:       # one scalar: 1 / |A|^2
            return out * (1.0 / float(np.prod(layer.window_shape)) ** 2)
        d = len(spatial_shape)
        for i, weight in enumerate(layer.weights(spatial_shape)):
            for ax in (batch_ndim + i, batch_ndim + d + i):
                shape = [1] * out.ndim
                shape[ax] = len(weight)
                out = out * weight.reshape(shape)
        return out

    return _pool_layer(layer, k, normalise)


@register(arch.GlobalAvgPool)
def _global_avg_pool(layer: arch.GlobalAvgPool, k) -> Kernel:
    if not isinstance(k, list) and k.layout == "fc":
        return k                                    # no spatial axes: nothing to average
    k = _require_spatial(k, layer)
    if k.layout != "full":
        raise ParameterError("GlobalAvgPool: needs the full spatial layout; Network.kernel "
                         "chooses it automatically")

    def mean(arr, batch_ndim):
        return arr.reshape(arr.shape[:batch_ndim] + (-1,)).mean(axis=-1)

    cov1 = mean(k.cov1, 1)
    return k.replace(nngp=mean(k.nngp, 2), ntk=None if k.ntk is None else mean(k.ntk, 2),
                     cov1=cov1, cov2=cov1 if k.x1_is_x2 else mean(k.cov2, 1), layout="fc",
                     spatial_shape=())


def _position_diagonal(arr: np.ndarray, batch_ndim: int, d: int) -> np.ndarray:
    """``arr[..., *S, *S] -> arr[..., *S]`` at coinciding positions."""
    batch = arr.shape[:batch_ndim]
    spatial = arr.shape[batch_ndim:batch_ndim + d]
    size = int(np.prod(spatial))
    flat = arr.reshape(batch + (size, size))
    return np.diagonal(flat, axis1=-2, axis2=-1).reshape(batch + spatial)


@register(arch.Flatten)
def _flatten(layer: arch.Flatten, k) -> Kernel:
    if not isinstance(k, list) and k.layout == "fc":
        return k                                    # (N, C) stays (N, C)
    k = _require_spatial(k, layer)
    d = k.n_spatial

    def mean(arr, batch_ndim):
        if k.layout == "full":
            arr = _position_diagonal(arr, batch_ndim, d)
        return arr.reshape(arr.shape[:batch_ndim] + (-1,)).mean(axis=-1)

    cov1 = mean(k.cov1, 1)
    return k.replace(nngp=mean(k.nngp, 2), ntk=None if k.ntk is None else mean(k.ntk, 2),
                     cov1=cov1, cov2=cov1 if k.x1_is_x2 else mean(k.cov2, 1), layout="fc",
                     spatial_shape=(), channels=k.channels * int(np.prod(k.spatial_shape)))


@register(arch.LayerNorm)
def _layer_norm(layer: arch.LayerNorm, k) -> Kernel:
    if isinstance(k, list):
        raise ParameterError(f"LayerNorm: got {len(k)} branches; join them first")
    d = k.n_spatial
    # normalised spatial axes, counted from 0 within S
    spatial_axes = tuple(a - 1 for a in layer.axes(d + 2) if a != d + 1)

    def variance(cov):
        """``eps + `` the self-covariance per position, averaged over ``spatial_axes``."""
        diag = _spatial_diagonal(cov, d) if k.layout == "full" else cov
        v = layer.eps + diag
        if spatial_axes:
            v = v.mean(axis=tuple(1 + a for a in spatial_axes), keepdims=True)
        return v                                    # (N, *S) with averaged axes of size 1

    def outer(v1, v2, batch_ndim):
        """``v1 x v2`` broadcast against a kernel with ``batch_ndim`` batch axes."""
        if batch_ndim == 2:
            v1, v2 = v1[:, None], v2[None, :]
        if k.layout != "full":
            return v1 * v2
        ones = (1,) * d
        lead1 = v1.shape[:batch_ndim]
        lead2 = v2.shape[:batch_ndim]
        return v1.reshape(lead1 + v1.shape[batch_ndim:] + ones) * \
            v2.reshape(lead2 + ones + v2.shape[batch_ndim:])

    v1 = variance(k.cov1)
    v2 = v1 if k.x1_is_x2 else variance(k.cov2)
    root12 = np.sqrt(outer(v1, v2, 2))

    def self_norm(cov, v):
        return cov / np.sqrt(outer(v, v, 1)) if k.layout == "full" else cov / v

    cov1 = self_norm(k.cov1, v1)
    return k.replace(nngp=k.nngp / root12, ntk=None if k.ntk is None else k.ntk / root12,
                     cov1=cov1, cov2=cov1 if k.x1_is_x2 else self_norm(k.cov2, v2))


from . import spatial_layers  # noqa: E402,F401  (registers ConvTranspose, ConvLocal, SumPool, ...)
