"""Deep random features (Schröder, Cui, Dmitriev & Loureiro 2023, arXiv:2302.00401): test
error of ridge regression on the last layer of a two-layer random network (widths ``k, k``,
``d = 60``, linear teacher, label noise 0.05, ridge 1e-2) against the width ``k``, at two
sample sizes. Lines: the deterministic equivalent of the equivalent Gaussian model
(theory.generalization.deep_random_features), averaged over the simulated draws; points:
simulated ridge regression (sim.random_features), mean +- SE over draws of the weights, the
teacher and the data; the interpolation peak sits at ``k = P``."""

from __future__ import annotations

import numpy as np

from ..models import network
from ..sim import random_features as srf
from ..theory.generalization import deep_random_features as drf
from .registry import Figure, register

D, RIDGE, NOISE = 60, 1e-2, 0.05
P = np.array([60, 240])


def _compute(quick: bool) -> dict:
    widths = np.array([20, 40, 80, 160, 320] if quick else [20, 30, 40, 60, 80, 120, 160,
                                                           240, 320, 480])
    draws = 8 if quick else 24
    data = {"widths": widths, "P": P}
    for name, act in (("relu", network.Relu()), ("tanh", network.Tanh())):
        theory, sim, se = [], [], []
        for i, k in enumerate(widths):
            per_draw = []
            run = srf.deep_ridge(D, (int(k), int(k)), act, P, ridge=RIDGE, noise=NOISE,
                                 draws=draws, n_test=2000, seed=1000 + i,
                                 on_draw=lambda W, t, act=act: per_draw.append(
                                     drf.test_error(W, act, t, P, ridge=RIDGE,
                                                    noise=NOISE).test_error))
            theory.append(np.mean(per_draw, axis=0))
            sim.append(run.test_error.mean)
            se.append(run.test_error.stderr)
        data[f"{name}/theory"] = np.array(theory)
        data[f"{name}/sim"] = np.array(sim)
        data[f"{name}/stderr"] = np.array(se)
    return data


def _plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    k = data["widths"]
    for ax, name in zip(axes, ("relu", "tanh")):
        for j, n in enumerate(data["P"]):
            col = f"C{j}"
            ax.plot(k, data[f"{name}/theory"][:, j], "-", color=col,
                    label=f"P = {n}, deterministic equivalent")
            ax.errorbar(k, data[f"{name}/sim"][:, j], data[f"{name}/stderr"][:, j],
                        fmt="o", ms=4, color=col, label=f"P = {n}, simulation")
            ax.axvline(n, color=col, lw=0.6, ls=":")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("width k (both layers)")
        ax.set_title(f"deep random features, {name}, d = {D}")
    axes[0].set_ylabel("test error")
    axes[0].legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


register(Figure("deep-rf-width", _compute, _plot,
                "deep random features: ridge test error vs width, theory and simulation"))
