"""abc-parametrizations (theory.parametrization) against finite networks trained at
increasing width (sim.training): the coordinate check and learning-rate transfer.

* **Coordinate check** (Tensor Programs V, Yang et al. 2022, arXiv:2203.03466, Sec. 6 and
  App. D.1). ``Dense - tanh - Dense - tanh - Dense(1)`` (depth 2, ``parameterization=
  "standard"``, ``W_std = 1``) on ``P = 8`` Gaussian inputs in ``d = 16`` with a tanh
  teacher, base width 128 (where every parametrization is the same standard network),
  one SGD step of full-batch GD at lr 0.05 in SP at a fixed lr (``c = 0``), NTK and muP.
  The RMS change ``dh_rms`` of each layer's preactivations after the step is fitted as
  ``n^{-p}`` over widths 128 ... 2048 (quick: ... 1024) by
  :func:`nnphys.stats.fit_power_law` with a bootstrap over the replicas (its one-sigma
  error is the ``stderr``), and ``p`` is compared with the first-step exponent of
  :func:`nnphys.theory.parametrization.classify`: SP ``(1/2, -1/2, -1)`` (the hidden
  layer and the output grow), NTK ``(1/2, 1/2, 0)``, muP ``(0, 0, 0)`` (flat). Stated bias
  0.05: the next order of the change is relatively ``O(n^{-1/2})``, at most ``1/sqrt(128)
  = 0.09`` in ``log dh`` at the smallest width, over a lever arm ``log 16 = 2.8`` (quick
  ``log 8``): a slope error ``<= 0.03 - 0.04``.
* **Learning-rate transfer** (Tensor Programs V, Sec. 3, Fig. 1). ``Dense - tanh - Dense(1)``
  (one hidden layer: the sweep is many trainings), ``P = 32`` Gaussian inputs in ``d = 8``,
  tanh teacher, 30 (quick 20) steps of full-batch GD, base width 64; the final training
  loss (mean over replicas; a diverged run counts as infinite) on a grid of learning rates
  spaced by ``2^{1/2}``; the loss-optimal ``lr*`` per width; the drift exponent
  ``d log lr* / d log n`` from a weighted least-squares line, the grid's quantisation
  (uniform, ``log(2^{1/2}) / sqrt(12)`` per point) as the error of each ``log lr*``.
  Theory: ``lr* ~ n^{-c*}`` with ``c*`` the smallest extra lr exponent at which the
  parametrization is stable (classify over ``c``): SP at a fixed lr ``c* = 1`` (the NTK's
  output-layer part grows like ``n``), muP ``c* = 0`` (transfer). Stated bias: SP 0.25 (its
  width-independent input-layer NTK part, comparable to the output part at the base width,
  makes ``lambda_max ~ n (1 + O(n0/n))``: a shift ``<= log 2 / log 16`` of the slope), muP
  0.1 (the optimum moves by the ``O(n^{-1/2})`` finite-width corrections of the dynamics,
  ``log(1 + 1/8)/log 16 = 0.04``, doubled for the quantised argmin).
"""

from __future__ import annotations

import math

import numpy as np

from ..sim.training import train
from ..stats import Estimate, fit_power_law, weighted_least_squares
from ..theory import kernels as nk
from ..theory import parametrization as pz
from .registry import compare, register, scaled

_SIGMA = 4.0
_COORD_BIAS = 0.05
_TRANSFER_BIAS = {"sp": 0.25, "mup": 0.1}
_COORD = {"sp": pz.named("sp", 2, c=0), "ntk": pz.named("ntk", 2), "mup": pz.named("mup", 2)}
_TRANSFER = {"sp": pz.named("sp", 1, c=0), "mup": pz.named("mup", 1)}
_LR_STEP = 2.0 ** 0.5


def _task(P, d, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((P, d))
    teacher = rng.standard_normal(d) / math.sqrt(d)
    return x, np.tanh(2.0 * x @ teacher)


def _net(depth):
    layers = []
    for _ in range(depth):
        layers += [nk.Dense(1, parameterization="standard"), nk.Tanh()]
    return nk.serial(*layers, nk.Dense(1, parameterization="standard"))


def coordinate_data(quick: bool = False, seed: int = 0) -> dict:
    """``widths`` and, per parametrization name, ``dh`` ``(n_replicas, widths, 3)``: the RMS
    change of each layer's preactivations after one step (module docstring)."""
    widths = np.array([128, 256, 512, 1024] if quick else [128, 256, 512, 1024, 2048])
    replicas = scaled(3 if quick else 6)
    x, y = _task(8, 16, seed)
    data = {"widths": widths}
    for name, p in _COORD.items():
        dh = np.empty((replicas, widths.size, p.depth + 1))
        for j, n in enumerate(widths):
            run = train(_net(2), x, y, parametrization=p, width=int(n), base_width=128,
                        lr=0.05, steps=1, record_every=1, n_replicas=replicas,
                        seed=seed * 7919 + j, record_kernels=False)
            dh[:, j] = run.dh_rms[:, 1]
        data[name] = dh
    return data


@register("parametrization.coordinate_check")
def coordinate_check(quick: bool = False, seed: int = 0):
    """Width exponents of each layer's change after one step, SP / NTK / muP, against
    classify()'s first-step exponents."""
    data = coordinate_data(quick, seed)
    out = []
    for name, p in _COORD.items():
        theory = pz.classify(p).exponents_first_step
        for l in range(p.depth + 1):
            fit = fit_power_law(data["widths"], per_replica=data[name][:, :, l], seed=seed)
            layer = "output" if l == p.depth else f"layer {l + 1}"
            out.append(compare(f"parametrization.coordinate_check[{name},{layer}]",
                               "p in dh_rms ~ width^-p after one step", theory[l],
                               Estimate(mean=fit.exponent, stderr=fit.stderr, n_eff=float(
                                   data[name].shape[0])), sigmas=_SIGMA, bias=_COORD_BIAS,
                               x=l + 1, x_name="layer", series=name))
    return out


def transfer_data(quick: bool = False, seed: int = 0) -> dict:
    """``widths``, ``lrs`` and per parametrization ``loss`` ``(widths, lrs)``: the final
    training loss of the sweep (module docstring)."""
    widths = np.array([64, 256, 1024] if quick else [64, 256, 1024, 4096])
    steps, replicas = (20, 1) if quick else (30, 2)
    lrs = 2.0 ** np.arange(-7.0, 3.01, 0.5)
    x, y = _task(32, 8, seed + 1)
    data = {"widths": widths, "lrs": lrs}
    for name, p in _TRANSFER.items():
        loss = np.full((widths.size, lrs.size), np.inf)
        for j, n in enumerate(widths):
            for k, lr in enumerate(lrs):
                run = train(_net(1), x, y, parametrization=p, width=int(n), base_width=64,
                            lr=float(lr), steps=steps, n_replicas=replicas,
                            seed=seed * 7919 + j, record_kernels=False, diverged="mark")
                final = np.where(run.diverged, np.inf, run.loss[:, -1])
                loss[j, k] = np.mean(np.where(np.isfinite(final), final, np.inf))
                if k > 2 and not np.isfinite(loss[j, k]) and not np.isfinite(loss[j, k - 1]):
                    break                               # diverged twice: larger lr diverge
        data[name] = loss
    return data


def optimal_lr(lrs, loss) -> np.ndarray:
    """The loss-optimal learning rate on the grid, per row of ``loss``."""
    return np.asarray(lrs)[np.argmin(loss, axis=1)]


def drift_exponent(widths, lr_star) -> Estimate:
    """Slope of ``log lr*`` against ``log n`` (weighted least squares, each point's error
    the grid quantisation ``log(2^{1/2}) / sqrt(12)``)."""
    logn = np.log(np.asarray(widths, dtype=float))
    se = np.full(logn.size, math.log(_LR_STEP) / math.sqrt(12.0))
    fit = weighted_least_squares(np.c_[np.ones_like(logn), logn], np.log(lr_star), se)
    return Estimate(mean=float(fit.coefficients[1]), stderr=float(fit.stderr[1]),
                    n_eff=float(logn.size))


def critical_lr_exponent(p) -> float:
    """``-c*``: the smallest uniform extra lr exponent ``c*`` (in steps of 1/4) at which
    ``p`` is stable, negated (``lr* ~ n^{-c*}``)."""
    for extra in np.arange(-2.0, 3.01, 0.25):
        q = pz.Parametrization(p.a, p.b, tuple(np.array(p.c) + extra), p.optimizer)
        if pz.classify(q).stable:
            return -float(extra)
    return math.nan


@register("parametrization.lr_transfer")
def lr_transfer(quick: bool = False, seed: int = 0):
    """Drift exponent of the loss-optimal lr with width: muP 0 (transfer), SP at a fixed lr
    -1."""
    data = transfer_data(quick, seed)
    out = []
    for name, p in _TRANSFER.items():
        est = drift_exponent(data["widths"], optimal_lr(data["lrs"], data[name]))
        out.append(compare(f"parametrization.lr_transfer[{name}]",
                           "d log lr* / d log width", critical_lr_exponent(p), est,
                           sigmas=_SIGMA, bias=_TRANSFER_BIAS[name]))
    return out
