"""One plotting path for records, figures and the command line (matplotlib).

Every function draws on ``ax`` (a new figure's axes if ``None``) and returns the
:class:`matplotlib.axes.Axes`, so a user's ``record.plot()``, ``nnphys phase-diagram
--plot`` and the figure modules draw the same picture.

* :func:`phase_diagram`: the phase map of a :class:`~nnphys.results.PhaseDiagram`
  (failed points blank) with its boundary points.
* :func:`curves`: named curves against one x axis; an :class:`~nnphys.stats.Estimate`
  curve is drawn with error bars (one standard error).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .errors import ArgumentTypeError
from .stats import Estimate

__all__ = ["axes", "phase_diagram", "curves"]


def axes(ax=None, figsize=(5, 4)):
    """``ax``, or the axes of a new figure of ``figsize`` inches."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=figsize)[1]


def phase_diagram(pd, ax=None):
    """Draw a :class:`~nnphys.results.PhaseDiagram` with two axes: phases as coloured
    cells (points that failed, phase -1, stay blank), boundary points on top.

    Parameters
    ----------
    pd : PhaseDiagram
        The record (two axes).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from .results import PhaseDiagram
    if not isinstance(pd, PhaseDiagram):
        raise ArgumentTypeError(f"pd: a PhaseDiagram, got {type(pd).__name__}")
    if len(pd.axes) != 2:
        raise ArgumentTypeError(f"pd: a phase diagram with two axes, got {len(pd.axes)}")
    import matplotlib.pyplot as plt
    ax = axes(ax)
    (xname, x), (yname, y) = pd.axes.items()
    phases = sorted(k for k in pd.labels if k >= 0) or [0]
    mesh = ax.pcolormesh(x, y, np.ma.masked_less(np.asarray(pd.phase).T, 0),
                         shading="nearest", cmap=plt.get_cmap("Blues", max(phases) + 1),
                         vmin=-0.5, vmax=max(phases) + 0.5)
    cbar = ax.figure.colorbar(mesh, ax=ax, ticks=phases)
    cbar.ax.set_yticklabels([pd.labels.get(k, str(k)) for k in phases], fontsize=7)
    for i, (name, pts) in enumerate(pd.boundaries.items()):
        pts = np.asarray(pts)
        if len(pts):
            pts = pts[np.argsort(pts[:, 1])]
            ax.plot(pts[:, 0], pts[:, 1], f"C{i + 1}.", ms=2, label=name)
    ax.set_xlabel(xname)
    ax.set_ylabel(yname)
    if pd.boundaries:
        ax.legend(frameon=False, fontsize=7)
    return ax


def curves(x, ys: Mapping[str, object], ax=None, *, xlabel: str = "", ylabel: str = "",
           log: str = ""):
    """Draw named curves against ``x``: arrays as lines, :class:`~nnphys.stats.Estimate`
    values as points with one-standard-error bars.

    Parameters
    ----------
    x : array_like
        The common x values.
    ys : mapping
        Label -> array of ``len(x)`` values or an :class:`~nnphys.stats.Estimate`.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if omitted.
    xlabel, ylabel : str
        Axis labels.
    log : str
        ``"x"``, ``"y"`` or ``"xy"``: the logarithmic axes.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = axes(ax)
    x = np.asarray(x, dtype=float)
    for label, y in ys.items():
        if isinstance(y, Estimate):
            ax.errorbar(x, np.asarray(y.mean), np.asarray(y.stderr), fmt="o", ms=3,
                        label=label)
        else:
            ax.plot(x, np.asarray(y, dtype=float), label=label)
    if "x" in log:
        ax.set_xscale("log")
    if "y" in log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if len(ys) > 1:
        ax.legend(frameon=False, fontsize=7)
    return ax
