"""abc-parametrizations of an MLP as data, and their realisation at a finite width.

Yang & Hu, "Feature Learning in Infinite-Width Neural Networks", ICML 2021,
arXiv:2011.14522, Definition 3.1 (abc-parametrization). An MLP with ``L`` hidden layers of
width ``n`` has ``L + 1`` weight matrices, input layer first. Layer ``l`` (``1 <= l <= L+1``)
is

    W^l = n^{-a_l} w^l,     w^l_{ij} ~ N(0, n^{-2 b_l}),     trained by SGD with lr eta n^{-c}

(``h^1 = W^1 xi``, ``x^l = phi(h^l)``, ``h^{l+1} = W^{l+1} x^l``, ``f = h^{L+1}``). Yang & Hu
use one ``c``; :class:`Parametrization` allows one per layer (``c_l``), which is what a
layer-wise learning rate (the muP tables of Tensor Programs V, Yang et al. 2022,
arXiv:2203.03466, Table 3) needs, and under which the symmetry of
:mod:`nnphys.theory.parametrization` acts layer by layer. A scalar ``c`` means the same
exponent for every layer.

:func:`named` gives the parametrizations of the paper (Sec. 3 and its Table of named
parametrizations), for SGD:

==================  ================================  ================================  ======
name                a_1, a_2..a_L, a_{L+1}            b_1, b_2..b_L, b_{L+1}            c
==================  ================================  ================================  ======
standard / sp       0, 0, 0                           0, 1/2, 1/2                       1
ntk                 0, 1/2, 1/2                       0, 0, 0                           0
mean_field / mf     0, 1/2, 1                         0, 0, 0                           -1
mup                 -1/2, 0, 1/2                      1/2, 1/2, 1/2                     0
==================  ================================  ================================  ======

(SP is stable only with ``c = 1``, the lr ``~ 1/n``; ``named("sp", L, c=0)`` is the
fixed-lr SP practitioners use, unstable as ``n -> infinity``. For ``L = 1`` "mean_field"
is the MFP of Yang & Hu; for any depth it is the network of Bordelon & Pehlevan 2022,
arXiv:2205.09653, Sec. 2, with ``gamma0 = 1``.) For Adam (``optimizer="adam"``), where
the update of ``w`` does not depend on the gradient's scale, "standard" is SP with a
fixed lr (``c = 0``) and "mup" the Adam column of Tensor Programs V, Table 3 (``a = 0``;
``b = (0, 1/2, .., 1/2, 1)``; ``c = (0, 1, .., 1)``).

:func:`realise` turns a parametrization into plain per-layer numbers at a width ``n`` and
a base width ``n0`` (``rho = n / n0``): a Dense layer of the spec (``W_std``, fan-in at the
base width ``fan_in0``) gets

    multiplier = m0 rho^{-a_l},    init_std = s0 rho^{-b_l},    lr = lr rho^{-c_l}

with ``(m0, s0) = (1, W_std / sqrt(fan_in0))`` for ``parameterization="standard"`` and
``(W_std / sqrt(fan_in0), 1)`` for ``"ntk"``. At ``n = n0`` every parametrization is the
spec's own network trained with ``lr`` (Tensor Programs V, Sec. 3: the base model is the
standard one); with ``n0 = 1`` the factors are the bare ``n^{-a_l}``, ``n^{-b_l}``,
``n^{-c_l}`` of Definition 3.1 (the input fan-in ``d`` stays in ``m0`` or ``s0``).

The richness ``gamma0`` of Bordelon & Pehlevan (2022, arXiv:2205.09653, Sec. 2) divides the
output multiplier by ``gamma0`` and multiplies every learning rate by ``gamma0^2``: with
"mean_field", ``n0 = 1`` and ``W_std = 1`` this is their network,

    h^1 = W^0 x / sqrt(D),  h^{l+1} = W^l phi(h^l) / sqrt(N),  f = w^L . phi(h^L) / (gamma0 N),

all weights ``N(0, 1)``, gradient descent with step ``lr gamma0^2 N``; ``gamma0 -> 0`` is
the lazy (NTK) limit.
"""

from __future__ import annotations

import dataclasses
import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from ..results import Result
from . import network

__all__ = ["OPTIMIZERS", "NAMES", "Parametrization", "named", "Realisation", "realise",
           "dense_layers"]

OPTIMIZERS = ("sgd", "adam")
#: the names :func:`named` knows, with their aliases
NAMES = ("standard", "sp", "ntk", "mean_field", "mf", "mup")
_ALIASES = {"sp": "standard", "mf": "mean_field"}


def _exponents(name: str, value, n: int | None) -> tuple:
    if np.ndim(value) == 0:
        if n is None:
            raise ParameterError(f"{name}: must be a sequence of one exponent per layer")
        value = [value] * n
    if isinstance(value, (str, bytes)):
        raise ArgumentTypeError(f"{name}: must be a sequence of real numbers, got a string")
    values = checks.finite_array(name, value, ndim=1)
    if values.size < 2:
        raise ParameterError(f"{name}: one exponent per weight matrix (input layer first, "
                             f"at least 2), got {values.size}")
    if n is not None and values.size != n:
        raise ParameterError(f"{name}: must have {n} entries (one per weight matrix), got "
                             f"{values.size}")
    return tuple(float(v) for v in values)


@dataclasses.dataclass(frozen=True)
class Parametrization:
    """Per-layer exponents ``a_l``, ``b_l``, ``c_l`` (input layer first, ``depth + 1``
    entries: the weight matrices of an MLP with ``depth`` hidden layers) for ``optimizer``
    ("sgd" or "adam"); a scalar ``c`` is broadcast. See the module docstring."""

    a: tuple
    b: tuple
    c: tuple
    optimizer: str = "sgd"
    name: str = ""

    def __post_init__(self):
        a = _exponents("a", self.a, None)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", _exponents("b", self.b, len(a)))
        object.__setattr__(self, "c", _exponents("c", self.c, len(a)))
        checks.one_of("optimizer", self.optimizer, OPTIMIZERS)
        if not isinstance(self.name, str):
            raise ArgumentTypeError(f"name: must be a string, got {type(self.name).__name__}")

    @property
    def depth(self) -> int:
        """The number of hidden layers ``L``."""
        return len(self.a) - 1


def named(name: str, depth: int, optimizer: str = "sgd", c: float | None = None
          ) -> Parametrization:
    """The parametrization ``name`` (:data:`NAMES`) of an MLP with ``depth >= 1`` hidden
    layers (table in the module docstring); ``c`` replaces the learning-rate exponent of
    every layer (e.g. ``named("sp", L, c=0)``: SP at a fixed lr)."""
    checks.one_of("name", name, NAMES)
    depth = checks.integer("depth", depth, low=1, high=10 ** 4)
    checks.one_of("optimizer", optimizer, OPTIMIZERS)
    key = _ALIASES.get(name, name)
    mid = depth - 1
    if optimizer == "adam":
        if key == "standard":
            a, b, cs = [0.0] * (depth + 1), [0.0] + [0.5] * depth, [0.0] * (depth + 1)
        elif key == "mup":
            a, b, cs = [0.0] * (depth + 1), [0.0] + [0.5] * mid + [1.0], [0.0] + [1.0] * depth
        else:
            raise ParameterError(f"name: for optimizer='adam' the named parametrizations "
                                 f"are 'standard' and 'mup', got {name!r}")
    elif key == "standard":
        a, b, cs = [0.0] * (depth + 1), [0.0] + [0.5] * depth, [1.0] * (depth + 1)
    elif key == "ntk":
        a, b, cs = [0.0] + [0.5] * depth, [0.0] * (depth + 1), [0.0] * (depth + 1)
    elif key == "mean_field":
        a, b, cs = [0.0] + [0.5] * mid + [1.0], [0.0] * (depth + 1), [-1.0] * (depth + 1)
    else:
        a, b, cs = [-0.5] + [0.0] * mid + [0.5], [0.5] * (depth + 1), [0.0] * (depth + 1)
    if c is not None:
        cs = [checks.real("c", c)] * (depth + 1)
    return Parametrization(tuple(a), tuple(b), tuple(cs), optimizer, key)


@dataclasses.dataclass(frozen=True)
class Realisation(Result):
    """Plain numbers that realise a parametrization at one width, per weight matrix (input
    layer first): the layer computes ``h = multiplier * (x @ w)`` with trained ``w``
    initialised ``N(0, init_std^2)`` and stepped with learning rate ``lr`` (SGD: ``w -= lr
    dL/dw``; Adam: the step of Adam with that lr).

    Attributes:
        fan_in: ``(L+1,)`` fan-in of each layer at the target width.
        multiplier, init_std, lr: ``(L+1,)`` the numbers to set.
        width, base_width: ``n`` and ``n0``; ``gamma0`` the richness.
    """

    fan_in: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))
    multiplier: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    init_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    lr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    width: int = 0
    base_width: int = 0
    gamma0: float = 1.0


def dense_layers(net) -> list:
    """The Dense layers of a fully connected spec, a Network or a list of layers."""
    spec = getattr(net, "spec", net)
    if isinstance(spec, network.Layer):
        items = [spec]
    elif isinstance(spec, (list, tuple)):
        items = list(spec)
    else:
        raise ArgumentTypeError(f"net: must be a layer spec, a Network or a list of layers, "
                                f"got {type(net).__name__}")
    links = [link for item in items
             for link in (network.chain(item) if isinstance(item, network.Layer) else [item])]
    for layer in links:
        if not isinstance(layer, (network.Dense, network.Activation)):
            raise ArgumentTypeError(f"net: a fully connected spec of Dense and activation "
                                    f"layers, got a {type(layer).__name__} layer")
    flat = [layer for layer in links if isinstance(layer, network.Dense)]
    if not flat:
        raise ParameterError("net: the network has no Dense layer")
    return flat


def _usable(name: str, values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)) or np.any(values == 0.0):
        raise ParameterError(f"{name}: {what} overflow or underflow to zero")


def realise(net, input_dim: int, parametrization: Parametrization, width: int,
            base_width: int = 1, lr: float = 1.0, gamma0: float = 1.0) -> Realisation:
    """Per-layer multipliers, init stds and learning rates realising ``parametrization`` on
    the MLP ``net`` (a spec, a ``theory.kernels`` Network or a list of its layers; hidden
    widths are set to ``width``, the last Dense keeps its ``out_dim``) on ``input_dim``
    inputs at width ``width``, relative to ``base_width`` (module docstring). ``gamma0``
    (SGD only) divides the output multiplier and multiplies every lr by ``gamma0^2``."""
    if not isinstance(parametrization, Parametrization):
        raise ArgumentTypeError(f"parametrization: must be a Parametrization (from named), "
                                f"got {type(parametrization).__name__}")
    dense = dense_layers(net)
    if len(dense) != parametrization.depth + 1:
        raise ParameterError(f"parametrization: has {parametrization.depth + 1} layers of "
                             f"exponents, the network {len(dense)} Dense layers")
    input_dim = checks.integer("input_dim", input_dim, low=1)
    width = checks.integer("width", width, low=1)
    base_width = checks.integer("base_width", base_width, low=1)
    lr = checks.positive("lr", lr)
    gamma0 = checks.positive("gamma0", gamma0)
    if parametrization.optimizer == "adam" and gamma0 != 1.0:
        raise ParameterError("gamma0: the richness scaling is defined for SGD (Bordelon & "
                             "Pehlevan 2022); must be 1 with optimizer='adam'")
    rho = np.float64(width) / base_width
    n = len(dense)
    fan_in = np.array([input_dim] + [width] * (n - 1))
    fan_in0 = np.array([input_dim] + [base_width] * (n - 1), dtype=float)
    w_std = np.array([layer.W_std for layer in dense])
    ntk = np.array([layer.parameterization == "ntk" for layer in dense])
    base = w_std / np.sqrt(fan_in0)
    m0, s0 = np.where(ntk, base, 1.0), np.where(ntk, 1.0, base)
    a, b, c = (np.array(v) for v in (parametrization.a, parametrization.b,
                                     parametrization.c))
    with np.errstate(over="ignore", under="ignore"):
        multiplier, init_std, rate = m0 * rho ** -a, s0 * rho ** -b, rho ** -c
        _usable("width", np.concatenate([multiplier, init_std, rate]),
                f"the factors (width/base_width)^-a, ^-b, ^-c at width/base_width = "
                f"{rho:.3g}")
        multiplier[-1] /= gamma0
        _usable("gamma0", multiplier[-1:], "the output multiplier divided by gamma0")
        rate *= lr * np.float64(gamma0) ** 2
        _usable("lr", rate, "the learning rates lr (width/base_width)^-c gamma0^2")
    return Realisation(parameters={"parametrization": parametrization.name,
                                   "optimizer": parametrization.optimizer},
                       fan_in=fan_in, multiplier=multiplier, init_std=init_std, lr=rate, width=width, base_width=base_width, gamma0=gamma0)
