"""Graph-aggregation kernels (Du et al. 2019, "Graph Neural Tangent Kernel",
arXiv:1905.13192) against ensembles of finite graph networks.

Two-layer graph networks ``(Dense(n) -> Aggregate -> Erf) x 2 -> GlobalAvgPool ->
Dense(READOUT)`` on three graphs of 6 vertices (a weighted dense adjacency, and a sparse
arc list with padding). Tolerance (see :mod:`._ensembles`): ``4 se + 2 |K| / n``, the O(1/n)
shift of the two hidden layers (Roberts, Yaida & Hanin 2022, arXiv:2106.10165, ch. 4),
shrinking with the width.
"""

from __future__ import annotations

import numpy as np

from ..theory import kernels as nk
from ._ensembles import READOUT, nngp_comparisons
from .registry import register


def _net(width: int, implementation: str):
    block = (nk.Dense(width, 1.3, 0.1), nk.Aggregate(implementation=implementation), nk.Erf())
    return nk.serial(*block, *block, nk.GlobalAvgPool(), nk.Dense(READOUT, 1.2, 0.1))


@register("kernels_graph.nngp_vs_ensemble")
def nngp_vs_ensemble(quick: bool = False, seed: int = 0):
    """Empirical NNGP and NTK of sampled graph networks vs the infinite-width kernels, dense and
    sparse graphs, at growing widths."""
    widths, samples = ((16, 64), 48) if quick else ((16, 64, 256), 200)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((3, 6, 3))
    dense = (rng.random((3, 6, 6)) < 0.5) * rng.uniform(0.3, 0.9, (3, 6, 6))
    sparse = rng.integers(0, 6, (3, 9, 2))
    sparse[:, -2:, 1] = -1                            # two padding arcs per graph
    out = []
    for implementation, pattern in (("DENSE", dense), ("SPARSE", sparse)):
        out += nngp_comparisons(f"kernels_graph.nngp_vs_ensemble[{implementation}]",
                                lambda w, i=implementation: _net(w, i), x, widths, samples,
                                seed, bias_per_width=2.0, pattern=pattern)
    return out
