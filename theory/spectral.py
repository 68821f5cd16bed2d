"""The spectral fixed point of random-feature and kernel regression: the effective
regularisation ``tau`` (or ``kappa = 1/tau``) at which ``n`` degrees of freedom are spent.

Given eigenvalues ``lambda_i > 0`` with multiplicities ``w_i > 0``, a ridge ``delta >= 0`` and
a count ``n > 0`` (features, samples or parameters), ``tau > 0`` solves::

    df(tau) + delta tau = n,      df(tau) = sum_i w_i tau lambda_i / (1 + tau lambda_i).   (T)

Ridgeless (``delta = 0``) it is the projection of a power-law spectrum onto ``n`` random
features -- Bordelon, Atanasov & Pehlevan 2024 (arXiv:2402.01092, the ``t -> infinity`` loss
``sum lambda w*^2/(1 + tau lambda)``), Maloney, Roberts & Sully 2022 (arXiv:2210.16859,
``sigma2_res(n)``), the zero atom ``s_0`` of Paquette, Paquette, Xiao & Pennington 2024
(arXiv:2405.15074, App. E); with ``delta > 0`` and ``kappa = 1/tau`` it is the self-consistent
``kappa = delta / n + (kappa / n) sum_i w_i lambda_i / (lambda_i + kappa)`` scaled by ``n`` of
kernel ridge regression (Bordelon, Canatar & Pehlevan 2020, arXiv:2002.02561; Simon, Dickens,
Karkada & DeWeese 2023, arXiv:2110.03922, "eigenlearning").

``df + delta tau`` increases from 0 to ``sum w`` (ridgeless) or to infinity (``delta > 0``), so
(T) has one root when ``n < sum w`` or ``delta > 0``. Brackets in closed form: from
``df <= tau sum w lambda``, ``tau >= n / (sum w lambda + delta)``; from
``sum w / (1 + tau lambda) <= (1/tau) sum w / lambda``, ``tau <= (sum w / lambda) / (sum w - n)``
(ridgeless) and ``tau <= n / delta``. The root is found by Newton's method in ``x = log tau``
on ``log(df + delta tau) - log n`` (monotone; steps leaving the bracket are replaced by
bisection), vectorised over ``n`` and ``delta``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .. import checks
from ..errors import ConvergenceError, ParameterError
from ..results import Result

__all__ = ["TauFixedPoint", "tau_fixed_point"]

_MAX_ITERATIONS = 200
_XTOL = 1e-15           # relative step in log tau at which Newton stops


@dataclasses.dataclass(frozen=True)
class TauFixedPoint(Result):
    """Root ``tau`` of (T) for each ``n`` (and ridge): ``tau``, its inverse ``kappa`` and the
    degrees of freedom ``df = sum w tau lambda/(1 + tau lambda)``. ``residual`` is the largest
    relative residual ``|df + delta tau - n| / n`` measured at the returned root,
    ``iterations`` the Newton steps taken."""

    tau: float | np.ndarray = 0.0
    df: float | np.ndarray = 0.0

    @property
    def kappa(self):
        """``kappa = 1 / tau`` (the renormalised ridge)."""
        return 1.0 / np.asarray(self.tau) if np.ndim(self.tau) else 1.0 / self.tau


def _df(x, lam, w, ridge):
    """``(df, df + ridge tau, d(df + ridge tau)/d log tau)`` at ``tau = exp(x)``."""
    tau = np.exp(x)[..., None]
    q = tau * lam
    frac = q / (1.0 + q)
    df = (w * frac).sum(-1)
    slope = (w * frac / (1.0 + q)).sum(-1) + ridge * tau[..., 0]
    return df, df + ridge * tau[..., 0], slope


def tau_fixed_point(eigenvalues, n, *, weights=None, ridge=0.0,
                    strict: bool = True) -> TauFixedPoint:
    """Solve ``sum_i w_i tau lambda_i/(1 + tau lambda_i) + ridge tau = n`` for ``tau > 0``.

    Args:
        eigenvalues: ``lambda_i > 0`` (1-D).
        n: the count(s) ``n > 0`` (array-like; ridgeless, ``n < sum w``).
        weights: multiplicities ``w_i > 0`` (quadrature weights of a continuous tail);
            default 1.
        ridge: ``delta >= 0`` (array-like, broadcast with ``n``).
        strict: raise :class:`~nnphys.errors.ConvergenceError` if Newton does not converge
            (``False``: return the iterate with ``converged=False``).

    Example:
        >>> r = tau_fixed_point([1.0, 1.0], 1.0)            # 2 tau/(1 + tau) = 1
        >>> round(float(r.tau), 12), r.converged
        (1.0, True)
    """
    lam = checks.finite_array("eigenvalues", eigenvalues, ndim=1, low=0.0, low_open=True)
    w = np.ones_like(lam) if weights is None else \
        checks.finite_array("weights", weights, ndim=1, low=0.0, low_open=True)
    if lam.size == 0 or w.shape != lam.shape:
        raise ParameterError("weights: one positive weight per eigenvalue")
    count = np.asarray(checks.finite_array("n", n, low=0.0, low_open=True))
    delta = np.asarray(checks.finite_array("ridge", ridge, low=0.0))
    count, delta = np.broadcast_arrays(count, delta)
    total = float(w.sum())
    if np.any((delta == 0) & (count >= total)):
        raise ParameterError(f"n: must be < sum of the weights ({total:g}) without a ridge: "
                             "no finite tau spends more degrees of freedom than there are")
    shape = count.shape
    count, delta = count.ravel().astype(float), delta.ravel().astype(float)
    lo = np.log(count / (float(w @ lam) + delta))
    hi = np.full(count.shape, np.inf)
    rank = count < total
    hi[rank] = np.log(float(np.sum(w / lam))) - np.log(total - count[rank])
    ridged = delta > 0
    hi[ridged] = np.minimum(hi[ridged], np.log(count[ridged]) - np.log(delta[ridged]))
    x = 0.5 * (lo + hi)
    active = np.ones(x.shape, bool)
    iterations = 0
    while active.any() and iterations < _MAX_ITERATIONS:
        iterations += 1
        _, g, slope = _df(x[active], lam, w, delta[active])
        f = np.log(g) - np.log(count[active])
        xa, la, ha = x[active], lo[active], hi[active]
        la, ha = np.where(f < 0, xa, la), np.where(f > 0, xa, ha)
        new = xa - f * g / slope
        outside = ~np.isfinite(new) | (new <= la) | (new >= ha)
        new = np.where(outside, 0.5 * (la + ha), new)
        done = (np.abs(new - xa) <= _XTOL * np.maximum(1.0, np.abs(xa))) | (f == 0)
        x[active], lo[active], hi[active] = new, la, ha
        idx = np.flatnonzero(active)
        active[idx[done]] = False
    df, g, _ = _df(x, lam, w, delta)
    residual = float(np.max(np.abs(g - count) / count)) if count.size else 0.0
    converged = not active.any()
    if not converged and strict:
        raise ConvergenceError(f"tau_fixed_point: Newton did not converge in "
                               f"{_MAX_ITERATIONS} steps", iterations=iterations,
                               residual=residual)
    tau = np.exp(x).reshape(shape)
    df = df.reshape(shape)
    scalar = lambda a: float(a) if a.ndim == 0 else a  # noqa: E731
    return TauFixedPoint(converged=converged, iterations=iterations, residual=residual,
                         tau=scalar(tau), df=scalar(df))
