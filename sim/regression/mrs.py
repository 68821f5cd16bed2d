"""Random-feature ridge regression on the latent data model of Maloney, Roberts & Sully,
"A Solvable Model of Neural Scaling Laws", arXiv:2210.16859 (2022).

Per draw (``n_replicas`` independent draws): latent features ``x in R^M`` Gaussian with
covariance ``diag(lambda)``, ``lambda_I = I^{-(1+alpha)}`` (the spec
:class:`nnphys.models.regression.MRSModel`); target weights ``w_I = +-1``
(random signs, so ``w_I^2 = 1`` exactly) or ``N(0, 1)`` (``target="gaussian"``); labels
``y = w . x + sqrt(noise) eps``; random projection ``A in R^{N x M}`` iid ``N(0, 1)`` and
features

    phi = A x / sqrt(N)                 (activation=Identity())
    phi = relu(A x) / sqrt(N)           (activation=Relu())

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

from ... import checks
from ...errors import ParameterError
from ...models.network import Identity, Relu, as_rng
from ...models.regression import MRSModel
from ...results import Result
from ...stats import Estimate
from ._replicas import replica_estimate

__all__ = ["MRSRegression", "mrs_regression"]


@dataclasses.dataclass(frozen=True)
class MRSRegression(Result):
    """The exact population test loss of each draw at each ridge (``per_replica[replica,
    ridge]``); :attr:`loss` is the mean over draws as an :class:`~nnphys.stats.Estimate`
    (standard error ``nan`` for one draw). A simulation: no health fields."""

    ridge: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    per_replica: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def loss(self) -> Estimate:
        """Mean test loss at each ridge, with its standard error."""
        return replica_estimate(self.per_replica)


def _relu_kernel(G):
    d = np.sqrt(np.clip(np.diag(G), 1e-300, None))
    c = np.clip(G / np.outer(d, d), -1.0, 1.0)
    t = np.arccos(c)
    return np.outer(d, d) * (np.sqrt(1 - c * c) + (math.pi - t) * c) / (2 * math.pi)


def _one_draw(rng, lam, N, P, ridges, noise, linear, target):
    M = lam.size
    w = rng.choice([-1.0, 1.0], M) if target == "rademacher" else rng.standard_normal(M)
    A = rng.standard_normal((N, M))
    X = rng.standard_normal((P, M)) * np.sqrt(lam)
    y = X @ w
    if noise > 0:
        y = y + math.sqrt(noise) * rng.standard_normal(P)
    H = X @ A.T
    Phi = (H if linear else np.maximum(H, 0.0)) / math.sqrt(N)
    # eigen-decomposition of the smaller Gram matrix (cheaper than an SVD of Phi)
    dual = N > P
    e, V = np.linalg.eigh(Phi @ Phi.T if dual else Phi.T @ Phi)
    proj = V.T @ y if dual else V.T @ (Phi.T @ y)
    keep = e > 1e-12 * e[-1]
    out = np.empty(len(ridges))
    lw = lam * w
    wlw = float(w @ lw)
    if linear:
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
                   n_replicas: int = 8, seed=0, activation=Identity(),
                   target: str = "rademacher") -> MRSRegression:
    """Simulate ridge(less) random-feature regression on the MRS latent model.

    Args:
        N, P: features and training samples (integers >= 1).
        alpha: spectral exponent (> 0).
        M: latent dimension (integer >= 1).
        ridge: one ridge or an array of ridges (>= 0), all fitted on the same draws.
        noise: label-noise variance (>= 0).
        n_replicas: independent draws of ``(w, A, X, noise)``.
        seed: int or ``numpy.random.Generator``; draw ``r`` uses its ``r``-th spawned child.
        activation: a layer object of :mod:`nnphys.models.network`: ``Identity()`` (linear
            features) or ``Relu()``.
        target: ``"rademacher"`` or ``"gaussian"``.

    Returns:
        :class:`MRSRegression` (``loss[j]`` at ``ridge[j]``; exact population test loss).
    """
    N, P = checks.integer("N", N, low=1), checks.integer("P", P, low=1)
    n_replicas = checks.integer("n_replicas", n_replicas, low=1)
    model = MRSModel(alpha, checks.integer("M", M, low=1))
    checks.work("n_replicas * (N + P) * M",
                float(n_replicas) * (float(N) + P) * model.M, what="feature entries")
    ridges = np.atleast_1d(checks.finite_array("ridge", ridge))
    if ridges.ndim != 1 or np.any(~np.isfinite(ridges)) or np.any(ridges < 0):
        raise ParameterError(f"ridge: must be finite and >= 0, got {ridge!r}")
    noise = checks.positive("noise", noise, allow_zero=True)
    if not (isinstance(activation, Identity) or activation == Relu()):
        raise ParameterError(f"activation: must be Identity() or Relu() of "
                             f"nnphys.models.network, got {activation!r}")
    linear = isinstance(activation, Identity)
    if target not in ("rademacher", "gaussian"):
        raise ParameterError(f"target: must be 'rademacher' or 'gaussian', got {target!r}")
    rng = as_rng(seed)
    lam = model.eigenvalues
    per = np.array([_one_draw(c, lam, N, P, ridges, noise, linear, target)
                    for c in rng.spawn(n_replicas)])
    return MRSRegression(parameters=dict(N=N, P=P, alpha=model.alpha, M=model.M,
                                         noise=float(noise), activation=repr(activation),
                                         target=target, n_replicas=n_replicas,
                                         seed=seed if isinstance(seed, int) else None),
                         ridge=ridges, per_replica=per)
