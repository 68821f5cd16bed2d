r"""NNGP and NTK of graph aggregation (:class:`nnphys.models.graph.Aggregate`).

Du, Hou, Salakhutdinov, Poczos, Wang & Xu 2019, "Graph Neural Tangent Kernel",
arXiv:1905.13192 (eq. 5), in the conventions of neural-tangents 0.6.5. The layer is linear
in its input, ``y[n] = A_n^T x[n]`` on the vertex axes (``A_n`` the adjacency of input
``n``), and has no parameters, so the NNGP and the NTK transform alike:

    K'[i, j] = A_i^T K[i, j] A_j,      Theta'[i, j] = A_i^T Theta[i, j] A_j,

acting on the aggregated position axes of the full layout ``K[i, j, *S, *S]`` (the other
spatial axes are untouched), and ``cov1``, ``cov2`` with ``A_i`` on both sides. The
patterns come from ``Network.kernel(x1, x2, pattern=(p1, p2))`` (neural-tangents'
keyword); ``pattern=None`` leaves the kernel unchanged.
"""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ...models import graph
from .kernel import Kernel
from .layers import _single, register

__all__: list = []


def _sandwich(arr: np.ndarray, nb: int, a1: np.ndarray, a2: np.ndarray, agg: tuple,
              d: int) -> np.ndarray:
    """``A1^T arr A2`` on the aggregated axes of ``arr`` (``nb`` batch axes, then ``S``
    twice); ``a1``, ``a2`` are ``(N, V, V)`` adjacencies of the two batch axes."""
    rest = [i for i in range(d) if i not in agg]
    perm = (list(range(nb)) + [nb + i for i in rest] + [nb + d + i for i in rest] +
            [nb + i for i in agg] + [nb + d + i for i in agg])
    t = arr.transpose(perm)
    shape_t = t.shape
    v = a1.shape[-1]
    t = t.reshape(shape_t[:nb] + (-1, v, v))
    left = np.swapaxes(a1, -1, -2)
    if nb == 2:
        out = left[:, None, None] @ t @ a2[None, :, None]
    else:
        out = left[:, None] @ t @ a2[:, None]
    return out.reshape(shape_t).transpose(np.argsort(perm))


@register(graph.Aggregate)
def _aggregate(layer: graph.Aggregate, k) -> Kernel:
    k = _single(k, layer)
    pair = graph.current_pattern()
    if pair is None:
        return k
    if k.layout != "full":
        raise ParameterError("Aggregate: needs inputs with vertex axes, (batch, *vertices, "
                             "channels)")
    p1, p2 = pair
    d = k.n_spatial
    agg = layer.spatial_axes(d + 2)
    agg_shape = tuple(k.spatial_shape[a] for a in agg)
    a1 = layer.adjacency(p1, k.cov1.shape[0], agg_shape, "pattern[0]")
    a2 = a1 if k.x1_is_x2 else layer.adjacency(p2, k.cov2.shape[0], agg_shape, "pattern[1]")
    cov1 = _sandwich(k.cov1, 1, a1, a1, agg, d)
    return k.replace(nngp=_sandwich(k.nngp, 2, a1, a2, agg, d),
                     ntk=None if k.ntk is None else _sandwich(k.ntk, 2, a1, a2, agg, d),
                     cov1=cov1, cov2=cov1 if k.x1_is_x2 else _sandwich(k.cov2, 1, a2, a2, agg, d))
