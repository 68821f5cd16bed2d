"""Ensembles of finite-width deep ReLU networks: the exact empirical NTK diagonal
``K(x, x) = sum_theta (df/dtheta)^2`` of every sampled network.

Network (NTK parameterization, as :mod:`nnphys.sim.networks` and the kernel library):
``z^(l) = sqrt(C_W / n_(l-1)) W^(l) relu(z^(l-1))``, ``z^(1) = sqrt(C_W / n_0) W^(1) x``,
``f = z^(d)``, ``W^(l)_ij ~ N(0, 1)``, zero biases (optionally trained with relative rate
``bias_lr``). Each network is simulated in full -- all ``sum_l n_l n_(l-1)`` weights drawn,
one forward and one backward pass -- in numba, networks in parallel, each with its own
random stream (so the same seed gives the same networks on any number of cores).

:func:`ratio_statistics` turns the per-network ``K`` into ``E[K^2]/E[K]^2`` and
``Var K / E[K]^2`` with delta-method standard errors.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from . import _ntk_ensemble as _k

__all__ = ["NTKEnsemble", "relu_ntk_ensemble", "ratio_statistics"]

_BATCH = 4096


@dataclasses.dataclass(frozen=True)
class NTKEnsemble:
    """Per-network NTK diagonals ``K`` and outputs ``f`` at one input, shape
    ``(n_networks, len(depths))``: column ``t`` is the network truncated at ``depths[t]``
    layers (the first ``depths[t] - 1`` hidden layers, shared, and its own readout)."""

    K: np.ndarray
    f: np.ndarray
    widths: tuple
    depths: tuple
    input_dim: int
    sigma_w2: float
    bias_lr: float
    seed: int


def relu_ntk_ensemble(widths: Sequence[int], x, n_networks: int, sigma_w2: float = 2.0,
                      bias_lr: float = 0.0, seed: int = 0, depths: Sequence[int] | None = None,
                      progress: bool = False) -> NTKEnsemble:
    """``K(x, x)`` and ``f(x)`` of ``n_networks`` random ReLU networks.

    Args:
        widths: hidden widths ``n_1..n_(d-1)`` (the readout has width 1).
        x: one input, shape ``(n_0,)``.
        n_networks: ensemble size (>= 1).
        sigma_w2: ``C_W`` of every layer (2: He initialisation).
        bias_lr: weight of the gradients of the zero-initialised biases in ``K``.
        seed: network ``i`` uses the stream ``(seed, i)``.
        depths: depths ``d <= len(widths) + 1`` at which to read the network out (default:
            the full depth only). All share the hidden weights (so their K are correlated
            across depths, independent across networks); each gets its own readout.
        progress: tqdm bar over batches of networks.

    Cost: ``n_networks * sum_l n_l n_(l-1)`` Gaussian draws and twice as many multiply-adds.
    """
    w = [int(n) for n in np.atleast_1d(np.asarray(widths))] if len(widths) else []
    if any(n < 1 or n != m for n, m in zip(w, np.atleast_1d(widths))):
        raise ValueError("widths: hidden widths must be integers >= 1")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or x.size < 1 or not np.all(np.isfinite(x)):
        raise ValueError("x: must be one finite input of shape (n_0,)")
    if isinstance(n_networks, bool) or int(n_networks) != n_networks or n_networks < 1:
        raise ValueError("n_networks: must be an integer >= 1")
    if not (math.isfinite(sigma_w2) and sigma_w2 > 0):
        raise ValueError("sigma_w2: must be finite and > 0")
    if not (math.isfinite(bias_lr) and bias_lr >= 0):
        raise ValueError("bias_lr: must be finite and >= 0")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError("seed: must be an integer >= 0")
    all_widths = np.array([x.size] + w, dtype=np.int64)
    depths = [len(w) + 1] if depths is None else [int(d) for d in depths]
    if not depths or any(d < 1 or d > len(w) + 1 for d in depths):
        raise ValueError(f"depths: each must be in [1, {len(w) + 1}]")
    n_networks = int(n_networks)
    out_k = np.empty((n_networks, len(depths)))
    out_f = np.empty((n_networks, len(depths)))
    starts = range(0, n_networks, _BATCH)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, total=len(starts), desc="networks", unit="batch")
    for start in starts:
        stop = min(start + _BATCH, n_networks)
        _k.relu_ntk_diagonal(int(seed), start, x, all_widths, np.array(depths, dtype=np.int64),
                             float(sigma_w2), float(bias_lr), out_k[start:stop],
                             out_f[start:stop])
    return NTKEnsemble(out_k, out_f, tuple(w), tuple(depths), int(x.size), float(sigma_w2), float(bias_lr),
                       int(seed))


def ratio_statistics(K: np.ndarray):
    """``(mean, mean_se, ratio, ratio_se)``: ``E[K]`` and ``E[K^2]/E[K]^2`` over the
    independent samples ``K`` with standard errors (the ratio's by the delta method:
    gradient ``(-2 m2/m1^3, 1/m1^2)`` with the sample covariance of ``(K, K^2)``).
    ``Var K / E[K]^2 = ratio - 1`` has the same standard error."""
    k = np.asarray(K, dtype=np.float64)
    if k.ndim != 1 or k.size < 2:
        raise ValueError("K: must be a 1-D array of at least 2 samples")
    n = k.size
    m1, m2 = k.mean(), (k * k).mean()
    ratio = m2 / (m1 * m1)
    g1, g2 = -2.0 * m2 / m1 ** 3, 1.0 / m1 ** 2
    c = np.cov(np.vstack([k, k * k]))
    var = (g1 * g1 * c[0, 0] + 2 * g1 * g2 * c[0, 1] + g2 * g2 * c[1, 1]) / n
    return m1, k.std(ddof=1) / math.sqrt(n), ratio, math.sqrt(max(var, 0.0))
