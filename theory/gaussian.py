"""Gaussian expectations ``E[f(u)]``, ``u ~ N(0, K)``, of piecewise-smooth functions.

Activations of neural networks are smooth except, at worst, at the origin (ReLU, leaky
ReLU, |z|, rectified monomials). Writing ``u = sqrt(K) a`` with ``a ~ N(0, 1)``, the
expectation is split at ``a = 0`` and each half-line integral, truncated at ``|a| = 14``
(the neglected Gaussian mass is 2e-44), is computed by Gauss-Legendre quadrature on two
panels (the second starts at ``|u| = 20``, so that a large variance does not hide the
activation's own scale), which converges spectrally for integrands smooth on each half. The rule is applied with two
orders (``n`` and ``2n`` nodes per half); their difference estimates the error and a
difference above tolerance raises :class:`~nnphys.errors.ConvergenceError` (a kink away
from the origin, or a function that is not integrable), so no inaccurate number is
returned silently.

Every function here is vectorised over an array of variances ``K``.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import ConvergenceError, ParameterError

__all__ = ["expect"]

_HALF_WIDTH = 14.0
_ACTIVATION_SCALE = 20.0  # |u| below which an activation may still vary on the scale 1
_NODES = 64               # per panel; checked against twice as many


@functools.lru_cache(maxsize=4)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _rule(variance: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``a`` (shape ``variance.shape + (4n,)``) and weights with
    ``sum w f(sqrt(K) a) ~ E[f(u)]``. Each half line is split at ``|a| = t``,
    ``t = min(20/sqrt(K), 14)``, so that the activation's own scale ``|u| <~ 20`` gets its
    own panel when the variance is large."""
    x, wx = _legendre(n)
    with np.errstate(divide="ignore"):
        t = np.minimum(_ACTIVATION_SCALE / np.sqrt(variance), _HALF_WIDTH)[..., None]
    inner = 0.5 * t * (x + 1.0)
    outer = t + 0.5 * (_HALF_WIDTH - t) * (x + 1.0)
    a = np.concatenate([inner, outer], axis=-1)
    w = np.concatenate([0.5 * t * wx, 0.5 * (_HALF_WIDTH - t) * wx], axis=-1)
    w = w * np.exp(-0.5 * a * a)
    w = 0.5 * w / np.sum(w, axis=-1, keepdims=True)     # E[1] = 1 to the last bit
    return np.concatenate([-a, a], axis=-1), np.concatenate([w, w], axis=-1)


def _apply(fn, variance: np.ndarray, n: int) -> np.ndarray:
    a, w = _rule(variance, n)
    u = np.sqrt(variance)[..., None] * a
    with np.errstate(over="ignore"):
        values = np.asarray(fn(u), dtype=np.float64)
    if values.shape != u.shape:
        raise ParameterError(f"fn: must map an array to one of the same shape, got "
                             f"{values.shape} for {u.shape}")
    if not np.all(np.isfinite(values)):
        raise ConvergenceError("Gaussian expectation: the integrand is not finite at some "
                               "quadrature node (is E[f] finite at this variance?)")
    return np.sum(values * w, axis=-1), np.sum(np.abs(values) * w, axis=-1)


def expect(fn, variance, tol: float = 1e-12) -> np.ndarray:
    """``E[fn(u)]`` for ``u ~ N(0, variance)``; ``fn`` is a vectorised numpy callable.

    Args:
        fn: maps an array of points ``u`` to ``f(u)`` of the same shape.
        variance: scalar or array of variances ``K >= 0`` (the result has its shape).
        tol: accepted difference of the two quadrature orders, relative to ``E|f|``.

    Raises:
        ConvergenceError: the two orders differ by more than ``tol`` (a kink away from
            ``u = 0``, or an integrand growing too fast for the truncation).
    """
    variance = np.asarray(variance, dtype=np.float64)
    if np.any(~np.isfinite(variance)) or np.any(variance < 0):
        raise ParameterError("variance: must be finite and >= 0")
    coarse, _ = _apply(fn, variance, _NODES)
    fine, scale = _apply(fn, variance, 2 * _NODES)
    error = np.abs(fine - coarse)
    if np.any(error > tol * np.maximum(scale, 1e-300)):
        worst = float(np.max(error / np.maximum(scale, 1e-300)))
        raise ConvergenceError(f"Gaussian expectation: quadrature orders disagree by "
                               f"{worst:.2e} (relative); is the function smooth away from 0?",
                               residual=worst)
    return fine
