"""Infinite-width kernel maps of the layers in :mod:`nnphys.models.network`.

Each layer type has one function ``Kernel -> Kernel`` (or a list of kernels for the
branching layers), registered with :func:`register`. The recursions (NTK
parameterization; Jacot et al. 2018, arXiv:1806.07572; Lee et al. 2018,
arXiv:1711.00165), in neural-tangents' conventions (Novak et al. 2020, arXiv:1912.02803)::

    Dense, "ntk":       K <- W_std^2 K + b_std^2,     Theta <- K_new + W_std^2 Theta
    Dense, "standard":  Theta <- n_in K + W_std^2 Theta + [b_std is not None],
                        K <- W_std^2 K + b_std^2
    activation phi:     K <- E[phi(u) phi(v)],        Theta <- Theta E[phi'(u) phi'(v)]

``FanOut`` copies the kernel into branches, ``Parallel`` maps each branch, and
``FanInSum`` adds the branch kernels (the branches' outputs are uncorrelated when each
ends in its own zero-mean random layer, as in a residual block).
"""

from __future__ import annotations

import functools
from typing import Callable

from ...errors import ArgumentTypeError, ParameterError
from ...models import network as arch
from . import duals, hermite
from .kernel import Kernel

__all__ = ["register", "register_pair", "apply_layer", "dual_function"]

_KERNEL_FNS: dict[type, Callable] = {}
_PAIR_FNS: dict[type, Callable] = {}


def register(layer_type: type):
    """Decorator: register ``fn(layer, kernel) -> kernel`` as the kernel map of a layer type."""
    def wrap(fn):
        _KERNEL_FNS[layer_type] = fn
        return fn
    return wrap


def register_pair(layer_type: type):
    """Decorator: register ``fn(layer, activation, kernel) -> kernel``, the joint kernel map
    of a layer and the activation directly after it in a chain (for layers whose output is
    not Gaussian, such as ``BatchNorm``, the two cannot be mapped one after the other)."""
    def wrap(fn):
        _PAIR_FNS[layer_type] = fn
        return fn
    return wrap


def apply_layer(layer: arch.Layer, k):
    """The kernel after ``layer``."""
    if not isinstance(layer, arch.Layer):
        raise ArgumentTypeError(f"layer: must be a layer spec, got {type(layer).__name__}")
    if not isinstance(k, (Kernel, list)):
        raise ArgumentTypeError(f"k: must be a Kernel (or a list of them), got "
                                f"{type(k).__name__}")
    fn = _KERNEL_FNS.get(type(layer))
    if fn is None:
        if isinstance(layer, arch.Activation):
            return _activation(layer, k)
        raise NotImplementedError(f"{type(layer).__name__}: no infinite-width kernel is known "
                                  "for this layer")
    return fn(layer, k)


def _single(k, layer) -> Kernel:
    if isinstance(k, list):
        raise ParameterError(f"{type(layer).__name__}: got {len(k)} branches; join them first "
                         "(e.g. with FanInSum)")
    return k


@register(arch.Dense)
def _dense(layer: arch.Dense, k) -> Kernel:
    k = _single(k, layer)
    w2 = layer.W_std ** 2
    b2 = 0.0 if layer.b_std is None else layer.b_std ** 2

    def affine(x):
        return w2 * x + b2 if b2 else w2 * x

    nngp = affine(k.nngp)
    ntk = k.ntk
    if ntk is not None:
        if layer.parameterization == "ntk":
            ntk = nngp + w2 * ntk
        else:
            ntk = k.channels * k.nngp + w2 * ntk
            if layer.b_std is not None:
                ntk = ntk + 1.0
    cov1 = affine(k.cov1)
    cov2 = cov1 if k.x1_is_x2 else affine(k.cov2)
    return k.replace(nngp=nngp, ntk=ntk, cov1=cov1, cov2=cov2, channels=layer.out_dim)


def dual_function(layer: arch.Activation):
    """``dual(q11, q12, q22, need_dot) -> (E[phi(u) phi(v)], E[phi'(u) phi'(v)] or None)``
    for an activation: its closed form, or the Hermite series of an ``Elementwise``."""
    if not isinstance(layer, arch.Activation):
        raise ArgumentTypeError(f"layer: must be an activation layer, got "
                                f"{type(layer).__name__}")
    if duals.has_closed_form(layer):
        return functools.partial(duals._dual, layer)
    if isinstance(layer, arch.ElementwiseFunction):
        return functools.partial(hermite.dual, layer)
    raise NotImplementedError(f"{layer!r}: no dual kernel; wrap the function in "
                              "Elementwise(fn) to use quadrature")


def _activation(layer: arch.Activation, k) -> Kernel:
    k = _single(k, layer)
    return k.map_elementwise(dual_function(layer), need_ntk=k.ntk is not None)


@register(arch.Serial)
def _serial(layer: arch.Serial, k):
    links = arch.chain(layer)
    previous = None
    i = 0
    while i < len(links):
        sub = links[i]
        if getattr(previous, "non_gaussian_output", False) and \
                isinstance(sub, (arch.Activation, arch.LayerNorm)):
            raise ParameterError(f"{type(sub).__name__} after {type(previous).__name__}: its "
                                 "input is not a Gaussian process (put a Dense or Conv "
                                 "layer in between)")
        pair = _PAIR_FNS.get(type(sub))
        if pair is not None and i + 1 < len(links) and \
                isinstance(links[i + 1], arch.Activation):
            k = pair(sub, links[i + 1], _single(k, sub))
            previous = links[i + 1]
            i += 2
            continue
        k = apply_layer(sub, k)
        previous = sub
        i += 1
    return k


@register(arch.FanOut)
def _fan_out(layer: arch.FanOut, k):
    return [_single(k, layer)] * layer.num


@register(arch.Parallel)
def _parallel(layer: arch.Parallel, ks):
    if not isinstance(ks, list) or len(ks) != len(layer.layers):
        n = len(ks) if isinstance(ks, list) else 1
        raise ParameterError(f"Parallel: {len(layer.layers)} branches but {n} inputs")
    return [apply_layer(sub, k) for sub, k in zip(layer.layers, ks)]


@register(arch.FanInSum)
def _fan_in_sum(layer: arch.FanInSum, ks):
    if not isinstance(ks, list):
        raise ParameterError("FanInSum: expects a list of branches (use FanOut before it)")
    first = ks[0]
    for other in ks[1:]:
        if other.nngp.shape != first.nngp.shape or other.layout != first.layout:
            raise ParameterError("FanInSum: branch kernels have different shapes")

    def total(attr):
        values = [getattr(k, attr) for k in ks]
        return None if any(v is None for v in values) else sum(values[1:], values[0])

    return first.replace(nngp=total("nngp"), ntk=total("ntk"), cov1=total("cov1"),
                         cov2=total("cov2"), channels=first.channels)


from . import spatial  # noqa: E402,F401  (registers the convolutional layers)
