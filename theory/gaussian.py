"""The one Gaussian-expectation module: quadrature rules for ``z ~ N(0, 1)`` and the
one- and two-point expectations every family builds on.

Rules (nodes ``z`` and weights ``w`` with ``E[f(z)] ~ sum_i w_i f(z_i)``):

* :func:`gauss_hermite` -- the ``n``-point probabilists' Gauss-Hermite rule, exact for
  polynomials of degree ``2n - 1``; the right rule for polynomial or entire integrands of
  modest growth.
* :func:`normal_rule` -- the trapezoidal rule on ``|z| <= z_max``. For integrands analytic
  in the strip ``|Im z| < d`` its error is ``O(exp(-2 pi d / h))`` (Trefethen & Weideman,
  SIAM Rev. 56, 385 (2014), Thm 5.1), far better than Gauss-Hermite for ``tanh(s z)``,
  whose poles at ``z = i pi/(2 s)`` approach the real axis as the variance ``s^2`` grows
  (121-node Gauss-Hermite is only good to ~1e-9 at ``s^2 = 2`` and ~1e-6 at ``s^2 = 4.5``).
  The step is ``h = min(0.5, ratio d)`` with ``d = pi/(2 s)``: the nominal error
  ``exp(-2 pi / ratio)`` (2e-14 at the default 0.2) is multiplied by the Gaussian weight's
  growth toward the pole, ``exp(d^2 / 2)``, and by the pole's order; measured against
  mpmath for ``E[tanh(s z)^2]`` and ``E[z^2 sech^2(s z)]`` over ``0.1 <= s^2 <= 25`` the
  error is below 5e-11 (largest near ``s^2 = 0.5``, 4e-13 at ``s^2 = 25``).
* :func:`gauss_legendre` -- the (cached) Gauss-Legendre rule on ``[-1, 1]``, the building
  block of panel rules for integrands that are smooth only piecewise.

Expectations:

* :func:`expect` -- ``E[f(u)]``, ``u ~ N(0, K)``, for functions smooth except at the origin
  (ReLU, leaky ReLU, ``|z|``, rectified monomials): the expectation is split at ``u = 0``
  and each half line, truncated at ``|a| = H`` in the standardised variable, is integrated
  by Gauss-Legendre on two panels (the second starts at ``|u| = 20``, so that a large
  variance does not hide the activation's own scale); the rule is applied with ``n`` and
  ``2n`` nodes per panel and a difference above tolerance raises
  :class:`~nnphys.errors.ConvergenceError`. The truncation is checked too: ``H = 14``
  (Gaussian mass beyond 2e-44) unless the integrand ``g(a) = |f(sqrt(K) a)| phi(a)`` still
  carries weight there (``E[z^158]`` peaks at ``|a| = 12.6`` and has 4% of its mass beyond
  14): the tail beyond ``H`` is bounded by ``g(H) / |s|``, ``s`` the secant slope of
  ``ln g`` over ``[H - 1/2, H]`` (an upper bound wherever ``ln g`` is concave beyond
  ``H - 1/2``, as for polynomials and exponentials times the Gaussian), and ``H`` widens
  through 20, 28 and 37 until that bound is below the tolerance, or ConvergenceError.
  So no inaccurate number is returned silently.
* :func:`expect_pair` -- ``E[f(x) h(y)]`` for jointly Gaussian ``x, y`` with means
  ``m1, m2``, variances ``q1, q2`` and covariance ``c``, written ``x = m1 + sqrt(q1) z1``,
  ``y = m2 + (c/sqrt(q1)) z1 + sqrt(q2 - c^2/q1) z2`` on the product grid of a rule.
* :func:`erf_pair` -- the closed form of ``E[phi(x) phi(y)]`` for ``phi = a erf(b x)`` and
  zero means (Williams 1997, Neural Computation 10, 1203):
  ``(2 a^2 / pi) arcsin(2 b^2 c / sqrt((1 + 2 b^2 q1)(1 + 2 b^2 q2)))``, and
  :func:`erf_derivative_pair`, the same for ``phi'``.

Specialised quadratures live next to their one use and import their rule from here:
:mod:`nnphys.theory.hebbian._gauss` (moments of ``tanh`` at low temperature, split at the
step) and :mod:`nnphys.theory.kernels.hermite` (Hermite coefficients on a refined grid).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ConvergenceError, ParameterError

__all__ = ["gauss_hermite", "gauss_legendre", "normal_rule", "expect", "expect_pair",
           "erf_pair", "erf_derivative_pair"]

_HALF_WIDTH = 14.0
_WIDER = (20.0, 28.0, 37.0)  # the truncation tried next; phi(37) ~ 1e-298 is still normal
_ACTIVATION_SCALE = 20.0  # |u| below which an activation may still vary on the scale 1
_NODES = 64               # per panel; checked against twice as many
_Z_MAX = 9.0              # trapezoid truncation: the Gaussian weight beyond is < 3e-18


#: The most quadrature nodes of one rule (numpy's eigenvalue solver is O(n^2) memory).
MAX_NODES = 10000


def gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ``E[f(z)] ~ sum_i w_i f(z_i)`` for ``z ~ N(0, 1)``."""
    n = checks.integer("n", n, low=1, high=MAX_NODES)
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / math.sqrt(2.0 * math.pi)


@functools.lru_cache(maxsize=8)
def gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n``-point Gauss-Legendre nodes and weights on ``[-1, 1]`` (read-only, cached)."""
    n = checks.integer("n", n, low=1, high=MAX_NODES)
    x, w = np.polynomial.legendre.leggauss(n)
    x.flags.writeable = False
    w.flags.writeable = False
    return x, w


def normal_rule(scale: float, z_max: float = _Z_MAX,
                ratio: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoidal nodes and weights for ``E[f(z)]``, ``z ~ N(0, 1)``, on ``|z| <= z_max``
    with step ``h = min(0.5, ratio d)``, ``d = pi / (2 scale)``: error ``~exp(-2 pi / ratio)``
    times ``exp(d^2/2)`` and the pole's order for ``f(z) = phi(s z)``, ``s <= scale``, ``phi``
    analytic in ``|Im x| < pi/2`` (tanh): below 5e-11 at the default 0.2 (measured, see the
    module docstring; ~1e-6 at 0.4), plus the Gaussian tail beyond ``z_max`` (the cap 0.5
    keeps the rule's own error on the Gaussian weight, ``~exp(-2 pi^2 / h^2)``, below
    1e-17)."""
    scale = checks.positive("scale", scale, allow_zero=True)
    z_max = checks.positive("z_max", z_max, high=40.0)
    ratio = checks.positive("ratio", ratio, high=1.0)
    step = min(0.5, ratio * (math.pi / 2.0) / max(float(scale), 1e-300))
    checks.work("scale, ratio", 2 * z_max / step, MAX_NODES * 100, what="trapezoid nodes")
    half = int(math.ceil(z_max / step))
    z = np.arange(-half, half + 1) * (z_max / half)
    w = (z_max / half) * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return z, w


def expect_pair(f, h, q1, q2, c, rule=None, m1=0.0, m2=0.0) -> np.ndarray:
    """``E[f(x) h(y)]`` for jointly Gaussian ``x, y`` (means ``m1, m2``, variances ``q1, q2``,
    covariance ``c``; broadcast arrays) on the product grid of ``rule = (z, w)`` (default
    :func:`normal_rule` for the largest standard deviation)."""
    _callable("f", f)
    _callable("h", h)
    q1, q2, c, m1, m2 = (checks.finite_array(name, v) for name, v in
                         (("q1", q1), ("q2", q2), ("c", c), ("m1", m1), ("m2", m2)))
    if rule is not None and (not isinstance(rule, (tuple, list)) or len(rule) != 2):
        raise ArgumentTypeError("rule: must be a pair (nodes, weights) or None")
    if rule is None:
        scale = math.sqrt(max(np.max(q1), np.max(q2)))
        if scale * 2 * _Z_MAX / (0.2 * math.pi / 2) > MAX_NODES * 100:
            raise ParameterError(f"q1, q2: the default rule would need more than "
                                 f"{MAX_NODES * 100} nodes at a variance {scale ** 2:.3g}")
        rule = normal_rule(scale)
    z, w = rule
    q1, q2, c, m1, m2 = np.broadcast_arrays(*(np.asarray(a, dtype=float)[..., None]
                                              for a in (q1, q2, c, m1, m2)))
    s1 = np.sqrt(np.maximum(q1, 0.0))
    a = np.where(s1 > 0, c / np.where(s1 > 0, s1, 1.0), 0.0)
    b = np.sqrt(np.maximum(q2 - a * a, 0.0))
    fx = f(m1 + s1 * z)                                     # (..., n)
    hy = h((m2 + a * z)[..., :, None] + b[..., None] * z)   # (..., n, n)
    inner = hy @ w                                          # (..., n)
    return (fx * inner) @ w


def _callable(name, fn) -> None:
    if not callable(fn):
        raise ArgumentTypeError(f"{name}: must be callable, got {type(fn).__name__}")


def _erf_arguments(q1, q2, c, a, b):
    """Variances ``q1, q2 >= 0``, a covariance with ``c^2 <= q1 q2`` and finite ``a, b``
    (``|b| <= 1e75``, ``q <= 1e150``: ``b^2 q`` stays in float64)."""
    q1 = checks.finite_array("q1", q1, low=0.0)
    q2 = checks.finite_array("q2", q2, low=0.0)
    c = checks.finite_array("c", c)
    if np.any(q1 > 1e150) or np.any(q2 > 1e150):
        raise ParameterError("q1, q2: variances must be at most 1e150")
    if np.any(c * c > q1 * q2 * (1 + 1e-12)):
        raise ParameterError("c: the covariance must satisfy c^2 <= q1 q2")
    a = checks.real("a", a, low=-1e150, high=1e150)
    b = checks.real("b", b, low=-1e75, high=1e75)
    return q1, q2, c, a, b


def erf_pair(q1, q2, c, a: float = 1.0, b: float = 1.0):
    """Closed form of ``E[phi(x) phi(y)]`` for ``phi = a erf(b x)`` (zero means, variances
    ``q1, q2``, covariance ``c``): ``(2 a^2/pi) arcsin(2 b^2 c / sqrt((1 + 2 b^2 q1)
    (1 + 2 b^2 q2)))`` (Williams 1997, Neural Computation 10, 1203)."""
    q1, q2, c, a, b = _erf_arguments(q1, q2, c, a, b)
    k = 2.0 * b * b
    return (2.0 * a * a / math.pi) * np.arcsin(k * c / np.sqrt((1.0 + k * q1) * (1.0 + k * q2)))


def erf_derivative_pair(q1, q2, c, a: float = 1.0, b: float = 1.0):
    """Closed form of ``E[phi'(x) phi'(y)]`` for ``phi = a erf(b x)``, ``phi' = (2 a b /
    sqrt(pi)) exp(-b^2 x^2)`` (zero means): the Gaussian integral
    ``E[exp(-b^2 (x^2 + y^2))] = det(1 + 2 b^2 Sigma)^(-1/2)`` gives
    ``(4 a^2 b^2 / pi) / sqrt((1 + 2 b^2 q1)(1 + 2 b^2 q2) - 4 b^4 c^2)``."""
    q1, q2, c, a, b = _erf_arguments(q1, q2, c, a, b)
    k = 2.0 * b * b
    return (4.0 * a * a * b * b / math.pi) / np.sqrt((1.0 + k * q1) * (1.0 + k * q2) -
                                                     k * k * np.square(c))


def _rule(variance: np.ndarray, n: int, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``a`` (shape ``variance.shape + (4n,)``) on ``|a| <= width`` and weights with
    ``sum w f(sqrt(K) a) ~ E[f(u)]``. Each half line is split at ``|a| = t``,
    ``t = min(20/sqrt(K), 14)``, so that the activation's own scale ``|u| <~ 20`` gets its
    own panel when the variance is large."""
    x, wx = gauss_legendre(n)
    with np.errstate(divide="ignore"):
        t = np.minimum(_ACTIVATION_SCALE / np.sqrt(variance), _HALF_WIDTH)[..., None]
    inner = 0.5 * t * (x + 1.0)
    outer = t + 0.5 * (width - t) * (x + 1.0)
    a = np.concatenate([inner, outer], axis=-1)
    w = np.concatenate([0.5 * t * wx, 0.5 * (width - t) * wx], axis=-1)
    w = w * np.exp(-0.5 * a * a)
    w = 0.5 * w / np.sum(w, axis=-1, keepdims=True)     # E[1] = 1 to the last bit
    return np.concatenate([-a, a], axis=-1), np.concatenate([w, w], axis=-1)


def _values(fn, u: np.ndarray) -> np.ndarray:
    """``fn(u)`` as float64 of ``u``'s shape, finite, or the error saying why not."""
    with np.errstate(over="ignore"):
        values = np.asarray(fn(u), dtype=np.float64)
    if values.shape != u.shape:
        raise ParameterError(f"fn: must map an array to one of the same shape, got "
                             f"{values.shape} for {u.shape}")
    if not np.all(np.isfinite(values)):
        raise ConvergenceError("Gaussian expectation: the integrand is not finite at some "
                               "quadrature node (is E[f] finite at this variance?)")
    return values


def _apply(fn, variance: np.ndarray, n: int, width: float) -> np.ndarray:
    a, w = _rule(variance, n, width)
    values = _values(fn, np.sqrt(variance)[..., None] * a)
    return np.sum(values * w, axis=-1), np.sum(np.abs(values) * w, axis=-1)


def _tail_bound(fn, variance: np.ndarray, width: float) -> np.ndarray:
    """Upper bound of ``int_{|a| > width} |f(sqrt(K) a)| phi(a) da`` (module docstring): per
    side ``g(H) / |s|`` with ``s`` the slope of ``ln g`` between ``H - 1/2`` and ``H``,
    infinite where ``ln g`` does not decrease there (the integrand has not decayed)."""
    a = np.array([width - 0.5, width, -(width - 0.5), -width])
    values = _values(fn, np.sqrt(variance)[..., None] * a)
    with np.errstate(divide="ignore"):
        log_g = np.log(np.abs(values)) - 0.5 * a * a - 0.5 * math.log(2.0 * math.pi)
    bound = np.zeros(np.shape(variance))
    for near, end in ((0, 1), (2, 3)):
        lo, hi = log_g[..., near], log_g[..., end]
        with np.errstate(invalid="ignore"):
            slope = (hi - lo) / 0.5                   # NaN where both are -inf (g = 0)
        side = np.where(np.isneginf(hi), 0.0,
                        np.where(slope < 0, np.exp(hi) / np.where(slope < 0, -slope, 1.0),
                                 np.inf))
        bound = bound + side
    return bound


def expect(fn, variance, tol: float = 1e-12) -> np.ndarray:
    """``E[fn(u)]`` for ``u ~ N(0, variance)``; ``fn`` is a vectorised numpy callable.

    Args:
        fn: maps an array of points ``u`` to ``f(u)`` of the same shape.
        variance: scalar or array of variances ``K >= 0`` (the result has its shape).
        tol: accepted difference of the two quadrature orders, relative to ``E|f|``.

    Raises:
        ConvergenceError: the two orders differ by more than ``tol`` (a kink away from
            ``u = 0``), or the mass of ``|f|`` beyond the widest truncation ``|u| = 37
            sqrt(K)`` may exceed ``tol`` (an integrand growing too fast).
    """
    _callable("fn", fn)
    tol = checks.positive("tol", tol)
    variance = checks.finite_array("variance", variance, low=0.0)
    flat = variance.ravel()
    coarse, fine, scale = (np.empty(flat.shape) for _ in range(3))
    todo = np.arange(flat.size)
    for width in (_HALF_WIDTH,) + _WIDER:       # each variance widened only as it needs
        v = flat[todo]
        c, _ = _apply(fn, v, _NODES, width)
        f, sc = _apply(fn, v, 2 * _NODES, width)
        tail = _tail_bound(fn, v, width)
        done = tail <= tol * np.maximum(sc, 1e-300)
        coarse[todo], fine[todo], scale[todo] = c, f, sc
        if np.all(done):
            break
        todo = todo[~done]
    else:
        worst = float(np.max(tail / np.maximum(sc, 1e-300)))
        raise ConvergenceError(f"Gaussian expectation: the mass of |f| beyond |u| = "
                               f"{width:g} sqrt(variance) may be {worst:.2e} of E|f| "
                               f"(relative); the integrand grows too fast", residual=worst)
    coarse, fine, scale = (a.reshape(variance.shape) for a in (coarse, fine, scale))
    error = np.abs(fine - coarse)
    if np.any(error > tol * np.maximum(scale, 1e-300)):
        worst = float(np.max(error / np.maximum(scale, 1e-300)))
        raise ConvergenceError(f"Gaussian expectation: quadrature orders disagree by "
                               f"{worst:.2e} (relative); is the function smooth away from 0?",
                               residual=worst)
    return fine
