"""Ensembles of finite networks built from any layers of :mod:`nnphys.models` (attention,
graphs, fan-in combinators, dropout, convolutions, ...): each network is drawn with the
layers' ``init`` and evaluated with their numpy ``apply``.

``empirical_nngp`` is the Monte Carlo estimate of the NNGP ``E[f_c(x) f_c(x')]`` (one output
channel ``c``): each network gives ``y y^T / C`` averaged over its ``C`` output channels (and
output positions), and the networks are independent samples, so the standard error is
``s / sqrt(n_replicas)`` (:func:`nnphys.stats.sample_mean`).

``empirical_ntk`` estimates the NTK ``sum_theta df(x)/dtheta df(x')/dtheta`` of the trained
parameters (the layers' ``N(0, 1)`` draws, NTK parameterization) as ``E_v[(J v)(J v')]``
over a random direction ``v ~ N(0, I)`` in parameter space, with the directional derivative
``J v`` by central differences, ``(f(theta + h v) - f(theta - h v)) / 2h``, whose relative
error ``O(h^2)`` (``h = 1e-4``: ~1e-8) is far below the Monte Carlo error. Integer
parameters (dropout seeds) are held fixed.
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError
from ..models import network as arch
from ..models.graph import graph_pattern
from ..stats import Estimate, sample_mean
from .spatial import MAX_REPLICAS

__all__ = ["empirical_nngp", "empirical_ntk"]

_STEP = 1e-4


def _spec(net) -> arch.Layer:
    spec = net.spec if hasattr(net, "spec") else net
    if not isinstance(spec, arch.Layer):
        raise ArgumentTypeError(f"net: must be a layer spec or a kernels Network, got "
                                f"{type(net).__name__}")
    return spec


def _direction(params, rng):
    """A standard normal direction with the structure of ``params`` (zero on integers)."""
    if isinstance(params, (tuple, list)):
        return type(params)(_direction(p, rng) for p in params)
    if isinstance(params, np.ndarray) and params.dtype.kind == "f":
        return rng.standard_normal(params.shape)
    return None


def _shift(params, direction, step):
    if isinstance(params, (tuple, list)):
        return type(params)(_shift(p, d, step) for p, d in zip(params, direction))
    return params if direction is None else params + step * direction


def _draws(net, x, n_replicas, seed, pattern, tangent: bool):
    spec = _spec(net)
    x = arch.check_input(x, "x")
    n_replicas = checks.integer("n_replicas", n_replicas, low=2, high=MAX_REPLICAS)
    checks.work("n_replicas", float(n_replicas) * x.shape[0] ** 2, checks.MEMORY_LIMIT,
                what="kernel entries")
    rng = arch.as_rng(checks.seed(seed))
    draws = np.empty((n_replicas, x.shape[0], x.shape[0]))
    with graph_pattern(pattern):
        for r in range(n_replicas):
            _, params = spec.init(rng, x.shape)
            if tangent:
                v = _direction(params, rng)
                y = (np.asarray(spec.apply(_shift(params, v, _STEP), x), dtype=float) -
                     np.asarray(spec.apply(_shift(params, v, -_STEP), x), dtype=float)) \
                    / (2 * _STEP)
            else:
                y = np.asarray(spec.apply(params, x), dtype=float)
            y = y.reshape(y.shape[0], -1)
            draws[r] = y @ y.T / y.shape[1]
    return sample_mean(draws)


def empirical_ntk(net, x, *, n_replicas: int = 16, seed=None, pattern=None) -> Estimate:
    """Empirical NTK of ``n_replicas`` sampled networks on ``x`` (module docstring).

    Parameters
    ----------
    net : Layer or nnphys.theory.kernels.Network
        A layer spec or an object with a ``spec``.
    x : array_like
        Inputs ``(N, ..., channels)``.
    n_replicas : int
        Independent networks (each with its own direction), ``>= 2``.
    seed : int, numpy.random.Generator or None
        Randomness of the parameters and directions.
    pattern : array_like or None
        The graphs of ``Aggregate`` layers (leading axis ``N``).

    Returns
    -------
    Estimate
        ``(N, N)`` mean and standard error.
    """
    return _draws(net, x, n_replicas, seed, pattern, tangent=True)


def empirical_nngp(net, x, *, n_replicas: int = 16, seed=None, pattern=None) -> Estimate:
    """Empirical NNGP of ``n_replicas`` sampled networks on the inputs ``x``.

    Parameters
    ----------
    net : Layer or nnphys.theory.kernels.Network
        A layer spec (e.g. :class:`~nnphys.models.network.Serial`) or an object with a
        ``spec`` (a :class:`nnphys.theory.kernels.Network`).
    x : array_like
        Inputs ``(N, ..., channels)``.
    n_replicas : int
        Independent networks, ``>= 2``.
    seed : int, numpy.random.Generator or None
        Randomness of the parameters (and of dropout masks).
    pattern : array_like or None
        The graphs of ``Aggregate`` layers (leading axis ``N``).

    Returns
    -------
    Estimate
        ``(N, N)`` mean and standard error.
    """
    return _draws(net, x, n_replicas, seed, pattern, tangent=False)
