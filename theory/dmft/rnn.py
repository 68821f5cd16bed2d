"""Dynamical mean-field theory of random rate networks (Sompolinsky, Crisanti & Sommers 1988).

Model (N -> infinity)::

    dx_i/dt = -x_i + sum_j J_ij phi(x_j) + I(t) + xi_i(t),   J_ij ~ N(0, g^2/N),

(the spec :class:`nnphys.models.rnn.RateNetwork`) with ``phi`` an odd activation layer
(``Tanh()`` by default; ``Erf(b=sqrt(pi)/2)`` is SCS's unit-slope erf), ``xi`` white noise of strength
``<xi_i(t) xi_j(s)> = sigma^2 delta_ij delta(t - s)`` and ``I`` a common input. Each
``x_i`` becomes a Gaussian process whose autocorrelation ``Delta(t, s) = <x(t) x(s)>`` obeys
(SCS 1988, Eq. 4; Crisanti, Sommers & Sompolinsky, "Chaos in neural networks: chaotic
solutions", Eqs. 2.6-2.9)::

    (1 + d_t)(1 + d_s) Delta(t, s) = g^2 C_phi(t, s) + sigma^2 delta(t - s),
    C_phi(t, s) = <phi(x(t)) phi(x(s))>.

**Stationary state** (:func:`stationary`). With ``Delta(t, s) = Delta(tau)`` and no noise,
the equation is Newton's law of a particle in the potential ``V`` (SCS Eq. 5)::

    Delta''(tau) = -dV/dDelta,   V(Delta; Delta0) = -Delta^2/2 + g^2 <Phi(x) Phi(y)>,

with ``Phi(x) = int_0^x phi`` (``log cosh`` for tanh) and ``<.>`` over Gaussians of variance
``Delta0`` and covariance ``Delta``; ``dV/dDelta = -Delta + g^2 C(Delta; Delta0)`` by Price's
theorem. The chaotic solution starts at rest at ``Delta0`` and reaches ``Delta = 0`` in
infinite time, so energy conservation fixes ``Delta0`` (SCS Eq. 6)::

    Delta0^2 / 2 = g^2 ( <Phi(sqrt(Delta0) z)^2> - <Phi(sqrt(Delta0) z)>^2 ).

A nonzero root exists for ``g > g_c = 1/phi'(0)`` (``g_c = 1`` for tanh); for ``g <= g_c``
the fixed point ``x = 0`` is stable and ``Delta = 0``. Near ``g_c``, for tanh,
``Delta0 ~ (g - 1) + (7/6)(g - 1)^2`` and the tail decays as ``exp(-kappa tau)``,
``kappa^2 = 1 - g^2 <phi'>^2``.

**Maximal Lyapunov exponent** (SCS Eqs. 7-8). Linearising the two-replica DMFT about the
stationary solution, ``d(t, s) = exp(2 lambda T) psi(tau)`` (``T = (t + s)/2``) solves the
Schrödinger problem::

    [-d_tau^2 + W(tau)] psi = E psi,   W(tau) = 1 - g^2 <phi'(x) phi'(y)>|_{Delta(tau)},
    lambda_max = -1 + sqrt(1 - E_0).

``Delta'(tau)`` is an exact zero mode with one node (``E_1 = 0``), so ``E_0 < 0`` and
``lambda_max > 0`` in the chaotic phase; ``E_1`` is reported as an accuracy check.

**Algorithm.** ``Delta0`` by Brent's method on the energy condition (trapezoidal Gaussian
quadrature, error < 5e-11, :func:`nnphys.theory.gaussian.normal_rule`); ``C(Delta)`` and
``<phi' phi'>(Delta)`` by the same rule on the product grid (closed forms for ``Erf``,
:func:`nnphys.theory.gaussian.erf_pair`) at Chebyshev nodes in ``[0, Delta0]`` (Chebyshev
interpolants, 64 nodes, error < 1e-11); ``Delta(tau)`` by DOP853 (rtol 1e-12) from ``(Delta0, 0)`` down to ``Delta = 1e-3 Delta0``,
continued by the exact linear tail ``exp(-kappa tau)``; the Schrödinger operator by
second-order finite differences on ``|tau| <= 14/kappa`` at two spacings, Richardson
extrapolated.

References: H. Sompolinsky, A. Crisanti, H.-J. Sommers, "Chaos in random neural networks",
Phys. Rev. Lett. 61, 259 (1988); A. Crisanti, H. Sompolinsky, Phys. Rev. E 98, 062120
(2018), arXiv:1809.06042.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numpy.polynomial import chebyshev as cheb
from scipy import integrate, linalg, optimize

from ... import checks
from ...errors import ConvergenceError, ParameterError
from ...models.rnn import RateNetwork, rate_network
from ...results import Result
from .. import gaussian
from ._activation import ScsActivation, scs_activation
from ._transient import Transient, solve

__all__ = ["RateNetwork", "Stationary", "Transient", "stationary", "solve"]

_CHEB_NODES = 64
_TAIL_FRACTION = 1e-3          # Delta/Delta0 where the ODE hands over to the linear tail
_BOX_KAPPA = 14.0              # Schrödinger box |tau| <= _BOX_KAPPA / kappa
_FD_POINTS = 3000              # grid points of the coarse Schrödinger grid (half box)


@dataclasses.dataclass(frozen=True)
class Stationary(Result):
    """Stationary SCS state.

    Attributes:
        g: coupling strength; ``activation``: the activation layer's repr;
            ``g_c = 1/phi'(0)``.
        chaotic: True for the chaotic solution, False at the fixed point ``Delta = 0``.
        delta0: ``Delta(0) = <x^2>``; ``lags``, ``delta``: the autocorrelation
            ``Delta(tau)`` on a grid of lags ``tau``.
        kappa: tail decay rate, ``Delta ~ exp(-kappa tau)``.
        c_phi0: ``<phi(x)^2>`` (rate variance); ``mean_dphi``: ``<phi'(x)>``.
        energies: the two lowest Schrödinger eigenvalues ``(E_0, E_1)`` (``E_1 ~ 0``).
        lyapunov: the maximal Lyapunov exponent (``-1 + g phi'(0)`` at the fixed point).
        converged, iterations, residual: in the chaotic phase, whether the zero mode passed
            its test, the ODE's right-hand-side evaluations, and ``|E_1|`` plus the mismatch
            of the ODE tail with ``-kappa Delta``; ``None`` at the fixed point (closed form).
    """

    g: float = 0.0
    activation: str = "Tanh()"
    g_c: float = 1.0
    chaotic: bool = False
    delta0: float = 0.0
    lags: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    delta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    kappa: float = 0.0
    c_phi0: float = 0.0
    mean_dphi: float = 0.0
    energies: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(2))
    lyapunov: float = 0.0

    def plot(self, ax=None):
        """The autocorrelation ``Delta(tau)`` on its lags; returns the matplotlib Axes
        (:func:`nnphys.plotting.curves`)."""
        from ...plotting import curves
        return curves(self.lags, {f"DMFT, g = {self.g:g}": self.delta}, ax,
                      xlabel="lag tau", ylabel="Delta(tau)")


def _variance_gap(d0: float, act: ScsActivation, g: float) -> float:
    """``2 g^2 Var[Phi(sqrt(d0) z)] / d0^2 - 1``: positive below the chaotic ``Delta0``."""
    z, w = gaussian.normal_rule(math.sqrt(d0))
    p = act.Phi(math.sqrt(d0) * z)
    mean = w @ p
    var = w @ (p - mean) ** 2
    return 2.0 * g * g * var / (d0 * d0) - 1.0


def _delta0(g: float, act: ScsActivation) -> float:
    """``Delta0 = <x^2>`` of the stationary state (0 at and below the transition).

    Solves ``Delta0^2/2 = g^2 Var[Phi(sqrt(Delta0) z)]`` (SCS 1988 Eq. 6) for its largest
    root by bracketing (the scan goes up to ``Delta0 = 1e4``) and Brent's method to 1e-14.

    Raises:
        ConvergenceError: no bracket (``phi`` unbounded so that ``Delta0`` diverges).
    """
    if g * abs(act.slope0) <= 1.0 and _variance_gap(1e-8, act, g) <= 0:
        return 0.0
    grid = np.geomspace(1e-10, 1e4, 141)
    gaps = np.array([_variance_gap(d, act, g) for d in grid])
    if not np.all(np.isfinite(gaps)):
        raise ConvergenceError(f"stationary: non-finite potential for g={g} "
                               f"(activation={act.name})")
    sign_change = np.nonzero((gaps[:-1] > 0) & (gaps[1:] <= 0))[0]
    if sign_change.size == 0:
        if gaps[-1] > 0:
            raise ConvergenceError(f"stationary: no finite Delta0 up to 1e4 for g={g}: "
                                   f"{act.name} does not saturate (the activity diverges)")
        return 0.0
    i = sign_change[-1]
    return optimize.brentq(_variance_gap, grid[i], grid[i + 1], args=(act, g),
                           xtol=1e-15 * grid[i], rtol=1e-15, maxiter=200)


def _chebyshev_tables(d0: float, act: ScsActivation):
    """Chebyshev coefficients on ``Delta in [0, d0]`` of ``C(Delta) = <phi phi>`` and
    ``D(Delta) = <phi' phi'>`` at variance ``d0`` (closed forms for ``a erf(b x)``)."""
    nodes = np.cos(np.pi * (np.arange(_CHEB_NODES) + 0.5) / _CHEB_NODES)
    deltas = 0.5 * d0 * (nodes + 1.0)
    if act.erf is not None:
        a, b = act.erf
        c = gaussian.erf_pair(d0, d0, deltas, a, b)
        d = gaussian.erf_derivative_pair(d0, d0, deltas, a, b)
    else:
        c = gaussian.expect_pair(act.phi, act.phi, d0, d0, deltas)
        d = gaussian.expect_pair(act.dphi, act.dphi, d0, d0, deltas)
    return cheb.chebfit(nodes, c, _CHEB_NODES - 1), cheb.chebfit(nodes, d, _CHEB_NODES - 1)


def _trajectory(g, d0, c_coef, kappa):
    """Integrate ``Delta'' = Delta - g^2 C(Delta)`` from rest at ``d0``; return the dense
    solution, the hand-over lag and the relative mismatch of ``Delta'`` with the tail."""
    def rhs(_, y):
        u = 2.0 * y[0] / d0 - 1.0
        return (y[1], y[0] - g * g * cheb.chebval(u, c_coef))

    def reached(_, y):
        return y[0] - _TAIL_FRACTION * d0
    reached.terminal = True
    reached.direction = -1

    def turned(_, y):          # Delta' > 0: the particle fell short of 0 (accuracy lost)
        return y[1]
    turned.terminal = True
    turned.direction = 1

    t_end = 60.0 / kappa + 60.0
    sol = integrate.solve_ivp(rhs, (0.0, t_end), [d0, 0.0], method="DOP853", rtol=1e-12,
                              atol=1e-15 * d0, dense_output=True, events=(reached, turned))
    if sol.status != 1 or sol.t_events[0].size == 0:
        raise ConvergenceError(f"stationary: Delta(tau) for g={g} did not reach the tail "
                               f"(status {sol.status}, {sol.message})", iterations=sol.nfev)
    tau_end = float(sol.t_events[0][0])
    slope = float(sol.y_events[0][0][1])
    mismatch = abs(slope + kappa * _TAIL_FRACTION * d0) / (kappa * _TAIL_FRACTION * d0)
    return sol.sol, tau_end, mismatch, sol.nfev


def _lowest_energies(w_of_tau, kappa, n_half):
    """Two lowest eigenvalues of ``-d^2 + W`` on ``|tau| <= L`` (Dirichlet), n_half points
    per half box."""
    box = _BOX_KAPPA / kappa
    h = box / n_half
    tau = np.arange(-n_half + 1, n_half) * h
    diag = 2.0 / h ** 2 + w_of_tau(np.abs(tau))
    off = np.full(tau.size - 1, -1.0 / h ** 2)
    return linalg.eigh_tridiagonal(diag, off, eigvals_only=True, select="i", select_range=(0, 1))


def stationary(network: RateNetwork | float, lags=None, *, activation=None,
               strict: bool = True) -> Stationary:
    """Stationary autocorrelation and maximal Lyapunov exponent of the SCS network.

    Args:
        network: a :class:`~nnphys.models.rnn.RateNetwork` without noise or input (its
            ``N`` is ignored: this is the ``N -> infinity`` theory), or the coupling
            strength ``g > 0`` (``J_ij ~ N(0, g^2/N)``).
        lags: lags ``tau`` at which to return ``Delta``; default 2001 points on
            ``[0, max(40, 12/kappa)]``.
        activation: convenience field of the spec: an odd activation layer (``Tanh()`` by
            default, ``Erf(b=sqrt(pi)/2)``, ``Elementwise(fn, fn_prime)``).
        strict: raise :class:`ConvergenceError` on failure (default); with ``False``,
            return a record with ``converged=False`` (and NaN where nothing was computed).

    Returns:
        :class:`Stationary`. At ``g <= g_c``: ``chaotic=False``, ``delta = 0`` and
        ``lyapunov = -1 + g phi'(0)`` (the fixed point ``x = 0``; for non-saturating-slope
        activations with ``phi'''(0) > 0`` a chaotic root may exist below ``g_c``, Pazó 2024,
        arXiv:2405.14607, and is returned).

    Raises:
        ParameterError: bad ``g``, activation, ``lags``, or a spec with noise or input.
        ArgumentTypeError: an activation that is not a layer object.
        ConvergenceError: (``strict``) no finite ``Delta0``, the separatrix could not be
            followed to the tail, or the zero mode ``E_1`` is off by more than 1e-4 of
            ``|E_0|``.

    Example:
        >>> r = stationary(2.0)
        >>> round(r.delta0, 6), round(r.lyapunov, 4)
        (1.924805, 0.1125)
    """
    spec = rate_network(network, activation=activation)
    if not spec.g > 0:
        raise ParameterError(f"network: the coupling strength g must be > 0 (g = 0 has no "
                             f"dynamics to correlate), got {spec.g}")
    g = spec.g
    if spec.noise != 0.0 or spec.input is not None:
        raise ParameterError("network: the stationary potential method needs noise = 0 and "
                             "no input; use solve() for the time-domain DMFT")
    act = scs_activation(spec.activation)
    lags = None if lags is None else _check_lags(lags)
    params = spec.describe()
    try:
        return _stationary(g, act, lags, params, strict)
    except ConvergenceError as err:
        if strict:
            raise
        grid = np.linspace(0.0, 40.0, 2001) if lags is None else lags
        nan = math.nan
        # every failure happens on the chaotic branch (the fixed point is a closed form)
        return Stationary(converged=False, iterations=err.iterations, residual=err.residual,
                          parameters=params, g=g, activation=act.name, g_c=_g_c(act),
                          chaotic=True, delta0=nan, lags=grid, delta=np.full_like(grid, nan),
                          kappa=nan, c_phi0=nan, mean_dphi=nan, energies=np.full(2, nan),
                          lyapunov=nan)


def _g_c(act: ScsActivation) -> float:
    return 1.0 / act.slope0 if act.slope0 != 0 else math.inf


def _stationary(g, act, lags, params, strict) -> Stationary:
    d0 = _delta0(g, act)
    g_c = _g_c(act)
    if d0 == 0.0:
        lags = np.linspace(0.0, 40.0, 2001) if lags is None else lags
        return Stationary(parameters=params, g=g, activation=act.name, g_c=g_c, chaotic=False,
                          delta0=0.0, lags=lags, delta=np.zeros_like(lags),
                          kappa=math.sqrt(max(0.0, 1 - (g * act.slope0) ** 2)),
                          c_phi0=0.0, mean_dphi=act.slope0, energies=np.zeros(2),
                          lyapunov=-1.0 + g * act.slope0)
    z, w = gaussian.normal_rule(math.sqrt(d0))
    mean_dphi = float(w @ act.dphi(math.sqrt(d0) * z))
    c_phi0 = float(w @ act.phi(math.sqrt(d0) * z) ** 2)
    kappa2 = 1.0 - (g * mean_dphi) ** 2
    if kappa2 <= 0:
        raise ConvergenceError(f"stationary: tail rate kappa^2 = {kappa2:.3g} <= 0 at g={g}")
    kappa = math.sqrt(kappa2)
    c_coef, d_coef = _chebyshev_tables(d0, act)
    dense, tau_end, mismatch, nfev = _trajectory(g, d0, c_coef, kappa)

    def delta_of(lag):
        lag = np.abs(np.asarray(lag, dtype=float))
        out = np.empty_like(lag)
        inside = lag <= tau_end
        out[inside] = dense(lag[inside])[0]
        out[~inside] = _TAIL_FRACTION * d0 * np.exp(-kappa * (lag[~inside] - tau_end))
        return out

    def w_of_tau(lag):
        u = np.clip(2.0 * delta_of(lag) / d0 - 1.0, -1.0, 1.0)
        return 1.0 - g * g * cheb.chebval(u, d_coef)

    coarse = _lowest_energies(w_of_tau, kappa, _FD_POINTS)
    fine = _lowest_energies(w_of_tau, kappa, 2 * _FD_POINTS)
    energies = (4.0 * fine - coarse) / 3.0            # Richardson: the FD error is O(h^2)
    e0, e1 = (float(e) for e in energies)
    residual = abs(e1) + mismatch * _TAIL_FRACTION * d0
    converged = abs(e1) <= 1e-4 * abs(e0)
    if not converged and strict:
        raise ConvergenceError(f"stationary: zero mode E_1 = {e1:.2e} not ~0 (E_0 = {e0:.3e}) "
                               f"at g={g}", iterations=nfev, residual=residual)
    lags = np.linspace(0.0, max(40.0, 12.0 / kappa), 2001) if lags is None else lags
    return Stationary(converged=bool(converged), iterations=nfev, residual=residual,
                      parameters=params, g=g, activation=act.name, g_c=g_c, chaotic=True,
                      delta0=d0, lags=lags, delta=delta_of(lags), kappa=kappa, c_phi0=c_phi0,
                      mean_dphi=mean_dphi, energies=np.array([e0, e1]),
                      lyapunov=-1.0 + math.sqrt(1.0 - e0))


def _check_lags(lags):
    lags = checks.finite_array("lags", lags, ndim=1)
    if lags.size < 2 or np.any(np.diff(lags) <= 0):
        raise ParameterError("lags: must be an increasing array of at least 2 lags")
    return lags
