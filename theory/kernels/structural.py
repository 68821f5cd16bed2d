"""What a network asks of the kernel's spatial layout.

Layers that mix different spatial positions of the covariance (global pooling, and the
convolutions and pools that precede it) need the full ``(S, S)`` covariance of every pair
of inputs; everything else works on the per-position diagonal. A layer class declares
``needs_full_spatial = True`` when it reads cross-position covariances.
"""

from __future__ import annotations

from ...models import network as arch

__all__ = ["needs_full_layout", "iter_layers"]


def iter_layers(spec: arch.Layer):
    """All layers of a spec, depth first, combinators included."""
    yield spec
    for sub in getattr(spec, "layers", ()):
        yield from iter_layers(sub)


def needs_full_layout(spec: arch.Layer) -> bool:
    """True if some layer of ``spec`` reads covariances between different positions."""
    return any(getattr(layer, "needs_full_spatial", False) for layer in iter_layers(spec))
