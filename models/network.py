"""A network described once, as an immutable spec that theory and simulation both read.

The layers follow the conventions of neural-tangents' ``stax`` (Novak et al. 2020,
arXiv:1912.02803) so that a network written for it reads the same here::

    from nnphys.theory import kernels as nk          # re-exports these constructors
    net = nk.serial(nk.Dense(512, W_std=1.5, b_std=0.05), nk.Relu(), nk.Dense(1))

Each layer is a frozen dataclass with two finite-width methods,

* ``init(seed, input_shape) -> (output_shape, params)`` draws the parameters, and
* ``apply(params, x) -> y`` evaluates the network in numpy,

while ``nnphys.theory.kernels`` gives the same layers their infinite-width NNGP/NTK and
``nnphys.sim.networks`` samples and trains them at finite width.

Conventions
-----------
Inputs are ``(batch, features)`` for fully connected nets and ``(batch, *spatial,
channels)`` (NHWC) for convolutional ones; the channel axis is the last.

``Dense(out_dim, W_std, b_std, parameterization)``:

* ``"ntk"``: ``y = W_std / sqrt(fan_in) * x @ omega + b_std * beta`` with
  ``omega, beta ~ N(0, 1)`` the trained parameters (Jacot et al. 2018, arXiv:1806.07572);
* ``"standard"``: ``y = x @ W + b`` with ``W ~ N(0, W_std**2 / fan_in)``,
  ``b ~ N(0, b_std**2)``.

``b_std=None`` means no bias at all (which differs from ``b_std=0`` only in the standard
parameterization's NTK, where a bias parameter contributes its gradient).
"""

from __future__ import annotations

import ast
import dataclasses
import math
from typing import Any, Callable

import numpy as np
from scipy import special

from .. import checks
from ..errors import ArgumentTypeError, ParameterError

__all__ = [
    "Layer", "Activation", "Dense", "Serial", "Parallel", "FanOut", "FanInSum",
    "ABRelu", "Relu", "LeakyRelu", "Abs", "Erf", "Sigmoid_like", "Gelu", "Sin", "Cos",
    "Rbf", "Exp", "Gaussian", "Sign", "Identity", "Polynomial", "Monomial",
    "RectifiedMonomial", "Hermite", "Elementwise", "ElementwiseFunction", "Tanh", "as_rng", "check_input", "parse_spec",
    "std_from_variance", "trained_parameters", "parameter_scales", "activation_function",
    "LAYERS",
]


def as_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed, or the Generator itself."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(checks.integer("seed", seed, low=0))
    raise ArgumentTypeError(f"seed: expected an int or numpy.random.Generator, got {type(seed).__name__}")


def std_from_variance(variance, name: str = "variance"):
    """The scale ``sqrt(variance)`` of a weight or bias law given by its variance.

    Papers often state a layer's law by a variance (``sigma_w^2``, PDLT's ``C_W``, ``C_b``;
    Roberts, Yaida & Hanin 2022, arXiv:2106.10165, eq. 2.19); the package's signatures take
    the standard deviations ``W_std``, ``b_std`` of neural-tangents' ``stax``, so
    ``W_std = std_from_variance(C_W, "C_W")``. Scalars give a float, arrays an array.
    ``name`` names the argument in the error of a negative or non-finite variance.

        >>> std_from_variance(2.0, "C_W") ** 2
        2.0000000000000004
    """
    if np.ndim(variance) == 0:
        return math.sqrt(checks.real(name, variance, low=0.0))
    return np.sqrt(checks.finite_array(name, variance, low=0.0))


def activation_function(activation) -> Callable[[np.ndarray], np.ndarray]:
    """``phi`` as a numpy callable: an activation layer's ``fn``, or the callable itself."""
    fn = getattr(activation, "fn", None)
    if callable(fn):
        return fn
    if callable(activation):
        return activation
    raise ArgumentTypeError(f"activation: expected an activation layer or a callable, got "
                            f"{type(activation).__name__}")


def _check_std(name: str, value: float | None, allow_none: bool) -> float | None:
    """A scale ``>= 0`` (``None`` allowed where the layer may have no such parameter)."""
    if value is None and allow_none:
        return None
    if value is None:
        raise ParameterError(f"{name}: must be a finite real number >= 0, got None")
    return checks.real(name, value, low=0.0)


def check_input(x: Any, name: str = "x") -> np.ndarray:
    x = checks.finite_array(name, x)
    if x.ndim < 2 or x.size == 0:
        raise ParameterError(f"{name}: expected a non-empty shape (batch, ..., channels), got "
                             f"{x.shape}")
    if not np.all(np.isfinite(x)):
        raise ParameterError(f"{name}: contains NaN or infinite entries")
    return x


class Layer:
    """Base class of layer specs (frozen dataclasses)."""

    def init(self, seed, input_shape: tuple) -> tuple[tuple, Any]:
        """Draw parameters from ``seed`` (an int or a ``numpy.random.Generator``, drawn from
        in place); return ``(output_shape, params)``. Batch axis is ``-1`` or ``None``."""
        return tuple(input_shape), ()

    def apply(self, params: Any, x: Any) -> Any:
        """Evaluate the layer on ``x`` at finite width."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# Linear layers and combinators
# ---------------------------------------------------------------------------------------

def _sequence(name: str, value) -> tuple:
    """``value`` as a tuple, or an ArgumentTypeError naming the argument."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ArgumentTypeError(f"{name}: must be a sequence, got {type(value).__name__}")
    return tuple(value)


def _input_shape(input_shape) -> tuple:
    """Check an ``init`` input shape: integers >= 1 (the batch axis may be ``-1`` or
    ``None``), the last one the features or channels; the weights it implies must fit in
    memory (:data:`nnphys.checks.MEMORY_LIMIT`)."""
    shape = _sequence("input_shape", input_shape)
    if not shape:
        raise ParameterError("input_shape: must have at least one axis (the features), "
                             "got ()")
    for i, n in enumerate(shape):
        if i == 0 and len(shape) > 1 and (n is None or n == -1):
            continue
        checks.integer(f"input_shape[{i}]", n, low=1, high=checks.MEMORY_LIMIT)
    return shape


def _check_parameterization(p: str) -> str:
    if p not in ("ntk", "standard"):
        raise ParameterError(f"parameterization: must be 'ntk' or 'standard', got {p!r}")
    return p


@dataclasses.dataclass(frozen=True)
class Dense(Layer):
    """Fully connected layer ``y = x W + b`` acting on the last axis (see module docstring)."""

    out_dim: int
    W_std: float = 1.0
    b_std: float | None = None
    parameterization: str = "ntk"

    def __post_init__(self):
        if isinstance(self.out_dim, bool) or not isinstance(self.out_dim, (int, np.integer)) \
                or self.out_dim < 1:
            raise ParameterError(f"out_dim: must be a positive integer, got {self.out_dim!r}")
        object.__setattr__(self, "W_std", _check_std("W_std", self.W_std, False))
        object.__setattr__(self, "b_std", _check_std("b_std", self.b_std, True))
        _check_parameterization(self.parameterization)

    def init(self, seed, input_shape):
        input_shape = _input_shape(input_shape)
        rng = as_rng(seed)
        fan_in = int(input_shape[-1])
        checks.work("input_shape", float(fan_in) * self.out_dim, checks.MEMORY_LIMIT,
                    what="weights")
        w = rng.standard_normal((fan_in, self.out_dim))
        b = rng.standard_normal(self.out_dim) if self.b_std is not None else None
        return tuple(input_shape[:-1]) + (self.out_dim,), trained_parameters(self, w, b, fan_in)

    def apply(self, params, x):
        w, b = params
        return _scale_and_shift(x @ w, self, w.shape[0], b)


def _check_linear(layer) -> None:
    if not isinstance(layer, (Dense, Conv)):
        raise ArgumentTypeError(f"layer: must be a Dense or Conv layer, got "
                                f"{type(layer).__name__}")


def trained_parameters(layer, w: np.ndarray, b: np.ndarray | None, fan_in: int) -> tuple:
    """The trained parameters ``(w, b)`` of a linear layer from unit-variance draws ``w``,
    ``b`` (modified in place): unchanged in the NTK parameterization, scaled to
    ``W ~ N(0, W_std^2 / fan_in)``, ``b ~ N(0, b_std^2)`` in the standard one. ``init``
    here and the weight laws of :mod:`nnphys.sim.networks` both use it."""
    _check_linear(layer)
    fan_in = checks.integer("fan_in", fan_in, low=1)
    w = checks.finite_array("w", w)
    b = None if b is None else checks.finite_array("b", b)
    if layer.parameterization == "standard":
        w *= layer.W_std / math.sqrt(fan_in)
        if b is not None:
            b *= layer.b_std
    return w, b


def parameter_scales(layer, fan_in: int) -> tuple[float, float]:
    """``(weight, bias)`` multipliers mapping a linear layer's trained parameters to its
    ``W`` and ``b``: ``(W_std / sqrt(fan_in), b_std)`` in the NTK parameterization,
    ``(1, 1)`` in the standard one (module docstring). The forward pass here and the
    gradients of :mod:`nnphys.sim.networks` both use them."""
    _check_linear(layer)
    fan_in = checks.integer("fan_in", fan_in, low=1)
    if layer.parameterization == "ntk":
        return layer.W_std / math.sqrt(fan_in), (layer.b_std or 0.0)
    return 1.0, 1.0


def _scale_and_shift(y: np.ndarray, layer, fan_in: int, b) -> np.ndarray:
    """Apply a linear layer's parameterization to ``y = x W``: ``y * w_scale + b_scale b``
    with the :func:`parameter_scales` of the layer."""
    w_scale, b_scale = parameter_scales(layer, fan_in)
    if w_scale != 1.0:
        y *= w_scale
    if b is not None:
        y += b_scale * b
    return y


@dataclasses.dataclass(frozen=True)
class Serial(Layer):
    """Layers applied one after another."""

    layers: tuple

    def __post_init__(self):
        layers = _sequence("layers", self.layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise ArgumentTypeError(f"layers[{i}]: expected a layer, got {type(layer).__name__}")
        object.__setattr__(self, "layers", layers)

    def init(self, seed, input_shape):
        rng = as_rng(seed)
        params = []
        shape = input_shape
        for layer in self.layers:
            shape, p = layer.init(rng, shape)
            params.append(p)
        return shape, tuple(params)

    def apply(self, params, x):
        for layer, p in zip(self.layers, params):
            x = layer.apply(p, x)
        return x


def chain(layer) -> list:
    """The layers of ``layer`` in order, with nested :class:`Serial` chains expanded (any
    other layer, ``Parallel`` included, is one link)."""
    if not isinstance(layer, Layer):
        raise ArgumentTypeError(f"layer: expected a layer, got {type(layer).__name__}")
    if not isinstance(layer, Serial):
        return [layer]
    return [link for sub in layer.layers for link in chain(sub)]


@dataclasses.dataclass(frozen=True)
class Parallel(Layer):
    """Applies ``layers[i]`` to the i-th input of a list (as produced by :class:`FanOut`)."""

    layers: tuple

    def __post_init__(self):
        Serial(self.layers)  # validates the entries
        object.__setattr__(self, "layers", tuple(self.layers))

    def init(self, seed, input_shape):
        rng = as_rng(seed)
        if len(input_shape) != len(self.layers):
            raise ParameterError(f"Parallel: expected {len(self.layers)} inputs, got {len(input_shape)}")
        out = [layer.init(rng, s) for layer, s in zip(self.layers, input_shape)]
        return [o[0] for o in out], tuple(o[1] for o in out)

    def apply(self, params, x):
        return [layer.apply(p, xi) for layer, p, xi in zip(self.layers, params, x)]


@dataclasses.dataclass(frozen=True)
class FanOut(Layer):
    """Copies its input into a list of ``num`` identical branches."""

    num: int

    def __post_init__(self):
        if not isinstance(self.num, (int, np.integer)) or self.num < 1:
            raise ParameterError(f"num: must be a positive integer, got {self.num!r}")

    def init(self, seed, input_shape):
        return [tuple(input_shape)] * self.num, ()

    def apply(self, params, x):
        return [x] * self.num


@dataclasses.dataclass(frozen=True)
class FanInSum(Layer):
    """Sums a list of branches of equal shape."""

    def init(self, seed, input_shape):
        shapes = {tuple(s) for s in input_shape}
        if len(shapes) != 1:
            raise ParameterError(f"FanInSum: branch shapes differ: {sorted(shapes)}")
        return tuple(input_shape[0]), ()

    def apply(self, params, x):
        return sum(x[1:], x[0])


# ---------------------------------------------------------------------------------------
# Activations: the finite-width function phi and its derivative phi'
# ---------------------------------------------------------------------------------------

class Activation(Layer):
    """An elementwise nonlinearity ``phi``; subclasses define ``fn`` and ``fn_prime``."""

    def fn(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def fn_prime(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def apply(self, params, x):
        return self.fn(x)


def _check_reals(layer, names) -> None:
    """Replace each named field of a frozen layer by its checked float value."""
    for name in names:
        object.__setattr__(layer, name, checks.real(name, getattr(layer, name)))


@dataclasses.dataclass(frozen=True)
class ABRelu(Activation):
    """``phi(z) = a min(z, 0) + b max(z, 0)``; ReLU is (0, 1), Abs is (-1, 1)."""

    a: float = 0.0
    b: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "a", checks.real("a", self.a))
        object.__setattr__(self, "b", checks.real("b", self.b))

    def fn(self, x):
        return self.a * np.minimum(x, 0) + self.b * np.maximum(x, 0)

    def fn_prime(self, x):
        return np.where(x >= 0, self.b, self.a)


def Relu() -> ABRelu:
    """``max(z, 0)``."""
    return ABRelu(0.0, 1.0)


def LeakyRelu(alpha: float) -> ABRelu:
    """``alpha min(z, 0) + max(z, 0)``."""
    return ABRelu(checks.real("alpha", alpha), 1.0)


def Abs() -> ABRelu:
    """``|z|``."""
    return ABRelu(-1.0, 1.0)


@dataclasses.dataclass(frozen=True)
class Erf(Activation):
    """``phi(z) = a erf(b z) + c``."""

    a: float = 1.0
    b: float = 1.0
    c: float = 0.0

    def __post_init__(self):
        _check_reals(self, ("a", "b", "c"))

    def fn(self, x):
        return self.a * special.erf(self.b * x) + self.c

    def fn_prime(self, x):
        return self.a * self.b * 2 / math.sqrt(math.pi) * np.exp(-(self.b * x) ** 2)


def Sigmoid_like() -> Erf:
    """``0.5 erf(z / 2.4020563531719796) + 0.5``, neural-tangents' erf stand-in for the sigmoid."""
    return Erf(a=0.5, b=1 / 2.4020563531719796, c=0.5)


@dataclasses.dataclass(frozen=True)
class Gelu(Activation):
    """``phi(z) = z Phi(z)``; ``approximate`` switches the finite-width function to the
    tanh approximation (Hendrycks & Gimpel 2016, arXiv:1606.08415); the kernel is the
    exact one in both cases, as in neural-tangents."""

    approximate: bool = False

    def fn(self, x):
        if self.approximate:
            return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        return 0.5 * x * (1 + special.erf(x / math.sqrt(2)))

    def fn_prime(self, x):
        return 0.5 * (1 + special.erf(x / math.sqrt(2))) + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


@dataclasses.dataclass(frozen=True)
class Sin(Activation):
    """``phi(z) = a sin(b z + c)``."""

    a: float = 1.0
    b: float = 1.0
    c: float = 0.0

    def __post_init__(self):
        _check_reals(self, ("a", "b", "c"))

    def fn(self, x):
        return self.a * np.sin(self.b * x + self.c)

    def fn_prime(self, x):
        return self.a * self.b * np.cos(self.b * x + self.c)


def Cos(a: float = 1.0, b: float = 1.0, c: float = 0.0) -> Sin:
    """``a cos(b z + c) = a sin(b z + c + pi/2)``."""
    return Sin(a, b, checks.real("c", c) + math.pi / 2)


@dataclasses.dataclass(frozen=True)
class Rbf(Activation):
    """``phi(z) = sqrt(2) sin(sqrt(2 gamma) z + pi/4)`` (neural-tangents' ``Rbf``), whose
    NNGP map is the RBF kernel ``exp(-gamma (q11 + q22 - 2 q12))`` and whose derivative
    map is ``2 gamma`` times it (Rahimi & Recht 2007 random Fourier features). It is a
    :class:`Sin` with ``(a, b, c) = (sqrt 2, sqrt(2 gamma), pi/4)``, kept as its own layer so
    that the kernel uses the exponential form, exact to roundoff also on distant pairs
    (the general Sin form carries ``cos(2c) ~ 6e-17`` of the rounded ``pi/4``).

    Args:
        gamma: ``>= 0``, the inverse squared length scale ``1 / (2 l^2)``.
    """

    gamma: float = 1.0

    def __post_init__(self):
        gamma = checks.real("gamma", self.gamma)
        if gamma < 0:
            raise ParameterError(f"gamma: must be >= 0, got {gamma}")
        object.__setattr__(self, "gamma", gamma)

    def as_sin(self) -> Sin:
        """The same function as a :class:`Sin` layer."""
        return Sin(math.sqrt(2), math.sqrt(2 * self.gamma), math.pi / 4)

    def fn(self, x):
        return self.as_sin().fn(x)

    def fn_prime(self, x):
        return self.as_sin().fn_prime(x)


@dataclasses.dataclass(frozen=True)
class Exp(Activation):
    """``phi(z) = a exp(b z)``."""

    a: float = 1.0
    b: float = 1.0

    def __post_init__(self):
        _check_reals(self, ("a", "b"))

    def fn(self, x):
        return self.a * np.exp(self.b * x)

    def fn_prime(self, x):
        return self.a * self.b * np.exp(self.b * x)


@dataclasses.dataclass(frozen=True)
class Gaussian(Activation):
    """``phi(z) = a exp(b z^2)``; the kernel exists while ``1 - 2 b q > 0``."""

    a: float = 1.0
    b: float = -1.0

    def __post_init__(self):
        _check_reals(self, ("a", "b"))

    def fn(self, x):
        return self.a * np.exp(self.b * x * x)

    def fn_prime(self, x):
        return 2 * self.a * self.b * x * np.exp(self.b * x * x)


@dataclasses.dataclass(frozen=True)
class Sign(Activation):
    """``sign(z)``; its derivative is zero almost everywhere, so the NTK map is zero
    (neural-tangents' convention)."""

    def fn(self, x):
        return np.sign(x)

    def fn_prime(self, x):
        return np.zeros_like(x)


@dataclasses.dataclass(frozen=True)
class Identity(Activation):
    """``phi(z) = z``; also the identity branch of a residual block."""

    def fn(self, x):
        return x

    def fn_prime(self, x):
        return np.ones_like(x)


@dataclasses.dataclass(frozen=True)
class Polynomial(Activation):
    """``phi(z) = sum_i coef[i] z^i`` (coefficients in increasing degree)."""

    coef: tuple

    def __post_init__(self):
        coef = tuple(checks.real(f"coef[{i}]", c)
                     for i, c in enumerate(_sequence("coef", self.coef)))
        if not coef:
            raise ParameterError("coef: must hold at least one coefficient")
        object.__setattr__(self, "coef", coef)

    def fn(self, x):
        return np.polynomial.polynomial.polyval(x, self.coef)

    def fn_prime(self, x):
        return np.polynomial.polynomial.polyval(x, np.polynomial.polynomial.polyder(self.coef))


#: The largest polynomial degree: the coefficients of ``He_n`` and the dual kernels'
#: ``n!`` leave float64 long before it.
MAX_DEGREE = 1000


def _check_degree(degree: int) -> int:
    return checks.integer("degree", degree, low=0, high=MAX_DEGREE)


def Monomial(degree: int) -> Polynomial:
    """``z^degree`` (any non-negative degree; neural-tangents stops at 5)."""
    degree = _check_degree(degree)
    return Polynomial((0.0,) * degree + (1.0,))


def Hermite(degree: int) -> Polynomial:
    """The normalised probabilists' Hermite polynomial ``He_n(z) / sqrt(n!)``.

    Its dual kernel is ``rho^n`` for unit-variance preactivations (neural-tangents assumes
    unit variance and returns ``q12^n`` always); nnphys computes the exact dual for any
    variance, which agrees with neural-tangents when the variance is 1.
    """
    degree = _check_degree(degree)
    coef = np.polynomial.hermite_e.herme2poly([0] * degree + [1]) / math.sqrt(math.factorial(degree))
    return Polynomial(tuple(float(c) for c in coef))


@dataclasses.dataclass(frozen=True)
class RectifiedMonomial(Activation):
    """``phi(z) = max(z, 0)^degree`` (arc-cosine kernel of order ``degree``, Cho & Saul 2009)."""

    degree: int

    def __post_init__(self):
        object.__setattr__(self, "degree", _check_degree(self.degree))

    def fn(self, x):
        return np.where(x >= 0, np.maximum(x, 0) ** self.degree, 0.0)

    def fn_prime(self, x):
        if self.degree == 0:
            return np.zeros_like(x)
        return self.degree * np.where(x >= 0, np.maximum(x, 0) ** (self.degree - 1), 0.0)


@dataclasses.dataclass(frozen=True, eq=False)
class ElementwiseFunction(Activation):
    """An elementwise function given as numpy callables (build it with :func:`Elementwise`)."""

    function: Callable[[np.ndarray], np.ndarray]
    function_prime: Callable[[np.ndarray], np.ndarray] | None = None
    name: str = "Elementwise"

    def __post_init__(self):
        _check_callables(self.function, self.function_prime, self.name,
                         ("function", "function_prime"))

    def fn(self, x):
        return self.function(x)

    def fn_prime(self, x):
        if self.function_prime is None:
            raise ParameterError(f"{self.name}: no derivative given (pass fn_prime=...)")
        return self.function_prime(x)

    def __repr__(self):
        return f"{self.name}()"


def _check_callables(fn, fn_prime, name, labels) -> None:
    if not callable(fn):
        raise ArgumentTypeError(f"{labels[0]}: must be callable, got {type(fn).__name__}")
    if fn_prime is not None and not callable(fn_prime):
        raise ArgumentTypeError(f"{labels[1]}: must be callable or None, got "
                                f"{type(fn_prime).__name__}")
    if not isinstance(name, str):
        raise ArgumentTypeError(f"name: must be a string, got {type(name).__name__}")


def Elementwise(fn: Callable[[np.ndarray], np.ndarray],
                fn_prime: Callable[[np.ndarray], np.ndarray] | None = None,
                name: str = "Elementwise") -> ElementwiseFunction:
    """Any elementwise function ``phi``, given as a vectorised numpy callable.

    Args:
        fn: ``phi``, mapping an ndarray to an ndarray of the same shape.
        fn_prime: ``phi'``; optional for the kernel (nnphys derives the NTK map from
            ``phi`` alone by Gaussian integration by parts), required for training.
        name: used in reprs and error messages.
    """
    _check_callables(fn, fn_prime, name, ("fn", "fn_prime"))
    return ElementwiseFunction(fn, fn_prime, name)


def Tanh() -> ElementwiseFunction:
    """``tanh(z)``, whose kernel nnphys computes by its Hermite-series quadrature."""
    return Elementwise(np.tanh, lambda x: 1.0 / np.cosh(x) ** 2, "Tanh")


# ---------------------------------------------------------------------------------------
# Spec strings: "Dense(512, W_std=1.5), Relu(), Dense(1)" or "(Dense(512), Relu()) * 3, Dense(1)"
# ---------------------------------------------------------------------------------------

LAYERS: dict[str, Callable[..., Layer]] = {}


def register_layer(name: str, constructor: Callable[..., Layer]) -> None:
    """Make a layer constructor usable in spec strings."""
    LAYERS[name] = constructor


for _name in ("Dense", "FanOut", "FanInSum", "ABRelu", "Relu", "LeakyRelu", "Abs", "Erf",
              "Sigmoid_like", "Gelu", "Sin", "Cos", "Rbf", "Exp", "Gaussian", "Sign",
              "Identity", "Monomial", "RectifiedMonomial", "Hermite", "Tanh"):
    register_layer(_name, globals()[_name])
register_layer("Polynomial", lambda *coef: Polynomial(
    tuple(coef[0]) if len(coef) == 1 and isinstance(coef[0], (list, tuple)) else tuple(coef)))


def parse_spec(spec: str) -> Serial:
    """Build a network from a short spec string.

    Grammar: comma-separated layer calls with literal arguments; a parenthesised group
    times an integer repeats it; ``parallel(...)`` and ``serial(...)`` nest. Examples::

        "Dense(512, W_std=1.5, b_std=0.05), Relu(), Dense(1, W_std=1.5)"
        "(Dense(512, W_std=1.4), Erf()) * 10, Dense(1)"

    Raises:
        ValueError: on a syntax error or an unknown layer, naming it.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ParameterError("spec: expected a non-empty string such as 'Dense(512), Relu(), Dense(1)'")
    try:
        tree = ast.parse(f"({spec},)", mode="eval").body
    except SyntaxError as exc:
        raise ParameterError(f"spec: syntax error in {spec!r}: {exc.msg}") from None
    return Serial(tuple(_spec_nodes(tree)))


def _spec_nodes(node: ast.AST) -> list[Layer]:
    if isinstance(node, ast.Tuple):
        return [layer for elt in node.elts for layer in _spec_nodes(elt)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        count = _literal(node.right)
        if not isinstance(count, int) or count < 1:
            raise ParameterError(f"spec: repetition count must be a positive integer, got {count!r}")
        return _spec_nodes(node.left) * count
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name == "repeat":                  # repeat(layer, n), as neural-tangents' stax
            if len(node.args) != 2 or node.keywords:
                raise ParameterError("spec: repeat takes a layer and a count, repeat(layer, n)")
            from .combinators import repeat
            return [repeat(_single(_spec_nodes(node.args[0])), _literal(node.args[1]))]
        if name in ("serial", "parallel"):
            inner = [Serial(tuple(_spec_nodes(a))) if isinstance(a, ast.Tuple) else
                     _single(_spec_nodes(a)) for a in node.args]
            return [Serial(tuple(inner)) if name == "serial" else Parallel(tuple(inner))]
        if name not in LAYERS:
            raise ParameterError(f"spec: unknown layer {name!r}; known: {', '.join(sorted(LAYERS))}")
        args = [_literal(a) for a in node.args]
        kwargs = {kw.arg: _literal(kw.value) for kw in node.keywords}
        return [LAYERS[name](*args, **kwargs)]
    if isinstance(node, ast.Name) and node.id in LAYERS:
        return [LAYERS[node.id]()]
    raise ParameterError(f"spec: cannot read {ast.unparse(node)!r} as a layer")


def _single(layers: list[Layer]) -> Layer:
    return layers[0] if len(layers) == 1 else Serial(tuple(layers))


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise ParameterError(f"spec: arguments must be literals, got {ast.unparse(node)!r}") from None


# ---------------------------------------------------------------------------------------
# Convolutional and structural layers (NHWC; any number of spatial dimensions)
# ---------------------------------------------------------------------------------------
#
# Conventions of neural-tangents 0.6.5 (``stax.Conv``, ``AvgPool``, ``GlobalAvgPool``,
# ``Flatten``, ``LayerNorm``), finite width here and infinite width in
# ``nnphys.theory.kernels.spatial``:
#
# * padding "SAME" pads ``total = max((n_out - 1) * stride + window - size, 0)`` positions,
#   ``total // 2`` before and the rest after (XLA's split), with ``n_out = ceil(size /
#   stride)``; "CIRCULAR" pads the same amounts by wrapping around; "VALID" does not pad
#   and has ``n_out = (size - window) // stride + 1``;
# * ``Conv`` defaults to "VALID" padding and no bias, as in neural-tangents;
# * ``AvgPool`` divides by the full window size even where SAME padding cuts the window
#   (neural-tangents' default ``normalize_edges=False``).

PADDINGS = ("SAME", "VALID", "CIRCULAR")


def _check_shape_tuple(name: str, value, allow_none: bool = False):
    if value is None and allow_none:
        return None
    try:
        values = tuple(value)
        ints = tuple(int(v) for v in values)
    except (TypeError, ValueError, OverflowError):
        raise ParameterError(f"{name}: must be a tuple of positive integers, got {value!r}") from None
    if not ints or any(isinstance(v, bool) or v != i or not 1 <= i <= checks.MEMORY_LIMIT
                       for v, i in zip(values, ints)):
        raise ParameterError(f"{name}: must be a tuple of integers in [1, "
                             f"{checks.MEMORY_LIMIT:.0e}], got {value!r}")
    return ints


def _check_padding(padding: str, allowed=PADDINGS) -> str:
    if padding not in allowed:
        raise ParameterError(f"padding: must be one of {allowed}, got {padding!r}")
    return padding


def window_padding(size: int, window: int, stride: int, padding: str,
                   name: str = "window") -> tuple[int, int, int]:
    """``(n_out, low, high)``: outputs along one axis and the padding before / after it.

    Output ``p`` reads the padded positions ``p * stride + k``, ``k < window``, i.e. the
    input positions ``p * stride + k - low``. ``name`` is the argument named in errors.

    Raises:
        ValueError: VALID padding with a window larger than the input.
    """
    size = checks.integer("size", size, low=1, high=checks.MEMORY_LIMIT)
    window = checks.integer(name, window, low=1, high=checks.MEMORY_LIMIT)
    stride = checks.integer("stride", stride, low=1, high=checks.MEMORY_LIMIT)
    checks.one_of("padding", padding, ("VALID", "SAME", "CIRCULAR"))
    if padding == "VALID":
        n_out = (size - window) // stride + 1
        if n_out < 1:
            raise ParameterError(f"{name}: {window} is larger than the input size {size} "
                             "(VALID padding)")
        return n_out, 0, 0
    n_out = -(-size // stride)
    total = max((n_out - 1) * stride + window - size, 0)
    return n_out, total // 2, total - total // 2


def window_positions(size: int, window: int, stride: int, padding: str, name: str = "window"):
    """Input position of every (output position, window offset), and whether it is real.

    Returns ``(index, valid)``, both ``(n_out, window)``: SAME marks padded positions
    invalid (they read zeros), CIRCULAR wraps them around, VALID has none.
    """
    n_out, low, _ = window_padding(size, window, stride, padding, name)
    index = np.arange(n_out)[:, None] * stride + np.arange(window)[None, :] - low
    if padding == "CIRCULAR":
        return index % size, np.ones(index.shape, dtype=bool)
    valid = (index >= 0) & (index < size)
    return np.clip(index, 0, size - 1), valid


def _check_spatial(name: str, shape: tuple, window: tuple, layer: str) -> tuple:
    spatial = tuple(shape[1:-1])
    if len(spatial) != len(window):
        raise ParameterError(f"{layer}: input shape {tuple(shape)} has {len(spatial)} spatial axes, "
                         f"{name} {window} has {len(window)}")
    return spatial


def _gather_patches(x: np.ndarray, taps: list) -> np.ndarray:
    """``(N, *out, *window, C)`` patches of an NHWC array: ``taps[i] = (index, valid)`` of
    spatial axis ``i`` (as :func:`window_positions` returns); zeros where a tap reads
    nothing."""
    patches = x
    for axis, (index, valid) in enumerate(taps):
        ax = 1 + axis
        taken = np.take(patches, index.ravel(), axis=ax)
        taken = taken.reshape(patches.shape[:ax] + index.shape + patches.shape[ax + 1:])
        if not valid.all():
            mask_shape = [1] * taken.ndim
            mask_shape[ax], mask_shape[ax + 1] = index.shape
            taken = taken * valid.reshape(mask_shape)
        patches = np.moveaxis(taken, ax + 1, -2)      # window offsets go before channels
    return patches


def _windows(x: np.ndarray, window: tuple, strides: tuple, padding: str, name: str) -> np.ndarray:
    """``(N, *out, *window, C)`` patches of an NHWC array (zeros outside for SAME)."""
    return _gather_patches(x, [window_positions(x.shape[1 + axis], w, s, padding, name)
                              for axis, (w, s) in enumerate(zip(window, strides))])


@dataclasses.dataclass(frozen=True)
class Conv(Layer):
    """Convolution over the spatial axes of NHWC inputs (neural-tangents' ``stax.Conv``).

    ``y[p, o] = sum_{f, c} W[f, c, o] x[p * strides + f - low, c] + b[o]``, with the
    weights ``W ~ N(0, 1)`` of shape ``filter_shape + (C, out_chan)`` scaled by
    ``W_std / sqrt(C * prod(filter_shape))`` in the forward pass (``"ntk"``) or at
    initialisation (``"standard"``), and the bias by ``b_std``.

    Args:
        out_chan: output channels (the width; the NTK-parameterized kernel ignores it).
        filter_shape: one positive size per spatial axis, e.g. ``(3, 3)``.
        strides: one positive stride per spatial axis; None means all ones.
        padding: ``"VALID"`` (default, as in neural-tangents), ``"SAME"`` (zeros) or
            ``"CIRCULAR"`` (periodic).
        W_std, b_std: weight and bias standard deviations; ``b_std=None``: no bias.
        parameterization: ``"ntk"`` or ``"standard"``.

    Raises:
        ValueError: naming the argument, for a non-positive ``out_chan`` or filter size,
            strides of the wrong length, an unknown padding or parameterization, or a
            negative / non-finite ``W_std`` or ``b_std``.
    """

    out_chan: int
    filter_shape: tuple
    strides: tuple | None = None
    padding: str = "VALID"
    W_std: float = 1.0
    b_std: float | None = None
    parameterization: str = "ntk"

    def __post_init__(self):
        if isinstance(self.out_chan, bool) or not isinstance(self.out_chan, (int, np.integer)) \
                or self.out_chan < 1:
            raise ParameterError(f"out_chan: must be a positive integer, got {self.out_chan!r}")
        filt = _check_shape_tuple("filter_shape", self.filter_shape)
        strides = _check_shape_tuple("strides", self.strides, allow_none=True) or (1,) * len(filt)
        if len(strides) != len(filt):
            raise ParameterError(f"strides: {strides} must have one entry per filter axis {filt}")
        object.__setattr__(self, "filter_shape", filt)
        object.__setattr__(self, "strides", strides)
        _check_padding(self.padding)
        object.__setattr__(self, "W_std", _check_std("W_std", self.W_std, False))
        object.__setattr__(self, "b_std", _check_std("b_std", self.b_std, True))
        _check_parameterization(self.parameterization)

    def fan_in(self, channels: int) -> int:
        """``channels * prod(filter_shape)``: the fan-in of one output unit."""
        return int(channels * np.prod(self.filter_shape))

    def output_spatial(self, spatial: tuple) -> tuple:
        """Spatial shape of the output for an input of spatial shape ``spatial``."""
        return tuple(window_padding(n, f, s, self.padding, "filter_shape")[0]
                     for n, f, s in zip(spatial, self.filter_shape, self.strides))

    def init(self, seed, input_shape):
        input_shape = _input_shape(input_shape)
        rng = as_rng(seed)
        spatial = _check_spatial("filter_shape", input_shape, self.filter_shape, "Conv")
        channels = int(input_shape[-1])
        checks.work("input_shape", float(np.prod(self.filter_shape)) * channels *
                    self.out_chan, checks.MEMORY_LIMIT, what="weights")
        w = rng.standard_normal(self.filter_shape + (channels, self.out_chan))
        b = rng.standard_normal(self.out_chan) if self.b_std is not None else None
        return ((input_shape[0],) + self.output_spatial(spatial) + (self.out_chan,),
                trained_parameters(self, w, b, self.fan_in(channels)))

    def apply(self, params, x):
        w, b = params
        _check_spatial("filter_shape", x.shape, self.filter_shape, "Conv")
        patches = _windows(x, self.filter_shape, self.strides, self.padding, "filter_shape")
        k = len(self.filter_shape) + 1
        y = np.tensordot(patches, w, axes=(tuple(range(patches.ndim - k, patches.ndim)),
                                           tuple(range(k))))
        return _scale_and_shift(y, self, self.fan_in(x.shape[-1]), b)


@dataclasses.dataclass(frozen=True)
class AvgPool(Layer):
    """Average over windows of the spatial axes (neural-tangents' ``stax.AvgPool``).

    CIRCULAR wraps around; SAME pads with zeros.

    Args:
        window_shape: one positive size per spatial axis.
        strides: one positive stride per spatial axis; None means all ones.
        padding: ``"VALID"`` (default), ``"SAME"`` or ``"CIRCULAR"``.
        normalize_edges: False (default, as neural-tangents): divide by the full window
            size even where SAME padding cuts the window; True: by the number of input
            positions in the window (``jax.example_libraries.stax.AvgPool``).
    """

    window_shape: tuple
    strides: tuple | None = None
    padding: str = "VALID"
    normalize_edges: bool = False

    needs_full_spatial = True      # mixes covariances of different positions

    def __post_init__(self):
        window = _check_shape_tuple("window_shape", self.window_shape)
        strides = _check_shape_tuple("strides", self.strides, allow_none=True) or (1,) * len(window)
        if len(strides) != len(window):
            raise ParameterError(f"strides: {strides} must have one entry per window axis {window}")
        object.__setattr__(self, "window_shape", window)
        object.__setattr__(self, "strides", strides)
        _check_padding(self.padding)
        if not isinstance(self.normalize_edges, (bool, np.bool_)):
            raise ParameterError("normalize_edges: must be True or False, got "
                             f"{self.normalize_edges!r}")

    def weights(self, spatial: tuple) -> list:
        """Per spatial axis, the factor ``1 / (window entries averaged)`` of each output."""
        out = []
        for n, w, s in zip(spatial, self.window_shape, self.strides):
            _, valid = window_positions(n, w, s, self.padding, "window_shape")
            count = valid.sum(axis=1) if self.normalize_edges else np.full(len(valid), w)
            out.append(1.0 / count)
        return out

    def output_spatial(self, spatial: tuple) -> tuple:
        """Spatial shape of the output for an input of spatial shape ``spatial``."""
        return tuple(window_padding(n, f, s, self.padding, "window_shape")[0]
                     for n, f, s in zip(spatial, self.window_shape, self.strides))

    def init(self, seed, input_shape):
        spatial = _check_spatial("window_shape", input_shape, self.window_shape, "AvgPool")
        return (input_shape[0],) + self.output_spatial(spatial) + (input_shape[-1],), ()

    def apply(self, params, x):
        _check_spatial("window_shape", x.shape, self.window_shape, "AvgPool")
        patches = _windows(x, self.window_shape, self.strides, self.padding, "window_shape")
        k = len(self.window_shape)
        y = patches.sum(axis=tuple(range(patches.ndim - k - 1, patches.ndim - 1)))
        for i, weight in enumerate(self.weights(x.shape[1:-1])):
            shape = [1] * y.ndim
            shape[1 + i] = len(weight)
            y = y * weight.reshape(shape)
        return y


@dataclasses.dataclass(frozen=True)
class GlobalAvgPool(Layer):
    """Average over all spatial positions: ``(N, *S, C) -> (N, C)`` (no-op on ``(N, C)``)."""

    needs_full_spatial = True      # reads covariances of all position pairs

    def init(self, seed, input_shape):
        return (input_shape[0], input_shape[-1]), ()

    def apply(self, params, x):
        return x.mean(axis=tuple(range(1, x.ndim - 1)))


@dataclasses.dataclass(frozen=True)
class Flatten(Layer):
    """``(N, *S, C) -> (N, prod(S) C)``; its kernel averages the per-position diagonal."""

    def init(self, seed, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:]))), ()

    def apply(self, params, x):
        return x.reshape(x.shape[0], -1)


@dataclasses.dataclass(frozen=True)
class LayerNorm(Layer):
    """``(x - mean) / sqrt(var + eps)`` over the axes ``axis`` (neural-tangents' ``LayerNorm``).

    Args:
        axis: an axis or tuple of axes of the ``(N, *S, C)`` input; it must include the
            channel axis (``-1``) and not the batch axis (0). ``-1``: per position over
            channels; ``(1, 2, 3)`` on NHWC: over the whole image.
        eps: added to the variance, ``>= 0``.

    The kernel (neural-tangents') divides by the per-input variances averaged over the
    spatial axes in ``axis``; it neglects the mean, so it holds for zero-mean Gaussian
    inputs such as the output of a ``Dense`` or ``Conv`` layer.
    """

    axis: int | tuple = -1
    eps: float = 1e-12

    def __post_init__(self):
        axes = self.axis if isinstance(self.axis, (tuple, list)) else (self.axis,)
        if not axes or any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                           for a in axes):
            raise ParameterError(f"axis: must be an int or a tuple of ints, got {self.axis!r}")
        if isinstance(self.axis, (tuple, list)):
            object.__setattr__(self, "axis", tuple(int(a) for a in axes))
        else:
            object.__setattr__(self, "axis", int(self.axis))
        object.__setattr__(self, "eps", _check_std("eps", self.eps, False))

    def axes(self, ndim: int) -> tuple:
        """The normalised axes as sorted non-negative ints, for ``ndim``-dimensional inputs.

        Raises:
            ValueError: an axis out of range, the channel axis missing, or the batch
                axis included.
        """
        axes = self.axis if isinstance(self.axis, tuple) else (self.axis,)
        if any(not -ndim <= a < ndim for a in axes):
            raise ParameterError(f"axis: {self.axis} is out of range for {ndim}-dimensional inputs")
        canonical = tuple(sorted({a % ndim for a in axes}))
        if ndim - 1 not in canonical:
            raise ParameterError(f"axis: {self.axis} must include the channel axis (-1); the "
                             "kernel has no infinite-width limit otherwise")
        if 0 in canonical:
            raise ParameterError(f"axis: {self.axis} includes the batch axis 0 (not supported)")
        return canonical

    def apply(self, params, x):
        axes = self.axes(x.ndim)
        mean = x.mean(axis=axes, keepdims=True)
        var = x.var(axis=axes, keepdims=True)
        return (x - mean) / np.sqrt(self.eps + var)


for _name in ("Conv", "AvgPool", "GlobalAvgPool", "Flatten", "LayerNorm"):
    register_layer(_name, globals()[_name])
__all__ += ["Conv", "AvgPool", "GlobalAvgPool", "Flatten", "LayerNorm", "PADDINGS",
            "window_padding", "window_positions"]


def spec_string(layer: Layer) -> str:
    """The spec string of a layer, which :func:`parse_spec` reads back into an equal layer:
    ``parse_spec(spec_string(layer)).layers[0] == layer`` (records save their layers so).

    A :class:`Serial` is written ``serial(...)`` and a :class:`Parallel` ``parallel(...)``
    (so a one-layer chain stays a chain); other layers as their constructor with every field
    by keyword, ``Dense(out_dim=1, W_std=1.0, b_std=None, parameterization='ntk')``.

    Raises:
        ArgumentTypeError: for an :func:`Elementwise` function that is not a registered
            layer (a Python callable has no spec string; register it with ``register_layer``
            under its ``name`` to make it one), or for an object that is not a layer.
    """
    if isinstance(layer, (Serial, Parallel)):
        inner = ", ".join(spec_string(l) for l in layer.layers)
        return f"{'serial' if isinstance(layer, Serial) else 'parallel'}({inner})"
    if isinstance(layer, ElementwiseFunction):
        registered = LAYERS.get(layer.name)
        probe = registered() if registered is not None else None
        if not (isinstance(probe, ElementwiseFunction) and probe.function is layer.function):
            raise ArgumentTypeError(f"layer: the elementwise function {layer.name!r} is a Python "
                                    "callable without a spec string (register_layer it under "
                                    "its name to give it one)")
        return f"{layer.name}()"
    if not (isinstance(layer, Layer) and dataclasses.is_dataclass(layer)):
        raise ArgumentTypeError(f"layer: expected a layer, got {type(layer).__name__}")
    values = {f.name: getattr(layer, f.name) for f in dataclasses.fields(layer) if f.init}
    values = {k: v.item() if isinstance(v, np.generic) else v for k, v in values.items()}
    if isinstance(layer, Polynomial):                   # its constructor takes *coef
        return f"Polynomial({tuple(float(c) for c in layer.coef)!r})"
    if LAYERS.get(type(layer).__name__) is None:
        raise ArgumentTypeError(f"layer: {type(layer).__name__} is not a registered layer")
    for k, v in values.items():          # e.g. pos_emb_decay_fn, to_dense: no literal form
        if callable(v):
            raise ArgumentTypeError(f"layer: {type(layer).__name__}'s {k} is a Python callable "
                                    "without a spec string")
    return f"{type(layer).__name__}({', '.join(f'{k}={v!r}' for k, v in values.items())})"


__all__ += ["spec_string", "chain"]


# Layers of further modules register themselves in LAYERS (issue 15).
from . import elementwise as _elementwise, spatial as _spatial  # noqa: E402,F401
from . import attention as _attention_layers  # noqa: E402,F401
from . import combinators as _combinator_layers  # noqa: E402,F401
from . import graph as _graph_layers  # noqa: E402,F401
from . import batchnorm as _batchnorm_layers  # noqa: E402,F401
