"""DMFT of feature learning: the mean-field / muP limit of gradient flow with richness
``gamma0`` (Bordelon & Pehlevan 2022).

B. Bordelon, C. Pehlevan, "Self-Consistent Dynamical Field Theory of Kernel Evolution in Wide
Neural Networks", NeurIPS 2022, arXiv:2205.09653 (Sec. 3 the parametrization, Sec. 4 the
saddle-point equations, Sec. 5 deep linear networks, Sec. 6 the alternating Monte Carlo
solver). Same limit as Yang & Hu's muP (arXiv:2011.14522) at ``gamma0 = 1``.

**Network and normalisation** (stated here, derived below; ``L`` hidden layers, width
``N -> infinity``, ``D`` inputs, all trained weights ``N(0, 1)`` at ``t = 0``, ``sigma_l`` the
``W_std`` of the ``l``-th ``Dense`` of the spec, no biases)::

    h^1 = sigma_0 W^0 x / sqrt(D),   h^{l+1} = sigma_l W^l phi(h^l) / sqrt(N),
    f = sigma_L w^L . phi(h^L) / (gamma0 N),
    dtheta/dt = -gamma0^2 N dL/dtheta,   L = (1/2) sum_mu (f_mu - y_mu)^2.

``f(0) = O(1 / (gamma0 sqrt N)) -> 0``. In these units ``df/dt = K(t) (y - f)`` with the
time-dependent NTK ``K = sum_{l=0}^{L} sigma_l^2 G^{l+1} o Phi^l`` (``o``: entrywise), whose
``t = 0`` value is the NTK of the same spec in the NTK parameterization
(:mod:`nnphys.theory.kernels`); ``gamma0 -> 0`` is lazy NTK gradient flow
(:func:`nnphys.theory.kernels.gradient_descent_mse` with ``lr = P``), and a one-point two-layer
linear network obeys ``df/dt = 2 (y - f) sqrt(1 + gamma0^2 f^2)`` (:mod:`.deep_linear`).

**Order parameters.** ``Phi^l_{mu nu}(t, s) = <phi(h^l_mu(t)) phi(h^l_nu(s))>`` (``Phi^0 =
x.x'/D``), ``G^l_{mu nu}(t, s) = <g^l_mu(t) g^l_nu(s)>`` (``G^{L+1} = 1``) with
``g^l = phi'(h^l) z^l``, ``z^l = sigma_l W^{l T} g^{l+1} / sqrt N``, ``z^L = sigma_L w^L``.

**Single-site equations** (the saddle point; ``Delta = y - f`` on training points and 0 on
test points, which are carried along as extra points that do not drive the dynamics)::

    h^l(t) = u^l(t) + sigma_{l-1}^2 int ds [R_phi^{l-1}(t, s) + gamma0 Phi^{l-1}(t, s) Delta(s)] g^l(s)
    z^l(t) = r^l(t) + sigma_l^2   int ds [R_g^{l+1}(t, s) + gamma0 G^{l+1}(t, s) Delta(s)] phi(h^l(s))
    u^l ~ GP(0, sigma_{l-1}^2 Phi^{l-1}),   r^l ~ GP(0, sigma_l^2 G^{l+1}),
    R_phi^l = <d phi(h^l) / d r^l>,   R_g^l = <d g^l / d u^l>      (R_phi^0 = R_g^{L+1} = 0)

(matrices over points, ``Phi Delta`` is ``Phi_{mu nu} Delta_nu``). They follow from
``W^l(t) = W^l(0) + gamma0 sigma_l N^{-1/2} int ds sum_nu Delta_nu g^{l+1}_nu phi(h^l_nu)^T``:
the second terms are the weight updates, the response terms the correlation of ``W^l(0)``
with the fields it produced (the paper's ``A^l = gamma0^{-1} R_phi^l``, ``B^l = gamma0^{-1}
R_g^{l+1}``). For one hidden layer there are no response terms.

**Algorithm** (the paper's alternating Monte Carlo, Sec. 6): given kernels and ``f``,

1. draw ``n_replicas`` paths of ``u^l``, ``r^l`` over the time grid (symmetric square root of
   the covariance; the same standard normals in every iteration, so the iteration is a
   deterministic map of the kernels and converges to a sampled fixed point);
2. integrate the single-site equations forward in time (trapezoidal rule on the grid, the
   implicit end-point term by a predictor and two corrector passes);
3. re-estimate ``Phi^l``, ``G^l`` and the responses; the responses by Stein's lemma,
   ``<d F / d r> = <F xi^T> C^{-1/2}`` for ``r = C^{1/2} xi``, with the control variate
   ``F - F|_{gamma0 = 0}`` (zero mean, so the estimate's noise is ``O(gamma0 / sqrt n)``) and
   the Tikhonov-regularised ``C^{-1/2} -> V Lambda^{1/2} (Lambda + eps lambda_max)^{-1} V^T``
   (``eps = response_rcond``). A response acts on a field whose covariance is the ``C`` it
   was estimated under (``R_phi^{l-1}`` on ``g^l``, covariance ``G^l``), so it is applied to
   each replica's field of the previous iteration, where it is whitened: the noise of
   ``R g`` is then ``~ sqrt(modes / n)`` with the modes above ``eps``, not ``sqrt(T P / n)``;
   at the fixed point the previous fields are the current ones;
4. damp (``K <- damping K_old + (1 - damping) K_new``), integrate ``df/dt = K(t)(y - f)`` by
   the exponential midpoint rule (second order; exact for a constant kernel), repeat.

Converged when the relative sup-norm change of the kernels and of ``f`` between iterations is
below ``tol``. The sampling error is the spread of the kernels (and of ``f`` integrated with
each batch's NTK) over 8 batches of replicas at the fixed point; it does not include the
noise of the pooled response estimate (absent for one hidden layer). Time discretisation
error: ``O(dt^2)``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import linalg

from ... import checks
from ...errors import ArgumentTypeError, ConvergenceError, NumericalError, ParameterError
from ...models import network as arch
from ...results import Result

__all__ = ["FeatureLearning", "solve"]

_BATCHES = 8
_CORRECTORS = 2


@dataclasses.dataclass(frozen=True)
class _MlpStructure:
    """A bias-free MLP read off a spec: ``W_std`` of each ``Dense`` (input layer first,
    readout last) and the hidden activations (one per hidden layer)."""

    W_std: tuple
    activations: tuple

    @property
    def depth(self) -> int:
        return len(self.activations)


def _mlp_structure(net) -> _MlpStructure:
    """Parse ``Dense, act, Dense, act, ..., Dense(1)`` (a spec, a kernels ``Network`` or a
    spec string) into an :class:`_MlpStructure`.

    Raises:
        ArgumentTypeError: ``net`` is not a network.
        ParameterError: another layer pattern, biases, or an output width other than 1.
    """
    if isinstance(net, str):
        try:
            net = arch.parse_spec(net)
        except ParameterError as exc:
            raise ParameterError(f"net: {exc}") from exc
    spec = net.spec if hasattr(net, "spec") else net
    if not isinstance(spec, arch.Layer):
        raise ArgumentTypeError(f"net: must be a layer spec, a kernels Network or a spec "
                                f"string, got {type(net).__name__}")
    flat = arch.chain(spec)
    for layer in flat:
        if not isinstance(layer, (arch.Dense, arch.Activation)):
            raise ParameterError(f"net: the feature-learning DMFT takes MLPs (Dense and "
                                 f"activation layers), got {type(layer).__name__}")
    if len(flat) < 3 or len(flat) % 2 == 0:
        raise ParameterError("net: must be Dense, activation, ..., Dense(1) with at least one "
                             f"hidden layer, got {len(flat)} layers")
    for i, layer in enumerate(flat):
        want = arch.Dense if i % 2 == 0 else arch.Activation
        if not isinstance(layer, want):
            raise ParameterError(f"net: layer {i} must be a {want.__name__}, got {layer!r}")
        if i % 2 == 0 and layer.b_std not in (None, 0.0):
            raise ParameterError(f"net: layer {i} has a bias (b_std={layer.b_std}); the DMFT "
                                 "here is for bias-free networks (b_std=None)")
    if flat[-1].out_dim != 1:
        raise ParameterError(f"net: the readout must be Dense(1), got out_dim="
                             f"{flat[-1].out_dim}")
    return _MlpStructure(tuple(float(layer.W_std) for layer in flat[0::2]), tuple(flat[1::2]))


@dataclasses.dataclass(frozen=True)
class FeatureLearning(Result):
    """The DMFT solution on the time grid ``t`` (``T`` times, ``P`` training and ``M`` test
    points, ``L`` hidden layers).

    Attributes:
        t: ``(T,)`` times.
        f_train, f_train_stderr: ``(T, P)`` predictions on the training points and their
            sampling error.
        f_test, f_test_stderr: ``(T, M)`` on the test points (``None`` without ``x_test``).
        ntk, ntk_stderr: ``(T, P, P)`` equal-time NTK ``K(t, t)`` on the training points.
        kernel_t: ``(K,)`` the times (a subset of ``t``) at which the two-time kernels are kept.
        Phi, Phi_stderr: ``(L, K, K, P, P)`` feature kernels ``Phi^l(t, s)``, ``l = 1..L``.
        G, G_stderr: ``(L, K, K, P, P)`` gradient kernels ``G^l(t, s)``, ``l = 1..L``.
        loss: ``(T,)`` training loss ``(1/2) sum_mu (f_mu - y_mu)^2``.
        residual: the last relative change of kernels and predictions (see module docstring).
    """

    t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    f_train: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    f_train_stderr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    f_test: np.ndarray | None = None
    f_test_stderr: np.ndarray | None = None
    ntk: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    ntk_stderr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0, 0)))
    kernel_t: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    Phi: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0,) * 5))
    Phi_stderr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0,) * 5))
    G: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0,) * 5))
    G_stderr: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0,) * 5))
    loss: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def _trapezoid_weights(t: np.ndarray) -> np.ndarray:
    """``(T, T)`` weights ``w[k, j]`` of the trapezoidal rule for ``int_0^{t_k} ds F(s) ~
    sum_j w[k, j] F(t_j)`` (zero for ``j > k``)."""
    t = np.asarray(t, dtype=float)
    dt = np.diff(t)
    w = np.zeros((t.size, t.size))
    for k in range(1, t.size):
        w[k, :k] += 0.5 * dt[:k]
        w[k, 1:k + 1] += 0.5 * dt[:k]
    return w


def _integrate_predictions(t, ntk, y, n_train: int):
    """``f(t)`` from ``df/dt = K(t)[:, :P] (y - f_train)``, ``f(0) = 0``, on all points.

    ``ntk``: ``(T, Q, Q)`` equal-time NTK over ``Q >= P`` points, training points first. The
    training block uses the exponential midpoint rule ``y - f_{k+1} = exp(-dt K_mid) (y -
    f_k)`` with ``K_mid = (K_k + K_{k+1}) / 2`` (second order, exact for constant ``K``); the
    other points the trapezoidal rule on ``K_{.P} Delta``. Returns ``(T, Q)``.
    """
    P = n_train
    f = np.zeros((t.size, ntk.shape[1]))
    delta = np.empty((t.size, P))
    delta[0] = y
    for k in range(t.size - 1):
        dt = t[k + 1] - t[k]
        mid = 0.5 * (ntk[k] + ntk[k + 1])
        delta[k + 1] = linalg.expm(-dt * mid[:P, :P]) @ delta[k]
        f[k + 1, :P] = y - delta[k + 1]
        if ntk.shape[1] > P:
            f[k + 1, P:] = f[k, P:] + 0.5 * dt * (ntk[k, P:, :P] @ delta[k]
                                                   + ntk[k + 1, P:, :P] @ delta[k + 1])
    return f


class _Sqrt:
    """Symmetric square root ``C^{1/2}`` of a PSD covariance and the Tikhonov-regularised
    ``C^{1/2} (C + eps lambda_max)^{-1}`` used by Stein's lemma."""

    def __init__(self, cov: np.ndarray, eps: float):
        cov = 0.5 * (cov + cov.T)
        lam, vec = linalg.eigh(cov)
        if not np.all(np.isfinite(lam)):
            raise NumericalError("feature_learning: a kernel became non-finite")
        lam = np.clip(lam, 0.0, None)
        top = max(float(lam[-1]), np.finfo(float).tiny)
        root = np.sqrt(lam)
        self.sqrt = (vec * root) @ vec.T
        self.inv = (vec * (root / (lam + eps * top))) @ vec.T


def _draws(seed, layer: int, kind: int, n: int, dim: int) -> np.ndarray:
    return np.random.default_rng([seed, layer, kind]).standard_normal((n, dim))


class _Solver:
    def __init__(self, mlp, kx, y, t, gamma0, n, eps, seed):
        self.mlp, self.kx, self.y, self.t, self.gamma0 = mlp, kx, y, t, gamma0
        self.n, self.eps, self.seed = n, eps, seed
        self.L = mlp.depth
        self.T, self.Q, self.P = t.size, kx.shape[0], y.size
        self.w = _trapezoid_weights(t)
        self.causal = np.kron(np.tril(np.ones((self.T, self.T))), np.ones((self.Q, self.Q)))
        self.fns = [(a.fn, a.fn_prime) for a in mlp.activations]
        self.previous = [None] * self.L

    # kernels are stored as (T Q, T Q) matrices, index k * Q + mu
    def lazy_state(self):
        """Kernels of the gamma0 = 0 network (static in time), by the same sampling."""
        T, Q, n, s = self.T, self.Q, self.n, self.mlp.W_std
        phis, dphis = [], []
        prev = self.kx
        for l in range(self.L):
            root = _Sqrt(s[l] ** 2 * prev, self.eps).sqrt
            u = _draws(self.seed, l, 2, n, Q) @ root
            fn, fp = self.fns[l]
            a, b = fn(u), fp(u)
            prev = a.T @ a / n
            phis.append(prev)
            dphis.append(b.T @ b / n)
        gs = [None] * self.L
        nxt = np.ones((Q, Q))
        for l in reversed(range(self.L)):
            nxt = s[l + 1] ** 2 * nxt * dphis[l]
            gs[l] = nxt
        tile = np.ones((T, T))
        zero = np.zeros((T * Q, T * Q))
        return {"Phi": [np.kron(tile, p) for p in phis], "G": [np.kron(tile, g) for g in gs],
                "Rphi": [zero] * self.L, "Rg": [zero] * self.L}

    def ntk(self, Phi, G):
        T, Q, s = self.T, self.Q, self.mlp.W_std
        diag = np.arange(T)

        def eq(m):
            return m.reshape(T, Q, T, Q)[diag, :, diag, :]
        k = s[0] ** 2 * eq(G[0]) * self.kx[None]
        for l in range(self.L):
            g_next = eq(G[l + 1]) if l + 1 < self.L else 1.0
            k = k + s[l + 1] ** 2 * g_next * eq(Phi[l])
        return k

    def memory(self, kernel, response, delta, sigma):
        """``(T Q, T Q)`` coefficient matrix of ``sigma^2 int ds [R + gamma0 K Delta]``."""
        T, Q = self.T, self.Q
        weight = np.kron(self.w, np.ones((Q, Q))) * np.tile(delta.reshape(-1), (T * Q, 1))
        return sigma ** 2 * (response + self.gamma0 * kernel * weight) * self.causal

    def memories(self, l, state, delta, responses=True):
        """Covariances of ``u^l``, ``r^l`` and the memory matrices of ``h^l`` (acting on
        ``g^l``) and ``z^l`` (acting on ``phi(h^l)``) for hidden layer ``l`` (0-based), with
        the response terms or (``responses=False``) without them."""
        T, Q, s = self.T, self.Q, self.mlp.W_std
        ones = np.ones((T * Q, T * Q))
        kern_h = np.kron(np.ones((T, T)), self.kx) if l == 0 else state["Phi"][l - 1]
        kern_z = ones if l == self.L - 1 else state["G"][l + 1]
        resp_h = state["Rphi"][l - 1] if l > 0 and responses else 0.0
        resp_z = state["Rg"][l + 1] if l < self.L - 1 and responses else 0.0
        return (s[l] ** 2 * kern_h, s[l + 1] ** 2 * kern_z,
                self.memory(kern_h, resp_h, delta, s[l]),
                self.memory(kern_z, resp_z, delta, s[l + 1]))

    def fields(self, l, state, delta):
        """Sample and integrate the single-site fields of hidden layer ``l`` (0-based)."""
        T, Q, n, s = self.T, self.Q, self.n, self.mlp.W_std
        fn, fp = self.fns[l]
        cov_u, cov_r, mh, mz = self.memories(l, state, delta, responses=False)
        su, sr = _Sqrt(cov_u, self.eps), _Sqrt(cov_r, self.eps)
        xi_u = _draws(self.seed, l, 0, n, T * Q)
        xi_r = _draws(self.seed, l, 1, n, T * Q)
        u = xi_u @ su.sqrt
        r = xi_r @ sr.sqrt
        drive_h, drive_z = self.response_drives(l, state)
        h = np.empty((n, T * Q))
        z = np.empty((n, T * Q))
        a = np.empty((n, T * Q))
        g = np.empty((n, T * Q))
        for k in range(T):
            now = slice(k * Q, (k + 1) * Q)
            past = slice(0, k * Q)
            h0 = u[:, now] + drive_h[:, now] + g[:, past] @ mh[now, past].T
            z0 = r[:, now] + drive_z[:, now] + a[:, past] @ mz[now, past].T
            hk, zk = h0, z0
            for _ in range(_CORRECTORS + 1):
                ak = fn(hk)
                gk = fp(hk) * zk
                hk = h0 + gk @ mh[now, now].T
                zk = z0 + ak @ mz[now, now].T
            h[:, now], z[:, now] = hk, zk
            a[:, now], g[:, now] = fn(hk), fp(hk) * zk
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(g))):
            raise NumericalError(f"feature_learning: the fields of hidden layer {l + 1} "
                                 f"diverged (gamma0={self.gamma0}); use a finer time grid")
        # Stein's lemma with control variates phi(u), phi'(u) r (zero-mean responses)
        rphi = ((a - fn(u)).T @ xi_r / n) @ sr.inv
        rg = ((g - fp(u) * r).T @ xi_u / n) @ su.inv
        self.previous[l] = (a, g)
        return a, g, rphi, rg

    def response_drives(self, l, state):
        """``sigma^2 R_phi^{l-1} g^l`` and ``sigma^2 R_g^{l+1} phi(h^l)`` of every replica,
        applied to the replica's fields of the previous iteration (the same draws, so at the
        fixed point they are its own fields). ``R`` is estimated in the eigenbasis of the
        covariance of ``r`` (or ``u``), the basis in which ``g^l`` (or ``phi(h^l)``), whose
        covariance it is, lives: ``R g = <F xi^T> Lambda^{1/2} / (Lambda + eps) V^T g`` has
        noise ``~ sqrt(modes / n)`` instead of the ``sqrt(T P / n)`` of a plain inverse, and
        is not truncated to ``s <= t`` (a truncation would break that whitening)."""
        s = self.mlp.W_std
        zero = np.zeros((self.n, self.T * self.Q))
        prev = self.previous[l]
        if prev is None:
            return zero, zero
        a, g = prev
        drive_h = s[l] ** 2 * g @ state["Rphi"][l - 1].T if l > 0 else zero
        drive_z = s[l + 1] ** 2 * a @ state["Rg"][l + 1].T if l < self.L - 1 else zero
        return drive_h, drive_z

    def sampled_layer(self, l, state, delta):
        """New kernels and responses of hidden layer ``l`` from sampled fields, with the
        batch kernels."""
        a, g, rphi, rg = self.fields(l, state, delta)
        nb = self.n // _BATCHES
        phis = np.stack([a[i * nb:(i + 1) * nb].T @ a[i * nb:(i + 1) * nb] / nb
                         for i in range(_BATCHES)])
        gs = np.stack([g[i * nb:(i + 1) * nb].T @ g[i * nb:(i + 1) * nb] / nb
                       for i in range(_BATCHES)])
        return phis.mean(axis=0), gs.mean(axis=0), rphi, rg, (phis, gs)


def _check_times(t) -> np.ndarray:
    t = checks.finite_array("t", t, ndim=1, low=0.0)
    if t.size < 2 or t[0] != 0.0 or np.any(np.diff(t) <= 0):
        raise ParameterError("t: must be an increasing grid of at least 2 times starting at 0")
    return t


def _check_inputs(x_train, y_train, x_test):
    x = checks.finite_array("x_train", x_train, ndim=2)
    if x.size and float(np.max(np.abs(x))) > 1e6:
        raise ParameterError("x_train: inputs must be at most 1e6 in magnitude")
    y = checks.finite_array("y_train", y_train).reshape(-1)
    if y.size and float(np.max(np.abs(y))) > 1e6:
        raise ParameterError("y_train: targets must be at most 1e6 in magnitude")
    if y.size != x.shape[0]:
        raise ParameterError(f"y_train: must have one target per row of x_train "
                             f"({x.shape[0]}), got {y.size}")
    if x.shape[0] < 1:
        raise ParameterError("x_train: needs at least one training point")
    if x_test is not None:
        xt = checks.finite_array("x_test", x_test, ndim=2)
        if xt.shape[1] != x.shape[1]:
            raise ParameterError(f"x_test: must have {x.shape[1]} features like x_train, got "
                                 f"{xt.shape[1]}")
        x = np.concatenate([x, xt])
    return x, y


def _thin(T: int, kernel_times) -> np.ndarray:
    if kernel_times is None:
        return np.unique(np.linspace(0, T - 1, min(T, 21)).round().astype(int))
    idx = np.asarray(kernel_times)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer) \
            or idx.min() < 0 or idx.max() >= T:
        raise ParameterError(f"kernel_times: must be a non-empty list of indices into t "
                             f"(0..{T - 1})")
    return np.unique(idx)



def _record(sol, state, f, keep, batches, params, converged, it, residual) -> FeatureLearning:
    """The :class:`FeatureLearning` of a solved state; sampling errors from ``batches``
    (per layer, the ``(B, TQ, TQ)`` batch kernels) or zero when ``batches`` is None."""
    T, Q, P, y, t = sol.T, sol.Q, sol.P, sol.y, sol.t

    def two_time(m):
        m = m.reshape(T, Q, T, Q)[keep][:, :P][:, :, keep][..., :P]
        return m.transpose(0, 2, 1, 3)
    ntk = sol.ntk(state["Phi"], state["G"])
    Phi = np.stack([two_time(m) for m in state["Phi"]])
    G = np.stack([two_time(m) for m in state["G"]])
    if batches is None:
        f_err, ntk_err = np.zeros_like(f), np.zeros_like(ntk)
        Phi_err, G_err = np.zeros_like(Phi), np.zeros_like(G)
    else:
        nb = len(batches[0][0])
        root = math.sqrt(nb)
        ntk_b = np.stack([sol.ntk([b[0][i] for b in batches], [b[1][i] for b in batches])
                          for i in range(nb)])
        f_b = np.stack([_integrate_predictions(t, k, y, P) for k in ntk_b])
        f_err = f_b.std(axis=0, ddof=1) / root
        ntk_err = ntk_b.std(axis=0, ddof=1) / root
        Phi_err = np.stack([np.stack([two_time(p) for p in b[0]]).std(axis=0, ddof=1) / root
                            for b in batches])
        G_err = np.stack([np.stack([two_time(p) for p in b[1]]).std(axis=0, ddof=1) / root
                          for b in batches])
    loss = 0.5 * np.sum((f[:, :P] - y) ** 2, axis=1)
    return FeatureLearning(
        converged=converged, iterations=it, residual=residual, parameters=params, t=t,
        f_train=f[:, :P], f_train_stderr=f_err[:, :P],
        f_test=f[:, P:] if Q > P else None, f_test_stderr=f_err[:, P:] if Q > P else None,
        ntk=ntk[:, :P, :P], ntk_stderr=ntk_err[:, :P, :P],
        kernel_t=t[keep], Phi=Phi, Phi_stderr=Phi_err, G=G, G_stderr=G_err, loss=loss)



def _fixed_point(sol, state, layer, damping, tol, max_iterations, strict):
    """Damped iteration ``kernels -> fields -> kernels``; ``layer(l, state, delta)`` returns
    the new ``(Phi, G, R_phi, R_g, batches)`` of hidden layer ``l`` (``batches`` the batch
    kernels for the error estimate, or None). Returns ``(state, f, batches, converged,
    iterations, residual)``."""
    T, Q, P, L, y, t = sol.T, sol.Q, sol.P, sol.L, sol.y, sol.t
    f = _integrate_predictions(t, sol.ntk(state["Phi"], state["G"]), y, P)
    converged, residual, it, batches = False, math.inf, 0, None
    for it in range(1, max_iterations + 1):
        delta = np.zeros((T, Q))
        delta[:, :P] = y - f[:, :P]
        new = {"Phi": [], "G": [], "Rphi": [], "Rg": []}
        batches = []
        for l in range(L):
            phi, g, rphi, rg, b = layer(l, state, delta)
            for key, value in zip(("Phi", "G", "Rphi", "Rg"), (phi, g, rphi, rg)):
                new[key].append(value)
            batches.append(b)
        change = max(float(np.max(np.abs(new[key][l] - state[key][l])) /
                           max(float(np.max(np.abs(new[key][l]))), 1e-300))
                     for key in ("Phi", "G") for l in range(L))
        state = {key: [damping * old + (1 - damping) * nw
                       for old, nw in zip(state[key], new[key])] for key in new}
        f_new = _integrate_predictions(t, sol.ntk(state["Phi"], state["G"]), y, P)
        df = float(np.max(np.abs(f_new - f))) / max(float(np.max(np.abs(y))), 1e-300)
        f = f_new
        residual = max(change, df)
        if not np.isfinite(residual):
            raise NumericalError(f"feature_learning: the iteration diverged "
                                 f"(gamma0={sol.gamma0})")
        if residual < tol:
            converged = True
            break
    if not converged and strict:
        raise ConvergenceError(f"feature_learning: not converged after {it} iterations "
                               f"(gamma0={sol.gamma0}, residual {residual:.2e}); raise "
                               "max_iterations or damping", iterations=it, residual=residual)
    if any(b is None for b in batches):
        batches = None
    return state, f, batches, converged, it, residual


def solve(net, x_train, y_train, gamma0, t, x_test=None, *, n_replicas: int = 4000,
          damping: float = 0.3, tol: float = 1e-8, max_iterations: int = 100,
          response_rcond: float = 1e-6, kernel_times=None, seed=0,
          strict: bool = True) -> FeatureLearning:
    """Solve the feature-learning DMFT of a bias-free MLP trained by gradient flow on MSE.

    Args:
        net: ``Dense(., W_std), activation, ..., Dense(1, W_std)`` (hidden widths ignored:
            the limit is infinite width; ``W_std`` are the multipliers ``sigma_l``).
        x_train: ``(P, D)`` training inputs; ``Phi^0 = x x^T / D``.
        y_train: ``(P,)`` targets.
        gamma0: richness ``>= 0`` (0: lazy NTK limit; the module docstring's normalisation).
        t: increasing time grid starting at 0 (``O(dt^2)`` discretisation error).
        x_test: ``(M, D)`` test inputs (or None).
        n_replicas: single-site samples (a multiple of 8, the batches of the error estimate).
        damping: weight of the old iterate in the damped update, in ``[0, 1)``.
        tol: convergence tolerance on the relative change per iteration.
        max_iterations: iteration cap.
        response_rcond: Tikhonov regulariser of Stein's lemma, relative to the largest
            eigenvalue of the field covariance.
        kernel_times: indices into ``t`` at which the two-time kernels are stored (default:
            at most 21 evenly spaced).
        seed: the single-site draws (the same in every iteration).
        strict: raise :class:`~nnphys.errors.ConvergenceError` if not converged (else return
            ``converged=False``).

    Returns:
        :class:`FeatureLearning`.

    Raises:
        ParameterError, ArgumentTypeError: bad arguments. ConvergenceError: see ``strict``.
        NumericalError: the fields diverged (too coarse a grid for this ``gamma0``).

    Example:
        >>> import numpy as np
        >>> from nnphys.models import network as nn
        >>> net = nn.Serial((nn.Dense(1), nn.Identity(), nn.Dense(1)))
        >>> r = solve(net, [[1.0]], [1.0], 1.0, np.linspace(0, 2, 21), n_replicas=400)
        >>> bool(abs(r.f_train[-1, 0] - 1.0) < 0.02)      # converges to the target
        True
    """
    mlp = _mlp_structure(net)
    x, y = _check_inputs(x_train, y_train, x_test)
    gamma0 = checks.real("gamma0", gamma0, low=0.0, high=1e6)
    t = _check_times(t)
    n = checks.integer("n_replicas", n_replicas, low=_BATCHES)
    if n % _BATCHES:
        raise ParameterError(f"n_replicas: must be a multiple of {_BATCHES}, got {n}")
    damping = checks.real("damping", damping, low=0.0, high=1.0, high_open=True)
    tol = checks.positive("tol", tol)
    max_iterations = checks.integer("max_iterations", max_iterations, low=1)
    eps = checks.positive("response_rcond", response_rcond)
    seed = checks.seed(seed)
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2 ** 63))
    elif not isinstance(seed, int):
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        seed = int(seq.generate_state(2, np.uint64)[0] >> np.uint64(1))
    keep = _thin(t.size, kernel_times)
    P, Q, T, L = y.size, x.shape[0], t.size, mlp.depth
    checks.work("n_replicas", float(n) * (T * Q) ** 2 * L, checks.WORK_LIMIT,
                what="operations per iteration (n_replicas (T (P + M))^2 depth)")
    checks.work("t", float(T * Q) ** 2 * (4 * L + 6), checks.MEMORY_LIMIT / 8,
                what="kernel entries ((T (P + M))^2 per kernel)")
    kx = x @ x.T / x.shape[1]
    sol = _Solver(mlp, kx, y, t, gamma0, n, eps, seed)
    state, f, batches, converged, it, residual = _fixed_point(
        sol, sol.lazy_state(), sol.sampled_layer, damping, tol, max_iterations, strict)
    params = {"net": repr(net), "gamma0": gamma0, "n_replicas": n, "damping": damping,
              "tol": tol, "response_rcond": eps, "seed": seed, "P": P, "M": Q - P,
              "depth": L}
    return _record(sol, state, f, keep, batches, params, converged, it, residual)
