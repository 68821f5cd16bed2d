"""Independent reference for Gaussian pair expectations, by nested adaptive quadrature.

``E[f(u) g(v)]`` for ``(u, v) ~ N(0, [[q11, q12], [q12, q22]])`` written as
``int f(sqrt(q11) a) E[g(r a + sigma b)] phi(a) da`` with ``r = q12 / sqrt(q11)`` and
``sigma^2 = q22 - r^2``, each integral done by ``scipy.integrate.quad`` with the kinks of
the integrands given as break points. Slow (seconds per entry) and unrelated to the
closed forms and series of nnphys, which is the point.
"""

from __future__ import annotations

import math
import warnings

from scipy import integrate

_LIMIT = 12.0   # standard deviations; Gaussian mass beyond is ~1e-33
_OPTS = dict(epsabs=1e-13, epsrel=1e-12, limit=400)


def _gauss_mean(g, mean, sd, kinks=()):
    """``E[g(mean + sd b)]``, b ~ N(0, 1)."""
    if sd == 0:
        return float(g(mean))
    points = sorted(p for p in ((k - mean) / sd for k in kinks) if -_LIMIT < p < _LIMIT)
    val, _ = integrate.quad(lambda b: g(mean + sd * b) * math.exp(-b * b / 2),
                            -_LIMIT, _LIMIT, points=points or None, **_OPTS)
    return val / math.sqrt(2 * math.pi)


def pair_expectation(f, g, q11, q12, q22, kinks=()):
    """``E[f(u) g(v)]`` by nested quadrature; ``kinks`` are the non-smooth points of f, g."""
    s11 = math.sqrt(q11)
    r = q12 / s11
    sigma = math.sqrt(max(q22 - r * r, 0.0))

    def outer(a):
        return f(s11 * a) * _gauss_mean(g, r * a, sigma, kinks) * math.exp(-a * a / 2)

    points = sorted(k / s11 for k in kinks if -_LIMIT < k / s11 < _LIMIT)
    if r != 0 and sigma < 1e-3:
        points += [k / r for k in kinks if -_LIMIT < k / r < _LIMIT]
    with warnings.catch_warnings():
        # quad flags roundoff when the requested 1e-12 is at the level of double precision.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        val, _ = integrate.quad(outer, -_LIMIT, _LIMIT, points=sorted(set(points)) or None,
                                **_OPTS)
    return val / math.sqrt(2 * math.pi)
