"""Specs of the solvable regression models of neural scaling laws: each spectrum and each
default learning rate is defined here once, and :mod:`nnphys.theory` and :mod:`nnphys.sim`
both read it.

* :class:`BAPModel` -- the linear random-feature model of Bordelon, Atanasov & Pehlevan,
  "A Dynamical Model of Neural Scaling Laws", ICML 2024, arXiv:2402.01092 (Sec. 2):
  eigenfeatures with ``lambda_k = k^{-b}`` and target power ``lambda_k w*_k^2 = k^{-a}``,
  ``k = 1..M``, learned by ``N`` random features from ``P`` examples. Its :class:`Spectrum`
  (eigenvalues and squared target coefficients) is what the DMFT and the simulation use;
  any other spectrum can be given as a :class:`Spectrum` directly.
* :class:`MRSModel` -- the latent power-law data model of Maloney, Roberts & Sully,
  "A Solvable Model of Neural Scaling Laws", arXiv:2210.16859 (2022): latent features with
  covariance eigenvalues ``lambda_I = I^{-(1+alpha)}``, ``I = 1..M`` (``M = None``: infinite).
* :class:`PLRFModel` -- power-law random features of Paquette, Paquette, Xiao & Pennington,
  "4+3 Phases of Compute-Optimal Neural Scaling Laws", NeurIPS 2024, arXiv:2405.15074
  (Sec. 2): data variances ``D_j = j^{-2 alpha}``, target ``b_j = j^{-beta}``, ``j = 1..v``,
  ``d`` parameters, and the step ``gamma = 1/((B + 1) Tr D)`` of one-pass SGD with batch ``B``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..errors import ParameterError

__all__ = ["Spectrum", "BAPModel", "MRSModel", "PLRFModel"]

#: the authors' ratio of data dimension to parameters in PLRF (``v = 4 d``)
PLRF_V_RATIO = 4
_EXACT_TRACE = 10 ** 6     # Tr D: exact sum up to this j, Euler-Maclaurin integral beyond


@dataclasses.dataclass(frozen=True)
class Spectrum:
    """Kernel eigenvalues ``lambda_k > 0`` and squared target coefficients ``w*_k^2 >= 0``."""

    eigenvalues: np.ndarray
    target: np.ndarray

    def __post_init__(self):
        lam = checks.finite_array("eigenvalues", self.eigenvalues, ndim=1, low=0.0,
                                  low_open=True)
        tgt = checks.finite_array("target", self.target, ndim=1, low=0.0)
        if lam.size == 0:
            raise ParameterError("eigenvalues: at least one eigenvalue, got none")
        if lam.shape != tgt.shape:
            raise ParameterError(f"target: one entry per eigenvalue ({lam.size}), got "
                                 f"{tgt.size}")
        object.__setattr__(self, "eigenvalues", lam)
        object.__setattr__(self, "target", tgt)

    @property
    def initial_loss(self) -> float:
        """``L(w = 0) = sum_k lambda_k w*_k^2``."""
        return float(self.eigenvalues @ self.target)


@dataclasses.dataclass(frozen=True)
class BAPModel:
    """The power-law spectrum of Bordelon, Atanasov & Pehlevan 2024 (Sec. 2):
    ``lambda_k = k^{-b}``, ``lambda_k w*_k^2 = k^{-a}``, ``k = 1..M`` (a finite loss as
    ``M -> infinity`` needs ``a > 1``)."""

    a: float = 2.0
    b: float = 1.5
    M: int = 4000

    def __post_init__(self):
        object.__setattr__(self, "a", checks.positive("a", self.a))
        object.__setattr__(self, "b", checks.positive("b", self.b))
        object.__setattr__(self, "M", checks.integer("M", self.M, low=1, high=10 ** 7))
        log_m = math.log(self.M)
        if self.b * log_m > 700 or abs(self.a - self.b) * log_m > 700:
            raise ParameterError(f"a, b: lambda_M = M^(-b), w*_M^2 lambda_M = M^(-a) leave "
                                 f"float64 at M = {self.M} (a = {self.a}, b = {self.b})")

    @property
    def spectrum(self) -> Spectrum:
        k = np.arange(1, self.M + 1, dtype=float)
        return Spectrum(k ** -self.b, k ** -(self.a - self.b))


@dataclasses.dataclass(frozen=True)
class MRSModel:
    """The latent spectrum of Maloney, Roberts & Sully 2022: ``lambda_I = I^{-(1+alpha)}``,
    ``I = 1..M`` (``M = None`` or ``inf``: an unbounded power law)."""

    alpha: float = 1.0
    M: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "alpha", checks.positive("alpha", self.alpha))
        M = self.M
        if M is not None and not (isinstance(M, float) and math.isinf(M)):
            M = checks.integer("M", M, low=1, high=10 ** 9)
        else:
            M = None
        object.__setattr__(self, "M", M)

    def eigenvalue(self, index):
        """``lambda(I) = I^{-(1+alpha)}`` at (real, positive) indices ``I``."""
        return np.asarray(index, dtype=float) ** -(1.0 + self.alpha)

    @property
    def eigenvalues(self) -> np.ndarray:
        """All ``M`` eigenvalues (a finite ``M`` only)."""
        if self.M is None:
            raise ParameterError("M: the eigenvalues of an infinite spectrum cannot be listed")
        return self.eigenvalue(np.arange(1, self.M + 1))


@dataclasses.dataclass(frozen=True)
class PLRFModel:
    """The power-law random features problem of Paquette, Paquette, Xiao & Pennington 2024
    (Sec. 2): ``D_j = j^{-2 alpha}``, ``b_j = j^{-beta}``, ``j = 1..v``, ``d`` parameters
    (``v`` defaults to ``4 d``, the authors' ratio)."""

    alpha: float
    beta: float
    d: int
    v: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "alpha", checks.positive("alpha", self.alpha))
        object.__setattr__(self, "beta", checks.real("beta", self.beta))
        d = checks.integer("d", self.d, low=1)
        v = PLRF_V_RATIO * d if self.v is None else checks.integer("v", self.v, low=1)
        if v < d:
            raise ParameterError(f"v: the data dimension must be >= the parameter count d "
                                 f"= {d}, got v = {v}")
        if 2 * self.alpha * math.log(v) > 700 or abs(self.beta) * math.log(v) > 700:
            raise ParameterError(f"alpha, beta: D_v = v^(-2 alpha), b_v = v^(-beta) leave "
                                 f"float64 at v = {v} (alpha = {self.alpha}, beta = "
                                 f"{self.beta})")
        object.__setattr__(self, "d", d)
        object.__setattr__(self, "v", v)

    def data_variance(self, j):
        """``D_j = j^{-2 alpha}`` at (real, positive) indices ``j``."""
        return np.asarray(j, dtype=float) ** (-2.0 * self.alpha)

    def target(self, j):
        """``b_j = j^{-beta}``."""
        return np.asarray(j, dtype=float) ** -self.beta

    @property
    def trace_D(self) -> float:
        """``Tr D = sum_{j <= v} j^{-2 alpha}``: exact up to ``j = 10^6``, beyond by the
        midpoint-rule (Euler-Maclaurin) integral ``int_{10^6 + 1/2}^{v + 1/2} x^{-2 alpha}``."""
        j = np.arange(1, min(self.v, _EXACT_TRACE) + 1, dtype=float)
        total = float(np.sum(self.data_variance(j)))
        if self.v > _EXACT_TRACE:
            lo, hi = _EXACT_TRACE + 0.5, self.v + 0.5
            p = 1.0 - 2.0 * self.alpha
            total += (hi ** p - lo ** p) / p if p != 0 else math.log(hi / lo)
        return total

    def default_lr(self, batch: int = 1) -> float:
        """``gamma = 1/((B + 1) Tr D)`` (the authors' ``gamma ~ 1/(2 Tr D)`` at ``B = 1``;
        one-pass SGD is stable roughly for ``gamma (B + 1) Tr K / 2 < 1``, ``Tr K ~ Tr D``)."""
        batch = checks.integer("batch", batch, low=1)
        return 1.0 / ((batch + 1) * self.trace_D)
