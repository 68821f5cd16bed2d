"""Learning curves of local (convolutional) kernels (Favero, Cagnetta & Wyart 2021,
arXiv:2106.08619): ridgeless regression with the NTK of a one-layer circular convolution of
filter size ``s`` (then ReLU and a dense readout) on inputs uniform in ``[0, 1]^d``, the
teacher a Gaussian field of the same kernel, the setup of
:func:`nnphys.validation.generalization.local_kernel_exponent`. Points: test error, mean +-
SE over draws; lines: the predicted power law ``P^{-1/s}``
(:func:`nnphys.theory.generalization.local_exponent`), its amplitude the SE-weighted
least-squares fit of ``log E`` at that fixed slope. The slope is
set by the filter size ``s``, not by the input dimension ``d``."""

from __future__ import annotations

import numpy as np

from ..stats import sample_mean
from ..theory.generalization import local_exponent
from ..validation import generalization as vg
from .registry import Figure, register

CASES = ((2, 8), (2, 12), (3, 8))           # (filter size s, input dimension d)


def _compute(quick: bool) -> dict:
    P = np.array([32, 64, 128, 256] if quick else [32, 64, 128, 256, 512])
    draws = 4 if quick else 10
    data = {"P": P}
    for j, (s, d) in enumerate(CASES):
        errors = vg.local_draws(s, d, P, draws, 4000 + 53 * j)
        runs = [sample_mean(errors[:, i]) for i in range(P.size)]
        data[f"s{s}d{d}/mean"] = np.array([r.mean for r in runs])
        data[f"s{s}d{d}/stderr"] = np.array([r.stderr for r in runs])
    return data


def _plot(data: dict):
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    P = data["P"]
    for j, (s, d) in enumerate(CASES):
        col = f"C{j}"
        mean, se = data[f"s{s}d{d}/mean"], data[f"s{s}d{d}/stderr"]
        ax.errorbar(P, mean, se, fmt="o", ms=4, color=col,
                    label=f"s = {s}, d = {d}: regression")
        beta = local_exponent(s)
        w = (mean / se) ** 2                        # 1 / var(log E) by the delta method
        amplitude = np.exp(np.sum(w * (np.log(mean) + beta * np.log(P))) / np.sum(w))
        ax.plot(P, amplitude * P ** -beta, "--", color=col, lw=1,
                label=f"$P^{{-1/{s}}}$ (prediction)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training samples P")
    ax.set_ylabel("test error")
    ax.set_title("local kernels: the exponent depends on s, not d", fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


register(Figure("local-kernel-exponent", _compute, _plot,
                "learning curves of local CNTKs: exponent 1/s, independent of d"))
