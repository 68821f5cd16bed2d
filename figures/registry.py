"""The registry of paper figures: compute (cached as .npz) then plot.

A figure module registers ``Figure(name, compute, plot)``: ``compute(quick) -> dict of
arrays`` (saved to ``<out>/<name>[-quick].npz``) and ``plot(data) -> matplotlib Figure``,
written as PNG and PDF.

The cached data are reused only while their key is unchanged: the key is a SHA-256 hash
of the figure's name, its parameters (``quick`` and the figure's declared ``parameters``)
and the nnphys version (:func:`cache_key`), stored in the ``.npz`` next to the data. A new
release, another size or a changed declared parameter recomputes; an edit of the code
between releases does not change the key, so use ``recompute=True``
(``nnphys figures --recompute``) while developing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import pkgutil
import warnings
import zipfile
import zlib
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import ParameterError
from ..results import write_atomically

__all__ = ["Figure", "register", "figures", "make", "cache_key"]

_FIGURES: dict[str, "Figure"] = {}
_KEY = "__cache_key__"          # the cache file's entry holding the key


@dataclasses.dataclass(frozen=True)
class Figure:
    """A figure: ``compute(quick) -> dict[str, ndarray]``, ``plot(data) -> Figure``.

    ``parameters`` (JSON-serialisable) are the settings ``compute`` depends on besides
    ``quick``; they enter the cache key.
    """

    name: str
    compute: Callable[[bool], dict]
    plot: Callable[[dict], object]
    description: str = ""
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def cache_key(name: str, parameters: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the figure ``name``, its ``parameters`` and the nnphys version."""
    from .. import __version__
    text = json.dumps({"figure": name, "parameters": dict(parameters), "nnphys": __version__},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def register(figure: Figure) -> Figure:
    if figure.name in _FIGURES:
        raise ParameterError(f"name: figure {figure.name!r} is already registered")
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
        raise ParameterError(f"name: unknown figure {name!r}; known: {', '.join(available)}")
    fig_spec = available[name]
    os.makedirs(out, exist_ok=True)
    cache = os.path.join(out, f"{name}{'-quick' if quick else ''}.npz")
    key = cache_key(name, {**fig_spec.parameters, "quick": bool(quick)})
    data = None if recompute else _read_cache(cache, key)
    if data is None:
        data = fig_spec.compute(quick)
        if _KEY in data:
            raise ParameterError(f"compute: figure {name!r} returned the reserved entry "
                                 f"{_KEY!r}")
        _write_cache(cache, key, data)
    fig = fig_spec.plot(data)
    paths = [cache]
    for ext in ("png", "pdf"):
        path = os.path.join(out, f"{name}.{ext}")
        fig.savefig(path, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def _read_cache(path: str, key: str) -> dict | None:
    """The cached arrays, or None if there are none, they were made with another key, or
    the file cannot be read (truncated, damaged: then a warning names it; it is
    recomputed)."""
    if not os.path.exists(path):
        return None
    try:
        stored = np.load(path, allow_pickle=False)
        if not isinstance(stored, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with stored:
            if _KEY not in stored.files or str(stored[_KEY]) != key:
                return None
            return {k: stored[k] for k in stored.files if k != _KEY}
    except (ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        warnings.warn(f"figure cache {path} is unreadable ({type(exc).__name__}: {exc}); "
                      "recomputing it", RuntimeWarning, stacklevel=3)
        return None


def _write_cache(path: str, key: str, data: dict) -> None:
    """Write the arrays and their key atomically (:func:`nnphys.results.write_atomically`)."""
    write_atomically(path, lambda fh: np.savez(fh, **{_KEY: np.array(key)}, **data))
