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
bisection), vectorised over ``n`` and ``delta``. From 20000 eigenvalues on, ``df`` and its
slope are summed by log-spaced bins of eigenvalues (:class:`SpectralSums`: a convergent
series per bin from ``tau``-free moments, exact to ~2e-16 relative), so each ``tau`` costs a
few hundred terms instead of one per eigenvalue; the residual is measured the same way.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..errors import ConvergenceError, ParameterError
from ..results import Result

__all__ = ["TauFixedPoint", "tau_fixed_point", "SpectralSums"]

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


class SpectralSums:
    """Sums ``sum_i u_i F(tau lambda_i)`` over a long spectrum at the cost of a few hundred
    terms per ``tau``, exact to rounding, for ``F`` one of ``x/(1+x)`` (``"frac"``),
    ``x/(1+x)^2`` (``"slope"``) and ``1/(1+x)^2`` (``"miss2"``).

    The eigenvalues are grouped in bins ``lambda = c (1 + e)`` with ``|e| <= 0.05`` around
    log-spaced centres ``c``; with ``x_c = tau c`` and ``r = x_c/(1 + x_c) < 1``, ``x = x_c
    (1 + e)`` gives ``x/(1+x) = r (1 + e) / (1 + r e)``, ``x/(1+x)^2 = (r/(1 + x_c)) (1 + e) /
    (1 + r e)^2`` and ``1/(1+x)^2 = (1 + x_c)^{-2} / (1 + r e)^2``, geometric series in ``-r e``
    (ratio ``<= 0.05`` whatever ``tau``), summed to ``J = 12`` terms (truncation
    ``<= 13 x 0.05^13 < 2e-16`` relative to each bin's leading term) from the ``tau``-free bin
    moments ``sum_{i in bin} u_i e_i^j``. No term cancels (the series' terms fall by >= 20x).
    """

    HALF_WIDTH = 0.05
    TERMS = 12

    def __init__(self, eigenvalues, **weights):
        lam = checks.finite_array("eigenvalues", eigenvalues, ndim=1, low=0.0, low_open=True)
        if lam.size == 0:
            raise ParameterError("eigenvalues: must hold at least one eigenvalue")
        weights = {name: checks.finite_array(name, u, ndim=1) for name, u in weights.items()}
        for name, u in weights.items():
            if u.shape != lam.shape:
                raise ParameterError(f"{name}: {u.size} weights for {lam.size} eigenvalues")
        self.size = lam.size
        step = math.log((1 + self.HALF_WIDTH) / (1 - self.HALF_WIDTH)) * 0.999
        top = math.log(float(lam.max()))
        inverse = np.floor((top - np.log(lam)) / step).astype(np.int64)
        bins = np.arange(int(inverse.max()) + 1)          # empty bins have zero moments
        # the centre of [lo, hi] in the ratio sense: c = 2 lo hi / (lo + hi) keeps |e| < 0.05
        hi, lo = np.exp(top - bins * step), np.exp(top - (bins + 1) * step)
        self.centre = 2 * lo * hi / (lo + hi)
        # Bin sums by contiguous runs (np.add.reduceat) after sorting by bin, once for all
        # weights and powers: a sorted spectrum (the usual case) needs no permutation.
        if np.any(inverse[1:] < inverse[:-1]):
            order = np.argsort(inverse, kind="stable")
            inverse, lam = inverse[order], lam[order]
            weights = {k: np.asarray(u, dtype=float)[order] for k, u in weights.items()}
        filled = np.flatnonzero(np.diff(inverse, prepend=-1))            # first of each run
        where = inverse[filled]
        e = lam / self.centre[inverse] - 1.0
        self.moments = {}
        for name, u in weights.items():
            term = np.array(u, dtype=float)
            M = np.zeros((bins.size, self.TERMS + 2))                    # u e^j, j = 0..J+1
            for j in range(self.TERMS + 2):
                M[where, j] = np.add.reduceat(term, filled)
                if j < self.TERMS + 1:
                    term *= e
            self.moments[name] = M

    def __call__(self, tau, weight: str, kind: str) -> np.ndarray:
        """``sum_i u_i F(tau lambda_i)`` for each ``tau`` (1-D), ``u`` the named weights."""
        M = self.moments[weight]
        xc = np.asarray(tau, dtype=float)[:, None] * self.centre          # (taus, bins)
        r = xc / (1.0 + xc)
        j = np.arange(self.TERMS + 1)
        geo = np.ones(r.shape + (j.size,))                                 # (-r)^j, j = 0..J
        geo[..., 1:] = np.cumprod(np.broadcast_to(-r[..., None], r.shape + (j.size - 1,)),
                                  axis=-1)
        if kind == "frac":
            series = np.einsum("tbj,bj->tb", geo, M[:, :-1] + M[:, 1:])
            return (r * series).sum(1)
        if kind == "slope":
            series = np.einsum("tbj,bj->tb", geo * (j + 1), M[:, :-1] + M[:, 1:])
            return (r / (1.0 + xc) * series).sum(1)
        if kind == "miss2":
            series = np.einsum("tbj,bj->tb", geo * (j + 1), M[:, :-1])
            return (series / (1.0 + xc) ** 2).sum(1)            # (1 - r)^2 without cancelling
        raise ParameterError(f"kind: 'frac', 'slope' or 'miss2', got {kind!r}")


_BINNED_FROM = 20_000    # modes from which tau_fixed_point sums by bins (SpectralSums)


def tau_fixed_point(eigenvalues, n, *, weights=None, ridge=0.0, strict: bool = True,
                    sums: SpectralSums | None = None) -> TauFixedPoint:
    """Solve ``sum_i w_i tau lambda_i/(1 + tau lambda_i) + ridge tau = n`` for ``tau > 0``.

    Args:
        eigenvalues: ``lambda_i > 0`` (1-D).
        n: the count(s) ``n > 0`` (array-like; ridgeless, ``n < sum w``).
        weights: multiplicities ``w_i > 0`` (quadrature weights of a continuous tail);
            default 1.
        ridge: ``delta >= 0`` (array-like, broadcast with ``n``).
        strict: raise :class:`~nnphys.errors.ConvergenceError` if Newton does not converge
            (``False``: return the iterate with ``converged=False``).
        sums: a :class:`SpectralSums` of these ``eigenvalues`` with the multiplicities as
            its weights named ``w`` (``SpectralSums(eigenvalues, w=weights, ...)``), for a
            caller that needs other sums over the same long spectrum and builds the bins
            once (``nnphys.theory.generalization.spectral_learning_curve``); used from
            any length on. Default: built here from 20000 eigenvalues on.

    Example:
        >>> r = tau_fixed_point([1.0, 1.0], 1.0)            # 2 tau/(1 + tau) = 1
        >>> round(float(r.tau), 12), r.converged
        (1.0, True)
    """
    lam = checks.finite_array("eigenvalues", eigenvalues, ndim=1, low=0.0, low_open=True)
    w = np.ones_like(lam) if weights is None else \
        checks.finite_array("weights", weights, ndim=1, low=0.0, low_open=True)
    if lam.size == 0:
        raise ParameterError("eigenvalues: at least one positive eigenvalue is needed")
    if w.shape != lam.shape:
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
    if sums is not None:
        if not isinstance(sums, SpectralSums) or "w" not in sums.moments or \
                sums.size != lam.size or \
                not math.isclose(float(sums.moments["w"][:, 0].sum()), total, rel_tol=1e-12):
            raise ParameterError("sums: a SpectralSums of the same eigenvalues with the "
                                 "weights named 'w'")
        bins = sums
    else:
        bins = SpectralSums(lam, w=w) if lam.size >= _BINNED_FROM else None
    iterations = 0
    while active.any() and iterations < _MAX_ITERATIONS:
        iterations += 1
        if bins is None:
            _, g, slope = _df(x[active], lam, w, delta[active])
        else:
            tau_a = np.exp(x[active])
            g = bins(tau_a, "w", "frac") + delta[active] * tau_a
            slope = bins(tau_a, "w", "slope") + delta[active] * tau_a
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
    if bins is None:
        df, g, _ = _df(x, lam, w, delta)
    else:
        df = bins(np.exp(x), "w", "frac")
        g = df + delta * np.exp(x)
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
