"""One module per paper figure; ``nnphys figures --all --out DIR`` makes them all."""

from .registry import Figure, cache_key, figures, make, register

__all__ = ["Figure", "cache_key", "figures", "make", "register"]
