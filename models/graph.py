"""Graph aggregation, as neural-tangents' ``stax.Aggregate`` (0.6.5).

Graph neural networks in the sense of Du, Hou, Salakhutdinov, Poczos, Wang & Xu 2019,
"Graph Neural Tangent Kernel", arXiv:1905.13192: inputs ``x`` of shape ``(batch, *S,
channels)`` hold one feature vector per vertex; the vertices are the positions along the
aggregated axes ``A`` of ``S``. Each input ``n`` comes with its own directed graph, and

    y[n, v] = sum_u x[n, u] pattern[n, u, v]                                   (1)

replaces every vertex by the weighted sum of its predecessors (the other axes of ``S`` are
processed alike and independently). ``pattern`` is given at call time
(``Network.apply(params, x, pattern=p)``, ``Network.kernel(x1, x2, pattern=(p1, p2))``):

* ``implementation="DENSE"``: ``to_dense(pattern)`` is a weighted adjacency array of shape
  ``(batch, *S_A, *S_A)``, ``pattern[n, u, v]`` the weight of the arc ``u -> v``;
* ``implementation="SPARSE"``: an integer array ``(batch, n_edges, K, 2)`` (or ``(batch,
  n_edges, 2)`` when ``K = len(A) == 1``) of (tail, head) vertex coordinates, each arc of
  weight 1 (repeated arcs add up). An arc whose head has a negative coordinate is padding
  and is dropped; nnphys refuses a negative tail coordinate of a kept arc (neural-tangents
  silently reads it as the last vertex).

``pattern=None`` is the identity graph (the layer passes its input through).
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from typing import Callable

import numpy as np

from .. import checks
from ..errors import ArgumentTypeError, ParameterError
from .network import Layer, register_layer

__all__ = ["Aggregate", "AGGREGATE_IMPLEMENTATIONS", "graph_pattern", "current_pattern"]

AGGREGATE_IMPLEMENTATIONS = ("DENSE", "SPARSE")

_PATTERN = contextvars.ContextVar("nnphys_graph_pattern", default=None)


@contextlib.contextmanager
def graph_pattern(pattern):
    """Within the block, :class:`Aggregate` layers read ``pattern`` (one array for
    ``apply``; a pair ``(p1, p2)`` for the kernel maps)."""
    token = _PATTERN.set(pattern)
    try:
        yield
    finally:
        _PATTERN.reset(token)


def current_pattern():
    """The pattern set by the innermost :func:`graph_pattern`, or None."""
    return _PATTERN.get()


@dataclasses.dataclass(frozen=True)
class Aggregate(Layer):
    """Sum over each vertex's predecessors, eq. (1) of the module docstring.

    Parameters
    ----------
    aggregate_axis : int, tuple of int or None
        Axes of the ``(batch, *S, channels)`` input whose positions are the vertices;
        None: all spatial axes.
    batch_axis : int
        Must be 0 (nnphys' layout).
    channel_axis : int
        Must be -1 (nnphys' layout).
    to_dense : callable or None
        ``DENSE`` only: maps the given pattern to the dense adjacency array; None (the
        default, neural-tangents' identity): the pattern is dense already.
    implementation : str
        ``"DENSE"`` or ``"SPARSE"`` (the pattern's format).
    """

    aggregate_axis: int | tuple | None = None
    batch_axis: int = 0
    channel_axis: int = -1
    to_dense: Callable | None = None
    implementation: str = "DENSE"

    needs_full_spatial = True      # mixes the covariances of different vertices

    def __post_init__(self):
        if self.batch_axis != 0 or isinstance(self.batch_axis, bool):
            raise ParameterError(f"batch_axis: nnphys inputs are (batch, *S, channels); "
                                 f"must be 0, got {self.batch_axis!r}")
        if self.channel_axis != -1 or isinstance(self.channel_axis, bool):
            raise ParameterError(f"channel_axis: nnphys inputs are (batch, *S, channels); "
                                 f"must be -1, got {self.channel_axis!r}")
        checks.one_of("implementation", self.implementation, AGGREGATE_IMPLEMENTATIONS)
        if self.to_dense is not None and not callable(self.to_dense):
            raise ArgumentTypeError(f"to_dense: must be callable or None, got "
                                    f"{type(self.to_dense).__name__}")
        axes = self.aggregate_axis
        if axes is not None:
            seq = axes if isinstance(axes, (tuple, list)) else (axes,)
            if not seq or any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                              for a in seq):
                raise ParameterError(f"aggregate_axis: must be None, an int or a tuple of "
                                     f"ints, got {axes!r}")
            object.__setattr__(self, "aggregate_axis", tuple(int(a) for a in seq)
                               if isinstance(axes, (tuple, list)) else int(axes))

    def spatial_axes(self, ndim: int) -> tuple:
        """The aggregated axes as indices ``0..d-1`` into the spatial shape ``S`` of
        ``ndim``-dimensional inputs."""
        d = ndim - 2
        if d < 1:
            raise ParameterError("Aggregate: inputs need at least one spatial (vertex) axis, "
                                 "(batch, *vertices, channels)")
        if self.aggregate_axis is None:
            return tuple(range(d))
        seq = self.aggregate_axis if isinstance(self.aggregate_axis, tuple) else \
            (self.aggregate_axis,)
        out = []
        for a in seq:
            if not -ndim <= a < ndim or a % ndim in (0, ndim - 1):
                raise ParameterError(f"aggregate_axis: {a} is not a spatial axis of "
                                     f"{ndim}-dimensional inputs")
            out.append(a % ndim - 1)
        if len(set(out)) != len(out):
            raise ParameterError(f"aggregate_axis: repeated axes in {self.aggregate_axis}")
        return tuple(sorted(out))

    def adjacency(self, pattern, batch: int, agg_shape: tuple, name: str = "pattern"):
        """The dense ``(batch, V, V)`` adjacency (``V = prod(agg_shape)``) of a pattern."""
        size = int(np.prod(agg_shape))
        k = len(agg_shape)
        if self.implementation == "DENSE":
            dense = pattern if self.to_dense is None else self.to_dense(pattern)
            dense = checks.finite_array(name, dense)
            if dense.shape != (batch,) + tuple(agg_shape) * 2:
                raise ParameterError(f"{name}: dense pattern must have shape "
                                     f"{(batch,) + tuple(agg_shape) * 2}, got {dense.shape}")
            return dense.reshape(batch, size, size)
        edges = np.asarray(pattern)
        if edges.dtype.kind not in "iu":
            raise ArgumentTypeError(f"{name}: a SPARSE pattern must be an integer array, got "
                                    f"dtype {edges.dtype}")
        if k == 1 and edges.ndim == 3:
            edges = edges[:, :, None, :]
        if edges.ndim != 4 or edges.shape[0] != batch or edges.shape[2] != k or \
                edges.shape[3] != 2:
            raise ParameterError(f"{name}: a SPARSE pattern must have shape (batch={batch}, "
                                 f"n_edges, {k}, 2), got {np.shape(pattern)}")
        tails, heads = edges[..., 0], edges[..., 1]
        keep = np.all(heads >= 0, axis=-1)
        if np.any(keep & np.any(tails < 0, axis=-1)):
            raise ParameterError(f"{name}: an arc with a valid head has a negative tail "
                                 "coordinate")
        bounds = np.asarray(agg_shape)
        if np.any(keep[..., None] & ((tails >= bounds) | (heads >= bounds))):
            raise ParameterError(f"{name}: vertex coordinates must be < {tuple(agg_shape)}")
        dense = np.zeros((batch, size, size))
        n_idx, e_idx = np.nonzero(keep)
        t = np.ravel_multi_index(tuple(tails[n_idx, e_idx].T), agg_shape)
        h = np.ravel_multi_index(tuple(heads[n_idx, e_idx].T), agg_shape)
        np.add.at(dense, (n_idx, t, h), 1.0)
        return dense

    def apply(self, params, x, pattern=None):
        pattern = current_pattern() if pattern is None else pattern
        if pattern is None:
            return x
        x = np.asarray(x, dtype=float)
        agg = self.spatial_axes(x.ndim)
        spatial = x.shape[1:-1]
        agg_shape = tuple(spatial[a] for a in agg)
        adj = self.adjacency(pattern, x.shape[0], agg_shape)
        rest = [a for a in range(len(spatial)) if a not in agg]
        # (N, *rest, *agg, C) -> (N, R, V, C)
        moved = np.moveaxis(x, [1 + a for a in agg], list(range(x.ndim - 1 - len(agg),
                                                                  x.ndim - 1)))
        shape = moved.shape
        flat = moved.reshape(shape[0], -1, adj.shape[1], shape[-1])
        out = np.einsum("nruc,nuv->nrvc", flat, adj)
        out = out.reshape(shape)
        return np.moveaxis(out, list(range(x.ndim - 1 - len(agg), x.ndim - 1)),
                           [1 + a for a in agg])


register_layer("Aggregate", Aggregate)
