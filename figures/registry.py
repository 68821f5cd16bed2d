"""The registry of paper figures: compute (cached as .npz) then plot.

A figure module registers ``Figure(name, compute, plot)``: ``compute(quick) -> dict of
arrays`` (saved to ``<out>/<name>.npz`` and reused while its parameters are unchanged) and
``plot(data, ax_or_fig) -> matplotlib Figure``, written as PNG and PDF.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pkgutil
from typing import Callable

import numpy as np

__all__ = ["Figure", "register", "figures", "make"]

_FIGURES: dict[str, "Figure"] = {}


@dataclasses.dataclass(frozen=True)
class Figure:
    """A figure: ``compute(quick) -> dict[str, ndarray]``, ``plot(data) -> Figure``."""

    name: str
    compute: Callable[[bool], dict]
    plot: Callable[[dict], object]
    description: str = ""


def register(figure: Figure) -> Figure:
    if figure.name in _FIGURES:
        raise ValueError(f"name: figure {figure.name!r} is already registered")
    _FIGURES[figure.name] = figure
    return figure


def figures() -> dict[str, Figure]:
    """All registered figures, by name (imports every module of nnphys.figures but the
    registry: each registers its figures on import)."""
    package = importlib.import_module("nnphys.figures")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "registry" and not module.name.startswith("_"):
            importlib.import_module(f"nnphys.figures.{module.name}")
    return dict(sorted(_FIGURES.items()))


def make(name: str, out: str, quick: bool = False, recompute: bool = False) -> list[str]:
    """Compute (or load the cached data) and plot figure ``name`` into ``out``.

    Returns the paths written (``.npz`` data, ``.png`` and ``.pdf``).
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    available = figures()
    if name not in available:
        raise ValueError(f"name: unknown figure {name!r}; known: {', '.join(available)}")
    fig_spec = available[name]
    os.makedirs(out, exist_ok=True)
    cache = os.path.join(out, f"{name}{'-quick' if quick else ''}.npz")
    data = None
    if os.path.exists(cache) and not recompute:
        with np.load(cache) as stored:
            data = {k: stored[k] for k in stored.files}
    if data is None:
        data = fig_spec.compute(quick)
        tmp = cache + ".tmp.npz"
        np.savez(tmp, **data)
        os.replace(tmp, cache)
    fig = fig_spec.plot(data)
    paths = [cache]
    for ext in ("png", "pdf"):
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths
