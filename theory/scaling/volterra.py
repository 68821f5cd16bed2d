"""Exact solution of the discrete Volterra equation of one-pass SGD on a quadratic problem
whose forcing and kernel are sums of geometric sequences.

The expected risk of one-pass SGD with batch ``B`` and step ``gamma`` on least squares with
Gaussian data obeys (Paquette, Paquette, Xiao & Pennington, "4+3 Phases of Compute-Optimal
Neural Scaling Laws", NeurIPS 2024, arXiv:2405.15074, Sec. 2, the "discrete Volterra
equation")::

    P(t) = F(t) + sum_{u=0}^{t-1} K(t - 1 - u) P(u),                                   (V)
    F(t) = f_0 + sum_i f_i g_i^t,        K(t) = sum_i k_i g_i^t,

with ``g_i = g(x_i) = 1 - 2 gamma B x_i + gamma^2 B (B+1) x_i^2`` on the nodes ``x_i`` of the
spectrum, ``f_i >= 0`` (the target's weight at ``x_i``), ``k_i = gamma^2 B x_i^2 mu_i >= 0``
(``mu_i`` the spectral mass) and ``f_0`` the irreducible part. With the generating functions
``F^(z) = sum_t F(t) z^t`` and ``K^(z)``, (V) is ``P^ = F^ / (1 - z K^)``: a rational function.
Its poles are ``z = 1`` and ``z = 1/mu_k`` for the roots of the secular equation

    sum_i k_i / (mu - g_i) = 1        <=>        sum_i k_i / (w_i - nu) = 1,

in ``nu = 1 - mu``, ``w_i = 1 - g_i = gamma B x_i (2 - gamma (B+1) x_i) > 0``. There is one root
between consecutive ``w_i`` and one below the smallest, and that one is positive iff
``||K|| = sum_t K(t) = sum_i k_i / w_i < 1`` (stability). Partial fractions then give the
solution in closed form for every ``t``::

    P(t) = f_0 / (1 - ||K||) + sum_k c_k (1 - nu_k)^t,
    c_k = [sum_i f_i / (w_i - nu_k) - f_0 / nu_k] / sum_i k_i / (w_i - nu_k)^2.

Roots are found in ``nu``-space relative to the nearest pole (as LAPACK's ``dlaed4`` does for
the same secular equation), so the slow modes ``nu ~ 1e-12`` keep full relative precision.
The cost is ``O(n^2)`` once, then ``O(n)`` per time: ``10^6`` steps are not iterated.
"""

from __future__ import annotations

import numpy as np

from ... import checks
from ...errors import NumericalError, ParameterError
from . import _spectrum

__all__ = ["ExponentialSumVolterra", "sgd_rate"]

_BISECTIONS = 110
_NEWTON_FROM = 1e-6
_NEWTON_STEPS = 3


def sgd_rate(x, lr: float, batch: int) -> np.ndarray:
    """``w(x) = 1 - g(x) = gamma B x (2 - gamma (B + 1) x)``, the per-step contraction of a
    mode of curvature ``x`` under one-pass SGD (computed without cancellation)."""
    x = checks.finite_array("x", x, low=0.0)
    lr = checks.positive("lr", lr)
    batch = checks.integer("batch", batch, low=1)
    with np.errstate(over="ignore", invalid="ignore"):
        out = lr * batch * x * (2.0 - lr * (batch + 1) * x)
    if not np.all(np.isfinite(out)):
        raise NumericalError("lr: the rate lr * batch * x overflows float64")
    return out


class ExponentialSumVolterra:
    """Solve (V) for given rates ``w_i``, forcing weights ``f_i`` (plus ``f_0``) and kernel
    weights ``k_i``.

    Args:
        rates: ``w_i = 1 - g_i``, all in ``(0, 2)`` (else the mode itself diverges).
        forcing: ``f_i >= 0`` on the same nodes.
        kernel: ``k_i >= 0`` on the same nodes.
        constant: ``f_0 >= 0``, the forcing's constant part.

    Raises:
        NumericalError: if ``||K|| >= 1`` (SGD diverges at this learning rate).
    """

    def __init__(self, rates, forcing, kernel, constant: float = 0.0):
        w = checks.finite_array("rates", rates)
        f = checks.finite_array("forcing", forcing)
        k = checks.finite_array("kernel", kernel)
        constant = checks.real("constant", constant)
        if not (w.ndim == 1 and w.shape == f.shape == k.shape):
            raise ParameterError("rates, forcing, kernel: 1-D arrays of one length")
        if not (np.all(np.isfinite(w)) and np.all(w > 0) and np.all(w < 2)):
            raise NumericalError("rates: every mode must contract, 0 < 1 - g(x) < 2; the "
                                 "learning rate is too large for the spectrum")
        if np.any(f < 0) or np.any(k < 0) or constant < 0:
            raise ParameterError("forcing, kernel, constant: must be non-negative")
        order = np.argsort(w)
        w, f, k = w[order], f[order], k[order]
        self.kernel_norm = float(np.sum(k / w))
        if self.kernel_norm >= 1.0:
            raise NumericalError(f"||K|| = {self.kernel_norm:.4g} >= 1: one-pass SGD diverges "
                                 "at this learning rate (reduce lr)")
        self.constant = float(constant)
        self.limit = self.constant / (1.0 - self.kernel_norm)
        coupled = k > 0
        # nodes without kernel weight are free geometric modes: residue f_i / (1 - h(g_i))
        wf, ff = w[~coupled], f[~coupled]
        w, f, k = w[coupled], f[coupled], k[coupled]
        roots, ref, offset = self._secular_roots(w, k)
        # w_i - nu_k = (w_i - ref_k) - offset_k, without cancellation
        gap = (w[None, :] - ref[:, None]) - offset[:, None]
        denom = np.sum(k / gap ** 2, axis=1)
        numer = np.sum(f / gap, axis=1) - (self.constant / roots if self.constant else 0.0)
        if wf.size:
            free = ff / (1.0 - np.sum(k / (w[None, :] - wf[:, None]), axis=1))
            roots = np.concatenate([roots, wf])
            numer = np.concatenate([numer, free])
            denom = np.concatenate([denom, np.ones_like(free)])
        self.nu = roots
        self.amplitude = numer / denom
        self._log_decay = np.log1p(-roots)
        if not np.all(np.isfinite(self.amplitude)):
            raise NumericalError("Volterra residues are not finite (degenerate spectrum nodes)")

    @staticmethod
    def _secular_roots(w, k):
        """Roots of ``h(nu) = sum k_i / (w_i - nu) = 1``, one in ``(0, w_0)`` and one in each
        ``(w_{i-1}, w_i)``, as ``nu = ref + offset`` with ``ref`` the end of its interval
        it lies nearer to (``0`` or a pole): bisection on the offset keeps relative
        precision however close the root is to that end (compiled:
        :func:`._spectrum.secular_roots`)."""
        w, k = np.ascontiguousarray(w, dtype=float), np.ascontiguousarray(k, dtype=float)
        ref, offset = _spectrum.secular_roots(w, k, _BISECTIONS, _NEWTON_FROM, _NEWTON_STEPS,
                                              np.empty_like(w), np.empty_like(w))
        roots = ref + offset
        if np.any(roots <= 0):
            raise NumericalError("secular equation has a non-decaying mode (||K|| >= 1)")
        return roots, ref, offset

    def __call__(self, t) -> np.ndarray:
        """``P(t)`` at non-negative integer (or real) times ``t``."""
        t = np.asarray(t, dtype=float)
        if np.any(t < 0):
            raise ParameterError("t: times must be non-negative")
        flat = t.ravel()
        out = np.empty(flat.size)
        chunk = max(1, 2_000_000 // max(self.nu.size, 1))
        for s in range(0, flat.size, chunk):
            tt = flat[s:s + chunk]
            out[s:s + chunk] = self.limit + np.exp(np.outer(tt, self._log_decay)) @ self.amplitude
        return out.reshape(t.shape)
