"""Empirical NNGPs of sampled finite networks built from any layers with a numpy ``apply``.

``nngp_comparisons`` samples ``samples`` networks per width, reads out ``READOUT`` output
channels per network (their average ``y y^T / READOUT`` is one near-Gaussian sample of the
NNGP), and compares the sample mean with the infinite-width NNGP entry by entry. The
tolerance is ``4 se + bias_per_width * |K| / width``: ``se`` the Monte Carlo standard error,
the second term the stated finite-width bias bound (``0`` for networks whose NNGP is exact
in expectation at any width, ``depth`` for the O(1/n) shift of Roberts, Yaida & Hanin 2022,
arXiv:2106.10165, ch. 4).
"""

from __future__ import annotations

from ..sim.layer_ensembles import empirical_nngp
from .registry import compare

READOUT = 32
_SIGMA = 4.0
_ENTRIES = (((0, 0), "x0,x0"), ((0, 1), "x0,x1"), ((1, 2), "x1,x2"))


def nngp_comparisons(name, build, x, widths, samples, seed, bias_per_width, pattern=None):
    """Compare the NNGP of ``build(width)`` with its ensemble at each width (module
    docstring); ``build(width)`` must end in a ``Dense(READOUT)`` readout."""
    out = []
    for width in widths:
        net = build(int(width))
        theory = net.kernel(x, get="nngp", pattern=None if pattern is None else
                            (pattern, None))
        emp = empirical_nngp(net, x, n_replicas=samples, seed=seed + int(width),
                             pattern=pattern)
        for (i, j), label in _ENTRIES:
            out.append(compare(f"{name}[width={width}]", f"nngp({label})", theory[i, j],
                               emp[i, j], sigmas=_SIGMA,
                               bias=bias_per_width * abs(theory[i, j]) / width))
    return out
