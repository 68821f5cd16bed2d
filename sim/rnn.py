"""Simulation of random rate networks (Sompolinsky, Crisanti & Sommers 1988).

    dx_i/dt = -x_i + sum_j J_ij phi(x_j) + I(t) + xi_i(t),   J_ij ~ N(0, g^2/N),

the network of :class:`nnphys.models.rnn.RateNetwork` (``phi = tanh`` by default), with
optional white noise ``<xi_i(t) xi_j(s)> = sigma^2 delta_ij delta(t-s)`` and a common input
``I``. ``K`` replicas (independent initial conditions, same ``J``) advance together as an
``(N, K)`` block, so every recurrent input is one BLAS product ``J @ phi(X)`` that streams
``J`` from memory once: at ``N >= 2000`` a step costs about ``N^2 * itemsize / bandwidth``
(see ``benchmarks/bench_rnn.py``); ``dtype=np.float32`` halves it. The elementwise work is
compiled (:mod:`._rnn`) for ``Tanh()``; any other activation layer runs the same integrator
with its numpy ``fn`` / ``fn_prime``.

Integrators: ``"euler"`` (``x <- (1-dt) x + dt (J phi(x) + I)``: the Euler map, whose
stationary statistics differ from the flow by O(dt), 2-8% at dt = 0.05, lag >= 5) and
``"rk4"`` (classical Runge-Kutta, four products per step, error O(dt^4)). Noise is added as
the exact increment ``sqrt(sigma^2 dt) N(0, 1)`` after each deterministic step (strong
order 1/2).

Observables (each an :class:`~nnphys.stats.Estimate` with its standard error):

- :func:`autocorrelation`: ``Delta(tau) = (1/N) sum_i <x_i(t) x_i(t + tau)>_t`` (no mean
  subtraction, as in the DMFT), FFT estimator per time window; the error is the standard
  error over windows x replicas (:func:`nnphys.stats.sample_mean`: windows much longer than
  the correlation time are nearly independent).
- :func:`equal_time_variance`: ``(1/N) sum_i x_i(t)^2`` at each recorded time, with the
  standard error over replicas.
- :func:`lyapunov`: the largest Lyapunov exponent by the tangent-space method of Benettin,
  Galgani, Giorgilli & Strelcyn, Meccanica 15, 9 (1980): the tangent vector
  ``u' = -u + J (phi'(x) u)`` integrated with the state (RK4, one two-column product per
  stage), renormalised every ``renorm_every`` steps; the error from batch means of the
  log-growth rates (:func:`nnphys.stats.batch_means`).

Finite networks can settle on fixed points or limit cycles instead of chaos (seen at
N = 1000); :attr:`Trajectory.q_static` ``= mean_i <x_i>_t^2`` flags them (``q_static`` of order
``Delta0`` means frozen). Simulations report no solver health: ``converged``,
``iterations`` and ``residual`` stay ``None``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, NumericalError, ParameterError
from ..models.network import as_rng
from ..models.rnn import RateNetwork, is_tanh, rate_network
from ..results import Result
from ..stats import Estimate, batch_means, sample_mean
from . import _rnn

__all__ = ["RateNetwork", "coupling", "Trajectory", "simulate", "Autocorrelation",
           "autocorrelation", "EqualTimeVariance", "equal_time_variance", "lyapunov"]

_METHODS = ("euler", "rk4")
_MAX_N = 50000


def coupling(N: int, g: float, seed=None, dtype=np.float64) -> np.ndarray:
    """``J`` with iid ``N(0, g^2/N)`` entries, C-contiguous, of ``dtype``. The float64 draws
    are made in row blocks and cast, so float32 and float64 couplings of one seed agree."""
    N = checks.integer("N", N, low=2, high=_MAX_N)
    checks.work("N", float(N) * N, checks.MEMORY_LIMIT, what="coupling entries N^2")
    g = checks.positive("g", g, allow_zero=True)
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise ArgumentTypeError(f"dtype: must be float32 or float64, got {dtype!r}") from None
    checks.one_of("dtype", dtype, (np.dtype(np.float32), np.dtype(np.float64)))
    rng = as_rng(seed)
    J = np.empty((N, N), dtype=dtype)
    scale = g / math.sqrt(N)
    block = max(1, 2 ** 22 // N)
    for start in range(0, N, block):
        stop = min(N, start + block)
        J[start:stop] = scale * rng.standard_normal((stop - start, N))
    return J


class _NumpyPhi:
    """The elementwise stages of :mod:`._rnn` for any activation layer, in numpy."""

    def __init__(self, layer):
        self.fn, self.fn_prime = layer.fn, layer.fn_prime

    def phi_into(self, x, out):
        out[...] = self.fn(x)

    def stage(self, x, slope, step, out_state, out_phi):
        np.add(x, step * slope, out=out_state)
        out_phi[...] = self.fn(out_state)

    def euler_update(self, x, field, dt, out_phi):
        x *= 1.0 - dt
        x += dt * field
        out_phi[...] = self.fn(x)

    def tangent_stage(self, x, u, sx, su, step, out_x, out_u, out_drive):
        np.add(x, step * sx, out=out_x)
        np.add(u, step * su, out=out_u)
        out_drive[:, 0] = self.fn(out_x)
        out_drive[:, 1] = self.fn_prime(out_x) * out_u


class _TanhPhi:
    """The compiled stages of :mod:`._rnn` (tanh)."""

    phi_into = staticmethod(_rnn.tanh_into)
    stage = staticmethod(_rnn.stage)
    euler_update = staticmethod(_rnn.euler_update)
    tangent_stage = staticmethod(_rnn.tangent_stage)


def _elementwise(layer):
    if is_tanh(layer):
        return _TanhPhi()
    try:
        layer.fn_prime(np.zeros(1))
    except ValueError:
        raise ParameterError(f"activation: {layer!r} needs fn_prime for the simulation "
                             "(Elementwise(fn, fn_prime))") from None
    return _NumpyPhi(layer)


def _input_function(inp):
    """``I(t)`` as a callable of the time, or ``None``."""
    if inp is None or callable(inp):
        return inp
    return lambda t, value=float(inp): value


class _Integrator:
    """Buffers and one step of Euler or RK4 for an ``(N, K)`` block."""

    def __init__(self, J, k, method, dt, elementwise, inp):
        n = J.shape[0]
        self.J, self.dt, self.method, self.ew, self.inp = J, dt, method, elementwise, inp
        dtype = J.dtype
        self.phi = np.empty((n, k), dtype)
        self.field = np.empty((n, k), dtype)
        if method == "rk4":
            self.slopes = [np.empty((n, k), dtype) for _ in range(4)]
            self.state = np.empty((n, k), dtype)

    def start(self, x):
        self.ew.phi_into(x, self.phi)

    def _field(self, t):
        np.matmul(self.J, self.phi, out=self.field)
        if self.inp is not None:
            self.field += self.inp(t)

    def step(self, x, t):
        """Advance ``x`` in place from time ``t`` by one step; ``self.phi`` ends as ``phi(x)``."""
        dt, ew = self.dt, self.ew
        if self.method == "euler":
            self._field(t)
            ew.euler_update(x, self.field, dt, self.phi)
            return
        k1, k2, k3, k4 = self.slopes
        self._field(t)
        _rnn.derivative(x, self.field, k1)
        for slope_in, slope_out, frac in ((k1, k2, 0.5), (k2, k3, 0.5), (k3, k4, 1.0)):
            ew.stage(x, slope_in, frac * dt, self.state, self.phi)
            self._field(t + frac * dt)
            _rnn.derivative(self.state, self.field, slope_out)
        _rnn.rk4_combine(x, k1, k2, k3, k4, dt)
        ew.phi_into(x, self.phi)


def _network(network, N, J, **fields) -> RateNetwork:
    """The spec with its size: from ``N``, the spec, or the given coupling ``J``."""
    spec = rate_network(network, N=N, **fields)
    if J is not None:
        if not isinstance(J, np.ndarray) or J.ndim != 2 or J.shape[0] != J.shape[1]:
            raise ParameterError("J: must be a square numpy array")
        if spec.N is None:
            spec = dataclasses.replace(spec, N=J.shape[0])
        if J.shape != (spec.N, spec.N):
            raise ParameterError(f"J: must be ({spec.N}, {spec.N}), got {J.shape}")
    if spec.N is None:
        raise ParameterError("N: the simulated network needs a size (N=..., in the spec, or "
                             "a coupling J)")
    return spec


def _check_dtype(dtype, J):
    if dtype not in (np.float64, np.float32):
        raise ParameterError(f"dtype: must be np.float64 or np.float32, got {dtype!r}")
    if J is not None and J.dtype != dtype:
        raise ParameterError(f"J: must be an array of {np.dtype(dtype).name}, got {J.dtype}")


def _check_work(t_max, transient, dt, n, n_replicas):
    """Refuse an integration longer than :data:`nnphys.checks.WORK_LIMIT` multiply-adds
    (``(t_max + transient) / dt`` steps of an ``n x n`` coupling on ``n_replicas``
    states): a compiled loop cannot be interrupted."""
    checks.work("(t_max + transient) / dt * N^2",
                (t_max + transient) / dt * float(n) * n * n_replicas,
                what="multiply-adds (t_max + transient) / dt * N^2 * replicas")


def _check_trajectory(traj):
    if not isinstance(traj, Trajectory):
        raise ArgumentTypeError(f"traj: must be a Trajectory (from simulate), got "
                                f"{type(traj).__name__}")


def _check_step(dt):
    dt = checks.positive("dt", dt)
    if dt > 0.5:
        raise ParameterError(f"dt: must be <= 0.5, got {dt}")
    return dt


@dataclasses.dataclass(frozen=True)
class Trajectory(Result):
    """Recorded activity: ``x[k, s, i]`` of replica ``k`` at time ``t[s]`` for recorded
    neuron ``i`` (the first ``n_record`` neurons), after the transient."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    x: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    N: int = 0
    g: float = 0.0
    dt: float = 0.0
    method: str = "rk4"
    q_static: float = 0.0


def simulate(network: RateNetwork | float, t_max: float, dt: float = 0.05, *,
             N: int | None = None, activation=None, noise: float | None = None, input=None,
             method: str = "rk4", n_replicas: int = 1, transient: float = 100.0,
             record_every: int = 1, n_record: int | None = None, x0_std: float = 1.0,
             seed=None, J: np.ndarray | None = None, dtype=np.float64) -> Trajectory:
    """Integrate ``n_replicas`` trajectories of one network for ``transient + t_max``.

    Args:
        network: a :class:`~nnphys.models.rnn.RateNetwork`, or the coupling strength ``g``.
        t_max: recorded duration after ``transient``.
        dt: integration step (``<= 0.5``).
        N, activation, noise, input: convenience fields of the spec (size; activation
            layer, ``Tanh()`` by default; white-noise strength ``sigma^2``; common input
            ``I(t)``, a number or a callable of the time); given with a spec, they replace
            its values. ``N`` may also come from ``J``.
        method: ``"euler"`` or ``"rk4"``.
        n_replicas: trajectories of the same ``J`` (initial conditions
            ``x_i(0) ~ N(0, x0_std^2)``).
        transient: duration simulated and discarded before recording.
        record_every: record every this many steps.
        n_record: neurons recorded (default all, at most 2000).
        x0_std: scale of the initial conditions.
        seed: seeds ``J`` (first draw, unless ``J`` is given), initial conditions and noise.
        J: a given ``N x N`` coupling matrix instead of a drawn one.
        dtype: ``np.float64`` or ``np.float32`` (halves the memory traffic of ``J``).

    Raises:
        ParameterError: bad argument. NumericalError: the state left the floats.
    """
    spec = _network(network, N, J, activation=activation, noise=noise, input=input)
    g, n = spec.g, spec.N
    t_max, dt = checks.positive("t_max", t_max), _check_step(dt)
    transient = checks.positive("transient", transient, allow_zero=True)
    x0_std = checks.positive("x0_std", x0_std, allow_zero=True)
    method = checks.one_of("method", method, _METHODS)
    _check_dtype(dtype, J)
    n_replicas = checks.integer("n_replicas", n_replicas, low=1, high=256)
    record_every = checks.integer("record_every", record_every, low=1)
    n_record = min(n, 2000) if n_record is None else checks.integer("n_record", n_record,
                                                                      low=1, high=n)
    _check_work(t_max, transient, dt, n, n_replicas)
    checks.work("n_replicas * t_max / dt * n_record",
                float(n_replicas) * (t_max / dt / record_every + 1) * n_record,
                checks.MEMORY_LIMIT, what="recorded entries")
    elementwise = _elementwise(spec.activation)
    rng = as_rng(seed)
    if J is None:
        J = coupling(n, g, rng, dtype)
    x = (x0_std * rng.standard_normal((n, n_replicas))).astype(dtype)
    integ = _Integrator(np.ascontiguousarray(J), n_replicas, method, dt, elementwise,
                        _input_function(spec.input))
    integ.start(x)
    n_skip = int(round(transient / dt))
    n_steps = int(round(t_max / dt))
    n_rec = n_steps // record_every + 1
    out = np.empty((n_replicas, n_rec, n_record))
    amp = math.sqrt(spec.noise * dt)
    for step in range(n_skip + n_steps + 1):
        if step >= n_skip and (step - n_skip) % record_every == 0:
            out[:, (step - n_skip) // record_every, :] = x[:n_record].T
        if step == n_skip + n_steps:
            break
        integ.step(x, step * dt)
        if amp > 0:
            x += (amp * rng.standard_normal(x.shape)).astype(dtype)
            elementwise.phi_into(x, integ.phi)
    if not np.all(np.isfinite(out)):
        raise NumericalError("simulate: the state is not finite (reduce dt)")
    q_static = float(np.mean(out.mean(axis=1) ** 2))
    if not math.isfinite(q_static):
        raise NumericalError("simulate: the static variance overflows (the state reached "
                             f"{np.max(np.abs(out)):.3g}; reduce g, input or x0_std)")
    return Trajectory(parameters={**spec.describe(), "t_max": t_max, "dt": dt,
                                  "method": method, "n_replicas": n_replicas,
                                  "transient": transient, "x0_std": x0_std,
                                  "dtype": np.dtype(dtype).name},
                      t=np.arange(n_rec) * dt * record_every, x=out, N=int(n), g=g, dt=dt,
                      method=method, q_static=q_static)


@dataclasses.dataclass(frozen=True)
class Autocorrelation(Estimate):
    """``Delta(lags[j])``: ``mean[j]`` with standard error ``stderr[j]`` over ``n_eff``
    windows x replicas (an :class:`~nnphys.stats.Estimate`, whose ``tau`` is the
    autocorrelation time of the samples, 1 for independent windows; ``self[j]`` is the
    estimate at lag ``lags[j]``)."""

    lags: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

    def plot(self, ax=None):
        """``Delta(tau)`` with standard-error bars; returns the matplotlib Axes
        (:func:`nnphys.plotting.curves`)."""
        from ..plotting import curves
        return curves(self.lags, {"network": Estimate(mean=self.mean, stderr=self.stderr)},
                      ax, xlabel="lag tau", ylabel="Delta(tau)")


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

    Each replica is cut into ``n_windows`` windows; the estimate is the mean over all
    windows x replicas with its standard error (:func:`nnphys.stats.sample_mean`, at least
    two windows x replicas).
    """
    _check_trajectory(traj)
    n_windows = checks.integer("n_windows", n_windows, low=1)
    max_lag = checks.positive("max_lag", max_lag, allow_zero=True)
    step = traj.t[1] - traj.t[0]
    n_lag = int(round(max_lag / step)) + 1
    length = traj.t.size // n_windows
    if length < 2 * n_lag:
        raise ParameterError(f"max_lag, n_windows: the n_windows = {n_windows} windows of "
                             f"{length * step:.3g} time units must be at least twice "
                             f"max_lag = {max_lag}")
    if n_windows * traj.x.shape[0] < 2:
        raise ParameterError("n_windows: at least two windows x replicas for an error bar")
    curves = np.array([_window_autocorrelation(traj.x[k, w * length:(w + 1) * length], n_lag)
                       for k in range(traj.x.shape[0]) for w in range(n_windows)])
    est = sample_mean(curves)
    return Autocorrelation(mean=est.mean, stderr=est.stderr, n_eff=est.n_eff, tau=est.tau,
                           lags=np.arange(n_lag) * step,
                           parameters={"max_lag": max_lag, "n_windows": n_windows})


@dataclasses.dataclass(frozen=True)
class EqualTimeVariance(Estimate):
    """``(1/n_record) sum_i x_i(t)^2`` at the recorded times ``t``, with the standard error
    over replicas (an :class:`~nnphys.stats.Estimate`; ``self[j]`` is time ``t[j]``)."""

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def equal_time_variance(traj: Trajectory) -> EqualTimeVariance:
    """The population second moment ``Delta(t, t)`` of every recorded time, averaged over the
    recorded neurons of each replica, with its error over the replicas (at least two)."""
    _check_trajectory(traj)
    if traj.x.shape[0] < 2:
        raise ParameterError("traj: at least two replicas (n_replicas >= 2) for an error bar")
    est = sample_mean(np.mean(traj.x ** 2, axis=2))
    return EqualTimeVariance(mean=est.mean, stderr=est.stderr, n_eff=est.n_eff, tau=est.tau,
                             t=traj.t, parameters=dict(traj.parameters))


def lyapunov(network: RateNetwork | float, t_max: float, dt: float = 0.05, *,
             N: int | None = None, activation=None, input=None, transient: float = 100.0,
             renorm_every: int = 10, n_blocks: int = 10, seed=None,
             J: np.ndarray | None = None, dtype=np.float64) -> Estimate:
    """Largest Lyapunov exponent by the Benettin tangent-space method.

    The joint state/tangent system is integrated by RK4; the tangent vector is renormalised
    every ``renorm_every`` steps, and the log-growth rates of the renormalisations after
    ``transient`` are averaged in ``n_blocks`` batches (:func:`nnphys.stats.batch_means`:
    the mean over the ``n_blocks * (n_renorm // n_blocks)`` rates the batches use, the
    error from the spread of the batch means).

    Args:
        network: a noiseless :class:`~nnphys.models.rnn.RateNetwork`, or ``g``.
        N, activation, input: convenience fields of the spec (``N`` may come from ``J``).
        t_max, dt, transient: averaging time, step, discarded start.
        renorm_every, n_blocks: steps between renormalisations; batches of the error.
        seed, J, dtype: as in :func:`simulate`.

    Returns:
        an :class:`~nnphys.stats.Estimate` of ``lambda_max`` (per unit time).
    """
    spec = _network(network, N, J, activation=activation, input=input)
    if spec.noise != 0.0:
        raise ParameterError("network: the Lyapunov exponent is computed for noise = 0")
    g, n = spec.g, spec.N
    t_max, dt = checks.positive("t_max", t_max), _check_step(dt)
    transient = checks.positive("transient", transient, allow_zero=True)
    renorm_every = checks.integer("renorm_every", renorm_every, low=1)
    n_blocks = checks.integer("n_blocks", n_blocks, low=2)
    _check_dtype(dtype, J)
    _check_work(t_max, transient, dt, n, 2)
    elementwise = _elementwise(spec.activation)
    inp = _input_function(spec.input)
    rng = as_rng(seed)
    if J is None:
        J = coupling(n, g, rng, dtype)
    J = np.ascontiguousarray(J)
    x = rng.standard_normal(n).astype(J.dtype)
    u = rng.standard_normal(n).astype(J.dtype)
    u /= np.linalg.norm(u)
    bufs = [np.zeros(n, J.dtype) for _ in range(10)]
    drive = np.empty((n, 2), J.dtype)
    field = np.empty((n, 2), J.dtype)
    n_skip = int(round(transient / dt))
    n_steps = int(round(t_max / dt))
    n_renorm = n_steps // renorm_every
    if n_renorm < 2 * n_blocks:
        raise ParameterError(f"t_max, n_blocks: t_max too short for {n_blocks} batches of two "
                             "renormalisations")
    logs = np.empty(n_renorm)
    for step in range(n_skip + n_renorm * renorm_every):
        _joint_rk4_step(J, x, u, step * dt, dt, bufs, drive, field, elementwise, inp)
        if step >= n_skip and (step - n_skip + 1) % renorm_every == 0:
            norm = float(np.linalg.norm(u))
            if not (norm > 0 and math.isfinite(norm)):
                raise NumericalError("lyapunov: the tangent vector left the floats")
            logs[(step - n_skip + 1) // renorm_every - 1] = math.log(norm)
            u /= norm
        elif step < n_skip and step % renorm_every == 0:
            u /= np.linalg.norm(u)
    est = batch_means(logs / (renorm_every * dt), n_batches=n_blocks)
    return dataclasses.replace(est, parameters={**spec.describe(), "t_max": t_max, "dt": dt,
                                                "transient": transient,
                                                "renorm_every": renorm_every,
                                                "n_blocks": n_blocks})


def _joint_rk4_step(J, x, u, t, dt, bufs, drive, field, elementwise, inp):
    """One RK4 step of ``x' = -x + J phi(x) + I(t)``, ``u' = -u + J (phi'(x) u)`` in place."""
    sx, su, yx, yu = bufs[:4], bufs[4:8], bufs[8], bufs[9]
    for index, frac in enumerate((0.0, 0.5, 0.5, 1.0)):
        prev = max(index - 1, 0)                 # stage 0 ignores the slope (step 0)
        elementwise.tangent_stage(x, u, sx[prev], su[prev], frac * dt, yx, yu, drive)
        np.matmul(J, drive, out=field)
        if inp is not None:
            field[:, 0] += inp(t + frac * dt)
        np.subtract(field[:, 0], yx, out=sx[index])
        np.subtract(field[:, 1], yu, out=su[index])
    for state, slopes in ((x, sx), (u, su)):
        _rnn.rk4_combine(state[:, None], *(k[:, None] for k in slopes), dt)
