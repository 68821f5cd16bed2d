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

Provenance. These equations are *derived* (from the abstracts and the data model above);
the papers' own full texts could not be read through the search tool, so their
equation numbers are not cited. The low-load equivalence of supervised and unsupervised
learning agrees with the statement of arXiv:2308.04106. Regimes named in 2212.00606:
*ultra-storage* (``K ~ N^{P-1}`` with P > 2, far beyond the shallow ``K ~ N``) and
*ultra-detection* (learning at vanishing signal-to-noise ``r -> 0`` when ``M`` grows with
``N``), quantified here by :func:`critical_load` and :func:`critical_entropy`.

Spec: :class:`nnphys.models.hebbian.ExampleLearning` (the dataset as ``r, M`` or as
``rho, kappa``), the same object :func:`nnphys.sim.montecarlo.network` simulates.

ML loss. With the Hamming loss of a pattern ``L = ||sigma - xi||^2/(4N) = (1 - m)/2`` the
P-body Hebbian cost of one condensed pattern is ``-N (1 - 2L)^P / P!`` (:func:`loss`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import optimize, special, stats

from ... import checks
from ...errors import ConvergenceError, ParameterError
from ...models.hebbian import ExampleLearning, dataset_entropy, kappa
from ...results import FAILED, PhaseDiagram, Result, register_phase_diagram
from . import _gauss, _roots

__all__ = ["LearningState", "CriticalLoad", "CriticalEntropy", "HammingLoss",
           "dataset_entropy", "kappa", "solve", "critical_load", "critical_entropy",
           "exact_low_load_overlap", "loss", "phase_diagram"]

_TOL = 1e-12
_MAXITER = 20000
_ENTROPY_RTOL = 1e-4


@dataclasses.dataclass(frozen=True)
class LearningState(Result):
    """RS solution: archetype overlap ``m``, example-mean overlap ``n``, ``q``.

    Health: at T > 0 the fixed-point iteration's count and last step
    ``max(|dm|, |dn|, |dq|)``; at T = 0, alpha > 0 Brent's iterations on ``alpha(y) =
    alpha`` and ``|alpha(y) - alpha|``; the closed forms (T = 0, alpha = 0) report ``None``.
    """

    alpha: float = 0.0
    T: float = 0.0
    P: int = 3
    rho: float = 0.0
    kappa: float = 1.0
    m: float = 0.0
    n: float = 0.0
    q: float = 0.0


@dataclasses.dataclass(frozen=True)
class CriticalLoad(Result):
    """T = 0 critical load ``alpha_c`` and the overlaps ``m``, ``n`` there (bounded Brent
    maximisation of ``alpha(y)``: its success, function evaluations, and as ``residual``
    the largest increase of ``alpha`` found at ``y* +- 1e-6``, which is <= 0 at a
    maximum up to rounding)."""

    P: int = 3
    rho: float = 0.0
    kappa: float = 1.0
    alpha_c: float = 0.0
    m: float = 0.0
    n: float = 0.0


@dataclasses.dataclass(frozen=True)
class CriticalEntropy(Result):
    """Largest dataset entropy ``rho_c`` with a low-load learning state at ``T`` (bisection:
    ``iterations`` halvings, ``residual`` the final relative bracket width)."""

    T: float = 0.0
    P: int = 3
    rho_c: float = 0.0


@dataclasses.dataclass(frozen=True)
class HammingLoss(Result):
    """``L = (1 - m)/2`` and the per-spin P-body Hebbian cost ``-m^P/P!`` (closed form)."""

    L: float | np.ndarray = 0.0
    cost: float | np.ndarray = 0.0



def _factorial(n: int) -> float:
    """``n!`` as a float, ``inf`` beyond ``n = 170`` (where it leaves float64) without
    computing the integer (``math.factorial(10**12)`` would run without end)."""
    return float(math.factorial(n)) if n <= 170 else math.inf


def _spec(alpha, T, P, rho, kappa_) -> ExampleLearning:
    if isinstance(alpha, ExampleLearning):
        if any(v is not None for v in (T, P, rho, kappa_)):
            raise ParameterError("T, P, rho, kappa: given by the ExampleLearning spec; do "
                                 "not pass them as well")
        return alpha
    if T is None or P is None:
        raise ParameterError("T, P: required (or pass an ExampleLearning spec)")
    return ExampleLearning(alpha=alpha, T=T, P=P, rho=0.0 if rho is None else rho,
                           kappa=1.0 if kappa_ is None else kappa_)


def _check(spec: ExampleLearning):
    if spec.P == 2 and spec.alpha > 0:
        raise ParameterError("alpha: P = 2 is treated at low load only (alpha = 0); its "
                             "high-load theory needs the AGS reaction term")


def _zero_t_of_y(y, P, rho, kap):
    """T = 0 branch parametrised by y: (alpha, m, n)."""
    m = special.erf(y)
    n = (m + 2 * rho / math.sqrt(math.pi) * y * np.exp(-y * y)) / math.sqrt(1 + rho)
    # A^2 (P-1)! with A = n^(P-1) / ((P-1)! sqrt(1 + rho)), through logarithms: bounded work
    # and no overflow of (P-1)! at any P
    a2_fact = np.exp((2 * P - 2) * np.log(n) - math.lgamma(P)) / (1 + rho)
    alpha = a2_fact * (1 / (2 * y * y) - rho) / kap
    return alpha, m, n


def _y_scale(rho):
    """The scale of y: the end ``1/sqrt(2 rho)`` of the branch where it is below 1."""
    return min(1.0, 1 / math.sqrt(2 * rho)) if rho > 0 else 1.0


def _y_star(P, rho, kap):
    """Bounded Brent maximisation of alpha(y): (y*, alpha_c, success, evaluations), on
    ``(1e-3, 1/sqrt(2 rho))`` in units of :func:`_y_scale` (the branch ends at
    ``y = 1/sqrt(2 rho)``, which tends to 0 at large ``rho``)."""
    hi = 1 / math.sqrt(2 * rho) if rho > 0 else 50.0
    scale = _y_scale(rho)
    res = optimize.minimize_scalar(lambda y: -_zero_t_of_y(y, P, rho, kap)[0],
                                   bounds=(1e-3 * scale, hi), method="bounded",
                                   options={"xatol": 1e-13 * scale})
    return float(res.x), float(-res.fun), bool(res.success), int(res.nfev)


def solve(alpha, T: float | None = None, P: int | None = None, rho: float | None = None,
          kappa: float | None = None, *, strict: bool = True) -> LearningState:
    """Retrieval (learning) solution at load ``alpha``, temperature ``T``, dataset entropy
    ``rho`` (default 0); ``kappa`` = :func:`kappa` (default 1, supervised learning).
    ``alpha`` may be an :class:`~nnphys.models.hebbian.ExampleLearning` spec, which then
    gives everything else.

    Raises ParameterError where no learning state exists, ConvergenceError if the
    fixed-point iteration stalls (``strict=False``: the last iterate, ``converged=False``).
    """
    spec = _spec(alpha, T, P, rho, kappa)
    _check(spec)
    alpha, T, P, rho, kappa_ = spec.alpha, spec.T, spec.P, spec.rho, spec.kappa
    params = {"alpha": alpha, "T": T, "P": P, "rho": rho, "kappa": kappa_}
    if T == 0:
        ok = it = res = None
        if alpha == 0:
            if rho == 0:
                m = n = 1.0
            else:
                m = float(special.erf(1 / math.sqrt(2 * rho)))
                y = 1 / math.sqrt(2 * rho)
                n = (m + 2 * rho / math.sqrt(math.pi) * y * math.exp(-y * y)) / math.sqrt(1 + rho)
        else:
            y_star, a_max, _, _ = _y_star(P, rho, kappa_)
            if alpha >= a_max:
                raise ParameterError(f"alpha: no learning state above alpha_c = {a_max:.8g}")
            hi = 1 / math.sqrt(2 * rho) if rho > 0 else 1 / math.sqrt(2 * alpha) + 50
            g = lambda y: _zero_t_of_y(y, P, rho, kappa_)[0] - alpha  # noqa: E731
            top = hi * (1 - 1e-15)
            if rho > 0 and g(top) > 0:
                # alpha below alpha(top): the root lies in (top, hi], within the float64
                # resolution of y from the end hi = 1/sqrt(2 rho) where alpha(y) = 0
                y, ok, it, res = hi, True, 0, abs(float(g(hi)))
            else:
                y, ok, it, res = _roots.brentq(g, y_star, top, xtol=1e-15,
                                               what="T = 0 learning state", strict=strict)
            _, m, n = _zero_t_of_y(y, P, rho, kappa_)
        return LearningState(converged=ok, iterations=it, residual=res, parameters=params,
                             alpha=alpha, T=T, P=P, rho=rho, kappa=kappa_, m=float(m),
                             n=float(n), q=1.0)
    beta = 1 / T
    # (P - 1)! as a float: beyond P = 171 it is not representable and the signal
    # n^(P-1)/(P-1)! <= 1/(P-1)! vanishes (no learning state); math.factorial would take
    # unbounded time at P ~ 1e12
    fact = _factorial(P - 1)
    m, n, q = 1.0, 1.0, 1.0
    ok = False
    for it in range(1, _MAXITER + 1):
        A = n ** (P - 1) / (fact * math.sqrt(1 + rho))
        sd = math.sqrt(A * A * rho + alpha * kappa_ * q ** (P - 1) / fact)
        mom = _gauss.moments(beta * A, beta * sd)
        m_new, q_new = float(mom.tanh), max(0.0, float(1 - mom.sech2))
        n_new = (m_new + beta * rho * A * float(mom.sech2)) / math.sqrt(1 + rho)
        res = max(abs(m_new - m), abs(q_new - q), abs(n_new - n))
        m, n, q = m_new, n_new, q_new
        if res < _TOL:
            ok = True
            break
    if not ok and strict:
        raise ConvergenceError(f"learning fixed point not reached at alpha={alpha}, T={T}, "
                               f"rho={rho}", iterations=_MAXITER, residual=res)
    if m < 1e-6:
        raise ParameterError(f"alpha, rho, T: no learning state at alpha={alpha}, T={T}, "
                             f"rho={rho}")
    return LearningState(converged=ok, iterations=it, residual=res, parameters=params,
                         alpha=alpha, T=T, P=P, rho=rho, kappa=kappa_, m=m, n=n, q=q)


def critical_load(P, rho: float = 0.0, kappa: float = 1.0, *,
                  strict: bool = True) -> CriticalLoad:
    """T = 0 critical load ``alpha_c`` (with ``m``, ``n`` there) at dataset entropy ``rho``
    (ultra-storage: K = alpha_c N^{P-1}); ``P`` may be an
    :class:`~nnphys.models.hebbian.ExampleLearning` spec (its ``alpha`` and ``T`` are not
    used). Reference (P = 3, rho = 0.1): 0.09956539, m = 0.749167.

    ``residual`` is ``|d alpha/dt|``, ``t = y / s``, at the maximiser ``y*`` by a central
    difference with ``h = 1e-5`` in ``t`` (resolution about 1e-10); ``s = 1`` unless the
    branch ends below ``y = 1`` (``s = 1/sqrt(2 rho)`` for ``rho > 1/2``); ``converged`` is
    the maximiser's success and the residual below 1e-7. As ``rho -> inf`` (``y = t s``,
    ``n -> t sqrt(2/pi)``, ``alpha -> (2/pi)^(P-1) t^(2P-4) (1 - t^2) / ((P-1)! kappa)``)
    ``alpha_c -> (2/pi)^(P-1) ((P-2)/(P-1))^(P-2) / ((P-1)! (P-1) kappa)``, with relative
    corrections ``O(1/rho)``."""
    if isinstance(P, ExampleLearning):
        if rho != 0.0 or kappa != 1.0:
            raise ParameterError("rho, kappa: given by the ExampleLearning spec")
        spec = P
    else:
        spec = ExampleLearning(P=P, rho=rho, kappa=kappa)
    P, rho, kappa_ = spec.P, spec.rho, spec.kappa
    if P < 3:
        raise ParameterError("P: the high-load theory needs P >= 3")
    y, a, ok, evaluations = _y_star(P, rho, kappa_)
    _, m, n = _zero_t_of_y(y, P, rho, kappa_)
    h = 1e-5 * _y_scale(rho)
    res = abs(_zero_t_of_y(y + h, P, rho, kappa_)[0] - _zero_t_of_y(y - h, P, rho, kappa_)[0]
              ) / (2 * h) * _y_scale(rho)
    ok = ok and res <= 1e-7
    if not ok and strict:
        raise ConvergenceError(f"alpha_c: maximiser failed at P = {P}, rho = {rho}",
                               iterations=evaluations, residual=res)
    return CriticalLoad(converged=ok, iterations=evaluations, residual=float(res),
                        parameters={"P": P, "rho": rho, "kappa": kappa_}, P=P, rho=rho,
                        kappa=kappa_, alpha_c=a, m=float(m), n=float(n))


def critical_entropy(T: float, P: int = 3) -> CriticalEntropy:
    """Largest dataset entropy ``rho`` at which a learning state exists at low load
    (alpha = 0) and temperature ``T`` (infinite at T = 0, where ``m = erf(1/sqrt(2 rho))``),
    by bisection on the existence of the fixed point, to 1e-4 relative. A fixed point that
    is not reached (the iteration slows down critically at the boundary) counts as absent,
    which can only move ``rho_c`` down by less than the bracket."""
    spec = ExampleLearning(T=T, P=P)
    T, P = spec.T, spec.P
    params = {"T": T, "P": P}
    if T == 0:
        return CriticalEntropy(parameters=params, T=T, P=P, rho_c=math.inf)

    def exists(rho):
        try:
            solve(0.0, T, P, rho)
            return True
        except (ParameterError, ConvergenceError):
            return False
    if not exists(0.0):
        return CriticalEntropy(parameters=params, T=T, P=P, rho_c=0.0)
    lo, hi = 0.0, 1.0
    it = 0
    while exists(hi):
        lo, hi = hi, hi * 2
        it += 1
        if hi > 1e6:
            return CriticalEntropy(converged=False, iterations=it, parameters=params, T=T,
                                   P=P, rho_c=math.inf)
    while hi - lo > _ENTROPY_RTOL * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if exists(mid) else (lo, mid)
        it += 1
    return CriticalEntropy(converged=True, iterations=it, residual=(hi - lo) / hi,
                           parameters=params, T=T, P=P, rho_c=lo)


def exact_low_load_overlap(r: float, M: int) -> float:
    """Exact ``E[xi sign(eta_bar)]`` (sign(0) = 0): the T = 0, alpha = 0 overlap of a network
    aligned with the example mean, from the binomial law of the M example bits (a closed
    form: a finite sum of ``M + 1`` terms, ``M <= 1e7``)."""
    r = checks.real("r", r)
    M = checks.integer("M", M, low=1, high=10 ** 7)
    dataset_entropy(r, M)
    k = np.arange(M + 1)                                  # number of agreeing examples
    pk = stats.binom.pmf(k, M, (1 + r) / 2)
    return float(np.sum(pk * np.sign(2 * k - M)))


def loss(m, P: int = 2) -> HammingLoss:
    """ML view of the order parameter: Hamming loss ``L = (1 - m)/2`` and the per-spin
    P-body Hebbian cost ``-(1 - 2L)^P / P! = -m^P/P!`` of one condensed pattern (``m`` an
    overlap in ``[-1, 1]``, so ``|m|^P <= 1`` never overflows)."""
    P = checks.integer("P", P, low=1, high=10 ** 6)
    m = checks.finite_array("m", m, low=-1.0, high=1.0)
    L = (1 - m) / 2
    return HammingLoss(parameters={"P": P}, L=L, cost=-(1 - 2 * L) ** P / _factorial(P))


@register_phase_diagram("learning", axes=("r", "M"))
def phase_diagram(r, M, *, P: int = 3, alpha: float = 0.0, T: float = 0.0,
                  supervised: bool = True, strict: bool = False) -> PhaseDiagram:
    """Learning phase diagram over example quality ``r`` and number ``M`` at fixed load
    and temperature: field ``m`` (archetype overlap, NaN where no learning state), ``n``,
    ``rho``, ``kappa``; phases 0 = no learning, 1 = learning.

    Health: ``iterations`` the most any grid point needed, ``residual`` the largest of
    the grid points' residuals; a point whose solver did not converge is recorded as
    failed (status 1, NaN fields, ``converged=False``, a warning; see
    :class:`~nnphys.results.PhaseDiagram`) and the rest of the grid stands
    (``strict=True``: it raises :class:`ConvergenceError` instead)."""
    P = checks.integer("P", P, low=1)
    r = np.unique(np.atleast_1d(checks.finite_array("r", r)))
    M = np.unique(np.atleast_1d(checks.finite_array("M", M)))
    shape = (r.size, M.size)
    out = {k: np.full(shape, np.nan) for k in ("m", "n", "rho", "kappa")}
    phase = np.zeros(shape, int)
    status = np.zeros(shape, np.int8)
    converged, iterations, residual = True, None, None
    for i, rr in enumerate(r):
        for j, mm in enumerate(M):
            rho = float(dataset_entropy(rr, mm))
            kap = float(kappa(P, rr, mm, supervised))
            out["rho"][i, j], out["kappa"][i, j] = rho, kap
            try:
                st = solve(alpha, T, P, rho, kap)
            except ParameterError:
                continue
            except ConvergenceError:
                if strict:
                    raise
                converged = False
                status[i, j] = FAILED
                continue
            if st.iterations is not None:
                iterations = max(iterations or 0, st.iterations)
            if st.residual is not None:
                residual = max(residual or 0.0, st.residual)
            out["m"][i, j], out["n"][i, j] = st.m, st.n
            phase[i, j] = 1
    # closed-form points only (T = 0, alpha = 0): no solver ran, nothing to report
    solver_ran = iterations is not None or not converged
    return PhaseDiagram(converged=converged if solver_ran else None, iterations=iterations,
                        residual=residual,
                        parameters={"model": "learning", "P": int(P), "alpha": alpha,
                                    "T": T, "supervised": supervised},
                        axes={"r": r, "M": M}, fields=out, phase=phase, status=status,
                        labels={0: "no learning", 1: "learning"}).warn_failures()
