"""One module per paper figure; ``nnphys figures --all --out DIR`` makes them all."""

from .registry import Figure, figures, make, register

__all__ = ["Figure", "figures", "make", "register"]
