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
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import os
import pkgutil
import tempfile
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .errors import ParameterError

__all__ = ["Result", "PhaseDiagram", "load", "PhaseDiagramModel", "register_phase_diagram",
           "phase_diagrams"]

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
        phase: integer phase index on the grid.
        labels: phase index (as str key in JSON, int here) -> phase name.
        boundaries: name -> (M, n_axes) array of points along a transition line.
    """

    axes: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    fields: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    phase: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=int))
    labels: Mapping[int, str] = dataclasses.field(default_factory=dict)
    boundaries: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)

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
        object.__setattr__(self, "labels", {int(k): v for k, v in self.labels.items()})

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
