"""Ridge regression on the last layer of a deep random network, simulated: the measurement
behind the deterministic equivalent of Schröder, Cui, Dmitriev & Loureiro 2023
(arXiv:2302.00401; theory in ``nnphys.theory.generalization.deep_random_features``).

Per draw: weights ``W_l`` iid ``N(0, 1)`` (``k_l x k_{l-1}``, ``k_0 = d``), features
``phi = h_L``, ``h_l = sigma_l(W_l h_{l-1} / sqrt(k_{l-1}))``, ``h_0 = x ~ N(0, I_d)``; a
teacher ``theta*`` (fixed, or iid ``N(0, 1)`` per draw), labels ``y = theta* . x/sqrt(d) +
eps``, ``Var eps = noise``; ``theta = (Phi^T Phi / p + ridge I)^{-1} Phi^T y / sqrt(p)``
(ridge ``0``: the minimum-norm least-squares fit, by ``lstsq``), so ``f(x) = theta . phi(x) /
sqrt(p)`` is kernel ridge regression with the raw Gram matrix of ``phi . phi' / p``. Test
error against the clean teacher on ``n_test`` fresh inputs (unbiased for the population
error of the draw). :func:`gaussian_covariates` fits the Gaussian covariate model with given
second moments (``omega``, ``cross``, ``target_power``) instead, with its exact population
test error: the other side of the universality statement.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from ..models import network
from ..models.network import as_rng
from ..results import Result
from ..stats import Estimate, sample_mean

__all__ = ["draw_weights", "features", "DeepRidge", "deep_ridge", "gaussian_covariates"]


def draw_weights(d: int, widths, seed=None) -> list[np.ndarray]:
    """iid ``N(0, 1)`` matrices ``W_l`` of shapes ``(k_l, k_{l-1})``, ``k_0 = d``."""
    rng = as_rng(seed)
    d = checks.integer("d", d, low=1)
    sizes = [d] + _widths(widths)
    checks.work("d, widths", sum(a * b for a, b in zip(sizes, sizes[1:])),
                checks.MEMORY_LIMIT, what="weight entries")
    return [rng.standard_normal((sizes[i + 1], sizes[i])) for i in range(len(sizes) - 1)]


def features(x, weights, activations) -> np.ndarray:
    """``h_L`` of the inputs ``x`` (rows) through ``sigma_l(W_l h / sqrt(k_{l-1}))``;
    ``activations``: one activation layer of ``nnphys.models.network`` or one per layer."""
    if isinstance(weights, np.ndarray) and weights.ndim == 2:
        weights = [weights]
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__iter__"):
        raise ArgumentTypeError(f"weights: must be a list of 2-D arrays, got "
                                f"{type(weights).__name__}")
    weights = [checks.finite_array("weights", W, ndim=2) for W in weights]
    acts = _activations(activations, len(weights))
    h = checks.finite_array("x", x, ndim=2)
    for W, act in zip(weights, acts):
        if W.shape[1] != h.shape[1]:
            raise ParameterError(f"weights: a {W.shape} matrix after a layer of width "
                                 f"{h.shape[1]}")
        h = act.fn(h @ W.T / math.sqrt(W.shape[1]))
    return h


def _sample_sizes(P) -> np.ndarray:
    sizes = np.atleast_1d(np.asarray(P))
    if sizes.ndim != 1 or sizes.size == 0:
        raise ParameterError("P: one or more sample sizes")
    return np.array([checks.integer("P", n, low=1) for n in sizes])


def _widths(widths) -> list:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__iter__"):
        raise ArgumentTypeError(f"widths: must be a sequence of integers, got "
                                f"{type(widths).__name__}")
    return [checks.integer("widths", k, low=1) for k in widths]


def _activations(activations, n: int) -> list:
    """One activation layer per weight matrix (one given is used for all)."""
    if isinstance(activations, network.Activation):
        return [activations] * n
    if isinstance(activations, (str, bytes)) or not hasattr(activations, "__iter__"):
        raise ArgumentTypeError(f"activations: must be an activation layer or a list of "
                                f"them, got {type(activations).__name__}")
    acts = list(activations)
    if not all(isinstance(a, network.Activation) for a in acts):
        raise ArgumentTypeError("activations: must be activation layers of "
                                "nnphys.models.network")
    if len(acts) != n:
        raise ParameterError(f"activations: one per weight matrix ({n})")
    return acts


def _fit_error(F, y, F_test, f_test, ridge):
    p = F.shape[1]
    # a ridge below the float64 resolution of F^T F / p's diagonal cannot be represented
    # in it: the fit is its ridgeless (minimum-norm) limit
    if ridge <= np.finfo(float).eps * float(np.max(np.sum(F * F, axis=0))) / p:
        theta = np.linalg.lstsq(F / math.sqrt(p), y, rcond=None)[0]
    else:
        A = F.T @ F / p + ridge * np.eye(p)
        theta = np.linalg.solve(A, F.T @ y / math.sqrt(p))
    return float(np.mean((F_test @ theta / math.sqrt(p) - f_test) ** 2))


@dataclasses.dataclass(frozen=True)
class DeepRidge(Result):
    """Test errors of the draws ``per_replica`` (``draws x len(P)``) at the sample sizes
    ``P``; :attr:`test_error` is their mean with its standard error."""

    P: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    per_replica: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def test_error(self) -> Estimate:
        """Mean test error over draws at each ``P`` (``nnphys.stats.sample_mean``)."""
        return sample_mean(self.per_replica)


def deep_ridge(d: int, widths, activations, P, *, ridge: float = 0.0, noise: float = 0.0,
               draws: int = 16, n_test: int = 2000, seed=None, teacher=None,
               on_draw=None) -> DeepRidge:
    """Simulated test error of last-layer ridge regression on deep random features.

    Args:
        d: input dimension.
        widths: ``k_1 ... k_L``.
        activations: as in :func:`features`.
        P: training-set sizes (all fitted on nested subsets of one sample per draw).
        ridge, noise: ridge on the raw Gram matrix, label-noise variance.
        draws: independent draws of weights, teacher (unless given), data.
        n_test: fresh test inputs per draw.
        seed: int, ``numpy.random.Generator`` or None.
        teacher: a fixed ``theta*`` (length ``d``); default iid ``N(0, 1)`` per draw.
        on_draw: optional ``callback(weights, teacher)`` called once per draw (e.g. to
            evaluate the theory on the same draw).
    """
    rng = as_rng(seed)
    sizes = _sample_sizes(P)
    ridge = checks.real("ridge", ridge, low=0.0)
    noise = checks.real("noise", noise, low=0.0)
    draws = checks.integer("draws", draws, low=2)
    n_test = checks.integer("n_test", n_test, low=1)
    d = checks.integer("d", d, low=1)
    if teacher is not None:
        teacher = checks.finite_array("teacher", teacher, ndim=1)
        if teacher.shape != (d,):
            raise ParameterError(f"teacher: must have length d = {d}, got {teacher.size}")
    if on_draw is not None and not callable(on_draw):
        raise ArgumentTypeError(f"on_draw: must be callable, got {type(on_draw).__name__}")
    layer_sizes = [d] + _widths(widths)
    _activations(activations, len(layer_sizes) - 1)
    checks.work("d, widths, P, n_test", (int(sizes.max()) + n_test) * max(layer_sizes),
                checks.MEMORY_LIMIT, what="feature entries per draw")
    checks.work("d, widths, P, n_test, draws",
                draws * (int(sizes.max()) + n_test) * sum(layer_sizes)
                + draws * sum(a * b for a, b in zip(layer_sizes, layer_sizes[1:])),
                what="feature entries")
    out = np.empty((draws, sizes.size))
    for r in range(draws):
        weights = draw_weights(d, widths, rng)
        theta = rng.standard_normal(d) if teacher is None else teacher
        if on_draw is not None:
            on_draw(weights, theta)
        x = rng.standard_normal((int(sizes.max()) + n_test, d))
        f = x @ theta / math.sqrt(d)
        F = features(x, weights, activations)
        y = f + math.sqrt(noise) * rng.standard_normal(f.size)
        F_test, f_test = F[-n_test:], f[-n_test:]
        for j, n in enumerate(sizes):
            out[r, j] = _fit_error(F[:n], y[:n], F_test, f_test, ridge)
    return DeepRidge(parameters={"d": int(d), "widths": [int(k) for k in widths],
                                 "ridge": ridge, "noise": noise, "draws": draws,
                                 "n_test": n_test},
                     P=sizes.astype(float), per_replica=out)


def gaussian_covariates(omega, cross, target_power: float, P, *, ridge: float = 0.0,
                        noise: float = 0.0, draws: int = 16, seed=None) -> DeepRidge:
    """The same ridge fit on the Gaussian covariate model: ``phi ~ N(0, omega)``,
    ``f* = beta . phi + r xi`` with ``beta = omega^+ cross``, ``r^2 = target_power -
    cross . beta``, ``xi ~ N(0, 1)`` independent; the test error is the exact population
    error of each fit, ``(beta - theta/sqrt(p))^T omega (beta - theta/sqrt(p)) + r^2``."""
    rng = as_rng(seed)
    om = checks.finite_array("omega", omega, ndim=2)
    if om.shape[0] == 0 or om.shape[0] != om.shape[1]:
        raise ParameterError(f"omega: must be a non-empty square matrix, got shape {om.shape}")
    c = checks.finite_array("cross", cross, ndim=1)
    if c.shape != (om.shape[0],):
        raise ParameterError(f"cross: must have length {om.shape[0]} (omega's), got {c.size}")
    target_power = checks.real("target_power", target_power, low=0.0)
    sizes = _sample_sizes(P)
    ridge = checks.real("ridge", ridge, low=0.0)
    noise = checks.real("noise", noise, low=0.0)
    draws = checks.integer("draws", draws, low=2)
    checks.work("draws, P, omega", draws * int(sizes.max()) * om.shape[0] ** 2,
                what="operations")
    w, U = np.linalg.eigh(om)
    w = np.clip(w, 0.0, None)
    root = U * np.sqrt(w)
    beta = np.linalg.pinv(om, rcond=1e-12, hermitian=True) @ c
    r2 = float(target_power) - float(c @ beta)
    if r2 < -1e-9 * abs(float(target_power)):
        raise ParameterError("target_power, cross: target_power is below the part "
                             "cross . omega^+ cross the covariates explain")
    r = math.sqrt(max(r2, 0.0))
    p = om.shape[0]
    out = np.empty((draws, sizes.size))
    for k in range(draws):
        F = rng.standard_normal((int(sizes.max()), p)) @ root.T
        y = F @ beta + r * rng.standard_normal(F.shape[0]) \
            + math.sqrt(noise) * rng.standard_normal(F.shape[0])
        for j, n in enumerate(sizes):
            Fn = F[:n] / math.sqrt(p)
            if ridge == 0:
                theta = np.linalg.lstsq(Fn, y[:n], rcond=None)[0]
            else:
                theta = np.linalg.solve(Fn.T @ Fn + ridge * np.eye(p), Fn.T @ y[:n])
            e = beta - theta / math.sqrt(p)
            out[k, j] = float(e @ om @ e) + r * r
    return DeepRidge(parameters={"p": int(p), "ridge": ridge, "noise": noise,
                                 "draws": draws}, P=sizes.astype(float), per_replica=out)
