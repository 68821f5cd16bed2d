"""Finite-width networks from the same spec as the theory: ensembles, empirical kernels,
training.

A fully connected spec (``Dense`` and elementwise activations, as built with
``nnphys.theory.kernels.serial`` or :class:`nnphys.models.network.Serial`) is sampled at
finite width. For every sampled network:

* the **empirical NNGP** is ``f(x) . f(x') / n_out`` (averaged over output channels);
* the **empirical NTK** is ``sum_theta df(x)/dtheta df(x')/dtheta`` averaged over output
  channels, computed analytically layer by layer (Jacot et al. 2018, arXiv:1806.07572):
  with ``h_{l-1}`` the layer's input, ``g_l = df/dz_l`` the back-propagated gradient,

      Theta = sum_l c_l (h_{l-1}(x) . h_{l-1}(x')) (g_l(x) . g_l(x')) + b_l (g_l(x) . g_l(x'))

  where ``c_l = W_std^2 / fan_in`` and ``b_l = b_std^2`` in the NTK parameterization and
  ``c_l = 1``, ``b_l = 1`` (bias present) in the standard one: a few BLAS Gram products per
  layer, no autodiff.

Weights follow one of four laws with the same entry variance: IID Gaussian, orthogonal
(Haar, Saxe et al. 2014), sparse (Bernoulli mask of density ``p``, rescaled by
``1/sqrt(p)``), or low rank (``A B / sqrt(r)`` with Gaussian factors). The last three are
"pseudo-iid" laws, whose infinitely wide limit is the same Gaussian process as for IID
weights of the same variance (the "Beyond IID weights" result; low rank needs the rank to
grow with the width, hence the default ``rank = min(fan_in, fan_out) // 4``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from ..models import network as arch
from . import _kernels

__all__ = ["WEIGHT_LAWS", "draw_weights", "EmpiricalKernels", "mlp_layers", "sample_params", "forward",
           "ntk_of_sample", "empirical_kernels", "train_mse"]

WEIGHT_LAWS = ("gaussian", "orthogonal", "sparse", "lowrank")


def _spec_of(net) -> arch.Layer:
    return net.spec if hasattr(net, "spec") else net


def mlp_layers(net, width: int | None = None) -> list:
    """The flat layer list of a fully connected spec; hidden ``Dense`` widths replaced by
    ``width`` when given (the last ``Dense`` keeps its ``out_dim``).

    Raises:
        NotImplementedError: for layers other than Dense and elementwise activations.
    """
    spec = _spec_of(net)
    flat: list = []

    def walk(layer):
        if isinstance(layer, arch.Serial):
            for sub in layer.layers:
                walk(sub)
        elif isinstance(layer, (arch.Dense, arch.Activation)):
            flat.append(layer)
        else:
            raise NotImplementedError(f"{type(layer).__name__}: sim.networks samples fully "
                                      "connected networks (Dense + activations) only")
    walk(spec)
    dense = [i for i, layer in enumerate(flat) if isinstance(layer, arch.Dense)]
    if not dense:
        raise ValueError("net: the network has no Dense layer")
    if width is not None:
        if int(width) != width or width < 1:
            raise ValueError(f"width: must be a positive integer, got {width!r}")
        for i in dense[:-1]:
            flat[i] = dataclasses.replace(flat[i], out_dim=int(width))
    return flat


def draw_weights(rng: np.random.Generator, shape, law: str = "gaussian", density: float = 0.5,
                 rank: int | None = None) -> np.ndarray:
    """Weight matrices with unit-variance entries under ``law``; ``shape`` is
    ``(..., fan_in, fan_out)`` (leading axes: independent matrices)."""
    *batch, fan_in, fan_out = shape
    if law == "gaussian":
        return rng.standard_normal(shape)
    if law == "orthogonal":
        big, small = max(fan_in, fan_out), min(fan_in, fan_out)
        q, r = np.linalg.qr(rng.standard_normal((*batch, big, small)))
        q *= np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]   # Haar (Mezzadri 2007)
        q *= math.sqrt(big)
        return q if fan_in >= fan_out else np.swapaxes(q, -1, -2)
    if law == "sparse":
        mask = rng.random(shape) < density
        return np.where(mask, rng.standard_normal(shape), 0.0) / math.sqrt(density)
    if law == "lowrank":
        r = rank if rank is not None else max(1, min(fan_in, fan_out) // 4)
        return rng.standard_normal((*batch, fan_in, r)) @ \
            rng.standard_normal((*batch, r, fan_out)) / math.sqrt(r)
    raise ValueError(f"weights: must be one of {WEIGHT_LAWS}, got {law!r}")


def sample_params(layers: Sequence, input_dim: int, rng: np.random.Generator,
                  weights: str = "gaussian", density: float = 0.5,
                  rank: int | None = None) -> list:
    """Trainable parameters ``(omega, beta)`` per Dense layer (None for activations), in the
    parameterization's own units (``omega`` unit variance for "ntk", ``W`` for "standard")."""
    if weights not in WEIGHT_LAWS:
        raise ValueError(f"weights: must be one of {WEIGHT_LAWS}, got {weights!r}")
    if not 0 < density <= 1:
        raise ValueError(f"density: must be in (0, 1], got {density}")
    params = []
    fan_in = input_dim
    for layer in layers:
        if isinstance(layer, arch.Dense):
            w = draw_weights(rng, (fan_in, layer.out_dim), weights, density, rank)
            b = rng.standard_normal(layer.out_dim) if layer.b_std is not None else None
            if layer.parameterization == "standard":
                w = w * (layer.W_std / math.sqrt(fan_in))
                b = None if b is None else b * layer.b_std
            params.append((w, b))
            fan_in = layer.out_dim
        else:
            params.append(None)
    return params


def _weight_scale(layer: arch.Dense, fan_in: int) -> tuple[float, float]:
    """``(weight multiplier, bias multiplier)`` mapping trained parameters to W and b."""
    if layer.parameterization == "ntk":
        return layer.W_std / math.sqrt(fan_in), (layer.b_std or 0.0)
    return 1.0, 1.0


def forward(layers: Sequence, params: Sequence, x: np.ndarray):
    """Output and the cache ``[(input, preactivation)]`` needed for back-propagation."""
    cache = []
    h = x
    z = x
    for layer, p in zip(layers, params):
        if isinstance(layer, arch.Dense):
            w, b = p
            cw, cb = _weight_scale(layer, h.shape[1])
            z = (h @ w) * cw
            if b is not None:
                z += cb * b
            cache.append((h, z))
            h = z
        else:
            h = layer.fn(z)
    return h, cache


def _check_chain(layers: Sequence) -> None:
    """Dense layers separated by at most one activation, ending with a Dense readout."""
    if not isinstance(layers[-1], arch.Dense):
        raise NotImplementedError("sim.networks: the network must end with a Dense layer")
    for a, b in zip(layers, layers[1:]):
        if isinstance(a, arch.Activation) and isinstance(b, arch.Activation):
            raise NotImplementedError("sim.networks: two activations in a row are not supported")


def ntk_of_sample(layers, params, x1, x2=None):
    """Outputs and empirical NTK (averaged over output channels) of one network.

    Returns ``(f1, f2, theta)`` with ``theta[i, j] = (1/n_out) sum_k sum_theta
    df_k(x1_i)/dtheta df_k(x2_j)/dtheta``.
    """
    same = x2 is None
    f1, cache1 = forward(layers, params, x1)
    f2, cache2 = (f1, cache1) if same else forward(layers, params, x2)
    n_out = f1.shape[1]
    dense_idx = [i for i, layer in enumerate(layers) if isinstance(layer, arch.Dense)]
    theta = np.zeros((f1.shape[0], f2.shape[0]))
    for k in range(n_out):
        g1 = np.zeros_like(f1)
        g1[:, k] = 1.0
        g2 = g1
        if not same:
            g2 = np.zeros_like(f2)
            g2[:, k] = 1.0
        for pos in range(len(dense_idx) - 1, -1, -1):
            li = dense_idx[pos]
            h1, h2 = cache1[pos][0], cache2[pos][0]
            cw, cb = _weight_scale(layers[li], h1.shape[1])
            bias2 = cb * cb if params[li][1] is not None else 0.0
            _kernels.accumulate_layer(theta, h1 @ h2.T, g1 @ g2.T, cw * cw, bias2)
            if pos == 0:
                break
            w = params[li][0]
            g1 = (g1 @ w.T) * cw
            g2 = g1 if same else (g2 @ w.T) * cw
            previous = layers[li - 1]
            if isinstance(previous, arch.Activation):
                _kernels.multiply_inplace(g1, previous.fn_prime(cache1[pos - 1][1]))
                if not same:
                    _kernels.multiply_inplace(g2, previous.fn_prime(cache2[pos - 1][1]))
    return f1, f2, theta / n_out


@dataclasses.dataclass(frozen=True)
class EmpiricalKernels:
    """Ensemble averages of the empirical NNGP and NTK, with standard errors.

    Attributes:
        nngp, ntk: mean over sampled networks, ``(N1, N2)``.
        nngp_stderr, ntk_stderr: standard error of those means (sample std / sqrt(n)).
        ntk_samples: the per-network NTKs ``(n_samples, N1, N2)`` (kept for error studies).
        n_samples, width, weights: what was sampled.
    """

    nngp: np.ndarray
    ntk: np.ndarray
    nngp_stderr: np.ndarray
    ntk_stderr: np.ndarray
    ntk_samples: np.ndarray
    n_samples: int
    width: int | None
    weights: str


def empirical_kernels(net, x1, x2=None, *, n_samples: int = 16, width: int | None = None,
                      seed=0, weights: str = "gaussian", density: float = 0.5,
                      rank: int | None = None, get=("nngp", "ntk")) -> EmpiricalKernels:
    """Empirical NNGP and NTK averaged over ``n_samples`` random networks.

    Args:
        net: a fully connected spec (or a network object with ``.spec``).
        x1, x2: inputs ``(N1, d)``, ``(N2, d)`` (``x2=None``: ``x1``).
        n_samples: networks to sample (>= 2, for the standard error).
        width: hidden width overriding the spec's ``out_dim`` of all but the last Dense.
        seed: int or ``numpy.random.Generator``.
        weights: ``"gaussian"``, ``"orthogonal"``, ``"sparse"`` or ``"lowrank"``.
        density: non-zero fraction for sparse weights; rank: for low-rank weights
            (default ``min(fan_in, fan_out) // 4``).
    """
    layers = mlp_layers(net, width)
    _check_chain(layers)
    x1 = arch.check_input(x1, "x1")
    if x2 is not None:
        x2 = arch.check_input(x2, "x2")
        if x2.shape[1] != x1.shape[1]:
            raise ValueError(f"x2: has {x2.shape[1]} features, x1 has {x1.shape[1]}")
    if int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples: must be an integer >= 2, got {n_samples!r}")
    get = (get,) if isinstance(get, str) else tuple(get)
    if not set(get) <= {"nngp", "ntk"} or "nngp" not in get:
        raise ValueError(f"get: must be ('nngp',) or ('nngp', 'ntk'), got {get!r}")
    rng = arch.as_rng(seed)
    nngps, ntks = [], []
    for _ in range(int(n_samples)):
        params = sample_params(layers, x1.shape[1], rng, weights, density, rank)
        if "ntk" in get:
            f1, f2, theta = ntk_of_sample(layers, params, x1, x2)
            ntks.append(theta)
        else:
            f1 = forward(layers, params, x1)[0]
            f2 = f1 if x2 is None else forward(layers, params, x2)[0]
        nngps.append(f1 @ f2.T / f1.shape[1])
    nngps = np.array(nngps)
    ntks = np.array(ntks) if ntks else np.zeros((0,) + nngps.shape[1:])
    root_n = math.sqrt(n_samples)
    ntk_mean = ntks.mean(0) if len(ntks) else np.zeros(0)
    ntk_se = ntks.std(0, ddof=1) / root_n if len(ntks) else np.zeros(0)
    return EmpiricalKernels(nngp=nngps.mean(0), ntk=ntk_mean,
                            nngp_stderr=nngps.std(0, ddof=1) / root_n,
                            ntk_stderr=ntk_se, ntk_samples=ntks,
                            n_samples=int(n_samples), width=width, weights=weights)


def train_mse(net, x_train, y_train, x_test, *, learning_rate: float, steps: int,
              record_every: int | None = None, width: int | None = None, seed=0,
              centered: bool = False):
    """Full-batch gradient descent on ``||f(X) - y||^2 / (2 y.size)`` (neural-tangents'
    normalisation), returning ``(times, test_predictions)`` with predictions of shape
    ``(len(times), N_test, n_out)``; ``times`` counts steps (continuous time
    ``t = steps`` at learning rate ``learning_rate``).

    ``centered=True`` trains ``f(theta) - f(theta_0)`` instead (the output at
    initialisation subtracted), which removes the prior's fluctuation: at infinite width
    the prediction is then the deterministic NTK regression
    ``Theta(x, X) Theta^{-1} (I - exp(-eta t Theta / y.size)) y``.
    """
    layers = mlp_layers(net, width)
    _check_chain(layers)
    x_train = arch.check_input(x_train, "x_train")
    x_test = arch.check_input(x_test, "x_test")
    y = np.asarray(y_train, dtype=float).reshape(x_train.shape[0], -1)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate: must be > 0, got {learning_rate}")
    if int(steps) != steps or steps < 0:
        raise ValueError(f"steps: must be a non-negative integer, got {steps!r}")
    record_every = record_every or max(1, steps)
    rng = arch.as_rng(seed)
    params = sample_params(layers, x_train.shape[1], rng)
    dense_idx = [i for i, layer in enumerate(layers) if isinstance(layer, arch.Dense)]
    offset_train = forward(layers, params, x_train)[0] if centered else 0.0
    offset_test = forward(layers, params, x_test)[0] if centered else 0.0
    times, preds = [], []
    for step in range(int(steps) + 1):
        if step % record_every == 0 or step == steps:
            times.append(step)
            preds.append(forward(layers, params, x_test)[0] - offset_test)
        if step == steps:
            break
        f, cache = forward(layers, params, x_train)
        g = (f - offset_train - y) / y.size                    # dL/df
        for pos in range(len(dense_idx) - 1, -1, -1):
            li = dense_idx[pos]
            h = cache[pos][0]
            w, b = params[li]
            cw, cb = _weight_scale(layers[li], h.shape[1])
            grad_w = (h.T @ g) * cw
            grad_b = g.sum(axis=0) * cb if b is not None else None
            if pos > 0:
                g = (g @ w.T) * cw
                previous = layers[li - 1]
                if isinstance(previous, arch.Activation):
                    g = g * previous.fn_prime(cache[pos - 1][1])
            w -= learning_rate * grad_w
            if b is not None:
                b -= learning_rate * grad_b
    return np.array(times), np.array(preds)
