"""The Kernel record that flows through the layers, and its spatial layouts.

A :class:`Kernel` holds, for two batches of inputs x1 (N1 of them) and x2 (N2), the
NNGP covariance ``nngp[i, j] = E[f(x1_i) f(x2_j)]`` of one output channel, the NTK
``ntk[i, j]`` (or None when not requested), and the per-input variances ``cov1[i]``,
``cov2[j]`` that the nonlinear layers need. Fully connected kernels are ``(N1, N2)``.
Convolutional kernels carry spatial axes in one of two layouts:

* ``"diagonal"``: only same-position covariances, ``nngp[i, j, *S]`` (enough when a
  ``Flatten`` readout follows, since cross-position terms never reach the output);
* ``"full"``: all position pairs, ``nngp[i, j, *S, *S]`` (needed by global pooling).

``cov1`` / ``cov2`` are the per-input diagonals: ``(N, *S)`` in the diagonal layout and
``(N, *S, *S)`` in the full one. Conventions follow neural-tangents (Novak et al. 2020,
arXiv:1912.02803): the input kernel is ``x . x' / channels``.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from ...errors import ParameterError
from ...models.network import check_input
from ...results import Result

__all__ = ["Kernel", "input_kernel"]

LAYOUTS = ("fc", "diagonal", "full")


@dataclasses.dataclass(frozen=True)
class Kernel(Result):
    """NNGP/NTK of a pair of input batches at some depth of a network.

    A closed-form record (a :class:`~nnphys.results.Result` whose ``converged``,
    ``iterations`` and ``residual`` are ``None``): ``k.save(path)`` / ``nnphys.load(path)``.

    Attributes:
        nngp: float64 ``(N1, N2)`` (+ spatial axes, see module docstring).
        ntk: like ``nngp``, or None when only the NNGP was requested.
        cov1: per-input variances of x1, ``(N1,)`` (+ spatial axes).
        cov2: per-input variances of x2, ``(N2,)`` (+ spatial axes).
        layout: ``"fc"``, ``"diagonal"`` or ``"full"``.
        channels: width of the last axis of the layer output (the fan-in of a following
            layer, used by the standard parameterization's NTK).
        spatial_shape: the spatial shape ``S`` (empty for fully connected kernels).
        x1_is_x2: True when x2 was not given, so ``nngp`` is symmetric.

    A record (saves and loads like every :class:`~nnphys.results.Result`); the layer
    recursions are closed forms, so ``converged``, ``iterations`` and ``residual`` are
    ``None``.
    """

    nngp: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0)))
    ntk: np.ndarray | None = None
    cov1: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    cov2: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    layout: str = "fc"
    channels: int = 1
    spatial_shape: tuple = ()
    x1_is_x2: bool = False

    def __post_init__(self):
        # a loaded record gives the shape back as a JSON list
        object.__setattr__(self, "spatial_shape", tuple(self.spatial_shape))

    def replace(self, **changes) -> "Kernel":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def n_spatial(self) -> int:
        return len(self.spatial_shape)

    def marginals(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-entry variances ``(q11, q22)`` of ``nngp``, broadcastable against it."""
        d = self.n_spatial
        if self.layout in ("fc", "diagonal"):
            q11 = self.cov1[:, None]
            q22 = self.cov2[None, :]
            return q11, q22
        diag1 = _spatial_diagonal(self.cov1, d)          # (N1, *S)
        diag2 = _spatial_diagonal(self.cov2, d)          # (N2, *S)
        q11 = diag1.reshape(diag1.shape[:1] + (1,) + diag1.shape[1:] + (1,) * d)
        q22 = diag2.reshape((1,) + diag2.shape[:1] + (1,) * d + diag2.shape[1:])
        return q11, q22

    def map_elementwise(self, dual: Callable, need_ntk: bool) -> "Kernel":
        """Apply an activation through its dual ``dual(q11, q12, q22, need_dot)``.

        ``dual`` returns ``(E[phi(u) phi(v)], E[phi'(u) phi'(v)] or None)`` for
        ``(u, v) ~ N(0, [[q11, q12], [q12, q22]])``; the per-input variances are mapped
        with the same function so the diagonal stays consistent to the last bit.
        """
        q11, q22 = self.marginals()
        nngp, dot = dual(q11, self.nngp, q22, need_ntk and self.ntk is not None)
        ntk = self.ntk * dot if dot is not None else (None if self.ntk is None
                                                        else np.zeros_like(self.ntk))
        cov1 = _map_cov(dual, self.cov1, self.layout, self.n_spatial)
        cov2 = cov1 if self.x1_is_x2 else _map_cov(dual, self.cov2, self.layout, self.n_spatial)
        return self.replace(nngp=nngp, ntk=ntk, cov1=cov1, cov2=cov2)


def _spatial_diagonal(cov: np.ndarray, d: int) -> np.ndarray:
    """``cov[n, *S, *S] -> cov[n, *S]`` at coinciding positions."""
    n = cov.shape[0]
    shape = cov.shape[1:1 + d]
    size = int(np.prod(shape))
    flat = cov.reshape(n, size, size)
    return np.diagonal(flat, axis1=1, axis2=2).reshape((n,) + shape)


def _map_cov(dual: Callable, cov: np.ndarray, layout: str, d: int) -> np.ndarray:
    if layout in ("fc", "diagonal"):
        return dual(cov, cov, cov, False)[0]
    diag = _spatial_diagonal(cov, d)
    q11 = diag.reshape(diag.shape + (1,) * d)
    q22 = diag.reshape(diag.shape[:1] + (1,) * d + diag.shape[1:])
    return dual(q11, cov, q22, False)[0]


def _inputs(name, x) -> np.ndarray:
    """Checked inputs, keeping a float dtype (e.g. longdouble for reference computations):
    :func:`nnphys.models.network.check_input` on a float64 copy validates them."""
    check_input(x, name)
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def input_kernel(x1: np.ndarray, x2: np.ndarray | None, layout: str = "fc",
                 need_ntk: bool = True) -> Kernel:
    """The kernel of the raw inputs: ``x . x' / channels`` (neural-tangents' convention).

    Args:
        x1: ``(N1, *S, C)`` inputs.
        x2: ``(N2, *S, C)`` inputs, or None for ``x2 = x1``.
        layout: ``"fc"`` for ``(N, C)`` inputs, else the spatial layout to carry.
        need_ntk: carry the NTK (False: the NNGP only).
    """
    if layout not in LAYOUTS:
        raise ParameterError(f"layout: must be one of {LAYOUTS}, got {layout!r}")
    x1 = _inputs("x1", x1)
    if x2 is not None:
        x2 = _inputs("x2", x2)
        if x2.shape[1:] != x1.shape[1:]:
            raise ParameterError(f"x2: must have the shape of x1 beyond the batch axis "
                                 f"{x1.shape[1:]}, got {x2.shape[1:]}")
    same = x2 is None
    x2 = x1 if same else x2
    channels = x1.shape[-1]
    for name, x in (("x1", x1), ("x2", x2)):
        # every inner product is a sum of `channels` terms of size <= max|x|^2
        if x.size and np.max(np.abs(x)) > np.sqrt(np.finfo(float).max / channels):
            raise ParameterError(f"{name}: entries up to {np.max(np.abs(x)):.3g} overflow "
                                 "the inner products x . x' in float64")
    spatial = x1.shape[1:-1]
    if layout == "fc" and spatial:
        raise ParameterError(f"x1: the 'fc' layout takes (N, C) inputs, got shape {x1.shape} "
                             "(pass a spatial layout)")
    if layout == "fc":
        nngp = (x1 @ x2.T) / channels
        cov1 = np.einsum("ic,ic->i", x1, x1) / channels
        if same:
            # Take the diagonal from the Gram matrix itself, so q12 == q11 == q22 bitwise on
            # the diagonal and ReLU-type angles there are exactly zero.
            cov1 = np.diagonal(nngp).copy()
        cov2 = cov1 if same else np.einsum("ic,ic->i", x2, x2) / channels
    elif layout == "diagonal":
        nngp = np.einsum("i...c,j...c->ij...", x1, x2, optimize=True) / channels
        cov1 = np.einsum("i...c,i...c->i...", x1, x1) / channels
        if same:
            cov1 = np.ascontiguousarray(np.diagonal(nngp, axis1=0, axis2=1).transpose(
                (nngp.ndim - 2,) + tuple(range(nngp.ndim - 2))))
        cov2 = cov1 if same else np.einsum("i...c,i...c->i...", x2, x2) / channels
    elif layout == "full":
        f1 = x1.reshape(x1.shape[0], -1, channels)
        f2 = x2.reshape(x2.shape[0], -1, channels)
        nngp = np.einsum("ipc,jqc->ijpq", f1, f2, optimize=True) / channels
        nngp = nngp.reshape(nngp.shape[:2] + spatial + spatial)
        if same:
            # from the Gram array itself, so q12 == q11 == q22 bitwise at identical inputs
            n = x1.shape[0]
            cov1 = nngp[np.arange(n), np.arange(n)].copy()
        else:
            cov1 = (np.einsum("ipc,iqc->ipq", f1, f1) / channels).reshape(
                (x1.shape[0],) + spatial * 2)
        cov2 = cov1 if same else (np.einsum("ipc,iqc->ipq", f2, f2) / channels).reshape(
            (x2.shape[0],) + spatial * 2)
    else:
        raise ParameterError(f"layout: must be one of {LAYOUTS}, got {layout!r}")
    ntk = np.zeros_like(nngp) if need_ntk else None
    return Kernel(nngp=nngp, ntk=ntk, cov1=cov1, cov2=cov2, layout=layout, channels=channels,
                  spatial_shape=tuple(spatial), x1_is_x2=same)
