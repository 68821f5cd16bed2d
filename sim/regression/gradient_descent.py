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

Several independent draws of ``(A, Psi)`` (``n_seeds``) give the mean and its standard error.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...errors import ParameterError
from ...results import Result

__all__ = ["GDCurves", "random_feature_gd", "power_law_spectrum"]


def power_law_spectrum(a: float, b: float, M: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lambda_k, w*_k^2)`` with ``lambda_k = k^{-b}``, ``lambda_k w*_k^2 = k^{-a}``."""
    k = np.arange(1, M + 1, dtype=float)
    return k ** -b, k ** -(a - b)


@dataclasses.dataclass(frozen=True)
class GDCurves(Result):
    """Mean test/train loss over seeds at times ``t`` (``t = lr * steps``), with standard
    errors (``nan`` for one seed) and the per-seed curves."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    test: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    test_stderr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    train: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    train_stderr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    per_seed_test: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))


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


def random_feature_gd(N: int, P, t, *, eigenvalues=None, target=None, a: float = 2.0,
                      b: float = 1.5, M: int = 4000, lr: float | None = None, n_seeds: int = 8,
                      seed=None) -> GDCurves:
    """Test and train loss of gradient descent on the random-feature model at times ``t``.

    Args:
        N: number of random features; ``P``: training examples (``None``/``np.inf`` for the
            population gradient).
        t: times ``lr * steps`` (rounded to whole steps for ``lr``) or flow times (``lr=None``,
            the exact gradient flow).
        eigenvalues, target: ``lambda_k`` and ``w*_k^2`` (default ``power_law_spectrum(a, b, M)``).
        lr: learning rate (stable for ``lr < 2 / max eig K``) or None for the flow.
        n_seeds: independent draws of ``A`` and the data.

    Raises:
        ParameterError: bad sizes, times or learning rate.
    """
    if eigenvalues is None:
        lam, tgt = power_law_spectrum(a, b, M)
    else:
        lam, tgt = np.asarray(eigenvalues, float), np.asarray(target, float)
        if lam.shape != tgt.shape or lam.ndim != 1 or np.any(lam <= 0) or np.any(tgt < 0):
            raise ParameterError("eigenvalues, target: 1-D arrays of one length, eigenvalues > 0, "
                                 "target >= 0")
    if not (isinstance(N, (int, np.integer)) and 1 <= N <= 20000):
        raise ParameterError(f"N: must be an integer in [1, 20000], got {N!r}")
    if P is not None and not (isinstance(P, float) and math.isinf(P)):
        if not (isinstance(P, (int, np.integer)) and 1 <= P <= 100000):
            raise ParameterError(f"P: must be an integer in [1, 1e5] or None/np.inf, got {P!r}")
    else:
        P = None
    times = np.atleast_1d(np.asarray(t, dtype=float))
    if times.ndim != 1 or np.any(times < 0) or not np.all(np.isfinite(times)):
        raise ParameterError("t: must be finite times >= 0")
    if lr is not None and not (math.isfinite(lr) and lr > 0):
        raise ParameterError(f"lr: must be positive or None, got {lr!r}")
    if not (isinstance(n_seeds, (int, np.integer)) and n_seeds >= 1):
        raise ParameterError(f"n_seeds: must be a positive integer, got {n_seeds!r}")
    w_star = np.sqrt(tgt)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_seeds)]
    draws = [_one_draw(r, lam, w_star, int(N), P, times, lr) for r in rngs]
    tests = np.array([d[0] for d in draws])
    trains = np.array([d[1] for d in draws])
    err = (lambda x: x.std(axis=0, ddof=1) / math.sqrt(n_seeds)) if n_seeds > 1 else \
        (lambda x: np.full(x.shape[1], np.nan))
    return GDCurves(converged=True, iterations=n_seeds, residual=float("nan"),
                    parameters={"N": int(N), "P": float("inf") if P is None else int(P),
                                "M": int(lam.size), "lr": lr, "n_seeds": int(n_seeds)},
                    t=times, test=tests.mean(axis=0), test_stderr=err(tests),
                    train=trains.mean(axis=0), train_stderr=err(trains), per_seed_test=tests)
