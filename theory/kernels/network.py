"""A network as one object: its infinite-width kernels and its finite-width function.

``serial(*layers)`` returns a :class:`Network` holding the immutable spec
(:class:`nnphys.models.network.Serial`) that ``nnphys.sim`` also reads. ``Network.kernel``
evaluates the NNGP/NTK in blocks of any size (no divisibility rule), so memory stays
bounded for any number of inputs; fully connected stacks of Dense and ReLU-family / erf
layers take a fused, compiled path (:mod:`._fused`) that never materialises more than the
output arrays.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ...models import network as arch
from ...errors import ArgumentTypeError, NumericalError, ParameterError
from . import _fused
from .kernel import Kernel, input_kernel
from .layers import apply_layer
from ...models.graph import graph_pattern

__all__ = ["Network", "serial", "parallel"]

_GETS = ("nngp", "ntk")
_DEFAULT_BLOCK_ENTRIES = 1 << 23       # kernel entries (x spatial entries) per block


def _layout_for(spec: arch.Layer) -> str:
    """The spatial layout a network needs: 'full' if it pools globally, else 'diagonal'."""
    from .structural import needs_full_layout   # conv layers register there
    return "full" if needs_full_layout(spec) else "diagonal"


@dataclasses.dataclass(frozen=True)
class Network:
    """A network spec with its kernel and finite-width methods.

    Attributes:
        spec: the :class:`nnphys.models.network.Serial` describing the layers.
    """

    spec: arch.Serial

    def kernel(self, x1, x2=None, get=("nngp", "ntk"), block_size=None, pattern=None):
        """NNGP and/or NTK of the infinitely wide network.

        Args:
            x1: inputs ``(N1, features)`` or ``(N1, *spatial, channels)``: any array-like,
                including another framework's array with ``__array__`` (JAX, PyTorch on
                the CPU; CuPy after ``.get()``). The kernels are computed in float64:
                float32 inputs are upcast (exactly), so the kernel carries float32's seven
                digits of the inputs, not more.
            x2: inputs of the same trailing shape, or None for ``x2 = x1``.
            get: ``"nngp"``, ``"ntk"`` or a tuple of them. A string returns the array.
            block_size: evaluate in blocks of this many inputs per side (int or
                ``(b1, b2)``); default: chosen to bound memory.
            pattern: the graphs of :class:`~nnphys.models.graph.Aggregate` layers, a pair
                ``(p1, p2)`` with leading axes ``N1``, ``N2`` (``p2`` is not read when
                ``x2`` is None), as neural-tangents' keyword; None: identity graphs.

        Returns:
            A :class:`Kernel` with ``nngp`` / ``ntk`` of shape ``(N1, N2)`` (plus spatial
            axes if the network has no readout), or one array if ``get`` is a string.

        Raises:
            ValueError: bad inputs (shape mismatch, NaN, unknown ``get``).
            NumericalError: the kernel overflowed (e.g. a very deep net far in the
                chaotic phase); nothing non-finite is returned.
        """
        single = isinstance(get, str)
        if not single and not isinstance(get, (tuple, list)):
            raise ArgumentTypeError(f"get: must be 'nngp', 'ntk' or a tuple of them, got "
                                    f"{type(get).__name__}")
        gets = (get,) if single else tuple(get)
        if not gets or any(g not in _GETS for g in gets):
            raise ParameterError(f"get: must be 'nngp', 'ntk' or a tuple of them, got {get!r}")
        x1 = arch.check_input(x1, "x1")
        if x2 is not None:
            x2 = arch.check_input(x2, "x2")
            if x2.shape[1:] != x1.shape[1:]:
                raise ParameterError(f"x2: trailing shape {x2.shape[1:]} differs from x1's "
                                 f"{x1.shape[1:]}")
        need_ntk = "ntk" in gets
        layout = "fc" if x1.ndim == 2 else _layout_for(self.spec)
        k = _blocked(self.spec, x1, x2, layout, need_ntk, block_size,
                     _check_pattern(pattern, x1, x2))
        for name in gets:
            if not _finite(getattr(k, name), k.x1_is_x2):
                raise NumericalError(
                    f"{name}: the kernel overflowed or became undefined in this network "
                    "(very deep net with growing variances?); reduce W_std or the depth")
        if single:
            return getattr(k, gets[0])
        return k if need_ntk else k.replace(ntk=None)

    def init(self, seed, input_shape: Sequence[int]):
        """Draw finite-width parameters; returns ``params`` (pass to :meth:`apply`).

        ``input_shape`` is the shape of one batch, e.g. ``(batch, features)``; the batch
        entry is ignored.
        """
        if isinstance(input_shape, (str, bytes)) or not hasattr(input_shape, "__iter__"):
            raise ArgumentTypeError(f"input_shape: must be a sequence of integers, got "
                                    f"{type(input_shape).__name__}")
        _, params = self.spec.init(arch.as_rng(seed), tuple(input_shape))
        return params

    def apply(self, params, x, pattern=None):
        """The finite-width network's output on ``x`` (numpy, float64); ``pattern``: the
        graphs of :class:`~nnphys.models.graph.Aggregate` layers (leading axis: batch)."""
        x = arch.check_input(x, "x")
        with graph_pattern(pattern):
            return self.spec.apply(params, x)


def _finite(value: np.ndarray, symmetric: bool) -> bool:
    """Whether a kernel is free of NaN and infinity.

    A symmetric fully connected NNGP or NTK is positive semi-definite, so by Cauchy-Schwarz
    ``|K_ij| <= sqrt(K_ii K_jj)``: a finite diagonal bounds every entry, and the layer maps
    produce no NaN from finite arguments (correlations are clipped to [-1, 1]); checking the
    diagonal then suffices. Other kernels are checked entry by entry.
    """
    if symmetric and value.ndim == 2:
        return bool(np.all(np.isfinite(np.diagonal(value))))
    return bool(_fused.all_finite(value)) if value.ndim == 2 else bool(np.all(np.isfinite(value)))


def serial(*layers) -> Network:
    """Compose layers (or networks) one after another into a :class:`Network`."""
    return Network(arch.Serial(tuple(l.spec if isinstance(l, Network) else l for l in layers)))


def parallel(*layers) -> arch.Parallel:
    """Branches applied to the outputs of a :class:`FanOut`, one layer (or network) each."""
    return arch.Parallel(tuple(l.spec if isinstance(l, Network) else l for l in layers))


def _check_pattern(pattern, x1, x2):
    """``pattern`` as a pair of per-input graphs (or None), leading axes checked."""
    if pattern is None:
        return None
    if not isinstance(pattern, (tuple, list)) or len(pattern) != 2:
        raise ArgumentTypeError("pattern: must be a pair (p1, p2) of graphs, as in "
                                "neural-tangents' kernel_fn(x1, x2, pattern=(p1, p2))")
    p1, p2 = pattern
    if x2 is None:
        p2 = p1
    if p1 is None or p2 is None:
        raise ParameterError("pattern: give both graphs (p1, p2) or None")
    for name, p, x in (("pattern[0]", p1, x1), ("pattern[1]", p2, x1 if x2 is None else x2)):
        if np.shape(p)[:1] != x.shape[:1]:
            raise ParameterError(f"{name}: leading axis {np.shape(p)[:1]} must be the batch "
                                 f"size {x.shape[0]}")
    return p1, p2


def _unblocked(spec, x1, x2, layout, need_ntk, pattern=None) -> Kernel:
    if layout == "fc" and _fused.supports(spec):
        return _fused.kernel(spec, x1, x2, need_ntk)
    with graph_pattern(pattern):
        k = apply_layer(spec, input_kernel(x1, x2, layout, need_ntk))
    if isinstance(k, list):
        raise ParameterError("the network ends with several branches; join them with FanInSum")
    return k


def _block_sizes(block_size, x1, layout) -> tuple[int, int]:
    if block_size is None:
        if layout == "fc":
            return x1.shape[0], x1.shape[0]
        positions = int(np.prod(x1.shape[1:-1]))
        per_pair = positions ** 2 if layout == "full" else positions
        b = max(1, int(np.sqrt(_DEFAULT_BLOCK_ENTRIES / per_pair)))
        return b, b
    sizes = (block_size, block_size) if np.isscalar(block_size) else tuple(block_size)
    if len(sizes) != 2 or any(isinstance(b, (bool, str)) or not isinstance(
            b, (int, np.integer)) or b < 1 for b in sizes):
        raise ParameterError(f"block_size: must be a positive int or a pair of them, "
                             f"got {block_size!r}")
    return int(sizes[0]), int(sizes[1])


def _transpose_pair(arr: np.ndarray, layout: str) -> np.ndarray:
    """The kernel block of (x2, x1) from that of (x1, x2)."""
    if layout == "full":
        d = (arr.ndim - 2) // 2
        axes = (1, 0) + tuple(range(2 + d, 2 + 2 * d)) + tuple(range(2, 2 + d))
        return arr.transpose(axes)
    return np.swapaxes(arr, 0, 1)


def _blocked(spec, x1, x2, layout, need_ntk, block_size, pattern=None) -> Kernel:
    """Evaluate in blocks of inputs; with ``x2 = None`` the same block size is used on both
    sides (so every identical pair sits in a diagonal block, evaluated with ``x2 = None``)
    and blocks below the diagonal are the transposes of those above."""
    n1 = x1.shape[0]
    n2 = n1 if x2 is None else x2.shape[0]
    b1, b2 = _block_sizes(block_size, x1, layout)
    if b1 >= n1 and b2 >= n2:
        return _unblocked(spec, x1, x2, layout, need_ntk, pattern)
    symmetric = x2 is None
    if symmetric:
        b2 = b1 = min(b1, b2)
    x2_full = x1 if symmetric else x2
    rows = [slice(i, min(i + b1, n1)) for i in range(0, n1, b1)]
    cols = [slice(j, min(j + b2, n2)) for j in range(0, n2, b2)]
    nngp = ntk = template = None
    cov1 = [None] * len(rows)
    cov2 = [None] * len(cols)
    for bi, r in enumerate(rows):
        for bj, c in enumerate(cols):
            if symmetric and bj < bi:
                continue
            k = _unblocked(spec, x1[r], None if symmetric and bi == bj else x2_full[c],
                           layout, need_ntk, None if pattern is None else
                           (np.asarray(pattern[0])[r], np.asarray(pattern[1])[c]))
            if nngp is None:
                template = k
                nngp = np.empty((n1, n2) + k.nngp.shape[2:])
                ntk = np.empty_like(nngp) if k.ntk is not None else None
            nngp[r, c] = k.nngp
            if ntk is not None:
                ntk[r, c] = k.ntk
            if symmetric and bj > bi:
                nngp[c, r] = _transpose_pair(k.nngp, k.layout)
                if ntk is not None:
                    ntk[c, r] = _transpose_pair(k.ntk, k.layout)
            if not symmetric or bi == bj:
                cov1[bi] = k.cov1
                cov2[bj] = k.cov2
    return template.replace(nngp=nngp, ntk=ntk, cov1=np.concatenate(cov1),
                            cov2=np.concatenate(cov2), x1_is_x2=symmetric)
