"""Learning curves of kernel regression (Bordelon, Canatar & Pehlevan 2020, arXiv:2002.02561;
Canatar, Bordelon & Pehlevan 2021, arXiv:2006.13198, Figs. 1-3): lines are the spectral
learning curve (theory.generalization), points simulated kernel regression (mean +- SE over
draws of the training set), the setups of :mod:`nnphys.validation.generalization`.

* ``learning-curves`` -- test error against ``P`` for a power-law spectrum (Gaussian design)
  and the ReLU NNGP and NTK on the sphere ``S^19`` (ridge 0, noise 1: the double-descent peak
  at ``P = 231``, and ridge ``1e-3``);
* ``spectral-bias`` -- the error of single modes of the power-law spectrum, relative to their
  power, against ``P``: modes are learned in the order of their eigenvalues;
* ``digits-learning-curves`` -- NNGP and NTK regression on scikit-learn's digits from the
  empirical spectrum (one-hot targets), with the spectrum and the cumulative target power
  ``C(rho)``. Needs scikit-learn (``nnphys[data]``).
"""

from __future__ import annotations

import numpy as np

from ..models.network import as_rng
from ..sim.regression import gaussian_design, kernel_ridge
from ..stats import sample_mean
from ..theory.generalization import learning_curve, spectral_learning_curve
from ..validation import generalization as vg
from .registry import Figure, register

_M, _ALPHA, _NOISE_PL = 400, 1.5, 0.1       # power law: lambda_i = i^-1.5, v_i^2 = i^-1


def _power_law():
    i = np.arange(1, _M + 1.0)
    return i ** -_ALPHA, i ** -0.5


def _curves_compute(quick: bool) -> dict:
    draws = 8 if quick else 30
    dense = np.unique(np.geomspace(5, 1500, 200).round())
    data = {"P_dense": dense}
    lam, v = _power_law()
    grid = np.array([10, 30, 100, 300, 600, 1200] if not quick else [10, 100, 600])
    data["pl/P"] = grid
    data["pl/theory"] = spectral_learning_curve(lam, v ** 2, dense, noise=_NOISE_PL).test_error
    runs = [gaussian_design(lam, v, int(P), noise=_NOISE_PL, n_replicas=draws, seed=11 + j)
            .test_error for j, P in enumerate(grid)]
    data["pl/sim"] = np.array([r.mean[0] for r in runs])
    data["pl/se"] = np.array([r.stderr[0] for r in runs])
    sphere = np.array([30, 100, 200, 231, 260, 400, 800] if not quick else [30, 231, 400])
    data["sphere/P"] = sphere
    ridges = (0.0, 1e-3)
    for g, get in enumerate(("nngp", "ntk")):
        for r, ridge in enumerate(ridges):
            data[f"{get}/theory/{r}"] = learning_curve(vg._NET, vg._D, vg._POWERS, P=dense,
                                                       ridge=ridge, noise=vg._NOISE,
                                                       get=get).test_error
        sim, se = [], []
        for j, P in enumerate(sphere):
            est = sample_mean(vg.sphere_draws(int(P), get, ridges, draws, 500 + 31 * g + j)[0])
            sim.append(est.mean)
            se.append(est.stderr)
        data[f"{get}/sim"], data[f"{get}/se"] = np.array(sim), np.array(se)
    return data


def _curves_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2))
    P = data["P_dense"]
    ax = axes[0]
    ax.plot(P, data["pl/theory"], "-", color="C0", label="theory")
    ax.errorbar(data["pl/P"], data["pl/sim"], data["pl/se"], fmt="o", ms=4, color="C0",
                label="kernel regression")
    ax.axvline(_M, color="0.6", lw=0.6, ls=":")
    ax.set_title(f"power law $\\lambda_i = i^{{-{_ALPHA}}}$, {_M} modes, ridge 0, "
                 f"noise {_NOISE_PL}", fontsize=9)
    ax = axes[1]
    for g, get in enumerate(("nngp", "ntk")):
        for r, (ls, ridge) in enumerate((("-", "0"), ("--", "1e-3"))):
            ax.plot(P, data[f"{get}/theory/{r}"], ls, color=f"C{g + 1}",
                    label=f"{get.upper()} theory, ridge {ridge}")
        ax.errorbar(data["sphere/P"], data[f"{get}/sim"][:, 0], data[f"{get}/se"][:, 0],
                    fmt="o", ms=4, color=f"C{g + 1}", label=f"{get.upper()} regression, "
                                                          "ridge 0")
        ax.errorbar(data["sphere/P"], data[f"{get}/sim"][:, 1], data[f"{get}/se"][:, 1],
                    fmt="s", ms=4, mfc="none", color=f"C{g + 1}",
                    label=f"{get.upper()} regression, ridge 1e-3")
    ax.set_title(f"ReLU net on $S^{{{vg._D - 1}}}$, target degrees 1, 2, 4, noise "
                 f"{vg._NOISE:g}", fontsize=9)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training samples P")
        ax.legend(frameon=False, fontsize=7)
    axes[0].set_ylabel("test error $E_g$ (clean target)")
    fig.tight_layout()
    return fig


_MODES = (1, 3, 10, 30, 100)


def mode_mse(curve) -> np.ndarray:
    """Expected population error of each mode, ``E[(w_i - v_i)^2] = (1 - L_i)^2 v_i^2 +
    L_i^2 E_mse / P`` per ``P`` and level, with ``E_mse`` the noisy-label test error (Simon
    et al. 2023, arXiv:2110.03922: the learned coefficients have mean ``L_i v_i`` and
    variance ``L_i^2 E_mse / P``). Summed over modes it is ``LearningCurve.test_error``;
    ``LearningCurve.mode_errors`` splits the same total differently (``E0`` times each
    bias), which is not the error of a single mode."""
    L = curve.learnability
    return (1 - L) ** 2 * curve.target_power + L ** 2 * (curve.test_mse / curve.P)[:, None]


def _bias_compute(quick: bool) -> dict:
    """Mode-wise errors of the power-law spectrum: ``(w_i - v_i)^2 / v_i^2`` per mode of the
    Gaussian design, ridge ``1e-3``, no noise (the population error of each mode is exact)."""
    lam, v = _power_law()
    ridge = 1e-3
    dense = np.unique(np.geomspace(3, 3000, 200).round())
    idx = np.array(_MODES) - 1
    theory = mode_mse(learning_curve(lam, v ** 2, dense, ridge=ridge))[:, idx] / v[idx] ** 2
    grid = np.array([5, 20, 60, 200, 600, 2000] if not quick else [5, 60, 600])
    draws = 6 if quick else 24
    sim, se = [], []
    for j, P in enumerate(grid):
        rows = []
        for rng in as_rng(77 + j).spawn(draws):
            phi = rng.standard_normal((int(P), lam.size))
            alpha = kernel_ridge((phi * lam) @ phi.T, phi @ v, ridge)[0]
            w = (alpha @ phi) * lam
            rows.append((w[idx] - v[idx]) ** 2 / v[idx] ** 2)
        est = sample_mean(np.array(rows))
        sim.append(est.mean)
        se.append(est.stderr)
    return {"P_dense": dense, "theory": theory, "P": grid, "sim": np.array(sim),
            "se": np.array(se), "modes": np.array(_MODES)}


def _bias_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for c, mode in enumerate(data["modes"]):
        ax.plot(data["P_dense"], data["theory"][:, c], "-", color=f"C{c}",
                label=f"mode {mode}")
        ax.errorbar(data["P"], data["sim"][:, c], data["se"][:, c], fmt="o", ms=4,
                    color=f"C{c}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-6, 3)
    ax.set_xlabel("training samples P")
    ax.set_ylabel("mode error $E_i / v_i^2$")
    ax.set_title(f"spectral bias: power law, {_M} modes, ridge 1e-3 (points: regression)",
                 fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def _digits_compute(quick: bool) -> dict:
    from .. import datasets
    from ..theory.generalization.empirical import empirical_learning_curve, empirical_spectrum
    x, y, _ = datasets.digits()
    M = x.shape[0]
    dense = np.unique(np.geomspace(5, 600, 120).round())
    grid = np.array([10, 30, 100, 300] if quick else [5, 10, 20, 50, 100, 200, 400, 600])
    draws = 10 if quick else 40
    data = {"P_dense": dense, "P": grid, "M": np.array(M)}
    for g, get in enumerate(("nngp", "ntk")):
        K = vg._DIGITS_NET.kernel(x, get=get)
        spec = empirical_spectrum(K, y)
        data[f"{get}/eigenvalues"] = spec.eigenvalues
        data[f"{get}/cumulative"] = spec.cumulative_power()
        data[f"{get}/theory"] = vg.digits_theory(empirical_learning_curve(K, y, dense),
                                                 dense, M)
        runs = [sample_mean(vg.digits_draws(K, y, int(P), draws, 900 + 31 * g + j))
                for j, P in enumerate(grid)]
        data[f"{get}/sim"] = np.array([r.mean for r in runs])
        data[f"{get}/se"] = np.array([r.stderr for r in runs])
    return data


def _digits_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for g, get in enumerate(("nngp", "ntk")):
        col = f"C{g}"
        axes[0].plot(data["P_dense"], data[f"{get}/theory"], "-", color=col,
                     label=f"{get.upper()} theory (empirical spectrum)")
        axes[0].errorbar(data["P"], data[f"{get}/sim"], data[f"{get}/se"], fmt="o", ms=4,
                         color=col, label=f"{get.upper()} regression, held-out")
        rho = np.arange(1, data[f"{get}/eigenvalues"].size + 1)
        axes[1].plot(rho, data[f"{get}/eigenvalues"], color=col, label=get.upper())
        axes[2].plot(rho, data[f"{get}/cumulative"], color=col, label=get.upper())
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("training samples P")
    axes[0].set_ylabel("held-out squared error (10 one-hot outputs)")
    axes[0].set_title(f"digits, ReLU 2 hidden layers, ridge 0, M = {int(data['M'])}",
                      fontsize=9)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("mode $\\rho$")
    axes[1].set_ylabel("eigenvalue $\\lambda_\\rho$")
    axes[1].set_title("empirical spectrum", fontsize=9)
    axes[2].set_xscale("log")
    axes[2].set_xlabel("mode $\\rho$")
    axes[2].set_ylabel("cumulative target power $C(\\rho)$")
    axes[2].set_title("task-model alignment", fontsize=9)
    for ax in axes:
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


register(Figure("learning-curves", _curves_compute, _curves_plot,
                "kernel-regression learning curves: power law and ReLU NNGP/NTK on the sphere"))
register(Figure("spectral-bias", _bias_compute, _bias_plot,
                "mode-wise errors of kernel regression against P (spectral bias)"))
register(Figure("digits-learning-curves", _digits_compute, _digits_plot,
                "NNGP/NTK learning curves on scikit-learn's digits from the empirical spectrum"))
