"""Ensembles of finite networks built from any layers of :mod:`nnphys.models` (attention,
graphs, fan-in combinators, dropout, convolutions, ...): each network is drawn with the
layers' ``init`` and evaluated with their numpy ``apply``.

``empirical_nngp`` is the Monte Carlo estimate of the NNGP ``E[f_c(x) f_c(x')]`` (one output
channel ``c``): each network gives ``y y^T / C`` averaged over its ``C`` output channels (and
output positions), and the networks are independent samples, so the standard error is
``s / sqrt(n_replicas)`` (:func:`nnphys.stats.sample_mean`).
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError
from ..models import network as arch
from ..models.graph import graph_pattern
from ..stats import Estimate, sample_mean

__all__ = ["empirical_nngp"]


def empirical_nngp(net, x, *, n_replicas: int = 16, seed=None, pattern=None) -> Estimate:
    """Empirical NNGP of ``n_replicas`` sampled networks on the inputs ``x``.

    Parameters
    ----------
    net : Layer or Network
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
    spec = net.spec if hasattr(net, "spec") else net
    if not isinstance(spec, arch.Layer):
        raise ArgumentTypeError(f"net: must be a layer spec or a kernels Network, got "
                                f"{type(net).__name__}")
    x = arch.check_input(x, "x")
    n_replicas = checks.integer("n_replicas", n_replicas, low=2, high=checks.MEMORY_LIMIT)
    checks.work("n_replicas", float(n_replicas) * x.shape[0] ** 2, checks.MEMORY_LIMIT,
                what="kernel entries")
    rng = arch.as_rng(checks.seed(seed))
    draws = np.empty((n_replicas, x.shape[0], x.shape[0]))
    with graph_pattern(pattern):
        for r in range(n_replicas):
            _, params = spec.init(rng, x.shape)
            y = np.asarray(spec.apply(params, x), dtype=float)
            y = y.reshape(y.shape[0], -1)
            draws[r] = y @ y.T / y.shape[1]
    return sample_mean(draws)
