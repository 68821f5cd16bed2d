"""The test error of kernel ridge regression estimated from the training data alone.

The kernel alignment risk estimator (KARE) of Jacot, Simsek, Spadaro, Hongler & Gabriel 2020
(arXiv:2006.09796, Sec. 4), in the raw-Gram convention ``f(x) = k(x)^T (K + ridge I)^{-1} y``
(their ``(K/P + lambda I)`` with ``ridge = P lambda``)::

    KARE = P y^T A^2 y / (tr A)^2,        A = (K + ridge I)^{-1},

which is also generalised cross-validation (Craven & Wahba 1979), ``(1/P)|(I - H) y|^2 /
((1/P) tr(I - H))^2`` with the hat matrix ``H = K A`` (``I - H = ridge A``). It estimates the
mean squared error on *noisy* test labels (``test_error + noise`` of
:class:`~nnphys.theory.generalization.LearningCurve`); in the proportional limit it equals
the eigenlearning value ``E0 (sum (1-L)^2 v^2 + noise)`` (Simon et al. 2023, arXiv:2110.03922,
Sec. 4.3). From one eigendecomposition ``K = U diag(s) U^T``, ``y^T A^2 y = sum (U^T y)^2 /
(s + ridge)^2`` and ``tr A = sum 1/(s + ridge)``, for every ridge at once; at ``ridge = 0``
(``K`` invertible) the same formulas hold with ``A = K^{-1}``.
"""

from __future__ import annotations

import numpy as np

from ... import checks
from ...errors import NumericalError, ParameterError

__all__ = ["kernel_alignment_risk"]


def kernel_alignment_risk(gram, y, ridge=0.0):
    """KARE/GCV estimate of the noisy-label test MSE from the training Gram matrix.

    Args:
        gram: the raw ``P x P`` kernel Gram matrix of the training inputs (symmetric PSD).
        y: training labels, shape ``(P,)`` or ``(P, outputs)`` (outputs summed).
        ridge: ``>= 0`` (a number or 1-D array of ridges).

    Returns:
        The estimate, a float or an array over ``ridge``.

    Raises:
        NumericalError: ``ridge = 0`` with a singular Gram matrix (no interpolant to assess).
    """
    K = checks.finite_array("gram", gram, ndim=2)
    P = K.shape[0]
    if K.shape != (P, P) or P < 2:
        raise ParameterError(f"gram: a square P x P matrix with P >= 2, got {K.shape}")
    labels = checks.finite_array("y", y)
    if labels.shape[0] != P or labels.ndim > 2:
        raise ParameterError(f"y: shape ({P},) or ({P}, outputs), got {labels.shape}")
    ridges = np.asarray(checks.finite_array("ridge", ridge, low=0.0), dtype=float)
    s, U = np.linalg.eigh(0.5 * (K + K.T))
    proj = (U.T @ labels.reshape(P, -1)) ** 2
    proj = proj.sum(1)
    if not np.all(np.isfinite(proj)):
        raise ParameterError("y: the squared labels overflow float64")
    scale = max(float(np.abs(s).max()), np.finfo(float).tiny)
    flat = np.atleast_1d(ridges).ravel()
    if np.any((flat == 0) & (s.min() <= 1e3 * P * np.finfo(float).eps * scale)):
        raise NumericalError("ridge: 0 needs an invertible Gram matrix; its smallest "
                             f"eigenvalue is {s.min():.3g} of {scale:.3g}")
    g = s[None, :] + flat[:, None]
    # in units of the smallest s + ridge (the ratio is scale-free): no under/overflow of
    # 1/(s + ridge)^2 at any ridge
    inv = g.min(axis=1, keepdims=True) / g
    out = P * (proj * inv ** 2).sum(1) / inv.sum(1) ** 2
    return float(out[0]) if ridges.ndim == 0 else out.reshape(ridges.shape)
