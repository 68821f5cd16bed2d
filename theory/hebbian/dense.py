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
  counted so that ``alpha_c = P gamma_c``).

In every convention the field is ``h = s m^{P-1} + sqrt(V(q)) z`` (``s`` the signal
coefficient) and, with ``xi(q) = int_0^q V``, the RS free energy per spin is (P >= 3: the
cross-talk of each pattern is O(N^{1-P/2}), so no Onsager reaction term survives; the
structure is that of the mixed p-spin model)::

    f = (P-1) s m^P / P - (beta/2) [xi(1) - xi(q) - (1-q) xi'(q)] - T E_z ln 2cosh(beta h)
    m = E_z tanh(beta h),   q = E_z tanh^2(beta h).

(The reference file writes the distinct-index noise term with ``alpha beta^2/(2 (P-1)!)``;
stationarity in ``q`` requires ``alpha beta^2/(2 P!)``, as used here and checked in
``tests/test_hebbian_dense.py``.) At ``T = 0``: ``m = erf(s m^{P-1}/sqrt(2 V(1)))`` and
``alpha_c = gamma_c s^2 alpha / V(1)``, with ``gamma_c(P)`` the largest ``gamma`` for which
``m = erf(m^{P-1}/sqrt(2 gamma))`` has a solution ``m > 0`` (independent of the convention).

``P = 2`` is the Hopfield model and is delegated to :mod:`.hopfield` (AGS, with its reaction
term): ``distinct`` is AGS exactly, ``all-index`` adds the diagonal constant ``-alpha/2``,
``theriault-tantari`` is AGS at ``(alpha/2, T/2)`` with ``f`` doubled.

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

from ...errors import ConvergenceError, ParameterError
from ...results import PhaseDiagram, Result
from . import _gauss, _roots, hopfield

__all__ = ["CONVENTIONS", "DenseState", "solve", "gamma_c", "critical_capacity",
           "phase_diagram", "PHASES"]

CONVENTIONS = ("distinct", "all-index", "theriault-tantari")
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


# ------------------------------------------------------------------ conventions

def _check(alpha, T, P, convention):
    if int(P) != P or P < 2:
        raise ParameterError(f"P: an integer >= 2, got {P!r}")
    if convention not in CONVENTIONS:
        raise ParameterError(f"convention: one of {CONVENTIONS}, got {convention!r}")
    a, t = np.asarray(alpha, float), np.asarray(T, float)
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ParameterError(f"alpha: finite and >= 0, got {alpha!r}")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ParameterError(f"T: finite and >= 0, got {T!r}")
    return a, t, int(P)


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
def _y_peak(P: int) -> tuple[float, float]:
    res = optimize.minimize_scalar(lambda y: -_gamma_of_y(y, P), bounds=(0.05, 6.0),
                                   method="bounded", options={"xatol": 1e-13})
    return float(res.x), float(-res.fun)


def gamma_c(P: int) -> float:
    """``gamma_c(P) = max_y erf(y)^{2(P-1)} / (2 y^2)``: the largest gamma for which
    ``m = erf(m^{P-1}/sqrt(2 gamma))`` has a positive solution (P >= 3)."""
    if int(P) != P or P < 3:
        raise ParameterError(f"P: an integer >= 3 for gamma_c, got {P!r}")
    return _y_peak(int(P))[1]


def _m_zero_temperature(gamma, P):
    """Largest root of m = erf(m^{P-1}/sqrt(2 gamma)) (NaN if none)."""
    y_star, gc = _y_peak(P)
    if gamma >= gc:
        return float("nan")
    if gamma == 0:
        return 1.0
    # gamma(y) <= 1/(2 y^2), so the root lies below 1/sqrt(2 gamma)
    y = optimize.brentq(lambda y: _gamma_of_y(y, P) - gamma, y_star,
                        max(y_star * 1.01, 1.0 / math.sqrt(2 * gamma)), xtol=1e-15)
    return float(special.erf(y))


# ------------------------------------------------------------------ finite T

def _iterate(m, q, alpha, beta, P, convention, fixed_m=False):
    """Vectorised fixed-point iteration of (m, q); returns m, q, converged, iterations."""
    s, _ = _noise_poly(P, convention)
    m, q = m.astype(float).copy(), q.astype(float).copy()
    active = np.arange(m.size)
    it = 0
    for it in range(1, _MAXITER + 1):
        ma, qa, al, be = m[active], q[active], alpha[active], beta[active]
        sd = np.sqrt(np.maximum(_V(qa, al, P, convention), 0.0))
        mom = _gauss.moments(be * s * ma ** (P - 1), be * sd)
        m_new = ma if fixed_m else mom.tanh
        q_new = 1.0 - mom.sech2
        done = (np.abs(m_new - ma) < _TOL) & (np.abs(q_new - qa) < _TOL)
        m[active], q[active] = m_new, q_new
        active = active[~done]
        if active.size == 0:
            break
    return m, q, active.size == 0, it, active


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


def _hopfield_state(alpha, T, P, convention, branch):
    scale = 2.0 if convention == "theriault-tantari" else 1.0
    st = hopfield.solve(alpha / scale, T / scale, branch)
    shift = -alpha / 2 if convention == "all-index" else 0.0
    return DenseState(converged=st.converged, iterations=st.iterations, residual=st.residual,
                      parameters={"alpha": alpha, "T": T, "P": 2, "convention": convention,
                                  "branch": branch},
                      alpha=alpha, T=T, P=2, convention=convention, branch=branch, m=st.m,
                      q=st.q, f=scale * st.f + shift)


def solve(alpha: float, T: float, P: int, branch: str = "retrieval",
          convention: str = "distinct") -> DenseState:
    """RS solution of the P-body model on ``branch`` (``retrieval``, ``spin_glass``,
    ``paramagnet``) at load ``alpha`` (``K = alpha N^{P-1}``) and temperature ``T``.

    Raises:
        ParameterError: bad input, or the branch does not exist there.
        ConvergenceError: the fixed-point iteration did not converge.
    """
    a, t, P = _check(alpha, T, P, convention)
    if a.ndim or t.ndim:
        raise ParameterError("alpha, T: scalars (use phase_diagram for grids)")
    alpha, T = float(a), float(t)
    if branch not in ("retrieval", "spin_glass", "paramagnet"):
        raise ParameterError(f"branch: retrieval, spin_glass or paramagnet, got {branch!r}")
    if P == 2:
        return _hopfield_state(alpha, T, P, convention, branch)
    s, _ = _noise_poly(P, convention)
    params = {"alpha": alpha, "T": T, "P": P, "convention": convention, "branch": branch}
    if T == 0:
        if branch == "retrieval":
            v1 = _V(1.0, alpha, P, convention)
            m = _m_zero_temperature(v1 / s ** 2, P)
            if not math.isfinite(m):
                raise ParameterError(f"alpha: no retrieval at T = 0 above alpha_c = "
                                     f"{critical_capacity(P, 0.0, convention):.8g}")
        else:
            m = 0.0
        f = float(_free_energy(m, 1.0, alpha, 0.0, P, convention))
        return DenseState(parameters=params, alpha=alpha, T=T, P=P, convention=convention,
                          branch=branch, m=m, q=1.0, f=f)
    m0 = {"retrieval": 1.0, "spin_glass": 0.0, "paramagnet": 0.0}[branch]
    q0 = 0.0 if branch == "paramagnet" else 1.0
    m, q, ok, it, _ = _iterate(np.array([m0]), np.array([q0]), np.array([alpha]),
                               np.array([1 / T]), P, convention, fixed_m=branch != "retrieval")
    if not ok:
        raise ConvergenceError(f"{branch}: fixed point not reached in {_MAXITER} iterations "
                               f"at alpha={alpha}, T={T} (close to a transition?)",
                               iterations=it)
    m, q = float(m[0]), float(q[0])
    if branch == "retrieval" and m < 1e-6:
        raise ParameterError(f"alpha: no retrieval state at (alpha={alpha}, T={T})")
    if branch == "spin_glass" and q < 1e-6 and _V(0.0, 1.0, P, convention) == 0:
        raise ParameterError(f"T: no spin-glass state at (alpha={alpha}, T={T})")
    f = float(_free_energy(m, q, alpha, T, P, convention))
    return DenseState(converged=True, iterations=it, residual=_TOL, parameters=params,
                      alpha=alpha, T=T, P=P, convention=convention, branch=branch, m=m, q=q,
                      f=f)


def _alpha_of_m(m, T, P, convention):
    """Retrieval branch at temperature T > 0 parametrised by m (flat arrays): the
    m-equation fixes the noise sd sigma (E tanh(beta (s m^{P-1} + sigma z)) decreases in
    sigma), q follows, and alpha = sigma^2 / (V(q)/alpha). NaN where tanh(beta s m^{P-1})
    <= m (no solution for any load)."""
    s, _ = _noise_poly(P, convention)
    beta = 1.0 / T
    a = s * m ** (P - 1)
    valid = np.tanh(beta * a) > m
    out = np.full(m.shape, np.nan)
    if not np.any(valid):
        return out
    mv, av, bv = m[valid], a[valid], beta[valid] if np.ndim(beta) else np.full(valid.sum(), beta)
    hi = av / (math.sqrt(2.0) * special.erfinv(np.minimum(mv, 1 - 1e-16))) * 1.001

    def fun(sig, idx):
        mom = _gauss.moments(bv[idx] * av[idx], bv[idx] * sig)
        return mom.tanh - mv[idx], -2.0 * bv[idx] ** 2 * sig * mom.sech2_tanh
    sigma, _ = _roots.newton_bracketed(fun, np.zeros_like(mv), hi, hi, xtol=1e-15 + 1e-13 * hi,
                                       what="dense sigma(m)")
    q = 1.0 - _gauss.moments(bv * av, bv * sigma).sech2
    out[valid] = sigma ** 2 / _V(q, 1.0, P, convention)
    return out


def _capacity_rows(T, P, convention, n_grid=200):
    """alpha_c(T) for T > 0 (flat array): maximum of alpha(m) over m, by a grid scan
    refined with golden section (vectorised over T)."""
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
    _, a_max, _ = _roots.golden_max(fun, lo, hi, xtol=1e-11)
    return np.where(al.max(axis=0) > 0, a_max, 0.0)


def critical_capacity(P: int, T: float = 0.0, convention: str = "distinct") -> float:
    """``alpha_c(P, T)``: the largest load with a retrieval solution.

    ``T = 0``: ``gamma_c(P) s^2 / (V(1)/alpha)`` (distinct: ``gamma_c/(P-1)!``; all-index:
    ``gamma_c/(2P-3)!!``; Theriault-Tantari: ``P gamma_c``). ``T > 0``: the maximum over
    the retrieval branch parametrised by m (see ``_alpha_of_m``).
    """
    _, t, P = _check(0.0, T, P, convention)
    T = float(t)
    if P == 2:
        scale = 2.0 if convention == "theriault-tantari" else 1.0
        return scale * hopfield.critical_capacity(T / scale).alpha_c
    s, _ = _noise_poly(P, convention)
    a0 = gamma_c(P) * s ** 2 / _V(1.0, 1.0, P, convention)
    if T == 0:
        return a0

    return float(_capacity_rows([T], P, convention)[0])


def phase_diagram(alpha, T, P: int, convention: str = "distinct") -> PhaseDiagram:
    """(alpha, T) phase diagram of the P-body model (P >= 3; P = 2 is
    :func:`hopfield.phase_diagram`). Fields ``m, q`` (retrieval), ``q_sg``, ``f_retrieval``,
    ``f_sg``, ``f_para``; phases :data:`PHASES`; boundary ``alpha_c``: points
    (alpha_c(T), T) at every T of the grid."""
    alpha = np.unique(np.atleast_1d(np.asarray(alpha, float)))
    T = np.unique(np.atleast_1d(np.asarray(T, float)))
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
    m, q, _, _, left = _iterate(np.ones(hot.sum()), np.ones(hot.sum()), A[hot], beta[hot],
                                P, convention)
    cap = np.zeros(T.size)
    rows = T > 0
    if np.any(rows):
        cap[rows] = _capacity_rows(T[rows], P, convention)
    ok = (A[hot] < cap[None, :].repeat(alpha.size, 0)[hot]) & (m > 1e-6)
    if np.any(ok & np.isin(np.arange(m.size), left)):
        raise ConvergenceError("retrieval fixed point not reached at some grid points "
                               "inside the retrieval region")
    mr, qr = np.full(shape, np.nan), np.full(shape, np.nan)
    mr[hot] = np.where(ok, m, np.nan)
    qr[hot] = np.where(ok, q, np.nan)
    s, _ = _noise_poly(P, convention)
    v1 = _V(1.0, 1.0, P, convention)
    for idx in zip(*np.nonzero(cold)):
        mr[idx] = _m_zero_temperature(A[idx] * v1 / s ** 2, P)
        qr[idx] = 1.0
    # spin glass (from q = 1) and paramagnet (from q = 0), m = 0
    _, qs, _, _, _ = _iterate(np.zeros(hot.sum()), np.ones(hot.sum()), A[hot], beta[hot], P,
                              convention, fixed_m=True)
    _, qp, _, _, _ = _iterate(np.zeros(hot.sum()), np.zeros(hot.sum()), A[hot], beta[hot], P,
                              convention, fixed_m=True)
    qsg, qpa = np.ones(shape), np.full(shape, np.nan)
    qsg[hot], qpa[hot] = qs, qp
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
    cap[T == 0] = critical_capacity(P, 0.0, convention)
    pts = np.column_stack([cap, T])[cap > 0]
    return PhaseDiagram(parameters={"model": "dense", "P": P, "convention": convention},
                        axes={"alpha": alpha, "T": T}, fields=fields, phase=phase,
                        labels=dict(PHASES),
                        boundaries={"alpha_c": pts})
