"""The NNGP and NTK of any nnphys network as scikit-learn kernels.

:class:`NNGPKernel` and :class:`NTKKernel` are ``sklearn.gaussian_process.kernels.Kernel``
subclasses: they compose with sklearn's own kernels (``ConstantKernel() * NNGPKernel(net)
+ WhiteKernel()``), serve ``GaussianProcessRegressor`` (whose ``fit`` maximises the log
marginal likelihood over ``W_std`` and ``b_std``, with gradients), ``KernelRidge(kernel=...)``
and ``SVC(kernel=...)``, and survive ``sklearn.base.clone``. :func:`kernel_function` is the
plain Gram-matrix callable for code that takes one (``SVC(kernel=f)``, or
``f(X_train)`` for ``kernel="precomputed"``).

Hyper-parameters
----------------
``W_std`` and ``b_std`` are set on every layer of the network that has them (``Dense``,
``Conv``, ...; a layer built without bias, ``b_std=None``, gets one of scale ``b_std``);
other layer constants (``W_key_std`` of attention, activation parameters) stay as built. sklearn sees them through ``theta = log([W_std, b_std])`` (its convention
for positive "numeric" hyper-parameters), each within its ``*_bounds`` or ``"fixed"``;
``b_std=None`` leaves the biases as built and fixes the hyper-parameter.

Gradient
--------
``eval_gradient=True`` returns ``dK/dtheta`` by the five-point central difference in
``theta`` with step ``h = 1e-3``,
``(K(-2h) - 8 K(-h) + 8 K(h) - K(2h)) / (12 h)``, whose truncation error is
``h^4 |d^5 K / dtheta^5| / 30`` (about 1e-11 relative for the weight powers ``W^(2L)``
of an ``L``-layer net, ``L <= 5``) and whose roundoff is ``1.5 eps_K / h``, with
``eps_K`` the kernel's relative accuracy: ~1e-12 relative for closed-form layers
(``eps_K ~ 1e-15``), ~1e-7 for quadrature-based activations (``eps_K ~ 1e-10``). The
layer algebra has no derivative with respect to its hyper-parameters (the NTK is a
derivative with respect to the weights, not their scales), hence the difference.

Inputs
------
sklearn passes 2-D arrays ``(n_samples, n_features)``; ``input_shape`` (e.g. ``(8, 8, 1)``)
reshapes each row for convolutional networks. Any array-like, including objects with
``__array__`` (float32 is upcast to float64), is accepted.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

try:
    from sklearn.gaussian_process.kernels import Hyperparameter, Kernel
except ImportError as exc:                              # pragma: no cover - extra absent
    raise ImportError('nnphys.interop.sklearn needs scikit-learn: pip install '
                      '"nnphys[sklearn]"') from exc

from ..errors import ArgumentTypeError, ParameterError
from ..models import network as arch
from ..theory.kernels import Network

__all__ = ["NNGPKernel", "NTKKernel", "kernel_function", "with_scales"]

#: the step in ``theta = log(scale)`` of the five-point difference (module docstring)
FD_STEP = 1e-3
_DIAG_BLOCK = 256


def _as_network(network) -> Network:
    if isinstance(network, Network):
        return network
    if isinstance(network, arch.Layer):
        return Network(network if isinstance(network, arch.Serial) else
                       arch.Serial((network,)))
    if isinstance(network, str):
        return Network(arch.parse_spec(network))
    raise ArgumentTypeError(f"network: must be a Network, a layer spec or a spec string, got "
                            f"{type(network).__name__}")


def with_scales(spec: arch.Layer, W_std: float, b_std: float | None) -> arch.Layer:
    """``spec`` with ``W_std`` on every layer that has a ``W_std`` field and ``b_std`` on
    every layer that has a ``b_std`` field (``b_std=None``: biases as built), nested layers
    included."""
    if not dataclasses.is_dataclass(spec):
        return spec
    changes = {}
    for field in dataclasses.fields(spec):
        value = getattr(spec, field.name)
        if field.name == "W_std":
            changes["W_std"] = W_std
        elif field.name == "b_std" and b_std is not None:
            changes["b_std"] = b_std
        elif isinstance(value, arch.Layer):
            changes[field.name] = with_scales(value, W_std, b_std)
        elif isinstance(value, tuple) and any(isinstance(v, arch.Layer) for v in value):
            changes[field.name] = tuple(with_scales(v, W_std, b_std) for v in value)
    return dataclasses.replace(spec, **changes) if changes else spec


def _inputs(x, name: str, input_shape) -> np.ndarray:
    x = arch.check_input(x, name)
    if input_shape is not None:
        shape = tuple(int(s) for s in input_shape)
        if int(np.prod(shape)) != int(np.prod(x.shape[1:])):
            raise ParameterError(f"{name}: rows of {int(np.prod(x.shape[1:]))} entries do "
                                 f"not reshape to input_shape {shape}")
        x = x.reshape((x.shape[0],) + shape)
    return x


def _gram(net: Network, get: str, x1, x2=None) -> np.ndarray:
    k = net.kernel(x1, x2, get=get)
    if k.ndim != 2:
        raise ParameterError(f"network: its kernel has shape {k.shape}; it needs a readout "
                             "(Flatten or global pooling, then Dense) to give one number per "
                             "pair of inputs")
    return k


class _NetworkKernel(Kernel):
    """Base of :class:`NNGPKernel` and :class:`NTKKernel` (``_get`` names the kernel)."""

    _get = "nngp"

    def __init__(self, network, W_std=1.0, b_std=0.1, W_std_bounds=(1e-2, 1e2),
                 b_std_bounds=(1e-4, 1e2), input_shape=None):
        # sklearn's convention: store the arguments as given (clone, get_params)
        self.network = network
        self.W_std = W_std
        self.b_std = b_std
        self.W_std_bounds = W_std_bounds
        self.b_std_bounds = b_std_bounds
        self.input_shape = input_shape

    @property
    def hyperparameter_W_std(self):
        return Hyperparameter("W_std", "numeric", self.W_std_bounds)

    @property
    def hyperparameter_b_std(self):
        return Hyperparameter("b_std", "numeric",
                              "fixed" if self.b_std is None else self.b_std_bounds)

    def _net(self, W_std, b_std) -> Network:
        net = _as_network(self.network)
        return Network(with_scales(net.spec, W_std, b_std))

    def __call__(self, X, Y=None, eval_gradient=False):
        """The Gram matrix ``K(X, Y)`` (``Y=None``: ``K(X, X)``), and with
        ``eval_gradient`` its derivative ``(n_X, n_X, n_theta)`` with respect to the free
        hyper-parameters' ``log`` (module docstring: method and error)."""
        if Y is not None and eval_gradient:
            raise ValueError("Gradient can only be evaluated when Y is None.")
        X = _inputs(X, "X", self.input_shape)
        Y = None if Y is None else _inputs(Y, "Y", self.input_shape)
        k = _gram(self._net(self.W_std, self.b_std), self._get, X, Y)
        if not eval_gradient:
            return k
        grads = []
        for name in ("W_std", "b_std"):
            if getattr(self, f"hyperparameter_{name}").fixed:
                continue
            value = float(getattr(self, name))
            total = np.zeros_like(k)
            for step, weight in ((-2, 1.0), (-1, -8.0), (1, 8.0), (2, -1.0)):
                scaled = {"W_std": self.W_std, "b_std": self.b_std,
                          name: value * np.exp(step * FD_STEP)}
                total += weight * _gram(self._net(**scaled), self._get, X)
            grads.append(total / (12.0 * FD_STEP))
        return k, (np.stack(grads, axis=-1) if grads else np.empty(k.shape + (0,)))

    def diag(self, X):
        """``K(x, x)`` for each row of ``X`` (in blocks: ``O(n)`` memory)."""
        X = _inputs(X, "X", self.input_shape)
        net = self._net(self.W_std, self.b_std)
        return np.concatenate([np.diagonal(_gram(net, self._get, X[i:i + _DIAG_BLOCK]))
                               for i in range(0, X.shape[0], _DIAG_BLOCK)])

    def is_stationary(self):
        """False: network kernels depend on the inputs' norms and angle, not their
        difference."""
        return False


class NNGPKernel(_NetworkKernel):
    """The NNGP of ``network`` as a scikit-learn kernel (module docstring).

    Parameters
    ----------
    network : nnphys.theory.kernels.Network, layer spec or str
        An nnphys network (``nnphys.theory.kernels.serial(...)``, a spec, or a spec string
        such as ``"Dense(512), Erf(), Dense(1)"``) with one output number per input.
    W_std, b_std : float
        The weight and bias scales set on every layer that has them (a layer without bias
        gets one; ``b_std=None``: biases as built, not a hyper-parameter).
    W_std_bounds, b_std_bounds : pair of float or "fixed"
        Bounds of the hyper-parameters for ``fit``.
    input_shape : tuple of int, optional
        The shape each row of ``X`` is reshaped to (convolutional networks).

    Examples
    --------
    >>> import numpy as np
    >>> from nnphys.theory import kernels as nk
    >>> k = NNGPKernel(nk.serial(nk.Dense(1), nk.Relu(), nk.Dense(1)), W_std=1.5)
    >>> x = np.random.default_rng(0).standard_normal((4, 3))
    >>> bool(np.allclose(k.diag(x), np.diag(k(x))))
    True
    """

    _get = "nngp"


class NTKKernel(_NetworkKernel):
    """The NTK of ``network`` as a scikit-learn kernel (the "NTK-GP"; parameters as
    :class:`NNGPKernel`)."""

    _get = "ntk"


def kernel_function(network, get: str = "nngp",
                    input_shape=None) -> Callable[..., np.ndarray | float]:
    """A plain callable ``f(X, Y=None)`` giving the Gram matrix of ``network``'s NNGP or
    NTK, for ``SVC(kernel=f)``, ``KernelRidge(kernel="precomputed")`` with ``f(X)``, or any
    code that takes a kernel function.

    Parameters
    ----------
    network : nnphys.theory.kernels.Network, layer spec or str
        As in :class:`NNGPKernel` (its own ``W_std``/``b_std``).
    get : str
        ``"nngp"`` or ``"ntk"``.
    input_shape : tuple of int, optional
        The shape each row is reshaped to.

    Returns
    -------
    callable
        ``f(X, Y=None) -> (n_X, n_Y)`` array; for two 1-D rows ``f(x, y) -> float`` (the
        per-pair protocol of ``KernelRidge(kernel=f)`` and ``pairwise_kernels``, slow: one
        kernel call per pair; pass a :class:`NNGPKernel` there instead).
    """
    net = _as_network(network)
    if get not in ("nngp", "ntk"):
        raise ParameterError(f"get: must be 'nngp' or 'ntk', got {get!r}")

    def f(X, Y=None):
        pair = np.ndim(X) == 1 and (Y is None or np.ndim(Y) == 1)
        if pair:
            X = np.atleast_2d(np.asarray(X, dtype=float))
            Y = None if Y is None else np.atleast_2d(np.asarray(Y, dtype=float))
        k = _gram(net, get, _inputs(X, "X", input_shape),
                  None if Y is None else _inputs(Y, "Y", input_shape))
        return float(k[0, 0]) if pair else k

    return f
