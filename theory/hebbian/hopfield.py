r"""Hopfield model: the Amit-Gutfreund-Sompolinsky replica-symmetric theory.

Model. ``N`` spins ``sigma_i = +-1``, ``p = alpha N`` unbiased patterns ``xi^mu_i = +-1``,
couplings ``J_ij = (1/N) sum_mu xi^mu_i xi^mu_j`` (``i != j``, ``J_ii = 0``),

    H = -1/2 sum_{i != j} J_ij sigma_i sigma_j = -(N/2) sum_mu m_mu^2 + p/2,

temperature ``T = 1/beta``. Per-spin quantities throughout.

Order parameters (one condensed pattern): the Mattis overlap ``m``, the Edwards-Anderson
``q`` and ``r = (N/alpha) sum_{mu>1} <m_mu>^2``. With ``sigma = sqrt(alpha r)`` (the
cross-talk noise), ``C = beta (1 - q)`` and ``z ~ N(0, 1)`` the RS saddle point is
(AGS 1987, eqs. 4.13-4.15)

    m = E_z tanh[beta (m + sigma z)]
    q = E_z tanh^2[beta (m + sigma z)]        (equivalently C = beta E_z sech^2[...])
    sigma^2 = alpha q / (1 - C)^2             (r = q / (1 - beta + beta q)^2)

and the free energy per spin (AGS 1987, eq. 4.12)

    f = alpha/2 + m^2/2 + (alpha/2) [T ln(1 - C) - q/(1 - C)] + sigma^2 C / 2
        - T E_z ln 2cosh[beta (m + sigma z)].

``T = 0`` is its own limit (``C`` stays finite): with ``y = m / (sigma sqrt 2)``,
``m = erf y``, ``C = sqrt(2/pi) e^{-y^2} / sigma``, ``sigma (1 - C) = sqrt(alpha)``, i.e.

    alpha(y) = (1/2) [erf(y)/y - (2/sqrt(pi)) e^{-y^2}]^2 ,

whose maximum is ``alpha_c(0) = 0.1379055665`` (AGS 1985). Branches: ``retrieval``
(``m > 0``), ``spin_glass`` (``m = 0, q > 0``, exists for ``T < T_g = 1 + sqrt(alpha)``),
``paramagnet`` (``m = q = 0``; its ``f`` is real for ``T > 1``).

Replica-symmetry (de Almeida-Thouless) stability of a solution (AGS 1987, sec. 5):

    lambda_AT = alpha beta^2 E_z sech^4[beta (m + sigma z)] / (1 - C)^2 < 1.

Lines of the (alpha, T) diagram (AGS naming): ``T_g`` (spin glass appears), ``T_M`` (the
retrieval solution exists below it; ``alpha_c(T)`` is the same line read as alpha),
``T_c`` (retrieval has the lowest free energy below it), ``T_R`` (AT line of retrieval).

Numerics. Gaussian averages by :mod:`._gauss` (split at the step of ``tanh``; error below
1e-11 at every T). At fixed ``T`` the retrieval branch is parametrised by ``x = m/sigma``: the
``m``-equation fixes ``sigma(x)`` (one bracketed root), and then
``alpha(x) = sigma^2 (1 - C)^2 / q`` is explicit; ``alpha_c(T) = max_x alpha(x)`` and the
retrieval state at ``(alpha, T)`` is the root of ``alpha(x) = alpha`` on the large-``x``
side of the maximum (``x`` rather than ``m``, which saturates at 1 in double precision
at low T). The spin glass is likewise ``alpha_SG(sigma) = sigma^2 (1-C)^2/q``,
increasing in ``sigma`` above the point where ``C = 1``. All solves are vectorised.

Spec: :class:`nnphys.models.hebbian.Hopfield` (``solve`` takes it, or ``alpha, T``), the
same object :func:`nnphys.sim.montecarlo.network` simulates.

References:
    D. J. Amit, H. Gutfreund, H. Sompolinsky, PRL 55, 1530 (1985);
    Ann. Phys. 173, 30 (1987) (no arXiv ids; both predate arXiv).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
from scipy import optimize, special

from ... import checks
from ...errors import ConvergenceError, ParameterError
from ...models.hebbian import Hopfield
from ...results import FAILED, OK, PhaseDiagram, Result, register_phase_diagram
from . import _gauss, _roots

__all__ = ["HopfieldState", "CriticalCapacity", "LinePoint", "SmallAlphaAsymptotes",
           "solve", "critical_capacity",
           "glass_temperature", "retrieval_temperature", "transition_temperature",
           "at_temperature", "transition_capacity", "small_alpha_asymptotes",
           "phase_diagram", "BRANCHES", "PHASES"]

BRANCHES = ("retrieval", "spin_glass", "paramagnet")
#: phase labels of :func:`phase_diagram`
PHASES = {0: "paramagnet", 1: "spin glass", 2: "retrieval (metastable)",
          3: "retrieval (global minimum)"}
_XTOL = 1e-13
_RESIDUAL_TOL = 1e-8      # max-norm residual of the RS equations accepted as a solution
_T_MIN = 1e-10           # smallest T > 0 solved (beta sigma overflows the moments below it)
_TINY_ALPHA = 1e-30       # below it the T > 0 retrieval state is Curie-Weiss (O(alpha) shift)
_SQRT_2_PI = math.sqrt(2.0 / math.pi)


@dataclasses.dataclass(frozen=True)
class HopfieldState(Result):
    """An RS solution at ``(alpha, T)``.

    Attributes: ``m, q, r`` (order parameters), ``C = beta (1 - q)`` (finite at T = 0),
    ``f`` (free energy per spin; the energy at T = 0), ``lambda_at`` (RS stable iff < 1),
    ``branch``, ``alpha``, ``T``.
    """

    alpha: float = 0.0
    T: float = 0.0
    branch: str = "retrieval"
    m: float = 0.0
    q: float = 0.0
    r: float = 0.0
    C: float = 0.0
    f: float = 0.0
    lambda_at: float = 0.0


@dataclasses.dataclass(frozen=True)
class CriticalCapacity(Result):
    """``alpha_c(T)``: the largest load with a retrieval solution, and ``m`` there.

    ``converged``/``iterations`` are those of the maximiser over the retrieval branch
    (function evaluations); ``residual`` is the max-norm residual of the RS equations of the
    retrieval state at ``(alpha_c, T)``.
    """

    T: float = 0.0
    alpha_c: float = 0.0
    m: float = 0.0


@dataclasses.dataclass(frozen=True)
class LinePoint(Result):
    """A point ``(alpha, T)`` of a line of the AGS diagram (``line``: ``"T_M"``, ``"T_c"``
    or ``"T_R"``), found by a scalar root (Brent); ``residual`` is ``|g|`` at the root of the
    line's defining function ``g`` (stated by the function that returns it)."""

    alpha: float = 0.0
    T: float = 0.0
    line: str = ""


@dataclasses.dataclass(frozen=True)
class SmallAlphaAsymptotes(Result):
    """``T_M = 1 - c_M sqrt(alpha)``, ``T_c = 1 - c_c sqrt(alpha)`` and the reduced free
    energy ``Phi(M, rho, Q; c)`` (sympy text, ``sympy.sympify(Phi)`` rebuilds it)."""

    c_M: float = 0.0
    c_c: float = 0.0
    Phi: str = ""
    c_of_M: str = ""


# ----------------------------------------------------------------------------- checks

def _check_alpha(alpha):
    return checks.finite_array("alpha", alpha, low=0.0)


def _check_T(T):
    return checks.finite_array("T", T, low=0.0)


# ------------------------------------------------------------------ branch at T = 0

def _alpha_of_y(y):
    """T = 0 retrieval: load as a function of ``y = m / (sigma sqrt 2)``."""
    y = np.asarray(y, float)
    g = special.erf(y) / y - (2.0 / math.sqrt(math.pi)) * np.exp(-y * y)
    return 0.5 * g * g


@functools.lru_cache(maxsize=None)
def _y_peak_search():
    """Bounded Brent maximisation of alpha(y): (y*, alpha_c(0), success, evaluations)."""
    res = optimize.minimize_scalar(lambda y: -_alpha_of_y(y), bounds=(0.5, 3.0),
                                   method="bounded", options={"xatol": 1e-12})
    return float(res.x), float(-res.fun), bool(res.success), int(res.nfev)


def _y_peak() -> tuple[float, float]:
    """(y*, alpha_c(0)): maximum of alpha(y)."""
    return _y_peak_search()[:2]


def _retrieval_t0(alpha):
    """T = 0 retrieval (m, sigma, C, root-finder iterations) for alpha < alpha_c(0)
    (arrays; alpha > 0)."""
    y_star, _ = _y_peak()
    alpha = np.asarray(alpha, float).ravel()

    def fun(y, idx):
        return np.log(_alpha_of_y(y)) - np.log(alpha[idx])
    # alpha(y) ~ 1/(2 y^2) for large y, so y < 1/sqrt(alpha) (and > y*)
    y, it = _roots.illinois(fun, np.full(alpha.size, y_star), np.maximum(40.0, alpha ** -0.5),
                            xtol=1e-14, what="T = 0 retrieval")
    m = special.erf(y)
    sigma = m / (math.sqrt(2.0) * y)
    C = _SQRT_2_PI * np.exp(-y * y) / sigma
    return m, sigma, C, it


# ------------------------------------------------------------- branch at T > 0

def _curie_weiss(T):
    """m = tanh(m / T) (largest root; 0 for T >= 1), vectorised (alpha = 0 retrieval),
    and the Newton iterations spent."""
    T = np.asarray(T, float).ravel()
    m = np.zeros_like(T)
    it = 0
    below = T < 1
    if np.any(below):
        beta = 1.0 / T[below]

        def fun(x, idx):
            th = np.tanh(beta[idx] * x)
            return th - x, beta[idx] * (1 - th * th) - 1
        m[below], it = _roots.newton_bracketed(fun, np.full(beta.size, 1e-300),
                                               np.ones(beta.size), np.ones(beta.size),
                                               xtol=1e-15, maxiter=2000, what="Curie-Weiss m")
    return m, it


def _sigma_of_x(x, beta, guess=None):
    """sigma > 0 with sigma x = E tanh(beta sigma (x + z)), i.e. the m-equation at
    signal-to-noise ratio x = m / sigma. G(sigma) = E tanh(...)/sigma - x goes from
    (beta - 1) x > 0 at sigma -> 0 to below 0 at the T = 0 value erf(x/sqrt 2)/x."""
    hi = special.erf(x / math.sqrt(2.0)) / x * 1.001
    x0 = hi if guess is None else np.where(np.isfinite(guess), np.clip(guess, 0.0, hi), hi)

    def fun(s, idx):
        b, xx = beta[idx], x[idx]
        pos = s > 0
        s_ = np.where(pos, s, 1.0)
        mom = _gauss.moments(b * s_ * xx, b * s_)
        h = mom.tanh - s_ * xx
        dh = b * xx * mom.sech2 - 2 * b * b * s_ * mom.sech2_tanh - xx
        g = np.where(pos, h / s_, (b - 1) * xx)
        dg = np.where(pos, dh / s_ - h / s_ ** 2, 1.0)
        return g, dg
    sigma, _ = _roots.newton_bracketed(fun, np.zeros_like(x), hi, x0, xtol=1e-15 + 1e-13 * hi,
                                       what="sigma(x) of the retrieval branch")
    return sigma


def _alpha_of_x(x, beta, guess=None):
    """Retrieval branch at fixed beta: (alpha(x), sigma(x)), x = m / sigma; alpha = NaN
    where C >= 1 (no physical RS solution)."""
    sigma = _sigma_of_x(x, beta, guess)
    mom = _gauss.moments(beta * sigma * x, beta * sigma)
    q = 1.0 - mom.sech2
    C = beta * mom.sech2
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(C < 1, sigma ** 2 * (1 - C) ** 2 / q, np.nan)
    return alpha, sigma


# Below _T_LOW the maximisation over x at beta > 1e6 loses its precision (measured:
# alpha_c(1e-9) off by 7e-9, alpha_c(1e-30) = 0.64 passed the residual check). There
# alpha_c(T), x and m are linear in T to within the curvature |alpha_c''| / 2 ~ 0.6
# (chord slopes 0.024226 at T = 1e-3, 0.024777 at 1e-6), so the interpolation between
# T = 0 and _T_LOW is exact to 0.6 T (_T_LOW - T) <= 2e-13, the maximiser's tolerance.
_T_LOW = 1e-6


def _capacity_rows(T):
    """For T in (0, 1) (flat array): alpha_c(T), x = m/sigma and m at alpha_c, and the
    golden-section steps taken; below ``_T_LOW`` interpolated linearly between the T = 0
    solution and ``_T_LOW``."""
    T = np.asarray(T, float).ravel()
    if T.size == 1:         # the line solvers ask for one T many times (solve, brackets)
        return tuple(np.array(v) if isinstance(v, np.ndarray) else v
                     for v in _capacity_row(float(T[0])))
    return _capacity_rows_computed(T)


@functools.lru_cache(maxsize=4096)
def _capacity_row(T: float):
    """:func:`_capacity_rows` of one temperature, memoised (callers get copies)."""
    return _capacity_rows_computed(np.array([T]))


def _capacity_rows_computed(T):
    """:func:`_capacity_rows` without the memo."""
    low = T < _T_LOW
    if not np.any(low):
        return _capacity_rows_above(T)
    a, x, m, it = _capacity_rows_above(np.append(T[~low], _T_LOW))
    y0, a0, _, _ = _y_peak_search()
    x0, m0 = math.sqrt(2.0) * y0, float(special.erf(y0))
    w = T[low] / _T_LOW
    out = [np.empty(T.size) for _ in range(3)]
    for o, above, zero in zip(out, (a, x, m), (a0, x0, m0)):
        o[~low] = above[:-1]
        o[low] = zero + w * (above[-1] - zero)
    return out[0], out[1], out[2], it


def _capacity_rows_above(T):
    """:func:`_capacity_rows` for T in [_T_LOW, 1), by golden-section maximisation."""
    T = np.asarray(T, float).ravel()
    beta = 1.0 / T
    last_sigma = np.full(T.size, np.nan)     # warm start: golden points move little

    def fun(x, idx):
        a, sigma = _alpha_of_x(x, beta[idx], last_sigma[idx])
        last_sigma[idx] = sigma
        return np.where(np.isfinite(a), a, -1.0)
    x, a_max, it = _roots.golden_max(fun, np.full(T.size, 0.05), np.full(T.size, 20.0),
                                     xtol=1e-10)
    return a_max, x, x * _sigma_of_x(x, beta), it


def _retrieval_T(alpha, T, x_peak=None):
    """Retrieval (m, sigma) at (alpha, T) for T in (0, 1) (flat arrays; the caller has
    checked alpha < alpha_c(T)); alpha == 0 gives the Curie-Weiss state. The root of
    alpha(x) = alpha lies in (x_peak, 1.5/sqrt(alpha)), since alpha(x) <= 1/x^2 (q >= m^2).
    Below ``_TINY_ALPHA`` the state is Curie-Weiss to first order: ``m`` moves by O(alpha),
    below rounding, and ``sigma^2 = alpha q/(1 - C)^2`` at ``q = m^2`` (the root in x would
    need brackets beyond 1e150). Returns (m, sigma, iterations of the root in x)."""
    alpha, T = np.asarray(alpha, float).ravel(), np.asarray(T, float).ravel()
    beta = 1.0 / T
    if x_peak is None:
        _, x_peak, _, _ = _capacity_rows(T)
    m, it = _curie_weiss(T)
    sigma = np.zeros_like(m)
    tiny = (alpha > 0) & (alpha <= _TINY_ALPHA)
    if np.any(tiny):
        q = m[tiny] ** 2
        sigma[tiny] = np.sqrt(alpha[tiny] * q) / (1 - beta[tiny] * (1 - q))
    todo = np.flatnonzero(alpha > _TINY_ALPHA)
    if todo.size:
        b_, a_ = beta[todo], alpha[todo]
        sig_guess = np.full(todo.size, np.nan)

        def fun(xx, idx):
            al, sig_guess[idx] = _alpha_of_x(xx, b_[idx], sig_guess[idx])
            return np.log(al) - np.log(a_[idx])
        lo, hi = x_peak[todo], np.maximum(1.5 * a_ ** -0.5, x_peak[todo] * 1.01)
        xx, it = _roots.illinois(fun, lo, hi, xtol=1e-14, ftol=1e-14, what="retrieval x")
        sigma[todo] = _sigma_of_x(xx, b_)
        m[todo] = xx * sigma[todo]
    return m, sigma, it


def _spin_glass_qC(sigma, beta):
    """q = E tanh^2(beta sigma z) and C = beta (1 - q); for beta sigma < 0.01 q comes from
    its series s^2 - 2 s^4 + (17/3) s^6 (error < 3e-15 q), not from 1 - E sech^2."""
    s = beta * sigma
    mom = _gauss.moments(0.0, s)
    s2 = np.minimum(s, 0.01) ** 2          # the series is used (and evaluated) below 0.01 only
    q = np.where(s < 0.01, s2 * (1 - 2 * s2 + 17 / 3 * s2 * s2), 1 - mom.sech2)
    return q, beta * (1 - q)


def _spin_glass_T(alpha, T):
    """Spin glass (sigma, iterations) at (alpha, T), T > 0, alpha > (T - 1)^2 (flat
    arrays)."""
    alpha, T = np.asarray(alpha, float).ravel(), np.asarray(T, float).ravel()
    beta = 1.0 / T
    sigma1 = np.zeros_like(T)
    cold = T < 1
    if np.any(cold):
        bc = beta[cold]

        def c_minus_1(s, idx):          # C(sigma) - 1, decreasing in sigma
            mom = _gauss.moments(0.0, bc[idx] * s)
            return bc[idx] * mom.sech2 - 1.0, bc[idx] ** 3 * s * (
                4 * mom.sech2 - 6 * mom.sech4)
        hi = np.full(bc.size, _SQRT_2_PI * 1.01 + 1e-3)
        sigma1[cold], _ = _roots.newton_bracketed(
            lambda s, idx: c_minus_1(s, idx), np.zeros(bc.size), hi, hi * 0.5,
            xtol=1e-15, what="spin-glass C = 1")
    # For T >= 1 the root tends to 0 at T_g; below sigma = 1e-9 it is returned as 0.
    lo = np.where(cold, sigma1 * (1 + 1e-12), 1e-9)
    hi = np.sqrt(alpha) + _SQRT_2_PI * 1.001 + 1e-9

    def fun(s, idx):
        q, C = _spin_glass_qC(s, beta[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            val = np.log(s) + np.log(np.abs(1 - C)) - 0.5 * np.log(q) - 0.5 * np.log(alpha[idx])
        return np.where(np.isnan(val), -np.inf, val)
    idx = np.arange(alpha.size)
    f_lo = fun(lo, idx)
    sigma = np.zeros_like(alpha)
    it = 0
    todo = np.flatnonzero(f_lo < 0)
    if todo.size:
        sigma[todo], it = _roots.illinois(lambda s, i: fun(s, todo[i]), lo[todo], hi[todo],
                                          fa=f_lo[todo], xtol=1e-15, ftol=1e-15,
                                          what="spin-glass sigma")
    return sigma, it


# -------------------------------------------------------- quantities at a solution

def _quantities(m, sigma, alpha, T):
    """(q, r, C, f, lambda_at) at a solution (m, sigma) of the RS equations."""
    m, sigma, alpha, T = np.broadcast_arrays(*(np.asarray(v, float) for v in
                                               (m, sigma, alpha, T)))
    q, C, f, lam = (np.empty(m.shape) for _ in range(4))
    zero = T == 0
    if np.any(zero):
        mz, sz, az = m[zero], sigma[zero], alpha[zero]
        sign, e_abs, p0 = _gauss.moments_zero_temperature(mz, sz)
        Cz = 2.0 * p0
        q[zero], C[zero] = 1.0, Cz
        f[zero] = az / 2 + mz ** 2 / 2 - az / 2 / (1 - Cz) + sz ** 2 * Cz / 2 - e_abs
        lam[zero] = np.where(p0 > 0, np.inf, 0.0)
    hot = ~zero
    if np.any(hot):
        mh, sh, ah, Th = m[hot], sigma[hot], alpha[hot], T[hot]
        beta = 1.0 / Th
        mom = _gauss.moments(beta * mh, beta * sh)
        qh = 1 - mom.sech2
        Ch = beta * mom.sech2
        with np.errstate(divide="ignore", invalid="ignore"):
            log_term = np.where(ah > 0, ah / 2 * (Th * np.log(1 - Ch) - qh / (1 - Ch)), 0.0)
            lam[hot] = ah * beta ** 2 * mom.sech4 / (1 - Ch) ** 2
        q[hot], C[hot] = qh, Ch
        f[hot] = (ah / 2 + mh ** 2 / 2 + log_term + sh ** 2 * Ch / 2
                  - mom.abs_u * Th - Th * mom.log1p)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(alpha > 0, sigma ** 2 / alpha, q / (1 - C) ** 2)
    return q, r, C, f, lam


def _residuals(m, sigma, alpha, T):
    """Residual of the RS equations per point (arrays): the larger of ``|E tanh - m|`` and
    ``|alpha q/(1 - C)^2 - sigma^2| / max(1, sigma^2)`` (relative at large loads, where
    sigma^2 ~ alpha and double precision resolves it only relatively)."""
    m, sigma, alpha, T = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, float)) for v in
                                               (m, sigma, alpha, T)))
    q, r, C, _, _ = _quantities(m, sigma, alpha, T)
    e_tanh = np.empty(m.shape)
    zero = T == 0
    if np.any(zero):
        e_tanh[zero], _, _ = _gauss.moments_zero_temperature(m[zero], sigma[zero])
    if np.any(~zero):
        e_tanh[~zero] = _gauss.moments(m[~zero] / T[~zero], sigma[~zero] / T[~zero]).tanh
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.maximum(np.abs(e_tanh - m), np.abs(alpha * q / (1 - C) ** 2 - sigma ** 2)
                          / np.maximum(1.0, sigma ** 2))


def _residual(m, sigma, alpha, T):
    """Max-norm residual of the RS equations in (m, sigma^2) at one point."""
    return float(np.max(_residuals(m, sigma, alpha, T)))


# ----------------------------------------------------------------------- public API

def _spec(alpha, T) -> Hopfield:
    """The model: a :class:`~nnphys.models.hebbian.Hopfield` spec, or one built from
    ``(alpha, T)``."""
    if isinstance(alpha, Hopfield):
        if T is not None:
            raise ParameterError("T: given by the Hopfield spec; do not pass it as well")
        return alpha
    if T is None:
        raise ParameterError("T: the temperature is required (or pass a Hopfield spec)")
    return Hopfield(alpha=alpha, T=T)


def solve(alpha, T: float | None = None, branch: str = "retrieval", *,
          strict: bool = True) -> HopfieldState:
    """Solve the RS equations on one branch at ``(alpha, T)``.

    Args:
        alpha: load p/N, >= 0, or a :class:`~nnphys.models.hebbian.Hopfield` spec (which
            then also gives ``T``).
        T: temperature, 0 or >= 1e-10 (``T = 0`` uses the zero-temperature equations in C).
        branch: ``"retrieval"``, ``"spin_glass"`` or ``"paramagnet"``.
        strict: raise :class:`ConvergenceError` when the RS residual exceeds 1e-8; with
            ``strict=False`` the state is returned with ``converged=False``.

    ``residual`` is the max-norm residual of the two RS equations (for ``m`` and, relative
    to ``max(1, sigma^2)``, ``sigma^2``) at the returned state; ``iterations`` those of the
    outer root finder
    (``None`` for the closed-form states: the paramagnet, the T = 0 spin glass, alpha = 0
    at T = 0).

    Raises:
        ParameterError: bad arguments, or the branch does not exist at ``(alpha, T)``
            (retrieval needs ``alpha < alpha_c(T)``, the spin glass ``T < 1 + sqrt(alpha)``,
            the paramagnet's free energy ``T > 1``).
        ConvergenceError: a root finder failed, or the residual is above tolerance.
    """
    spec = _spec(alpha, T)
    alpha, T = spec.alpha, spec.T
    checks.one_of("branch", branch, BRANCHES)
    if 0 < T < _T_MIN:
        raise ParameterError(f"T: 0 or >= {_T_MIN:g} (below it the state is the T = 0 one "
                             f"to O(T); use T = 0), got {T!r}")
    it = None
    if branch == "retrieval":
        cap = critical_capacity(T, strict=strict).alpha_c if T < 1 else 0.0
        if not alpha < cap:
            raise ParameterError(f"alpha: no retrieval state at T = {T:g} for alpha >= "
                                 f"alpha_c(T) = {cap:.8g}, got {alpha:g}")
        if T == 0:
            if alpha == 0:
                m, sigma = np.array([1.0]), np.array([0.0])
            else:
                m, sigma, _, it = _retrieval_t0([alpha])
        else:
            m, sigma, it = _retrieval_T([alpha], [T])
    elif branch == "spin_glass":
        if not T < glass_temperature(alpha) or alpha == 0:
            raise ParameterError(f"T: the spin glass exists for T < 1 + sqrt(alpha) = "
                                 f"{glass_temperature(alpha):.8g} and alpha > 0, got T = {T:g}")
        m = np.array([0.0])
        if T == 0:
            sigma = np.array([math.sqrt(alpha) + _SQRT_2_PI])
        else:
            sigma, it = _spin_glass_T([alpha], [T])
    else:
        if not T > 1:
            raise ParameterError(f"T: the paramagnet's RS free energy is real for T > 1, "
                                 f"got {T:g}")
        m, sigma = np.array([0.0]), np.array([0.0])
    q, r, C, f, lam = (float(v[0]) for v in _quantities(m, sigma, alpha, T))
    m0, s0 = float(m[0]), float(sigma[0])
    res = _residual(m0, s0, alpha, T)
    ok = math.isfinite(f) and res <= _RESIDUAL_TOL
    if not ok and strict:
        raise ConvergenceError(f"{branch}: residual {res:.2e} at alpha={alpha}, T={T}",
                               iterations=it, residual=res)
    return HopfieldState(converged=bool(ok), iterations=it, residual=res,
                         parameters={"alpha": alpha, "T": T, "branch": branch},
                         alpha=alpha, T=T, branch=branch, m=m0, q=q, r=r, C=C, f=f,
                         lambda_at=lam)


def critical_capacity(T: float = 0.0, *, strict: bool = True) -> CriticalCapacity:
    """``alpha_c(T)``: largest load at which the RS retrieval solution exists.

    At ``T = 0``: ``max_y alpha(y) = 0.1379055665`` with ``m = 0.9674171144`` (AGS 1985),
    by bounded Brent maximisation in ``y``; at ``T > 0`` a golden-section maximisation of
    ``alpha(x)`` to ``|dx| <= 1e-10`` (``iterations``: its evaluations, resp. steps).
    ``strict=False`` returns ``converged=False`` (and NaN
    values if the maximiser failed) instead of raising :class:`ConvergenceError`.
    Note the RS re-entrance: alpha_c(T) rises to 0.138189 at T = 0.0229 before decreasing.
    For ``0 < T < 1e-6`` the values are interpolated linearly between ``T = 0`` and
    ``1e-6`` (exact to 2e-13; see ``_T_LOW``), the health that of the two ends.
    """
    T = checks.real("T", T, low=0.0)
    if T >= 1:
        raise ParameterError(f"T: retrieval exists only for T < 1, got {T:g}")
    if 0 < T < _T_LOW:          # linear in T there (see _T_LOW); the ends' health
        zero, low = critical_capacity(0.0, strict=strict), critical_capacity(_T_LOW,
                                                                            strict=strict)
        w = T / _T_LOW
        return CriticalCapacity(converged=zero.converged and low.converged,
                                iterations=zero.iterations + low.iterations,
                                residual=max(zero.residual, low.residual),
                                parameters={"T": T}, T=T,
                                alpha_c=zero.alpha_c + w * (low.alpha_c - zero.alpha_c),
                                m=zero.m + w * (low.m - zero.m))
    if T == 0:
        y, a, ok, evaluations = _y_peak_search()
        m = float(special.erf(y))
        sigma = m / (math.sqrt(2.0) * y)
    else:
        try:
            a_, x, m_, evaluations = _capacity_rows([T])
        except ConvergenceError as err:
            if strict:
                raise
            return CriticalCapacity(converged=False, iterations=err.iterations,
                                    parameters={"T": T}, T=T, alpha_c=math.nan, m=math.nan)
        a, m, ok = float(a_[0]), float(m_[0]), True
        sigma = m / float(x[0])
    res = _residual(m, sigma, a, T)
    ok = ok and res <= _RESIDUAL_TOL
    if not ok and strict:
        raise ConvergenceError(f"alpha_c: not reached at T = {T:g} (residual {res:.1e})",
                               iterations=evaluations, residual=res)
    return CriticalCapacity(converged=bool(ok), iterations=evaluations, residual=res,
                            parameters={"T": T}, T=T, alpha_c=float(a), m=m)


def glass_temperature(alpha):
    """``T_g = 1 + sqrt(alpha)``: the spin glass (q > 0) appears continuously below it."""
    return 1.0 + np.sqrt(_check_alpha(alpha))


@functools.lru_cache(maxsize=None)
def _capacity_peak() -> tuple[float, float]:
    """(T, alpha) of the maximum of alpha_c(T) (RS re-entrance)."""
    res = optimize.minimize_scalar(lambda t: -_capacity_rows([t])[0][0], bounds=(0.005, 0.06),
                                   method="bounded", options={"xatol": 1e-7})
    return float(res.x), float(-res.fun)


#: Below this load ``T_M`` and ``T_c`` come from their small-alpha limits
#: (:func:`_small_alpha_lines`), whose error ``O(alpha)`` (coefficients ~0.4 for T_M and
#: ~1.9 for T_c, as the solvers show at alpha = 1e-8 ... 1e-4) is below 2e-10 here; the
#: bracketed solves lose accuracy below it (T_c is a root of a free-energy difference O(alpha)).
_SMALL_ALPHA_LINES = 1e-10


def _landau_retrieval(delta):
    """(a, G) of the retrieval branch of the Landau expansion (:func:`_small_alpha_lines`),
    parametrised by ``delta = sigma^2 / tau``."""
    mu = 3 * (1 - delta)
    kappa = mu + delta
    a = 4 * delta * (1 - delta) ** 2 / (3 - 2 * delta)
    g = (-mu / 2 - delta * kappa / 2 + (mu * mu + 6 * mu * delta + 3 * delta * delta) / 12
         + a / 2 * math.log(kappa - 1) - a / 2 * kappa / (kappa - 1))
    return a, g


def _landau_spin_glass(a):
    """G of the spin-glass branch (``m = 0``, ``kappa = 1 + sqrt(a)``)."""
    kappa = 1 + math.sqrt(a)
    return -kappa * kappa / 4 + a / 4 * math.log(a) - math.sqrt(a) * kappa / 2


@functools.lru_cache(maxsize=None)
def _small_alpha_lines() -> tuple[float, float]:
    """``(c_M, c_c)`` of ``T_M = 1 - c_M sqrt(alpha) + O(alpha)`` and
    ``T_c = 1 - c_c sqrt(alpha) + O(alpha)``.

    Derivation (Landau expansion of the RS free energy of the module docstring near T = 1).
    With ``tau = 1 - T`` and the scaling ``alpha = a tau^2``, ``m^2 = mu tau``,
    ``q = kappa tau``, ``sigma^2 = delta tau``, expanding ``ln cosh`` to fourth order and
    ``1 - C = (q - tau)(1 + O(tau))``, the free energy is, up to terms common to every
    branch, ``tau^2 G + O(tau^3)`` with

        G = -mu/2 - delta kappa/2 + (mu^2 + 6 mu delta + 3 delta^2)/12
            + (a/2) ln(kappa - 1) - (a/2) kappa/(kappa - 1),

    stationary at ``1 = mu/3 + delta``, ``kappa = mu + delta``,
    ``delta = a kappa / (kappa - 1)^2``. Retrieval: ``mu = 3(1 - delta)`` and
    ``a = 4 delta (1 - delta)^2 / (3 - 2 delta)``, largest at ``4 delta^2 - 9 delta + 3 = 0``,
    ``delta = (9 - sqrt 33)/8``: ``c_M = a_max^(-1/2) = 1.95408`` (AGS 1987 quote
    ``T_M ~ 1 - 1.95 sqrt(alpha)``). Spin glass: ``mu = 0``, ``kappa = delta = 1 + sqrt(a)``
    (so ``q = tau + sqrt(alpha)``, vanishing at ``T_g = 1 + sqrt(alpha)``). ``T_c``: the
    root of ``G_R = G_SG`` on the stable retrieval branch (``delta`` below the fold),
    ``a_c = 0.148399``, ``c_c = a_c^(-1/2) = 2.59588``. The same coefficients come from
    the sympy expansion of :func:`small_alpha_asymptotes` (a different parametrisation,
    seconds of symbolic algebra, so not called by the solvers; the tests compare them).
    """
    d_fold = (9 - math.sqrt(33)) / 8
    a_max = _landau_retrieval(d_fold)[0]

    def gap(delta):
        a, g = _landau_retrieval(delta)
        return g - _landau_spin_glass(a)
    d_c = optimize.brentq(gap, 1e-6, d_fold, xtol=1e-15)
    return 1 / math.sqrt(a_max), 1 / math.sqrt(_landau_retrieval(d_c)[0])


def _line_point(root, alpha, T, line, params) -> LinePoint:
    _, ok, it, res = root
    return LinePoint(converged=ok, iterations=it, residual=res, parameters=params,
                     alpha=float(alpha), T=float(T), line=line)


def retrieval_temperature(alpha: float, *, strict: bool = True) -> LinePoint:
    """``T_M(alpha)``: the highest temperature with a retrieval solution (upper fold),
    the root of ``g(T) = alpha_c(T) - alpha`` (``residual = |g|``); below alpha = 1e-10,
    ``T_M = 1 - 1.95408 sqrt(alpha)`` (:func:`_small_alpha_lines`)."""
    alpha = checks.real("alpha", alpha, low=0.0)
    t_peak, a_peak = _capacity_peak()
    params = {"alpha": alpha}
    if alpha == 0:
        return LinePoint(parameters=params, alpha=0.0, T=1.0, line="T_M")
    if not alpha < a_peak:
        raise ParameterError(f"alpha: retrieval exists only for alpha < {a_peak:.6f}")
    if alpha < _SMALL_ALPHA_LINES:
        return LinePoint(parameters=params, alpha=alpha,
                         T=1 - _small_alpha_lines()[0] * math.sqrt(alpha), line="T_M")
    root = _roots.brentq(lambda t: _capacity_rows([t])[0][0] - alpha, t_peak, 1 - 1e-12,
                         xtol=1e-13, rtol=1e-13, what="T_M", strict=strict)
    return _line_point(root, alpha, root[0], "T_M", params)


def _free_energy_gap(alpha: float, T: float) -> float:
    return solve(alpha, T, "retrieval").f - solve(alpha, T, "spin_glass").f


def transition_capacity(T: float = 0.0, *, strict: bool = True) -> LinePoint:
    """The load below which retrieval states are global minima at temperature ``T``: the
    root in alpha of ``g = f_R - f_SG`` (``residual = |g|``); at ``T = 0``,
    ``alpha_1 = 0.05185433``."""
    T = checks.real("T", T, low=0.0)
    hi = critical_capacity(T).alpha_c * (1 - 1e-9)
    if T > 0 and not _free_energy_gap(1e-12, T) < 0:
        raise ParameterError(f"T: retrieval is never the global minimum at T = {T:g}")
    root = _roots.brentq(lambda a: _free_energy_gap(a, T), 1e-12, hi, xtol=1e-13,
                         what="alpha_1(T)", strict=strict)
    return _line_point(root, root[0], T, "T_c", {"T": T})


@functools.lru_cache(maxsize=None)
def _transition_peak() -> tuple[float, float]:
    """(T, alpha) of the largest load at which retrieval is a global minimum (RS)."""
    res = optimize.minimize_scalar(lambda t: -transition_capacity(t).alpha, bounds=(0.02, 0.2),
                                   method="bounded", options={"xatol": 1e-6})
    return float(res.x), float(-res.fun)


def transition_temperature(alpha: float, branch: str = "upper", *,
                           strict: bool = True) -> LinePoint:
    """``T_c(alpha)``: retrieval has the lowest free energy below it; the root in T of
    ``g = f_R - f_SG`` (``residual = |g|``).

    RS re-entrance: the first-order line bulges beyond alpha_1 = 0.05185 (the T = 0 value)
    to alpha = 0.053132 at T = 0.0851, because the RS spin glass has negative entropy at low
    T. For alpha_1 <= alpha < 0.053132 retrieval is a global minimum only in a window
    ``T_lower < T < T_upper``; ``branch`` picks its end (``"lower"`` needs alpha >= alpha_1).
    Below alpha = 1e-10, ``T_c = 1 - 2.59588 sqrt(alpha)`` (:func:`_small_alpha_lines`).
    """
    alpha = checks.real("alpha", alpha, low=0.0)
    checks.one_of("branch", branch, ("upper", "lower"))
    params = {"alpha": alpha, "branch": branch}
    if alpha == 0:
        return LinePoint(parameters=params, alpha=0.0, T=1.0, line="T_c")
    if alpha < _SMALL_ALPHA_LINES and branch == "upper":
        return LinePoint(parameters=params, alpha=alpha,
                         T=1 - _small_alpha_lines()[1] * math.sqrt(alpha), line="T_c")
    a1 = transition_capacity(0.0).alpha
    gap = lambda t: _free_energy_gap(alpha, t)  # noqa: E731
    if alpha < a1 and branch == "upper":
        bracket = (0.0, retrieval_temperature(alpha).T * (1 - 1e-9))
    else:
        t_peak, a_peak = _transition_peak()
        if not alpha < a_peak:
            raise ParameterError(f"alpha: retrieval is never a global minimum for alpha >= "
                                 f"{a_peak:.6f}")
        if branch == "lower":
            if alpha < a1:
                raise ParameterError(f"alpha: the lower branch exists for alpha_1 = "
                                     f"{a1:.8f} <= alpha < {a_peak:.6f}")
            bracket = (0.0, t_peak)
        else:
            bracket = (t_peak, retrieval_temperature(alpha).T * (1 - 1e-9))
    root = _roots.brentq(gap, *bracket, xtol=1e-13, what="T_c", strict=strict)
    return _line_point(root, alpha, root[0], "T_c", params)


def at_temperature(alpha: float, *, strict: bool = True) -> LinePoint:
    """``T_R(alpha)``: the AT line of the retrieval state (RS unstable below it), the root
    in ``log T`` of ``g = ln lambda_AT`` (``residual = |g|``)."""
    alpha = checks.real("alpha", alpha, low=0.0)
    if not 0 < alpha < critical_capacity(0.0).alpha_c:
        raise ParameterError("alpha: T_R is computed for 0 < alpha < alpha_c(0)")
    m, sigma, C, _ = _retrieval_t0([alpha])
    p0 = math.exp(-float(m[0] / sigma[0]) ** 2 / 2) / (float(sigma[0]) * math.sqrt(2 * math.pi))
    estimate = (4.0 / 3.0) * alpha * p0 / (1 - float(C[0])) ** 2      # T -> 0 limit
    if estimate < 1e-290:
        raise ParameterError(f"alpha: T_R ~ {estimate:.1e} underflows at alpha = {alpha}")

    def g(log_t):
        return math.log(solve(alpha, math.exp(log_t)).lambda_at)
    hi = math.log(min(retrieval_temperature(alpha).T * 0.999, estimate * 100))
    root = _roots.brentq(g, math.log(estimate) - 3, hi, xtol=1e-12, what="T_R",
                         strict=strict)
    return _line_point(root, alpha, math.exp(root[0]), "T_R", {"alpha": alpha})


def small_alpha_asymptotes() -> SmallAlphaAsymptotes:
    """Leading small-alpha behaviour ``T_M = 1 - c_M sqrt(alpha)``, ``T_c = 1 - c_c
    sqrt(alpha)``, derived by expanding the RS free energy with sympy (exact algebra; the
    crossing defining ``c_c`` by ``sympy.nsolve``).

    With ``m^2 = sqrt(alpha) M``, ``q = sqrt(alpha) Q``, ``alpha r = sqrt(alpha) rho``,
    ``T = 1 - c sqrt(alpha)`` the free energy is ``f = const + alpha Phi(M, rho, Q; c) +
    o(alpha)``; see :mod:`.asymptotics`.
    """
    from . import asymptotics
    out = asymptotics.hopfield_small_alpha()
    return SmallAlphaAsymptotes(c_M=float(out["c_M"]), c_c=float(out["c_c"]),
                                Phi=str(out["Phi"]), c_of_M=str(out["c_of_M"]))

# ---------------------------------------------------------------------- phase diagram

def _grid_states(alpha, T):
    """Retrieval and spin-glass fields on a (n_alpha, n_T) grid, the capacity row, where
    retrieval exists, and the RS residual at each point (the larger of its retrieval and
    spin-glass states'; 0 where neither was solved)."""
    A, TT = np.meshgrid(alpha, T, indexing="ij")
    shape = A.shape
    out = {k: np.full(shape, np.nan) for k in
           ("m", "q", "r", "f_retrieval", "lambda_at", "q_sg", "f_sg", "f_para")}
    cap = np.zeros(T.size)
    x_peak = np.zeros(T.size)
    t0 = T == 0
    if np.any(t0):
        cap[t0] = _y_peak()[1]
    rows = np.flatnonzero((T > 0) & (T < 1))
    if rows.size:
        cap[rows], x_peak[rows], _, _ = _capacity_rows(T[rows])
    exists = A < cap[None, :]
    # retrieval
    sel = exists & (TT > 0)
    m = np.full(shape, np.nan)
    sigma = np.full(shape, np.nan)
    if np.any(sel):
        col = np.broadcast_to(np.arange(T.size)[None, :], shape)[sel]
        m[sel], sigma[sel], _ = _retrieval_T(A[sel], TT[sel], x_peak[col])
    sel0 = exists & (TT == 0)
    if np.any(sel0):
        pos = sel0 & (A > 0)
        m[sel0 & (A == 0)], sigma[sel0 & (A == 0)] = 1.0, 0.0
        if np.any(pos):
            m[pos], sigma[pos], _, _ = _retrieval_t0(A[pos])
    residual = np.zeros(shape)
    if np.any(exists):
        residual[exists] = _residuals(m[exists], sigma[exists], A[exists], TT[exists])
        q, r, C, f, lam = _quantities(m[exists], sigma[exists], A[exists], TT[exists])
        out["m"][exists], out["q"][exists], out["r"][exists] = m[exists], q, r
        out["f_retrieval"][exists], out["lambda_at"][exists] = f, lam
    # spin glass
    sg = (TT < 1 + np.sqrt(A)) & (A > 0)
    if np.any(sg):
        sig = np.empty(int(sg.sum()))
        hot = TT[sg] > 0
        if np.any(hot):
            sig[hot], _ = _spin_glass_T(A[sg][hot], TT[sg][hot])
        sig[~hot] = np.sqrt(A[sg][~hot]) + _SQRT_2_PI
        q, _, _, f, _ = _quantities(0.0, sig, A[sg], TT[sg])
        out["q_sg"][sg], out["f_sg"][sg] = q, f
        residual[sg] = np.fmax(residual[sg], _residuals(0.0, sig, A[sg], TT[sg]))
    para = TT > 1
    with np.errstate(divide="ignore", invalid="ignore"):
        out["f_para"][para] = (A / 2 + A * TT / 2 * np.log(1 - 1 / TT) - TT * math.log(2))[para]
    return out, cap, exists, residual


@register_phase_diagram("hopfield", axes=("alpha", "T"))
def phase_diagram(alpha, T, *, strict: bool = False) -> PhaseDiagram:
    """AGS (alpha, T) phase diagram on any grid.

    Fields (shape ``(len(alpha), len(T))``, NaN where the branch does not exist): ``m, q, r,
    f_retrieval, lambda_at`` (retrieval), ``q_sg, f_sg`` (spin glass), ``f_para``.
    Phases: :data:`PHASES`. Boundaries, as (n, 2) arrays of (alpha, T) points:
    ``T_g``, ``T_M`` (alpha_c(T) at every T of the grid), ``T_c`` and ``T_R`` (located
    between grid points along each T row by linear interpolation of ``f_R - f_SG`` and of
    ``ln lambda_AT``; error O(grid spacing^2)).

    ``residual`` is the largest max-norm RS residual over the retrieval and spin-glass
    states of the grid. A point whose residual exceeds 1e-8 (or is NaN) is recorded as
    failed (status 1, NaN fields, ``converged=False``, a warning; see
    :class:`~nnphys.results.PhaseDiagram`) and the rest of the grid stands
    (``strict=True``: it raises :class:`ConvergenceError` instead). ``iterations`` does
    not apply (vectorised root finders).
    """
    alpha = np.unique(_check_alpha(np.atleast_1d(alpha)).ravel())
    T = np.unique(_check_T(np.atleast_1d(T)).ravel())
    fields, cap, exists, point_residual = _grid_states(alpha, T)
    failed = ~(point_residual <= _RESIDUAL_TOL)
    residual = float(np.nanmax(point_residual, initial=0.0))
    ok = not failed.any()
    if not ok and strict:
        raise ConvergenceError(f"phase diagram: RS residual {residual:.1e} at "
                               f"{int(failed.sum())} grid points", residual=residual)
    for value in fields.values():          # boundaries are located from good points only
        value[failed] = np.nan
    A, TT = np.meshgrid(alpha, T, indexing="ij")
    phase = np.zeros(A.shape, dtype=int)
    phase[(TT < 1 + np.sqrt(A)) & (A > 0)] = 1
    glob = np.where(np.isfinite(fields["f_sg"]), fields["f_retrieval"] < fields["f_sg"], True)
    phase[exists] = np.where(glob[exists], 3, 2)
    with np.errstate(divide="ignore"):
        log_lambda = np.log(fields["lambda_at"])
    boundaries = {
        "T_g": np.column_stack([alpha, 1 + np.sqrt(alpha)]),
        "T_M": np.column_stack([cap, T])[cap > 0],
        "T_c": _row_crossings(alpha, T, fields["f_retrieval"] - fields["f_sg"]),
        "T_R": _row_crossings(alpha, T, log_lambda),
    }
    return PhaseDiagram(converged=bool(ok), residual=residual,
                        parameters={"model": "hopfield"}, axes={"alpha": alpha, "T": T},
                        fields=fields, phase=phase, labels=dict(PHASES),
                        status=np.where(failed, FAILED, OK),
                        boundaries=boundaries).warn_failures()


def _row_crossings(alpha, T, g):
    """Points (alpha, T) where g changes sign from < 0 to >= 0 along each T row."""
    pts = []
    for j in range(T.size):
        col = g[:, j]
        for i in range(alpha.size - 1):
            a, b = col[i], col[i + 1]
            if np.isfinite(a) and np.isfinite(b) and a < 0 <= b:
                pts.append((alpha[i] + (alpha[i + 1] - alpha[i]) * a / (a - b), T[j]))
    return np.array(pts, dtype=float).reshape(-1, 2)
