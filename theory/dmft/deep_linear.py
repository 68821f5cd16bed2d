"""Exactly solvable feature-learning DMFT: deep linear networks (Bordelon & Pehlevan 2022,
arXiv:2205.09653, Sec. 5 "Deep linear networks").

Normalisation and notation as in :mod:`~nnphys.theory.dmft.feature_learning` (``a = sigma_0^2 q0`` with
``q0 = |x|^2 / D``, ``b = sigma_1^2``). Three solvers, each a check of the next:

* :func:`single_point`: one training point, one hidden layer. With ``chi(t) = gamma0 sqrt(ab)
  int_0^t Delta``, the single-site fields rotate hyperbolically, ``h = u cosh chi + sqrt(a/b)
  r sinh chi``, so ``Phi^1(t, s) = a cosh(chi_t + chi_s)``, ``G^1(t, s) = b cosh(chi_t +
  chi_s)``, ``f = sqrt(ab) sinh(2 chi) / gamma0`` and the NTK ``K = 2 ab cosh 2 chi``::

      df/dt = 2 sqrt(ab) sqrt(ab + gamma0^2 f^2) (y - f)

  (``a = b = 1``: ``df/dt = 2 (y - f) sqrt(1 + gamma0^2 f^2)``), integrated in closed form:
  with ``c = ab`` and ``s = sqrt(c + gamma0^2 y^2)``,
  ``t(f) = [ln((gamma0^2 f y + c + s sqrt(c + gamma0^2 f^2)) / (y - f)) - ln((c + s sqrt c) /
  y)] / (2 sqrt(c) s)``, inverted by bracketing.
* :func:`two_layer`: ``P`` points, one hidden layer. The equal-time moments ``Phi = <h h^T>``,
  ``G = <z^2>`` and ``f = <z h> / gamma0`` close (derived here from the single-site
  equations, ``dh/dt = gamma0 a Kx Delta z``, ``dz/dt = gamma0 b Delta . h``)::

      df/dt = (a G Kx + b Phi) Delta,  dPhi/dt = gamma0^2 a (Kx Delta f^T + f Delta^T Kx),
      dG/dt = 2 gamma0^2 b Delta . f,    Phi(0) = a Kx, G(0) = b, f(0) = 0,

  with ``a Kx = sigma_0^2 x x^T / D``, solved by an adaptive Runge-Kutta integrator
  (DOP853, rtol 1e-10).
* :func:`solve`: any depth, the single-site equations discretised on the time grid exactly as
  :func:`~nnphys.theory.dmft.feature_learning.solve` discretises them, but with the fields written as linear maps
  of the sources, ``[h; z] = (1 - M)^{-1} [u; r]``: kernels ``H C H^T`` and responses
  ``d h / d r`` exact (no sampling), iterated to the fixed point. This is the paper's
  "algebraic matrix equations" on a time grid, and it isolates the Monte Carlo error of the
  general solver.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import integrate, optimize

from ... import checks
from ...errors import ParameterError
from ...models import network as arch
from ...results import Result
from .feature_learning import (FeatureLearning, _check_inputs, _check_times, _Solver, _thin,
                               _fixed_point, _mlp_structure, _record)

__all__ = ["single_point", "single_point_variance", "two_layer", "solve", "LinearMoments"]

_LARGE = 1e6          # bound on |y|, gamma0, q0, W_std: beyond it the flow is numerically stiff


@dataclasses.dataclass(frozen=True)
class LinearMoments(Result):
    """Equal-time moments of a one-hidden-layer linear network: ``f`` ``(T, P)``, ``Phi``
    ``(T, P, P)`` (``Phi^1(t, t)``), ``G`` ``(T,)`` (``G^1(t, t)``, the same for every
    point), ``ntk`` ``(T, P, P)``, and for :func:`single_point` the two-time kernels
    ``Phi_two_time``, ``G_two_time`` ``(T, T)``; :func:`single_point_variance` fills
    ``f_variance`` ``(T, 1)``, ``N Var[f_N(t)]`` to leading order in ``1/N``."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    f: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    Phi: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    G: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    ntk: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    Phi_two_time: np.ndarray | None = None
    G_two_time: np.ndarray | None = None
    f_variance: np.ndarray | None = None


def _w_std(W_std) -> tuple[float, float]:
    if not isinstance(W_std, (tuple, list)) or len(W_std) != 2:
        raise ParameterError(f"W_std: must be a pair (input layer, readout), got {W_std!r}")
    return (checks.positive("W_std[0]", W_std[0], high=_LARGE),
            checks.positive("W_std[1]", W_std[1], high=_LARGE))


_TINY_GAP = 1e-300


def _time_of(gap, y, gamma0, c):
    """``t`` at which ``f = y (1 - gap)`` (``y > 0``)."""
    if gamma0 == 0.0:
        return -math.log(gap) / (2.0 * c)
    f = y * (1.0 - gap)
    s = math.sqrt(c + gamma0 ** 2 * y ** 2)
    top = gamma0 ** 2 * f * y + c + s * math.sqrt(c + gamma0 ** 2 * f ** 2)
    # log(top / (y gap)) - log((c + s sqrt(c)) / y), with log y cancelled: y gap underflows
    # to 0 for a tiny target
    return (math.log(top) - math.log(gap) - math.log(c + s * math.sqrt(c))) / (
        2.0 * math.sqrt(c) * s)


def single_point(y, gamma0, t, q0: float = 1.0, W_std=(1.0, 1.0)) -> LinearMoments:
    """One training point, one hidden linear layer: ``f(t)`` and the kernels in closed form
    (module docstring).

    Args:
        y: the target (nonzero).
        gamma0: richness ``>= 0``.
        t: times ``>= 0``.
        q0: ``|x|^2 / D`` of the training input.
        W_std: ``(sigma_0, sigma_1)``.

    Example:
        >>> r = single_point(1.0, 0.0, [0.0, 1.0])     # lazy: f = 1 - exp(-2 t)
        >>> round(float(r.f[1, 0]), 6) == round(1 - math.exp(-2.0), 6)
        True
    """
    y = checks.real("y", y, low=-_LARGE, high=_LARGE)
    if abs(y) < 1e-100:
        raise ParameterError(f"y: must be nonzero, |y| >= 1e-100 (f = 0 for all t at y = 0), "
                             f"got {y!r}")
    gamma0 = checks.real("gamma0", gamma0, low=0.0, high=_LARGE)
    t = checks.finite_array("t", t, ndim=1, low=0.0)
    q0 = checks.positive("q0", q0, high=_LARGE)
    s0, s1 = _w_std(W_std)
    a, b = s0 ** 2 * q0, s1 ** 2
    c = a * b
    f = np.empty(t.size)
    sign, mag = math.copysign(1.0, y), abs(y)        # the dynamics is odd under (f, y) -> -
    for i, ti in enumerate(t):
        if ti == 0.0:
            f[i] = 0.0
            continue
        # t decreases from +inf to 0 as the relative gap (y - f) / y goes from 0 to 1; past
        # the time of a gap of 1e-300, f = y to the last bit
        if _time_of(_TINY_GAP, mag, gamma0, c) <= ti:
            f[i] = y
            continue
        gap = optimize.brentq(lambda e: _time_of(e, mag, gamma0, c) - ti,
                              _TINY_GAP, 1.0, xtol=_TINY_GAP, rtol=4 * np.finfo(float).eps,
                              maxiter=500)
        f[i] = sign * mag * (1.0 - gap)
    chi = 0.5 * np.arcsinh(gamma0 * f / math.sqrt(c)) if gamma0 > 0 else np.zeros_like(f)
    cosh2 = np.sqrt(1.0 + (gamma0 * f) ** 2 / c)
    both = chi[:, None] + chi[None, :]
    return LinearMoments(t=t, f=f[:, None], Phi=(a * cosh2)[:, None, None], G=b * cosh2,
                         ntk=(2 * c * cosh2)[:, None, None],
                         Phi_two_time=a * np.cosh(both), G_two_time=b * np.cosh(both),
                         parameters={"y": y, "gamma0": gamma0, "q0": q0, "W_std": [s0, s1]})


def single_point_variance(y, gamma0, t, q0: float = 1.0, W_std=(1.0, 1.0)) -> LinearMoments:
    """The leading finite-width variance ``N Var[f_N(t)]`` of a one-hidden-layer linear
    network of width ``N`` trained on one point (the ``1/N`` prediction variance of
    Bordelon & Pehlevan 2023, "Dynamics of Finite Width Kernel and Prediction Fluctuations
    in Mean Field Neural Networks", arXiv:2304.03408, in the special case where it is exact
    in two statistics; derived here).

    With ``h_i = sigma_0 W_i . x / sqrt(D)`` rescaled to ``h~_i = h_i / sqrt(a)`` (``a =
    sigma_0^2 q0``, ``b = sigma_1^2``, ``c = ab``), gradient flow (:mod:`nnphys.theory.dmft.
    feature_learning` normalisation) is, for every neuron, ``dh~_i/dt = gamma0 sqrt(c) Delta
    w_i``, ``dw_i/dt = gamma0 sqrt(c) Delta h~_i``: one hyperbolic rotation by ``chi(t) =
    gamma0 sqrt(c) int_0^t Delta`` shared by all neurons. Hence, exactly at every ``N``,

        f = (sqrt(c) / gamma0) (alpha cosh 2 chi + beta sinh 2 chi),
        d chi / dt = gamma0 sqrt(c) (y - f),     chi(0) = 0,

    with the initial statistics ``alpha = (1/N) sum_i w_i h~_i`` and ``beta = (1/2N) sum_i
    (h~_i^2 + w_i^2)``: mean ``(0, 1)``, variances ``1/N`` each, uncorrelated. ``alpha = 0,
    beta = 1`` is the DMFT (:func:`single_point`). To leading order ``N Var f = (df/d
    alpha)^2 + (df/d beta)^2`` at ``(0, 1)``; with the sensitivities ``s_x = d chi / dx``,

        d s_alpha/dt = -c cosh 2chi (1 + 2 s_alpha),  d s_beta/dt = -c (sinh 2chi + 2 cosh 2chi s_beta),
        df/d alpha = (sqrt(c)/gamma0) cosh 2chi (1 + 2 s_alpha),
        df/d beta = (sqrt(c)/gamma0) (sinh 2chi + 2 cosh 2chi s_beta),

    integrated with ``chi`` by DOP853 (rtol 1e-10). At ``t = 0``, ``N Var f = c / gamma0^2``
    (the output's initial fluctuation, divergent as ``gamma0 -> 0``).

    Args:
        y: the target.
        gamma0: richness ``>= 1e-6`` (the variance grows like ``1 / gamma0^2``).
        t: increasing times starting at 0.
        q0: ``|x|^2 / D`` of the training input.
        W_std: ``(sigma_0, sigma_1)``.

    Returns:
        :class:`LinearMoments` with ``f`` (the DMFT, ``(T, 1)``) and ``f_variance``.

    Example:
        >>> r = single_point_variance(1.0, 1.0, [0.0, 1.0])
        >>> bool(abs(r.f_variance[0, 0] - 1.0) < 1e-12)        # c / gamma0^2 at t = 0
        True
    """
    y = checks.real("y", y, low=-_LARGE, high=_LARGE)
    gamma0 = checks.real("gamma0", gamma0, low=1e-6, high=_LARGE)     # N Var f ~ c / gamma0^2
    t = _check_times(t)
    q0 = checks.positive("q0", q0, high=_LARGE)
    s0, s1 = _w_std(W_std)
    c = s0 ** 2 * q0 * s1 ** 2
    rc = math.sqrt(c)
    checks.work("t", float(t[-1]) * c * (1.0 + gamma0 * abs(y)) ** 2 * 4, 1e7,
                what="integrator steps (t_max x NTK scale)")

    def rhs(_, v):
        chi, sa, sb = v
        ch, sh = math.cosh(2 * chi), math.sinh(2 * chi)
        return [gamma0 * rc * (y - rc * sh / gamma0), -c * ch * (1 + 2 * sa),
                -c * (sh + 2 * ch * sb)]

    sol = integrate.solve_ivp(rhs, (0.0, float(t[-1])), [0.0, 0.0, 0.0], t_eval=t,
                              method="DOP853", rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise ParameterError(f"gamma0: the flow could not be integrated ({sol.message})")
    chi, sa, sb = sol.y
    ch, sh = np.cosh(2 * chi), np.sinh(2 * chi)
    da = rc / gamma0 * ch * (1 + 2 * sa)
    db = rc / gamma0 * (sh + 2 * ch * sb)
    return LinearMoments(t=t, f=(rc * sh / gamma0)[:, None], f_variance=(da ** 2 + db ** 2)[:, None],
                         iterations=int(sol.nfev),
                         parameters={"y": y, "gamma0": gamma0, "q0": q0, "W_std": [s0, s1]})


def two_layer(x_train, y_train, gamma0, t, W_std=(1.0, 1.0)) -> LinearMoments:
    """``P`` training points, one hidden linear layer: the closed moment equations (module
    docstring), integrated by DOP853 at ``rtol = 1e-10``.

    Example:
        >>> r = two_layer([[1.0]], [1.0], 1.0, [0.0, 0.5])
        >>> bool(abs(r.f[1, 0] - single_point(1.0, 1.0, [0.0, 0.5]).f[1, 0]) < 1e-8)
        True
    """
    x, y = _check_inputs(x_train, y_train, None)
    gamma0 = checks.real("gamma0", gamma0, low=0.0, high=_LARGE)
    t = _check_times(t)
    s0, s1 = _w_std(W_std)
    P = y.size
    kx = s0 ** 2 * x @ x.T / x.shape[1]           # a Kx
    b = s1 ** 2
    # an explicit integrator takes ~ t_max x (largest NTK eigenvalue) steps; the NTK stays
    # below (tr aKx + P b) (1 + gamma0 max|y|)^2 along the flow
    rate = (np.trace(kx) + P * b) * (1.0 + gamma0 * float(np.max(np.abs(y)))) ** 2
    checks.work("t", float(t[-1]) * rate, 1e7, what="integrator steps (t_max x NTK scale)")
    g2 = gamma0 ** 2

    def rhs(_, v):
        f, phi, g = v[:P], v[P:P + P * P].reshape(P, P), v[-1]
        d = y - f
        kd = kx @ d
        dphi = g2 * (np.outer(kd, f) + np.outer(f, kd))
        return np.concatenate([g * kd + b * phi @ d, dphi.ravel(), [2 * g2 * b * d @ f]])

    v0 = np.concatenate([np.zeros(P), kx.ravel(), [b]])
    sol = integrate.solve_ivp(rhs, (0.0, float(t[-1])), v0, t_eval=t, method="DOP853",
                              rtol=1e-10, atol=1e-12)
    if not sol.success:
        raise ParameterError(f"gamma0: the moment equations could not be integrated "
                             f"({sol.message})")
    v = sol.y.T
    f, phi, g = v[:, :P], v[:, P:P + P * P].reshape(-1, P, P), v[:, -1]
    ntk = g[:, None, None] * kx[None] + b * phi
    return LinearMoments(t=t, f=f, Phi=phi, G=g, ntk=ntk, iterations=int(sol.nfev),
                         parameters={"gamma0": gamma0, "W_std": [s0, s1], "P": P})


def _exact_layer(sol):
    def layer(l, state, delta):
        cov_u, cov_r, mh, mz = sol.memories(l, state, delta)
        n = mh.shape[0]
        system = np.eye(2 * n)
        system[:n, n:] = -mh
        system[n:, :n] = -mz
        inv = np.linalg.inv(system)
        hu, hr, zu, zr = inv[:n, :n], inv[:n, n:], inv[n:, :n], inv[n:, n:]
        phi = hu @ cov_u @ hu.T + hr @ cov_r @ hr.T
        g = zu @ cov_u @ zu.T + zr @ cov_r @ zr.T
        return phi, g, hr, zu, None
    return layer


def _linear_lazy(sol):
    T, Q, s, L = sol.T, sol.Q, sol.mlp.W_std, sol.L
    tile = np.ones((T, T))
    phis, prev = [], sol.kx
    for l in range(L):
        prev = s[l] ** 2 * prev
        phis.append(np.kron(tile, prev))
    gs, nxt = [None] * L, np.ones((Q, Q))
    for l in reversed(range(L)):
        nxt = s[l + 1] ** 2 * nxt
        gs[l] = np.kron(tile, nxt)
    zero = np.zeros((T * Q, T * Q))
    return {"Phi": phis, "G": gs, "Rphi": [zero] * L, "Rg": [zero] * L}


def solve(net, x_train, y_train, gamma0, t, x_test=None, *, damping: float = 0.3,
          tol: float = 1e-10, max_iterations: int = 200, kernel_times=None,
          strict: bool = True) -> FeatureLearning:
    """The exact (sampling-free) DMFT of a deep linear network on the time grid ``t``.

    Same arguments and record as :func:`~nnphys.theory.dmft.feature_learning.solve` (stderr fields zero); every
    hidden activation must be ``Identity()``.

    Example:
        >>> from nnphys.models import network as nn
        >>> net = nn.Serial((nn.Dense(1), nn.Identity(), nn.Dense(1)))
        >>> r = solve(net, [[1.0]], [1.0], 1.0, np.linspace(0, 1, 101))
        >>> bool(abs(r.f_train[-1, 0] - single_point(1.0, 1.0, [1.0]).f[0, 0]) < 1e-4)
        True
    """
    mlp = _mlp_structure(net)
    if not all(isinstance(a, arch.Identity) for a in mlp.activations):
        raise ParameterError("net: deep_linear.solve needs Identity() activations; use "
                             "feature_learning.solve for nonlinear networks")
    x, y = _check_inputs(x_train, y_train, x_test)
    gamma0 = checks.real("gamma0", gamma0, low=0.0, high=_LARGE)
    t = _check_times(t)
    damping = checks.real("damping", damping, low=0.0, high=1.0, high_open=True)
    tol = checks.positive("tol", tol)
    max_iterations = checks.integer("max_iterations", max_iterations, low=1)
    keep = _thin(t.size, kernel_times)
    checks.work("t", float(2 * t.size * x.shape[0]) ** 3 * mlp.depth, checks.WORK_LIMIT,
                what="operations per iteration ((2 T (P + M))^3 depth)")
    sol = _Solver(mlp, x @ x.T / x.shape[1], y, t, gamma0, 1, 1.0, 0)
    state, f, _, converged, it, residual = _fixed_point(
        sol, _linear_lazy(sol), _exact_layer(sol), damping, tol, max_iterations, strict)
    params = {"net": repr(net), "gamma0": gamma0, "damping": damping, "tol": tol,
              "P": y.size, "M": x.shape[0] - y.size, "depth": mlp.depth}
    return _record(sol, state, f, keep, None, params, converged, it, residual)
