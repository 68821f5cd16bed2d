"""Kernel maps of transposed and locally connected convolutions and of sum pooling.

Conventions of neural-tangents 0.6.5 (Novak et al. 2019, arXiv:1810.05148, sec. 2.2 and
app. for LCNs; Novak et al. 2020, arXiv:1912.02803). The layers read their inputs through
per-axis tap tables ``(index, valid)`` (:mod:`nnphys.models.spatial`): output ``p`` with
filter offset ``f`` reads input ``index[p, f]`` where ``valid[p, f]``. With ``|F|`` the filter
size and the weights independent ``N(0, W_std^2 / (C |F|))``:

**ConvTranspose** (weights shared over positions)::

    diagonal: K'[p]     = W^2 / |F| sum_f v[p, f] K[i[p, f]] + b^2
    full:     K'[p, p'] = W^2 / |F| sum_f v[p, f] v[p', f] K[i[p, f], i[p', f]] + b^2

**ConvLocal** (separate weights and bias per output position): the diagonal is that of a
``Conv``; in the full layout the covariance of different output positions vanishes,
``K'[p, p'] = delta_{p p'} K'[p]`` (bias included). The NTK follows as for ``Conv``
(NTK parameterisation ``Theta' = W^2 <Theta>_F + K'``; standard ``Theta' = C <K>_F sum +
W^2 <Theta>_F + [bias]``, the bias term again on the diagonal only for ConvLocal).

**SumPool** / **GlobalSumPool**: the AvgPool / GlobalAvgPool maps without the division,
``K'[p, p'] = sum_{a, a'} K[s p + a, s p' + a']`` and ``sum_{p, p'} K[p, p']``.

Every map is separable over the spatial axes and is applied one axis (diagonal) or one
pair of position axes (full) at a time, one gather per filter offset: the cost is
``window x output size``, and no ``(prod S)^2 x (prod S)^2`` operator is formed.
"""

from __future__ import annotations

import numpy as np

from ...models import spatial as sp
from .kernel import Kernel
from .layers import register
from .spatial import (_check_ndim, _conv, _global_avg_pool, _pool_layer, _position_diagonal,
                      _require_spatial)

__all__: list = []


def _tap_sum(arr: np.ndarray, axes: tuple, index: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``out[.., p, .., p', ..] = sum_f v[p, f] v[p', f] arr[.., i[p, f], .., i[p', f], ..]``
    (the same offset ``f`` on every axis of ``axes``: one axis or a pair)."""
    out = None
    for f in range(index.shape[1]):
        term = arr
        for ax in axes:
            term = np.take(term, index[:, f], axis=ax)
            if not valid[:, f].all():
                shape = [1] * term.ndim
                shape[ax] = len(index)
                term = term * valid[:, f].reshape(shape)
        out = term if out is None else out + term
    return out


def _taps_sum(arr: np.ndarray, batch_ndim: int, layout: str, taps: list) -> np.ndarray:
    d = len(taps)
    for i, (index, valid) in enumerate(taps):
        axes = (batch_ndim + i,) if layout == "diagonal" else (batch_ndim + i,
                                                               batch_ndim + d + i)
        arr = _tap_sum(arr, axes, index, valid)
    return arr


def _linear(layer, k: Kernel, window, bias_fn) -> Kernel:
    """The NNGP/NTK update shared by the conv-like layers: ``window(arr, batch_ndim)`` is
    the unnormalised filter sum, ``bias_fn(arr, batch_ndim, value)`` adds a bias term."""
    size = float(np.prod(layer.filter_shape))
    scale = layer.W_std ** 2 / size
    b2 = 0.0 if layer.b_std is None else layer.b_std ** 2

    def affine(summed, batch_ndim):
        out = summed * scale
        return bias_fn(out, batch_ndim, b2) if b2 else out

    nngp_sum = window(k.nngp, 2)
    nngp = affine(nngp_sum, 2)
    ntk = None
    if k.ntk is not None:
        ntk = window(k.ntk, 2) * scale
        if layer.parameterization == "ntk":
            ntk += nngp
        else:
            ntk += (layer.fan_in(k.channels) / size) * nngp_sum
            if layer.b_std is not None:
                ntk = bias_fn(ntk, 2, 1.0)
    cov1 = affine(window(k.cov1, 1), 1)
    cov2 = cov1 if k.x1_is_x2 else affine(window(k.cov2, 1), 1)
    return k.replace(nngp=nngp, ntk=ntk, cov1=cov1, cov2=cov2,
                     spatial_shape=layer.output_spatial(k.spatial_shape),
                     channels=layer.out_chan)


def _add_everywhere(arr, batch_ndim, value):
    arr += value
    return arr


@register(sp.ConvTranspose)
def _conv_transpose(layer: sp.ConvTranspose, k) -> Kernel:
    k = _require_spatial(k, layer)
    _check_ndim("filter_shape", layer.filter_shape, k, layer)
    taps = layer.taps(k.spatial_shape)
    return _linear(layer, k, lambda arr, nb: _taps_sum(arr, nb, k.layout, taps),
                   _add_everywhere)


def _position_eye(arr: np.ndarray, batch_ndim: int, d: int) -> np.ndarray:
    """``diag[.., *S] -> full[.., *S, *S]`` with zeros off the position diagonal."""
    batch = arr.shape[:batch_ndim]
    spatial = arr.shape[batch_ndim:]
    size = int(np.prod(spatial))
    out = np.zeros(batch + (size, size), dtype=arr.dtype)
    idx = np.arange(size)
    out[..., idx, idx] = arr.reshape(batch + (size,))
    return out.reshape(batch + spatial + spatial)


@register(sp.ConvLocal)
def _conv_local(layer: sp.ConvLocal, k) -> Kernel:
    k = _require_spatial(k, layer)
    _check_ndim("filter_shape", layer.filter_shape, k, layer)
    if k.layout != "full":                           # same-position covariances: a Conv
        return _conv(layer, k)
    d = k.n_spatial
    taps = layer.taps(k.spatial_shape)

    def window(arr, batch_ndim):
        # only same-position input covariances feed one output position's own weights
        diag = _position_diagonal(arr, batch_ndim, d)
        return _position_eye(_taps_sum(diag, batch_ndim, "diagonal", taps), batch_ndim, d)

    def add_on_diagonal(arr, batch_ndim, value):
        size = int(np.prod(arr.shape[batch_ndim:batch_ndim + d]))
        flat = arr.reshape(arr.shape[:batch_ndim] + (size, size))
        idx = np.arange(size)
        flat[..., idx, idx] += value
        return arr

    return _linear(layer, k, window, add_on_diagonal)


@register(sp.SumPool)
def _sum_pool(layer: sp.SumPool, k) -> Kernel:
    return _pool_layer(layer, k, lambda out, batch_ndim, spatial_shape: out)


@register(sp.GlobalSumPool)
def _global_sum_pool(layer: sp.GlobalSumPool, k) -> Kernel:
    if not isinstance(k, list) and k.layout == "fc":
        return k
    positions = float(np.prod(_require_spatial(k, layer).spatial_shape))
    out = _global_avg_pool(layer, k)
    factor = positions * positions                   # sum = |S| mean on both sides

    def scaled(arr):
        return None if arr is None else arr * factor

    cov1 = scaled(out.cov1)
    return out.replace(nngp=scaled(out.nngp), ntk=scaled(out.ntk), cov1=cov1,
                       cov2=cov1 if k.x1_is_x2 else scaled(out.cov2))
