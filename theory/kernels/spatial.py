"""Kernel maps of convolution, pooling, flattening and layer normalisation.

Conventions of neural-tangents (Novak et al. 2019, arXiv:1810.05148; Arora et al. 2019,
arXiv:1904.11955 for the CNTK): a convolution averages the input covariance over the
filter window, with the **same** offset at both positions (the weights are shared), summed
with zero padding and divided by the full filter size even at SAME borders; CIRCULAR wraps::

    diagonal layout:  K'[p]     = W^2 / |F| sum_f K[s p + f - pad] + b^2
    full layout:      K'[p, p'] = W^2 / |F| sum_f K[s p + f - pad, s p' + f - pad] + b^2

and the NTK picks up the same map plus ``K'`` (NTK parameterization) or
``C |F| <K>_F + W^2 <Theta>_F + 1`` (standard). Average pooling averages activations, so
offsets at the two positions are independent: ``K' = A K A^T`` per axis (full layout
only). ``GlobalAvgPool`` averages the full covariance over all position pairs, ``Flatten``
the per-position diagonal. ``LayerNorm`` over channels divides by
``sqrt((eps + q11)(eps + q22))``. Every map is separable over spatial axes and applied one
axis at a time with gathers, never with dense (HW)^2 x (HW)^2 operators.
"""

from __future__ import annotations

import numpy as np

from ... import architecture as arch
from .kernel import Kernel, _spatial_diagonal
from .layers import register

__all__: list = []


def _window_average(arr: np.ndarray, batch_ndim: int, layout: str, spatial_shape: tuple,
                    window: tuple, strides: tuple, padding: str) -> np.ndarray:
    """Average over shared window offsets (the convolution's covariance map), per axis."""
    d = len(spatial_shape)
    for axis, (size, w, s) in enumerate(zip(spatial_shape, window, strides)):
        index, valid = arch.window_positions(size, w, s, padding)
        a = batch_ndim + axis
        if layout == "diagonal":
            out = 0.0
            for k in range(w):
                taken = np.take(arr, index[:, k], axis=a)
                out = out + taken * _along(valid[:, k], taken.ndim, a)
        else:
            b = batch_ndim + d + axis
            out = 0.0
            for k in range(w):
                taken = np.take(np.take(arr, index[:, k], axis=a), index[:, k], axis=b)
                out = out + taken * _along(valid[:, k], taken.ndim, a) * \
                    _along(valid[:, k], taken.ndim, b)
        arr = out / w
    return arr


def _along(vector: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    shape = [1] * ndim
    shape[axis] = vector.size
    return vector.reshape(shape)


def _out_shape(spatial_shape, window, strides, padding) -> tuple:
    return tuple(arch.window_positions(n, w, s, padding)[0].shape[0]
                 for n, w, s in zip(spatial_shape, window, strides))


def _require_spatial(k, layer) -> Kernel:
    if isinstance(k, list):
        raise ValueError(f"{type(layer).__name__}: got several branches; join them first")
    if k.layout == "fc":
        raise ValueError(f"{type(layer).__name__}: needs inputs with spatial axes "
                         "(batch, *spatial, channels)")
    return k


@register(arch.Conv)
def _conv(layer: arch.Conv, k) -> Kernel:
    k = _require_spatial(k, layer)
    if len(layer.filter_shape) != k.n_spatial:
        raise ValueError(f"filter_shape: {layer.filter_shape} has {len(layer.filter_shape)} axes, "
                         f"the input has {k.n_spatial} spatial axes")

    def window(arr, batch_ndim):
        return _window_average(arr, batch_ndim, k.layout, k.spatial_shape, layer.filter_shape,
                               layer.strides, layer.padding)

    w2 = layer.W_std ** 2
    b2 = 0.0 if layer.b_std is None else layer.b_std ** 2
    nngp_window = window(k.nngp, 2)
    nngp = w2 * nngp_window + b2
    ntk = k.ntk
    if ntk is not None:
        if layer.parameterization == "ntk":
            ntk = w2 * window(ntk, 2) + nngp
        else:
            ntk = layer.fan_in(k.channels) * nngp_window + w2 * window(ntk, 2)
            if layer.b_std is not None:
                ntk = ntk + 1.0
    cov1 = w2 * window(k.cov1, 1) + b2
    cov2 = cov1 if k.x1_is_x2 else w2 * window(k.cov2, 1) + b2
    shape = _out_shape(k.spatial_shape, layer.filter_shape, layer.strides, layer.padding)
    return k.replace(nngp=nngp, ntk=ntk, cov1=cov1, cov2=cov2, spatial_shape=shape,
                     channels=layer.out_chan)


def _pool_matrix(size, window, stride, padding) -> np.ndarray:
    """``A[p, q]``: weight of input position q in the average at output p."""
    index, valid = arch.window_positions(size, window, stride, padding)
    matrix = np.zeros((index.shape[0], size))
    for k in range(window):
        np.add.at(matrix, (np.arange(index.shape[0]), index[:, k]), valid[:, k] / window)
    return matrix


@register(arch.AvgPool)
def _avg_pool(layer: arch.AvgPool, k) -> Kernel:
    k = _require_spatial(k, layer)
    if k.layout != "full":
        raise ValueError("AvgPool: needs the full spatial layout (cross-position covariances)")
    d = k.n_spatial
    if len(layer.window_shape) != d:
        raise ValueError(f"window_shape: {layer.window_shape} does not match {d} spatial axes")
    mats = [_pool_matrix(n, w, s, layer.padding)
            for n, w, s in zip(k.spatial_shape, layer.window_shape, layer.strides)]

    def pool(arr, batch_ndim):
        for axis, m in enumerate(mats):
            for a in (batch_ndim + axis, batch_ndim + d + axis):
                arr = np.moveaxis(np.tensordot(m, arr, axes=(1, a)), 0, a)
        return arr

    nngp = pool(k.nngp, 2)
    ntk = None if k.ntk is None else pool(k.ntk, 2)
    cov1 = pool(k.cov1, 1)
    cov2 = cov1 if k.x1_is_x2 else pool(k.cov2, 1)
    return k.replace(nngp=nngp, ntk=ntk, cov1=cov1, cov2=cov2,
                     spatial_shape=tuple(m.shape[0] for m in mats))


@register(arch.GlobalAvgPool)
def _global_avg_pool(layer: arch.GlobalAvgPool, k) -> Kernel:
    k = _require_spatial(k, layer)
    if k.layout != "full":
        raise ValueError("GlobalAvgPool: needs the full spatial layout")
    axes2 = tuple(range(2, k.nngp.ndim))
    axes1 = tuple(range(1, k.cov1.ndim))
    cov1 = k.cov1.mean(axis=axes1)
    return k.replace(nngp=k.nngp.mean(axis=axes2),
                     ntk=None if k.ntk is None else k.ntk.mean(axis=axes2), cov1=cov1,
                     cov2=cov1 if k.x1_is_x2 else k.cov2.mean(axis=axes1), layout="fc",
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
    k = _require_spatial(k, layer)
    d = k.n_spatial
    if k.layout == "full":
        nngp, ntk = (None if a is None else _position_diagonal(a, 2, d) for a in (k.nngp, k.ntk))
        cov1, cov2 = _spatial_diagonal(k.cov1, d), _spatial_diagonal(k.cov2, d)
    else:
        nngp, ntk, cov1, cov2 = k.nngp, k.ntk, k.cov1, k.cov2
    axes2 = tuple(range(2, 2 + d))
    axes1 = tuple(range(1, 1 + d))
    cov1m = cov1.mean(axis=axes1)
    return k.replace(nngp=nngp.mean(axis=axes2),
                     ntk=None if ntk is None else ntk.mean(axis=axes2), cov1=cov1m,
                     cov2=cov1m if k.x1_is_x2 else cov2.mean(axis=axes1), layout="fc",
                     spatial_shape=(), channels=k.channels * int(np.prod(k.spatial_shape)))


@register(arch.LayerNorm)
def _layer_norm(layer: arch.LayerNorm, k) -> Kernel:
    if isinstance(k, list):
        raise ValueError("LayerNorm: got several branches; join them first")
    q11, q22 = k.marginals()
    scale = np.sqrt((layer.eps + q11) * (layer.eps + q22))

    def self_scale(cov):
        if k.layout in ("fc", "diagonal"):
            return layer.eps + cov
        d = k.n_spatial
        diag = _spatial_diagonal(cov, d) + layer.eps
        return np.sqrt(diag.reshape(diag.shape + (1,) * d) *
                       diag.reshape(diag.shape[:1] + (1,) * d + diag.shape[1:]))

    cov1 = k.cov1 / self_scale(k.cov1)
    return k.replace(nngp=k.nngp / scale, ntk=None if k.ntk is None else k.ntk / scale,
                     cov1=cov1, cov2=cov1 if k.x1_is_x2 else k.cov2 / self_scale(k.cov2))
