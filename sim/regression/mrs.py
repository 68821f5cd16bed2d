"""Random-feature ridge regression on the latent data model of Maloney, Roberts & Sully,
"A Solvable Model of Neural Scaling Laws", arXiv:2210.16859 (2022).

Per draw (``n_seeds`` independent draws): latent features ``x in R^M`` Gaussian with
covariance ``diag(lambda)``, ``lambda_I = I^{-(1+alpha)}``; target weights ``w_I = +-1``
(random signs, so ``w_I^2 = 1`` exactly) or ``N(0, 1)`` (``target="gaussian"``); labels
``y = w . x + sqrt(noise) eps``; random projection ``A in R^{N x M}`` iid ``N(0, 1)`` and
features

    phi = A x / sqrt(N)                 (activation="linear")
    phi = relu(A x) / sqrt(N)           (activation="relu")

ridge regression on ``P`` samples, ``theta = argmin (1/P) |y - Phi theta|^2 + ridge |theta|^2``
(``ridge = 0``: minimum-norm least squares, Gram eigenvalues below ``1e-12`` of the largest
dropped), computed for all requested ridges from one eigen-decomposition of the smaller
Gram matrix (``Phi^T Phi`` or, for ``N > P``, ``Phi Phi^T``).

The test loss is evaluated **exactly** from the population covariance (no test sample):
``L = E_x (w . x - theta . phi(x))^2`` (clean target), i.e. for linear features
``(w - v)^T Lambda (w - v)`` with ``v = A^T theta / sqrt N``; for ReLU features
``w^T Lambda w - 2 theta . b + theta^T K theta`` with ``b_i = (a_i^T Lambda w)/(2 sqrt N)``
(Stein's lemma) and ``K_ij = sqrt(G_ii G_jj) [sin t + (pi - t) cos t]/(2 pi N)``,
``cos t = G_ij/sqrt(G_ii G_jj)``, ``G = A Lambda A^T`` (the arc-cosine kernel of Cho & Saul
2009). The work is dense linear algebra (BLAS); numba would not pay.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...errors import ParameterError
from ...results import Result

__all__ = ["MRSRegression", "mrs_regression", "latent_spectrum"]


def latent_spectrum(alpha: float, M: int) -> np.ndarray:
    """``lambda_I = I^{-(1+alpha)}``, ``I = 1..M``."""
    return np.arange(1, M + 1, dtype=float) ** -(1.0 + alpha)


@dataclasses.dataclass(frozen=True)
class MRSRegression(Result):
    """Mean test loss over draws at each ridge, its standard error (``nan`` for one draw)
    and the per-draw losses (``per_seed[seed, ridge]``)."""

    ridge: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    stderr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    per_seed: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))


def _relu_kernel(G):
    d = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    c = np.clip(G / np.outer(d, d), -1.0, 1.0)
    t = np.arccos(c)
    return np.outer(d, d) * (np.sqrt(1 - c * c) + (math.pi - t) * c) / (2 * math.pi)


def _one_draw(rng, lam, N, P, ridges, noise, activation, target):
    M = lam.size
    w = rng.choice([-1.0, 1.0], M) if target == "rademacher" else rng.standard_normal(M)
    A = rng.standard_normal((N, M))
    X = rng.standard_normal((P, M)) * np.sqrt(lam)
    y = X @ w
    if noise > 0:
        y = y + math.sqrt(noise) * rng.standard_normal(P)
    H = X @ A.T
    Phi = (H if activation == "linear" else np.maximum(H, 0.0)) / math.sqrt(N)
    # eigen-decomposition of the smaller Gram matrix (cheaper than an SVD of Phi)
    dual = N > P
    e, V = np.linalg.eigh(Phi @ Phi.T if dual else Phi.T @ Phi)
    proj = V.T @ y if dual else V.T @ (Phi.T @ y)
    keep = e > 1e-12 * e[-1]
    out = np.empty(len(ridges))
    lw = lam * w
    wlw = float(w @ lw)
    if activation == "linear":
        ALw = A @ lw / math.sqrt(N)
        ALA = (A * lam) @ A.T / N
    else:
        ALw = 0.5 * (A @ lw) / math.sqrt(N)
        ALA = _relu_kernel((A * lam) @ A.T) / N
    for j, g in enumerate(ridges):
        if g == 0:
            coef = np.where(keep, 1.0 / np.where(keep, e, 1.0), 0.0)
        else:
            coef = 1.0 / (e + P * g)
        theta = Phi.T @ (V @ (coef * proj)) if dual else V @ (coef * proj)
        out[j] = wlw - 2 * theta @ ALw + theta @ ALA @ theta
    return out


def mrs_regression(N: int, P: int, alpha: float, M: int, ridge=0.0, noise: float = 0.0,
                   n_seeds: int = 8, seed=0, activation: str = "linear",
                   target: str = "rademacher") -> MRSRegression:
    """Simulate ridge(less) random-feature regression on the MRS latent model.

    Args:
        N, P: features and training samples (integers >= 1).
        alpha: spectral exponent (> 0); M: latent dimension (integer >= 1).
        ridge: one ridge or an array of ridges (>= 0), all fitted on the same draws.
        noise: label-noise variance (>= 0).
        n_seeds: independent draws of ``(w, A, X, noise)``.
        seed: int or ``numpy.random.Generator``.
        activation: ``"linear"`` or ``"relu"``; target: ``"rademacher"`` or ``"gaussian"``.

    Returns:
        :class:`MRSRegression` (``loss[j]`` at ``ridge[j]``; exact population test loss).
    """
    for name, v in (("N", N), ("P", P), ("M", M), ("n_seeds", n_seeds)):
        if not (isinstance(v, (int, np.integer)) and v >= 1):
            raise ParameterError(f"{name}: must be an integer >= 1, got {v!r}")
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and alpha > 0):
        raise ParameterError(f"alpha: must be a finite number > 0, got {alpha!r}")
    ridges = np.atleast_1d(np.asarray(ridge, dtype=float))
    if ridges.ndim != 1 or np.any(~np.isfinite(ridges)) or np.any(ridges < 0):
        raise ParameterError(f"ridge: must be finite and >= 0, got {ridge!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise ParameterError(f"noise: must be finite and >= 0, got {noise!r}")
    if activation not in ("linear", "relu"):
        raise ParameterError(f"activation: must be 'linear' or 'relu', got {activation!r}")
    if target not in ("rademacher", "gaussian"):
        raise ParameterError(f"target: must be 'rademacher' or 'gaussian', got {target!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lam = latent_spectrum(alpha, M)
    children = rng.spawn(n_seeds)
    per = np.array([_one_draw(c, lam, N, P, ridges, noise, activation, target)
                    for c in children])
    mean = per.mean(axis=0)
    se = per.std(axis=0, ddof=1) / math.sqrt(n_seeds) if n_seeds > 1 else \
        np.full(ridges.size, np.nan)
    return MRSRegression(converged=True, iterations=n_seeds, residual=float("nan"),
                         parameters=dict(N=int(N), P=int(P), alpha=float(alpha), M=int(M),
                                         noise=float(noise), activation=activation,
                                         target=target,
                                         seed=seed if isinstance(seed, int) else None),
                         ridge=ridges, loss=mean, stderr=se, per_seed=per)
