"""Width scaling of training: the muP coordinate check and learning-rate transfer (Tensor
Programs V, Yang et al. 2022, arXiv:2203.03466, Figs. 1 and 5), from the data of
:mod:`nnphys.validation.parametrization` (set-ups in its docstring), with the slopes
:func:`nnphys.theory.parametrization.classify` predicts."""

from __future__ import annotations

import numpy as np

from ..theory import parametrization as pz
from ..validation import parametrization as vp
from .registry import Figure, register

_LABELS = {"sp": "SP, fixed lr", "ntk": "NTK", "mup": r"$\mu$P"}


def _coordinate_compute(quick: bool) -> dict:
    return vp.coordinate_data(quick)


def _coordinate_plot(data: dict):
    import matplotlib.pyplot as plt
    names = [k for k in ("sp", "ntk", "mup") if k in data]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), sharey=True)
    n = data["widths"]
    for ax, name in zip(axes, names):
        dh = data[name]
        theory = pz.classify(vp._COORD[name]).exponents_first_step
        for l in range(dh.shape[2]):
            mean = dh[:, :, l].mean(axis=0)
            se = dh[:, :, l].std(axis=0, ddof=1) / np.sqrt(dh.shape[0])
            label = "output f" if l == dh.shape[2] - 1 else f"$h^{l + 1}$"
            ax.errorbar(n, mean, se, fmt="o", ms=4, color=f"C{l}", label=label)
            ax.plot(n, mean[0] * (n / n[0]) ** -theory[l], "--", color=f"C{l}", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width n")
        ax.set_title(f"{_LABELS[name]} (dashed: classify() slopes)", fontsize=9)
        ax.legend(frameon=False, fontsize=7)
    axes[0].set_ylabel(r"RMS $\Delta h$ after one SGD step")
    fig.tight_layout()
    return fig


def _transfer_compute(quick: bool) -> dict:
    return vp.transfer_data(quick)


def _transfer_plot(data: dict):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    lrs = data["lrs"]
    for ax, name in zip(axes, ("sp", "mup")):
        loss = data[name]
        star = vp.optimal_lr(lrs, loss)
        drift = vp.drift_exponent(data["widths"], star)
        for j, n in enumerate(data["widths"]):
            ok = np.isfinite(loss[j]) & (loss[j] < 10.0)
            ax.plot(lrs[ok], loss[j, ok], "o-", ms=3, color=f"C{j}", label=f"n = {n}")
            ax.axvline(star[j], color=f"C{j}", lw=0.6, ls=":")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("learning rate (at every width)")
        theory = vp.critical_lr_exponent(vp._TRANSFER[name]) + 0.0
        ax.set_title(f"{_LABELS[name]}: lr* ~ n^({drift.mean:.2f} ± {drift.stderr:.2f}), "
                     f"theory {theory:g}", fontsize=9)
        ax.legend(frameon=False, fontsize=7)
    axes[0].set_ylabel("training loss after GD")
    fig.tight_layout()
    return fig


register(Figure("coordinate-check", _coordinate_compute, _coordinate_plot,
                "muP coordinate check: per-layer update scale vs width, SP / NTK / muP"))
register(Figure("lr-transfer", _transfer_compute, _transfer_plot,
                "learning-rate transfer: training loss vs lr across widths, SP vs muP"))
