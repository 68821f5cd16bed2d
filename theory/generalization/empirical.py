"""Empirical spectra: eigenvalues and target power of a kernel on a sample of a data set.

The spectral learning curve (:mod:`.eigenlearning`) needs the eigenvalues of the kernel's
integral operator under the data distribution and the target's power per mode. For a real
data set neither is known in closed form; Canatar, Bordelon & Pehlevan 2021 (arXiv:2006.13198,
Sec. "Applications to real data") take a large sample of ``M`` points as the population and
diagonalise the Gram matrix on it. With ``K = U diag(s) U^T`` the raw ``M x M`` Gram matrix:

* eigenvalues ``lambda_rho = s_rho / M`` (the integral operator of the empirical measure
  ``(1/M) sum_a delta_{x_a}``: ``(1/M) sum_b K(x_a, x_b) phi(x_b) = lambda phi(x_a)``);
* eigenfunctions ``phi_rho(x_a) = sqrt(M) U_{a rho}``, so ``(1/M) sum_a phi_rho phi_rho' =
  delta``;
* target coefficients ``v_rho = (1/M) sum_a phi_rho(x_a) y_a = (U^T y)_rho / sqrt(M)``, and
  for targets with several outputs (one-hot classes) the power summed over outputs,
  ``target_power_rho = sum_c (U^T Y)_{rho c}^2 / M`` (the learning curve of a multi-output
  target is the sum of its outputs' curves: the estimator acts on each column alike).

Then ``sum_rho target_power_rho = (1/M) sum_a |y_a|^2`` (the population mean squared target)
and ``sum_rho lambda_rho = tr K / M``.

Finite-sample bias (Shawe-Taylor, Williams, Cristianini & Kandola 2005, "On the eigenspectrum
of the Gram matrix and the generalization error of kernel PCA", IEEE Trans. Inf. Theory 51):
for the *true* distribution these are estimates. The sum of the top ``r`` empirical
eigenvalues over-estimates the population one on average (``E sum_{rho<=r} lambda_rho^(M) >=
sum_{rho<=r} lambda_rho``) and the tail is under-estimated, cut off at ``M`` modes; eigenvalues
below ``~ lambda_1 / sqrt(M)`` (fluctuations ``O(1/sqrt(M))`` relative to the top) and their
target projections are noise. The learning curve from the empirical spectrum is therefore
trustworthy for ``P << M``; it is *exact input* (no spectral bias at all) for the
distribution "uniform on the ``M`` sample points", which is the setting of the checks in
:mod:`nnphys.validation.generalization` (training sets drawn from the same ``M`` points, as
Canatar et al. did for MNIST). Eigenvalues within ``1e-12`` of the largest (rounding) are set
to zero: such directions are never learned (the learning curve's rank ``M`` counts the rest).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import checks
from ...errors import ParameterError
from ...results import Result
from .eigenlearning import LearningCurve, spectral_learning_curve

__all__ = ["EmpiricalSpectrum", "empirical_spectrum", "empirical_learning_curve"]

_RANK_TOL = 1e-12       # relative eigenvalue below which the Gram matrix is singular
_LARGEST = 1e150        # largest entry whose square (power per mode) stays finite


@dataclasses.dataclass(frozen=True)
class EmpiricalSpectrum(Result):
    """Spectrum of a kernel on ``M`` sample points, in decreasing order of ``eigenvalues``.

    ``eigenvalues`` (``M``,): of the integral operator (Gram eigenvalues over ``M``);
    ``target_power`` (``M``,): squared target coefficient per mode, summed over outputs;
    ``mode_power`` (``M, outputs``): the same per output. Feeds
    :func:`~nnphys.theory.generalization.learning_curve` (``eigenvalues``, ``target_power``).
    An exact decomposition: no solver health fields.
    """

    eigenvalues: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    target_power: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    mode_power: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def M(self) -> int:
        """The number of sample points."""
        return int(self.eigenvalues.size)

    def cumulative_power(self) -> np.ndarray:
        """``C(rho) = sum_{rho' <= rho} target_power / sum target_power`` (Canatar et al.
        2021's task-model alignment curve)."""
        total = float(self.target_power.sum())
        return np.cumsum(self.target_power) / total if total > 0 else \
            np.zeros_like(self.target_power)


def empirical_spectrum(gram, y) -> EmpiricalSpectrum:
    """Eigenvalues and target power per mode from the raw Gram matrix on ``M`` points.

    Args:
        gram: the ``M x M`` kernel Gram matrix ``K(x_a, x_b)`` (symmetric, positive
            semi-definite; its symmetric part is used).
        y: targets at the same points, ``(M,)`` or ``(M, outputs)`` (e.g. one-hot classes).

    Returns:
        An :class:`EmpiricalSpectrum` (equations and finite-sample bias: module docstring).
    """
    K = checks.finite_array("gram", gram, ndim=2)
    if K.shape[0] != K.shape[1] or K.shape[0] < 1:
        raise ParameterError(f"gram: must be a non-empty square matrix, got {K.shape}")
    M = K.shape[0]
    Y = checks.finite_array("y", y)
    if Y.ndim not in (1, 2) or Y.shape[0] != M:
        raise ParameterError(f"y: must have shape ({M},) or ({M}, outputs), got {Y.shape}")
    Y = Y.reshape(M, -1)
    if np.abs(Y).max() > _LARGEST or np.abs(K).max() > _LARGEST:
        name = "y" if np.abs(Y).max() > _LARGEST else "gram"
        raise ParameterError(f"{name}: entries must be at most {_LARGEST:g} in magnitude "
                             "(their squares must be finite)")
    s, U = np.linalg.eigh(0.5 * (K + K.T))
    order = np.argsort(s)[::-1]
    s, U = s[order], U[:, order]
    top = float(s[0])
    if top <= 0:
        raise ParameterError("gram: has no positive eigenvalue")
    if s[-1] < -1e-8 * top:
        raise ParameterError(f"gram: not positive semi-definite (eigenvalue {s[-1]:.3g} "
                             f"against the largest {top:.3g})")
    lam = np.where(s > _RANK_TOL * top, s, 0.0) / M
    per_output = (U.T @ Y) ** 2 / M
    return EmpiricalSpectrum(parameters={"M": M, "outputs": Y.shape[1]}, eigenvalues=lam,
                             target_power=per_output.sum(axis=1), mode_power=per_output)


def empirical_learning_curve(gram, y, P, ridge=0.0, noise=0.0) -> LearningCurve:
    """:func:`~nnphys.theory.generalization.learning_curve` from the empirical spectrum of
    ``gram`` and ``y`` (:func:`empirical_spectrum`): the test error (summed over outputs)
    of kernel ridge regression with ``P`` samples drawn from the ``M`` points. ``ridge``
    is added to the raw ``P x P`` Gram matrix; ``noise`` is the label-noise variance of each
    output (one-hot labels are noiseless: ``0``); the returned ``noise`` parameter is the
    sum over outputs."""
    spec = empirical_spectrum(gram, y)
    noise = checks.real("noise", noise, low=0.0)
    # Every output carries its own label noise: summed over outputs, the noise variance is
    # outputs * noise (kappa and E0 do not depend on it; its terms are linear in it).
    return spectral_learning_curve(spec.eigenvalues, spec.target_power, P, ridge=ridge,
                                   noise=noise * spec.parameters["outputs"])
