r"""Dense associative memories with exponential capacity: ``K = e^{alpha N}`` patterns.

Model (spec :class:`nnphys.models.hebbian.ExponentialMemory`). ``N`` spins (binary patterns)
or a state on the sphere ``|sigma|^2 = N`` (spherical / Gaussian patterns), ``K = e^{alpha N}``
patterns and the log-sum-exp energy at sharpness ``lam``::

    E(sigma) = -(1/lam) ln sum_mu exp(lam xi^mu . sigma) .

``lam = 1`` is Demircigil et al.'s ``F(x) = e^x`` (their energy ``-sum_mu e^{xi.sigma}`` has
the same zero-temperature dynamics); ``lam`` is Ramsauer et al.'s ``beta`` (arXiv:2008.02217)
and Lucibello & Mezard's ``lambda`` (arXiv:2304.14964). ``T`` is the temperature of the spin
dynamics (Glauber on ``E``).

Derivation (random-energy analysis). The equations of Lucibello & Mezard (2024) could not be
read here; what follows is derived in their spirit (the energy of the retrieved pattern
against the sum over ``e^{alpha N}`` random overlaps, a random-energy model in pattern space)
and checked by simulation (:mod:`nnphys.validation.exponential`). For a state ``sigma``
unrelated to pattern ``mu``, the overlap ``m = xi.sigma/N`` has the large-deviation rate
``I(m)`` of the pattern law (:func:`overlap_rate`): binary ``I(m) = [(1+m)ln(1+m) +
(1-m)ln(1-m)]/2`` (the Cramer rate of a +-1 sum, :func:`cramer_rate`), spherical
``-ln(1-m^2)/2``, Gaussian ``m^2/2``. The ``e^{alpha N}`` random terms of the sum form a REM:
with ``m_lam = (I')^{-1}(lam)`` (:func:`saddle`) and ``Lambda(lam) = lam m_lam - I(m_lam)``,

    (1/N) ln sum_mu e^{lam N m_mu} -> g(alpha) = alpha + Lambda(lam)   if alpha > I(m_lam)
                                               = lam m_c(alpha)        otherwise (condensed),

``I(m_c) = alpha`` the largest random overlap. Results:

* Typical pattern, T > 0 (:func:`typical_capacity`): the state retrieving pattern 1 has
  overlap ``m_T`` (binary spins ``tanh(1/T)``; spherical state
  ``(sqrt(1 + 4/T^2) - 1) T/2``) and survives iff its term dominates the sum, ``lam m_T >
  g(alpha)`` (otherwise the local fields are exponentially small and any T > 0 melts it)::

      alpha_1(T) = lam m_T - Lambda(lam)   (m_T >= m_lam),    I(m_T)   (m_T < m_lam).

* Typical pattern, T = 0 (sign dynamics for binary spins, the softmax update on the sphere
  for continuous patterns): a flip of spin ``i`` at ``sigma = xi^1`` changes the random part
  of the sum by a zero-mean amount (``E[e^{lam x}(e^{-2 lam a} - 1)] = 0`` exactly: the flip
  maps the background's law to itself), and on the sphere the background's weighted mean
  ``sum_mu w_mu xi^mu`` points along ``sigma`` itself up to a random tangent part: in both
  cases only the fluctuation ``(sum_mu w_mu^2)^{1/2} = e^{N g(alpha; 2 lam)/2}`` competes with
  the signal ``e^{lam N}`` (:func:`fluctuation_exponent`)::

      alpha_1(0) = 2 lam - Lambda(2 lam)   if m_{2 lam} <= 1,   I(1) otherwise

  (binary ``2 lam - ln cosh(2 lam)``, -> ln 2 as lam -> inf, 0.6750 at lam = 1; Gaussian
  ``2 lam - 2 lam^2`` for ``lam <= 1/2``, ``1/2`` above). At T = 0 the background's mean
  cancels; at any T > 0 its size matters (the energy landscape is flat to ``e^{-N(...)}``
  once the background dominates), hence the jump to ``lam - Lambda(lam)`` as T -> 0+.
  An earlier reading of the T = 0 softmax threshold as the energy criterion ``lam -
  Lambda(lam)`` is contradicted by simulation (``validation.exponential``).

* All patterns, T = 0 (:func:`all_patterns_capacity`, a lower bound on the load at which
  every pattern is retrieved): the worst of the ``e^{alpha N}`` patterns sees single-pattern
  deviations of cost up to ``alpha`` (a neighbour at the pair overlap ``I(u) = 2 alpha``;
  Gaussian patterns also a short norm ``r``, ``(r^2 - 1 - 2 ln r)/2 <= alpha``, signal
  ``lam r N``); the collective REM background does not fluctuate at exponential cost. Binary:
  ``alpha_c = min(alpha_1(0), ln 2 / 2)`` (Demircigil's ``ln 2 / 2``); spherical:
  ``alpha_c = alpha_1`` (``I(1) = inf``: the thresholds coincide, as the abstract of
  Lucibello & Mezard says); Gaussian: a gap, ``alpha_c < alpha_1``.

* Glass line: the REM in pattern space condenses at ``alpha_g = I(m_lam)``: below it the
  sum is dominated by the few patterns closest to the state (glass), above it by
  exponentially many (paramagnet). :func:`phase_diagram` draws retrieval / glass /
  paramagnet in the ``(alpha, T)`` plane.

Demircigil's theorem (:func:`retrieval_threshold`): from a start at Hamming distance
``rho N`` every pattern is retrieved w.h.p. for ``alpha < I(1 - 2 rho)/2`` (Demircigil,
Heusel, Lowe, Upgang & Vermet 2017, arXiv:1702.01929, Theorem 3; ``ln 2 / 2`` at rho = 0).

Polynomial interaction ``F(x) = x^n`` (Krotov & Hopfield 2016, arXiv:1606.01164, their
Eq. 5): error-free capacity ``K_max = N^{n-1} / (2 (2n-3)!! ln N)``
(:func:`polynomial_capacity`); :func:`stable_probability` is the finite-N Gaussian
signal-to-noise estimate behind it, and :func:`crossover_order` the order ``n`` at which
the polynomial capacity reaches the exponential ``e^{N ln 2/2}``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize, special

from ... import checks
from ...errors import ParameterError
from ...models.hebbian import PATTERN_LAWS
from ...results import OK, PhaseDiagram, Result, register_phase_diagram

__all__ = ["DemircigilThreshold", "ExponentialCapacity", "PolynomialCapacity", "PHASES",
           "cramer_rate", "overlap_rate", "saddle", "retrieval_overlap", "background_exponent",
           "fluctuation_exponent", "retrieval_threshold", "typical_capacity", "all_patterns_capacity", "glass_line",
           "phase_diagram", "polynomial_capacity", "stable_probability", "crossover_order"]

PHASES = {0: "paramagnet", 1: "glass", 2: "retrieval"}
LN2 = math.log(2.0)
_XTOL = 1e-14


@dataclasses.dataclass(frozen=True)
class DemircigilThreshold(Result):
    """``alpha = I(1 - 2 rho)/2``: every pattern retrieved from distance ``rho N`` below it."""

    rho: float = 0.0
    alpha: float = 0.0


@dataclasses.dataclass(frozen=True)
class ExponentialCapacity(Result):
    """A retrieval threshold ``alpha_1`` (typical pattern) or ``alpha_c`` (all patterns,
    ``T = 0``) at sharpness ``lam``, with the retrieval overlap ``m`` and the regime of the
    background sum (``"uncondensed"``, ``"condensed"`` or ``"fluctuation"`` for the T = 0
    sign dynamics; for alpha_c the binding condition: ``"typical"``, ``"pair"``, ``"norm"``).
    Closed forms report ``converged=True, iterations=0, residual=0``; root finds their own."""

    lam: float = 1.0
    T: float = 0.0
    patterns: str = "binary"
    alpha: float = 0.0
    m: float = 1.0
    regime: str = ""


@dataclasses.dataclass(frozen=True)
class PolynomialCapacity(Result):
    """``K_max = N^{n-1}/(2 (2n-3)!! ln N)`` and ``alpha = ln(K_max)/N``."""

    n: int = 3
    N: int = 2
    K_max: float = 0.0
    alpha: float = 0.0


# ------------------------------------------------------------------ rate functions

def cramer_rate(m):
    """``I(m) = [(1+m) ln(1+m) + (1-m) ln(1-m)]/2`` for ``|m| <= 1`` (``I(+-1) = ln 2``): the
    Cramer rate of the mean of N independent +-1 signs, ``P(m) ~ e^{-N I(m)}``."""
    m = checks.finite_array("m", m)
    if np.any(np.abs(m) > 1):
        raise ParameterError(f"m: must lie in [-1, 1], got {m}")
    return 0.5 * (special.xlogy(1 + m, 1 + m) + special.xlogy(1 - m, 1 - m))


def overlap_rate(m, patterns: str = "binary"):
    """Large-deviation rate of the overlap ``m = xi.sigma/N`` of a random pattern with a
    fixed state: binary :func:`cramer_rate`, spherical ``-ln(1 - m^2)/2`` (``|m| < 1``; from
    the density ``(1 - m^2)^{(N-3)/2}``), Gaussian ``m^2/2`` (``xi.sigma/N ~ N(0, 1/N)``)."""
    checks.one_of("patterns", patterns, PATTERN_LAWS)
    if patterns == "binary":
        return cramer_rate(m)
    m = checks.finite_array("m", m)
    if patterns == "gaussian":
        return 0.5 * m * m
    if np.any(np.abs(m) >= 1):
        raise ParameterError(f"m: must lie in (-1, 1) for spherical patterns, got {m}")
    return -0.5 * np.log1p(-m * m)


def _saddle(t: float, law: str) -> float:
    if law == "binary":
        return math.tanh(t)
    if law == "gaussian":
        return t
    return 2.0 * t / (1.0 + math.sqrt(1.0 + 4.0 * t * t))     # (sqrt(1+4t^2) - 1)/(2t)


def saddle(lam: float, patterns: str = "binary") -> float:
    """``m_lam = (I')^{-1}(lam)``, the overlap that dominates ``sum_mu e^{lam N m_mu}``:
    ``tanh(lam)`` (binary), ``(sqrt(1 + 4 lam^2) - 1)/(2 lam)`` (spherical), ``lam``
    (Gaussian)."""
    lam = checks.real("lam", lam, low=0.0, low_open=True)
    checks.one_of("patterns", patterns, PATTERN_LAWS)
    return _saddle(lam, patterns)


def _legendre(lam: float, law: str) -> float:
    """``Lambda(lam) = lam m_lam - I(m_lam)`` (binary: ``ln cosh lam``)."""
    if law == "binary":
        return math.log(math.cosh(lam)) if lam < 30 else lam - LN2 + math.log1p(
            math.exp(-2 * lam))
    m = _saddle(lam, law)
    return lam * m - float(overlap_rate(m, law))


def retrieval_overlap(T: float, patterns: str = "binary") -> float:
    """Overlap ``m_T`` of the state retrieving one pattern at temperature ``T``: the minimum
    of ``-m + T I_spin(m)`` (binary spins: ``tanh(1/T)``; a state on the sphere:
    ``(sqrt(1 + 4/T^2) - 1) T/2``); 1 at T = 0."""
    T = checks.real("T", T, low=0.0)
    checks.one_of("patterns", patterns, PATTERN_LAWS)
    if T == 0:
        return 1.0
    return _saddle(1.0 / T, "binary" if patterns == "binary" else "spherical")


def _inverse_rate(a: float, law: str) -> float:
    """``m_c >= 0`` with ``I(m_c) = a`` (binary: 1 once ``a >= ln 2``, the whole cube)."""
    if law == "gaussian":
        return math.sqrt(2 * a)
    if law == "spherical":
        return math.sqrt(-math.expm1(-2 * a))
    if a >= LN2:
        return 1.0
    if a <= 0:
        return 0.0
    return optimize.brentq(lambda m: float(cramer_rate(m)) - a, 0.0, 1.0, xtol=_XTOL)


def background_exponent(alpha: float, lam: float, patterns: str = "binary") -> float:
    """``g = lim (1/N) ln sum_mu e^{lam N m_mu}`` over ``e^{alpha N}`` random patterns:
    ``alpha + Lambda(lam)`` above the condensation load ``I(m_lam)``, ``lam m_c(alpha)``
    below it (the REM free energy in pattern space)."""
    alpha = checks.real("alpha", alpha, low=0.0)
    lam = checks.real("lam", lam, low=0.0, low_open=True)
    checks.one_of("patterns", patterns, PATTERN_LAWS)
    m_lam = _saddle(lam, patterns)
    if alpha > float(overlap_rate(m_lam, patterns)):
        return alpha + _legendre(lam, patterns)
    return lam * _inverse_rate(alpha, patterns)


def fluctuation_exponent(alpha: float, lam: float, patterns: str = "binary") -> float:
    """``lim (1/2N) ln sum_mu e^{2 lam N m_mu}`` over ``e^{alpha N}`` random patterns, the
    exponent of the zero-mean fluctuation of the background under a flip (T = 0):
    ``background_exponent(alpha, 2 lam) / 2``."""
    lam = checks.real("lam", lam, low=0.0, low_open=True)
    return 0.5 * background_exponent(alpha, 2.0 * lam, patterns)


# ------------------------------------------------------------------ thresholds

def retrieval_threshold(rho: float = 0.0) -> DemircigilThreshold:
    """Demircigil et al. (2017, arXiv:1702.01929, Theorem 3): binary patterns, ``F = e^x``,
    a start at Hamming distance ``rho N``: every pattern is retrieved in one step w.h.p. for
    ``K = e^{alpha N}`` with ``alpha < I(1 - 2 rho)/2``, ``I`` the Cramer rate
    (:func:`cramer_rate`); ``ln 2 / 2`` at ``rho = 0``.

    Parameters
    ----------
    rho : float
        Fraction of wrong spins of the start, ``0 <= rho < 1/2``.

    Returns
    -------
    DemircigilThreshold
        ``alpha`` (closed form: ``converged=True``, no iterations, residual 0).
    """
    rho = checks.real("rho", rho, low=0.0, high=0.5, high_open=True)
    alpha = 0.5 * float(cramer_rate(1.0 - 2.0 * rho))
    return DemircigilThreshold(converged=True, iterations=0, residual=0.0,
                               parameters={"rho": rho}, rho=rho, alpha=alpha)


def _alpha_1(lam: float, T: float, law: str) -> tuple[float, float, str]:
    m_t = retrieval_overlap(T, law)
    if T == 0:
        if law == "gaussian" and 2 * lam > 1:
            return 0.5, 1.0, "fluctuation (condensed)"
        return 2 * lam - _legendre(2 * lam, law), 1.0, "fluctuation"
    m_lam = _saddle(lam, law)
    if m_t >= m_lam:
        return lam * m_t - _legendre(lam, law), m_t, "uncondensed"
    return float(overlap_rate(m_t, law)), m_t, "condensed"


def typical_capacity(lam: float = 1.0, T: float = 0.0,
                     patterns: str = "binary") -> ExponentialCapacity:
    """``alpha_1(lam, T)``: the largest load at which a typical pattern is retrieved (the
    state near it is stable), from the random-energy analysis of the module docstring
    (derived here; Lucibello & Mezard 2024, arXiv:2304.14964, give the T = 0 thresholds).

    ``T > 0``: ``alpha_1 = lam m_T - Lambda(lam)`` if ``m_T >= m_lam``, else ``I(m_T)``.
    ``T = 0``: ``2 lam - Lambda(2 lam)`` (binary ``2 lam - ln cosh(2 lam)``; Gaussian 1/2
    once ``lam > 1/2``).

    Parameters
    ----------
    lam : float
        Sharpness of the log-sum-exp energy (> 0).
    T : float
        Temperature of the spin dynamics (>= 0).
    patterns : str
        ``"binary"``, ``"spherical"`` or ``"gaussian"``.

    Returns
    -------
    ExponentialCapacity
        ``alpha`` = alpha_1, ``m`` = m_T, ``regime`` of the background (closed form).
    """
    lam = checks.real("lam", lam, low=0.0, low_open=True)
    T = checks.real("T", T, low=0.0)
    checks.one_of("patterns", patterns, PATTERN_LAWS)
    a, m, regime = _alpha_1(lam, T, patterns)
    return ExponentialCapacity(converged=True, iterations=0, residual=0.0,
                               parameters={"lam": lam, "T": T, "patterns": patterns},
                               lam=lam, T=T, patterns=patterns, alpha=a, m=m, regime=regime)


def _norm_rate(r: float) -> float:
    """Rate of ``|xi|/sqrt(N) = r`` for a Gaussian pattern (chi-square large deviations)."""
    return 0.5 * (r * r - 1.0 - 2.0 * math.log(r))


def _short_norm(a: float) -> float:
    """``r < 1`` with ``_norm_rate(r) = a``."""
    if a <= 0:
        return 1.0
    return optimize.brentq(lambda r: _norm_rate(r) - a, 1e-300, 1.0, xtol=_XTOL)


def _pair_margin(alpha: float) -> float:
    """``min (r - u)`` over a Gaussian pattern of norm ``r`` with a neighbour of overlap
    ``u``, at total excess cost ``_norm_rate(r) + u^2/2 - alpha <= alpha``."""
    r_low = _short_norm(2 * alpha)

    def margin(r):
        return r - math.sqrt(max(0.0, 4 * alpha - 2 * _norm_rate(r)))
    res = optimize.minimize_scalar(margin, bounds=(r_low, 1.0), method="bounded",
                                   options={"xatol": 1e-13})
    return min(float(res.fun), margin(1.0), margin(r_low))


def all_patterns_capacity(lam: float = 1.0, patterns: str = "binary") -> ExponentialCapacity:
    """``alpha_c(lam)`` at T = 0: a lower bound on the load below which every pattern is
    retrieved (random-energy analysis of the module docstring, derived here).

    Binary: ``min(alpha_1(0), ln 2/2)`` (Demircigil's ``ln 2 / 2``, the pair overlap reaching
    1); spherical: ``alpha_1`` (no pair at overlap 1 costs less than infinity); Gaussian:
    the smallest of ``alpha_1``, the root of ``lam r_min(alpha) = fluctuation_exponent``
    (a pattern with the shortest norm, ``(r^2 - 1 - 2 ln r)/2 = alpha``) and the root of
    ``min(r - u) = 0`` over a short pattern with a close neighbour (total cost
    ``2 alpha``; binding at large lam: ``alpha_c = ln 2 / 4``).

    Parameters
    ----------
    lam : float
        Sharpness of the log-sum-exp energy (> 0).
    patterns : str
        ``"binary"``, ``"spherical"`` or ``"gaussian"``.

    Returns
    -------
    ExponentialCapacity
        ``alpha`` = alpha_c, ``regime`` the binding condition; Gaussian: ``iterations``
        are Brent iterations, ``residual`` the margin of the binding condition at the root.
    """
    lam = checks.real("lam", lam, low=0.0, low_open=True)
    checks.one_of("patterns", patterns, PATTERN_LAWS)
    a1, _, _ = _alpha_1(lam, 0.0, patterns)
    params = {"lam": lam, "patterns": patterns}
    common = dict(parameters=params, lam=lam, T=0.0, patterns=patterns, m=1.0)
    if patterns == "binary":
        a, regime = (a1, "typical") if a1 <= LN2 / 2 else (LN2 / 2, "pair")
        return ExponentialCapacity(converged=True, iterations=0, residual=0.0, alpha=a,
                                   regime=regime, **common)
    if patterns == "spherical":
        return ExponentialCapacity(converged=True, iterations=0, residual=0.0, alpha=a1,
                                   regime="typical", **common)

    def norm_margin(a):
        return lam * _short_norm(a) - fluctuation_exponent(a, lam, "gaussian")
    candidates = [(a1, "typical", 0, 0.0)]
    for name, fn in (("norm", norm_margin), ("pair", _pair_margin)):
        hi = a1
        if fn(hi) < 0:
            root, info = optimize.brentq(fn, 1e-12, hi, xtol=_XTOL, full_output=True)
            candidates.append((root, name, info.iterations, abs(fn(root))))
    a, regime, its, res = min(candidates)
    return ExponentialCapacity(converged=True, iterations=int(its), residual=float(res),
                               alpha=float(a), regime=regime, **common)


def glass_line(lam: float = 1.0, patterns: str = "binary") -> float:
    """``alpha_g = I(m_lam)``: below it the log-sum-exp of a state unrelated to the patterns
    is dominated by its few closest patterns (REM condensation in pattern space)."""
    m = saddle(lam, patterns)
    return float(overlap_rate(m, patterns))


@register_phase_diagram("exponential", axes=("alpha", "T"))
def phase_diagram(alpha, T, lam: float = 1.0, patterns: str = "binary") -> PhaseDiagram:
    """(alpha, T) phase diagram of the exponential memory at sharpness ``lam``: retrieval
    (``alpha < alpha_1(T)``), glass (``alpha < I(m_lam)``), paramagnet.

    Fields: ``alpha_1`` and ``m`` (the retrieval overlap m_T) on the grid (constant along
    alpha), ``g`` the background exponent. Boundaries: ``alpha_1`` points ``(alpha_1(T), T)``,
    ``alpha_c`` the T = 0 all-patterns bound, ``glass`` the condensation line. Closed forms
    (Gaussian alpha_c by root finding): ``converged=True``.

    Parameters
    ----------
    alpha, T : array_like
        Grids of loads (``ln K / N >= 0``) and temperatures (>= 0).
    lam : float
        Sharpness of the log-sum-exp energy (> 0).
    patterns : str
        ``"binary"``, ``"spherical"`` or ``"gaussian"``.

    Returns
    -------
    PhaseDiagram
        phases :data:`PHASES`.
    """
    alpha = np.unique(np.atleast_1d(checks.finite_array("alpha", alpha, low=0.0)))
    T = np.unique(np.atleast_1d(checks.finite_array("T", T, low=0.0)))
    lam = checks.real("lam", lam, low=0.0, low_open=True)
    checks.one_of("patterns", patterns, PATTERN_LAWS)
    rows = [_alpha_1(lam, float(t), patterns) for t in T]
    a1 = np.array([r[0] for r in rows])
    m_t = np.array([r[1] for r in rows])
    a_g = glass_line(lam, patterns)
    A, A1 = np.meshgrid(alpha, a1, indexing="ij")
    phase = np.where(A < A1, 2, np.where(A < a_g, 1, 0))
    g_alpha = np.array([background_exponent(float(a), lam, patterns) for a in alpha])
    g = np.repeat(g_alpha[:, None], T.size, axis=1)
    cap = all_patterns_capacity(lam, patterns)
    fields = {"alpha_1": A1, "m": np.broadcast_to(m_t, A.shape).copy(), "g": g}
    boundaries = {"alpha_1": np.column_stack([a1, T]),
                  "alpha_c": np.array([[cap.alpha, 0.0]]),
                  "glass": np.column_stack([np.full(T.size, a_g), T])}
    return PhaseDiagram(converged=True, iterations=cap.iterations, residual=cap.residual,
                        parameters={"model": "exponential", "lam": lam, "patterns": patterns},
                        axes={"alpha": alpha, "T": T}, fields=fields, phase=phase,
                        labels=dict(PHASES), status=np.full(A.shape, OK),
                        boundaries=boundaries).warn_failures()


# ------------------------------------------------------------------ polynomial F(x) = x^n

def _double_factorial_log(k: int) -> float:
    """``ln k!!`` for odd ``k >= -1``."""
    return sum(math.log(j) for j in range(k, 0, -2))


def polynomial_capacity(n: int, N: int) -> PolynomialCapacity:
    """Krotov & Hopfield (2016, arXiv:1606.01164, Eq. 5): ``F(x) = x^n``, error-free capacity
    ``K_max = N^{n-1} / (2 (2n-3)!! ln N)`` (n = 2: ``N/(2 ln N)``, McEliece et al.).

    It follows from the signal ``2n N^{n-1}`` of a flip against the cross-talk variance
    ``4 n^2 K (2n-3)!! N^{n-1}`` at ``z^2 = 2 ln N`` (:func:`stable_probability`).

    Parameters
    ----------
    n : int
        Interaction order (>= 2).
    N : int
        Number of spins (>= 3).

    Returns
    -------
    PolynomialCapacity
        ``K_max`` and ``alpha = ln(K_max)/N`` (closed form).
    """
    n = checks.integer("n", n, low=2, high=10_000)
    N = checks.integer("N", N, low=3)
    log_k = (n - 1) * math.log(N) - math.log(2 * math.log(N)) - _double_factorial_log(2 * n - 3)
    if log_k > 700:
        raise ParameterError(f"n: K_max = e^{log_k:.0f} overflows float64 at N = {N}")
    return PolynomialCapacity(converged=True, iterations=0, residual=0.0,
                              parameters={"n": n, "N": N}, n=n, N=N, K_max=math.exp(log_k),
                              alpha=log_k / N)


def _even_moment(n_terms: int, power: int) -> float:
    """``E[x^power]`` for ``x`` a sum of ``n_terms`` independent +-1 (exact)."""
    k = np.arange(n_terms + 1)
    x = (2 * k - n_terms).astype(float)
    logw = (special.gammaln(n_terms + 1) - special.gammaln(k + 1)
            - special.gammaln(n_terms - k + 1) - n_terms * LN2)
    return float(np.sum(np.exp(logw) * x ** power))


def stable_probability(n: int, N: int, K: int) -> float:
    """Gaussian signal-to-noise estimate of the probability that a stored pattern is a fixed
    point of ``F(x) = x^n`` zero-temperature dynamics with ``K`` patterns of ``N`` bits:
    ``(1 - Phi(-z))^N`` with ``z = [N^n - (N-2)^n] / sqrt((K-1) E[D^2])``, ``D = (x+1)^n -
    (x-1)^n`` the change of a random pattern's term (``x`` a sum of ``N - 1`` signs; exact
    moments). The bits are treated as independent (Krotov & Hopfield's assumption)."""
    n = checks.integer("n", n, low=2, high=200)
    N = checks.integer("N", N, low=3, high=100_000)
    K = checks.integer("K", K, low=1)
    if K == 1:
        return 1.0
    signal = float(N) ** n - float(N - 2) ** n
    # D^2 = sum_{j,l odd} c_j c_l x^{2n - j - l}, c_j = 2 C(n, j)
    var = 0.0
    for j in range(1, n + 1, 2):
        for l in range(1, n + 1, 2):
            var += 4 * math.comb(n, j) * math.comb(n, l) * _even_moment(N - 1, 2 * n - j - l)
    z = signal / math.sqrt((K - 1) * var)
    return float(np.exp(N * special.log_ndtr(z)))


def crossover_order(N: int) -> int:
    """The smallest ``n`` at which the polynomial capacity ``K_max(n, N)`` reaches the
    exponential capacity ``e^{N ln 2 / 2}`` of ``F = e^x`` (Demircigil): beyond it the
    polynomial formula (a Gaussian approximation valid for ``n << N``) is superseded by the
    exponential bound."""
    N = checks.integer("N", N, low=3, high=100_000)
    target = N * LN2 / 2
    for n in range(2, 10_000):
        log_k = (n - 1) * math.log(N) - math.log(2 * math.log(N)) - \
            _double_factorial_log(2 * n - 3)
        if log_k >= target:
            return n
    raise ParameterError(f"N: no order below 10000 reaches e^(N ln2/2) at N = {N}")
