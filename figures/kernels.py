"""Kernel figures: NNGP/NTK against the input angle, and the empirical NTK's
convergence with width (Jacot et al. 2018, arXiv:1806.07572, fig. 1 in spirit)."""

from __future__ import annotations

import math

import numpy as np

from ..sim import networks
from ..theory import kernels as nk
from ..validation.kernels import ntk_errors
from .registry import Figure, register

_ACTIVATIONS = {"ReLU": nk.Relu, "erf": nk.Erf, "tanh": nk.Tanh, "GELU": nk.Gelu}


def _circle(n: int) -> np.ndarray:
    angles = np.linspace(-math.pi, math.pi, n)
    return angles, np.column_stack([np.cos(angles), np.sin(angles)]) * math.sqrt(2)


def _angle_compute(quick: bool) -> dict:
    angles, x = _circle(9 if quick else 25)
    dense_angles, dense_x = _circle(201)
    width, samples = (128, 8) if quick else (1024, 32)
    data = {"angle": angles, "angle_dense": dense_angles}
    reference = np.array([[math.sqrt(2), 0.0]])          # the input at angle 0
    for name, act in _ACTIVATIONS.items():
        def net(n_out):
            return nk.serial(nk.Dense(width, 1.5, 0.1), act(), nk.Dense(width, 1.5, 0.1),
                             act(), nk.Dense(n_out, 1.5, 0.1))
        k = net(1).kernel(reference, dense_x)
        # NNGP from 32 output channels per network (a near-Gaussian sample mean), NTK from one.
        nngp = networks.empirical_kernels(net(32), reference, x, n_replicas=samples,
                                          seed=1, get="nngp").nngp[0]
        ntk = networks.empirical_kernels(net(1), reference, x, n_replicas=samples, seed=2).ntk[0]
        data[f"{name}/nngp"], data[f"{name}/ntk"] = k.nngp[0], k.ntk[0]
        data[f"{name}/nngp_emp"], data[f"{name}/ntk_emp"] = nngp.mean, ntk.mean
        data[f"{name}/nngp_se"], data[f"{name}/ntk_se"] = nngp.stderr, ntk.stderr
    return data


def _angle_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharex=True)
    for ax, kind in zip(axes, ("nngp", "ntk")):
        for i, name in enumerate(_ACTIVATIONS):
            color = f"C{i}"
            ax.plot(data["angle_dense"], data[f"{name}/{kind}"], color=color, label=name)
            ax.errorbar(data["angle"], data[f"{name}/{kind}_emp"], data[f"{name}/{kind}_se"],
                        fmt="o", ms=3, color=color)
        ax.set_xlabel("angle between inputs")
        ax.set_title(kind.upper() + " (lines: theory, points: sampled nets)")
    axes[0].legend(frameon=False)
    fig.tight_layout()
    return fig


def _error_compute(quick: bool) -> dict:
    widths = np.array([32, 64, 128, 256]) if quick else np.array([32, 64, 128, 256, 512, 1024, 2048])
    rms = ntk_errors(widths, 6 if quick else 32, seed=0)
    return {"width": widths, "rms": rms.mean, "stderr": rms.stderr}


def _error_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    ax.errorbar(data["width"], data["rms"], data["stderr"], fmt="o", label="sampled ReLU nets")
    ref = data["rms"][0] * np.sqrt(data["width"][0] / data["width"])
    ax.plot(data["width"], ref, "k--", label=r"$\propto n^{-1/2}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("width n")
    ax.set_ylabel("RMS relative NTK error")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


register(Figure("kernel-vs-angle", _angle_compute, _angle_plot,
                "NNGP/NTK vs input angle: ReLU, erf, tanh, GELU; theory and ensembles"))
register(Figure("ntk-error-vs-width", _error_compute, _error_plot,
                "empirical-to-limit NTK error vs width (log-log)"))
