"""Ensembles of deep random networks at finite width: the statistics of their
preactivations, layer by layer.

Network: ``z^(1) = b + W x``, ``z^(l+1) = b + W phi(z^(l))``, widths ``n``,
``W_ij`` of variance ``C_W / fan_in``, ``b_i ~ N(0, C_b)``; the signatures take the scales
``W_std = sqrt(C_W)``, ``b_std = sqrt(C_b)``.

Two samplers:

* :func:`conditional_kernels` -- **exact reduced sampler** for Gaussian weights. Given
  layer ``l``, the rows ``z^(l+1)_i`` (one entry per input) are i.i.d. ``N(0, S_l)`` with
  the empirical kernel ``S_l = C_b + (C_W/n) sum_j phi(z_j) phi(z_j)^T``, because
  ``W phi`` is Gaussian given ``phi``. So a network costs ``O(n m^2)`` per layer, not
  ``O(n^2)``, and ``S_l`` carries everything about layer ``l`` (its preactivations are
  ``N(0, S_l)`` given ``S_l``). For one input the excess kurtosis of ``z^(l)`` is
  ``3 Var(S_l) / E[S_l]^2`` (Rao-Blackwell: ``E z^4 = 3 E S^2``), see :func:`kurtosis`.
  (The reduction is the one used in PDLT's derivation, Roberts, Yaida & Hanin 2022,
  arXiv:2106.10165, sec. 4.)
* :func:`full_ensemble` -- explicit weight matrices of any law of
  :data:`nnphys.sim.networks.WEIGHT_LAWS` (orthogonal, sparse, low-rank as well as
  Gaussian): empirical kernels and fourth moments per layer, for the laws where the
  reduction does not hold.

Both are reproducible from ``seed`` whatever the batch size or number of cores. Both
return the per-network samples; :func:`moments`, :func:`kurtosis` and
:func:`sample_kurtosis` summarise them as :class:`~nnphys.stats.Estimate` s over the
independent networks.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, NumericalError, ParameterError
from ..models import network as arch
from ..results import Result
from ..stats import Estimate, ratio_estimate, sample_mean
from . import _preactivations as _k
from ._activations import lower
from .networks import WEIGHT_LAWS, draw_weights

__all__ = ["conditional_kernels", "kurtosis", "moments", "FullEnsemble", "full_ensemble",
           "sample_kurtosis"]

_BATCH = 2048


def _numba_activation(activation):
    """``lower(activation)`` for an activation the numba kernel evaluates itself, else None
    (the numpy sampler runs any other activation or numpy callable)."""
    try:
        return lower(activation)
    except ParameterError:
        return None


def _variances(depth, width, n_replicas, W_std, b_std, seed) -> tuple[float, float]:
    """Check the sizes, the seed and the scales (and bound the work, ``n_replicas * depth *
    width^2`` draws); return ``(C_W, C_b) = (W_std^2, b_std^2)``."""
    for name, value in (("depth", depth), ("width", width), ("n_replicas", n_replicas)):
        checks.integer(name, value, low=1)
    checks.integer("seed", seed, low=0)
    checks.work("n_replicas * depth * width^2",
                float(n_replicas) * depth * width * width, what="weight draws")
    # beyond 1e150 the variances W_std^2, b_std^2 leave float64
    return (checks.positive("W_std", W_std, high=1e150) ** 2,
            checks.positive("b_std", b_std, allow_zero=True, high=1e150) ** 2)


def _numpy_batch(fn, seed, batch_index, out, kernel0, width, cw, cb):
    """Reference reduced sampler in numpy (any callable activation), one batch."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(batch_index,)))
    n, depth, m = out.shape[0], out.shape[1], out.shape[2]
    out[:, 0] = kernel0
    for l in range(1, depth):
        w, v = np.linalg.eigh(out[:, l - 1])
        root = v * np.sqrt(np.clip(w, 0.0, None))[:, None, :]     # S = root root^T
        z = np.einsum("iab,ijb->ija", root, rng.standard_normal((n, width, m)))
        s = fn(z)
        out[:, l] = cb + cw * np.einsum("ija,ijb->iab", s, s) / width


def conditional_kernels(activation, depth: int, width: int, n_replicas: int, W_std: float,
                        b_std: float, q0=1.0, seed: int = 0, progress: bool = False):
    """The empirical kernels ``S_l`` of ``n_replicas`` random networks (Gaussian weights).

    Args:
        activation: an nnphys activation (the layers :func:`nnphys.sim._activations.lower`
            accepts run in numba; any other activation or numpy callable in numpy).
        depth: layers ``1..depth`` (``S_1 = q0``: the first layer is Gaussian).
        width: hidden width ``n``.
        n_replicas: number of networks.
        W_std, b_std: weight and bias scales (``C_W = W_std^2``, ``C_b = b_std^2``).
        q0: first-layer kernel: a variance (one input) or an ``(m, m)`` PSD matrix.
        seed: network ``i`` uses its own random stream derived from ``(seed, i)``.
        progress: show a tqdm progress bar over batches.

    Returns:
        ``(n_replicas, depth)`` array for one input, else ``(n_replicas, depth, m, m)``:
        the samples (summarise them with :func:`moments` and :func:`kurtosis`).
    """
    sigma_w2, sigma_b2 = _variances(depth, width, n_replicas, W_std, b_std, seed)
    q0 = checks.finite_array("q0", q0)
    single = q0.ndim == 0
    kernel0 = q0.reshape(1, 1) if single else q0
    if kernel0.ndim != 2 or kernel0.shape[0] != kernel0.shape[1] or \
            not np.allclose(kernel0, kernel0.T) or np.linalg.eigvalsh(kernel0)[0] < -1e-12:
        raise ParameterError("q0: must be a variance >= 0 or a symmetric PSD matrix")
    m = kernel0.shape[0]
    shape = (n_replicas, depth) if single else (n_replicas, depth, m, m)
    out = np.empty(shape)
    fast = _numba_activation(activation)
    fn = None if fast is not None else arch.activation_function(activation)
    starts = range(0, n_replicas, _BATCH)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, total=len(starts), desc="networks", unit="batch")
    for index, start in enumerate(starts):
        block = out[start:start + _BATCH]
        if fast is not None and single:
            _k.reduced_ensemble_single(seed, start, block, float(q0), width, sigma_w2, sigma_b2,
                                       fast[0], fast[1])
        elif fast is not None:
            _k.reduced_ensemble(seed, start, block, kernel0, width, sigma_w2, sigma_b2,
                                fast[0], fast[1])
        else:
            view = block.reshape(block.shape[0], depth, m, m)
            _numpy_batch(fn, seed, index, view, kernel0, width, sigma_w2, sigma_b2)
    if not np.all(np.isfinite(out)):
        raise NumericalError("conditional_kernels: the preactivations overflowed "
                             "(the signal explodes at these parameters)")
    return out


def _variance_samples(variances) -> np.ndarray:
    s = checks.finite_array("variances", variances, ndim=2, low=0.0, low_open=True)
    if np.any(s > 1e150):
        raise ParameterError("variances: entries must be at most 1e150 (their squares "
                             "overflow)")
    if s.shape[0] < 2:
        raise ParameterError("variances: must have shape (N >= 2, depth)")
    return s


def kurtosis(variances: np.ndarray) -> Estimate:
    """Excess kurtosis of a preactivation from the conditional variances ``S_l``
    (shape ``(N, depth)``): ``3 (E S^2 / (E S)^2 - 1)`` per layer, with its standard error
    (delta method over the ``N`` independent networks)."""
    s = _variance_samples(variances)
    return ratio_estimate(s, s * s, lambda m1, m2: 3.0 * (m2 / (m1 * m1) - 1.0))


def moments(variances: np.ndarray) -> Estimate:
    """Mean ``E[z^2] = E[S_l]`` per layer over the independent networks."""
    return sample_mean(_variance_samples(variances))


@dataclasses.dataclass(frozen=True)
class FullEnsemble(Result):
    """Per network and layer: ``kernels[i, l] = z z^T / n`` over neurons (m x m, inputs
    ``a, b``) and ``fourth[i, l, a] = mean_j z_ja^4`` (samples of a simulation: no solver
    health)."""

    kernels: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0, 0)))
    fourth: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))


def full_ensemble(activation, x, depth: int, width: int, n_replicas: int, W_std: float,
                  b_std: float, weights: str = "gaussian", seed: int = 0,
                  density: float = 0.5, rank: int | None = None) -> FullEnsemble:
    """Explicit networks: ``z^(1) = sqrt(C_W/n_0) W x + b``, then width-``n`` layers with
    weight matrices of law ``weights`` (unit-variance entries scaled by ``sqrt(C_W/fan_in)``,
    ``C_W = W_std^2``; biases of scale ``b_std``), ``n_replicas`` networks.

    Args:
        activation: an activation layer (``Relu()``, ``Erf()``, ...) or a vectorised callable.
        x: inputs, shape ``(m, n_0)``.
        depth: hidden layers ``L >= 1``.
        width: hidden width ``n >= 1``.
        n_replicas: independent networks.
        W_std, b_std: ``sqrt(C_W)`` and the bias scale.
        weights: weight law, ``"gaussian"``, ``"orthogonal"``, ``"sparse"`` or ``"lowrank"``
            (:func:`nnphys.sim.networks.draw_weights`).
        seed: int ``>= 0``.
        density: non-zero fraction of sparse weights.
        rank: rank of low-rank weights.

    Returns:
        :class:`FullEnsemble`.
    """
    sigma_w2, sigma_b2 = _variances(depth, width, n_replicas, W_std, b_std, seed)
    checks.one_of("weights", weights, WEIGHT_LAWS)
    x = checks.finite_array("x", x, ndim=2)
    if x.size == 0:
        raise ParameterError("x: must have shape (m, n_0) with m, n_0 >= 1, got shape "
                             f"{x.shape}")
    checks.work("n_replicas * depth * m^2 (x)", float(n_replicas) * depth * x.shape[0] ** 2,
                checks.MEMORY_LIMIT, what="kernel entries")
    fn = arch.activation_function(activation)
    m, n0 = x.shape
    kernels = np.empty((n_replicas, depth, m, m))
    fourth = np.empty((n_replicas, depth, m))
    batch = max(1, min(n_replicas, 2 ** 22 // (width * width)))
    for index, start in enumerate(range(0, n_replicas, batch)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
        nb = min(batch, n_replicas - start)
        fan_in, h = n0, np.broadcast_to(x, (nb, m, n0))
        for l in range(depth):
            w = draw_weights(rng, (nb, fan_in, width), weights, density, rank)
            z = math.sqrt(sigma_w2 / fan_in) * (h @ w)
            if sigma_b2:
                z += math.sqrt(sigma_b2) * rng.standard_normal((nb, 1, width))
            kernels[start:start + nb, l] = z @ np.swapaxes(z, -1, -2) / width
            fourth[start:start + nb, l] = np.mean(z ** 4, axis=-1)
            h, fan_in = fn(z), width
    if not (np.all(np.isfinite(kernels)) and np.all(np.isfinite(fourth))):
        raise NumericalError("full_ensemble: the preactivations overflowed (the signal "
                             "explodes at these parameters and inputs)")
    return FullEnsemble(parameters={"weights": weights, "seed": seed}, kernels=kernels,
                        fourth=fourth)


def sample_kurtosis(ensemble: FullEnsemble, input_index: int = 0) -> Estimate:
    """Excess kurtosis ``E z^4 / (E z^2)^2 - 3`` of one input's preactivations per layer,
    averaged over neurons and networks, with its standard error (delta method over the
    independent networks)."""
    if not isinstance(ensemble, FullEnsemble):
        raise ArgumentTypeError(f"ensemble: must be a FullEnsemble (from full_ensemble), got "
                                f"{type(ensemble).__name__}")
    input_index = checks.integer("input_index", input_index, low=0,
                                 high=ensemble.fourth.shape[2] - 1)
    second = ensemble.kernels[:, :, input_index, input_index]
    fourth = ensemble.fourth[:, :, input_index]
    return ratio_estimate(fourth, second, lambda m4, m2: m4 / (m2 * m2) - 3.0)
