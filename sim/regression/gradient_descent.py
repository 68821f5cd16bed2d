"""Full-batch gradient descent on the linear random-feature model of Bordelon, Atanasov &
Pehlevan, "A Dynamical Model of Neural Scaling Laws", ICML 2024, arXiv:2402.01092 (Sec. 2).

Model: eigenfeatures ``psi in R^M`` Gaussian with covariance ``diag(lambda)``, target
``y = w* . psi`` with ``w*_k = sqrt(target_k)``, student ``f = (1/sqrt N) w . A psi``,
``A_ik ~ N(0, 1)``, ``P`` training points (rows of ``Psi``), ``w(0) = 0`` and

    w <- w + lr * (1/P) sum_mu (y_mu - f_mu) A psi_mu / sqrt N
      = w + lr (b - K w),   K = Phi^T Phi / P,   b = Phi^T y / P,   Phi = Psi A^T / sqrt N,

i.e. gradient descent on half the mean squared training error (time ``t = lr * steps``;
``lr -> 0`` is the gradient flow of the DMFT). With ``P = inf`` the population gradient
(``K = A Lambda A^T / N``, ``b = A Lambda w* / sqrt N``) is used: online learning without data
reuse. The iteration is linear, so it is evaluated exactly in the eigenbasis of ``K``
(``w_n = w_inf + (1 - lr kappa)^n (w_0 - w_inf)``, or ``exp(-t kappa)`` for the flow), and the
test loss exactly from the population covariance::

    L_test(w) = w*^T Lambda w* - 2 w . A Lambda w* / sqrt N + w^T (A Lambda A^T / N) w,
    L_train(w) = (1/P) |y - Phi w|^2.

Independent draws of ``(A, Psi)`` (``n_replicas``, each with its own stream spawned from
``seed``) give the mean and its standard error (:func:`nnphys.stats.sample_mean`). The
spectrum is the spec's (:class:`nnphys.models.regression.BAPModel`) or any
:class:`~nnphys.models.regression.Spectrum`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ... import checks
from ...errors import ParameterError
from ...models.regression import BAPModel, Spectrum
from ...results import Result
from ...stats import Estimate
from ._replicas import replica_estimate

__all__ = ["GDCurves", "random_feature_gd"]


@dataclasses.dataclass(frozen=True)
class GDCurves(Result):
    """Test and train loss of each replica at times ``t`` (``t = lr * steps``):
    ``per_replica_test``, ``per_replica_train`` (replicas x times); :attr:`test` and
    :attr:`train` are their means as :class:`~nnphys.stats.Estimate` (standard error ``nan``
    for one replica). A simulation: no health fields."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    per_replica_test: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    per_replica_train: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def test(self) -> Estimate:
        """Mean test loss at each time, with its standard error."""
        return replica_estimate(self.per_replica_test)

    @property
    def train(self) -> Estimate:
        """Mean train loss at each time, with its standard error."""
        return replica_estimate(self.per_replica_train)

    def plot(self, ax=None):
        """Mean test and train loss against ``t`` with standard-error bars (log-log,
        ``t > 0``); returns the Axes (:func:`nnphys.plotting.curves`)."""
        from ...plotting import curves
        keep = np.asarray(self.t) > 0
        return curves(np.asarray(self.t)[keep], {"test": self.test[keep],
                                                 "train": self.train[keep]},
                      ax, xlabel="t", ylabel="loss", log="xy")


def _one_draw(rng, lam, w_star, N, P, t, lr):
    M = lam.size
    A = rng.standard_normal((N, M))
    a_lam = A * lam                                    # A Lambda
    pop_k = a_lam @ A.T / N                             # A Lambda A^T / N
    pop_b = a_lam @ w_star / math.sqrt(N)               # A Lambda w* / sqrt N
    if P is None:
        K, b, y, phi = pop_k, pop_b, None, None
    else:
        psi = rng.standard_normal((P, M)) * np.sqrt(lam)
        phi = psi @ A.T / math.sqrt(N)
        y = psi @ w_star
        K, b = phi.T @ phi / P, phi.T @ y / P
    kappa, U = np.linalg.eigh(K)
    kappa = np.maximum(kappa, 0.0)
    if lr is not None and lr * kappa.max() >= 2.0:
        raise ParameterError(f"lr: gradient descent diverges (lr = {lr} >= 2 / max eig K = "
                             f"{2.0 / kappa.max():.3g})")
    bu = U.T @ b
    scale = kappa.max()
    active = kappa > 1e-12 * scale
    w_inf = np.where(active, bu / np.where(active, kappa, 1.0), 0.0)
    if lr is None:
        decay = np.exp(-np.outer(t, kappa))
    else:
        steps = np.round(t / lr)
        decay = np.sign(1 - lr * kappa) ** (steps[:, None] % 2) * \
            np.abs(1 - lr * kappa) ** steps[:, None]
    # w(t) in the eigenbasis: w_inf - decay * w_inf (w_0 = 0); inactive directions get
    # b_u t (zero for the exact null space of K, where b_u = 0)
    wu = w_inf * (1.0 - decay)
    w = wu @ U.T                                        # (T, N)
    const = float(lam @ w_star ** 2)
    test = const - 2.0 * w @ pop_b + np.einsum("ti,ij,tj->t", w, pop_k, w)
    if y is None:
        train = test
    else:
        resid = y[None, :] - w @ phi.T
        train = np.mean(resid ** 2, axis=1)
    return test, train


def random_feature_gd(N: int, P, t, *, spectrum: Spectrum | None = None, a: float = 2.0,
                      b: float = 1.5, M: int = 4000, lr: float | None = None,
                      n_replicas: int = 8, seed=None) -> GDCurves:
    """Test and train loss of gradient descent on the random-feature model at times ``t``.

    Args:
        N: number of random features.
        P: training examples (``None``/``np.inf`` for the population gradient).
        t: times ``lr * steps`` (rounded to whole steps for ``lr``) or flow times (``lr=None``,
            the exact gradient flow).
        spectrum: ``lambda_k`` and ``w*_k^2`` (default ``BAPModel(a, b, M).spectrum``).
        a, b: the power laws ``lambda_k w*_k^2 = k^-a``, ``lambda_k = k^-b`` of the default
            spectrum (:class:`~nnphys.models.regression.BAPModel`).
        M: modes of the default spectrum.
        lr: learning rate (stable for ``lr < 2 / max eig K``) or None for the flow.
        n_replicas: independent draws of ``A`` and the data.
        seed: int, ``SeedSequence`` entropy or None; replica ``r`` uses the ``r``-th child.

    Raises:
        ParameterError: bad sizes, times or learning rate.
    """
    spec = BAPModel(a, b, M).spectrum if spectrum is None else spectrum
    if not isinstance(spec, Spectrum):
        raise ParameterError(f"spectrum: a models.regression.Spectrum, got "
                             f"{type(spec).__name__}")
    lam, tgt = spec.eigenvalues, spec.target
    N = checks.integer("N", N, low=1, high=20000)
    if P is not None and not (isinstance(P, float) and math.isinf(P)):
        P = checks.integer("P", P, low=1, high=100000)
    else:
        P = None
    times = np.atleast_1d(checks.finite_array("t", t))
    if times.ndim != 1 or np.any(times < 0) or not np.all(np.isfinite(times)):
        raise ParameterError("t: must be finite times >= 0")
    if lr is not None:
        lr = checks.positive("lr", lr)
    n_replicas = checks.integer("n_replicas", n_replicas, low=1)
    checks.work("n_replicas * N * M", float(n_replicas) * N * len(lam), what="feature entries")
    w_star = np.sqrt(tgt)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(
        checks.seed(seed)).spawn(n_replicas)]
    draws = [_one_draw(r, lam, w_star, N, P, times, lr) for r in rngs]
    return GDCurves(parameters={"N": N, "P": float("inf") if P is None else P,
                                "M": int(lam.size), "lr": lr, "n_replicas": n_replicas},
                    t=times, per_replica_test=np.array([d[0] for d in draws]),
                    per_replica_train=np.array([d[1] for d in draws]))
