"""Predictions of infinitely wide networks: GP inference and gradient-descent training.

Both are computed from one symmetric eigendecomposition of the training kernel, never a
Cholesky factorisation, so ill-conditioned kernels (deep erf nets in the ordered phase,
thousands of training points) give finite answers:

* **GP inference** (Neal 1996; Lee et al. 2018, arXiv:1711.00165; Rasmussen & Williams
  2006, eqs. 2.25-2.26): for a kernel ``K`` (NNGP, or NTK for the "NTK-GP"),
  ``mean = K(x*, X) (K + s^2 I)^+ y`` and
  ``cov = K(x*, x*) - K(x*, X) (K + s^2 I)^+ K(X, x*)``.
* **Gradient descent on MSE** (Jacot et al. 2018, arXiv:1806.07572; Lee et al. 2019,
  arXiv:1902.06720, eq. 16), in neural-tangents' normalisation (loss
  ``||f - y||^2 / (2 y.size)``, so time is ``lr * t / y.size``). With
  ``T = Theta(X, X)`` and ``E(t) = I - exp(-eta t T / n)``, the ensemble of networks
  initialised from the NNGP prior has, at time ``t``,
  ``mean(x*) = Theta(x*, X) T^{-1} E y`` and
  ``cov(x*) = K(x*, x*) + Theta(x*, X) T^{-1} E K E T^{-1} Theta(X, x*)
  - [Theta(x*, X) T^{-1} E K(X, x*) + transpose]``.

The pseudo-inverse discards eigenvalues below ``cutoff = rcond * lambda_max`` (default
``rcond = n * eps``); the result states the cutoff and how many modes it removed. At finite
``t`` the factor ``(1 - exp(-lambda s)) / lambda`` is evaluated with ``expm1`` and tends to
``s`` as ``lambda -> 0``, so no mode needs discarding.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import checks
from ...errors import NumericalError, ParameterError
from ...results import Result

__all__ = ["Prediction", "gp_inference", "gradient_descent_mse"]


@dataclasses.dataclass(frozen=True)
class Prediction(Result):
    """A posterior / trained-ensemble prediction (closed forms through one
    eigendecomposition: no iterative solver, so ``converged``, ``iterations`` and
    ``residual`` are ``None``; the conditioning is reported instead).

    Attributes:
        mean: ``(N_test, ...)`` mean prediction (train points if no test kernel was given).
        covariance: ``(N_test, N_test)`` covariance, or None if not computable from the
            kernels given.
        cutoff: eigenvalues of the training matrix at or below this were treated as zero.
        n_discarded: how many eigenvalues that was.
        condition_number: ``lambda_max / lambda_min`` of the training matrix (inf if
            singular).
    """

    mean: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    covariance: np.ndarray | None = None
    cutoff: float = 0.0
    n_discarded: int = 0
    condition_number: float = 1.0


def _check_square(name: str, k) -> np.ndarray:
    k = checks.finite_array(name, k)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ParameterError(f"{name}: expected a square (N, N) matrix, got shape {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ParameterError(f"{name}: contains NaN or infinite entries")
    return k


def _check_cross(name: str, k, n_train: int) -> np.ndarray | None:
    if k is None:
        return None
    k = checks.finite_array(name, k)
    if k.ndim != 2 or k.shape[1] != n_train:
        raise ParameterError(f"{name}: expected shape (N_test, {n_train}), got {k.shape}")
    if not np.all(np.isfinite(k)):
        raise ParameterError(f"{name}: contains NaN or infinite entries")
    return k


def _eigh(k: np.ndarray, rcond: float | None):
    evals, evecs = np.linalg.eigh((k + k.T) / 2)
    lam_max = max(float(np.max(np.abs(evals))), np.finfo(float).tiny)
    if rcond is None:
        rcond = k.shape[0] * np.finfo(float).eps
    rcond = checks.real("rcond", rcond, low=0.0, high=1.0)
    cutoff = rcond * lam_max
    keep = evals > cutoff
    lam_min = float(evals[0])
    cond = lam_max / lam_min if lam_min > 0 else float("inf")
    return evals, evecs, keep, cutoff, int(np.sum(~keep)), cond


def _targets(y, n: int) -> np.ndarray:
    y = checks.finite_array("y_train", y)
    if y.shape[:1] != (n,):
        raise ParameterError(f"y_train: expected {n} rows, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ParameterError("y_train: contains NaN or infinite entries")
    return y


def gp_inference(k_train_train, y_train, k_test_train=None, k_test_test=None,
                 diag_reg: float = 0.0, rcond: float | None = None) -> Prediction:
    """Posterior mean and covariance of a GP with kernel ``k`` (NNGP or NTK).

    Args:
        k_train_train: ``(N, N)`` kernel of the training inputs.
        y_train: ``(N,)`` or ``(N, n_out)`` targets.
        k_test_train: ``(M, N)`` kernel between test and training inputs; None predicts
            on the training inputs.
        k_test_test: ``(M, M)`` test kernel (needed for the covariance).
        diag_reg: observation-noise variance ``s^2 >= 0`` added to the diagonal.
        rcond: relative eigenvalue cutoff of the pseudo-inverse (default ``N * eps``).
    """
    k = _check_square("k_train_train", k_train_train)
    n = k.shape[0]
    y = _targets(y_train, n)
    diag_reg = checks.positive("diag_reg", diag_reg, allow_zero=True)
    cross = _check_cross("k_test_train", k_test_train, n)
    evals, evecs, keep, cutoff, dropped, cond = _eigh(k + diag_reg * np.eye(n), rcond)
    inv = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
    cross_eff = k if cross is None else cross
    proj = cross_eff @ evecs                                 # (M, N) in the eigenbasis
    mean = proj @ (inv[:, None] * (evecs.T @ y.reshape(n, -1)))
    cov = None
    if cross is None or k_test_test is not None:
        test = k if cross is None else _check_square("k_test_test", k_test_test)
        cov = test - (proj * inv) @ proj.T
    return _finite(Prediction(mean=mean.reshape((-1,) + y.shape[1:]), covariance=cov,
                              cutoff=cutoff, n_discarded=dropped, condition_number=cond))


def gradient_descent_mse(ntk_train_train, y_train, lr: float = 1.0,
                         t: float = np.inf, ntk_test_train=None, nngp_train_train=None,
                         nngp_test_train=None, nngp_test_test=None,
                         rcond: float | None = None) -> Prediction:
    """Mean (and covariance) of infinitely wide networks trained by gradient descent on MSE.

    Args:
        ntk_train_train: ``(N, N)`` NTK of the training inputs.
        y_train: ``(N,)`` or ``(N, n_out)`` targets.
        lr: ``eta > 0``.
        t: training time (number of steps of continuous-time gradient flow), ``>= 0``,
            ``np.inf`` for the converged network.
        ntk_test_train: ``(M, N)`` NTK between test and training inputs (None: predict on
            the training inputs).
        nngp_train_train, nngp_test_train, nngp_test_test: NNGP blocks; with all of them
            (or the first alone when predicting on the training set) the covariance of the
            ensemble over random initialisations is returned as well.
        rcond: relative eigenvalue cutoff used at ``t = inf`` (default ``N * eps``).

    Returns:
        :class:`Prediction` (mean ``(M, ...)``, covariance ``(M, M)`` or None).
    """
    theta = _check_square("ntk_train_train", ntk_train_train)
    n = theta.shape[0]
    y = _targets(y_train, n)
    lr = checks.positive("lr", lr)
    t = checks.real("t", t, low=0.0, allow_inf=True)
    cross = _check_cross("ntk_test_train", ntk_test_train, n)
    evals, evecs, keep, cutoff, dropped, cond = _eigh(theta, rcond)
    s = lr * t / y.size
    if np.isinf(s):
        gain = np.where(keep, 1.0 / np.where(keep, evals, 1.0), 0.0)
    else:
        # (1 - exp(-lambda s)) / lambda, -> s as lambda -> 0; roundoff-negative modes clipped.
        lam = np.maximum(evals, 0.0)
        gain = np.where(lam > 0, -np.expm1(-lam * s) / np.where(lam > 0, lam, 1.0), s)
        dropped, cutoff = 0, 0.0
    theta_cross = theta if cross is None else cross
    proj = theta_cross @ evecs                                # Theta(x*, X) V
    mean = proj @ (gain[:, None] * (evecs.T @ y.reshape(n, -1)))
    cov = None
    if nngp_train_train is not None and (cross is None or (nngp_test_train is not None
                                                          and nngp_test_test is not None)):
        k = _check_square("nngp_train_train", nngp_train_train)
        if k.shape != theta.shape:
            raise ParameterError(f"nngp_train_train: shape {k.shape} differs from the NTK's")
        k_cross = k if cross is None else _check_cross("nngp_test_train", nngp_test_train, n)
        k_test = k if cross is None else _check_square("nngp_test_test", nngp_test_test)
        a = proj * gain                                       # Theta(x*,X) T^{-1} E in V basis
        k_eig = evecs.T @ k @ evecs
        k_cross_eig = k_cross @ evecs
        mixed = a @ k_cross_eig.T
        cov = k_test + a @ k_eig @ a.T - mixed - mixed.T
    return _finite(Prediction(mean=mean.reshape((-1,) + y.shape[1:]), covariance=cov,
                              cutoff=cutoff, n_discarded=dropped, condition_number=cond))


def _finite(p: Prediction) -> Prediction:
    for name in ("mean", "covariance"):
        value = getattr(p, name)
        if value is not None and not np.all(np.isfinite(value)):
            raise NumericalError(f"{name}: prediction overflowed (kernel entries too large "
                                 "for float64?)")
    return p
