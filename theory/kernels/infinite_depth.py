"""Infinitely wide and deep networks as classifiers: the depth -> infinity limit of the
NNGP/NTK interpolating classifier (Radhakrishnan, Belkin & Uhler, "Wide and Deep Neural
Networks Achieve Optimality for Classification", 2022, arXiv:2204.14126; PNAS 120(14)
e2208779120, 2023).

Setting (the paper's; its code ``uhlerlab/inf_depth_ntks/models.py``). Inputs on the unit
sphere, no biases, every layer scaled so that the preactivation variance stays 1. With
``g(rho) = E[phi(u) phi(v)] / E[phi(u)^2]`` the *normalized dual* of the activation
(``u, v`` standard Gaussians of correlation ``rho``; ``g(1) = 1``; its Taylor
coefficients are the squared normalized Hermite coefficients of ``phi``, hence
``>= 0``) the depth-``L`` kernels of inputs with ``rho_0 = x . x'`` are::

    rho_{l+1} = g(rho_l)                                      (NNGP)
    Theta_{l+1} = g(rho_l) + g'(rho_l) Theta_l,  Theta_0 = rho_0  (NTK)

(``g' = E[phi' phi'] / E[phi^2]`` by Price's theorem), and the depth-``L`` classifier is
``sign(k(x, X) k(X, X)^{-1} y)``. The limit ``L -> inf`` is one of (conditions on ``g``):

* **majority vote**: ``g(0) > 0``. If ``g'(1) <= 1`` every ``rho -> 1`` (ReLU); the
  normalized NTK ``Theta_L / Theta_L(1)`` then tends to a constant ``< 1`` off the diagonal
  (ReLU: 1/4), so ``k(X, X) -> c I + (1-c) 1 1^T`` and the prediction is ``∝ sum_i y_i``.
  If ``g'(1) > 1``, ``rho`` tends to an interior fixed point ``rho* in (0, 1)`` and both
  kernels become constant off the diagonal: again majority vote [derived here]. (The NNGP
  with ``rho -> 1`` tends to the rank-one ``1 1^T``, a flat limit outside the taxonomy;
  reported as ``"flat"``.)
* **1-nearest neighbour**: ``g(0) = 0``, ``g'(0) = 0`` (then ``g'(1) > 1``): ``rho_L``
  decays super-exponentially, fastest for the farthest inputs, so the nearest training
  point dominates (e.g. ``g = rho^2``: ``rho_L = rho^(2^L)``).
* **singular kernel**: ``g(0) = 0``, ``0 < g'(0) < 1 < g'(1)``: ``rho_L / g'(0)^L -> G(rho)``,
  the Koenigs function of ``g`` at its fixed point 0, and the classifier tends to
  ``sign(sum_i y_i G(x . x_i))``. ``G`` is singular at ``rho = 1``:
  ``G(rho) ~ C (1 - rho)^(-alpha)``, ``alpha = ln(1/g'(0)) / ln g'(1)``. For the NTK,
  ``Theta_L / g'(0)^L = L G(rho) + c(rho) + o(1)`` with ``c ~ (1 - rho)^(-(alpha+1))``
  [derived here]: the same limit, approached at rate ``1/L``, and at moderate depth the NTK
  looks like the ``alpha + 1`` power law. Since ``1 - x . x' = |x - x'|^2 / 2``, the limit
  is the Hilbert kernel ``|x - x'|^(-d)`` (a consistent, hence Bayes-optimal, classifier
  for data on a d-dimensional sphere; Devroye, Gyorfi & Krzyzak 1998) when ``2 alpha = d``.

The paper's explicit optimal activations are those with ``alpha = d/2``: the
polynomial duals of its code (``g = rho^7/2 + rho/2`` for d = 1, ``rho^3/2 + rho/2`` for
d = 2, ``rho^3/4 + rho^2/2 + rho/4`` for d = 4, ``rho^3/16 + 7 rho^2/8 + rho/16`` for d = 8),
built here as :class:`Polynomial` activations ``phi = sum_k sqrt(c_k / k!) He_k``
(closed-form duals), and ``phi(z) = sin(sqrt(a) z)`` with ``g = sinh(a rho) / sinh(a)``,
``alpha(a) = ln(sinh(a)/a) / ln(a coth a)`` (a :class:`Sin` activation; ``a`` solved
for any ``d > 1``; ``a = 2.676, 6.13539, 13.8258`` give ``alpha = 1, 2, 4``).

The paper's theorem statements could not be read; conditions and exponents above follow
the reference notes (``kernels_finite_width.md`` sec. 6) and the authors' code, and the
tests check them against finite-depth kernels of :mod:`nnphys.theory.kernels`.
"""

from __future__ import annotations

import dataclasses
import fractions
import functools
import math

import numpy as np
from scipy import optimize

from ... import checks
from ...models import network as arch
from ...errors import ConvergenceError, NumericalError, ParameterError
from ...results import Result
from . import duals, hermite

__all__ = ["NormalizedDual", "normalized_dual", "DepthLimit", "limit_classifier", "koenigs",
           "classify", "deep_kernel", "kernel_classify", "dual_activation",
           "sine_activation", "sine_exponent", "optimal_activation", "OPTIMAL_DUALS"]

#: Taylor coefficients of the paper's optimal polynomial duals, by data dimension d
OPTIMAL_DUALS = {1: (0, 0.5, 0, 0, 0, 0, 0, 0.5), 2: (0, 0.5, 0, 0.5),
                 4: (0, 0.25, 0.5, 0.25), 8: (0, 1 / 16, 7 / 8, 1 / 16)}
_TINY = 1e-280        # below this a normalized kernel is lost to underflow
_LINEAR = 1e-20       # |rho| below which g(rho) = g'(0) rho to double precision


@dataclasses.dataclass(frozen=True)
class NormalizedDual:
    """``g(rho)`` and ``g'(rho)`` of an activation (vectorised callables)."""

    activation: object
    norm: float          # E[phi(u)^2], u ~ N(0, 1)

    def _raw(self, rho, need_dot):
        r = np.asarray(rho, dtype=float)
        flat = np.clip(r.ravel(), -1.0, 1.0)
        ones = np.ones_like(flat)
        fn = duals._dual if duals.has_closed_form(self.activation) else hermite.dual
        nngp, dot = fn(self.activation, ones, flat, ones, need_dot)
        nngp = np.broadcast_to(nngp, flat.shape).reshape(r.shape)
        dot = None if dot is None else np.broadcast_to(dot, flat.shape).reshape(r.shape)
        return nngp, dot

    def g(self, rho):
        return self._raw(rho, False)[0] / self.norm

    def g_prime(self, rho):
        return self._raw(rho, True)[1] / self.norm


def normalized_dual(activation) -> NormalizedDual:
    """The normalized dual of an activation of :mod:`nnphys.theory.kernels` (closed form
    where the library has one, else its Hermite series)."""
    if not isinstance(activation, arch.Activation):
        raise ParameterError("activation: must be an activation of nnphys.theory.kernels "
                             f"(nk.Relu(), nk.Elementwise(fn), ...), got {activation!r}")
    probe = NormalizedDual(activation, 1.0)
    norm = float(probe.g(1.0))
    if not (math.isfinite(norm) and norm > 0):
        raise ParameterError(f"activation: E[phi(u)^2] = {norm} must be finite and > 0")
    return NormalizedDual(activation, norm)


@dataclasses.dataclass(frozen=True)
class DepthLimit(Result):
    """The depth -> infinity classifier of an activation.

    Attributes:
        classifier: ``"majority"``, ``"nearest_neighbour"``, ``"singular"``, ``"linear"``
            (``g(rho) = rho``: depth changes nothing) or ``"flat"`` (NNGP with every
            ``rho -> 1``).
        kernel: ``"ntk"`` or ``"nngp"``.
        g0, g0_prime, g1_prime: ``g(0)``, ``g'(0)``, ``g'(1)``.
        fixed_point: the limit of ``rho_L`` for ``0 < rho_0 < 1``.
        exponent: ``alpha`` of the limiting singular kernel ``~(1 - rho)^(-alpha)`` (NaN
            unless singular); ``preasymptotic_exponent``: ``alpha + 1`` for the NTK.
        hilbert_dimension: ``d = 2 alpha``, the sphere dimension for which the limit is
            the (consistent) Hilbert kernel.
    """

    classifier: str = ""
    kernel: str = "ntk"
    g0: float = 0.0
    g0_prime: float = 0.0
    g1_prime: float = 0.0
    fixed_point: float = 1.0
    exponent: float = float("nan")
    preasymptotic_exponent: float = float("nan")
    hilbert_dimension: float = float("nan")
    activation: object = None


def _check_kernel(kernel: str) -> str:
    if kernel not in ("ntk", "nngp"):
        raise ParameterError(f"kernel: must be 'ntk' or 'nngp', got {kernel!r}")
    return kernel


def _fixed_point(dual: NormalizedDual, g0: float, g1p: float) -> tuple[float, int]:
    """Attracting fixed point of g on [0, 1] reached from the interior."""
    if g0 == 0:
        return 0.0, 0
    if g1p <= 1:
        return 1.0, 0
    # g(0) > 0, g'(1) > 1: g(rho) - rho changes sign on (0, 1); bracket below 1
    h = lambda r: float(dual.g(r)) - r   # noqa: E731
    hi = 1.0 - 1e-3
    while h(hi) >= 0 and hi > 1 - 1e-15:
        hi = 1 - (1 - hi) / 10
    root, info = optimize.brentq(h, 0.0, hi, xtol=1e-15, full_output=True)
    if not info.converged:
        raise ConvergenceError("fixed point of g: brentq did not converge",
                               iterations=info.iterations)
    return float(root), info.iterations


def limit_classifier(activation, kernel: str = "ntk", tol: float = 1e-12) -> DepthLimit:
    """Which classifier the depth-``L`` ``kernel`` classifier tends to as ``L -> inf``.

    Args:
        activation: an activation of :mod:`nnphys.theory.kernels`.
        kernel: ``"ntk"`` (the paper's) or ``"nngp"``.
        tol: ``g(0)`` and ``g'(0)`` below ``tol`` count as zero (roundoff of the duals).

    Example:
        >>> from nnphys.theory import kernels as nk
        >>> limit_classifier(nk.Relu()).classifier
        'majority'
    """
    _check_kernel(kernel)
    tol = checks.positive("tol", tol, high=1.0)
    dual = normalized_dual(activation)
    g0 = float(dual.g(0.0))
    g0p = float(dual.g_prime(0.0))
    g1p = float(dual.g_prime(1.0))
    g0 = 0.0 if abs(g0) < tol else g0
    g0p = 0.0 if abs(g0p) < tol else g0p
    fixed, its = _fixed_point(dual, g0, g1p)
    # health of the root find (brentq) where one ran; g(0) = 0 or g'(1) <= 1 fix the
    # attracting point at 0 or 1 without a solver
    health = dict(converged=True, iterations=its,
                  residual=abs(float(dual.g(fixed)) - fixed)) if its else {}
    alpha = pre = dim = float("nan")
    if g0 == 0 and abs(g1p - 1) <= tol:
        name = "linear"
    elif g0 > 0:
        name = "majority" if (kernel == "ntk" or fixed < 1) else "flat"
    elif g0p == 0:
        name = "nearest_neighbour"
    else:
        name = "singular"
        alpha = math.log(1 / g0p) / math.log(g1p)
        pre = alpha + 1 if kernel == "ntk" else alpha
        dim = 2 * alpha
    return DepthLimit(classifier=name, kernel=kernel, g0=g0, g0_prime=g0p, g1_prime=g1p,
                      fixed_point=fixed, exponent=alpha, preasymptotic_exponent=pre,
                      hilbert_dimension=dim, activation=activation, **health,
                      parameters={"activation": repr(activation), "kernel": kernel})


def _scaled_orbit(dual: NormalizedDual, rho: np.ndarray, g0p: float, depth: int | None,
                  with_ntk: bool, max_steps: int = 100_000):
    """``(R_l, T_l) = (rho_l, Theta_l) / g'(0)^l`` iterated until every ``rho_l`` is in the
    linear regime (or ``depth`` steps); returns ``(R, T, l)``. From there on ``R`` is
    constant and ``T`` grows by ``R`` per layer, exactly in double precision."""
    scale = 1.0                              # g'(0)^l, tracked while it is representable
    r_scaled = rho.copy()
    t_scaled = rho.copy() if with_ntk else None
    rho_l = rho.copy()
    for step in range(max_steps):
        if depth is not None and step == depth:
            return r_scaled, t_scaled, step
        if np.all(np.abs(rho_l) < _LINEAR):
            return r_scaled, t_scaled, step
        g_val = dual.g(rho_l)
        if with_ntk:
            t_scaled = g_val / (scale * g0p) + dual.g_prime(rho_l) / g0p * t_scaled
        r_scaled = g_val / (scale * g0p)
        scale *= g0p
        rho_l = g_val
    raise ConvergenceError("koenigs: the orbit did not reach the linear regime of g",
                           iterations=max_steps)


def koenigs(activation, rho) -> np.ndarray:
    """The Koenigs function ``G(rho) = lim_L g^L(rho) / g'(0)^L`` of a singular-class
    activation (``g(0) = 0 < g'(0) < 1``): the limiting kernel of the singular classifier."""
    limit = activation if isinstance(activation, DepthLimit) else limit_classifier(activation)
    if limit.classifier != "singular":
        raise ParameterError(f"activation: the Koenigs function needs the singular class "
                             f"(g(0) = 0 < g'(0) < 1); this one is {limit.classifier!r}")
    rho = np.clip(checks.finite_array("rho", rho), -1.0, 1.0)
    if np.any(rho >= 1):
        raise ParameterError("rho: the Koenigs function is infinite at rho = 1")
    return _scaled_orbit(normalized_dual(limit.activation), rho, limit.g0_prime, None,
                         False)[0]


def _unit_rows(name, x) -> np.ndarray:
    x = arch.check_input(x, name)
    if x.ndim != 2:
        raise ParameterError(f"{name}: must be a 2-D array (inputs, features), got shape "
                             f"{x.shape}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ParameterError(f"{name}: inputs must be nonzero (they are projected on the sphere)")
    return x / norms


def _labels(y, n) -> np.ndarray:
    y = checks.finite_array("y_train", y).ravel()
    if y.shape != (n,) or not np.all(np.isin(y, (-1.0, 1.0))):
        raise ParameterError(f"y_train: expected {n} labels in {{-1, +1}}")
    return y


def _correlations(x_train, x_test):
    xt = _unit_rows("x_train", x_train)
    xs = _unit_rows("x_test", x_test)
    if xs.shape[1] != xt.shape[1]:
        raise ParameterError(f"x_test: {xs.shape[1]} features, x_train has {xt.shape[1]}")
    train = np.clip(xt @ xt.T, -1.0, 1.0)
    np.fill_diagonal(train, 1.0)            # exactly 1: keeps the diagonal a fixed point
    return train, np.clip(xs @ xt.T, -1.0, 1.0)


def _sign(values) -> np.ndarray:
    return np.where(values >= 0, 1.0, -1.0)


def classify(limit: DepthLimit, x_train, y_train, x_test) -> np.ndarray:
    """Predictions (+-1) of the limiting classifier (ties go to +1).

    Majority vote: ``sign(sum y)``; nearest neighbour: label of the training input of
    largest ``x . x_i``; singular: ``sign(sum_i y_i G(x . x_i))`` (a test input equal
    to a training input takes its label).
    """
    if not isinstance(limit, DepthLimit):
        raise ParameterError("limit: pass the DepthLimit of limit_classifier(...)")
    train, cross = _correlations(x_train, x_test)
    y = _labels(y_train, train.shape[0])
    if limit.classifier == "majority":
        return np.full(cross.shape[0], _sign(y.sum()))
    if limit.classifier == "nearest_neighbour":
        return y[np.argmax(cross, axis=1)]
    if limit.classifier == "singular":
        hit = cross >= 1.0
        g = koenigs(limit, np.where(hit, 0.0, cross))
        scores = np.where(hit.any(axis=1), (hit * y).sum(axis=1), g @ y)
        return _sign(scores)
    raise ParameterError(f"limit: no limiting classifier for the {limit.classifier!r} class")


#: The deepest recursion of :func:`deep_kernel` (one map per layer).
MAX_DEPTH = 10 ** 6


def deep_kernel(activation, rho, depth: int, kernel: str = "ntk") -> np.ndarray:
    """The normalized depth-``L`` kernel: ``rho_L`` (NNGP) or ``Theta_L / Theta_L(1)``
    (NTK), by the recursions of the module docstring (values may underflow to 0 at large
    depth outside the majority class)."""
    _check_kernel(kernel)
    depth = checks.integer("depth", depth, low=0, high=MAX_DEPTH)
    dual = normalized_dual(activation)
    rho = np.clip(checks.finite_array("rho", rho), -1.0, 1.0)
    g1p = float(dual.g_prime(1.0))
    theta = rho.copy()                 # Theta_l / Theta_l(1), with Theta_0(1) = 1
    inv_diag = 1.0                     # 1 / Theta_l(1)
    for _ in range(int(depth)):
        g_val = dual.g(rho)
        if kernel == "ntk":
            next_inv = inv_diag / (inv_diag + g1p)          # Theta_{l+1}(1) = 1 + g'(1) Theta_l(1)
            theta = (g_val * inv_diag + dual.g_prime(rho) * theta) * (next_inv / inv_diag)
            inv_diag = next_inv
        rho = g_val
    return theta if kernel == "ntk" else rho


def kernel_classify(activation, x_train, y_train, x_test, depth: int,
                    kernel: str = "ntk") -> np.ndarray:
    """Predictions (+-1) of the depth-``L`` interpolating kernel classifier
    ``sign(k(x, X) k(X, X)^{-1} y)`` with the normalized NNGP or NTK.

    In the singular class, once the off-diagonal training kernel has fallen below
    ``1e-280`` of the diagonal (where ``k(X, X)`` is the identity to double precision) the
    scores ``k(x, X) y`` are continued in the scaled variables ``Theta_L / g'(0)^L``
    exactly, so any depth works.

    Raises:
        NumericalError: the kernel underflowed (1-NN class at large depth) so that no
            prediction is defined in double precision; the limit classifier applies.
    """
    _check_kernel(kernel)
    train, cross = _correlations(x_train, x_test)
    y = _labels(y_train, train.shape[0])
    limit = limit_classifier(activation, kernel)
    k_train = deep_kernel(activation, train, depth, kernel)
    k_cross = deep_kernel(activation, cross, depth, kernel)
    off = np.abs(k_train - np.diag(np.diag(k_train))).max(initial=0.0)
    if limit.classifier == "singular" and off < _TINY:
        return _sign(_singular_scores(limit, cross, y, int(depth), kernel))
    if np.any(np.abs(k_cross).max(axis=1) < _TINY):
        raise NumericalError(f"depth={depth}: the {kernel.upper()} underflowed to 0 for some "
                             "test inputs; use the limit classifier (classify)")
    return _sign(k_cross @ np.linalg.lstsq(k_train, y, rcond=None)[0])


def _singular_scores(limit, cross, y, depth, kernel):
    """``k(x, X) y / g'(0)^L`` in the singular class, for a training kernel equal to the
    identity to double precision."""
    dual = normalized_dual(limit.activation)
    r, t, steps = _scaled_orbit(dual, cross, limit.g0_prime, depth, kernel == "ntk")
    values = r if kernel == "nngp" else t + (depth - steps) * r
    return values @ y


def dual_activation(coefficients) -> arch.Polynomial:
    """A polynomial activation whose normalized dual is ``g(rho) = sum_k c_k rho^k``:
    ``phi = sum_k sqrt(c_k / k!) He_k`` (``c_k >= 0``, ``sum c_k = 1``)."""
    c = checks.finite_array("coefficients", coefficients)
    if c.ndim != 1 or c.size > 171 or c.size < 2 or np.any(c < 0) or not math.isclose(c.sum(), 1.0,
                                                                      rel_tol=1e-12):
        raise ParameterError("coefficients: need c_k >= 0 summing to 1 (g(1) = 1)")
    herm = np.sqrt(c / np.array([math.factorial(k) for k in range(c.size)]))
    return arch.Polynomial(tuple(float(v) for v in np.polynomial.hermite_e.herme2poly(herm)))


#: Below it :func:`sine_exponent` sums the Taylor series (radius pi/2) of its two logarithms.
_SINE_SERIES_BELOW = 0.5
_SINE_SERIES_TERMS = 18        # (0.5 / (pi/2))^(2 * 18) ~ 1e-18 relative


@functools.lru_cache(maxsize=None)
def _sine_series() -> tuple[np.ndarray, np.ndarray]:
    """Coefficients ``c_k, d_k`` (k = 1, 2, ...) of ``ln(sinh a / a) = sum c_k a^(2k)`` and
    ``ln(a coth a) = sum d_k a^(2k)``: with the Bernoulli numbers ``B_2k``,
    ``c_k = 2^(2k) B_2k / (2k (2k)!)`` and, from ``ln cosh a = sum 2^(2k) (2^(2k) - 1) B_2k
    a^(2k) / (2k (2k)!)``, ``d_k = 2^(2k) (2^(2k) - 2) B_2k / (2k (2k)!)``."""
    bern = [fractions.Fraction(1)]             # exact, by B_m = -sum_j C(m+1, j) B_j / (m+1)
    for m in range(1, 2 * _SINE_SERIES_TERMS + 1):
        bern.append(-sum(math.comb(m + 1, j) * bern[j] for j in range(m)) / (m + 1))
    base = [4 ** k * bern[2 * k] / (2 * k * math.factorial(2 * k))
            for k in range(1, _SINE_SERIES_TERMS + 1)]
    return (np.array([float(b) for b in base]),
            np.array([float(b * (4 ** k - 2)) for k, b in enumerate(base, start=1)]))


def sine_exponent(a: float) -> float:
    """``alpha(a) = ln(sinh(a)/a) / ln(a coth a)`` of ``g = sinh(a rho)/sinh(a)``.

    For ``a < 1/2`` both logarithms vanish like ``a^2`` (``alpha -> 1/2``): they come from
    their series (:func:`_sine_series`) divided by ``a^2``, free of the 0/0 of the closed
    form."""
    a = checks.positive("a", a)
    if a < _SINE_SERIES_BELOW:
        c, d = _sine_series()
        return float(np.polynomial.polynomial.polyval(a * a, c) /
                     np.polynomial.polynomial.polyval(a * a, d))
    log_sinh_over_a = a - math.log(2 * a) + math.log1p(-math.exp(-2 * a))
    return log_sinh_over_a / math.log(a / math.tanh(a))


def sine_activation(a: float) -> arch.Sin:
    """``phi(z) = sin(sqrt(a) z)``, normalized dual ``sinh(a rho) / sinh(a)``."""
    sine_exponent(a)
    return arch.Sin(a=1.0, b=math.sqrt(a), c=0.0)


def optimal_activation(d: float):
    """An activation whose infinite-depth limit is the Hilbert kernel on ``S^d``
    (``alpha = d / 2``): the paper's polynomial dual for d in {1, 2, 4, 8}, otherwise the
    sine activation with ``alpha(a) = d / 2`` (any ``d > 1``)."""
    d = checks.real("d", d, low=1.0)
    if d in OPTIMAL_DUALS:
        return dual_activation(OPTIMAL_DUALS[d])
    hi = 1.0
    while sine_exponent(hi) < d / 2:
        hi *= 2
    a = optimize.brentq(lambda s: sine_exponent(s) - d / 2, 1e-3, hi, xtol=1e-14)
    return sine_activation(a)
