"""The training losses of :func:`nnphys.theory.kernels.gradient_descent` (private).

A loss is seen by the function-space dynamics through three maps of the train outputs
``f`` (shape ``(N, K)``, the targets ``y`` fixed): its value ``L(f)``, its gradient
``g(f) = dL/df`` (same shape) and, for the implicit ODE methods, the Hessian blocks
``H_i = d^2 L / df_i df_i`` of each training point (shape ``(N, K, K)``; both built-in losses
are sums over points, so the Hessian is block diagonal). Normalisation is neural-tangents'
(``predict.gradient_descent``, its cross-entropy example): a mean over all ``y.size``
entries,

* ``"mse"``: ``L = |f - y|^2 / (2 y.size)``, ``g = (f - y) / y.size``, ``H_i = I / y.size``;
* ``"cross_entropy"``: ``L = -sum_{ik} y_ik log softmax(f_i)_k / y.size`` with the softmax
  over the last axis, ``g_i = (s_i p_i - y_i) / y.size`` with ``p_i = softmax(f_i)`` and
  ``s_i = sum_k y_ik`` (1 for one-hot or probability targets),
  ``H_i = s_i (diag(p_i) - p_i p_i^T) / y.size``.

A user's loss is a pair ``(loss, grad)`` of callables ``loss(f, y) -> float`` and
``grad(f, y) -> array of f's shape``; it has no Hessian (the implicit methods then let
scipy difference the right-hand side).
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np
from scipy.special import log_softmax, softmax

from ... import checks
from ...errors import ArgumentTypeError, ParameterError

LOSSES = ("mse", "cross_entropy")


@dataclasses.dataclass(frozen=True)
class Loss:
    """A loss bound to its targets ``y`` (``(N, K)``): value, gradient, Hessian blocks."""

    name: str
    y: np.ndarray
    value: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    hessian_blocks: Callable[[np.ndarray], np.ndarray] | None


def _mse(y: np.ndarray) -> Loss:
    n = y.size
    eye = np.broadcast_to(np.eye(y.shape[1]) / n, (y.shape[0],) + (y.shape[1],) * 2)
    return Loss("mse", y, lambda f: float(np.sum((f - y) ** 2) / (2 * n)),
                lambda f: (f - y) / n, lambda f: eye)


def _cross_entropy(y: np.ndarray) -> Loss:
    n = y.size
    s = y.sum(axis=1, keepdims=True)

    def hessian_blocks(f):
        p = softmax(f, axis=1)
        return s[:, :, None] * (p[:, :, None] * np.eye(y.shape[1]) - p[:, :, None]
                                * p[:, None, :]) / n

    return Loss("cross_entropy", y, lambda f: float(-np.sum(y * log_softmax(f, axis=1)) / n),
                lambda f: (s * softmax(f, axis=1) - y) / n, hessian_blocks)


def targets(loss, y_train) -> tuple[np.ndarray, tuple]:
    """``y_train`` as a float ``(N, K)`` array for ``loss`` and the shape outputs take:
    integer labels ``(N,)`` become one-hot rows over ``K = max(label) + 1`` classes for
    the cross-entropy; a 1-D float target of another loss is one output (``K = 1``)."""
    y = np.asarray(y_train)
    if loss == "cross_entropy" and y.ndim == 1:
        if y.dtype.kind not in "iu":
            raise ParameterError("y_train: the cross-entropy needs one-hot or probability "
                                 "targets (N, K) with K >= 2, or integer labels (N,); got a "
                                 f"1-D array of {y.dtype}")
        if y.size == 0 or np.any(y < 0):
            raise ParameterError("y_train: labels must be non-empty integers >= 0")
        k = int(y.max()) + 1
        if k < 2 or k * y.size > 10 ** 8:
            raise ParameterError(f"y_train: labels must span 2 <= K <= 1e8 / N classes, got "
                                 f"K = {k}")
        return np.eye(k)[y], (y.size, k)
    y = checks.finite_array("y_train", y_train)
    if y.ndim not in (1, 2) or y.size == 0:
        raise ParameterError(f"y_train: must have shape (N,) or (N, K), got {y.shape}")
    if loss == "cross_entropy" and (y.shape[1] < 2 or np.any(y < 0)):
        raise ParameterError(f"y_train: the cross-entropy needs targets (N, K >= 2) with "
                             f"entries >= 0 (one-hot or probabilities), got shape {y.shape}")
    return y.reshape(y.shape[0], -1), y.shape


def bind(loss, y: np.ndarray) -> Loss:
    """The :class:`Loss` named (or given as a ``(loss, grad)`` pair) by ``loss``."""
    if isinstance(loss, str):
        if loss not in LOSSES:
            raise ParameterError(f"loss: must be one of {LOSSES} or a pair (loss, grad) of "
                                 f"callables, got {loss!r}")
        return _mse(y) if loss == "mse" else _cross_entropy(y)
    if (not isinstance(loss, (tuple, list)) or len(loss) != 2
            or not all(callable(c) for c in loss)):
        raise ArgumentTypeError(f"loss: must be one of {LOSSES} or a pair (loss, grad) of "
                                f"callables loss(f, y) -> float, grad(f, y) -> array of f's "
                                f"shape; got {type(loss).__name__}")
    value_fn, grad_fn = loss
    shape = y.shape

    def grad(f):
        g = np.asarray(grad_fn(f, y), dtype=float)
        if g.shape != shape:
            raise ParameterError(f"loss: grad(f, y) returned shape {g.shape}, expected "
                                 f"{shape} (the shape of f)")
        return g

    return Loss("callable", y, lambda f: float(value_fn(f, y)), grad, None)
