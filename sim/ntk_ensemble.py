"""Ensembles of finite-width deep ReLU networks: the exact empirical NTK diagonal
``K(x, x) = sum_theta (df/dtheta)^2`` of every sampled network.

Network (NTK parameterization, as :mod:`nnphys.sim.networks` and the kernel library,
``C_W = W_std^2``): ``z^(l) = sqrt(C_W / n_(l-1)) W^(l) relu(z^(l-1))``,
``z^(1) = sqrt(C_W / n_0) W^(1) x``,
``f = z^(d)``, ``W^(l)_ij ~ N(0, 1)``, zero biases (optionally trained with relative rate
``bias_lr``). Each network is simulated in full -- all ``sum_l n_l n_(l-1)`` weights drawn,
one forward and one backward pass -- in numba, networks in parallel, each with its own
random stream (so the same seed gives the same networks on any number of cores).

:func:`ratio_statistics` turns the per-network ``K`` into estimates of ``E[K]`` and
``E[K^2]/E[K]^2`` (``Var K / E[K]^2`` is the ratio minus 1) with their standard errors.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, NumericalError, ParameterError
from ..results import Result
from ..stats import MAX_MAGNITUDE, Estimate, ratio_estimate, sample_mean
from . import _ntk_ensemble as _k

__all__ = ["NTKEnsemble", "relu_ntk_ensemble", "NTKStatistics", "ratio_statistics"]

_BATCH = 4096


@dataclasses.dataclass(frozen=True)
class NTKEnsemble(Result):
    """Per-network NTK diagonals ``K`` and outputs ``f`` at one input, shape
    ``(n_replicas, len(depths))``: column ``t`` is the network truncated at ``depths[t]``
    layers (the first ``depths[t] - 1`` hidden layers, shared, and its own readout).
    The samples themselves (a simulation: no solver health); :func:`ratio_statistics`
    summarises a column."""

    K: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    f: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    widths: tuple = ()
    depths: tuple = ()
    input_dim: int = 0
    W_std: float = math.sqrt(2.0)
    bias_lr: float = 0.0
    seed: int = 0


def relu_ntk_ensemble(widths: Sequence[int], x, n_replicas: int,
                      W_std: float = math.sqrt(2.0), bias_lr: float = 0.0, seed: int = 0,
                      depths: Sequence[int] | None = None,
                      progress: bool = False) -> NTKEnsemble:
    """``K(x, x)`` and ``f(x)`` of ``n_replicas`` random ReLU networks.

    Args:
        widths: hidden widths ``n_1..n_(d-1)`` (the readout has width 1).
        x: one input, shape ``(n_0,)``.
        n_replicas: number of networks (>= 1).
        W_std: weight scale of every layer, ``C_W = W_std^2`` (``sqrt 2``: He
            initialisation).
        bias_lr: weight of the gradients of the zero-initialised biases in ``K``.
        seed: network ``i`` uses the stream ``(seed, i)``.
        depths: depths ``d <= len(widths) + 1`` at which to read the network out (default:
            the full depth only). All share the hidden weights (so their K are correlated
            across depths, independent across networks); each gets its own readout.
        progress: tqdm bar over batches of networks.

    Cost: ``n_replicas * sum_l n_l n_(l-1)`` Gaussian draws and twice as many multiply-adds.
    """
    try:
        raw = np.atleast_1d(np.asarray(widths, dtype=float))
    except (TypeError, ValueError):
        raise ArgumentTypeError("widths: must be a sequence of integers >= 1") from None
    if raw.ndim != 1 or not np.all(np.isfinite(raw)) or np.any(raw < 1) or \
            np.any(raw != np.round(raw)):
        raise ParameterError(f"widths: hidden widths must be integers >= 1, got {widths!r}")
    w = [int(n) for n in raw]
    x = checks.finite_array("x", x)
    if x.ndim != 1 or x.size < 1:
        raise ParameterError("x: must be one finite input of shape (n_0,)")
    n_replicas = checks.integer("n_replicas", n_replicas, low=1)
    sizes = [x.size] + w
    checks.work("n_replicas * widths^2", float(n_replicas) * sum(float(a) * b for a, b in zip(
        sizes[:-1], sizes[1:])), what="weight draws")
    cw = checks.positive("W_std", W_std, high=1e150) ** 2      # C_W beyond 1e300 overflows
    bias_lr = checks.positive("bias_lr", bias_lr, allow_zero=True)
    seed = checks.integer("seed", seed, low=0)
    all_widths = np.array([x.size] + w, dtype=np.int64)
    if depths is not None and (isinstance(depths, (str, bytes)) or
                               not hasattr(depths, "__iter__")):
        raise ArgumentTypeError(f"depths: must be a sequence of integers, got "
                                f"{type(depths).__name__}")
    depths = [len(w) + 1] if depths is None else [
        checks.integer(f"depths[{i}]", d, low=1, high=len(w) + 1) for i, d in enumerate(depths)]
    if not depths or any(d < 1 or d > len(w) + 1 for d in depths):
        raise ParameterError(f"depths: each must be in [1, {len(w) + 1}]")
    out_k = np.empty((n_replicas, len(depths)))
    out_f = np.empty((n_replicas, len(depths)))
    starts = range(0, n_replicas, _BATCH)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, total=len(starts), desc="networks", unit="batch")
    for start in starts:
        stop = min(start + _BATCH, n_replicas)
        _k.relu_ntk_diagonal(seed, start, x, all_widths, np.array(depths, dtype=np.int64),
                             cw, bias_lr, out_k[start:stop], out_f[start:stop])
    if not (np.all(np.isfinite(out_k)) and np.all(np.isfinite(out_f))):
        raise NumericalError(f"x, W_std: the NTK or the output left float64 (|x| up to "
                             f"{np.max(np.abs(x)):.3g}, W_std = {W_std:g}, depth "
                             f"{max(depths)}); rescale x")
    return NTKEnsemble(parameters={"n_replicas": n_replicas}, K=out_k, f=out_f,
                       widths=tuple(w), depths=tuple(depths), input_dim=int(x.size),
                       W_std=float(W_std), bias_lr=bias_lr, seed=seed)


@dataclasses.dataclass(frozen=True)
class NTKStatistics(Result):
    """Estimates from independent samples of the NTK diagonal ``K``.

    Attributes:
        mean: ``E[K]``.
        ratio: ``E[K^2]/E[K]^2`` (``Var K / E[K]^2 = ratio - 1``, same standard error).
    """

    mean: Estimate = dataclasses.field(default_factory=Estimate)
    ratio: Estimate = dataclasses.field(default_factory=Estimate)


def ratio_statistics(K: np.ndarray) -> NTKStatistics:
    """``E[K]`` and ``E[K^2]/E[K]^2`` over the independent samples ``K``, the ratio's
    standard error by the delta method (gradient ``(-2 m2/m1^3, 1/m1^2)`` with the sample
    covariance of ``(K, K^2)``)."""
    k = checks.finite_array("K", K, ndim=1)
    if k.size < 2:
        raise ParameterError("K: must hold at least 2 samples")
    if np.any(np.abs(k) > MAX_MAGNITUDE):
        raise ParameterError(f"K: entries must be at most {MAX_MAGNITUDE:g} in magnitude "
                             "(K^2 overflows)")
    return NTKStatistics(mean=sample_mean(k),
                         ratio=ratio_estimate(k, k * k, lambda m1, m2: m2 / (m1 * m1)))
