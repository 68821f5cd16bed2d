"""Spectral learning curves of kernel (ridge) regression: the self-consistent ``kappa``.

Conventions (Bordelon, Canatar & Pehlevan 2020, arXiv:2002.02561; Canatar, Bordelon &
Pehlevan 2021, arXiv:2006.13198; Simon, Dickens, Karkada & DeWeese 2023, "eigenlearning",
arXiv:2110.03922):

* ``K(x, x') = sum_rho lambda_rho phi_rho(x) phi_rho(x')`` with ``E_x[phi_rho phi_rho'] =
  delta``: the ``eigenvalues`` are those of the kernel's integral operator under the data
  distribution, one entry per *level*; a level of ``m_i`` degenerate modes is one entry with
  multiplicity ``m_i``.
* ``target_power[i] = sum over the level's modes of v_rho^2`` for ``f* = sum_rho v_rho
  phi_rho``; labels ``y = f*(x) + eps`` with ``Var eps = noise``.
* The estimator is ``f(x) = k(x)^T (K + ridge I)^{-1} y`` with ``K`` the raw ``P x P`` Gram
  matrix (with ``(K/P + r I)^{-1}`` instead, ``ridge = P r``).

Equations (eigenlearning form). ``kappa >= 0`` solves::

    sum_i m_i lambda_i / (lambda_i + kappa) + ridge / kappa = P,                     (K)

which is :func:`nnphys.theory.spectral.tau_fixed_point` with ``tau = 1/kappa``, weights
``m_i`` and ``n = P`` (solved there, vectorised over ``P``). Then

    L_i = lambda_i / (lambda_i + kappa)                 (learnability of each mode of level i)
    E0  = P / (P - sum_i m_i L_i^2)                     (overfitting coefficient)
    mode_errors_i = E0 (1 - L_i)^2 target_power_i       (level i's share of the test error)
    test_error    = sum_i mode_errors_i + noise (E0 - 1)          (against clean targets)
    train_error   = (ridge / (P kappa))^2 E0 (sum_i (1 - L_i)^2 target_power_i + noise).

``P - sum m L^2`` is evaluated as ``ridge/kappa + sum m L (1 - L)`` (positive terms, from (K))
so ``E0`` keeps its digits when ``kappa -> 0``. From 20000 levels on, the sums over levels are
taken by bins of eigenvalues (:class:`nnphys.theory.spectral.SpectralSums`, exact to ~2e-16),
so a grid of ``P`` costs a few hundred terms per ``P`` after one pass over the spectrum (the
bins are built once and shared with the ``kappa`` solve). At ``ridge = 0`` the learnabilities
obey the
conservation law ``sum_i m_i L_i = P``.

Tail model. The spectrum given is the whole kernel: levels with ``lambda = 0`` (and every mode
not listed) are never learned, and the kernel has rank ``M = sum of m_i over lambda_i > 0``.
At ``ridge = 0`` and ``P >= M`` the Gram matrix has rank ``M``, the min-norm interpolant is the
least-squares fit on the ``M`` modes, ``kappa = 0``, ``L_i = 1``, ``E0 = P/(P - M)``,
``test_error = noise M/(P - M)`` (``inf`` at ``P = M`` with noise: the double-descent peak;
``0`` without noise) and ``train_error = noise (P - M)/P``, the ``ridge -> 0`` limits of the
formulas above. To model a continuing tail, list it (a coarse-grained tail may be given as
levels with non-integer multiplicities, e.g. log-spaced bins of a power law).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ... import checks
from ...errors import ParameterError
from ...results import Result
from ..spectral import _BINNED_FROM, SpectralSums, tau_fixed_point

__all__ = ["LearningCurve", "spectral_learning_curve"]


@dataclasses.dataclass(frozen=True)
class LearningCurve(Result):
    """Learning curve of kernel regression on a grid of sample sizes ``P`` (length ``n``).

    Arrays over ``P`` (shape ``(n,)``): ``kappa``, ``overfitting`` (``E0``), ``test_error``
    (clean targets), ``train_error``, ``noise_error`` (``noise (E0 - 1)``, the label-noise
    part of ``test_error``). Per level and ``P`` (shape ``(n, levels)``), computed from
    ``kappa`` when asked (so ``10^6`` levels on a long grid need no ``n x levels`` storage):
    ``learnability`` and ``mode_errors``. ``residual`` is the largest relative residual of
    (K) over the grid (``0`` where ``kappa = 0`` is exact).
    """

    P: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    eigenvalues: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    multiplicities: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    target_power: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    kappa: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    overfitting: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    noise_error: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    test_error: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    train_error: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    @property
    def learnability(self) -> np.ndarray:
        """``L_i = lambda_i / (lambda_i + kappa)`` per ``P`` and level (``1`` at ``kappa = 0``
        for ``lambda_i > 0``; ``0`` for ``lambda_i = 0``)."""
        return _split(self.eigenvalues, self.kappa)[0]

    @property
    def mode_errors(self) -> np.ndarray:
        """``E0 (1 - L_i)^2 target_power_i`` per ``P`` and level."""
        miss = _split(self.eigenvalues, self.kappa)[1]
        bias = miss ** 2 * self.target_power
        with np.errstate(invalid="ignore"):
            return np.where(bias > 0, self.overfitting[:, None] * bias, 0.0)

    @property
    def test_mse(self) -> np.ndarray:
        """Mean squared error against *noisy* test labels, ``test_error + noise``."""
        return self.test_error + float(self.parameters.get("noise", 0.0))

    def plot(self, ax=None):
        """Test error against ``P`` (log-log) with the error of each degree or level
        that carries target power (:func:`nnphys.plotting.curves`); returns the Axes."""
        from ...plotting import curves
        ys = {"test error": self.test_error}
        for k in np.flatnonzero(self.target_power[:-1] > 0):
            ys[f"mode {k}"] = self.mode_errors[:, k]
        return curves(self.P, ys, ax, xlabel="P", ylabel="error", log="xy")


def _split(lam, kappa):
    """``(L, 1 - L)`` of shape ``(P, levels)``, each computed without cancellation."""
    k = np.asarray(kappa)[:, None]
    live = lam > 0
    learn = np.zeros((k.shape[0], lam.size))
    miss = np.ones((k.shape[0], lam.size))
    with np.errstate(divide="ignore", invalid="ignore"):
        learn[:, live] = np.where(k > 0, lam[live] / (lam[live] + k), 1.0)
        miss[:, live] = np.where(k > 0, k / (lam[live] + k), 0.0)
    return learn, miss


_CHUNK = 2 ** 22            # P values x levels handled at once (bounds the temporaries)


def _inputs(eigenvalues, target_power, P, ridge, noise, multiplicities):
    lam = checks.finite_array("eigenvalues", eigenvalues, ndim=1, low=0.0)
    power = checks.finite_array("target_power", target_power, ndim=1, low=0.0)
    if lam.size == 0:
        raise ParameterError("eigenvalues: at least one level is needed")
    if power.shape != lam.shape:
        raise ParameterError(f"target_power: one entry per level ({lam.size}), "
                             f"got {power.size}")
    mult = np.ones_like(lam) if multiplicities is None else checks.finite_array(
        "multiplicities", multiplicities, ndim=1, low=0.0, low_open=True)
    if mult.shape != lam.shape:
        raise ParameterError(f"multiplicities: one entry per level ({lam.size}), "
                             f"got {mult.size}")
    grid = np.atleast_1d(checks.finite_array("P", P, low=0.0, low_open=True)).astype(float)
    if grid.ndim != 1 or grid.size == 0:
        raise ParameterError("P: a number or a non-empty 1-D grid of sample sizes")
    ridge = checks.real("ridge", ridge, low=0.0)
    noise = checks.real("noise", noise, low=0.0)
    if not np.any(lam > 0):
        raise ParameterError("eigenvalues: at least one must be > 0")
    return lam, power, mult, grid, ridge, noise


def spectral_learning_curve(eigenvalues, target_power, P, ridge=0.0, noise=0.0,
                            multiplicities=None) -> LearningCurve:
    """Test and train error of kernel ridge regression from ``P`` samples, by level.

    Args:
        eigenvalues: per-mode eigenvalue ``lambda_i >= 0`` of each level (1-D).
        target_power: ``sum of v_rho^2`` over each level (1-D, ``>= 0``).
        P: sample size(s) ``> 0`` (a number or a 1-D grid).
        ridge: ``>= 0``, added to the raw Gram matrix.
        noise: label-noise variance ``>= 0``.
        multiplicities: modes per level ``> 0`` (default 1; non-integer for a coarse-grained
            tail).

    Returns:
        A :class:`LearningCurve`; see the module docstring for the equations and the tail
        model at ``ridge = 0``, ``P >= M``.

    Example (isotropic, ``d = 100`` modes of ``1/100``, ``P = 30``: ``kappa = 7/300``):
        >>> r = spectral_learning_curve([0.01], [1.0], 30, noise=0.1, multiplicities=[100])
        >>> round(float(r.kappa[0] * 300), 10), round(float(r.test_mse[0]), 12)
        (7.0, 0.842857142857)
    """
    lam, power, mult, grid, ridge, noise = _inputs(eigenvalues, target_power, P, ridge,
                                                   noise, multiplicities)
    live = lam > 0
    rank = float(mult[live].sum())
    kappa, e0 = np.zeros_like(grid), np.zeros_like(grid)
    bias, spare = np.zeros_like(grid), np.zeros_like(grid)
    converged, iterations, residual = True, 0, 0.0
    dead = float(power[~live].sum())                   # never learned: (1 - L)^2 = 1
    if live.all():                                     # no copies of a long spectrum
        lam_l, mult_l, power_l = lam, mult, power
    else:
        lam_l, mult_l, power_l = lam[live], mult[live], power[live]
    sums = SpectralSums(lam_l, w=mult_l, v=power_l) if lam_l.size >= _BINNED_FROM else None
    step = grid.size if sums is not None else max(1, _CHUNK // lam.size)
    for start in range(0, grid.size, step):
        rows = slice(start, start + step)
        n = grid[rows]
        solve = (n < rank) | (ridge > 0)
        k = np.zeros_like(n)
        if solve.any():
            root = tau_fixed_point(lam_l, n[solve], weights=mult_l, ridge=ridge, sums=sums)
            k[solve] = np.atleast_1d(root.kappa)
            converged = converged and root.converged
            iterations = max(iterations, root.iterations)
            residual = max(residual, root.residual)
        if sums is None:
            learn, miss = _split(lam, k)
            spread, unlearned = (learn * miss) @ mult, (miss ** 2) @ power
        else:                           # L (1 - L) = x/(1+x)^2, (1 - L)^2 = 1/(1+x)^2
            tau = 1.0 / np.where(k > 0, k, 1.0)
            spread = np.where(k > 0, sums(tau, "w", "slope"), 0.0)
            unlearned = np.where(k > 0, sums(tau, "v", "miss2"), 0.0) + dead
        with np.errstate(divide="ignore", invalid="ignore"):
            # P - sum m L^2 = ridge/kappa + sum m L (1 - L); = P - M at kappa = 0.
            spare[rows] = np.where(k > 0, ridge / np.where(k > 0, k, 1.0) + spread, n - rank)
        bias[rows] = unlearned
        kappa[rows] = k
    with np.errstate(divide="ignore", invalid="ignore"):
        e0 = np.where(spare > 0, grid / spare, np.inf)
        signal = np.where(bias > 0, e0 * bias, 0.0)
        noise_error = noise * (e0 - 1.0) if noise > 0 else np.zeros_like(grid)
        # (ridge / (P kappa))^2 E0 = (ridge/kappa)/P x (ridge/kappa)/spare, two factors
        # of order one (ridge/kappa ~ P at large P: no overflow); at kappa = 0 its
        # ridge -> 0 limit gives train = noise (P - M)/P (no bias left).
        over = ridge / np.where(kappa > 0, kappa, 1.0)
        shrink = np.where(kappa > 0, (over / grid) * (over / np.where(spare > 0, spare, 1.0)),
                          0.0)
        train = np.where(kappa > 0, shrink * (bias + noise),
                         noise * np.maximum(grid - rank, 0.0) / grid)
    test = signal + noise_error
    return LearningCurve(
        converged=converged, iterations=iterations, residual=residual,
        parameters={"ridge": ridge, "noise": noise, "rank": rank},
        P=grid, eigenvalues=lam, multiplicities=mult, target_power=power, kappa=kappa,
        overfitting=e0, noise_error=noise_error, test_error=test, train_error=train)
