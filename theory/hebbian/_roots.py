"""Vectorised bracketed root finders and a golden-section maximiser (private).

Each works on flat arrays of independent problems and only evaluates the problems still
active, so a grid of 40,000 roots costs about as much as the slowest few. ``fun(x, idx)``
evaluates problem ``idx`` (an integer index array) at ``x``.
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import ConvergenceError

_GOLD = (math.sqrt(5.0) - 1.0) / 2.0


def newton_bracketed(fun, lo, hi, x0, *, xtol, maxiter=200, what="root"):
    """Newton's method kept inside ``[lo, hi]`` (the safeguard of Numerical Recipes'
    ``rtsafe``: bisection when a step leaves the bracket, or when the Newton step is not
    below half the step taken two iterations before, as when a derivative is spoiled by
    cancellation at low temperature; then it still converges, at worst like bisection).
    Converging from one side, a plain bracket-halving test would bisect every other step;
    this one keeps Newton's quadratic rate.

    ``fun(x, idx) -> (f, df)``; ``f`` must change sign between ``lo`` and ``hi``.
    Returns ``(x, iterations)``; raises :class:`ConvergenceError` if some problem does
    not reach ``|step| <= xtol``.
    """
    lo, hi = np.array(lo, float), np.array(hi, float)
    x = np.array(x0, float)
    n = x.size
    xtol = np.broadcast_to(np.asarray(xtol, float), x.shape)
    f_lo, _ = fun(lo, np.arange(n))
    sign_lo = np.sign(f_lo)
    active = np.arange(n)
    steps = np.tile(np.abs(hi - lo), (2, 1))         # |step| 1 and 2 iterations ago
    it = 0
    for it in range(1, maxiter + 1):
        xa = x[active]
        f, df = fun(xa, active)
        same = np.sign(f) == sign_lo[active]
        lo[active] = np.where(same, xa, lo[active])
        hi[active] = np.where(same, hi[active], xa)
        with np.errstate(divide="ignore", invalid="ignore"):
            xn = xa - f / df
        a, b = np.minimum(lo[active], hi[active]), np.maximum(lo[active], hi[active])
        slow = np.abs(xn - xa) > 0.5 * steps[1, active]
        bad = ~np.isfinite(xn) | (xn <= a) | (xn >= b) | slow
        xn = np.where(bad, 0.5 * (a + b), xn)
        xn = np.where(f == 0, xa, xn)
        step = np.abs(xn - xa)
        steps[1, active], steps[0, active] = steps[0, active], step
        x[active] = xn
        tol = xtol[active]
        done = (step <= tol) | (f == 0) | (b - a <= tol)
        active = active[~done]
        if active.size == 0:
            return x, it
    raise ConvergenceError(f"{what}: Newton did not converge in {maxiter} iterations "
                           f"({active.size} of {n} problems)", iterations=it)


def illinois(fun, a, b, *, xtol, ftol=0.0, maxiter=200, fa=None, fb=None, what="root"):
    """Regula falsi with the Illinois modification on brackets ``[a, b]``.

    ``fun(x, idx) -> f``; ``f(a)`` and ``f(b)`` must have opposite signs. Returns
    ``(x, iterations)``; raises :class:`ConvergenceError` if a bracket does not shrink
    below ``xtol`` (or ``|f| <= ftol``) within ``maxiter`` steps.
    """
    a, b = np.array(a, float), np.array(b, float)
    n = a.size
    idx = np.arange(n)
    fa = fun(a, idx) if fa is None else np.array(fa, float)
    fb = fun(b, idx) if fb is None else np.array(fb, float)
    if np.any(np.sign(fa) == np.sign(fb)) and np.any((fa != 0) & (fb != 0)):
        bad = (np.sign(fa) == np.sign(fb)) & (fa != 0) & (fb != 0)
        if np.any(bad):
            raise ConvergenceError(f"{what}: no sign change on {int(bad.sum())} brackets")
    x = np.where(fa == 0, a, b)
    active = idx[(fa != 0) & (fb != 0)]
    side = np.zeros(n, int)
    it = 0
    for it in range(1, maxiter + 1):
        if active.size == 0:
            return x, it - 1
        aa, bb, fa_, fb_ = a[active], b[active], fa[active], fb[active]
        xn = bb - fb_ * (bb - aa) / (fb_ - fa_)
        lo, hi = np.minimum(aa, bb), np.maximum(aa, bb)
        xn = np.where(np.isfinite(xn) & (xn > lo) & (xn < hi), xn, 0.5 * (aa + bb))
        fn = fun(xn, active)
        x[active] = xn
        flip = np.sign(fn) != np.sign(fb_)
        # flip: new bracket [b, x]; otherwise [a, x] with f(a) halved (Illinois)
        a[active] = np.where(flip, bb, aa)
        fa[active] = np.where(flip, fb_, np.where(side[active] == -1, 0.5 * fa_, fa_))
        side[active] = np.where(flip, 0, -1)
        b[active], fb[active] = xn, fn
        done = (np.abs(b[active] - a[active]) <= xtol) | (np.abs(fn) <= ftol) | (fn == 0)
        active = active[~done]
    if active.size:
        raise ConvergenceError(f"{what}: regula falsi did not converge in {maxiter} steps "
                               f"({active.size} of {n} problems)", iterations=it)
    return x, it


def golden_max(fun, a, b, *, xtol, maxiter=200):
    """Maximise unimodal ``fun(x, idx)`` on ``[a, b]`` (vectorised golden section).

    Returns ``(x, f(x), iterations)``.
    """
    a, b = np.array(a, float), np.array(b, float)
    n = a.size
    idx = np.arange(n)
    c = b - _GOLD * (b - a)
    d = a + _GOLD * (b - a)
    fc, fd = fun(c, idx), fun(d, idx)
    it = 0
    for it in range(1, maxiter + 1):
        if np.all(b - a <= xtol):
            break
        left = fc >= fd            # maximum in [a, d]
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new_c = np.where(left, b - _GOLD * (b - a), d)
        new_d = np.where(left, c, a + _GOLD * (b - a))
        fnew_x = np.where(left, new_c, new_d)
        fnew = fun(fnew_x, idx)
        fc, fd = np.where(left, fnew, fd), np.where(left, fc, fnew)
        c, d = new_c, new_d
    else:
        raise ConvergenceError(f"golden section did not converge in {maxiter} steps",
                               iterations=it)
    x = np.where(fc >= fd, c, d)
    return x, np.maximum(fc, fd), it


def brentq(f, a, b, *, xtol=2e-12, rtol=4 * np.finfo(float).eps, what="root",
           strict=True):
    """Scalar Brent root of ``f`` on ``[a, b]`` with the solver's health measured.

    Returns ``(root, converged, iterations, residual)`` with ``residual = |f(root)|``;
    raises :class:`ConvergenceError` when Brent's method stops short of ``xtol`` (unless
    ``strict=False``, then ``converged`` is False).
    """
    from scipy import optimize
    root, info = optimize.brentq(f, a, b, xtol=xtol, rtol=rtol, full_output=True,
                                 disp=False)
    residual = abs(float(f(root)))
    if not info.converged and strict:
        raise ConvergenceError(f"{what}: Brent's method did not converge in "
                               f"{info.iterations} iterations ({info.flag})",
                               iterations=info.iterations, residual=residual)
    return float(root), bool(info.converged), int(info.iterations), residual
