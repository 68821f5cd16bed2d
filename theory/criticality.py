"""Mean-field signal propagation in deep random networks: fixed points, edge of chaos,
depth scales, and the universality classes of criticality.

A fully connected network ``z^(l+1) = W phi(z^(l)) + b`` with ``W_ij ~ N(0, sigma_w^2/n)``
and ``b_i ~ N(0, sigma_b^2)`` -- in the package's vocabulary ``sigma_w = W_std`` and
``sigma_b = b_std`` (the signatures take the standard deviations; the formulas below keep
the papers' variances) -- propagates, at infinite width, the variance ``q`` of a
preactivation and the correlation ``c`` of two inputs by (Poole, Lahiri, Raghu,
Sohl-Dickstein & Ganguli 2016, arXiv:1606.05340, eqs. 3-5; Schoenholz, Gilmer, Ganguli &
Sohl-Dickstein 2017, arXiv:1611.01232, eqs. 2-8)::

    length map        q^(l+1) = sigma_w^2 E[phi(sqrt(q^l) z)^2] + sigma_b^2      -> q*
    correlation map   c^(l+1) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q*   -> c*
                      (u1, u2) Gaussian, variances q*, correlation c^l
    chi_1   = sigma_w^2 E[phi'(sqrt(q*) z)^2]            (slope of the c-map at c = 1)
    chi_c   = sigma_w^2 E[phi'(u1) phi'(u2)] at c = c*   (slope of the c-map at c*)
    chi_par = d q^(l+1)/d q^l at q* = sigma_w^2 E[phi(u) phi'(u) u] / q*
    xi_q = -1 / ln chi_par,    xi_c = -1 / ln chi_c.

``chi_1 < 1`` is the ordered phase (``c* = 1``, ``chi_c = chi_1``), ``chi_1 > 1`` the
chaotic phase (``c* < 1``); ``chi_1 = 1`` is the edge of chaos, where ``xi_c`` diverges while
``xi_q`` stays finite. The expression for ``chi_par`` is ``d/dq E[phi(sqrt q z)^2]``
differentiated under the integral; unlike Stein's form ``E[phi^2 (u^2 - q)]/(2 q^2)`` it
has no cancellation at large ``q*`` (where the two terms of Stein's form agree to
``1/sqrt(q*)`` for a bounded ``phi``).

Range: ``W_std`` and ``b_std`` up to ``1e75`` (``sigma^2 <= 1e150``), so that the fixed
point of a bounded activation, ``q* <= sigma_w^2 sup phi^2 + sigma_b^2``, and the products
``q1 q2`` of two variances in the two-point dual kernels are representable (the length map
is scanned up to ``q = 1e306``; a map still growing there is reported unbounded).

Roberts, Yaida & Hanin (*The Principles of Deep Learning Theory*, 2022,
arXiv:2106.10165, ch. 5) call a network critical only when both ``chi_par = 1`` and
``chi_perp = chi_1 = 1`` at the fixed point ``K* = q*``; :func:`universality_class` finds
that point for the classes the book names (scale-invariant, ``K* = 0``, half-stable).

Every function accepts any activation of :mod:`nnphys.theory.kernels` (closed-form duals,
or ``Elementwise(fn)`` via Hermite series) or a plain numpy callable. One-dimensional
expectations use :func:`nnphys.theory.gaussian.expect`; the two-point ones the kernel
library's dual kernels.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .. import checks
from ..models import network as arch
from ..errors import ArgumentTypeError, ConvergenceError, NumericalError, ParameterError
from ..results import FAILED, PhaseDiagram, Result, register_phase_diagram
from .gaussian import expect
from .kernels.layers import dual_function

__all__ = ["SignalPropagation", "CriticalLine", "Universality", "as_activation",
           "length_map", "correlation_map", "fixed_point_q", "signal_propagation",
           "FixedPoint", "critical_line", "phase_diagram", "universality_class", "PHASES"]

PHASES = {0: "ordered", 1: "chaotic", 2: "unbounded"}
_Q_GRID = np.concatenate([[0.0], np.logspace(-10, 8, 541)])   # brackets fixed points
_Q_MAX = _Q_GRID[-1]
_Q_FAR = np.logspace(8, 306, 597)[1:]     # scanned beyond _Q_MAX for maps still growing
_STD_MAX = 1e75       # W_std, b_std <= this: sigma^2 <= 1e150 (see the module docstring)
_Q_TINY = 1e-100      # q -> 0 limits are taken here: O(q) corrections vanish in float64,
                      # while phi(u) phi'(u) u ~ q does not underflow
_BISECTIONS = 200
_CHI_ROUNDOFF = 1e-12     # chi_1 this close to 1 is the edge of chaos (counted as ordered)
_C_BELOW_ONE = 1e-7        # the c-map is bracketed on [0, 1 - this] in the chaotic phase
_CHI_MARGINAL = 1e-3       # c* = 1 - O(chi_1 - 1): c* within 1e-7 of 1 needs chi_1 this close


def as_activation(activation) -> arch.Activation:
    """An activation layer of :mod:`nnphys.models.network` (as re-exported by
    :mod:`nnphys.theory.kernels`), or a numpy callable wrapped in one (``Elementwise``)."""
    if isinstance(activation, arch.Activation):
        return activation
    if callable(activation):
        return arch.Elementwise(activation, name=getattr(activation, "__name__", "phi"))
    raise ArgumentTypeError("activation: expected a theory.kernels activation or a callable")


def _scale(name, value, low_open: bool) -> np.ndarray:
    """A scale array in ``[0, 1e75]`` (``(0, 1e75]`` if ``low_open``): its square, a
    variance, stays below 1e150 (see the module docstring)."""
    value = checks.finite_array(name, value)
    bad = (value <= 0 if low_open else value < 0) | (value > _STD_MAX)
    if np.any(bad):
        raise ParameterError(f"{name}: must be in {'(0' if low_open else '[0'}, "
                             f"{_STD_MAX:g}] (its square is a variance, kept <= 1e150 so "
                             f"that q* and products of variances are representable), got "
                             f"{value[bad].flat[0]!r}")
    return value


def _b_std(b_std) -> np.ndarray:
    return _scale("b_std", b_std, low_open=False)


def _variances(W_std, b_std):
    """``(sigma_w^2, sigma_b^2)`` from the scales ``W_std in (0, 1e75]``, ``b_std in
    [0, 1e75]`` (arrays)."""
    return _scale("W_std", W_std, low_open=True) ** 2, _b_std(b_std) ** 2


def _second_moment(act, q):
    return expect(lambda u: act.fn(u) ** 2, q)


def _derivative(act):
    """``phi'``: the activation's own, else the five-point central difference with step
    ``1e-3`` (truncation ~1e-12 phi^(5), roundoff ~1e-13 |phi|)."""
    if isinstance(act, arch.ElementwiseFunction) and act.function_prime is None:
        h = 1e-3
        return lambda u: (8 * (act.fn(u + h) - act.fn(u - h))
                          - (act.fn(u + 2 * h) - act.fn(u - 2 * h))) / (12 * h)
    return act.fn_prime


def _derivative_second_moment(act, q):
    """``E[phi'(sqrt(q) z)^2]`` (quadrature tolerance 1e-9 for a finite-difference phi')."""
    derivative = _derivative(act)
    tol = 1e-12 if derivative is act.fn_prime else 1e-9
    return expect(lambda u: derivative(u) ** 2, q, tol=tol)


def _length_slope(act, q, sigma_w2):
    """``chi_par = sigma_w^2 E[phi(u) phi'(u) u] / q``; at ``q = 0`` its limit, taken at
    ``q = 1e-100`` (``sigma_w^2 phi'(0)^2`` for a smooth ``phi`` with ``phi(0) = 0``, the only
    case with ``q* = 0``; ``sigma_w^2 E[phi(z) phi'(z) z]`` for a scale-invariant one, e.g.
    ``sigma_w^2/2`` for ReLU)."""
    q = np.asarray(q, dtype=np.float64)
    safe = np.where(q > 0, q, _Q_TINY)
    derivative = _derivative(act)
    tol = 1e-12 if derivative is act.fn_prime else 1e-9
    return sigma_w2 * expect(lambda u: act.fn(u) * derivative(u) * u, safe, tol=tol) / safe


def length_map(activation, q, W_std, b_std):
    """One step of the length map, ``sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``
    (``sigma_w = W_std``, ``sigma_b = b_std``), at variances ``q >= 0``.

    Raises:
        NumericalError: the image overflows float64 (an activation growing too fast).
        ConvergenceError: ``E[phi^2]`` itself is not representable (:func:`expect`).
    """
    act = as_activation(activation)
    sigma_w2, sigma_b2 = _variances(W_std, b_std)
    q = checks.finite_array("q", q, low=0.0)
    return _finite_image("length map", q, lambda: sigma_w2 * _second_moment(act, q)
                         + sigma_b2)


def _finite_image(what, q, image):
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value = image()
    if not np.all(np.isfinite(value)):
        raise NumericalError(f"{what}: not representable in float64 at q = "
                             f"{float(np.max(q)):g}")
    return value


def correlation_map(activation, c, q, W_std, b_std):
    """One step of the correlation map at preactivation variance ``q`` (both inputs)::

        c' = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q',   q' = length_map(q).

    At the fixed point ``q = q*`` this is Poole et al.'s map (their eq. 5). ``c`` in
    ``[-1, 1]``; ``q >= 0`` (``q > 0`` if ``b_std = 0``, else ``q'`` may vanish).

    Raises:
        NumericalError: ``q'`` overflows float64 (or vanishes).
    """
    act = as_activation(activation)
    sigma_w2, sigma_b2 = _variances(W_std, b_std)
    q = checks.finite_array("q", q, low=0.0)
    c = checks.finite_array("c", c)
    if np.any(np.abs(c) > 1):
        raise ParameterError("c: a correlation, must be in [-1, 1]")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        nngp, _ = dual_function(act)(q, c * q, q, False)
    return _finite_image("correlation map", q, lambda: (sigma_w2 * nngp + sigma_b2)
                         / (sigma_w2 * _second_moment(act, q) + sigma_b2))


def _bisect(f, lo, hi):
    """Vectorised root of ``f`` on brackets ``[lo, hi]`` (``f(lo)``, ``f(hi)`` of opposite
    signs, or zero): regula falsi with the Illinois modification (keeps a bracket,
    converges superlinearly; every eighth step bisects as a safeguard). Stops when every
    bracket has shrunk to a few ulps or ``f`` vanishes. Returns ``(root, iterations,
    converged)``: ``converged`` is False if brackets were still open after the step cap."""
    a, b = np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)
    fa, fb = f(a), f(b)
    root = np.where(np.abs(fa) <= np.abs(fb), a, b)
    iteration, converged = 0, False
    for iteration in range(1, _BISECTIONS + 2):
        active = (fa != 0) & (fb != 0) & \
            (np.abs(b - a) > 4e-16 * np.maximum(np.abs(a), np.abs(b)))
        if not np.any(active):
            converged = True
            break
        if iteration > _BISECTIONS:
            break
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            x = (a * fb - b * fa) / (fb - fa)   # a convex combination: no cancellation
        outside = ~np.isfinite(x) | (x <= np.minimum(a, b)) | (x >= np.maximum(a, b))
        x = np.where(outside | (iteration % 8 == 0), 0.5 * (a + b), x)
        x = np.where(active, x, root)
        fx = f(x)
        crossed = np.sign(fx) != np.sign(fb)       # root between b and x: b becomes a
        a, fa = np.where(active & crossed, b, a), np.where(
            active & crossed, fb, np.where(active, 0.5 * fa, fa))
        b, fb = np.where(active, x, b), np.where(active, fx, fb)
        root = np.where(active, x, root)
    root = np.where(fa == 0, a, root)
    return root, iteration - 1, converged


@dataclasses.dataclass(frozen=True)
class FixedPoint(Result):
    """The fixed point ``q*`` of the length map at each ``(W_std, b_std)`` (arrays broadcast).

    Attributes:
        W_std, b_std: the scales (broadcast to a common shape).
        q_star: the fixed point (``inf`` where the length map diverges).
        bounded: False where it diverges.

    ``residual`` is ``max |map(q*) - q*| / max(q*, 1)`` over the bounded points,
    ``iterations`` the regula-falsi steps of the refinement.
    """

    W_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    b_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    q_star: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    bounded: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=bool))


def fixed_point_q(activation, W_std, b_std, q0: float = 1.0) -> FixedPoint:
    """The fixed point ``q*`` of the length map reached from ``q^(1) = q0``.

    The map ``q -> sigma_w^2 E[phi(sqrt q z)^2] + sigma_b^2`` (``sigma_w = W_std``,
    ``sigma_b = b_std``) is scanned on a logarithmic grid of ``q`` in ``[1e-10, 1e8]``
    (and ``q = 0``), continued to ``1e306`` (four points a decade) where ``F > 0`` at
    ``1e8``; the fixed point is the first zero of ``F(q) = map(q) - q`` met going
    from ``q0`` in the direction of the flow (exactly the attractor when the map is
    increasing, as for every activation whose ``phi^2`` grows with ``|z|``), refined by
    regula falsi to machine precision. Vectorised over ``W_std``/``b_std``; ``q_star`` is
    ``inf`` (``bounded`` False) where ``F > 0`` up to ``q = 1e306`` or up to where
    ``E[phi^2]`` leaves float64: the length map diverges (e.g. ReLU above
    ``W_std = sqrt 2``). A bounded activation always has a finite ``q*`` here.

    Raises:
        ConvergenceError: a bracket did not close within the step cap.
    """
    act = as_activation(activation)
    sigma_w2, sigma_b2 = _variances(W_std, b_std)
    q0 = checks.real("q0", q0, low=0.0)
    q_star, bounded, iterations, residual = _fixed_point_q(act, sigma_w2, sigma_b2, q0)
    shape = q_star.shape
    return FixedPoint(converged=True, iterations=iterations, residual=residual,
                      parameters={"activation": repr(act), "q0": q0},
                      W_std=np.broadcast_to(np.sqrt(sigma_w2), shape).copy(),
                      b_std=np.broadcast_to(np.sqrt(sigma_b2), shape).copy(),
                      q_star=q_star, bounded=bounded)


def _fixed_point_q(act, sigma_w2, sigma_b2, q0):
    """``(q_star, bounded, iterations, residual)`` at the variances (see :func:`fixed_point_q`)."""
    shape = np.broadcast_shapes(sigma_w2.shape, sigma_b2.shape)
    w = np.broadcast_to(sigma_w2, shape).ravel()
    b = np.broadcast_to(sigma_b2, shape).ravel()
    grid = np.union1d(_Q_GRID, [q0])
    start = int(np.searchsorted(grid, q0))
    with np.errstate(over="ignore", invalid="ignore"):
        F = w[:, None] * _on_grid(lambda q: _second_moment(act, q), grid)[None, :] \
            + b[:, None] - grid[None, :]
    lo = np.zeros(w.size)
    hi = np.zeros(w.size)
    bounded = np.ones(w.size, dtype=bool)
    exact = np.zeros(w.size, dtype=bool)
    for k in range(w.size):
        row = F[k]
        if row[start] == 0:
            lo[k] = hi[k] = grid[start]
            exact[k] = True
        elif row[start] > 0:                          # q grows towards the next zero
            after = np.nonzero(row[start:] <= 0)[0]
            if after.size == 0:
                bounded[k] = False
                continue
            j = start + after[0]
            lo[k], hi[k] = grid[j - 1], grid[j]
        else:                                         # q shrinks towards the previous zero
            before = np.nonzero(row[:start + 1] >= 0)[0]
            j = before[-1]
            lo[k], hi[k] = grid[j], grid[j + 1]
    far = np.flatnonzero(~bounded)
    if far.size:
        far_grid = _Q_FAR[_Q_FAR > grid[-1]]
        moment = _on_grid(lambda q: _second_moment(act, q), far_grid, continued=True)
        with np.errstate(over="ignore", invalid="ignore"):
            F_far = w[far, None] * moment[None, :] + b[far, None] - far_grid[None, :]
        for k, row in zip(far, F_far):
            after = np.nonzero(row <= 0)[0]          # an overflow (inf) is not a zero
            if after.size:
                j = after[0]
                lo[k], hi[k] = far_grid[j - 1] if j else grid[-1], far_grid[j]
                bounded[k] = True
    q_star = np.full(w.size, np.inf)
    refine = bounded & ~exact
    iterations = 0
    if np.any(refine):
        wr, br = w[refine], b[refine]
        root, iterations, converged = _bisect(lambda q: wr * _second_moment(act, q) + br - q,
                                              lo[refine], hi[refine])
        if not converged:
            raise ConvergenceError("length map: the fixed point did not converge",
                                   iterations=iterations)
        q_star[refine] = root
    q_star[exact] = lo[exact]
    residual = 0.0
    if np.any(bounded):
        qb = q_star[bounded]
        gap = w[bounded] * _second_moment(act, qb) + b[bounded] - qb
        residual = float(np.max(np.abs(gap) / np.maximum(qb, 1.0)))
    return q_star.reshape(shape), bounded.reshape(shape), int(iterations), residual


def _on_grid(moment, grid, continued: bool = False):
    """``moment(grid)`` on an ascending grid of ``q``, ``inf`` from the first ``q`` where it
    is not representable (the integrand overflows: :func:`expect` raises). Overflow is
    monotone in ``q``, so the cut is found by bisection over the grid; an error already
    at the grid's first point is not an overflow and is raised, unless the grid
    ``continued`` one on which the moment was representable."""
    try:
        values = moment(grid)
        if np.all(np.isfinite(values)):
            return values
    except ConvergenceError:
        pass

    def representable(n):               # the first n points are representable
        try:
            return bool(np.all(np.isfinite(moment(grid[n - 1:n]))))
        except ConvergenceError:
            if n == 1 and not continued:
                raise
            return False
    lo, hi = 0, grid.size
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if representable(mid) else (lo, mid)
    if lo == 0 and not continued:
        representable(1)                # raises the error at the first point, if any
    values = np.full(grid.shape, np.inf)
    values[:lo] = moment(grid[:lo])
    return values


@dataclasses.dataclass(frozen=True)
class SignalPropagation(Result):
    """Fixed points and depth scales at each ``(W_std, b_std)`` (arrays broadcast).

    Attributes:
        W_std, b_std: the weight and bias scales (``sigma_w^2 = W_std**2``).
        q_star, c_star: fixed points of the length and correlation maps (``q_star = inf``
            where the length map diverges; ``c_star = 1`` in the ordered phase).
        chi_1: ``sigma_w^2 E[phi'^2]`` at ``q*`` (PDLT's ``chi_perp``).
        chi_c: slope of the correlation map at ``c*``.
        chi_par: slope of the length map at ``q*`` (Schoenholz's ``exp(-1/xi_q)``).
        xi_q, xi_c: depth scales ``-1/ln chi_par``, ``-1/ln chi_c``: ``inf`` at a marginal
            point (slope 1: ``xi_c`` on the edge of chaos, both for ReLU at ``W_std =
            sqrt 2``, ``b_std = 0``), ``0`` at slope 0.
        phase: 0 ordered, 1 chaotic, 2 unbounded (see :data:`PHASES`).

    In the unbounded phase (2) the length map has no fixed point (``q^l`` grows without
    limit): ``q_star``, ``chi_1``, ``chi_c`` and ``chi_par`` are ``inf`` and the depth
    scales, which describe the approach to a fixed point, are not defined: ``xi_q`` and
    ``xi_c`` are NaN there, and only there.
    """

    W_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    b_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    q_star: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    c_star: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    chi_1: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    chi_c: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    chi_par: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    xi_q: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    xi_c: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    phase: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))


def _depth_scale(chi):
    """``-1/ln chi`` for ``0 <= chi <= 1`` (``0`` at 0; ``inf`` at 1 and within the slopes'
    quadrature roundoff 1e-12 of it, where ``xi > 1e12`` is not resolved)."""
    chi = np.asarray(chi, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(chi >= 1 - _CHI_ROUNDOFF, np.inf,
                        -1.0 / np.log(np.clip(chi, 1e-300, 1.0)))


def _correlation_fixed_point(act, q, w, b):
    """``c* in [0, 1)`` of the correlation map at ``q*`` in the chaotic phase (arrays);
    ``c* = 1`` where it lies within 1e-7 of 1 (just above the edge of chaos)."""
    dual = dual_function(act)

    def h(c, sel=slice(None)):
        nngp, _ = dual(q[sel], c * q[sel], q[sel], False)
        return (w[sel] * nngp + b[sel]) / q[sel] - c
    hi = np.full(q.shape, 1.0 - _C_BELOW_ONE)
    marginal = h(hi) >= 0          # c* within 1e-7 of 1 (chi_1 - 1 ~ 1e-7 or less)
    c_star = np.ones(q.shape)
    inner = ~marginal
    iterations, residual = 0, 0.0
    if np.any(inner):
        c_star[inner], iterations, converged = _bisect(lambda c: h(c, inner),
                                                       np.zeros(int(inner.sum())), hi[inner])
        if not converged:
            raise ConvergenceError("correlation map: the fixed point c* did not converge",
                                   iterations=iterations)
        residual = float(np.max(np.abs(h(c_star[inner], inner))))
    return c_star, iterations, residual


def signal_propagation(activation, W_std, b_std, q0: float = 1.0) -> SignalPropagation:
    """``q*, c*, chi_1, chi_c, chi_par, xi_q, xi_c`` and the phase at every
    ``(W_std, b_std)`` (scalars or broadcasting arrays).

    ``iterations`` counts the regula-falsi steps of the ``q*`` and ``c*`` refinements,
    ``residual`` is the larger of the two fixed-point residuals (relative for ``q*``);
    ``converged`` is True because a refinement that does not converge raises.

    Raises:
        ParameterError: ``W_std`` or ``b_std`` outside ``[0, 1e75]`` (module docstring).
        ConvergenceError: a fixed point did not converge, is unstable (``|chi_par| > 1``:
            the map is not monotone), or a chaotic ``c*`` lies within 1e-7 of 1 while
            ``chi_1 > 1.001`` (a bias dominating the weights: not resolved in float64).

    Example (tanh at ``sigma_w^2 = 2.5``, ``sigma_b^2 = 0.05``; Schoenholz et al. 2017,
    Fig. 1):

        >>> import math
        >>> from nnphys.theory import kernels as nk
        >>> r = signal_propagation(nk.Tanh(), math.sqrt(2.5), math.sqrt(0.05))
        >>> round(float(r.xi_c), 2)
        11.8
    """
    act = as_activation(activation)
    sigma_w2, sigma_b2 = _variances(W_std, b_std)
    q0 = checks.real("q0", q0, low=0.0)
    shape = np.broadcast_shapes(sigma_w2.shape, sigma_b2.shape)
    w = np.broadcast_to(sigma_w2, shape).ravel().copy()
    b = np.broadcast_to(sigma_b2, shape).ravel().copy()
    q_star, bounded, q_iterations, q_residual = _fixed_point_q(act, w, b, q0)
    n = w.size
    chi_1 = np.full(n, np.inf)
    chi_par = np.full(n, np.inf)
    chi_c = np.full(n, np.inf)
    c_star = np.ones(n)
    qb = q_star[bounded]
    # chi_1 at q* = 0 is its q -> 0 limit (E[phi'^2] = 1/2 for ReLU, not phi'(0)^2 = 1)
    chi_1[bounded] = w[bounded] * _derivative_second_moment(act,
                                                            np.where(qb > 0, qb, _Q_TINY))
    chi_par[bounded] = _length_slope(act, qb, w[bounded])
    phase = np.where(~bounded, 2, np.where(chi_1 > 1 + _CHI_ROUNDOFF, 1, 0))
    ordered = phase == 0
    chi_c[ordered] = chi_1[ordered]
    chaotic = phase == 1
    iterations, residual = 0, 0.0
    if np.any(chaotic):
        c_star[chaotic], iterations, residual = _correlation_fixed_point(
            act, q_star[chaotic], w[chaotic], b[chaotic])
        unresolved = chaotic & (c_star == 1) & (chi_1 > 1 + _CHI_MARGINAL)
        if np.any(unresolved):
            raise ConvergenceError(
                f"correlation map: c* lies within {_C_BELOW_ONE:g} of 1 although chi_1 = "
                f"{float(chi_1[unresolved][0]):.3g} > 1 (b_std dominates W_std): the "
                f"chaotic fixed point and its slope are not resolved in float64")
        inner = chaotic & (c_star < 1)      # at c* = 1 the slope of the c-map is chi_1
        qc = q_star[inner]
        chi_c[inner] = w[inner] * dual_function(act)(qc, c_star[inner] * qc, qc, True)[1]
        chi_c[chaotic & (c_star == 1)] = chi_1[chaotic & (c_star == 1)]
    xi_q = np.where(bounded, _depth_scale(np.abs(chi_par)), np.nan)
    xi_c = np.where(bounded, _depth_scale(chi_c), np.nan)
    if np.any(bounded & (np.abs(chi_par) > 1 + 1e-9)):
        raise ConvergenceError("length map: the fixed point found is unstable "
                               "(|chi_par| > 1); the map is not monotone here")
    reshape = lambda a: a.reshape(shape)
    return SignalPropagation(
        converged=True, iterations=q_iterations + int(iterations),
        residual=max(q_residual, residual), parameters={"activation": repr(act), "q0": q0},
        W_std=reshape(np.sqrt(w)), b_std=reshape(np.sqrt(b)), q_star=reshape(q_star),
        c_star=reshape(c_star), chi_1=reshape(chi_1), chi_c=reshape(chi_c),
        chi_par=reshape(chi_par), xi_q=reshape(xi_q), xi_c=reshape(xi_c),
        phase=reshape(phase))


@dataclasses.dataclass(frozen=True)
class CriticalLine(Result):
    """The edge of chaos ``chi_1(q*) = 1``: ``W_std`` and ``q_star`` at each ``b_std``.

    ``residual`` is ``max |sigma_b^2(q*) - b_std^2|`` of the root find (``None`` for a
    scale-invariant activation, whose line is a closed form)."""

    b_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    W_std: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    q_star: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def critical_line(activation, b_std) -> CriticalLine:
    """The edge-of-chaos line, parametrised by the fixed point ``q*`` (Poole et al. 2016):

        sigma_w^2(q) = 1 / E[phi'(sqrt q z)^2],   sigma_b^2(q) = q - sigma_w^2(q) E[phi(sqrt q z)^2],

    a one-dimensional root find of ``sigma_b^2(q) = b_std**2`` (bracketed on a logarithmic
    grid, refined by regula falsi); ``W_std = sqrt(sigma_w^2(q*))``. For a scale-invariant
    activation (``phi(lambda z) = lambda phi(z)``, e.g. ReLU) ``chi_1`` does not depend on
    ``q`` and the line is ``sigma_w^2 = 1/E[phi'^2]`` at every ``sigma_b^2`` (``q*`` is then
    infinite on it for ``sigma_b^2 > 0`` and marginal at ``sigma_b^2 = 0``; reported as NaN).

    Example (ReLU: the He initialisation ``W_std = sqrt 2`` at any bias):
        >>> from nnphys.theory import kernels as nk
        >>> round(float(critical_line(nk.Relu(), 0.1).W_std) ** 2, 12)
        2.0
    """
    act = as_activation(activation)
    b_std = _b_std(b_std)
    sigma_b2 = b_std ** 2
    grid = _Q_GRID
    d2 = _on_grid(lambda q: _derivative_second_moment(act, q), grid)
    if _is_scale_invariant(act):
        w_std = np.full(b_std.shape, math.sqrt(1.0 / d2[-1]))
        return CriticalLine(parameters={"activation": repr(act)}, b_std=b_std,
                            W_std=w_std, q_star=np.full(b_std.shape, np.nan))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        bias = grid - _on_grid(lambda q: _second_moment(act, q), grid) / d2
    # where E[phi'^2] underflows (phi'(0) = 0 at q = 0, high monomials at small q) or
    # overflows, sigma_w^2 is not representable: no bracket ends there
    usable = np.isfinite(bias) & (d2 > 0) & np.isfinite(d2)
    flat = sigma_b2.ravel()
    lo = np.empty(flat.size)
    hi = np.empty(flat.size)
    for k, target in enumerate(flat):
        sign = np.sign(bias - target)
        crossing = np.nonzero((sign[1:] != sign[:-1]) & usable[1:] & usable[:-1])[0]
        if usable[0] and bias[0] == target:
            lo[k] = hi[k] = grid[0]
        elif crossing.size == 0:
            raise ParameterError(f"b_std: {math.sqrt(target):g} is outside the range of the "
                                 f"critical line of {act!r} (b_std^2 in "
                                 f"[{np.min(bias[usable]):.3g}, {np.max(bias[usable]):.3g}] "
                                 f"for q* in [0, {_Q_MAX:g}])")
        else:
            lo[k], hi[k] = grid[crossing[0]], grid[crossing[0] + 1]

    def excess(q):
        return q - _second_moment(act, q) / _derivative_second_moment(act, q) - flat
    q, iterations, converged = _bisect(excess, lo, hi)
    if not converged:
        raise ConvergenceError("critical line: the root find did not converge",
                               iterations=iterations)
    q = np.where(lo == hi, lo, q)
    with np.errstate(divide="ignore", over="ignore"):
        sw2 = 1.0 / _derivative_second_moment(act, q)
    bad = ~(np.sqrt(sw2) <= _STD_MAX)
    if np.any(bad):
        raise ParameterError(f"b_std: the critical W_std of {act!r} at b_std = "
                             f"{math.sqrt(flat[bad][0]):g} exceeds {_STD_MAX:g} "
                             f"(E[phi'^2] = {1 / sw2[bad][0]:.3g} at q* = {q[bad][0]:.3g})")
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(lo == hi, 0.0, excess(np.where(q > 0, q, 1.0)))
    return CriticalLine(converged=True, iterations=int(iterations),
                        residual=float(np.max(np.abs(gap), initial=0.0)),
                        parameters={"activation": repr(act)},
                        b_std=b_std, W_std=np.sqrt(sw2).reshape(b_std.shape),
                        q_star=q.reshape(b_std.shape))


@register_phase_diagram("edge-of-chaos", axes=("W_std", "b_std"),
                        defaults={"activation": arch.Tanh()})
def phase_diagram(activation, W_std, b_std, q0: float = 1.0) -> PhaseDiagram:
    """Ordered / chaotic (/ unbounded) phases over a ``(W_std, b_std)`` grid.

    Fields: ``q_star``, ``c_star``, ``chi_1``, ``chi_c``, ``chi_par``, ``xi_q``, ``xi_c``
    (axes order ``W_std``, ``b_std``; see :class:`SignalPropagation`). Boundary
    ``edge_of_chaos``: points ``(W_std, b_std)`` of the critical line at the grid's
    ``b_std`` values where the line exists.

    The grid is solved at once; if :func:`signal_propagation` raises
    :class:`ConvergenceError` there, column by column, and in a failing column point by
    point: a point that still raises is recorded as failed (status 1, NaN fields,
    ``converged=False``, a warning; see :class:`~nnphys.results.PhaseDiagram`) and the
    rest of the grid stands. ``iterations`` is summed over the solves, ``residual`` the
    largest.
    """
    W_std = checks.finite_array("W_std", W_std, low=0.0, low_open=True)
    b_std = _b_std(b_std)
    if W_std.ndim != 1 or b_std.ndim != 1 or not W_std.size or not b_std.size:
        raise ParameterError("W_std, b_std: must be non-empty 1-D grids")
    act = as_activation(activation)
    names = ("q_star", "c_star", "chi_1", "chi_c", "chi_par", "xi_q", "xi_c")
    shape = (W_std.size, b_std.size)
    fields = {name: np.full(shape, np.nan) for name in names}
    phase = np.zeros(shape, dtype=int)
    status = np.zeros(shape, dtype=np.int8)
    health = {"iterations": 0, "residual": 0.0}

    def solve(rows, cols):
        try:
            sp = signal_propagation(act, W_std[rows, None], b_std[None, cols], q0)
        except ConvergenceError:
            return False
        block = np.ix_(rows, cols)
        for name in names:
            fields[name][block] = getattr(sp, name)
        phase[block] = sp.phase
        health["iterations"] += sp.iterations
        health["residual"] = max(health["residual"], sp.residual)
        return True
    every = np.arange(W_std.size)
    if not solve(every, np.arange(b_std.size)):
        for j in range(b_std.size):
            if not solve(every, [j]):
                for i in range(W_std.size):
                    if not solve([i], [j]):
                        status[i, j] = FAILED
    return PhaseDiagram(converged=not status.any(), parameters={"activation": repr(act),
                                                                "q0": q0},
                        axes={"W_std": W_std, "b_std": b_std}, fields=fields,
                        phase=phase, labels=dict(PHASES), status=status,
                        boundaries={"edge_of_chaos": _edge_points(act, b_std)},
                        **health).warn_failures()


def _edge_points(act, b_std):
    """``(W_std, b_std)`` on the critical line at each ``b_std`` where it exists."""
    try:
        return np.column_stack([critical_line(act, b_std).W_std, b_std])
    except (ParameterError, ConvergenceError):
        points = []
        for b in b_std:
            try:
                points.append((float(critical_line(act, b).W_std), b))
            except (ParameterError, ConvergenceError):
                continue
        return np.array(points, dtype=float).reshape(-1, 2)


@dataclasses.dataclass(frozen=True)
class Universality(Result):
    """The PDLT universality class of an activation and its critical initialization.

    Attributes:
        name: ``"scale-invariant"``, ``"K*=0"``, ``"half-stable"`` or ``"none"``.
        W_std, b_std: the critical scales, ``W_std = sqrt(C_W)``, ``b_std = sqrt(C_b)``
            (PDLT's critical ``(C_W, C_b)`` are variances; converted by
            :func:`nnphys.models.network.std_from_variance`).
        k_star: the fixed point ``K*`` (NaN for scale-invariant: every ``K`` is fixed).
        details: class-specific numbers (``A2``, ``A4`` for scale-invariant; the Taylor
            coefficients and ``a1`` for ``K* = 0``; ``chi_par``, ``chi_perp`` checks).

    Only the half-stable class runs a root find (of ``chi_par(K) = 1`` on the line
    ``chi_perp = 1``); it sets ``converged``, ``iterations`` and ``residual =
    |chi_par(K*) - 1|``. The other classes are closed forms (``None``).
    """

    name: str = "none"
    W_std: float = math.nan
    b_std: float = math.nan
    k_star: float = math.nan
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


def _critical(name, C_W, C_b, k_star, details, **health) -> Universality:
    return Universality(name=name, W_std=arch.std_from_variance(C_W, "C_W"),
                        b_std=arch.std_from_variance(C_b, "C_b"), k_star=k_star,
                        details=details, **health)


def _is_scale_invariant(act) -> bool:
    u = np.array([-2.7, -1.3, -0.4, 0.3, 0.9, 3.1])
    f1, f2 = act.fn(u), act.fn(2.0 * u)
    return bool(np.allclose(f2, 2.0 * f1, rtol=1e-12, atol=1e-14) and act.fn(np.zeros(1))[0] == 0)


def _central_derivatives(fn, h: float) -> np.ndarray:
    """``phi^(p)(0)``, p = 0..3, by central differences of step ``h`` (error O(h^2))."""
    f = {k: float(fn(np.array([k * h]))[0]) for k in (-2, -1, 0, 1, 2)}
    return np.array([f[0], (f[1] - f[-1]) / (2 * h), (f[1] - 2 * f[0] + f[-1]) / h ** 2,
                     (f[2] - 2 * f[1] + 2 * f[-1] - f[-2]) / (2 * h ** 3)])


def _taylor_at_zero(fn) -> np.ndarray:
    """``phi^(p)(0)`` for p = 0..3: by Cauchy's integral on a circle of radius 0.1 when
    ``fn`` is analytic and accepts complex arguments (spectrally accurate; accepted only
    if it agrees with finite differences), else by Richardson-extrapolated central
    differences (error ~1e-8)."""
    h = 1e-2
    fd = (4 * _central_derivatives(fn, h / 2) - _central_derivatives(fn, h)) / 3
    m, radius = 64, 0.1
    z = radius * np.exp(2j * np.pi * np.arange(m) / m)
    try:
        with np.errstate(all="ignore"):
            values = np.asarray(fn(z), dtype=np.complex128)
    except (TypeError, ValueError):
        return fd
    coefficients = (np.fft.fft(values) / m)[:4].real / radius ** np.arange(4)
    cauchy = coefficients * np.array([1, 1, 2, 6])
    scale = max(np.max(np.abs(fd)), 1e-300)
    return cauchy if np.all(np.abs(cauchy - fd) <= 1e-5 * scale) else fd


def universality_class(activation) -> Universality:
    """The universality class of an activation at PDLT criticality (Roberts, Yaida &
    Hanin 2022, arXiv:2106.10165, sec. 5.2-5.3), and its critical ``(C_W, C_b)``, reported
    as ``W_std = sqrt(C_W)``, ``b_std = sqrt(C_b)``:

    * scale-invariant (``phi(z) = a_+ z`` for ``z > 0``, ``a_- z`` below): ``C_b = 0``,
      ``C_W = 1/A_2`` with ``A_2 = (a_+^2 + a_-^2)/2``; every ``K`` is a fixed point.
    * ``K* = 0`` (``phi(0) = 0``, ``phi'(0) != 0``, e.g. tanh, sin): ``C_b = 0``,
      ``C_W = 1/phi'(0)^2``; the kernel flows to 0 as ``K^(l) ~ 1/(-a_1 l)`` with
      ``a_1 = sigma_3/sigma_1 + (3/4)(sigma_2/sigma_1)^2``, ``sigma_p = phi^(p)(0)``
      (needs ``a_1 < 0``; with ``a_1 > 0``, as for GELU and SWISH, ``K = 0`` repels).
    * half-stable (e.g. GELU, SWISH): the smallest ``K* > 0`` with ``chi_par = chi_perp = 1``,
      ``C_W = 1/E[phi'^2]_K*``, ``C_b = K* - C_W E[phi^2]_K* >= 0``.
    * ``none``: no critical point found for ``K*`` in ``(0, 1e4]``.
    """
    act = as_activation(activation)
    if _is_scale_invariant(act):
        a_plus, a_minus = float(act.fn(np.ones(1))[0]), -float(act.fn(-np.ones(1))[0])
        a2 = 0.5 * (a_plus ** 2 + a_minus ** 2)
        a4 = 0.5 * (a_plus ** 4 + a_minus ** 4)
        return _critical("scale-invariant", 1.0 / a2, 0.0, math.nan,
                         {"a_plus": a_plus, "a_minus": a_minus, "A2": a2, "A4": a4})
    sigma = _taylor_at_zero(act.fn)
    if abs(sigma[0]) < 1e-12 and abs(sigma[1]) > 1e-8:
        a1 = sigma[3] / sigma[1] + 0.75 * (sigma[2] / sigma[1]) ** 2
        if a1 < 0:
            return _critical("K*=0", float(1.0 / sigma[1] ** 2), 0.0, 0.0,
                             {"sigma_p": sigma.tolist(), "a1": float(a1)})
    return _half_stable(act)


def _half_stable(act) -> Universality:
    grid = np.logspace(-4, 4, 801)
    cw = 1.0 / _derivative_second_moment(act, grid)
    excess = _length_slope(act, grid, cw) - 1.0
    cb = grid - cw * _second_moment(act, grid)
    crossing = np.nonzero((np.diff(np.sign(excess)) != 0) & (cb[1:] >= 0) & (cb[:-1] >= 0))[0]
    if crossing.size == 0:
        return Universality(name="none")
    j = crossing[0]

    def g(k):
        return _length_slope(act, k, 1.0 / _derivative_second_moment(act, k)) - 1.0
    k_star, iterations, converged = _bisect(g, np.array([grid[j]]), np.array([grid[j + 1]]))
    if not converged:
        raise ConvergenceError("universality class: the half-stable point did not converge",
                               iterations=iterations)
    k_star = float(k_star[0])
    cw_star = float(1.0 / _derivative_second_moment(act, k_star))
    cb_star = float(k_star - cw_star * _second_moment(act, k_star))
    chi_par = float(_length_slope(act, k_star, cw_star))
    return _critical("half-stable", cw_star, cb_star, k_star,
                     {"chi_par": chi_par,
                      "chi_perp": float(cw_star * _derivative_second_moment(act, k_star))},
                     converged=True, iterations=int(iterations), residual=abs(chi_par - 1.0))
