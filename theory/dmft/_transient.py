"""Time-domain (non-stationary) DMFT of random rate networks: two-time correlation C(t, s).

Model (Sompolinsky, Crisanti & Sommers 1988; non-stationary form as in Engelken, Wolf &
Abbott, arXiv:2006.02427, Sec. 2, and Crisanti & Sompolinsky, arXiv:1809.06042, Eq. 14)::

    dx/dt = -x + eta(t) + I(t) + xi(t),   <eta(t) eta(s)> = g^2 C_phi(t, s),
    <xi(t) xi(s)> = sigma^2 delta(t - s),   x(0) ~ N(mu0, sigma0^2),
    C_phi(t, s) = E[phi(x(t)) phi(x(s))],

with ``I`` a common (deterministic) input. ``x`` is Gaussian with mean ``m(t)``,
``m' = -m + I``, and covariance (the solution of ``(1 + d_t)(1 + d_s) Delta = g^2 C_phi +
sigma^2 delta``)::

    Delta(t, s) = sigma0^2 e^{-(t+s)} + (sigma^2/2)(e^{-|t-s|} - e^{-(t+s)})
                  + g^2 int_0^t du int_0^s dv e^{-(t-u)-(s-v)} C_phi(u, v).

**Algorithm.** On the grid ``t_k = k h`` the double integral ``Y`` is the product
trapezoidal rule with exponential weights, computed row by row by the exact recursions
(``E = e^{-h}``)::

    Z_{i,l+1} = E Z_{i,l} + (h/2)(E C_{i,l} + C_{i,l+1}),      Z_{i,0} = 0,
    Y_{k+1,l} = E Y_{k,l} + g^2 (h/2)(E Z_{k,l} + Z_{k+1,l}),   Y_{0,l} = 0,

(the diagonal entry from ``Y_{k+1,k+1} = E Y_{k+1,k} + g^2 (h/2)(E Z_{k,k+1} + Z_{k+1,k+1})``
by symmetry). Row ``k+1`` of ``C_phi`` depends on row ``k+1`` of ``Delta`` (through the new
variance ``Delta_{k+1,k+1}``), so each row is a predictor-corrector step: predict
``C_{k+1,l+1} = C_{k,l}`` (time-translation, exact in a stationary state), evaluate
``Delta``, then ``corrector_steps`` times re-evaluate ``C`` from ``Delta`` and ``Delta`` from
``C`` (PECE for 1). The global error is ``O(h^2)``. Gaussian two-point functions use a
trapezoidal rule on ``|z| <= 6.5`` with step matched to the largest variance (error ~1e-6 for
tanh, measured against mpmath, far below the O(dt^2) error of the time stepping; a steeper
``Erf(b)`` gets a proportionally finer step; :func:`nnphys.theory.gaussian.normal_rule`),
compiled for ``Tanh()`` and ``Erf(a, b)``, numpy for any other activation layer. Memory ``O(n^2)``: two ``(n+1)^2``
float64 arrays. A fixed number of corrector passes is not an iteration to a tolerance:
``converged`` is ``None``; ``iterations`` counts the row evaluations and ``residual`` is the
largest change of ``Delta`` in the last corrector pass of any row (measured).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import signal

from ... import checks
from ...errors import NumericalError, ParameterError
from ...models.rnn import RateNetwork, rate_network
from ...results import Result
from .. import gaussian
from . import _pair_kernels
from ._activation import scs_activation

__all__ = ["Transient", "solve"]

_Z_MAX = 6.5          # Gaussian tail beyond 6.5 sigma: 8e-11
_RATIO = 0.4          # trapezoid error ~exp(-2 pi / 0.4) ~ 2e-7 nominal, ~1e-6 measured (tanh)
_HEADROOM = 1.2       # rebuild the rule when a variance exceeds the design value


@dataclasses.dataclass(frozen=True)
class Transient(Result):
    """Two-time DMFT solution on ``t = 0, dt, ..., t_max``.

    Attributes:
        t: time grid (n+1). ``delta``: ``Delta(t_k, t_l) = Cov(x(t_k), x(t_l))`` (n+1, n+1).
        c_phi: ``C_phi(t_k, t_l) = E[phi(x(t_k)) phi(x(t_l))]``. ``mean``: ``m(t_k)``.
        residual: largest change of ``Delta`` in the last corrector pass of any row.
    """

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    delta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    c_phi: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    mean: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def lag_profile(self, t0: float, max_lag: float) -> tuple[np.ndarray, np.ndarray]:
        """``(tau, Delta(t0 + tau, t0))`` for ``0 <= tau <= max_lag`` (grid points)."""
        h = self.t[1] - self.t[0]
        k0 = int(round(t0 / h))
        k1 = min(self.t.size - 1, k0 + int(round(max_lag / h)))
        if k0 < 0 or k0 >= self.t.size:
            raise ParameterError(f"t0: must lie in [0, {self.t[-1]}], got {t0}")
        return self.t[k0:k1 + 1] - self.t[k0], self.delta[k0:k1 + 1, k0]


def _input_values(inp, t):
    """``I(t_k)`` on the grid from the spec's input (``None``, a number or a callable)."""
    if inp is None:
        return np.zeros_like(t)
    values = np.asarray(inp(t) if callable(inp) else inp, dtype=float)
    if values.shape == ():
        values = np.full_like(t, float(values))
    if values.shape != t.shape or not np.all(np.isfinite(values)):
        raise ParameterError(f"input: a callable I(t) must return {t.size} finite values on "
                             "the time grid")
    return values


class _PairRow:
    """``C_phi`` rows: compiled for the kinds :func:`._activation.scs_activation` derives
    (tanh, a erf(b x)), numpy product rule otherwise; the quadrature rule is rebuilt when the
    variances outgrow it."""

    def __init__(self, act):
        self.act = act
        self.kind = act.kind
        self.amp, self.slope = act.erf if act.erf is not None else (1.0, 1.0)
        self.design = 0.0
        self.rule = None

    def __call__(self, q_row, m_row, q, m, c):
        top = max(q_row, float(q.max()))
        if self.rule is None or top > self.design:
            self.design = _HEADROOM * max(top, 1e-3)
            self.rule = gaussian.normal_rule(self.act.scale * math.sqrt(self.design),
                                             z_max=_Z_MAX, ratio=_RATIO)
        z, w = self.rule
        if self.kind is not None:
            out = np.empty(c.size)
            _pair_kernels.pair_row(self.kind, self.amp, self.slope, q_row, m_row,
                                   np.ascontiguousarray(q),
                                   np.ascontiguousarray(m), np.ascontiguousarray(c), z, w, out)
            return out
        return gaussian.expect_pair(self.act.phi, self.act.phi, q_row, q, c, rule=self.rule,
                                  m1=m_row, m2=m)


def solve(network: RateNetwork | float, t_max: float, dt: float, *, noise: float | None = None,
          activation=None, input=None, x0_variance: float = 1.0, x0_mean: float = 0.0,
          corrector_steps: int = 1) -> Transient:
    """Solve the non-stationary SCS DMFT for ``Delta(t, s)`` on a ``(n+1) x (n+1)`` grid.

    Args:
        network: a :class:`~nnphys.models.rnn.RateNetwork` (its ``N`` is ignored: this is
            the ``N -> infinity`` theory), or the coupling strength ``g``.
        t_max, dt: horizon and step (``n = round(t_max/dt)``, at most 20000; ``dt <= 0.5``).
        noise, activation, input: convenience fields of the spec (white-noise strength
            ``sigma^2``; an activation layer, ``Tanh()`` by default, compiled for ``Tanh()``
            and ``Erf(a, b)``; the common input ``I(t)``, a number or a callable of the time
            array); given with a spec, they replace its values.
        x0_variance, x0_mean: the Gaussian initial condition of every ``x_i``.
        corrector_steps: corrector passes per row (1 = PECE, error O(dt^2)).

    Returns:
        :class:`Transient` (``converged = None``: a fixed number of passes; ``iterations`` =
        row evaluations; ``residual`` = largest last-pass change of ``Delta``).

    Raises:
        ParameterError: a bad argument (named). NumericalError: ``Delta`` left the floats
            (e.g. an unbounded ``phi`` with a large ``g``).

    Example:
        >>> from nnphys.models.network import Identity
        >>> r = solve(0.5, 20.0, 0.05, noise=1.0, activation=Identity(), x0_variance=0.0)
        >>> k = 1.0 - 0.25                  # linear network: Delta0 = sigma^2 / (2 sqrt(1-g^2))
        >>> bool(abs(r.delta[-1, -1] - 1.0 / (2 * k ** 0.5)) < 1e-3)
        True
    """
    spec = rate_network(network, activation=activation, noise=noise, input=input)
    g, noise = spec.g, spec.noise
    t_max, dt = checks.positive("t_max", t_max), checks.positive("dt", dt)
    x0_variance = checks.positive("x0_variance", x0_variance, allow_zero=True)
    x0_mean = checks.real("x0_mean", x0_mean)
    n = int(round(t_max / dt))
    if n < 1 or n > 20000:
        raise ParameterError(f"t_max/dt: the grid needs 1..20000 steps, got {n}")
    if dt > 0.5:
        raise ParameterError(f"dt: must be <= 0.5 (the relaxation time is 1), got {dt}")
    corrector_steps = checks.integer("corrector_steps", corrector_steps, low=1, high=20)
    act = scs_activation(spec.activation)
    pair = _PairRow(act)
    t = np.arange(n + 1) * dt
    inp = _input_values(spec.input, t)
    decay = math.exp(-dt)
    mean = np.empty(n + 1)
    mean[0] = x0_mean
    for k in range(n):
        mean[k + 1] = decay * mean[k] + 0.5 * dt * (decay * inp[k] + inp[k + 1])

    delta = np.zeros((n + 1, n + 1))
    cphi = np.zeros((n + 1, n + 1))
    delta[0, 0] = x0_variance
    cphi[0, :1] = pair(x0_variance, mean[0], delta[:1, 0].copy(), mean[:1], delta[:1, 0].copy())
    y_prev = np.zeros(n + 1)            # Y_{k, l}
    z_prev = np.zeros(n + 1)            # Z_{k, l}, l <= k
    g2h = 0.5 * g * g * dt
    worst = 0.0
    with np.errstate(over="raise", invalid="raise"):
        for k in range(n):
            kk = k + 1
            tl = t[:kk + 1]
            base = x0_variance * np.exp(-(t[kk] + tl)) + \
                0.5 * noise * (np.exp(-(t[kk] - tl)) - np.exp(-(t[kk] + tl)))
            row = np.empty(kk + 1)                    # predictor: C_{k+1, l+1} = C_{k, l}
            row[1:] = cphi[k, :kk]
            row[0] = cphi[k, 0] if k > 0 else cphi[0, 0]
            change = 0.0
            new = None
            for sweep in range(corrector_steps + 1):
                d_row = base + _y_row(row, y_prev, z_prev, cphi[k, k], decay, dt, g2h, kk)
                if new is not None:
                    change = float(np.max(np.abs(d_row - new)))
                new = d_row
                if not np.all(np.isfinite(d_row)):
                    raise NumericalError(f"solve: Delta is not finite at t = {t[kk]:.3g} "
                                         f"(g={g}, activation={act.name})")
                q = np.append(np.diag(delta)[:kk], d_row[kk])
                row = pair(d_row[kk], mean[kk], q, mean[:kk + 1], d_row)
            worst = max(worst, change)
            delta[kk, :kk + 1] = new
            delta[:kk + 1, kk] = new
            cphi[kk, :kk + 1] = row
            cphi[:kk + 1, kk] = row
            y_new = _y_row(row, y_prev, z_prev, cphi[k, k], decay, dt, g2h, kk)
            z_prev = _z_row(row, decay, dt, n)
            y_prev = np.zeros(n + 1)
            y_prev[:kk + 1] = y_new
    return Transient(converged=None, iterations=n * (corrector_steps + 1), residual=worst,
                     parameters={**spec.describe(), "t_max": t_max, "dt": dt,
                                 "x0_variance": x0_variance, "x0_mean": x0_mean,
                                 "corrector_steps": corrector_steps},
                     t=t, delta=delta, c_phi=cphi, mean=mean)


def _z_row(c_row, decay, dt, n):
    """``Z_{i, l}`` for ``l = 0..len(c_row)-1`` (exponential trapezoid of the row), padded."""
    z = np.zeros(n + 1)
    incr = 0.5 * dt * (decay * c_row[:-1] + c_row[1:])
    z[1:c_row.size] = signal.lfilter([1.0], [1.0, -decay], incr)
    return z


def _y_row(c_row, y_prev, z_prev, c_prev_diag, decay, dt, g2h, kk):
    """``Y_{kk, l}``, ``l = 0..kk``, from the new ``C`` row and row ``kk-1`` of ``Y`` and ``Z``."""
    z_new = _z_row(c_row, decay, dt, kk)
    y = np.empty(kk + 1)
    y[:kk] = decay * y_prev[:kk] + g2h * (decay * z_prev[:kk] + z_new[:kk])
    # Z_{kk-1, kk} = E Z_{kk-1, kk-1} + (h/2)(E C_{kk-1, kk-1} + C_{kk-1, kk}), C_{kk-1,kk} = row[kk-1]
    z_side = decay * z_prev[kk - 1] + 0.5 * dt * (decay * c_prev_diag + c_row[kk - 1])
    y[kk] = decay * y[kk - 1] + g2h * (decay * z_side + z_new[kk])
    return y
