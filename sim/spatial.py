"""Finite-width ensembles of convolutional networks (Conv, ConvTranspose, ConvLocal, pooling).

A network (a :class:`nnphys.models.network.Serial` chain of linear layers, activations and
parameter-free linear layers such as pooling and flattening) is sampled ``n_replicas``
times with the weight laws of its ``init`` and evaluated in numpy (its ``apply``). For
each sample:

* the empirical NNGP of the readout features ``f`` (the output flattened per input),
  ``f(x) . f(x') / dim f``: the output covariance of a further ``Dense(W_std=1)`` readout,
  averaged over that readout's weights;
* a one-sample estimate of the empirical NTK, ``t(x) . t(x') / dim f`` with ``t = J v`` the
  derivative of the features along a random direction ``v ~ N(0, I)`` of parameter space
  (``E_v[t t'] = sum_theta df/dtheta df'/dtheta``): the linear layers are bilinear in
  (input, weights), so ``t`` propagates as ``L_W(t) + L_v(y)``, through activations as
  ``phi'(y) t``.

For networks with a single nonlinearity after the first (Gaussian) layer the ensemble
means equal the infinite-width kernels at any width; otherwise they differ by ``O(1/n)``
(Roberts, Yaida & Hanin 2022, arXiv:2106.10165, ch. 4) and the per-network NNGP fluctuates
by ``O(n^-1/2)``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from ..models import network as arch
from ..results import Result
from ..stats import Estimate, sample_mean

__all__ = ["SpatialEnsemble", "ensemble_kernels", "sample_features"]


@dataclasses.dataclass(frozen=True)
class SpatialEnsemble(Result):
    """Empirical kernels of sampled finite networks.

    Attributes:
        nngp, ntk: ensemble estimates ``(N, N)`` (mean and standard error over networks).
        nngp_samples: the per-network empirical NNGPs ``(n_replicas, N, N)``.
        n_replicas: the number of networks.

    A simulation: ``converged``, ``iterations`` and ``residual`` do not apply (``None``).
    """

    nngp: Estimate = dataclasses.field(default_factory=Estimate)
    ntk: Estimate = dataclasses.field(default_factory=Estimate)
    nngp_samples: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    n_replicas: int = 0


# parameter-free layers that are linear maps of their input (t propagates through them)
_LINEAR_FREE = (arch.AvgPool, arch.GlobalAvgPool, arch.Flatten)


def _linear(layer) -> bool:
    return isinstance(layer, (arch.Dense, arch.Conv))


#: Networks an ensemble may draw: each is a forward pass in numpy (about a millisecond for
#: small inputs), so more would run for hours, beyond what an interrupt-free call should ask.
MAX_REPLICAS = 10 ** 6


def sample_features(spec, x, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """One random network: its outputs ``y`` and ``t = J v`` (module docstring), both of the
    output's shape.

    Args:
        spec: a layer spec (or a network object with ``.spec``) whose chain holds linear
            layers (Dense, Conv and its subclasses), activations with ``fn_prime``, and
            parameter-free linear layers (AvgPool, SumPool, GlobalAvgPool,
            GlobalSumPool, Flatten).
        x: inputs ``(N, *spatial, channels)``.
        seed: int or ``numpy.random.Generator`` (drawn from in place).
    """
    spec = getattr(spec, "spec", spec)
    if not isinstance(spec, arch.Layer):
        raise ArgumentTypeError(f"spec: expected a layer spec or network, got "
                                f"{type(spec).__name__}")
    rng = arch.as_rng(seed)
    x = arch.check_input(x, "x")
    layers = arch.chain(spec)
    try:
        params = arch.Serial(tuple(layers)).init(rng, x.shape)[1]
    except ParameterError as err:
        raise ParameterError(f"x: shape {x.shape} does not fit the network ({err})") from None
    y, t = x, np.zeros_like(x)
    for layer, p in zip(layers, params):
        if _linear(layer):
            w, b = p
            dw = rng.standard_normal(w.shape)
            db = None if b is None else rng.standard_normal(b.shape)
            t = layer.apply((w, None), t) + layer.apply((dw, db), y)
            y = layer.apply(p, y)
        elif isinstance(layer, arch.Activation):
            t = layer.fn_prime(y) * t
            y = layer.fn(y)
        elif isinstance(layer, _LINEAR_FREE):
            t = layer.apply(p, t)
            y = layer.apply(p, y)
        else:
            raise ArgumentTypeError(f"spec: {type(layer).__name__} is not supported by "
                                         "the ensemble sampler (linear layers, activations "
                                         "and parameter-free linear layers only)")
    return y, t


def ensemble_kernels(spec, x, *, n_replicas: int = 64, seed=0) -> SpatialEnsemble:
    """Empirical NNGP and NTK of the readout features over ``n_replicas`` sampled networks.

    Args:
        spec: as :func:`sample_features`.
        x: inputs ``(N, *spatial, channels)``.
        n_replicas: networks to sample (>= 2, for the standard error; at most
            :data:`MAX_REPLICAS`: each is a numpy forward pass).
        seed: int or ``numpy.random.Generator``.
    """
    n_replicas = checks.integer("n_replicas", n_replicas, low=2, high=MAX_REPLICAS)
    x = arch.check_input(x, "x")
    checks.work("n_replicas", float(n_replicas) * x.shape[0] ** 2, checks.MEMORY_LIMIT,
                what="kernel entries")
    rng = arch.as_rng(seed)
    nngps, ntks = [], []
    for _ in range(n_replicas):
        y, t = sample_features(spec, x, rng)
        f = y.reshape(len(x), -1)
        g = t.reshape(len(x), -1)
        nngps.append(f @ f.T / f.shape[1])
        ntks.append(g @ g.T / g.shape[1])
    nngps = np.array(nngps)
    return SpatialEnsemble(parameters={"n_replicas": n_replicas}, nngp=sample_mean(nngps),
                           ntk=sample_mean(np.array(ntks)), nngp_samples=nngps,
                           n_replicas=n_replicas)
