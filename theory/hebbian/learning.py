r"""Dense Hebbian networks learning archetypes from noisy examples: RS theory.

Data (the standard model of Agliari, Albanese, Alemanno, Alessandrelli, Barra, Giannotti,
Lotito, Pedreschi, "Dense Hebbian neural networks: a replica symmetric picture of
unsupervised / supervised learning", arXiv:2211.14067 and arXiv:2212.00606, Physica A 627,
129143 and 626, 129076 (2023)). ``K = alpha N^{P-1}`` archetypes ``xi^mu = +-1``; ``M``
examples per archetype ``eta^{mu a}_i = xi^mu_i chi^{mu a}_i`` with ``P(chi = 1) = (1+r)/2``
(quality ``r``). Example mean ``eta_bar^mu = (1/M) sum_a eta^{mu a}``,
``R = E eta_bar^2 = r^2 (1 + rho)`` with the dataset entropy ``rho = (1 - r^2)/(M r^2)``.

Hamiltonians (P-body, distinct indices, as in :mod:`.dense` and ``sim.montecarlo``)::

    supervised    H = -N^{1-P} R^{-P/2} sum_mu sum_{i1<..<iP}
                        eta_bar^mu_i1 .. eta_bar^mu_iP sigma_i1 .. sigma_iP
    unsupervised  H = -N^{1-P} R^{-P/2} M^{-1} sum_mu sum_a sum_{i1<..<iP}
                        eta^{mu a}_i1 .. eta^{mu a}_iP sigma_i1 .. sigma_iP

Order parameters: ``m`` (overlap with the archetype, generalisation), ``n`` (with the
normalised example mean ``eta_bar/sqrt(R)``), ``q``. Gaussian approximation of
``eta_bar_i xi_i / sqrt(R) ~ (1 + sqrt(rho) g)/sqrt(1 + rho)`` (large M); gauge ``xi = 1``::

    h = A (1 + sqrt(rho) g) + sqrt(alpha kappa q^{P-1}/(P-1)!) z,
    A = n^{P-1} / ((P-1)! sqrt(1+rho))
    m = E tanh(beta h),  q = E tanh^2(beta h),  n sqrt(1+rho) = m + beta rho A (1 - q)

(the last by Stein's lemma on ``g``), with ``kappa = 1`` (supervised) or
``kappa = [1/M + (1 - 1/M) r^{2P}] / R^P`` (unsupervised: K M stored, correlated tensors).
``h`` is Gaussian with mean ``A`` and variance ``A^2 rho + alpha kappa q^{P-1}/(P-1)!``.

T = 0, with ``y = A / (s sqrt 2)``: ``m = erf y``, ``n sqrt(1+rho) = m + (2 rho/sqrt(pi)) y
e^{-y^2}``, and the load is explicit, ``alpha(y) = A^2 (1/(2 y^2) - rho) (P-1)!/kappa``;
``alpha_c = max_y alpha(y)``. At ``alpha = 0`` (low storage) ``m = erf(1/sqrt(2 rho))``
(``sigma = sign eta_bar``); :func:`exact_low_load_overlap` gives the exact binomial value.

Provenance. These equations are *derived* (reference file sec. 3, from the abstracts and the
data model); the papers' own full texts could not be read through the search tool, so their
equation numbers are not cited. The low-load equivalence of supervised and unsupervised
learning agrees with the statement of arXiv:2308.04106. Regimes named in 2212.00606:
*ultra-storage* (``K ~ N^{P-1}`` with P > 2, far beyond the shallow ``K ~ N``) and
*ultra-detection* (learning at vanishing signal-to-noise ``r -> 0`` when ``M`` grows with
``N``), quantified here by :func:`critical_load` and :func:`critical_entropy`.

ML loss. With the Hamming loss of a pattern ``L = ||sigma - xi||^2/(4N) = (1 - m)/2`` the
P-body Hebbian cost of one condensed pattern is ``-N (1 - 2L)^P / P!`` (:func:`loss`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize, special, stats

from ...errors import ConvergenceError, ParameterError
from ...results import PhaseDiagram, Result
from . import _gauss

__all__ = ["LearningState", "dataset_entropy", "kappa", "solve", "critical_load",
           "critical_entropy", "exact_low_load_overlap", "loss", "phase_diagram"]

_TOL = 1e-12
_MAXITER = 20000


@dataclasses.dataclass(frozen=True)
class LearningState(Result):
    """RS solution: archetype overlap ``m``, example-mean overlap ``n``, ``q``."""

    alpha: float = 0.0
    T: float = 0.0
    P: int = 3
    rho: float = 0.0
    kappa: float = 1.0
    m: float = 0.0
    n: float = 0.0
    q: float = 0.0


def dataset_entropy(r, M):
    """``rho = (1 - r^2) / (M r^2)``."""
    r, M = np.asarray(r, float), np.asarray(M, float)
    if np.any((r <= 0) | (r > 1)) or np.any(M < 1):
        raise ParameterError(f"r, M: need 0 < r <= 1 and M >= 1, got r={r}, M={M}")
    return (1 - r ** 2) / (M * r ** 2)


def kappa(P: int, r, M, supervised: bool):
    """Cross-talk inflation: 1 (supervised), ``[1/M + (1-1/M) r^{2P}]/R^P`` (unsupervised)."""
    if supervised:
        return np.ones_like(np.asarray(r, float))
    r, M = np.asarray(r, float), np.asarray(M, float)
    R = r ** 2 * (1 + dataset_entropy(r, M))
    return (1 / M + (1 - 1 / M) * r ** (2 * P)) / R ** P


def _check(alpha, T, P, rho):
    if int(P) != P or P < 2:
        raise ParameterError(f"P: an integer >= 2, got {P!r}")
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ParameterError(f"alpha: finite and >= 0, got {alpha!r}")
    if P == 2 and alpha > 0:
        raise ParameterError("alpha: P = 2 is treated at low load only (alpha = 0); its "
                             "high-load theory needs the AGS reaction term")
    if not (math.isfinite(T) and T >= 0):
        raise ParameterError(f"T: finite and >= 0, got {T!r}")
    if not (math.isfinite(rho) and rho >= 0):
        raise ParameterError(f"rho: finite and >= 0, got {rho!r}")


def _zero_t_of_y(y, P, rho, kap):
    """T = 0 branch parametrised by y: (alpha, m, n)."""
    m = special.erf(y)
    n = (m + 2 * rho / math.sqrt(math.pi) * y * np.exp(-y * y)) / math.sqrt(1 + rho)
    A = n ** (P - 1) / (math.factorial(P - 1) * math.sqrt(1 + rho))
    alpha = A ** 2 * (1 / (2 * y * y) - rho) * math.factorial(P - 1) / kap
    return alpha, m, n


def _y_star(P, rho, kap):
    hi = 1 / math.sqrt(2 * rho) if rho > 0 else 50.0
    res = optimize.minimize_scalar(lambda y: -_zero_t_of_y(y, P, rho, kap)[0],
                                   bounds=(1e-3, hi), method="bounded",
                                   options={"xatol": 1e-13})
    return float(res.x), float(-res.fun)


def solve(alpha: float, T: float, P: int, rho: float, kappa_: float = 1.0) -> LearningState:
    """Retrieval (learning) solution at load ``alpha``, temperature ``T``, dataset entropy
    ``rho``; ``kappa_`` = :func:`kappa` (1 for supervised learning).

    Raises ParameterError where no learning state exists, ConvergenceError if the
    fixed-point iteration stalls.
    """
    _check(alpha, T, P, rho)
    P = int(P)
    params = {"alpha": alpha, "T": T, "P": P, "rho": rho, "kappa": kappa_}
    if T == 0:
        if alpha == 0:
            if rho == 0:
                m = n = 1.0
            else:
                m = float(special.erf(1 / math.sqrt(2 * rho)))
                y = 1 / math.sqrt(2 * rho)
                n = (m + 2 * rho / math.sqrt(math.pi) * y * math.exp(-y * y)) / math.sqrt(1 + rho)
        else:
            y_star, a_max = _y_star(P, rho, kappa_)
            if alpha >= a_max:
                raise ParameterError(f"alpha: no learning state above alpha_c = {a_max:.8g}")
            hi = 1 / math.sqrt(2 * rho) if rho > 0 else 1 / math.sqrt(2 * alpha) + 50
            y = optimize.brentq(lambda y: _zero_t_of_y(y, P, rho, kappa_)[0] - alpha,
                                y_star, hi * (1 - 1e-15), xtol=1e-15)
            _, m, n = _zero_t_of_y(y, P, rho, kappa_)
        return LearningState(parameters=params, alpha=alpha, T=T, P=P, rho=rho,
                             kappa=kappa_, m=float(m), n=float(n), q=1.0)
    beta = 1 / T
    fact = math.factorial(P - 1)
    m, n, q = 1.0, 1.0, 1.0
    for it in range(1, _MAXITER + 1):
        A = n ** (P - 1) / (fact * math.sqrt(1 + rho))
        sd = math.sqrt(A * A * rho + alpha * kappa_ * q ** (P - 1) / fact)
        mom = _gauss.moments(beta * A, beta * sd)
        m_new, q_new = float(mom.tanh), max(0.0, float(1 - mom.sech2))
        n_new = (m_new + beta * rho * A * float(mom.sech2)) / math.sqrt(1 + rho)
        res = max(abs(m_new - m), abs(q_new - q), abs(n_new - n))
        m, n, q = m_new, n_new, q_new
        if res < _TOL:
            break
    else:
        raise ConvergenceError(f"learning fixed point not reached at alpha={alpha}, T={T}, "
                               f"rho={rho}", iterations=_MAXITER, residual=res)
    if m < 1e-6:
        raise ParameterError(f"alpha, rho, T: no learning state at alpha={alpha}, T={T}, "
                             f"rho={rho}")
    return LearningState(converged=True, iterations=it, residual=res, parameters=params,
                         alpha=alpha, T=T, P=P, rho=rho, kappa=kappa_, m=m, n=n, q=q)


def critical_load(P: int, rho: float, kappa_: float = 1.0) -> tuple[float, float, float]:
    """T = 0 critical load ``(alpha_c, m, n)`` at dataset entropy ``rho`` (ultra-storage:
    K = alpha_c N^{P-1}). Reference (P = 3, rho = 0.1): 0.09956539, m = 0.749167."""
    _check(0.0, 0.0, P, rho)
    if P < 3:
        raise ParameterError("P: the high-load theory needs P >= 3")
    y, a = _y_star(int(P), rho, kappa_)
    _, m, n = _zero_t_of_y(y, int(P), rho, kappa_)
    return a, float(m), float(n)


def critical_entropy(T: float, P: int = 3) -> float:
    """Largest dataset entropy ``rho`` at which a learning state exists at low load
    (alpha = 0) and temperature ``T`` (infinite at T = 0, where ``m = erf(1/sqrt(2 rho))``),
    by bisection on the existence of the fixed point, to 1e-4 relative."""
    _check(0.0, T, P, 0.0)
    if T == 0:
        return math.inf

    def exists(rho):
        try:
            solve(0.0, T, P, rho)
            return True
        except (ParameterError, ConvergenceError):
            return False
    if not exists(0.0):
        return 0.0
    lo, hi = 0.0, 1.0
    while exists(hi):
        lo, hi = hi, hi * 2
        if hi > 1e6:
            return math.inf
    while hi - lo > 1e-4 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if exists(mid) else (lo, mid)
    return lo


def exact_low_load_overlap(r: float, M: int) -> float:
    """Exact ``E[xi sign(eta_bar)]`` (sign(0) = 0): the T = 0, alpha = 0 overlap of a network
    aligned with the example mean, from the binomial law of the M example bits."""
    dataset_entropy(r, M)
    k = np.arange(M + 1)                                  # number of agreeing examples
    pk = stats.binom.pmf(k, M, (1 + r) / 2)
    return float(np.sum(pk * np.sign(2 * k - M)))


def loss(m, P: int = 2):
    """ML view of the order parameter: Hamming loss ``L = (1 - m)/2`` and the per-spin
    P-body Hebbian cost ``-(1 - 2L)^P / P! = -m^P/P!`` of one condensed pattern."""
    m = np.asarray(m, float)
    L = (1 - m) / 2
    return L, -(1 - 2 * L) ** P / math.factorial(P)


def phase_diagram(r, M, *, P: int = 3, alpha: float = 0.0, T: float = 0.0,
                  supervised: bool = True) -> PhaseDiagram:
    """Learning phase diagram over example quality ``r`` and number ``M`` at fixed load
    and temperature: field ``m`` (archetype overlap, NaN where no learning state), ``n``,
    ``rho``, ``kappa``; phases 0 = no learning, 1 = learning."""
    r = np.unique(np.atleast_1d(np.asarray(r, float)))
    M = np.unique(np.atleast_1d(np.asarray(M, float)))
    shape = (r.size, M.size)
    out = {k: np.full(shape, np.nan) for k in ("m", "n", "rho", "kappa")}
    phase = np.zeros(shape, int)
    for i, rr in enumerate(r):
        for j, mm in enumerate(M):
            rho = float(dataset_entropy(rr, mm))
            kap = float(kappa(P, rr, mm, supervised))
            out["rho"][i, j], out["kappa"][i, j] = rho, kap
            try:
                st = solve(alpha, T, P, rho, kap)
            except (ParameterError, ConvergenceError):
                continue
            out["m"][i, j], out["n"][i, j] = st.m, st.n
            phase[i, j] = 1
    return PhaseDiagram(parameters={"model": "learning", "P": int(P), "alpha": alpha,
                                    "T": T, "supervised": supervised},
                        axes={"r": r, "M": M}, fields=out, phase=phase,
                        labels={0: "no learning", 1: "learning"})
