"""NTK fluctuations of deep ReLU networks: exact finite-width moments against explicit
networks.

Theory: :func:`nnphys.theory.ntk_fluctuations.ntk_moments` (exact ``E[K]``, ``E[K^2]`` of the
NTK diagonal, He weights, zero biases, NTK parameterization). Simulation:
:func:`nnphys.sim.ntk_ensemble.relu_ntk_ensemble` (all weights drawn, forward and backward
pass per network). Each comparison allows 4 delta-method standard errors over independent
networks (``compare(..., sigmas=4)``); the theory is exact, so there is no truncation
allowance (``bias = 0``).

* ``ntk_fluctuations``: ``E[K^2]/E[K]^2`` and ``E[K]`` at widths 32..256, depths up to 30,
  ``beta = (d - 1)/n <= 0.3``. Beyond, ``K^2`` is so heavy-tailed (``K`` is close to a
  product of ``d`` factors of relative variance ``5/n``) that the sample standard error of
  ``E[K^2]`` is unreliable at affordable ensemble sizes (at n = 32 the sample ratio falls 2
  standard errors below the exact one at beta = 0.6 and 10 at beta = 0.9), the same limit as
  ``finite_width.relu_kurtosis_all_orders``. Hanin & Nica's ``exp(5 beta)`` holds up to a
  bounded factor only (exact/law = 0.86 at n = 256, beta = 0.11; 0.69 at n = 64,
  beta = 0.30), so it is
  printed by the figure ``ntk-fluctuations``, not compared here.
"""

from __future__ import annotations

import numpy as np

from ..sim import ntk_ensemble as ne
from ..theory import ntk_fluctuations as nf
from .registry import compare, register

_SIGMA = 4.0
_BETA_MAX = 0.3
_INPUT_DIM = 10


@register("finite_width.ntk_fluctuations")
def ntk_fluctuations(quick: bool = False, seed: int = 0):
    """Simulated ``E[K^2]/E[K]^2`` and ``E[K]/E_inf[K]`` vs the exact finite-width theory
    over a (width, depth) grid with ``(d - 1)/n <= 0.3``; tolerance 4 standard errors."""
    grid = ({32: ((2, 5, 10), 10_000), 64: ((5, 10, 20), 2_000), 128: ((10, 20), 300)}
            if quick else
            {32: ((2, 5, 10), 100_000), 64: ((5, 10, 20), 20_000),
             128: ((10, 20, 30), 3_000), 256: ((10, 20, 30), 600)})
    x = np.ones(_INPUT_DIM)
    out = []
    for k, (n, (depths, n_replicas)) in enumerate(grid.items()):
        depths = [d for d in depths if (d - 1) / n <= _BETA_MAX]
        ens = ne.relu_ntk_ensemble([n] * (max(depths) - 1), x, n_replicas, seed=seed + k,
                                   depths=depths)
        for j, d in enumerate(depths):
            theory = nf.ntk_moments([n] * (d - 1), _INPUT_DIM)
            measured = ne.ratio_statistics(ens.K[:, j])
            out.append(compare("finite_width.ntk_fluctuations",
                               f"E[K^2]/E[K]^2 (n={n},d={d})", theory.ratio, measured.ratio,
                               sigmas=_SIGMA, x=d, x_name="depth d", series=f"n={n}"))
            if d == max(depths):
                out.append(compare("finite_width.ntk_fluctuations",
                                   f"E[K]/Theta_inf (n={n},d={d})", 1.0,
                                   measured.mean.scaled(1.0 / theory.mean), sigmas=_SIGMA))
    return out
