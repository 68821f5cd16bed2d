"""Signal-propagation and finite-width figures.

* ``edge-of-chaos``: the ordered/chaotic phase diagram of tanh networks in the
  ``(sigma_w^2, sigma_b^2) = (W_std^2, b_std^2)`` plane with the depth scale ``xi_c``
  (Schoenholz et al. 2017, arXiv:1611.01232, fig. 1, drawn in the paper's variances).
* ``kurtosis-vs-depth``: excess kurtosis of a preactivation against ``l/n`` for critical
  ReLU and tanh: PDLT's leading order (lines), ReLU's all-orders result (dashed), sampled
  networks (points with standard errors) (Roberts, Yaida & Hanin 2022, ch. 5).
"""

from __future__ import annotations

import numpy as np

from ..models import network as arch
from ..sim import preactivations as pa
from ..theory import criticality as cr
from ..theory import finite_width as fw
from .registry import Figure, register


def _edge_compute(quick: bool) -> dict:
    w = np.sqrt(np.linspace(0.5, 4.0, 36 if quick else 141))     # uniform in sigma_w^2
    b = np.sqrt(np.linspace(0.0, 0.5, 21 if quick else 101))     # uniform in sigma_b^2
    pd = cr.phase_diagram(arch.Tanh(), w, b)
    return {"W_std": w, "b_std": b, "xi_c": pd.fields["xi_c"], "phase": pd.phase,
            "line": pd.boundaries["edge_of_chaos"]}


def _edge_plot(data: dict):
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm
    fig, ax = plt.subplots(figsize=(5, 3.8))
    xi = np.clip(data["xi_c"], 1.0, 1e3)
    mesh = ax.pcolormesh(data["W_std"] ** 2, data["b_std"] ** 2, xi.T, shading="auto",
                         norm=LogNorm(1.0, 1e3), cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=r"$\xi_c$ (layers)")
    ax.plot(data["line"][:, 0] ** 2, data["line"][:, 1] ** 2, "w-", lw=2,
            label=r"edge of chaos $\chi_1=1$")
    ax.text(1.0, 0.4, "ordered", color="w")
    ax.text(3.0, 0.05, "chaotic", color="w")
    ax.set_xlabel(r"$\sigma_w^2$ = W_std$^2$")
    ax.set_ylabel(r"$\sigma_b^2$ = b_std$^2$")
    ax.set_title("tanh networks")
    ax.legend(frameon=False, loc="upper right", labelcolor="w")
    fig.tight_layout()
    return fig


_CASES = (("ReLU", arch.Relu(), np.sqrt(2.0)), ("tanh", arch.Tanh(), 1.0))   # critical W_std


def _kurtosis_compute(quick: bool) -> dict:
    widths = (32, 64) if quick else (32, 64, 128)
    depth = 10 if quick else 20
    n_replicas = 10_000 if quick else 200_000
    data = {"widths": np.array(widths), "depth": np.arange(1, depth + 1)}
    for name, act, W_std in _CASES:
        rec = fw.recursion(act, depth, W_std, 0.0, 1.0)
        data[f"{name}/nu"] = rec.V / rec.K ** 2
        for k, n in enumerate(widths):
            kappa = pa.kurtosis(pa.conditional_kernels(act, depth, n, n_replicas, W_std, 0.0,
                                                       1.0, seed=k))
            data[f"{name}/{n}/kappa"], data[f"{name}/{n}/se"] = kappa.mean, kappa.stderr
    return data


def _kurtosis_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    depth = data["depth"]
    for ax, (name, _, _) in zip(axes, _CASES):
        for i, n in enumerate(data["widths"]):
            color = f"C{i}"
            ax.errorbar(depth / n, data[f"{name}/{n}/kappa"], data[f"{name}/{n}/se"], fmt="o",
                        ms=3, color=color, label=f"n = {n}")
            ax.plot(depth / n, 3 * data[f"{name}/nu"] / n, "-", color=color)
            if name == "ReLU":
                ax.plot(depth / n, fw.scale_invariant_excess_kurtosis(depth, n), "--",
                        color=color)
        ax.set_xlabel("depth / width  l/n")
        ax.set_ylabel("excess kurtosis")
        ax.set_title(f"{name} at criticality (lines: 3V/(nK^2); dashed: all orders)"
                     if name == "ReLU" else f"{name} at criticality (lines: 3V/(nK^2))",
                     fontsize=9)
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


register(Figure("edge-of-chaos", _edge_compute, _edge_plot,
                "Ordered/chaotic phases of tanh networks with the depth scale xi_c."))
register(Figure("kurtosis-vs-depth", _kurtosis_compute, _kurtosis_plot,
                "Preactivation kurtosis vs l/n: PDLT leading order, ReLU all orders, simulation."))
