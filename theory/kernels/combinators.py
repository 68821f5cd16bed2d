r"""NNGP and NTK of the fan-in combinators and of dropout (:mod:`nnphys.models.combinators`).

Conventions of neural-tangents 0.6.5 (Novak et al. 2020, arXiv:1912.02803). The branches
entering a fan-in are independent zero-mean Gaussian processes (each ends in its own random
layer, as for ``FanInSum``), with kernels ``K_b``, NTKs ``Theta_b`` and ``C_b`` channels.

**FanInConcat, channel axis:** a following linear layer sees the channel-weighted average
``K = sum_b C_b K_b / sum_b C_b`` (likewise ``Theta``; the plain average when all ``C_b``
are equal). The concatenation is a mixture of processes, not one Gaussian process, so an
activation or ``LayerNorm`` may not follow it directly (refused, as by neural-tangents).

**FanInConcat, spatial axis:** the positions of the branches are stacked; in the full
layout the covariance is block diagonal (independent branches), in the diagonal layout the
per-position kernels are concatenated.

**FanInProd:** ``K = prod_b K_b`` and, by the product rule,
``Theta = sum_b Theta_b prod_{b' != b} K_b'`` (independence of the branches).

**Dropout** (keep rate ``r``, ``"train"``): a unit is multiplied by ``m / r`` with
``m ~ Bernoulli(r)`` drawn independently per unit and per input, so ``E[m m'] / r^2 = 1``
for different inputs or positions and ``1 / r`` for the same one: the entries of an input
with itself at the same position, and ``cov1``, ``cov2``, are multiplied by ``1 / r`` (the
NTK alike). ``K(x1, x1)`` evaluated with ``x2=None`` has them on its diagonal; with an
explicit ``x2`` the inputs count as different (neural-tangents instead compares the
arrays). ``"test"`` is the identity. Unlike neural-tangents, nnphys also allows dropout on
the network's inputs (its kernel is exact there: the inputs are deterministic).

Compositions refused, as by neural-tangents (whose ``is_gaussian=False``): an activation or
``LayerNorm`` directly after a channel ``FanInConcat``, a ``FanInProd`` or a training-mode
``Dropout`` (their outputs are not Gaussian processes; a ``Dense`` or ``Conv`` in between
makes them so in the limit).
"""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ...models import combinators as comb
from .kernel import Kernel
from .layers import _single, register

__all__: list = []


def _branches(ks, name: str) -> list:
    if not isinstance(ks, list):
        raise ParameterError(f"{name}: expects a list of branches (use FanOut before it)")
    first = ks[0]
    for other in ks[1:]:
        if other.layout != first.layout or other.n_spatial != first.n_spatial:
            raise ParameterError(f"{name}: branch kernels have different layouts")
    return ks


def _maybe(values, fn):
    return None if any(v is None for v in values) else fn(values)


def _block_diagonal(arrs, nb: int, axis: int, d: int) -> np.ndarray:
    """Stack ``(B, *S, *S)`` covariances along spatial ``axis`` (both position copies),
    with zero cross-branch blocks."""
    a1, a2 = nb + axis, nb + d + axis
    sizes = [a.shape[a1] for a in arrs]
    shape = list(arrs[0].shape)
    shape[a1] = shape[a2] = sum(sizes)
    out = np.zeros(shape)
    start = 0
    for arr, n in zip(arrs, sizes):
        index = [slice(None)] * out.ndim
        index[a1] = index[a2] = slice(start, start + n)
        out[tuple(index)] = arr
        start += n
    return out


@register(comb.FanInConcat)
def _fan_in_concat(layer: comb.FanInConcat, ks) -> Kernel:
    ks = _branches(ks, "FanInConcat")
    first = ks[0]
    d = first.n_spatial
    axis = layer.canonical_axis(d + 2)
    if axis == d + 1:
        widths = np.array([k.channels for k in ks], dtype=float)
        if np.all(widths == widths[0]):
            widths = np.ones_like(widths)
        weights = widths / widths.sum()
        for k in ks[1:]:
            if k.nngp.shape != first.nngp.shape:
                raise ParameterError("FanInConcat: branch kernels have different shapes")

        def mix(values):
            return sum(w * v for w, v in zip(weights, values))

        def field(name):
            return _maybe([getattr(k, name) for k in ks], mix)

        return first.replace(nngp=field("nngp"), ntk=field("ntk"), cov1=field("cov1"),
                             cov2=field("cov2"), channels=int(sum(k.channels for k in ks)))
    s = axis - 1
    shapes = [k.spatial_shape[:s] + k.spatial_shape[s + 1:] for k in ks]
    if len(set(shapes)) != 1:
        raise ParameterError(f"FanInConcat: branch shapes differ outside axis {layer.axis}")
    spatial = list(first.spatial_shape)
    spatial[s] = sum(k.spatial_shape[s] for k in ks)
    if first.layout == "full":
        def cat(values, nb):
            return _block_diagonal(values, nb, s, d)
    else:
        def cat(values, nb):
            return np.concatenate(values, axis=nb + s)
    cov1 = cat([k.cov1 for k in ks], 1)
    return first.replace(nngp=cat([k.nngp for k in ks], 2),
                         ntk=_maybe([k.ntk for k in ks], lambda v: cat(v, 2)),
                         cov1=cov1, cov2=cov1 if first.x1_is_x2 else cat([k.cov2 for k in ks], 1),
                         spatial_shape=tuple(spatial))


@register(comb.FanInProd)
def _fan_in_prod(layer: comb.FanInProd, ks) -> Kernel:
    ks = _branches(ks, "FanInProd")
    first = ks[0]
    for k in ks[1:]:
        if k.nngp.shape != first.nngp.shape:
            raise ParameterError("FanInProd: branch kernels have different shapes")

    def prod(values):
        out = values[0]
        for v in values[1:]:
            out = out * v
        return out

    ntk = None
    if all(k.ntk is not None for k in ks):
        nngp_prod, ntk = ks[0].nngp, ks[0].ntk
        for k in ks[1:]:
            ntk = ntk * k.nngp + nngp_prod * k.ntk
            nngp_prod = nngp_prod * k.nngp
    cov1 = prod([k.cov1 for k in ks])
    return first.replace(nngp=prod([k.nngp for k in ks]), ntk=ntk, cov1=cov1,
                         cov2=cov1 if first.x1_is_x2 else prod([k.cov2 for k in ks]))


def _scale_diagonal(arr: np.ndarray, nb: int, layout: str, d: int, factor: float):
    """``arr`` with its same-input (``nb = 2``: ``i == j``) same-position entries scaled."""
    out = np.array(arr, dtype=arr.dtype, copy=True)
    n = out.shape[0]
    if nb == 2:
        view = out[np.arange(n), np.arange(n)]            # (n, ...) copy
    else:
        view = out
    if layout == "full":
        size = int(np.prod(view.shape[1:1 + d]))
        flat = view.reshape(n, size, size)
        flat[:, np.arange(size), np.arange(size)] *= factor
        view = flat.reshape(view.shape)
    else:
        view = view * factor
    if nb == 2:
        out[np.arange(n), np.arange(n)] = view
        return out
    return view


@register(comb.Dropout)
def _dropout(layer: comb.Dropout, k) -> Kernel:
    k = _single(k, layer)
    if layer.mode == "test" or layer.rate == 1.0:
        return k
    f = 1.0 / layer.rate
    d = k.n_spatial
    cov1 = _scale_diagonal(k.cov1, 1, k.layout, d, f)
    cov2 = cov1 if k.x1_is_x2 else _scale_diagonal(k.cov2, 1, k.layout, d, f)
    if not k.x1_is_x2:
        return k.replace(cov1=cov1, cov2=cov2)
    return k.replace(nngp=_scale_diagonal(k.nngp, 2, k.layout, d, f),
                     ntk=None if k.ntk is None else _scale_diagonal(k.ntk, 2, k.layout, d, f),
                     cov1=cov1, cov2=cov2)
