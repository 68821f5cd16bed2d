"""Result records shared by every solver, the one phase-diagram type and its registry.

Results are frozen dataclasses holding numpy arrays together with the solver's honesty
(`converged`, `iterations`, `residual`) and the parameters that produced them. Nothing is
reported by default: a solver sets the three from what it measured, and a record for which
they do not apply (a closed form, a simulation, a fit) leaves them ``None``. Every
result saves to a single ``.npz`` file: arrays as entries, everything else as JSON
metadata (class name, parameters, nnphys version, seed), and loads back with
:func:`load`.

Subclass :class:`Result` for a model's own record; the subclass is registered by name so
:func:`load` rebuilds the right type::

    @dataclasses.dataclass(frozen=True)
    class StationaryState(Result):
        delta0: float = 0.0
        tau: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))

Dict fields whose values are arrays (``axes``, ``fields``, ``boundaries``) are stored
entry by entry, so a :class:`PhaseDiagram` round-trips exactly. JSON has no tuples: a field
whose default is a tuple is given back as a tuple (nested lists become nested tuples); a
record whose JSON values need another type back (int dict keys, say) restores it in its
``__post_init__``.

A model's phase-diagram function registers itself with :func:`register_phase_diagram`;
:func:`phase_diagrams` lists them (the ``nnphys phase-diagram`` command reads that list)::

    @register_phase_diagram("hopfield", axes=("alpha", "T"))
    def phase_diagram(alpha, T) -> PhaseDiagram: ...

A grid point whose solver did not converge does not sink the diagram: the model sets its
``status`` to :data:`FAILED` (codes in :data:`POINT_STATUS`), the record puts NaN in its
fields and the phase ``-1`` there, counts the points in ``n_failed``, and the model returns
``diagram.warn_failures()``, which warns how many failed
(:class:`~nnphys.errors.ConvergenceWarning`).
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import pkgutil
import tempfile
import warnings
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .errors import ConvergenceWarning, ParameterError

__all__ = ["Result", "PhaseDiagram", "load", "PhaseDiagramModel", "register_phase_diagram",
           "phase_diagrams", "POINT_STATUS", "OK", "FAILED", "FAILED_PHASE"]

OK, FAILED = 0, 1
POINT_STATUS = {OK: "ok", FAILED: "not converged"}   # codes of PhaseDiagram.status
FAILED_PHASE = -1                                     # the phase index of a failed point

_REGISTRY: dict[str, type["Result"]] = {}
_ARRAY_DICT_PREFIX = "__dict__/"


def _version() -> str:
    from . import __version__
    return __version__


@dataclasses.dataclass(frozen=True)
class Result:
    """Base record: convergence information and the parameters used.

    Attributes:
        converged: whether the solver reached its tolerance, as it measured it; ``None``
            where no iterative solver ran (closed forms, simulations, fits).
        iterations: iterations (or function evaluations) the solver spent; ``None`` if
            none apply.
        residual: final residual in the solver's own norm (stated in the solver's
            docstring); ``None`` if none applies.
        parameters: the inputs that produced the result (JSON-serialisable values).
    """

    converged: bool | None = None
    iterations: int | None = None
    residual: float | None = None
    parameters: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    _registry_name: ClassVar[str] = "Result"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._registry_name = f"{cls.__module__}.{cls.__qualname__}"
        _REGISTRY[cls._registry_name] = cls

    def save(self, path: str | os.PathLike) -> None:
        """Write the record to ``path`` (.npz) atomically: a crash leaves no partial file."""
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {"class": self._registry_name, "nnphys_version": _version(),
                                "scalars": {}, "array_dicts": {}}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                arrays[f.name] = value
            elif isinstance(value, Mapping) and value and all(
                    isinstance(v, np.ndarray) for v in value.values()):
                meta["array_dicts"][f.name] = list(value.keys())
                for key, v in value.items():
                    arrays[f"{_ARRAY_DICT_PREFIX}{f.name}/{key}"] = v
            else:
                meta["scalars"][f.name] = _to_json(value)
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(suffix=".npz", dir=directory)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, __meta__=np.array(json.dumps(meta)), **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise


def _to_json(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def load(path: str | os.PathLike) -> Result:
    """Load a record written by :meth:`Result.save`, rebuilding its class."""
    with np.load(os.fspath(path), allow_pickle=False) as data:
        meta = json.loads(str(data["__meta__"]))
        cls = _REGISTRY.get(meta["class"])
        if cls is None:
            raise ParameterError(f"path: unknown result class {meta['class']!r} "
                             "(import the module that defines it first)")
        kwargs: dict[str, Any] = dict(meta["scalars"])
        for name, keys in meta["array_dicts"].items():
            kwargs[name] = {k: data[f"{_ARRAY_DICT_PREFIX}{name}/{k}"] for k in keys}
        for name in data.files:
            if name != "__meta__" and not name.startswith(_ARRAY_DICT_PREFIX):
                kwargs[name] = data[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, value in kwargs.items():
        if name in fields and isinstance(value, list) and isinstance(fields[name].default, tuple):
            kwargs[name] = _to_tuple(value)
    return cls(**{k: v for k, v in kwargs.items() if k in fields})


def _to_tuple(value: Any) -> Any:
    return tuple(_to_tuple(v) for v in value) if isinstance(value, list) else value


@dataclasses.dataclass(frozen=True)
class PhaseDiagram(Result):
    """A phase diagram of any model on a grid of control parameters.

    Attributes:
        axes: name -> 1-D grid, in axis order (``phase.shape == tuple(len(a) for a in axes)``).
        fields: name -> N-D array on the grid (order parameters, free energies, ...).
        phase: integer phase index on the grid (:data:`FAILED_PHASE` = -1 at failed points,
            labelled ``"not converged"``).
        labels: phase index (as str key in JSON, int here) -> phase name.
        boundaries: name -> (M, n_axes) array of points along a transition line.
        status: per-point code on the grid, :data:`POINT_STATUS`: 0 ok, 1 the point's
            solver did not converge (its fields are NaN). Empty means all ok (files
            written before the field existed load so).

    ``n_failed`` counts the points with a status other than ok.
    """

    axes: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    fields: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    phase: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))
    labels: Mapping[int, str] = dataclasses.field(default_factory=dict)
    boundaries: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    status: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int8))

    def __post_init__(self):
        shape = tuple(len(np.asarray(a)) for a in self.axes.values())
        if self.phase.size and self.phase.shape != shape:
            raise ParameterError(f"phase: shape {self.phase.shape} does not match axes "
                                 f"{shape}")
        for name, field in self.fields.items():
            if np.shape(field)[:len(shape)] != shape:
                raise ParameterError(f"fields[{name!r}]: shape {np.shape(field)} does not "
                                 f"start with the grid shape {shape}")
        # JSON turns int keys into strings; normalise back to int.
        labels = {int(k): v for k, v in self.labels.items()}
        status = np.asarray(self.status, dtype=np.int8)
        if status.size == 0:
            status = np.zeros(shape if self.axes else (0,), dtype=np.int8)
        if status.shape != shape and self.axes:
            raise ParameterError(f"status: shape {status.shape} does not match axes {shape}")
        unknown = set(np.unique(status).tolist()) - set(POINT_STATUS)
        if unknown:
            raise ParameterError(f"status: codes {sorted(unknown)} are not in "
                                 f"{POINT_STATUS}")
        failed = status != OK
        if np.any(failed):
            fields = {}
            for name, field in self.fields.items():
                field = np.array(field, dtype=np.float64)
                field[failed] = np.nan
                fields[name] = field
            phase = np.array(self.phase, dtype=int)
            phase[failed] = FAILED_PHASE
            labels[FAILED_PHASE] = POINT_STATUS[FAILED]
            object.__setattr__(self, "fields", fields)
            object.__setattr__(self, "phase", phase)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "status", status)

    @property
    def n_failed(self) -> int:
        """How many grid points did not converge (``status != 0``)."""
        return int(np.count_nonzero(self.status != OK))

    def warn_failures(self) -> "PhaseDiagram":
        """Warn (:class:`~nnphys.errors.ConvergenceWarning`) how many points failed, if
        any; returns the record itself (a model ends with ``return pd.warn_failures()``)."""
        if self.n_failed:
            where = np.argwhere(self.status != OK)[0]
            first = ", ".join(f"{name}={np.asarray(grid)[i]:g}"
                              for (name, grid), i in zip(self.axes.items(), where))
            warnings.warn(f"phase diagram: {self.n_failed} of {self.status.size} grid points "
                          f"did not converge (first at {first}); their fields are NaN, "
                          f"their phase {FAILED_PHASE}", ConvergenceWarning, stacklevel=3)
        return self

    def phase_name(self, *index: int) -> str:
        """Name of the phase at a grid index."""
        return self.labels[int(self.phase[index])]


@dataclasses.dataclass(frozen=True)
class PhaseDiagramModel:
    """A registered phase-diagram function (see :func:`register_phase_diagram`).

    Attributes:
        name: the model's name on the command line (``nnphys phase-diagram NAME``).
        function: returns a :class:`PhaseDiagram`; called by keyword,
            ``function(**{axes[0]: grid0, axes[1]: grid1}, **defaults, **params)``.
        axes: the names of its two grid parameters, in the diagram's axis order.
        defaults: parameter values used unless the caller gives others.
        serial_only: None if the diagram on a grid is the union of its diagrams on the
            columns (one value of the second axis each), so that columns may run on
            separate workers; otherwise the reason why not.
    """

    name: str
    function: Callable[..., PhaseDiagram]
    axes: tuple[str, str]
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    serial_only: str | None = None

    @property
    def description(self) -> str:
        """The first sentence of the function's docstring."""
        text = " ".join((self.function.__doc__ or "").split("\n\n")[0].split())
        return text.split(". ")[0].rstrip(".")

    def __call__(self, first, second, **params) -> PhaseDiagram:
        return self.function(**{self.axes[0]: first, self.axes[1]: second},
                             **{**self.defaults, **params})


_PHASE_DIAGRAMS: dict[str, PhaseDiagramModel] = {}


def register_phase_diagram(name: str, axes: tuple[str, str], *,
                           defaults: Mapping[str, Any] | None = None,
                           serial_only: str | None = None) -> Callable:
    """Decorator registering a phase-diagram function under ``name``.

    ``axes`` and the keys of ``defaults`` must be parameters of the function;
    ``serial_only`` states why the diagram cannot be computed column by column, if it
    cannot (see :class:`PhaseDiagramModel`).
    """
    if not isinstance(name, str) or not name:
        raise ParameterError(f"name: expected a non-empty string, got {name!r}")
    axes = tuple(axes)
    if len(axes) != 2:
        raise ParameterError(f"axes: expected two parameter names, got {axes!r}")

    def decorate(function):
        parameters = inspect.signature(function).parameters
        unknown = [a for a in (*axes, *(defaults or {})) if a not in parameters]
        if unknown:
            raise ParameterError(f"axes: {function.__qualname__} has no parameter "
                                 f"{unknown[0]!r}")
        old = _PHASE_DIAGRAMS.get(name)
        if old is not None and (old.function.__module__, old.function.__qualname__) != (
                function.__module__, function.__qualname__):
            raise ParameterError(f"name: phase diagram {name!r} is already registered by "
                                 f"{old.function.__module__}")
        _PHASE_DIAGRAMS[name] = PhaseDiagramModel(name, function, axes, dict(defaults or {}),
                                                  serial_only)
        return function

    return decorate


def phase_diagrams() -> dict[str, PhaseDiagramModel]:
    """Every registered phase-diagram model, by name (imports every module of
    :mod:`nnphys.theory` first: each registers its models on import)."""
    package = importlib.import_module("nnphys.theory")
    for module in pkgutil.walk_packages(package.__path__, "nnphys.theory."):
        importlib.import_module(module.name)
    return dict(sorted(_PHASE_DIAGRAMS.items()))
