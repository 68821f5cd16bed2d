"""Simulation of random rate networks (Sompolinsky, Crisanti & Sommers 1988).

    dx_i/dt = -x_i + sum_j J_ij tanh(x_j) + xi_i(t),   J_ij ~ N(0, g^2/N),

with optional white noise ``<xi_i(t) xi_j(s)> = sigma^2 delta_ij delta(t-s)``. ``K``
trajectories (independent initial conditions, same ``J``) advance together as an ``(N, K)``
block, so every recurrent input is one BLAS product ``J @ tanh(X)`` that streams ``J`` from
memory once: at ``N >= 2000`` a step costs about ``N^2 * itemsize / bandwidth`` (see
``benchmarks/bench_rnn.py``); ``dtype=np.float32`` halves it.

Integrators: ``"euler"`` (``x <- (1-dt) x + dt J tanh(x)``: the Euler map, whose stationary
statistics differ from the flow by O(dt), 2-8% at dt = 0.05, lag >= 5) and ``"rk4"``
(classical Runge-Kutta, four products per step, error O(dt^4)). Noise is added as the exact
increment ``sqrt(sigma^2 dt) N(0, 1)`` after each deterministic step (strong order 1/2).

Observables:
- :func:`autocorrelation`: ``Delta(tau) = (1/N) sum_i <x_i(t) x_i(t + tau)>_t`` (no mean
  subtraction, as in the DMFT), FFT estimator per time window; the error bar is the
  standard error over windows x trajectories.
- :func:`lyapunov`: the largest Lyapunov exponent by the tangent-space method of Benettin,
  Galgani, Giorgilli & Strelcyn, Meccanica 15, 9 (1980): the tangent vector
  ``u' = -u + J (tanh'(x) u)`` integrated with the state (RK4, one two-column product per
  stage), renormalised every ``renorm_every`` steps; error bar from block averages.

Finite networks can settle on fixed points or limit cycles instead of chaos (seen at
N = 1000); :attr:`Trajectory.q_static` ``= mean_i <x_i>_t^2`` flags them (``q_static`` of order
``Delta0`` means frozen).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..errors import NumericalError, ParameterError
from ..results import Result
from . import _rnn

__all__ = ["coupling", "Trajectory", "simulate", "Autocorrelation", "autocorrelation",
           "LyapunovEstimate", "lyapunov"]

_METHODS = ("euler", "rk4")


def coupling(n: int, g: float, seed=None, dtype=np.float64) -> np.ndarray:
    """``J`` with iid ``N(0, g^2/n)`` entries, C-contiguous, of ``dtype``. The float64 draws
    are made in row blocks and cast, so float32 and float64 couplings of one seed agree."""
    _check_size(n)
    rng = np.random.default_rng(seed)
    J = np.empty((n, n), dtype=dtype)
    scale = g / math.sqrt(n)
    block = max(1, 2 ** 22 // n)
    for start in range(0, n, block):
        stop = min(n, start + block)
        J[start:stop] = scale * rng.standard_normal((stop - start, n))
    return J


def _check_size(n):
    if not (isinstance(n, (int, np.integer)) and 2 <= n <= 50000):
        raise ParameterError(f"n: must be an integer in [2, 50000], got {n!r}")


def _check_positive(name, value, allow_zero=False):
    if not (isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)
            and (value >= 0 if allow_zero else value > 0)):
        raise ParameterError(f"{name}: must be a finite {'non-negative' if allow_zero else 'positive'}"
                             f" number, got {value!r}")
    return float(value)


class _Integrator:
    """Buffers and one step of Euler or RK4 for an ``(N, K)`` block."""

    def __init__(self, J, k, method, dt):
        n = J.shape[0]
        self.J, self.dt, self.method = J, dt, method
        dtype = J.dtype
        self.phi = np.empty((n, k), dtype)
        self.field = np.empty((n, k), dtype)
        if method == "rk4":
            self.slopes = [np.empty((n, k), dtype) for _ in range(4)]
            self.state = np.empty((n, k), dtype)

    def start(self, x):
        _rnn.tanh_into(x, self.phi)

    def step(self, x):
        """Advance ``x`` in place by one step; ``self.phi`` ends as ``tanh(x)``."""
        J, dt = self.J, self.dt
        if self.method == "euler":
            np.matmul(J, self.phi, out=self.field)
            _rnn.euler_update(x, self.field, dt, self.phi)
            return
        k1, k2, k3, k4 = self.slopes
        np.matmul(J, self.phi, out=self.field)
        _rnn.derivative(x, self.field, k1)
        for slope_in, slope_out, frac in ((k1, k2, 0.5), (k2, k3, 0.5), (k3, k4, 1.0)):
            _rnn.stage(x, slope_in, frac * dt, self.state, self.phi)
            np.matmul(J, self.phi, out=self.field)
            _rnn.derivative(self.state, self.field, slope_out)
        _rnn.rk4_combine(x, k1, k2, k3, k4, dt)
        _rnn.tanh_into(x, self.phi)


@dataclasses.dataclass(frozen=True)
class Trajectory(Result):
    """Recorded activity: ``x[k, s, i]`` of trajectory ``k`` at time ``t[s]`` for recorded
    neuron ``i`` (the first ``n_record`` neurons), after the transient."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    x: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    n: int = 0
    g: float = 0.0
    dt: float = 0.0
    method: str = "rk4"
    q_static: float = 0.0


def simulate(g: float, n: int, t_max: float, dt: float = 0.05, *, method: str = "rk4",
             n_traj: int = 1, transient: float = 100.0, record_every: int = 1,
             n_record: int | None = None, noise: float = 0.0, x0_std: float = 1.0, seed=None,
             J: np.ndarray | None = None, dtype=np.float64) -> Trajectory:
    """Integrate ``n_traj`` trajectories of one network for ``transient + t_max``.

    Args:
        g, n: coupling strength and size (``J`` drawn from ``seed`` unless given).
        t_max: recorded duration after ``transient``; ``dt``: step.
        method: ``"euler"`` or ``"rk4"``.
        n_traj: trajectories (initial conditions ``x_i(0) ~ N(0, x0_std^2)``).
        record_every: record every this many steps; ``n_record``: neurons recorded
            (default all, at most 2000).
        noise: white-noise strength ``sigma^2``.
        seed: seeds ``J`` (first draw), initial conditions and noise.
        dtype: ``np.float64`` or ``np.float32`` (halves the memory traffic of ``J``).

    Raises:
        ParameterError: bad argument. NumericalError: the state left the floats.
    """
    g = _check_positive("g", g, allow_zero=True)
    t_max, dt = _check_positive("t_max", t_max), _check_positive("dt", dt)
    transient = _check_positive("transient", transient, allow_zero=True)
    noise = _check_positive("noise", noise, allow_zero=True)
    if method not in _METHODS:
        raise ParameterError(f"method: must be one of {_METHODS}, got {method!r}")
    if dt > 0.5:
        raise ParameterError(f"dt: must be <= 0.5, got {dt}")
    if dtype not in (np.float64, np.float32):
        raise ParameterError(f"dtype: must be np.float64 or np.float32, got {dtype!r}")
    if not (isinstance(n_traj, (int, np.integer)) and 1 <= n_traj <= 256):
        raise ParameterError(f"n_traj: must be an integer in [1, 256], got {n_traj!r}")
    if not (isinstance(record_every, (int, np.integer)) and record_every >= 1):
        raise ParameterError(f"record_every: must be a positive integer, got {record_every!r}")
    rng = np.random.default_rng(seed)
    if J is None:
        _check_size(n)
        J = coupling(n, g, rng, dtype)
    elif J.shape != (n, n) or J.dtype != dtype:
        raise ParameterError(f"J: must be a ({n}, {n}) array of {np.dtype(dtype).name}")
    n_record = min(n, 2000) if n_record is None else int(n_record)
    if not 1 <= n_record <= n:
        raise ParameterError(f"n_record: must be in [1, {n}], got {n_record}")
    x = (x0_std * rng.standard_normal((n, n_traj))).astype(dtype)
    integ = _Integrator(np.ascontiguousarray(J), n_traj, method, dt)
    integ.start(x)
    n_skip = int(round(transient / dt))
    n_steps = int(round(t_max / dt))
    n_rec = n_steps // record_every + 1
    out = np.empty((n_traj, n_rec, n_record))
    amp = math.sqrt(noise * dt)
    for step in range(n_skip + n_steps + 1):
        if step >= n_skip and (step - n_skip) % record_every == 0:
            out[:, (step - n_skip) // record_every, :] = x[:n_record].T
        if step == n_skip + n_steps:
            break
        integ.step(x)
        if amp > 0:
            x += (amp * rng.standard_normal(x.shape)).astype(dtype)
            _rnn.tanh_into(x, integ.phi)
    if not np.all(np.isfinite(out)):
        raise NumericalError("simulate: the state is not finite (reduce dt)")
    q_static = float(np.mean(out.mean(axis=1) ** 2))
    return Trajectory(converged=True, iterations=n_skip + n_steps, residual=float("nan"),
                      parameters={"g": g, "n": int(n), "t_max": t_max, "dt": dt, "method": method,
                                  "n_traj": int(n_traj), "transient": transient, "noise": noise,
                                  "dtype": np.dtype(dtype).name},
                      t=np.arange(n_rec) * dt * record_every, x=out, n=int(n), g=g, dt=dt,
                      method=method, q_static=q_static)


@dataclasses.dataclass(frozen=True)
class Autocorrelation(Result):
    """``delta[j] = Delta(tau[j])`` with standard error ``stderr`` over ``n_samples``
    windows x trajectories."""

    tau: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    delta: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    stderr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    n_samples: int = 0


def _window_autocorrelation(x: np.ndarray, n_lag: int) -> np.ndarray:
    """``(1/(T - s)) sum_t x(t) x(t + s)`` averaged over columns, for ``s < n_lag``
    (zero-padded FFT, no mean subtraction); ``x`` is ``(T, n_neurons)``."""
    t_len = x.shape[0]
    size = 1 << int(math.ceil(math.log2(2 * t_len)))
    spec = np.fft.rfft(x, n=size, axis=0)
    acf = np.fft.irfft((spec * spec.conj()).real.mean(axis=1), n=size)[:n_lag]
    return acf / (t_len - np.arange(n_lag))


def autocorrelation(traj: Trajectory, max_lag: float, n_windows: int = 4) -> Autocorrelation:
    """Population autocorrelation ``Delta(tau)`` for ``0 <= tau <= max_lag``.

    Each trajectory is cut into ``n_windows`` windows; the estimate is the mean over all
    windows x trajectories and ``stderr`` their standard deviation / sqrt(count) (windows
    much longer than the correlation time are nearly independent).
    """
    step = traj.t[1] - traj.t[0]
    n_lag = int(round(max_lag / step)) + 1
    length = traj.t.size // n_windows
    if n_windows < 1 or length < 2 * n_lag:
        raise ParameterError(f"max_lag: windows of {length * step:.3g} time units must be at "
                             f"least twice max_lag = {max_lag}")
    curves = np.array([_window_autocorrelation(traj.x[k, w * length:(w + 1) * length], n_lag)
                       for k in range(traj.x.shape[0]) for w in range(n_windows)])
    count = curves.shape[0]
    stderr = curves.std(axis=0, ddof=1) / math.sqrt(count) if count > 1 else np.full(n_lag, np.nan)
    return Autocorrelation(converged=True, iterations=count, residual=float("nan"),
                           parameters={"max_lag": float(max_lag), "n_windows": int(n_windows)},
                           tau=np.arange(n_lag) * step, delta=curves.mean(axis=0), stderr=stderr,
                           n_samples=count)


@dataclasses.dataclass(frozen=True)
class LyapunovEstimate(Result):
    """Largest Lyapunov exponent ``value +- stderr`` (``n_blocks`` block averages)."""

    value: float = 0.0
    stderr: float = 0.0
    n_blocks: int = 0
    blocks: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def lyapunov(g: float, n: int, t_max: float, dt: float = 0.05, *, transient: float = 100.0,
             renorm_every: int = 10, n_blocks: int = 10, seed=None, J: np.ndarray | None = None,
             dtype=np.float64) -> LyapunovEstimate:
    """Largest Lyapunov exponent by the Benettin tangent-space method (RK4 for the joint
    state/tangent system; the tangent vector is renormalised every ``renorm_every`` steps and
    the log growth is averaged over ``t_max`` after ``transient``)."""
    g = _check_positive("g", g, allow_zero=True)
    t_max, dt = _check_positive("t_max", t_max), _check_positive("dt", dt)
    if dt > 0.5:
        raise ParameterError(f"dt: must be <= 0.5, got {dt}")
    rng = np.random.default_rng(seed)
    if J is None:
        _check_size(n)
        J = coupling(n, g, rng, dtype)
    J = np.ascontiguousarray(J)
    n = J.shape[0]
    x = rng.standard_normal(n).astype(J.dtype)
    u = rng.standard_normal(n).astype(J.dtype)
    u /= np.linalg.norm(u)
    bufs = [np.zeros(n, J.dtype) for _ in range(10)]
    drive = np.empty((n, 2), J.dtype)
    field = np.empty((n, 2), J.dtype)
    n_skip = int(round(transient / dt))
    n_steps = int(round(t_max / dt))
    n_renorm = n_steps // renorm_every
    if n_renorm < n_blocks:
        raise ParameterError(f"t_max: too short for {n_blocks} blocks of renormalisations")
    logs = np.empty(n_renorm)
    for step in range(n_skip + n_renorm * renorm_every):
        _joint_rk4_step(J, x, u, dt, bufs, drive, field)
        if step >= n_skip and (step - n_skip + 1) % renorm_every == 0:
            norm = float(np.linalg.norm(u))
            if not (norm > 0 and math.isfinite(norm)):
                raise NumericalError("lyapunov: the tangent vector left the floats")
            logs[(step - n_skip + 1) // renorm_every - 1] = math.log(norm)
            u /= norm
        elif step < n_skip and step % renorm_every == 0:
            u /= np.linalg.norm(u)
    per_block = n_renorm // n_blocks
    block_t = per_block * renorm_every * dt
    blocks = logs[:per_block * n_blocks].reshape(n_blocks, per_block).sum(axis=1) / block_t
    return LyapunovEstimate(converged=True, iterations=n_skip + n_renorm * renorm_every,
                            residual=float("nan"),
                            parameters={"g": g, "n": int(n), "t_max": t_max, "dt": dt,
                                        "renorm_every": int(renorm_every)},
                            value=float(logs.sum() / (n_renorm * renorm_every * dt)),
                            stderr=float(blocks.std(ddof=1) / math.sqrt(n_blocks)),
                            n_blocks=int(n_blocks), blocks=blocks)


def _joint_rk4_step(J, x, u, dt, bufs, drive, field):
    """One RK4 step of ``x' = -x + J tanh(x)``, ``u' = -u + J (tanh'(x) u)`` in place."""
    sx, su, yx, yu = bufs[:4], bufs[4:8], bufs[8], bufs[9]
    for index, frac in enumerate((0.0, 0.5, 0.5, 1.0)):
        prev = max(index - 1, 0)                 # stage 0 ignores the slope (step 0)
        _rnn.tangent_stage(x, u, sx[prev], su[prev], frac * dt, yx, yu, drive)
        np.matmul(J, drive, out=field)
        np.subtract(field[:, 0], yx, out=sx[index])
        np.subtract(field[:, 1], yu, out=su[index])
    for state, slopes in ((x, sx), (u, su)):
        _rnn.rk4_combine(state[:, None], *(k[:, None] for k in slopes), dt)
