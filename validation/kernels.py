"""Infinite-width kernels against sampled finite-width networks.

Tolerances. An ensemble mean of ``S`` networks of width ``n`` differs from the
infinite-width kernel by its Monte Carlo error (standard error ``se``, estimated from the
samples) plus the finite-width bias, which is ``O(1/n)`` (Roberts, Yaida & Hanin 2022,
arXiv:2106.10165, ch. 4: the 1/n shift of the two-point function grows linearly with the
depth ``L``). Each check allows ``4 se + L |K| / n`` (``compare(..., sigmas=4,
bias=L |K| / n)`` with the ensemble's :class:`~nnphys.stats.Estimate`); the bias term is an
upper estimate stated per check, the 4 standard errors make a false alarm a ~1e-4 event per
comparison.
"""

from __future__ import annotations

import math

import numpy as np

from ..sim import networks
from ..stats import Estimate, sample_mean, weighted_least_squares
from ..theory import kernels as nk
from .registry import compare, register, scaled

_SIGMA = 4.0


def _inputs(seed: int, n: int = 3, d: int = 8) -> np.ndarray:
    """Inputs on the sphere of radius sqrt(d), sharing a common direction so that their
    correlations are O(1) (about 0.1 to 0.8) in any dimension."""
    rng = np.random.default_rng(seed)
    common = rng.standard_normal(d)
    angles = np.linspace(0.5, 1.3, n)
    x = np.cos(angles)[:, None] * common / np.linalg.norm(common) + \
        np.sin(angles)[:, None] * _orthonormal_noise(rng, n, d, common)
    return x * math.sqrt(d)


def _orthonormal_noise(rng, n, d, common):
    noise = rng.standard_normal((n, d))
    noise -= np.outer(noise @ common, common) / (common @ common)
    return noise / np.linalg.norm(noise, axis=1, keepdims=True)


def _mlp(act, depth: int, width: int, param: str = "ntk", n_out: int = 1):
    layers = []
    for _ in range(depth):
        layers += [nk.Dense(width, 1.4, 0.1, param), act]
    return nk.serial(*layers, nk.Dense(n_out, 1.4, 0.1, param))


_READOUT = 64     # output channels averaged in empirical NNGPs (near-Gaussian sample means)


def _entry_comparisons(name, kind, theory, measured: Estimate, depth, width):
    return [compare(name, f"{kind}({label})", theory[i, j], measured[i, j], sigmas=_SIGMA,
                    bias=depth * abs(theory[i, j]) / width)
            for (i, j), label in (((0, 0), "x0,x0"), ((0, 1), "x0,x1"), ((1, 2), "x1,x2"))]


@register("kernels.nngp_vs_ensemble")
def nngp_vs_ensemble(quick: bool = False, seed: int = 0):
    """Empirical NNGP of sampled ReLU and erf MLPs (depth 2) vs the infinite-width NNGP."""
    width, samples = (256, 32) if quick else (1024, 128)
    samples = scaled(samples)
    x = _inputs(seed)
    out = []
    for act in (nk.Relu(), nk.Erf()):
        net = _mlp(act, 2, width, n_out=_READOUT)
        theory = net.kernel(x, get="nngp")
        emp = networks.empirical_kernels(net, x, n_replicas=samples, seed=seed, get="nngp")
        out += _entry_comparisons(f"kernels.nngp_vs_ensemble[{type(act).__name__}]", "nngp",
                                  theory, emp.nngp, 2, width)
    return out


@register("kernels.ntk_vs_ensemble")
def ntk_vs_ensemble(quick: bool = False, seed: int = 0):
    """Empirical NTK (analytic gradients) of sampled MLPs vs the infinite-width NTK, in the
    NTK and the standard parameterization."""
    width, samples = (256, 16) if quick else (1024, 64)
    samples = scaled(samples)
    x = _inputs(seed + 1)
    out = []
    for act, param in ((nk.Relu(), "ntk"), (nk.Erf(), "ntk"), (nk.Relu(), "standard")):
        net = _mlp(act, 2, width, param)
        theory = net.kernel(x, get="ntk")
        emp = networks.empirical_kernels(net, x, n_replicas=samples, seed=seed)
        out += _entry_comparisons(f"kernels.ntk_vs_ensemble[{type(act).__name__},{param}]",
                                  "ntk", theory, emp.ntk, 2, width)
    return out


def ntk_errors(widths, samples: int, seed: int) -> Estimate:
    """RMS relative deviation of single-network empirical NTKs from the limit, per width:
    ``sqrt(E[err^2])`` over ``samples`` networks, its standard error by the delta method
    (``se(E err^2) / (2 rms)``)."""
    x = _inputs(seed + 2, n=4)
    squares = []
    for width in widths:
        net = _mlp(nk.Relu(), 2, int(width))
        theory = net.kernel(x, get="ntk")
        emp = networks.empirical_kernels(net, x, n_replicas=samples, seed=seed + int(width))
        squares.append(sample_mean(np.mean(((emp.ntk_samples - theory)
                                            / np.abs(theory).max()) ** 2, axis=(1, 2))))
    rms = np.sqrt([s.mean for s in squares])
    return Estimate(mean=rms, stderr=np.array([s.stderr for s in squares]) / (2 * rms),
                    n_eff=np.full(rms.shape, float(samples)))


@register("kernels.ntk_error_scaling")
def ntk_error_scaling(quick: bool = False, seed: int = 0):
    """The empirical NTK's fluctuation shrinks like width^(-1/2) (Jacot et al. 2018;
    Hanin & Nica 2019): log-log slope of the RMS error over widths vs -1/2.

    Tolerance: 4 standard errors of the fitted slope (propagated from the per-width
    standard errors) plus 0.05 for the O(1/n) bias that bends the curve at small widths.
    """
    widths = np.array([64, 128, 256, 512]) if quick else np.array([64, 128, 256, 512, 1024, 2048])
    samples = scaled(12 if quick else 48)
    rms = ntk_errors(widths, samples, seed)
    logw = np.log(widths)
    fit = weighted_least_squares(np.c_[np.ones_like(logw), logw], np.log(rms.mean),
                                 rms.stderr / rms.mean)
    slope = Estimate(mean=fit.coefficients[1], stderr=fit.stderr[1], n_eff=float(len(widths)))
    return compare("kernels.ntk_error_scaling", "d log err / d log width", -0.5, slope,
                   sigmas=_SIGMA, bias=0.05)


@register("kernels.trained_vs_ntk")
def trained_vs_ntk(quick: bool = False, seed: int = 0):
    """Wide ReLU networks trained by full-batch gradient descent on MSE (centred: the output
    at initialisation subtracted): test predictions averaged over initialisations vs the
    infinite-width NTK prediction (``gradient_descent_mse``) at the same time.

    Tolerance: 4 standard errors over seeds, plus ``|prediction| / sqrt(width)`` for the
    linearisation error of finite networks (Lee et al. 2019, arXiv:1902.06720, thm 2.1),
    plus the discretisation error of gradient descent vs gradient flow,
    ``<= max_x x^2 e^{-x} / (2 steps) <= 0.3 / steps`` of the target scale.
    """
    width, seeds, steps = (512, 8, 200) if quick else (2048, 24, 400)
    rng = np.random.default_rng(seed + 3)
    x_train = _inputs(seed + 4, n=8, d=5)
    x_test = _inputs(seed + 5, n=3, d=5)
    y = np.sin(x_train[:, :1]) + 0.5 * x_train[:, 1:2]
    net = _mlp(nk.Relu(), 1, width)
    k = net.kernel(np.vstack([x_train, x_test]))
    theta_tt, theta_st = k.ntk[:8, :8], k.ntk[8:, :8]
    lam_max = np.linalg.eigvalsh(theta_tt)[-1]
    lr = 0.05 * y.size / lam_max
    theory = nk.gradient_descent_mse(theta_tt, y, lr, steps, ntk_test_train=theta_st).mean
    measured = sample_mean([networks.train_mse(net, x_train, y, x_test, lr=lr, steps=steps,
                                               seed=int(rng.integers(2**31)),
                                               centered=True).final
                            for _ in range(seeds)])
    scale = np.abs(y).max()
    return [compare("kernels.trained_vs_ntk", f"f_test[{i}] at t={steps}", theory[i, 0],
                    measured[i, 0], sigmas=_SIGMA,
                    bias=abs(theory[i, 0]) / math.sqrt(width) + 0.3 / steps * scale)
            for i in range(3)]


@register("kernels.cross_entropy_vs_ntk")
def cross_entropy_vs_ntk(quick: bool = False, seed: int = 0):
    """Wide erf networks (3 classes) trained by full-batch gradient descent on the
    cross-entropy, centred (the output at initialisation subtracted): test logits averaged
    over initialisations vs the infinite-width function-space ODE
    (``gradient_descent("cross_entropy", ...)``) at the same time.

    Tolerance: 4 standard errors over seeds, plus ``|prediction| / sqrt(width)`` for the
    linearisation error of finite networks (as ``kernels.trained_vs_ntk``), plus the Euler
    error of discrete steps against the flow, ``<= a / (2e)`` of the logit scale for
    ``a = lr lambda_max / y.size = 0.02`` (the linearised bound
    ``max_k k a^2 e^{-k a} / 2``).
    """
    width, seeds = (512, 8) if quick else (2048, 24)
    x_train = _inputs(seed + 6, n=9, d=5)
    x_test = _inputs(seed + 7, n=3, d=5)
    labels = np.arange(9) % 3
    net = _mlp(nk.Erf(), 1, width, n_out=3)
    k = net.kernel(np.vstack([x_train, x_test]), get="ntk")
    a = 0.02
    lr = a / 2 * nk.max_learning_rate(k[:9, :9], labels.size * 3)
    steps = 1000
    theory = nk.gradient_descent("cross_entropy", k[:9, :9], labels, lr, t=float(steps),
                                 ntk_test_train=k[9:, :9]).f_test
    rng = np.random.default_rng(seed + 8)
    measured = sample_mean([networks.train_gd(net, x_train, labels, x_test,
                                              loss="cross_entropy", lr=lr, steps=steps,
                                              seed=int(rng.integers(2**31)),
                                              centered=True).final
                            for _ in range(seeds)])
    scale = np.abs(theory).max()
    return [compare("kernels.cross_entropy_vs_ntk", f"f_test[{i}, {c}] at t={steps}",
                    theory[i, c], measured[i, c], sigmas=_SIGMA,
                    bias=abs(theory[i, c]) / math.sqrt(width) + a / (2 * math.e) * scale)
            for i, c in ((0, 0), (1, 1), (2, 2), (0, 2))]


@register("kernels.nongaussian_weights")
def nongaussian_weights(quick: bool = False, seed: int = 0):
    """Orthogonal, sparse (density 0.3) and low-rank (rank width/4) weights of the same
    variance give the IID-Gaussian NNGP at large width (the pseudo-iid universality of
    "Beyond IID weights"); erf MLP of depth 2. Every fan-in must be large, the input
    dimension included (d = 256 here): a sparse first layer on few inputs is not Gaussian."""
    width, samples = (256, 24) if quick else (1024, 96)
    x = _inputs(seed + 6, d=256)
    net = _mlp(nk.Erf(), 2, width, n_out=_READOUT)
    theory = net.kernel(x, get="nngp")
    out = []
    for law in ("orthogonal", "sparse", "lowrank"):
        emp = networks.empirical_kernels(net, x, n_replicas=samples, seed=seed, weights=law,
                                         density=0.3, get="nngp")
        # Low rank r = n/4 adds a 1/r = 4/n bias per layer; sparse adds ~1/(p n); the
        # 256-dimensional input layer adds the same with n -> 256.
        bias_factor = {"orthogonal": 1.0, "sparse": 1 / 0.3, "lowrank": 4.0}[law]
        for (i, j), label in (((0, 0), "x0,x0"), ((0, 1), "x0,x1")):
            bias = bias_factor * abs(theory[i, j]) * (2 / width + 1 / x.shape[1])
            out.append(compare(f"kernels.nongaussian_weights[{law}]", f"nngp({label})",
                               theory[i, j], emp.nngp[i, j], sigmas=_SIGMA, bias=bias))
    return out
