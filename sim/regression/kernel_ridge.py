"""Kernel ridge regression on samples: the numbers the spectral learning curve predicts.

``kernel_ridge`` fits ``f(x) = k(x)^T (K + ridge I)^{-1} y`` (raw Gram matrix ``K``; at
``ridge = 0`` the min-norm interpolant, ``K^+ y`` with the pseudo-inverse) for several ridges
from one eigendecomposition. ``gaussian_design`` draws the setting of Bordelon, Canatar &
Pehlevan 2020 (arXiv:2002.02561) and Simon et al. 2023 (arXiv:2110.03922) directly in feature
space: ``P`` inputs with i.i.d. standard Gaussian eigenfeatures ``phi_rho(x)``, kernel
``K = Phi diag(lambda) Phi^T``, target ``f* = Phi v``, labels ``y = f* + eps``; the learned
function is ``f = Phi w`` with ``w = diag(lambda) Phi^T alpha``, so its *population* test error
against the clean target is exactly ``|w - v|^2`` (no test sample needed).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import checks
from ...errors import ParameterError
from ...models.network import as_rng
from ...results import Result
from ...stats import Estimate
from ._replicas import replica_estimate

__all__ = ["kernel_ridge", "GaussianDesign", "gaussian_design"]

_RANK_TOL = 1e-12           # relative eigenvalue below which the Gram matrix is singular


def _ridges(ridge) -> np.ndarray:
    ridges = np.atleast_1d(np.asarray(checks.finite_array("ridge", ridge, low=0.0), float))
    if ridges.ndim != 1:
        raise ParameterError("ridge: a number or a 1-D array of ridges >= 0")
    return ridges


def kernel_ridge(gram, y, ridge=0.0) -> np.ndarray:
    """Dual coefficients ``alpha[j] = (K + ridge[j] I)^+ y`` for each ridge.

    ``gram`` is the raw ``P x P`` Gram matrix, ``y`` the labels ``(P,)`` or ``(P, outputs)``;
    returns shape ``(ridges, P) + y.shape[1:]``. Eigenvalues below ``1e-12`` of the largest
    count as zero (pseudo-inverse at ``ridge = 0``, and at any ridge below that tolerance,
    which float64 cannot tell from 0). Predict with ``k_test @ alpha[j]``.
    """
    K = checks.finite_array("gram", gram, ndim=2)
    if K.shape[0] != K.shape[1]:
        raise ParameterError(f"gram: must be square, got {K.shape}")
    labels = checks.finite_array("y", y)
    if labels.shape[0] != K.shape[0]:
        raise ParameterError(f"y: {K.shape[0]} labels needed, got {labels.shape[0]}")
    s, U = np.linalg.eigh(0.5 * (K + K.T))
    proj = U.T @ labels.reshape(K.shape[0], -1)
    floor = _RANK_TOL * max(float(s.max()), 0.0)
    keep = s > floor
    out = []
    for r in _ridges(ridge):
        # a ridge below the rank tolerance cannot regularise the null modes in float64:
        # the ridgeless pseudo-inverse (1/ridge on rounding noise would overflow)
        inv = np.where(keep, 1.0 / np.where(keep, s + r, 1.0), 0.0) if r <= floor \
            else 1.0 / (np.maximum(s, 0.0) + r)
        out.append((U @ (inv[:, None] * proj)).reshape(labels.shape))
    return np.array(out)


@dataclasses.dataclass(frozen=True)
class GaussianDesign(Result):
    """Kernel ridge regression on a Gaussian design, per draw of the training set and per
    ridge: ``test_samples`` (population error against the clean target), ``train_samples``
    (mean squared error on the noisy training labels), shape ``(draws, ridges)``. A
    simulation: no health fields."""

    ridge: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    test_samples: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    train_samples: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def test_error(self) -> Estimate:
        """Mean population test error (clean target) at each ridge, with its stderr."""
        return replica_estimate(self.test_samples)

    @property
    def train_error(self) -> Estimate:
        """Mean training error at each ridge, with its stderr."""
        return replica_estimate(self.train_samples)


def gaussian_design(eigenvalues, coefficients, P, ridge=0.0, noise=0.0, n_replicas=32,
                    seed=0) -> GaussianDesign:
    """Kernel ridge regression with ``P`` samples of Gaussian eigenfeatures.

    Args:
        eigenvalues: one ``lambda_rho >= 0`` per mode (1-D, expand degenerate levels).
        coefficients: the target's ``v_rho`` per mode.
        P: training samples (integer >= 1).
        ridge: a number or 1-D array (>= 0), all fitted on the same draws.
        noise: label-noise variance (>= 0).
        n_replicas: independent training sets.
        seed: int or ``numpy.random.Generator``.
    """
    lam = checks.finite_array("eigenvalues", eigenvalues, ndim=1, low=0.0)
    if lam.size == 0:
        raise ParameterError("eigenvalues: at least one mode is needed, got none")
    v = checks.finite_array("coefficients", coefficients, ndim=1)
    if v.shape != lam.shape:
        raise ParameterError(f"coefficients: one per mode ({lam.size}), got {v.size}")
    P = checks.integer("P", P, low=1)
    noise = checks.real("noise", noise, low=0.0)
    n_replicas = checks.integer("n_replicas", n_replicas, low=1)
    if not (np.isfinite(v @ v) and np.isfinite(lam @ (v * v))):
        raise ParameterError("coefficients: the target power sum(v^2), sum(lambda v^2) "
                             "overflows float64")
    size = float(P) * max(P, lam.size)
    checks.work("P", size, checks.MEMORY_LIMIT, what="design and Gram entries")
    checks.work("n_replicas", n_replicas * size * P, what="operations (P^2 per mode)")
    ridges = _ridges(ridge)
    test, train = [], []
    for rng in as_rng(seed).spawn(n_replicas):
        phi = rng.standard_normal((P, lam.size))
        y = phi @ v + np.sqrt(noise) * rng.standard_normal(P)
        alpha = kernel_ridge((phi * lam) @ phi.T, y, ridges)           # (ridges, P)
        w = (alpha @ phi) * lam                                           # (ridges, modes)
        test.append(((w - v) ** 2).sum(1))
        train.append(((w @ phi.T - y) ** 2).mean(1))
    return GaussianDesign(parameters=dict(P=P, noise=noise, n_replicas=n_replicas,
                                          seed=seed if isinstance(seed, int) else None),
                          ridge=ridges, test_samples=np.array(test),
                          train_samples=np.array(train))
