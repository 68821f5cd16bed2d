"""The feature-learning DMFT (theory.dmft) against finite networks trained by gradient
descent (sim.training), and its lazy limit against the NTK.

B. Bordelon, C. Pehlevan, "Self-Consistent Dynamical Field Theory of Kernel Evolution in Wide
Neural Networks", NeurIPS 2022, arXiv:2205.09653: at richness ``gamma0`` the muP /
mean-field network of width ``N`` follows the DMFT with ``O(N^{-1/2})`` fluctuations per
network and an ``O(1/N)`` bias of the mean (B. Bordelon, C. Pehlevan, "Dynamics of Finite
Width Kernel and Prediction Fluctuations in Mean Field Neural Networks", 2023,
arXiv:2304.03408).

Common set-up: ``P = 3`` Gaussian inputs in ``D = 4``, targets ``(1, -0.5, 0.8)``; the
network is ``parametrization="mean_field"``, ``base_width=1``, unit ``W_std`` (the
Bordelon-Pehlevan network, :mod:`nnphys.sim.training`), trained by full-batch GD for
``steps`` steps at ``lr = t_end P / steps`` (gradient-flow time ``t = lr step / P``; the
step error ``O(lr / P) = 7e-3`` relative, measured at 2e-4 in ``f`` by halving the step,
below the width effects at every width used), recorded on the DMFT's time grid.

* **Width convergence** (nonlinear, :func:`width_convergence`; ``tanh``, one hidden layer,
  ``gamma0 = 1``, ``t_end = 2``). Per network, the mean-square deviation ``D_f = mean_{t,
  mu} (f_N - f_DMFT)^2`` and ``D_Phi = mean_{t, mu nu} (Phi_N(t, t) - Phi(t, t))^2``. Their
  seed average is ``V / N + O(N^{-2}) + e^2`` with ``e`` the DMFT's own sampling error,
  subtracted as the floor ``mean(stderr^2)`` (the DMFT solved with 10 times as many
  replicas as the widest network; the floor is then measured at 4 % (``f``) and 12 %
  (``Phi``) of ``D`` at the widest network, quick mode). Fitted ``D ~ N^{-p}`` by
  :func:`nnphys.stats.fit_power_law` (bootstrap over seeds): theory ``p = 1`` (RMS error
  ``~ N^{-1/2}``). Stated bias 0.1: the floor is known to the relative ``1/sqrt(14)`` of an
  8-batch spread, ``<= 3.5 %`` of ``D`` at the widest network, ``log(1.035) / log(N_max /
  N_min) <= 0.02``, and the ``O(1/N)`` relative correction of ``V / N`` shifts the slope by
  ``<= 1/N_min / log(N_max/N_min) = 0.01``; the rest is margin for the floor's own
  realisation (``e^2`` is one draw around ``stderr^2``). And the
  finite-N estimate: the seed mean of ``f_N(t_end)`` per training point, extrapolated to
  ``N -> infinity`` linearly in ``1/N`` (:func:`nnphys.stats.extrapolate`), against the
  DMFT's value, the tolerance ``4 sqrt(se_extrap^2 + se_DMFT^2)``.
* **Deep linear networks** (:func:`deep_linear_convergence`; ``Identity``, depth 1 against
  the closed moment equations :func:`nnphys.theory.dmft.deep_linear.two_layer` (DOP853,
  rtol 1e-10), depth 2 against the exact discretised DMFT
  :func:`nnphys.theory.dmft.deep_linear.solve` on the grid and with the step halved,
  Richardson-extrapolated in ``dt^2``; a third of the difference of the two grids is its
  error, added to the extrapolation's in quadrature). Same rows as above with floor 0 (no
  sampling).
* **Lazy limit** (:func:`lazy_limit`; ``tanh``, depth 2). ``gamma0 = 0`` DMFT against
  :func:`nnphys.theory.kernels.gradient_descent_mse` with the NTK of the same spec and
  ``lr = P`` at ``t_end`` (tolerance 4 reported sampling errors plus the solver precision
  ``1e-9``: the kernel is constant, the exponential integrator exact). And the approach:
  ``|f(gamma0) - f(0)|`` at ``t_end`` for the exact deep linear DMFT (depth 2) over
  ``gamma0 = 0.05, 0.1, 0.2``, fitted ``~ gamma0^q``: theory ``q = 2`` (the flow is even in
  ``gamma0``: it is invariant under ``gamma0 -> -gamma0``, ``r -> -r``). Stated bias 0.1 for
  the ``gamma0^4`` term (relatively ``O(gamma0^2) = 0.04`` at the largest ``gamma0``). The
  sampled solver is not used for the approach: its draws are not symmetric under ``r -> -r``,
  which leaves an odd ``O(gamma0 / sqrt(n_replicas))`` term (measured: local slope 1.04 at
  ``n = 2000``, depth 1).

* **Prediction variance** (:func:`prediction_variance`; one training point ``x = 1``,
  ``y = 1``, one hidden linear layer, width 1024, ``gamma0 = 0.5, 1, 2``). ``N Var[f_N(t)]``
  over 128 (full 512) seeds at ``t = 0.5, 1, 2`` against
  :func:`nnphys.theory.dmft.deep_linear.single_point_variance` (leading order in ``1/N``);
  the error of the sample variance from the seeds (:func:`nnphys.stats.sample_mean` of the
  squared deviations, so non-Gaussian tails count); stated bias ``4 / N`` relative (the
  next order; measured ratios at N = 256 and 1024 agree within their 9 % sampling error).
  The networks' trajectories are Richardson-extrapolated in the step (``richardson=True``
  of :func:`train_on_grid`): at ``gamma0 = 2``, ``t = 2`` the variance decays fast enough
  that 300 steps underestimate it by 14 % (600: 7 %, 1200: 3 %, first order in ``lr``).

Depth-2 linear networks (full mode only) run at widths 64 ... 1024 with 16 seeds: a step costs
``~ N^2`` per network there.
"""

from __future__ import annotations

import numpy as np

from ..sim.training import train
from ..stats import Estimate, extrapolate, fit_power_law, sample_mean
from ..theory import kernels as nk
from ..theory.dmft import deep_linear
from ..theory.dmft import feature_learning as fl
from .registry import compare, register, scaled

_SIGMA = 4.0
_SLOPE_BIAS = 0.1
_LAZY_BIAS = 0.1
_SOLVER_PRECISION = 1e-9
_T_END = 2.0
_TIMES = 21
_STEPS = 300


def task(P: int = 3, D: int = 4, seed: int = 1):
    """``(x, y)``: ``P`` standard Gaussian inputs in ``D`` and targets of order one (the
    first three ``(1, -0.5, 0.8)``, then uniform in ``[-1, 1]``)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((P, D))
    y = np.r_[[1.0, -0.5, 0.8], rng.uniform(-1.0, 1.0, max(P - 3, 0))][:P]
    return x, y


def mlp(depth: int, activation=nk.Tanh):
    """``Dense, activation, ..., Dense(1)``, unit ``W_std``, no biases."""
    layers = []
    for _ in range(depth):
        layers += [nk.Dense(1), activation()]
    return nk.serial(*layers, nk.Dense(1))


def train_on_grid(net, x, y, gamma0: float, widths, replicas: int, seed: int,
                  t_end: float = _T_END, times: int = _TIMES, steps: int = _STEPS,
                  richardson: bool = False) -> dict:
    """Train ``replicas`` Bordelon-Pehlevan networks per width (module docstring), recorded
    at the ``times`` points of ``linspace(0, t_end, times)``: ``t``, ``widths``, ``f``
    ``(R, W, times, P)`` and ``Phi`` ``(R, W, times, L, P, P)``. ``richardson``: also
    train the same networks (same seeds) at ``2 steps`` and return ``2 x(2 steps) -
    x(steps)``, which removes the ``O(lr)`` gradient-descent error of each trajectory."""
    P = len(y)
    f, phi = [], []
    for j, n in enumerate(widths):
        runs = []
        for s in (steps, 2 * steps) if richardson else (steps,):
            run = train(net, x, y, parametrization="mean_field", width=int(n), base_width=1,
                        lr=t_end * P / s, gamma0=gamma0, steps=s,
                        record_every=s // (times - 1), n_replicas=replicas,
                        seed=seed * 7919 + j)
            runs.append((run.f_train, run.Phi))
        if richardson:
            runs = [tuple(2 * b - a for a, b in zip(*runs))]
        f.append(runs[0][0])
        phi.append(runs[0][1])
    return {"t": np.linspace(0.0, t_end, times), "widths": np.asarray(widths),
            "f": np.stack(f, axis=1), "Phi": np.stack(phi, axis=1)}


def equal_time(theory) -> tuple:
    """``(f, f_stderr, Phi, Phi_stderr)`` of a :class:`~nnphys.theory.dmft.feature_learning.
    FeatureLearning` at its kernel times: ``f`` ``(K, P)``, ``Phi`` ``(K, L, P, P)``."""
    k = np.arange(theory.kernel_t.size)
    idx = np.searchsorted(theory.t, theory.kernel_t)

    def diag(m):
        return np.moveaxis(m[:, k, k], 0, 1)
    return (theory.f_train[idx], theory.f_train_stderr[idx], diag(theory.Phi),
            diag(theory.Phi_stderr))


def convergence_rows(name: str, data: dict, f, Phi, f_floor: float = 0.0,
                     Phi_floor: float = 0.0, f_err=None, bias: float = _SLOPE_BIAS,
                     seed: int = 0) -> list:
    """The width-exponent rows (``D_f``, ``D_Phi`` ``~ N^-1``) and the ``N -> infinity``
    rows of ``f(t_end)`` of the module docstring, for networks ``data``
    (:func:`train_on_grid`) against a theory ``f`` ``(times, P)``, ``Phi`` ``(times, L, P,
    P)`` with sampling floors and ``f_err`` (``(P,)`` errors of ``f(t_end)``)."""
    widths = data["widths"]
    d_f = np.mean((data["f"] - f) ** 2, axis=(2, 3))
    d_phi = np.mean((data["Phi"] - Phi) ** 2, axis=(2, 3, 4, 5))
    out = []
    for what, dev, floor in (("f", d_f, f_floor), ("Phi", d_phi, Phi_floor)):
        fit = fit_power_law(widths, per_replica=dev, floor=floor, seed=seed)
        out.append(compare(f"{name}[{what} slope]",
                           f"p in mean(({what}_N - {what}_DMFT)^2) ~ N^-p", 1.0,
                           Estimate(mean=fit.exponent, stderr=fit.stderr,
                                    n_eff=float(dev.shape[0])), sigmas=_SIGMA, bias=bias))
    R = data["f"].shape[0]
    final = data["f"][:, :, -1]
    mean, se = final.mean(axis=0), final.std(axis=0, ddof=1) / np.sqrt(R)
    theory_err = np.zeros(final.shape[2]) if f_err is None else np.asarray(f_err)
    for mu in range(final.shape[2]):
        est = extrapolate(widths, mean[:, mu], se[:, mu], order=1, power=1.0)
        both = Estimate(mean=est.mean, stderr=float(np.hypot(est.stderr, theory_err[mu])),
                        n_eff=float(R))
        out.append(compare(f"{name}[f(t_end) at N=inf, point {mu}]",
                           "f(t_end), networks extrapolated in 1/N", float(f[-1, mu]), both,
                           sigmas=_SIGMA, x=float(mu), x_name="training point",
                           series="N -> infinity"))
    return out


def _rich_theory(quick: bool, seed: int):
    """The DMFT of the width check: ``n_replicas >= 10 N_max`` (module docstring)."""
    widths = [128, 256, 512, 1024] if quick else [128, 256, 512, 1024, 2048, 4096]
    x, y = task()
    theory = fl.solve(mlp(1), x, y, 1.0, np.linspace(0.0, _T_END, _TIMES),
                      n_replicas=10 * widths[-1], tol=1e-6, seed=seed)
    return widths, x, y, theory


def width_data(quick: bool = False, seed: int = 0) -> dict:
    """The networks and the DMFT of :func:`width_convergence`: :func:`train_on_grid`'s
    dict plus ``theory`` (the :class:`~nnphys.theory.dmft.feature_learning.
    FeatureLearning`)."""
    widths, x, y, theory = _rich_theory(quick, seed)
    data = train_on_grid(mlp(1), x, y, 1.0, widths, scaled(32), seed)
    data["theory"] = theory
    return data


@register("feature_learning.width_convergence")
def width_convergence(quick: bool = False, seed: int = 0):
    """muP tanh networks at widths 128 ... 4096 against the feature-learning DMFT
    (gamma0 = 1): mean-square error ~ 1/N in f(t) and Phi(t), and the N -> infinity limit of
    f(t_end)."""
    data = width_data(quick, seed)
    f, f_se, phi, phi_se = equal_time(data["theory"])
    return convergence_rows("feature_learning.width_convergence", data, f, phi,
                            f_floor=float(np.mean(f_se ** 2)),
                            Phi_floor=float(np.mean(phi_se ** 2)), f_err=f_se[-1], seed=seed)


def linear_data(depth: int, quick: bool = False, seed: int = 0) -> dict:
    """Linear networks of :func:`deep_linear_convergence` and their exact DMFT: ``f``
    ``(times, P)``, ``Phi`` ``(times, L, P, P)``, ``bias`` (the time-discretisation bound,
    0 for the ODE)."""
    if depth == 1:
        widths = [128, 256, 512, 1024] if quick else [128, 256, 512, 1024, 2048, 4096]
        replicas = 32
    else:               # the N x N hidden weights make a step ~N^2: smaller, fewer networks
        widths, replicas = [64, 128, 256, 512, 1024], 16
    x, y = task()
    t = np.linspace(0.0, _T_END, _TIMES)
    net = mlp(depth, nk.Identity)
    data = train_on_grid(net, x, y, 1.0, widths, scaled(replicas), seed + depth)
    if depth == 1:
        m = deep_linear.two_layer(x, y, 1.0, t)
        data["f_theory"], data["Phi_theory"], data["bias"] = m.f, m.Phi[:, None], 0.0
        return data
    coarse = deep_linear.solve(net, x, y, 1.0, t)
    fine = deep_linear.solve(net, x, y, 1.0, np.linspace(0.0, _T_END, 2 * _TIMES - 1),
                             kernel_times=np.arange(0, 2 * _TIMES - 1, 2))
    fc, _, pc, _ = equal_time(coarse)
    ff, _, pf, _ = equal_time(fine)
    data["f_theory"] = ff + (ff - fc) / 3.0             # Richardson, error O(dt^2): 2^2 - 1
    data["Phi_theory"] = pf + (pf - pc) / 3.0
    data["bias"] = float(np.max(np.abs(ff - fc))) / 3.0
    return data


@register("feature_learning.deep_linear")
def deep_linear_convergence(quick: bool = False, seed: int = 0):
    """Linear muP networks (depth 1 and 2) against the exact deep linear DMFT: error ~ 1/N
    and the N -> infinity limit of f(t_end)."""
    out = []
    for depth in (1,) if quick else (1, 2):
        data = linear_data(depth, quick, seed)
        rows = convergence_rows(f"feature_learning.deep_linear[depth {depth}]", data,
                                data["f_theory"], data["Phi_theory"],
                                f_err=np.full(data["f"].shape[-1], data["bias"]), seed=seed)
        out += rows
    return out


def lazy_data(quick: bool = False, seed: int = 0) -> dict:
    """:func:`lazy_limit`'s numbers at ``t_end``: ``f`` the ``gamma0 = 0`` DMFT of the tanh
    network and its ``f_stderr``, ``ntk`` the NTK prediction, and ``gammas``, ``linear`` the
    exact deep linear DMFT at ``gamma0 = 0`` and at ``gammas``."""
    x, y = task()
    net = mlp(2)
    t = np.linspace(0.0, _T_END, 11 if quick else _TIMES)
    lazy = fl.solve(net, x, y, 0.0, t, n_replicas=2000 if quick else 8000, seed=seed)
    K = nk.serial(net).kernel(x, get="ntk")
    ntk = nk.predict.gradient_descent_mse(K, y, lr=float(len(y)), t=_T_END).mean
    gammas = np.array([0.05, 0.1, 0.2])
    linear = [deep_linear.solve(mlp(2, nk.Identity), x, y, g, t).f_train[-1]
              for g in np.r_[0.0, gammas]]
    return {"f": lazy.f_train[-1], "f_stderr": lazy.f_train_stderr[-1],
            "ntk": np.asarray(ntk), "gammas": gammas, "linear": np.stack(linear)}


@register("feature_learning.lazy_limit")
def lazy_limit(quick: bool = False, seed: int = 0):
    """gamma0 = 0 DMFT (tanh, depth 2) against NTK gradient descent, and the gamma0^2
    approach of the rich (deep linear) DMFT to its lazy limit."""
    data = lazy_data(quick, seed)
    out = []
    for mu, value in enumerate(data["ntk"]):
        out.append(compare(f"feature_learning.lazy_limit[gamma0=0, point {mu}]",
                           "f(t_end): DMFT at gamma0 = 0 vs gradient_descent_mse", value,
                           Estimate(mean=data["f"][mu], stderr=data["f_stderr"][mu],
                                    n_eff=8.0), sigmas=_SIGMA, bias=_SOLVER_PRECISION,
                           x=float(mu), x_name="training point", series="gamma0 = 0"))
    dev = np.linalg.norm(data["linear"][1:] - data["linear"][0], axis=1)
    fit = fit_power_law(data["gammas"], dev)
    out.append(compare("feature_learning.lazy_limit[approach]",
                       "q in |f(gamma0) - f(0)| ~ gamma0^q at t_end (deep linear)", 2.0,
                       -fit.exponent, bias=_LAZY_BIAS))
    return out


def alignment(kernel, y) -> np.ndarray:
    """Kernel-target alignment ``A = <K, y y^T>_F / (|K|_F |y y^T|_F) = y^T K y / (|K|_F
    |y|^2)`` (Cristianini et al. 2001, "On kernel-target alignment", NIPS 14) of ``(...,
    P, P)`` kernels; Bordelon & Pehlevan (2022, arXiv:2205.09653, Fig. 2) follow it during
    training. Returns ``(...)``."""
    kernel = np.asarray(kernel, dtype=float)
    y = np.asarray(y, dtype=float)
    num = np.einsum("...ij,i,j->...", kernel, y, y)
    return num / (np.linalg.norm(kernel, axis=(-2, -1)) * float(y @ y))


def variance_data(quick: bool = False, seed: int = 0) -> dict:
    """Networks and theory of :func:`prediction_variance`: ``gammas``, ``t``, ``width``,
    ``f`` ``(gammas, R, times)`` and ``theory`` ``(gammas, times)`` (``N Var f``)."""
    gammas, width = np.array([0.5, 1.0, 2.0]), 1024
    replicas = scaled(128 if quick else 512)
    f, theory = [], []
    for k, g in enumerate(gammas):
        d = train_on_grid(mlp(1, nk.Identity), [[1.0]], [1.0], float(g), [width], replicas,
                          seed * 31 + k, richardson=True)
        f.append(d["f"][:, 0, :, 0])
        theory.append(deep_linear.single_point_variance(1.0, float(g), d["t"]).f_variance[:, 0])
    return {"gammas": gammas, "t": d["t"], "width": width, "f": np.stack(f),
            "theory": np.stack(theory)}


@register("feature_learning.prediction_variance")
def prediction_variance(quick: bool = False, seed: int = 0):
    """N Var[f_N(t)] of one-point linear networks against the leading 1/N theory
    (deep_linear.single_point_variance), gamma0 = 0.5, 1, 2."""
    data = variance_data(quick, seed)
    N, out = data["width"], []
    for k, g in enumerate(data["gammas"]):
        f = data["f"][k]
        R = f.shape[0]
        for ti in np.searchsorted(data["t"], [0.5, 1.0, 2.0]):
            dev = N * (f[:, ti] - f[:, ti].mean()) ** 2 * R / (R - 1)
            theory = float(data["theory"][k, ti])
            out.append(compare(f"feature_learning.prediction_variance[gamma0={g:g}, "
                               f"t={data['t'][ti]:g}]", "N Var[f_N(t)]", theory,
                               sample_mean(dev), sigmas=_SIGMA, bias=4.0 / N * theory,
                               x=float(data["t"][ti]), x_name="t", series=f"gamma0 = {g:g}"))
    return out
