"""Gradients of finite, deep batch-normalised networks with batch statistics.

The network of Yang et al. 2019 (arXiv:1902.08129) at finite width ``n``: a batch ``x_0``
of ``B`` inputs (``(B, n)``, i.i.d. standard normal unless given), then ``depth`` layers

    h_l = x_{l-1} W_l,    x_l = phi(BN(h_l)),

with ``W_l`` Gaussian (``N(0, 1/n)``; the scale drops out of BN) or Haar orthogonal
(Meterez et al. 2023, arXiv:2310.02012), and :class:`~nnphys.models.batchnorm.BatchNorm`
over the batch. A random output gradient ``dL/dx_depth ~ N(0, I)`` is backpropagated by
hand (per unit ``dL/dh = J_BN^T (phi'(y) * dL/dx)``, ``J_BN = m^{-1/2} (I - y y^T / B) P``,
the exact Jacobian of the numpy forward pass, checked against finite differences in the
tests), and the squared norms ``|dL/dx_l|^2 / n`` are recorded at every layer.

Replicas (independent weights, inputs and output gradients) are independent samples, so
per-layer means have standard errors ``s / sqrt(n_replicas)``, and the growth factor per
layer between two layers comes with its delta-method error
(:func:`nnphys.stats.ratio_estimate`).
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from ..models import network as arch
from ..models.batchnorm import BatchNorm
from ..stats import Estimate, ratio_estimate, sample_mean

__all__ = ["gradient_norms", "gradient_growth", "WEIGHT_LAWS"]

WEIGHT_LAWS = ("gaussian", "orthogonal")


def _weights(rng, n: int, law: str) -> np.ndarray:
    if law == "gaussian":
        return rng.standard_normal((n, n)) / np.sqrt(n)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diagonal(r))                 # Haar measure (Mezzadri 2007)


def _backward_bn(layer: BatchNorm, h: np.ndarray, y: np.ndarray, g: np.ndarray) -> np.ndarray:
    """``J_BN^T g`` for each unit (column) of the batch ``h`` with output ``y``."""
    b = h.shape[0]
    hc = h - h.mean(axis=0) if layer.subtract_mean else h
    m = (hc * hc).mean(axis=0) + layer.epsilon
    out = (g - y * (y * g).sum(axis=0) / b) / np.sqrt(m)
    return out - out.mean(axis=0) if layer.subtract_mean else out


def _one_network(rng, b, n, depth, activation, bn, law, x0):
    x = rng.standard_normal((b, n)) if x0 is None else x0.copy()
    stack = []
    for _ in range(depth):
        w = _weights(rng, n, law)
        h = x @ w
        y = bn.apply((), h)
        stack.append((w, h, y))
        x = activation.fn(y)
    g = rng.standard_normal((b, n))
    norms = np.empty(depth + 1)
    norms[depth] = (g * g).sum() / n
    for l in range(depth - 1, -1, -1):
        w, h, y = stack[l]
        g = _backward_bn(bn, h, y, activation.fn_prime(y) * g) @ w.T
        norms[l] = (g * g).sum() / n
    return norms


def _norm_samples(batch_size, width, depth, activation, subtract_mean, weights, n_replicas,
                  seed, x):
    b = checks.integer("batch_size", batch_size, low=2, high=4096)
    n = checks.integer("width", width, low=1, high=8192)
    depth = checks.integer("depth", depth, low=1, high=100000)
    n_replicas = checks.integer("n_replicas", n_replicas, low=2, high=checks.MEMORY_LIMIT)
    checks.work("n_replicas", float(n_replicas) * depth * n * n * (b + (n if weights ==
                "orthogonal" else 0)), checks.WORK_LIMIT)
    activation = arch.Identity() if activation is None else activation
    if not isinstance(activation, arch.Activation):
        raise ArgumentTypeError(f"activation: must be an activation layer or None, got "
                                f"{type(activation).__name__}")
    checks.one_of("weights", weights, WEIGHT_LAWS)
    bn = BatchNorm(subtract_mean=subtract_mean)
    if x is not None:
        x = checks.finite_array("x", x, ndim=2)
        if x.shape != (b, n):
            raise ParameterError(f"x: must have shape (batch_size, width) = {(b, n)}, got "
                                 f"{x.shape}")
    rng = arch.as_rng(checks.seed(seed))
    return np.array([_one_network(rng, b, n, depth, activation, bn, weights, x)
                     for _ in range(n_replicas)])


def gradient_norms(batch_size: int, width: int, depth: int, activation=None, *,
                   subtract_mean: bool = True, weights: str = "gaussian",
                   n_replicas: int = 32, seed=None, x=None) -> Estimate:
    """Mean squared gradient norms ``E|dL/dx_l|^2 / width`` at every layer ``l = 0..depth``
    of sampled BN networks (module docstring).

    Parameters
    ----------
    batch_size : int
        ``B``.
    width : int
        ``n``, the width of every layer (and of the input).
    depth : int
        Number of ``Dense -> BatchNorm -> activation`` layers.
    activation : Activation or None
        ``phi``; None: linear.
    subtract_mean : bool
        BN with or without the mean subtraction.
    weights : str
        ``"gaussian"`` or ``"orthogonal"``.
    n_replicas : int
        Independent networks, ``>= 2``.
    seed : int, numpy.random.Generator or None
        Randomness of weights, inputs and output gradients.
    x : array_like or None
        A fixed input batch ``(batch_size, width)``; None: a fresh Gaussian batch per
        replica.

    Returns
    -------
    Estimate
        ``(depth + 1,)`` means with standard errors.
    """
    return sample_mean(_norm_samples(batch_size, width, depth, activation, subtract_mean,
                                     weights, n_replicas, seed, x))


def gradient_growth(batch_size: int, width: int, depth: int, activation=None, *,
                    subtract_mean: bool = True, weights: str = "gaussian",
                    n_replicas: int = 32, skip: int = 4, statistic: str = "mean",
                    seed=None, x=None) -> Estimate:
    """The measured growth factor per layer of the squared gradient norm towards the input,
    between layers ``a = skip`` and ``b = depth - skip`` (leaving out the layers where the
    forward pass and the backward mode settle), ``span = b - a``:

    * ``statistic="mean"``: ``(E|g_a|^2 / E|g_b|^2)^{1/span}``, the mean-field quantity
      (delta-method error);
    * ``statistic="log"``: ``exp(E[log(|g_a|^2 / |g_b|^2)] / span)``, the typical
      (geometric) factor, which stays finite where heavy tails make the mean grow (error
      from the sample mean of the per-network log ratios).

    Parameters
    ----------
    batch_size, width, depth, activation, subtract_mean, weights, n_replicas, seed, x
        As in :func:`gradient_norms`.
    skip : int
        Layers left out at each end, ``depth > 2 skip``.
    statistic : str
        ``"mean"`` or ``"log"``.

    Returns
    -------
    Estimate
        The factor and its standard error.
    """
    checks.one_of("statistic", statistic, ("mean", "log"))
    skip = checks.integer("skip", skip, low=0)
    depth_checked = checks.integer("depth", depth, low=1)
    span = depth_checked - 2 * skip
    if span < 1:
        raise ParameterError(f"skip: depth={depth_checked} must exceed 2 skip = {2 * skip}")
    samples = _norm_samples(batch_size, width, depth, activation, subtract_mean, weights,
                            n_replicas, seed, x)
    top, bottom = samples[:, skip], samples[:, depth_checked - skip]
    if statistic == "log":
        logs = sample_mean(np.log(top / bottom) / span)
        value = float(np.exp(logs.mean))
        return Estimate(mean=value, stderr=value * logs.stderr, n_eff=logs.n_eff)
    return ratio_estimate(top, bottom, lambda a, b: (a / b) ** (1.0 / span))
