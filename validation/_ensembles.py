"""Empirical NNGPs and NTKs of sampled finite networks built from any layers with a numpy
``apply`` (:mod:`nnphys.sim.layer_ensembles`).

``nngp_comparisons`` samples ``samples`` networks per width, reads out ``READOUT`` output
channels per network (their average ``y y^T / READOUT`` is one near-Gaussian sample of the
NNGP; likewise for the directional derivatives ``J v`` and the NTK), and compares the sample
means with the infinite-width NNGP and NTK entry by entry. The
tolerance is ``4 se + bias_per_width * |K| / width``: ``se`` the Monte Carlo standard error,
the second term the stated finite-width bias bound (``0`` for networks whose NNGP is exact
in expectation at any width, ``depth`` for the O(1/n) shift of Roberts, Yaida & Hanin 2022,
arXiv:2106.10165, ch. 4).
"""

from __future__ import annotations

from ..sim.layer_ensembles import empirical_nngp, empirical_ntk
from .registry import compare

READOUT = 32
_SIGMA = 4.0
_ENTRIES = (((0, 0), "x0,x0"), ((0, 1), "x0,x1"), ((1, 2), "x1,x2"))


def nngp_comparisons(name, build, x, widths, samples, seed, bias_per_width, pattern=None,
                     kinds=("nngp", "ntk"), bias_power=1.0):
    """Compare the NNGP and the NTK (those of ``kinds``) of ``build(width)`` with their
    ensembles at each width (module docstring); ``build(width)`` must end in a
    ``Dense(READOUT)`` readout. The bias bound is ``bias_per_width * |K| /
    width**bias_power`` (``bias_power = 1/2`` where a kink makes the shift ``O(n^-1/2)``)."""
    samplers = {"nngp": empirical_nngp, "ntk": empirical_ntk}
    out = []
    for width in widths:
        net = build(int(width))
        k = net.kernel(x, get=tuple(kinds),
                       pattern=None if pattern is None else (pattern, None))
        for kind in kinds:
            sampler = samplers[kind]
            theory = getattr(k, kind)
            emp = sampler(net, x, n_replicas=samples, seed=seed + int(width), pattern=pattern)
            for (i, j), label in _ENTRIES:
                out.append(compare(f"{name}[width={width}]", f"{kind}({label})", theory[i, j],
                                   emp[i, j], sigmas=_SIGMA,
                                   bias=bias_per_width * abs(theory[i, j]) / width ** bias_power))
    return out
