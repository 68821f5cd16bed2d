"""Infinite-width NNGP and NTK kernels, in the conventions of neural-tangents' ``stax``.

Example:
    >>> import numpy as np
    >>> from nnphys.theory import kernels as nk
    >>> net = nk.serial(nk.Dense(512, W_std=1.5, b_std=0.05), nk.Relu(),
    ...                 nk.Dense(1, W_std=1.5, b_std=0.05))
    >>> x = np.random.default_rng(0).standard_normal((4, 3))
    >>> k = net.kernel(x, get=("nngp", "ntk"))
    >>> k.nngp.shape, k.ntk.shape
    ((4, 4), (4, 4))

The layer constructors are those of :mod:`nnphys.models.network`; :func:`serial` wraps
them into a :class:`Network` with ``kernel``, ``init`` and ``apply``.
"""

from ...models.network import (ABRelu, Abs, AvgPool, Conv, Cos, Dense, Flatten, GlobalAvgPool,
                             LayerNorm, Elementwise, Erf, Exp, FanInSum,
                             FanOut, Gaussian, Gelu, Hermite, Identity, LeakyRelu, Monomial,
                             Polynomial, Rbf, RectifiedMonomial, Relu, Sigmoid_like, Sign, Sin,
                             Tanh, parse_spec)
from ...models.elementwise import ExpNormalized, Gabor
from ...models.spatial import ConvLocal, ConvTranspose, GlobalSumPool, SumPool
from .kernel import Kernel, input_kernel
from .network import Network, parallel, serial
from .predict import (GradientDescentPrediction, Prediction, gp_inference, gradient_descent,
                      gradient_descent_mse, max_learning_rate)
from .scale_mixture import StudentTPrediction, student_t_inference, student_t_prior
from .symbolic import DualKernel, dual_kernel
from ...models.attention import GlobalSelfAttention
from ...models.combinators import Dropout, FanInConcat, FanInProd, repeat
from ...models.graph import Aggregate
from ...models.batchnorm import BatchNorm
from ...models import stax as _stax
from . import attention as _attention, combinators as _combinators, graph as _graph  # noqa: F401
from .batchnorm import (batchnorm_fixed_point, batchnorm_gradient_rate, batchnorm_nngp,
                        batchnorm_ntk,
                        isometry_gap, large_batch_limit, linear_gradient_rate)

__all__ = [
    "ABRelu", "Abs", "AvgPool", "Conv", "Flatten", "GlobalAvgPool", "LayerNorm", "Cos", "Dense", "Elementwise", "Erf", "Exp", "FanInSum", "FanOut",
    "Gaussian", "Gelu", "Hermite", "Identity", "LeakyRelu", "Monomial", "Polynomial", "Rbf",
    "RectifiedMonomial", "Relu", "Sigmoid_like", "Sign", "Sin", "Tanh", "Kernel",
    "input_kernel", "Network", "parallel", "serial", "from_spec", "from_stax", "Prediction", "gp_inference",
    "gradient_descent_mse", "gradient_descent", "max_learning_rate",
    "GradientDescentPrediction", "DualKernel", "dual_kernel", "StudentTPrediction",
    "student_t_inference", "student_t_prior",
    "ConvTranspose", "ConvLocal", "SumPool", "GlobalSumPool", "Gabor", "ExpNormalized",
    "GlobalSelfAttention", "Aggregate", "Dropout", "FanInConcat", "FanInProd", "repeat",
    "BatchNorm", "batchnorm_nngp", "batchnorm_ntk", "batchnorm_fixed_point",
    "batchnorm_gradient_rate",
    "linear_gradient_rate", "large_batch_limit", "isometry_gap",
]


def from_stax(description: str) -> Network:
    """A :class:`Network` from neural-tangents ``stax`` source, e.g.
    ``"stax.serial(stax.Dense(512), stax.Relu(), stax.Dense(1))"``
    (:func:`nnphys.models.stax.from_stax`)."""
    return Network(_stax.from_stax(description))


def from_spec(spec: str) -> Network:
    """A :class:`Network` from a spec string, e.g. ``"Dense(512), Relu(), Dense(1)"``."""
    return Network(parse_spec(spec))
