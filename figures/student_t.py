"""Scale mixture of NNGPs (Lee, Yun, Yang & Lee, ICLR 2022, arXiv:2107.01408, fig. 2 in
spirit): Student-t vs Gaussian-process predictive of a deep ReLU NNGP, trained on
``|x| <= 1`` and evaluated out of distribution up to ``|x| = 5``.

The GP uses the prior mean of the readout scale, ``s^2 = E sigma^2 = beta / (alpha - 1)``;
the Student-t process learns the scale from the targets (``Q = y^T A^-1 y``), so targets
larger than the prior expects widen its predictive band, most where the kernel's
conditional variance is largest: away from the data."""

from __future__ import annotations

import numpy as np

from ..theory import kernels as nk
from .registry import Figure, register

_ALPHA, _BETA, _NOISE = 2.0, 1.0, 0.01


def _net():
    return nk.serial(nk.Dense(512, 1.5, 0.5), nk.Relu(), nk.Dense(512, 1.5, 0.5), nk.Relu(),
                     nk.Dense(1, 1.5, 0.5))


def _compute(quick: bool) -> dict:
    rng = np.random.default_rng(0)
    x_train = np.sort(rng.uniform(-1, 1, 12))[:, None]
    y_train = 2.5 * np.sin(3 * x_train[:, 0]) + 0.1 * rng.standard_normal(12)
    x_test = np.linspace(-5, 5, 101 if quick else 401)[:, None]
    net = _net()
    t = nk.student_t_inference(net, x_train, y_train, x_test, _ALPHA, _BETA, noise=_NOISE)
    s2 = _BETA / (_ALPHA - 1)
    k = net.kernel(np.vstack([x_train, x_test]), get="nngp")
    n = len(x_train)
    gp = nk.gp_inference(s2 * k[:n, :n], y_train, s2 * k[n:, :n], s2 * k[n:, n:],
                         diag_reg=s2 * _NOISE)
    return {"x_train": x_train[:, 0], "y_train": y_train, "x_test": x_test[:, 0],
            "mean": t.mean, "t_std": t.marginal_std(),
            "gp_std": np.sqrt(np.maximum(np.diagonal(gp.covariance), 0)),
            "dof": np.array(t.dof), "posterior_scale": np.array(t.beta / t.alpha)}


def _plot(data: dict):
    import matplotlib.pyplot as plt
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    x, mean = data["x_test"], data["mean"]
    for key, color, label in (("gp_std", "C0", "GP, $s^2 = E\\sigma^2$"),
                              ("t_std", "C3", f"Student-t, $\\nu = {float(data['dof']):.0f}$")):
        left.fill_between(x, mean - 2 * data[key], mean + 2 * data[key], color=color,
                          alpha=0.25, label=f"{label} (2 std)")
        right.plot(x, data[key], color=color, label=label)
    left.plot(x, mean, "k-", lw=1, label="posterior mean")
    left.plot(data["x_train"], data["y_train"], "ko", ms=3)
    for ax in (left, right):
        ax.axvspan(-1, 1, color="0.9", zorder=-1)
        ax.set_xlabel("x (training data in the grey band)")
    left.set_ylabel("f(x)")
    right.set_ylabel("predictive std")
    left.legend(frameon=False, fontsize=8, loc="lower left")
    right.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


register(Figure("student-t-predictive", _compute, _plot,
                "scale-mixture NNGP: Student-t vs GP predictive on out-of-distribution inputs"))
