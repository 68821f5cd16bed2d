"""``batchnorm-gradients``: gradient explosion in batch-normalised networks.

Left: ``E|dL/dx_l|^2`` against the number of layers between ``x_l`` and the output, for
linear and ReLU BN networks with Gaussian weights (``B = 8``, width 256; points with
standard errors, :mod:`nnphys.sim.batchnorm`) and the mean-field growth ``lambda^k`` of
Yang et al. 2019 (arXiv:1902.08129; lines, :func:`nnphys.theory.kernels.batchnorm_gradient_rate`).
The first step below the output (the output gradient's batch mean is projected out: a
factor ``(B-1)/B`` on the linear curve) and the layers next to the input (whose batch is
not yet at the fixed point) deviate from the straight line, as they should.
Right: the construction of Meterez et al. 2023 (arXiv:2310.02012): linear, no mean
subtraction, width = batch = 8; ``E log|dL/dx_0|^2`` against the depth stays bounded with
orthogonal weights and grows with Gaussian ones.
"""

from __future__ import annotations

import numpy as np

from ..sim import batchnorm as sim_bn
from ..theory import kernels as nk
from .registry import Figure, register

_BATCH = 8


def _compute(quick: bool) -> dict:
    replicas = 32 if quick else 128
    depth = 16
    data = {}
    for label, act in (("linear", None), ("relu", nk.Relu())):
        est = sim_bn.gradient_norms(_BATCH, 256, depth, act, n_replicas=replicas, seed=1)
        rate = nk.batchnorm_gradient_rate(_BATCH, act, n_replicas=1 << 15, seed=0)
        data[f"{label}/mean"] = est.mean[::-1]          # index k: k layers below the output
        data[f"{label}/se"] = est.stderr[::-1]
        data[f"{label}/rate"] = np.array([rate.mean, rate.stderr])
    depths = np.array([5, 10, 20, 40, 80] if quick else [5, 10, 20, 40, 80, 160])
    data["depths"] = depths
    for law in ("orthogonal", "gaussian"):
        means, ses = [], []
        for d in depths:
            g = sim_bn.gradient_growth(_BATCH, _BATCH, int(d), subtract_mean=False,
                                       weights=law, n_replicas=replicas, skip=0,
                                       statistic="log", seed=2)
            means.append(d * np.log(g.mean))            # E log(|g_0|^2 / |g_out|^2)
            ses.append(d * g.stderr / g.mean)
        data[f"{law}/log"] = np.array(means)
        data[f"{law}/se"] = np.array(ses)
    return data


def _plot(data: dict):
    import matplotlib.pyplot as plt
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for i, label in enumerate(("linear", "relu")):
        mean, se = data[f"{label}/mean"], data[f"{label}/se"]
        k = np.arange(len(mean))
        rate = data[f"{label}/rate"][0]
        ax.errorbar(k, mean / mean[0], se / mean[0], fmt="o", ms=3, color=f"C{i}",
                    label=f"{label}, sim (width 256)")
        ax.plot(k, rate ** k, "-", color=f"C{i}", label=rf"{label}, $\lambda^k$, "
                rf"$\lambda$ = {rate:.3f}")
    ax.set_yscale("log")
    ax.set_xlabel("layers below the output, k")
    ax.set_ylabel(r"E$|\partial L/\partial x|^2$ / E$|\partial L/\partial x_{out}|^2$")
    ax.set_title(f"Gaussian weights, B = {_BATCH} (Yang et al. 2019)", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    for i, law in enumerate(("orthogonal", "gaussian")):
        ax2.errorbar(data["depths"], data[f"{law}/log"], data[f"{law}/se"], fmt="o-", ms=3,
                     color=f"C{i + 2}", label=f"{law} weights")
    ax2.set_xscale("log")
    ax2.set_xticks(data["depths"], [str(int(d)) for d in data["depths"]])
    ax2.minorticks_off()
    ax2.set_xlabel("depth")
    ax2.set_ylabel(r"E log($|\partial L/\partial x_0|^2$ / $|\partial L/\partial x_{out}|^2$)")
    ax2.set_title(f"linear, no mean subtraction, width = B = {_BATCH} (Meterez et al. 2023)",
                  fontsize=9)
    ax2.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


register(Figure("batchnorm-gradients", _compute, _plot,
                "Gradient explosion with batch normalisation vs mean-field theory; the "
                "orthogonal construction without explosion."))
