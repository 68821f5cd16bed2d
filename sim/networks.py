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

from .. import checks
from ..errors import ArgumentTypeError, NumericalError, ParameterError
from ..models import network as arch
from ..results import Result
from ..stats import Estimate, sample_mean
from . import _kernels

__all__ = ["WEIGHT_LAWS", "draw_weights", "EmpiricalKernels", "mlp_layers", "sample_params",
           "forward", "ntk_of_sample", "empirical_kernels", "Training", "train_gd",
           "train_mse", "LOSSES"]

WEIGHT_LAWS = ("gaussian", "orthogonal", "sparse", "lowrank")


def _spec_of(net) -> arch.Layer:
    spec = net.spec if hasattr(net, "spec") else net
    if not isinstance(spec, arch.Layer):
        raise ArgumentTypeError(f"net: must be a layer spec or a kernels Network, got "
                                f"{type(net).__name__}")
    return spec


def _check_layers(layers, params=()) -> None:
    """``layers`` from :func:`mlp_layers` (and ``params`` from :func:`sample_params`, if
    given)."""
    if not isinstance(layers, (list, tuple)) or not layers or \
            not all(isinstance(layer, (arch.Dense, arch.Activation)) for layer in layers):
        raise ArgumentTypeError("layers: must be a list of Dense and activation layers (from "
                                "mlp_layers)")
    if params != () and (not isinstance(params, (list, tuple)) or
                         len(params) != len(layers)):
        raise ArgumentTypeError(f"params: must be a list of {len(layers)} entries, one per "
                                "layer (from sample_params)")


def _sequence_of_names(name, value) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise ArgumentTypeError(f"{name}: must be a name or a tuple of names, got "
                                f"{type(value).__name__}")
    return tuple(value)


def _check_x(name, x, layers, params) -> np.ndarray:
    x = arch.check_input(x, name)
    first = next(p for layer, p in zip(layers, params) if isinstance(layer, arch.Dense))
    if x.ndim != 2 or x.shape[1] != first[0].shape[0]:
        raise ParameterError(f"{name}: must have shape (batch, {first[0].shape[0]}), got "
                             f"{x.shape}")
    return x


def mlp_layers(net, width: int | None = None) -> list:
    """The flat layer list of a fully connected spec; hidden ``Dense`` widths replaced by
    ``width`` when given (the last ``Dense`` keeps its ``out_dim``).

    Raises:
        NotImplementedError: for layers other than Dense and elementwise activations.
    """
    spec = _spec_of(net)
    flat = arch.chain(spec)
    for layer in flat:
        if not isinstance(layer, (arch.Dense, arch.Activation)):
            raise NotImplementedError(f"{type(layer).__name__}: sim.networks samples fully "
                                      "connected networks (Dense + activations) only")
    dense = [i for i, layer in enumerate(flat) if isinstance(layer, arch.Dense)]
    if not dense:
        raise ParameterError("net: the network has no Dense layer")
    if width is not None:
        width = checks.integer("width", width, low=1)
        for i in dense[:-1]:
            flat[i] = dataclasses.replace(flat[i], out_dim=int(width))
    return flat


def _weight_count(layers, input_dim: int) -> float:
    """The number of weights of the fully connected ``layers`` on ``input_dim`` inputs."""
    total, fan_in = 0.0, float(input_dim)
    for layer in layers:
        if isinstance(layer, arch.Dense):
            total += fan_in * layer.out_dim
            fan_in = float(layer.out_dim)
    return total


def draw_weights(seed, shape, law: str = "gaussian", density: float = 0.5,
                 rank: int | None = None) -> np.ndarray:
    """Weight matrices with unit-variance entries under ``law``; ``shape`` is
    ``(..., fan_in, fan_out)`` (leading axes: independent matrices). ``seed``: an int or a
    ``numpy.random.Generator`` (drawn from, in place)."""
    rng = arch.as_rng(seed)
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__iter__") or len(shape) < 2:
        raise ParameterError(f"shape: must be (..., fan_in, fan_out), got {shape!r}")
    shape = tuple(checks.integer(f"shape[{i}]", n, low=1) for i, n in enumerate(shape))
    checks.work("shape", float(np.prod(shape, dtype=float)), checks.MEMORY_LIMIT,
                what="weight entries")
    checks.one_of("law", law, WEIGHT_LAWS)
    density = checks.probability("density", density, open_low=True)
    if rank is not None:
        rank = checks.integer("rank", rank, low=1)
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
    r = rank if rank is not None else max(1, min(fan_in, fan_out) // 4)       # lowrank
    return rng.standard_normal((*batch, fan_in, r)) @ \
        rng.standard_normal((*batch, r, fan_out)) / math.sqrt(r)


def sample_params(layers: Sequence, input_dim: int, seed, weights: str = "gaussian",
                  density: float = 0.5, rank: int | None = None) -> list:
    """Trainable parameters ``(omega, beta)`` per Dense layer (None for activations), in the
    parameterization's own units (``omega`` unit variance for "ntk", ``W`` for "standard");
    ``seed`` is an int or a ``numpy.random.Generator``."""
    _check_layers(layers)
    input_dim = checks.integer("input_dim", input_dim, low=1)
    checks.one_of("weights", weights, WEIGHT_LAWS)
    checks.probability("density", density, open_low=True)
    rng = arch.as_rng(seed)
    params = []
    fan_in = input_dim
    for layer in layers:
        if isinstance(layer, arch.Dense):
            checks.work("input_dim" if not params else "layers",
                        8.0 * fan_in * layer.out_dim, checks.MEMORY_LIMIT,
                        what="bytes of weights")
            w = draw_weights(rng, (fan_in, layer.out_dim), weights, density, rank)
            b = rng.standard_normal(layer.out_dim) if layer.b_std is not None else None
            params.append(arch.trained_parameters(layer, w, b, fan_in))
            fan_in = layer.out_dim
        else:
            params.append(None)
    return params


def forward(layers: Sequence, params: Sequence, x: np.ndarray):
    """Output and the cache ``[(input, preactivation)]`` needed for back-propagation: the
    spec's own forward pass (:meth:`nnphys.models.network.Layer.apply`), layer by layer.

    Raises:
        NumericalError: the outputs overflowed (inputs or weights too large).
    """
    _check_layers(layers, params)
    x = _check_x("x", x, layers, params)
    cache = []
    h = x
    for layer, p in zip(layers, params):
        y = layer.apply(p, h)
        if isinstance(layer, arch.Dense):
            cache.append((h, y))
        h = y
    if not np.all(np.isfinite(h)):
        raise NumericalError("forward: the outputs overflowed (inputs or weights too large)")
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
    _check_layers(layers, params)
    x1 = _check_x("x1", x1, layers, params)
    x2 = None if x2 is None else _check_x("x2", x2, layers, params)
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
            cw, cb = arch.parameter_scales(layers[li], h1.shape[1])
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
    if not np.all(np.isfinite(theta)):
        raise NumericalError("ntk_of_sample: the NTK overflowed (inputs or weights too large)")
    return f1, f2, theta / n_out


@dataclasses.dataclass(frozen=True)
class EmpiricalKernels(Result):
    """Ensemble averages of the empirical NNGP and NTK over independent networks.

    Attributes:
        nngp, ntk: estimates (mean and standard error over the sampled networks) of the
            kernels, entries ``(N1, N2)``; ``ntk`` is ``None`` unless it was asked for.
        ntk_samples: the per-network NTKs ``(n_replicas, N1, N2)`` (kept for error studies;
            empty unless the NTK was asked for).
        n_replicas, width, weights: what was sampled.

    A simulation: ``converged``, ``iterations`` and ``residual`` do not apply (``None``).
    """

    nngp: Estimate = dataclasses.field(default_factory=Estimate)
    ntk: Estimate | None = None
    ntk_samples: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    n_replicas: int = 0
    width: int | None = None
    weights: str = "gaussian"


def empirical_kernels(net, x1, x2=None, *, n_replicas: int = 16, width: int | None = None,
                      seed=0, weights: str = "gaussian", density: float = 0.5,
                      rank: int | None = None, get=("nngp", "ntk")) -> EmpiricalKernels:
    """Empirical NNGP and NTK averaged over ``n_replicas`` random networks.

    Args:
        net: a fully connected spec (or a network object with ``.spec``).
        x1, x2: inputs ``(N1, d)``, ``(N2, d)`` (``x2=None``: ``x1``).
        n_replicas: networks to sample (>= 2, for the standard error).
        width: hidden width overriding the spec's ``out_dim`` of all but the last Dense.
        seed: int or ``numpy.random.Generator``.
        weights: ``"gaussian"``, ``"orthogonal"``, ``"sparse"`` or ``"lowrank"``.
        density: non-zero fraction for sparse weights.
        rank: rank of low-rank weights (default ``min(fan_in, fan_out) // 4``).
        get: the kernels to estimate, a subset of ``("nngp", "ntk")``.
    """
    layers = mlp_layers(net, width)
    _check_chain(layers)
    x1 = arch.check_input(x1, "x1")
    if x2 is not None:
        x2 = arch.check_input(x2, "x2")
        if x2.shape[1] != x1.shape[1]:
            raise ParameterError(f"x2: has {x2.shape[1]} features, x1 has {x1.shape[1]}")
    n_replicas = checks.integer("n_replicas", n_replicas, low=2)
    checks.work("n_replicas * width^2", float(n_replicas) * _weight_count(layers, x1.shape[1]),
                what="weight draws")
    get = (get,) if isinstance(get, str) else _sequence_of_names("get", get)
    if not set(get) <= {"nngp", "ntk"} or "nngp" not in get:
        raise ParameterError(f"get: must be ('nngp',) or ('nngp', 'ntk'), got {get!r}")
    rng = arch.as_rng(seed)
    nngps, ntks = [], []
    for _ in range(n_replicas):
        params = sample_params(layers, x1.shape[1], rng, weights, density, rank)
        if "ntk" in get:
            f1, f2, theta = ntk_of_sample(layers, params, x1, x2)
            ntks.append(theta)
        else:
            f1 = forward(layers, params, x1)[0]
            f2 = f1 if x2 is None else forward(layers, params, x2)[0]
        nngps.append(f1 @ f2.T / f1.shape[1])
    ntks = np.array(ntks) if ntks else np.zeros((0,) + np.shape(nngps[0]))
    return EmpiricalKernels(parameters={"weights": weights, "width": width},
                            nngp=sample_mean(np.array(nngps)),
                            ntk=sample_mean(ntks) if len(ntks) else None, ntk_samples=ntks,
                            n_replicas=n_replicas, width=width, weights=weights)


@dataclasses.dataclass(frozen=True)
class Training(Result):
    """Test predictions along one gradient-descent run.

    Attributes:
        times: the recorded steps.
        predictions: ``(len(times), N_test, n_out)`` test outputs at those steps.
        loss: ``(len(times),)`` the training loss at those steps.

    A simulation of one network: no solver health (``None``).
    """

    times: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))
    predictions: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    @property
    def final(self) -> np.ndarray:
        """The test predictions after the last step, ``(N_test, n_out)``."""
        return self.predictions[-1]


LOSSES = ("mse", "cross_entropy")
_BLOWUP = 1e100


def _training_targets(loss: str, y_train, n: int, n_out: int) -> np.ndarray:
    """``y_train`` as ``(n, n_out)`` floats: integer labels ``(n,)`` one-hot over ``n_out``
    classes for the cross-entropy."""
    y = np.asarray(y_train)
    if loss == "cross_entropy":
        if n_out < 2:
            raise ParameterError(f"net: the cross-entropy needs an output Dense with "
                                 f"out_dim >= 2 (the classes), got {n_out}")
        if y.ndim == 1 and y.dtype.kind in "iu":
            if y.shape != (n,) or np.any(y < 0) or np.any(y >= n_out):
                raise ParameterError(f"y_train: labels must have shape ({n},) and values in "
                                     f"0..{n_out - 1}, got shape {y.shape}")
            return np.eye(n_out)[y]
    y = checks.finite_array("y_train", y_train)
    if y.size != n * n_out or y.shape[0] != n:
        raise ParameterError(f"y_train: must have shape ({n}, {n_out}) (one row per x_train, "
                             f"one column per output){' or integer labels' if loss != 'mse' else ''}"
                             f", got {y.shape}")
    if loss == "cross_entropy" and np.any(y < 0):
        raise ParameterError("y_train: cross-entropy targets must be >= 0 (one-hot or "
                             "probabilities)")
    return y.reshape(n, n_out)


def _loss_and_gradient(loss: str, f: np.ndarray, y: np.ndarray):
    """The training loss and ``dL/df`` (normalised by ``y.size``, as the theory)."""
    if loss == "mse":
        e = f - y
        return float(np.sum(e * e)) / (2 * y.size), e / y.size
    shifted = f - f.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    s = y.sum(axis=1, keepdims=True)
    return float(-np.sum(y * log_p)) / y.size, (s * np.exp(log_p) - y) / y.size


def train_gd(net, x_train, y_train, x_test, *, loss: str = "mse", lr: float, steps: int,
             record_every: int | None = None, width: int | None = None, seed=0,
             centered: bool = False) -> Training:
    """Full-batch gradient descent with step ``lr`` on ``loss``, recording the test
    predictions and the training loss every ``record_every`` steps (and after the last);
    continuous time is ``t = lr * steps``.

    Args:
        net: a fully connected spec (or a network with ``.spec``) ending with a Dense layer.
        x_train, y_train, x_test: ``(P, d)`` inputs, targets, ``(Q, d)`` test inputs;
            ``y_train`` is ``(P, n_out)`` (``(P,)`` for one output), or for the
            cross-entropy also integer labels ``(P,)`` (one-hot over the ``n_out`` outputs).
        loss: ``"mse"``, ``|f(X) - y|^2 / (2 y.size)``, or ``"cross_entropy"``,
            ``-sum y log softmax(f(X)) / y.size`` (softmax over the outputs): the
            normalisations of neural-tangents and :func:`nnphys.theory.kernels.gradient_descent`.
        lr, steps: the step and the number of steps.
        record_every: record every that many steps (default: the start and the end).
        width: hidden width overriding the spec's (all but the last Dense).
        seed: int or ``numpy.random.Generator`` (the initial parameters).
        centered: train ``f(theta) - f(theta_0)`` instead (the output at initialisation
            subtracted), which removes the prior's fluctuation: at infinite width the
            prediction is then the NTK dynamics from ``f_0 = 0``.

    Raises:
        ParameterError, ArgumentTypeError: bad arguments (named).
        NumericalError: the training loss became non-finite or exceeded ``1e100``: ``lr``
            is too large (for MSE above ``nnphys.theory.kernels.max_learning_rate`` of the
            network's NTK, training diverges).
    """
    layers = mlp_layers(net, width)
    _check_chain(layers)
    checks.one_of("loss", loss, LOSSES)
    x_train = arch.check_input(x_train, "x_train")
    x_test = arch.check_input(x_test, "x_test")
    if x_train.ndim != 2:
        raise ParameterError(f"x_train: must have shape (P, d), got {x_train.shape}")
    if x_test.shape[1:] != x_train.shape[1:]:
        raise ParameterError(f"x_test: must have shape (Q, {x_train.shape[1]}), got "
                             f"{x_test.shape}")
    y = _training_targets(loss, y_train, x_train.shape[0], layers[-1].out_dim)
    lr = checks.positive("lr", lr)
    steps = checks.integer("steps", steps, low=0)
    checks.work("steps * width^2", float(steps) * x_train.shape[0] * _weight_count(layers,
                                                                      x_train.shape[1]),
                what="multiply-adds")
    record_every = max(1, steps) if record_every is None else checks.integer(
        "record_every", record_every, low=1)
    rng = arch.as_rng(seed)
    params = sample_params(layers, x_train.shape[1], rng)
    x_train = _check_x("x_train", x_train, layers, params)
    x_test = _check_x("x_test", x_test, layers, params)
    dense_idx = [i for i, layer in enumerate(layers) if isinstance(layer, arch.Dense)]
    offset_train = forward(layers, params, x_train)[0] if centered else 0.0
    offset_test = forward(layers, params, x_test)[0] if centered else 0.0
    times, preds, losses = [], [], []
    with np.errstate(over="ignore", invalid="ignore"):
        _descend(layers, params, dense_idx, x_train, x_test, y, loss, lr, steps, record_every,
                 offset_train, offset_test, times, preds, losses)
    return Training(parameters={"loss": loss, "lr": lr, "steps": steps,
                                "centered": bool(centered)},
                    times=np.array(times), predictions=np.array(preds),
                    loss=np.array(losses))


def _descend(layers, params, dense_idx, x_train, x_test, y, loss, lr, steps, record_every,
             offset_train, offset_test, times, preds, losses) -> None:
    """The steps of :func:`train_gd`, updating ``params`` in place and appending the
    records."""
    for step in range(int(steps) + 1):
        try:
            f, cache = forward(layers, params, x_train)
        except NumericalError:
            f, cache = np.full(y.shape, np.inf), None
        value, g = _loss_and_gradient(loss, f - offset_train, y)
        if not value < _BLOWUP:
            raise NumericalError(f"lr: training diverged at step {step} (training loss "
                                 f"{value:.3g}); lower lr (on MSE keep it below "
                                 "nnphys.theory.kernels.max_learning_rate of the NTK)")
        if step % record_every == 0 or step == steps:
            times.append(step)
            preds.append(forward(layers, params, x_test)[0] - offset_test)
            losses.append(value)
        if step == steps:
            break
        for pos in range(len(dense_idx) - 1, -1, -1):
            li = dense_idx[pos]
            h = cache[pos][0]
            w, b = params[li]
            cw, cb = arch.parameter_scales(layers[li], h.shape[1])
            grad_w = (h.T @ g) * cw
            grad_b = g.sum(axis=0) * cb if b is not None else None
            if pos > 0:
                g = (g @ w.T) * cw
                previous = layers[li - 1]
                if isinstance(previous, arch.Activation):
                    g = g * previous.fn_prime(cache[pos - 1][1])
            w -= lr * grad_w
            if b is not None:
                b -= lr * grad_b


def train_mse(net, x_train, y_train, x_test, *, lr: float, steps: int,
              record_every: int | None = None, width: int | None = None, seed=0,
              centered: bool = False) -> Training:
    """Full-batch gradient descent on ``||f(X) - y||^2 / (2 y.size)`` (neural-tangents'
    normalisation): :func:`train_gd` with ``loss="mse"`` (its arguments)."""
    return train_gd(net, x_train, y_train, x_test, loss="mse", lr=lr, steps=steps,
                    record_every=record_every, width=width, seed=seed, centered=centered)
