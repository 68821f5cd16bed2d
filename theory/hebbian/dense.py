r"""Dense (P-body) associative memories: replica-symmetric theory for P >= 2.

Model. ``N`` spins, ``K = alpha N^{P-1}`` unbiased patterns ``xi^mu = +-1``. Three
normalisations are in use (they change alpha_c by factorials; the ``convention`` argument
names them):

* ``"distinct"`` (Gardner 1987; Bovier & Niederhauser, arXiv cond-mat/0108235)::

      H = -N^{1-P} sum_mu sum_{i1 < ... < iP} xi^mu_i1 ... xi^mu_iP sigma_i1 ... sigma_iP

  retrieval field ``m^{P-1}/(P-1)!``; cross-talk variance ``V(q) = alpha q^{P-1}/(P-1)!``.
* ``"all-index"`` (Krotov & Hopfield 2016, arXiv:1606.01164, ``F(x) = x^P``)::

      H = -(N/P!) sum_mu m_mu^P ,   m_mu = (1/N) sum_i xi^mu_i sigma_i

  same field, cross-talk ``V(q) = alpha E[x^{P-1} y^{P-1}]_{corr q} / ((P-1)!)^2``
  (``x, y`` standard normal with correlation ``q``; ``V(1) = alpha (2P-3)!!/((P-1)!)^2``).
* ``"theriault-tantari"`` (the convention of RobinTher/Dense_Associative_Network): field
  ``P m^{P-1}``, cross-talk ``V(q) = alpha P q^{P-1}`` (``H = -N sum_mu m_mu^P``, loads
  counted so that ``alpha_c = P gamma_c``). Field and cross-talk are those of the distinct
  form scaled by ``P!`` with ``alpha N^{P-1}/P!`` patterns: this convention at
  ``(alpha, T)`` is ``"distinct"`` at ``(alpha/P!, T/P!)`` (checked in the tests).

In every convention the field is ``h = s m^{P-1} + sqrt(V(q)) z`` (``s`` the signal
coefficient) and, with ``xi(q) = int_0^q V``, the RS free energy per spin is (P >= 3: the
cross-talk of each pattern is O(N^{1-P/2}), so no Onsager reaction term survives; the
structure is that of the mixed p-spin model)::

    f = (P-1) s m^P / P - (beta/2) [xi(1) - xi(q) - (1-q) xi'(q)] - T E_z ln 2cosh(beta h)
    m = E_z tanh(beta h),   q = E_z tanh^2(beta h).

(Stationarity in ``q`` fixes the distinct-index noise term's prefactor to
``alpha beta^2/(2 P!)``, not ``alpha beta^2/(2 (P-1)!)`` as one may read it written; checked
in ``tests/test_hebbian_dense.py``.) At ``T = 0``: ``m = erf(s m^{P-1}/sqrt(2 V(1)))`` and
``alpha_c = gamma_c s^2 alpha / V(1)``, with ``gamma_c(P)`` the largest ``gamma`` for which
``m = erf(m^{P-1}/sqrt(2 gamma))`` has a solution ``m > 0`` (independent of the convention).

``P = 2`` is the Hopfield model and is delegated to :mod:`.hopfield` (AGS, with its reaction
term): ``distinct`` is AGS exactly, ``all-index`` adds the diagonal constant ``-alpha/2``,
``theriault-tantari`` is AGS at ``(alpha/2, T/2)`` with ``f`` doubled.

Spec: :class:`nnphys.models.hebbian.DenseMemory` (``solve`` takes it, or ``alpha, T, P,
convention``), the same object :func:`nnphys.sim.montecarlo.network` simulates.

References: E. Gardner, J. Phys. A 20, 3453 (1987); D. Krotov, J. Hopfield,
arXiv:1606.01164; A. Bovier, B. Niederhauser, arXiv:cond-mat/0108235; L. Albanese et al.,
arXiv:2111.12997.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from numpy.polynomial import hermite_e
from scipy import optimize, special

from ... import checks
from ...errors import ConvergenceError, ParameterError
from ...models.hebbian import CONVENTIONS, DenseMemory
from ...results import FAILED, OK, PhaseDiagram, Result, register_phase_diagram
from . import _gauss, _roots, hopfield

__all__ = ["CONVENTIONS", "DenseState", "DenseCapacity", "GammaC", "solve", "gamma_c",
           "critical_capacity", "phase_diagram", "PHASES"]
PHASES = {0: "paramagnet", 1: "spin glass", 2: "retrieval (metastable)",
          3: "retrieval (global minimum)"}
_TOL = 1e-12
_MAXITER = 20000


@dataclasses.dataclass(frozen=True)
class DenseState(Result):
    """RS solution: ``m``, ``q``, free energy ``f`` (energy at T = 0), on ``branch``."""

    alpha: float = 0.0
    T: float = 0.0
    P: int = 3
    convention: str = "distinct"
    branch: str = "retrieval"
    m: float = 0.0
    q: float = 0.0
    f: float = 0.0


@dataclasses.dataclass(frozen=True)
class DenseCapacity(Result):
    """``alpha_c(P, T)`` in ``convention`` and the retrieval overlap ``m`` there.

    ``converged``/``iterations`` are the maximiser's (function evaluations at T = 0, golden
    section steps at T > 0); ``residual`` is the residual of the m-equation of the retrieval
    state at ``alpha_c`` (``|erf(s m^{P-1}/sqrt(2 V(1))) - m|`` at T = 0,
    ``|E tanh(beta h) - m|`` at T > 0). P = 2 reports the AGS record's health.
    """

    P: int = 3
    T: float = 0.0
    convention: str = "distinct"
    alpha_c: float = 0.0
    m: float = 0.0


@dataclasses.dataclass(frozen=True)
class GammaC(Result):
    """``gamma_c(P)`` and the overlap ``m`` at it (bounded Brent maximisation: its success
    and function evaluations; ``residual = |erf(m^{P-1}/sqrt(2 gamma_c)) - m|``)."""

    P: int = 3
    gamma_c: float = 0.0
    m: float = 0.0


# ------------------------------------------------------------------ conventions

#: The largest interaction order: the normalisation ``1/(P-1)!`` of the couplings leaves
#: float64 beyond it (``171!`` overflows), and the work of ``(P-1)!`` grows without bound.
MAX_P = 171


def _check(alpha, T, P, convention):
    P = checks.integer("P", P, low=2, high=MAX_P)
    checks.one_of("convention", convention, CONVENTIONS)
    a = checks.finite_array("alpha", alpha, low=0.0)
    t = checks.finite_array("T", T, low=0.0)
    return a, t, P


@functools.lru_cache(maxsize=None)
def _noise_poly(P: int, convention: str) -> tuple[float, np.ndarray]:
    """(s, c) with signal coefficient s and V(q) = alpha * sum_k c_k q^k."""
    fact = math.factorial(P - 1)
    if convention == "distinct":
        c = np.zeros(P)
        c[P - 1] = 1.0 / fact
        return 1.0 / fact, c
    if convention == "theriault-tantari":
        c = np.zeros(P)
        c[P - 1] = float(P)
        return float(P), c
    # all-index: x^{P-1} = sum_k h_k He_k(x), so E[x^{P-1} y^{P-1}]_q = sum_k h_k^2 k! q^k
    mono = np.zeros(P)
    mono[P - 1] = 1.0
    h = hermite_e.poly2herme(mono)
    k = np.arange(h.size)
    return 1.0 / fact, h ** 2 * special.factorial(k) / fact ** 2


def _V(q, alpha, P, convention, derivative=0):
    """V(q) (derivative=0), xi(q) = int_0^q V (derivative=-1)."""
    _, c = _noise_poly(P, convention)
    poly = np.polynomial.Polynomial(c)
    if derivative == -1:
        poly = poly.integ()
    return alpha * poly(q)


# ------------------------------------------------------------------ T = 0

def _gamma_of_y(y, P):
    """T = 0 branch parametrised by y = erfinv(m): gamma = erf(y)^{2(P-1)} / (2 y^2)."""
    return special.erf(y) ** (2 * (P - 1)) / (2.0 * y * y)


@functools.lru_cache(maxsize=None)
def _y_peak_search(P: int):
    """(y*, gamma_c, success, function evaluations) of the bounded maximisation."""
    res = optimize.minimize_scalar(lambda y: -_gamma_of_y(y, P), bounds=(0.05, 6.0),
                                   method="bounded", options={"xatol": 1e-13})
    return float(res.x), float(-res.fun), bool(res.success), int(res.nfev)


def _y_peak(P: int) -> tuple[float, float]:
    return _y_peak_search(P)[:2]


def _m_equation_residual(m, gamma, P):
    """``|erf(m^{P-1}/sqrt(2 gamma)) - m|``: the T = 0 m-equation."""
    return abs(float(special.erf(m ** (P - 1) / math.sqrt(2 * gamma))) - m) if gamma > 0 \
        else abs(1.0 - m)


def gamma_c(P: int, *, strict: bool = True) -> GammaC:
    """``gamma_c(P) = max_y erf(y)^{2(P-1)} / (2 y^2)``: the largest gamma for which
    ``m = erf(m^{P-1}/sqrt(2 gamma))`` has a positive solution (P >= 3)."""
    P = checks.integer("P", P, low=3, high=MAX_P)
    y, g, ok, evaluations = _y_peak_search(P)
    m = float(special.erf(y))
    res = _m_equation_residual(m, g, P)
    ok = ok and res <= 1e-10
    if not ok and strict:
        raise ConvergenceError(f"gamma_c: maximiser failed at P = {P}",
                               iterations=evaluations, residual=res)
    return GammaC(converged=ok, iterations=evaluations, residual=res, parameters={"P": P},
                  P=P, gamma_c=g, m=m)


def _m_zero_temperature(gamma, P, strict=True):
    """Largest root of m = erf(m^{P-1}/sqrt(2 gamma)) (NaN if none): (m, converged,
    iterations, residual of the m-equation)."""
    y_star, gc = _y_peak(P)
    if gamma >= gc:
        return float("nan"), None, None, None
    if gamma == 0:
        return 1.0, None, None, None
    # gamma(y) <= 1/(2 y^2), so the root lies below 1/sqrt(2 gamma)
    y, ok, it, _ = _roots.brentq(lambda y: _gamma_of_y(y, P) - gamma, y_star,
                                 max(y_star * 1.01, 1.0 / math.sqrt(2 * gamma)), xtol=1e-15,
                                 what="T = 0 dense retrieval", strict=strict)
    m = float(special.erf(y))
    return m, ok, it, _m_equation_residual(m, gamma, P)


# ------------------------------------------------------------------ finite T

def _iterate(m, q, alpha, beta, P, convention, fixed_m=False):
    """Vectorised fixed-point iteration of (m, q); returns m, q, converged, iterations,
    the problems left unconverged and the last step ``max(|dm|, |dq|)`` of each problem."""
    s, _ = _noise_poly(P, convention)
    m, q = m.astype(float).copy(), q.astype(float).copy()
    step = np.full(m.size, np.inf)
    active = np.arange(m.size)
    it = 0
    for it in range(1, _MAXITER + 1):
        ma, qa, al, be = m[active], q[active], alpha[active], beta[active]
        sd = np.sqrt(np.maximum(_V(qa, al, P, convention), 0.0))
        mom = _gauss.moments(be * s * ma ** (P - 1), be * sd)
        m_new = ma if fixed_m else mom.tanh
        q_new = 1.0 - mom.sech2
        step[active] = np.maximum(np.abs(m_new - ma), np.abs(q_new - qa))
        done = (np.abs(m_new - ma) < _TOL) & (np.abs(q_new - qa) < _TOL)
        m[active], q[active] = m_new, q_new
        active = active[~done]
        if active.size == 0:
            break
    return m, q, active.size == 0, it, active, step


def _free_energy(m, q, alpha, T, P, convention):
    s, _ = _noise_poly(P, convention)
    sd = np.sqrt(np.maximum(_V(q, alpha, P, convention), 0.0))
    signal = s * m ** (P - 1)
    if np.ndim(T) == 0 and T == 0:
        _, e_abs, _ = _gauss.moments_zero_temperature(signal, sd)
        return (P - 1) * s * m ** P / P - e_abs
    beta = 1.0 / T
    mom = _gauss.moments(beta * signal, beta * sd)
    noise = (_V(1.0, alpha, P, convention, -1) - _V(q, alpha, P, convention, -1)
             - (1 - q) * _V(q, alpha, P, convention))
    return (P - 1) * s * m ** P / P - beta / 2 * noise - T * (mom.abs_u + mom.log1p)


def _hopfield_state(alpha, T, convention, branch, strict):
    scale = 2.0 if convention == "theriault-tantari" else 1.0
    st = hopfield.solve(alpha / scale, T / scale, branch, strict=strict)
    shift = -alpha / 2 if convention == "all-index" else 0.0
    return DenseState(converged=st.converged, iterations=st.iterations, residual=st.residual,
                      parameters={"alpha": alpha, "T": T, "P": 2, "convention": convention,
                                  "branch": branch},
                      alpha=alpha, T=T, P=2, convention=convention, branch=branch, m=st.m,
                      q=st.q, f=scale * st.f + shift)


def _spec(alpha, T, P, convention) -> DenseMemory:
    """The model: a :class:`~nnphys.models.hebbian.DenseMemory`, or one built from the
    keyword arguments."""
    if isinstance(alpha, DenseMemory):
        if T is not None or P is not None or convention is not None:
            raise ParameterError("T, P, convention: given by the DenseMemory spec; do not "
                                 "pass them as well")
        return alpha
    if T is None or P is None:
        raise ParameterError("T, P: required (or pass a DenseMemory spec)")
    return DenseMemory(alpha=alpha, T=T, P=P, convention=convention or "distinct")


def solve(alpha, T: float | None = None, P: int | None = None, branch: str = "retrieval",
          convention: str | None = None, *, strict: bool = True) -> DenseState:
    """RS solution of the P-body model on ``branch`` (``retrieval``, ``spin_glass``,
    ``paramagnet``) at load ``alpha`` (``K = alpha N^{P-1}``) and temperature ``T``, in
    ``convention`` (default ``"distinct"``); ``alpha`` may be a
    :class:`~nnphys.models.hebbian.DenseMemory` spec, which then gives ``T, P, convention``.

    Health: at T > 0, ``iterations`` of the fixed-point iteration and ``residual`` its last
    step ``max(|dm|, |dq|)`` (converged below 1e-12); at T = 0 on the retrieval branch the
    Brent root's iterations and the residual of ``m = erf(s m^{P-1}/sqrt(2 V(1)))``; the
    closed-form T = 0 spin glass and paramagnet (``m = 0, q = 1``) report ``None``.

    Raises:
        ParameterError: bad input, or the branch does not exist there.
        ConvergenceError: the fixed-point iteration did not converge (``strict=False``:
            the last iterate, with ``converged=False``).
    """
    spec = _spec(alpha, T, P, convention)
    alpha, T, P, convention = spec.alpha, spec.T, spec.P, spec.convention
    P = checks.integer("P", P, low=2, high=MAX_P)       # (P - 1)! must be a float
    checks.one_of("branch", branch, ("retrieval", "spin_glass", "paramagnet"))
    if P == 2:
        return _hopfield_state(alpha, T, convention, branch, strict)
    s, _ = _noise_poly(P, convention)
    params = {"alpha": alpha, "T": T, "P": P, "convention": convention, "branch": branch}
    if T == 0:
        ok = it = res = None
        if branch == "retrieval":
            v1 = _V(1.0, alpha, P, convention)
            m, ok, it, res = _m_zero_temperature(v1 / s ** 2, P, strict)
            if not math.isfinite(m):
                raise ParameterError(f"alpha: no retrieval at T = 0 above alpha_c = "
                                     f"{critical_capacity(P, 0.0, convention).alpha_c:.8g}")
        else:
            m = 0.0
        f = float(_free_energy(m, 1.0, alpha, 0.0, P, convention))
        return DenseState(converged=ok, iterations=it, residual=res, parameters=params,
                          alpha=alpha, T=T, P=P, convention=convention, branch=branch, m=m,
                          q=1.0, f=f)
    m0 = {"retrieval": 1.0, "spin_glass": 0.0, "paramagnet": 0.0}[branch]
    q0 = 0.0 if branch == "paramagnet" else 1.0
    m, q, ok, it, _, step = _iterate(np.array([m0]), np.array([q0]), np.array([alpha]),
                                     np.array([1 / T]), P, convention,
                                     fixed_m=branch != "retrieval")
    res = float(step[0])
    if not ok and strict:
        raise ConvergenceError(f"{branch}: fixed point not reached in {_MAXITER} iterations "
                               f"at alpha={alpha}, T={T} (close to a transition?)",
                               iterations=it, residual=res)
    m, q = float(m[0]), float(q[0])
    if branch == "retrieval" and m < 1e-6:
        raise ParameterError(f"alpha: no retrieval state at (alpha={alpha}, T={T})")
    if branch == "spin_glass" and q < 1e-6 and _V(0.0, 1.0, P, convention) == 0:
        raise ParameterError(f"T: no spin-glass state at (alpha={alpha}, T={T})")
    f = float(_free_energy(m, q, alpha, T, P, convention))
    return DenseState(converged=bool(ok), iterations=it, residual=res, parameters=params,
                      alpha=alpha, T=T, P=P, convention=convention, branch=branch, m=m, q=q,
                      f=f)


def _alpha_of_m(m, T, P, convention, full=False):
    """Retrieval branch at temperature T > 0 parametrised by m (flat arrays): the
    m-equation fixes the noise sd sigma (E tanh(beta (s m^{P-1} + sigma z)) decreases in
    sigma), q follows, and alpha = sigma^2 / (V(q)/alpha). NaN where tanh(beta s m^{P-1})
    <= m (no solution for any load). ``full=True``: (alpha, sigma, q)."""
    s, _ = _noise_poly(P, convention)
    beta = 1.0 / T
    a = s * m ** (P - 1)
    valid = np.tanh(beta * a) > m
    out, sig_out, q_out = (np.full(m.shape, np.nan) for _ in range(3))
    if not np.any(valid):
        return (out, sig_out, q_out) if full else out
    mv, av, bv = m[valid], a[valid], beta[valid] if np.ndim(beta) else np.full(valid.sum(), beta)
    hi = av / (math.sqrt(2.0) * special.erfinv(np.minimum(mv, 1 - 1e-16))) * 1.001

    def fun(sig, idx):
        mom = _gauss.moments(bv[idx] * av[idx], bv[idx] * sig)
        return mom.tanh - mv[idx], -2.0 * bv[idx] ** 2 * sig * mom.sech2_tanh
    sigma, _ = _roots.newton_bracketed(fun, np.zeros_like(mv), hi, hi, xtol=1e-15 + 1e-13 * hi,
                                       what="dense sigma(m)")
    q = 1.0 - _gauss.moments(bv * av, bv * sigma).sech2
    out[valid] = sigma ** 2 / _V(q, 1.0, P, convention)
    sig_out[valid], q_out[valid] = sigma, q
    return (out, sig_out, q_out) if full else out


# Below _T_LOW the tanh moments at beta > 1e8 lose the precision of the maximum (measured:
# no maximum found at T = 1e-11 for P = 3, 1e-13 for P = 4). There alpha_c(T) and m are
# linear in T to within the curvature (slopes at P = 3: 0.300135 at T = 1e-3, 0.300770 at
# 1e-8; P = 6: 0.1346 and 0.18412, |alpha_c''| / 2 <= 50), so the interpolation between
# T = 0 and _T_LOW is exact to 50 T (_T_LOW - T) <= 2e-15.
_T_LOW = 1e-8


def _capacity_rows(T, P, convention, n_grid=200):
    """alpha_c(T) for T > 0 (flat array): maximum of alpha(m) over m, by a grid scan
    refined with golden section (vectorised over T); below ``_T_LOW`` interpolated
    linearly between the T = 0 solution and ``_T_LOW``. Returns (alpha_c, m at it,
    golden section steps)."""
    T = np.asarray(T, float).ravel()
    low = T < _T_LOW
    if not np.any(low):
        return _capacity_rows_above(T, P, convention, n_grid)
    a, m, it = _capacity_rows_above(np.append(T[~low], _T_LOW), P, convention, n_grid)
    zero = critical_capacity(P, 0.0, convention)
    w = T[low] / _T_LOW
    out = [np.empty(T.size) for _ in range(2)]
    for o, above, at_zero in zip(out, (a, m), (zero.alpha_c, zero.m)):
        o[~low] = above[:-1]
        o[low] = at_zero + w * (above[-1] - at_zero)
    return out[0], out[1], it


def _capacity_rows_above(T, P, convention, n_grid=200):
    """:func:`_capacity_rows` for T >= _T_LOW."""
    T = np.asarray(T, float).ravel()
    grid = np.linspace(0.002, 0.9999, n_grid)
    Mg, Tg = np.meshgrid(grid, T, indexing="ij")
    al = np.nan_to_num(_alpha_of_m(Mg.ravel(), Tg.ravel(), P, convention), nan=-1.0)
    al = al.reshape(Mg.shape)
    best = np.argmax(al, axis=0)
    lo = grid[np.maximum(best - 1, 0)]
    hi = grid[np.minimum(best + 1, n_grid - 1)]

    def fun(m, idx):
        return np.nan_to_num(_alpha_of_m(m, T[idx], P, convention), nan=-1.0)
    m_max, a_max, it = _roots.golden_max(fun, lo, hi, xtol=1e-11)
    return np.where(al.max(axis=0) > 0, a_max, 0.0), m_max, it


def critical_capacity(P: int, T: float = 0.0, convention: str = "distinct", *,
                      strict: bool = True) -> DenseCapacity:
    """``alpha_c(P, T)``: the largest load with a retrieval solution.

    ``T = 0``: ``gamma_c(P) s^2 / (V(1)/alpha)`` (distinct: ``gamma_c/(P-1)!``; all-index:
    ``gamma_c/(2P-3)!!``; Theriault-Tantari: ``P gamma_c``). ``T > 0``: the maximum over
    the retrieval branch parametrised by m (see ``_alpha_of_m``), a 200-point scan refined
    by golden section to ``|dm| <= 1e-11``; for ``0 < T < 1e-8`` interpolated linearly
    between ``T = 0`` and ``1e-8`` (exact to 2e-15; see ``_T_LOW``). The record's health: see
    :class:`DenseCapacity`; ``strict=False`` returns ``converged=False`` instead of raising.
    """
    _, _, P = _check(0.0, T, P, convention)
    T = checks.real("T", T, low=0.0)
    params = {"P": P, "T": T, "convention": convention}
    if P == 2:
        scale = 2.0 if convention == "theriault-tantari" else 1.0
        c = hopfield.critical_capacity(T / scale, strict=strict)
        return DenseCapacity(converged=c.converged, iterations=c.iterations,
                             residual=c.residual, parameters=params, P=2, T=T,
                             convention=convention, alpha_c=scale * c.alpha_c, m=c.m)
    s, _ = _noise_poly(P, convention)
    if T == 0:
        g = gamma_c(P, strict=strict)
        return DenseCapacity(converged=g.converged, iterations=g.iterations,
                             residual=g.residual, parameters=params, P=P, T=0.0,
                             convention=convention,
                             alpha_c=g.gamma_c * s ** 2 / _V(1.0, 1.0, P, convention), m=g.m)
    if T < _T_LOW:              # linear in T there (see _T_LOW); the ends' health
        zero = critical_capacity(P, 0.0, convention, strict=strict)
        low = critical_capacity(P, _T_LOW, convention, strict=strict)
        w = T / _T_LOW
        return DenseCapacity(converged=zero.converged and low.converged,
                             iterations=zero.iterations + low.iterations,
                             residual=max(zero.residual, low.residual), parameters=params,
                             P=P, T=T, convention=convention,
                             alpha_c=zero.alpha_c + w * (low.alpha_c - zero.alpha_c),
                             m=zero.m + w * (low.m - zero.m))
    try:
        a, m, it = _capacity_rows([T], P, convention)
    except ConvergenceError as err:
        if strict:
            raise
        return DenseCapacity(converged=False, iterations=err.iterations, parameters=params,
                             P=P, T=T, convention=convention, alpha_c=math.nan, m=math.nan)
    a, m = float(a[0]), float(m[0])
    # residual of the RS m-equation at the state (alpha_c, m, sigma, q) of the branch
    # (sigma^2 = alpha_c V(q) holds by construction of the branch)
    _, sigma, q = _alpha_of_m(np.array([m]), np.array([T]), P, convention, full=True)
    mom = _gauss.moments(s * m ** (P - 1) / T, float(sigma[0]) / T)
    res = abs(float(mom.tanh) - m)
    ok = a > 0 and res <= 1e-10
    if not ok and strict:
        raise ConvergenceError(f"alpha_c: not reached at P = {P}, T = {T:g}",
                               iterations=it, residual=res)
    return DenseCapacity(converged=bool(ok), iterations=it, residual=res, parameters=params,
                         P=P, T=T, convention=convention, alpha_c=a, m=m)


@register_phase_diagram("dense", axes=("alpha", "T"))
def phase_diagram(alpha, T, P: int, convention: str = "distinct", *,
                  strict: bool = False) -> PhaseDiagram:
    """(alpha, T) phase diagram of the P-body model (P >= 3; P = 2 is
    :func:`hopfield.phase_diagram`). Fields ``m, q`` (retrieval), ``q_sg``, ``f_retrieval``,
    ``f_sg``, ``f_para``; phases :data:`PHASES`; boundary ``alpha_c``: points
    (alpha_c(T), T) at every T of the grid.

    Health: ``iterations`` is the most fixed-point iterations any T > 0 grid point needed,
    ``residual`` the largest last step ``max(|dm|, |dq|)`` over the states used (retrieval
    inside its region, spin glass, paramagnet). A point where one of them did not converge
    (a retrieval state inside its region, the spin glass or the paramagnet) is recorded as
    failed (status 1, NaN fields, ``converged=False``, a warning; see
    :class:`~nnphys.results.PhaseDiagram`) and the rest of the grid stands
    (``strict=True``: it raises :class:`ConvergenceError` instead)."""
    alpha = np.unique(np.atleast_1d(checks.finite_array("alpha", alpha)))
    T = np.unique(np.atleast_1d(checks.finite_array("T", T)))
    _check(alpha, T, P, convention)
    P = int(P)
    if P == 2:
        raise ParameterError("P: use hopfield.phase_diagram for P = 2")
    A, TT = np.meshgrid(alpha, T, indexing="ij")
    shape = A.shape
    fields = {k: np.full(shape, np.nan) for k in
              ("m", "q", "f_retrieval", "q_sg", "f_sg", "f_para")}
    cold, hot = TT == 0, TT > 0
    beta = np.where(hot, 1 / np.where(hot, TT, 1.0), 0.0)
    # retrieval
    m, q, _, it_r, left, step_r = _iterate(np.ones(hot.sum()), np.ones(hot.sum()), A[hot],
                                           beta[hot], P, convention)
    cap = np.zeros(T.size)
    rows = T > 0
    if np.any(rows):
        cap[rows] = _capacity_rows(T[rows], P, convention)[0]
    ok = (A[hot] < cap[None, :].repeat(alpha.size, 0)[hot]) & (m > 1e-6)
    failed_hot = ok & np.isin(np.arange(m.size), left)
    if np.any(failed_hot) and strict:
        raise ConvergenceError("retrieval fixed point not reached at some grid points "
                               "inside the retrieval region", iterations=it_r)
    mr, qr = np.full(shape, np.nan), np.full(shape, np.nan)
    mr[hot] = np.where(ok, m, np.nan)
    qr[hot] = np.where(ok, q, np.nan)
    s, _ = _noise_poly(P, convention)
    v1 = _V(1.0, 1.0, P, convention)
    failed = np.zeros(shape, bool)
    for idx in zip(*np.nonzero(cold)):
        mr[idx], ok0, _, _ = _m_zero_temperature(A[idx] * v1 / s ** 2, P, strict)
        failed[idx] = ok0 is False
        qr[idx] = 1.0
    # spin glass (from q = 1) and paramagnet (from q = 0), m = 0
    _, qs, _, it_s, left_s, step_s = _iterate(np.zeros(hot.sum()), np.ones(hot.sum()),
                                              A[hot], beta[hot], P, convention, fixed_m=True)
    _, qp, _, it_p, left_p, step_p = _iterate(np.zeros(hot.sum()), np.zeros(hot.sum()),
                                              A[hot], beta[hot], P, convention, fixed_m=True)
    failed_hot |= np.isin(np.arange(m.size), np.concatenate([left_s, left_p]))
    if np.any(failed_hot) and strict:
        raise ConvergenceError("spin-glass or paramagnetic fixed point not reached at some "
                               "grid points", iterations=max(it_s, it_p))
    failed[hot] = failed_hot
    converged = not failed.any()
    steps = np.concatenate([step_r[ok & ~failed_hot], step_s[~failed_hot],
                            step_p[~failed_hot]])
    residual = float(steps.max()) if steps.size else None
    qsg, qpa = np.ones(shape), np.full(shape, np.nan)
    qsg[hot], qpa[hot] = qs, qp
    for value in (mr, qr, qsg, qpa):
        value[failed] = np.nan
    fields["m"], fields["q"] = mr, qr
    ex = np.isfinite(mr)
    exh, exc = ex & hot, ex & cold
    fields["f_retrieval"][exh] = _free_energy(mr[exh], qr[exh], A[exh], TT[exh], P, convention)
    for i in zip(*np.nonzero(exc)):
        fields["f_retrieval"][i] = float(_free_energy(mr[i], 1.0, A[i], 0.0, P, convention))
    distinct_sg = qsg > np.nan_to_num(qpa, nan=0.0) + 1e-6
    fields["q_sg"] = np.where(distinct_sg, qsg, np.nan)
    for name, qq, mask in (("f_sg", qsg, distinct_sg), ("f_para", qpa, hot)):
        mh, mc_ = mask & hot, mask & cold
        fields[name][mh] = _free_energy(0.0, qq[mh], A[mh], TT[mh], P, convention)
        for i in zip(*np.nonzero(mc_)):
            fields[name][i] = float(_free_energy(0.0, 1.0, A[i], 0.0, P, convention))
    phase = np.zeros(shape, int)
    sg_wins = distinct_sg & ~(fields["f_para"] < fields["f_sg"])
    phase[sg_wins] = 1
    best_other = np.fmin(np.where(distinct_sg, fields["f_sg"], np.nan), fields["f_para"])
    glob = ~(best_other < fields["f_retrieval"])
    phase[ex] = np.where(glob[ex], 3, 2)
    cap[T == 0] = critical_capacity(P, 0.0, convention, strict=strict).alpha_c
    pts = np.column_stack([cap, T])[cap > 0]
    return PhaseDiagram(converged=bool(converged) if hot.any() or not converged else None,
                        iterations=int(max(it_r, it_s, it_p)) if hot.any() else None,
                        residual=residual,
                        parameters={"model": "dense", "P": P, "convention": convention},
                        axes={"alpha": alpha, "T": T}, fields=fields, phase=phase,
                        labels=dict(PHASES), status=np.where(failed, FAILED, OK),
                        boundaries={"alpha_c": pts}).warn_failures()
