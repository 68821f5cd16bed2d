"""Gradient-descent training of finite MLPs in any abc-parametrization, with the feature and
gradient kernels and the coordinate check recorded along the way.

The network
-----------
A fully connected spec ``Dense, act, Dense, act, ..., Dense(1)`` (``L = depth`` hidden
layers; two Dense layers in a row have the identity between them; the activations are
those of :mod:`nnphys.sim._activations`) with the hidden widths set to ``width = n``.
Layer ``l = 1..L+1`` computes, on a batch of inputs ``x^0 = x`` (``(B, d)``),

    h^l = m_l x^{l-1} w^l,      x^l = phi(h^l),      f = h^{L+1}      (scalar output)

with trained weights ``w^l ~ N(0, s_l^2)`` and per-layer numbers ``(m_l, s_l, lr_l)`` from
:func:`nnphys.models.parametrization.realise`: for an abc-parametrization (Yang & Hu 2021,
arXiv:2011.14522, Def. 3.1) ``m_l ~ n^{-a_l}``, ``s_l ~ n^{-b_l}``, ``lr_l = lr n^{-c_l}``
(relative to ``base_width``; see that module for the constants and for ``gamma0``).

Training
--------
Loss ``L = sum_{mu in batch} (f_mu - y_mu)^2 / (2 B)`` (the normalisation of
:func:`nnphys.sim.networks.train_mse`), and per step, for every layer,
``w^l <- w^l - lr_l dL/dw^l``: full-batch gradient descent (``batch_size=None``) or
minibatch SGD (``B = batch_size`` points drawn without replacement at every step).
Gradient flow time is ``t = lr * step``. Back-propagation: with ``e_mu = (f_mu - y_mu)/B``,

    dL/dw^{L+1} = m_{L+1} x^L^T e,   dL/dx^L = m_{L+1} e w^{L+1 T},
    dL/dh^l = dL/dx^l * phi'(h^l),   dL/dw^l = m_l x^{l-1 T} dL/dh^l,
    dL/dx^{l-1} = m_l dL/dh^l w^{l T}.

**The Bordelon-Pehlevan network** (arXiv:2205.09653, Sec. 2) is
``parametrization=named("mean_field", L)``, ``base_width=1``, ``Dense(.., W_std=1)``
layers and ``gamma0``: ``f = w^{L+1} . phi(h^L) / (gamma0 n)``, hidden multipliers
``1/sqrt(n)``, input ``1/sqrt(d)``, unit-variance weights, every lr ``lr gamma0^2 n``.
Their gradient flow ``d theta/dt = -gamma0^2 n grad_theta L`` is the small-``lr`` limit,
at ``t = lr * step``, for the loss normalisation above (``L`` a mean over the ``P``
points; their sum-normalised loss is ``P`` times it: use ``lr / P`` times their step).

Recorded (every ``record_every`` steps and after the last) on all ``P`` training points
(and the ``Q`` test points for the outputs), per replica:

* ``loss``: ``sum_mu (f_mu - y_mu)^2 / (2P)`` on the training set;
* ``f_train``, ``f_test``: the outputs;
* ``Phi[l-1] = x^l x^l^T / n`` (``P x P``), the feature kernel of hidden layer ``l``
  (Bordelon & Pehlevan's ``Phi^l(t, t)``);
* ``G[l-1] = g^l g^l^T / n`` with ``g^l = (df/dh^l) / (m_{L+1} s_{L+1})``: the gradient
  kernel, the back-propagated signal in units of the output weights' initial scale (for
  the network above ``g^l = gamma0 n df/dh^l``, their ``g^l``, ``O(1)`` entries);
* ``dh_rms[l-1]`` (``l = 1..L+1``) ``= sqrt(mean_{mu,i} (h^l_{mu i}(t) - h^l_{mu i}(0))^2)``,
  the coordinate check of Tensor Programs V (Yang et al. 2022, arXiv:2203.03466, Sec. 6):
  the scale of each layer's change since initialisation; ``h_rms`` the scale of ``h^l``.

Randomness: replica ``r`` has its own generator ``default_rng(seed).spawn(R)[r]``, which draws the weights layer by layer (``s_l * standard_normal((fan_in,
fan_out))``) and then the minibatch of every step (``choice(P, B, replace=False)``): a
replica's run is the same for any ``n_replicas``, and ``tests/naive.py`` replays it.

Divergence: a replica whose training loss becomes non-finite or exceeds ``1e100`` has
diverged; ``diverged="raise"`` (the default) raises :class:`~nnphys.errors.NumericalError`,
``diverged="mark"`` sets ``TrainingRun.diverged[r]``, freezes that replica and fills its
later records with NaN (a learning-rate sweep wants this).

Speed: the products are BLAS ``matmul`` over a leading replica axis; ``phi``, ``phi'`` and
the updates are fused numba passes (``_kernels``). ``benchmarks/bench_training.py`` states
the fraction of the machine's dgemm rate one step reaches.

API::

    from nnphys.models.parametrization import named
    from nnphys.sim.training import train
    run = train(net, x_train, y_train, x_test, parametrization=named("mup", 2),
                width=1024, lr=0.5, steps=200, n_replicas=4, seed=0, record_every=10)
    run.f_train   # (n_replicas, times, P);  run.Phi, run.G: (n_replicas, times, L, P, P)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import checks
from ...errors import ArgumentTypeError, NumericalError, ParameterError
from ...models import network as arch
from ...models import parametrization as abc
from ...results import Result
from .. import _activations
from ..networks import mlp_layers
from . import _kernels

__all__ = ["TrainingRun", "train", "DIVERGED"]

DIVERGED = ("raise", "mark")
_BLOWUP = 1e100


@dataclasses.dataclass(frozen=True)
class TrainingRun(Result):
    """What :func:`train` recorded (module docstring), arrays ``(n_replicas, times, ...)``.

    Attributes:
        times: ``(T,)`` the recorded steps.
        loss: ``(R, T)`` training loss ``sum (f - y)^2 / (2P)``.
        f_train, f_test: ``(R, T, P)`` and ``(R, T, Q)`` outputs.
        Phi, G: ``(R, T, L, P, P)`` feature and gradient kernels of the hidden layers
            (``(R, T, L, 0, 0)`` with ``record_kernels=False``).
        dh_rms, h_rms: ``(R, T, L + 1)`` RMS change since initialisation and RMS of the
            preactivations of every layer (the last is the output ``f``).
        diverged: ``(R,)`` replicas that diverged (``diverged="mark"``).
        multiplier, init_std, lr: ``(L + 1,)`` the per-layer numbers trained with.

    A simulation: no solver health (``None``).
    """

    times: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    f_train: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    f_test: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    Phi: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0, 0, 0)))
    G: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0, 0, 0)))
    dh_rms: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    h_rms: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    diverged: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=bool))
    multiplier: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    init_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    lr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def _chain(layers) -> list:
    """The activation after each hidden Dense layer (Identity where two Dense follow each
    other), for the pattern ``Dense (act) Dense (act) ... Dense``."""
    if not isinstance(layers[0], arch.Dense):
        raise ParameterError("net: must start with a Dense layer")
    if not isinstance(layers[-1], arch.Dense):
        raise ParameterError("net: must end with a Dense layer (the output)")
    acts, pending = [], None
    for layer in layers[1:]:
        if isinstance(layer, arch.Dense):
            acts.append(pending if pending is not None else arch.Identity())
            pending = None
        elif pending is not None:
            raise ParameterError("net: one activation between two Dense layers, got two")
        else:
            pending = layer
    for layer in layers:
        if isinstance(layer, arch.Dense) and layer.b_std is not None:
            raise ParameterError("net: the trainer has no biases; use Dense(..., b_std=None)")
    if layers[-1].out_dim != 1:
        raise ParameterError(f"net: the output Dense must have out_dim=1, got "
                             f"{layers[-1].out_dim}")
    return [_activations.lower(act) for act in acts]


def _parametrization(parametrization, depth: int) -> abc.Parametrization:
    if isinstance(parametrization, str):
        if parametrization not in abc.NAMES:
            raise ParameterError(f"parametrization: a Parametrization or one of "
                                 f"{abc.NAMES}, got {parametrization!r}")
        return abc.named(parametrization, depth)
    if not isinstance(parametrization, abc.Parametrization):
        raise ArgumentTypeError(f"parametrization: must be a Parametrization or one of "
                                f"{abc.NAMES}, got {type(parametrization).__name__}")
    if parametrization.optimizer != "sgd":
        raise ParameterError("parametrization: the trainer runs SGD; got one for "
                             f"{parametrization.optimizer!r}")
    return parametrization


class _Net:
    """The weights of ``R`` replicas and the per-layer numbers; forward and backward."""

    def __init__(self, acts, realisation, weights):
        self.acts = acts
        self.m = realisation.multiplier
        self.lr = realisation.lr
        self.w = weights                      # list of (R, fan_in, fan_out)

    def forward(self, x):
        """``(hs, xs, ds)``: preactivations (L+1 of them, the last ``f`` as (R, B, 1)),
        layer inputs ``x^0..x^L`` and ``phi'(h^l)``."""
        xs, hs, ds = [x], [], []
        for l, (code, params) in enumerate(self.acts):
            h = np.matmul(xs[-1], self.w[l])
            h *= self.m[l]
            xl, dl = np.empty_like(h), np.empty_like(h)
            _kernels.activate(code, params, h.reshape(-1), xl.reshape(-1), dl.reshape(-1))
            hs.append(h), xs.append(xl), ds.append(dl)
        f = np.matmul(xs[-1], self.w[-1])
        f *= self.m[-1]
        hs.append(f)
        return hs, xs, ds

    def backward(self, xs, ds, e):
        """``df/dh^l`` contracted with ``e`` (``(R, B)``): returns the list of ``e``-weighted
        ``dL/dh^l`` for ``l = 1..L`` (without updating)."""
        grads = [None] * len(ds)
        dx = self.m[-1] * e[:, :, None] * np.swapaxes(self.w[-1], 1, 2)
        for l in range(len(ds) - 1, -1, -1):
            dh = dx * ds[l]
            grads[l] = dh
            if l > 0:
                dx = np.matmul(dh, np.swapaxes(self.w[l], 1, 2))
                dx *= self.m[l]
        return grads

    def step(self, x, y):
        """One SGD step on the batch ``x`` (``(B, d)`` or ``(R, B, d)``), ``y`` (``(R, B)``);
        returns the batch outputs ``f`` before the step."""
        hs, xs, ds = self.forward(x)
        f = hs[-1][:, :, 0]
        e = (f - y) / y.shape[1]
        dx = self.m[-1] * e[:, :, None] * np.swapaxes(self.w[-1], 1, 2)
        grad_out = np.matmul(np.swapaxes(xs[-1], 1, 2), e[:, :, None])
        _kernels.subtract_scaled(self.w[-1].reshape(-1), self.lr[-1] * self.m[-1],
                                 grad_out.reshape(-1))
        for l in range(len(ds) - 1, -1, -1):
            dx *= ds[l]                                       # now dL/dh^l
            dh = dx
            if l > 0:
                dx = np.matmul(dh, np.swapaxes(self.w[l], 1, 2))
                dx *= self.m[l]
            xin = xs[l] if xs[l].ndim == 3 else np.broadcast_to(xs[l], (dh.shape[0],)
                                                                + xs[l].shape)
            grad = np.matmul(np.swapaxes(xin, 1, 2), dh)
            _kernels.subtract_scaled(self.w[l].reshape(-1), self.lr[l] * self.m[l],
                                     grad.reshape(-1))
        return f


def _check_data(x_train, y_train, x_test):
    x_train = arch.check_input(x_train, "x_train")
    if x_train.ndim != 2:
        raise ParameterError(f"x_train: must have shape (P, d), got {x_train.shape}")
    y = checks.finite_array("y_train", y_train)
    if y.size != x_train.shape[0] or (y.ndim == 2 and y.shape[1] != 1) or y.ndim > 2:
        raise ParameterError(f"y_train: must have shape ({x_train.shape[0]},) (one scalar "
                             f"target per x_train row), got {y.shape}")
    if x_test is None:
        x_test = np.zeros((0, x_train.shape[1]))
    else:
        x_test = arch.check_input(x_test, "x_test")
        if x_test.ndim != 2 or x_test.shape[1] != x_train.shape[1]:
            raise ParameterError(f"x_test: must have shape (Q, {x_train.shape[1]}), got "
                                 f"{x_test.shape}")
    return x_train, y.reshape(-1), x_test


def train(net, x_train, y_train, x_test=None, *, parametrization="standard", width: int,
          lr: float, steps: int, base_width: int = 1, gamma0: float = 1.0,
          batch_size: int | None = None, n_replicas: int = 1, seed=0,
          record_every: int | None = None, record_kernels: bool = True,
          diverged: str = "raise") -> TrainingRun:
    """Train ``n_replicas`` independent MLPs ``net`` at hidden width ``width`` in
    ``parametrization`` by gradient descent (module docstring: the network, the loss, the
    update, what is recorded, the seeds).

    Args:
        net: a fully connected spec (``Dense``/activation layers, scalar output, no biases).
        x_train, y_train: ``(P, d)`` inputs and ``(P,)`` targets.
        x_test: ``(Q, d)`` test inputs or None.
        parametrization: a :class:`~nnphys.models.parametrization.Parametrization` (SGD) or
            a name of :func:`~nnphys.models.parametrization.named`.
        width, base_width, lr, gamma0: see :func:`~nnphys.models.parametrization.realise`.
        steps: number of updates.
        batch_size: ``None`` for full batch, else ``B <= P``.
        n_replicas, seed: independent networks and their seed.
        record_every: record every that many steps (and after the last); default: at the
            start and the end only.
        record_kernels: record ``Phi`` and ``G`` (``P x P`` per layer and time).
        diverged: "raise" or "mark" (module docstring).

    Raises:
        ParameterError, ArgumentTypeError: bad arguments (named).
        NumericalError: a replica diverged and ``diverged="raise"``.
    """
    layers = mlp_layers(net, width)
    acts = _chain(layers)
    depth = len(acts)
    p = _parametrization(parametrization, depth)
    x_train, y, x_test = _check_data(x_train, y_train, x_test)
    P, d = x_train.shape
    real = abc.realise(layers, d, p, width, base_width, lr, gamma0)
    steps = checks.integer("steps", steps, low=0)
    R = checks.integer("n_replicas", n_replicas, low=1)
    B = P if batch_size is None else checks.integer("batch_size", batch_size, low=1, high=P)
    record_every = max(1, steps) if record_every is None else checks.integer(
        "record_every", record_every, low=1)
    checks.one_of("diverged", diverged, DIVERGED)
    if not isinstance(record_kernels, (bool, np.bool_)):
        raise ArgumentTypeError(f"record_kernels: must be a bool, got "
                                f"{type(record_kernels).__name__}")
    weights = float(np.sum(real.fan_in[:-1] * width) + width)
    checks.work("n_replicas * width", R * (weights + 4.0 * max(B, P + len(x_test)) * width
                                          * (depth + 1)), checks.MEMORY_LIMIT,
                what="array entries")
    n_records = steps // record_every + 2
    checks.work("steps", 6.0 * R * weights * (steps * B + n_records * (P + len(x_test))),
                what="multiply-adds")
    checks.work("steps", float(n_records) * R * (depth + 1) * (2 * P * P + P + 4),
                checks.MEMORY_LIMIT, what="recorded entries (raise record_every)")
    times = sorted(set(range(0, steps + 1, record_every)) | {steps})

    rngs = arch.as_rng(seed).spawn(R)
    fan_in = list(real.fan_in)
    fan_out = fan_in[1:] + [1]
    w = [np.empty((R, fi, fo)) for fi, fo in zip(fan_in, fan_out)]
    for r, rng in enumerate(rngs):
        for l in range(depth + 1):
            w[l][r] = real.init_std[l] * rng.standard_normal((fan_in[l], fan_out[l]))
    model = _Net(acts, real, w)

    T, Q, kP = len(times), len(x_test), (P if record_kernels else 0)
    rec = {"loss": np.full((R, T), np.nan), "f_train": np.full((R, T, P), np.nan),
           "f_test": np.full((R, T, Q), np.nan),
           "Phi": np.full((R, T, depth, kP, kP), np.nan),
           "G": np.full((R, T, depth, kP, kP), np.nan),
           "dh_rms": np.full((R, T, depth + 1), np.nan),
           "h_rms": np.full((R, T, depth + 1), np.nan)}
    dead = np.zeros(R, dtype=bool)
    h0 = None
    out_scale = real.multiplier[-1] * real.init_std[-1]

    def record(k):
        nonlocal h0
        hs, xs, ds = model.forward(x_train)
        if h0 is None:
            h0 = [h.copy() for h in hs]
        f = hs[-1][:, :, 0]
        live = ~dead
        rec["f_train"][live, k] = f[live]
        rec["loss"][live, k] = np.mean((f - y) ** 2, axis=1)[live] / 2.0
        if Q:
            rec["f_test"][live, k] = model.forward(x_test)[0][-1][live, :, 0]
        for l, h in enumerate(hs):
            rec["dh_rms"][live, k, l] = np.sqrt(np.mean((h - h0[l]) ** 2, axis=(1, 2)))[live]
            rec["h_rms"][live, k, l] = np.sqrt(np.mean(h ** 2, axis=(1, 2)))[live]
        if record_kernels:
            g = model.backward(xs, ds, np.ones((R, P)) / out_scale)
            for l in range(depth):
                rec["Phi"][live, k, l] = (np.matmul(xs[l + 1], np.swapaxes(xs[l + 1], 1, 2))
                                          / width)[live]
                rec["G"][live, k, l] = (np.matmul(g[l], np.swapaxes(g[l], 1, 2))
                                        / width)[live]

    def check(f_batch, y_batch, step):
        loss = np.mean((f_batch - y_batch) ** 2, axis=1)
        bad = ~dead & ~(loss < _BLOWUP)
        if np.any(bad):
            r = int(np.flatnonzero(bad)[0])
            if diverged == "raise":
                raise NumericalError(f"lr: replica {r} diverged at step {step} (training "
                                     f"loss {loss[r]:.3g}); lower lr, or pass "
                                     "diverged='mark' to record it")
            dead[bad] = True
            for wl in model.w:
                wl[bad] = 0.0

    yb = np.broadcast_to(y, (R, P))
    k = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(steps + 1):
            if step == times[k]:
                record(k)
                k += 1
            if step == steps:
                break
            if B == P:
                f = model.step(x_train, yb)
                check(f, yb, step)
            else:
                idx = np.stack([rng.choice(P, B, replace=False) for rng in rngs])
                f = model.step(x_train[idx], y[idx])
                check(f, y[idx], step)
        check(rec["f_train"][:, -1], yb, steps)
    return TrainingRun(
        parameters={"parametrization": p.name, "a": list(p.a), "b": list(p.b),
                    "c": list(p.c), "width": width, "base_width": base_width, "lr": float(lr), "gamma0": float(gamma0), "steps": steps,
                    "batch_size": B, "n_replicas": R, "seed": seed if isinstance(
                        seed, (int, np.integer)) else None, "depth": depth},
        times=np.array(times), diverged=dead.copy(), multiplier=real.multiplier,
        init_std=real.init_std, lr=real.lr, **rec)
