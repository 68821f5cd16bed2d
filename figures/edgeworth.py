"""Antognini (2019, arXiv:1908.10030): the output density of single-hidden-layer networks
at width n against the Gaussian (NNGP) and the He4 Edgeworth density; the lower row shows
the deviation from the Gaussian, where the He4 term lives."""

from __future__ import annotations

import numpy as np

from ..validation.edgeworth import EDGES, binned
from .registry import Figure, register

_PANELS = (("relu/gaussian", 20), ("tanh/uniform", 10), ("relu/rademacher", 10))


def _compute(quick: bool) -> dict:
    samples = 200_000 if quick else 2_000_000
    data = {"edges": EDGES}
    for case, n in _PANELS:
        b = binned(case, n, samples, seed=11)
        for key in ("prob", "stderr", "gauss", "edgeworth"):
            data[f"{case}/{key}"] = b[key] / (EDGES[1] - EDGES[0])
        data[f"{case}/width"] = np.array(n)
    return data


def _plot(data: dict):
    import matplotlib.pyplot as plt
    centers = (data["edges"][1:] + data["edges"][:-1]) / 2
    fig, axes = plt.subplots(2, len(_PANELS), figsize=(12, 6), sharex=True,
                             gridspec_kw={"height_ratios": [2, 1]})
    for col, (case, _) in enumerate(_PANELS):
        n = int(data[f"{case}/width"])
        top, bottom = axes[0, col], axes[1, col]
        top.errorbar(centers, data[f"{case}/prob"], data[f"{case}/stderr"], fmt="o", ms=3,
                     color="k", label="sampled networks")
        top.plot(centers, data[f"{case}/gauss"], "C0--", label="Gaussian (NNGP)")
        top.plot(centers, data[f"{case}/edgeworth"], "C3-", label=r"$(1 + c_4 He_4)$ Gaussian")
        top.set_title(f"{case} weights, n = {n}")
        gauss = data[f"{case}/gauss"]
        bottom.errorbar(centers, data[f"{case}/prob"] - gauss, data[f"{case}/stderr"],
                        fmt="o", ms=3, color="k")
        bottom.plot(centers, data[f"{case}/edgeworth"] - gauss, "C3-")
        bottom.axhline(0, color="C0", ls="--")
        bottom.set_xlabel(r"$t = f / \sqrt{K}$")
    axes[0, 0].set_ylabel("density")
    axes[1, 0].set_ylabel("density - Gaussian")
    axes[0, 0].legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


register(Figure("edgeworth-density", _compute, _plot,
                "single-hidden-layer output density: histogram vs Gaussian vs He4 Edgeworth"))
