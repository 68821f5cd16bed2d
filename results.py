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

Nested records (a :class:`~nnphys.stats.Estimate` in a field), layers (by their spec
string, :func:`nnphys.models.network.spec_string`) and sympy expressions are saved too;
:func:`load` imports the nnphys module defining a record's class itself, refuses files it
did not write with :class:`~nnphys.errors.RecordFileError`, and never unpickles. Saves are
atomic (:func:`write_atomically`).

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
import errno
import importlib
import inspect
import itertools
import json
import os
import pkgutil
import sys
import tempfile
import warnings
import zipfile
import zlib
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .errors import ArgumentTypeError, ConvergenceWarning, ParameterError, RecordFileError

__all__ = ["Result", "PhaseDiagram", "load", "PhaseDiagramModel", "register_phase_diagram",
           "phase_diagrams", "write_atomically", "remove_stale_temporaries", "POINT_STATUS",
           "OK", "FAILED", "FAILED_PHASE"]

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

    def _repr_html_(self) -> str:
        """An HTML table of the record for notebooks: each field's value (arrays by shape,
        dtype and range) and the parameters."""
        import html
        rows = []
        for f in dataclasses.fields(self):
            if f.name == "parameters":
                continue
            rows.append((f.name, _describe(getattr(self, f.name))))
        rows += [(f"parameters[{k!r}]", _describe(v)) for k, v in self.parameters.items()]
        body = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(v)}"
                       "</td></tr>" for k, v in rows)
        return (f"<table><caption><b>{html.escape(type(self).__name__)}</b> "
                f"(nnphys {html.escape(_version())})</caption>{body}</table>")

    def save(self, path: str | os.PathLike) -> None:
        """Write the record to ``path`` (``.npz`` appended if missing) atomically (see
        :func:`write_atomically`): a crash leaves the old file or the new one, never a
        partial one.

        Raises:
            ArgumentTypeError: a field holds a value with no file form (the message names
                the field), e.g. an ``Elementwise`` activation made from a Python callable.
        """
        encoder = _Encoder()
        meta = {"class": self._registry_name, "nnphys_version": _version(),
                **encoder.record(self, "")}
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        write_atomically(path, lambda fh: np.savez(
            fh, __meta__=np.array(json.dumps(meta)), **encoder.arrays))


def _describe(value) -> str:
    """A short text for one field in :meth:`Result._repr_html_`."""
    if isinstance(value, np.ndarray) and value.ndim:
        finite = value[np.isfinite(value)] if value.dtype.kind in "fc" else value
        span = (f", {np.min(finite):.4g} .. {np.max(finite):.4g}"
                if finite.size and value.dtype.kind in "biuf" else "")
        return f"array {value.shape} {value.dtype}{span}"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_describe(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:.6g}"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def xarray_dataset(axes: Mapping[str, np.ndarray], fields: Mapping[str, np.ndarray],
              attrs: Mapping[str, Any]):
    """An :class:`xarray.Dataset` of grid-shaped ``fields`` on the named ``axes``: a
    field's trailing dimensions beyond the grid are named ``NAME_dim0``, ...; ``attrs``
    (JSON-encoded where xarray would not keep them as netCDF attributes) plus
    ``nnphys_version``. Needs the ``xarray`` extra."""
    try:
        import xarray
    except ImportError:
        raise ImportError('to_xarray needs xarray: pip install "nnphys[xarray]"') from None
    names = list(axes)
    data = {}
    for name, value in fields.items():
        value = np.asarray(value)
        extra = [f"{name}_dim{i}" for i in range(value.ndim - len(names))]
        data[name] = (names + extra, value)
    out = {}
    for key, value in {**attrs, "nnphys_version": _version()}.items():
        out[str(key)] = value if isinstance(value, (str, int, float)) and \
            not isinstance(value, bool) else json.dumps(value, default=str)
    return xarray.Dataset(data, coords={n: np.asarray(a) for n, a in axes.items()},
                          attrs=out)


# ---------------------------------------------------------------------------------------
# The file form of a record
# ---------------------------------------------------------------------------------------
#
# ``__meta__`` (a JSON string) holds the class name, the version and, per field, either
# nothing (the field is the array entry of its own name, listed in "arrays"), a list of
# keys ("array_dicts": entries "__dict__/FIELD/KEY"), or a JSON value ("scalars"). Inside
# JSON values, objects JSON has no form for are tagged one-key objects:
#   {"__record__": {"class": ..., "scalars": ..., "array_dicts": ..., "arrays": ...}}
#       a record nested in a field (a stats.Estimate, say), its arrays stored as entries
#       under "__nested__/N/";
#   {"__layer__": "Dense(out_dim=1, ...)"}   a layer, by its spec string
#       (nnphys.models.network.spec_string);
#   {"__sympy__": "Add(Symbol('K'), Integer(1))"}   a sympy expression, by its srepr (read
#       back by a restricted parser: only sympy classes and literals, nothing evaluated).

_NESTED_PREFIX = "__nested__/"


class _Encoder:
    """Splits records into npz entries (``arrays``) and JSON metadata."""

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self._nested = 0

    def record(self, record: "Result", prefix: str) -> dict:
        part: dict[str, Any] = {"scalars": {}, "array_dicts": {}, "arrays": []}
        for f in dataclasses.fields(record):
            value = getattr(record, f.name)
            if isinstance(value, np.ndarray):
                part["arrays"].append(f.name)
                self.arrays[prefix + f.name] = value
            elif isinstance(value, Mapping) and value and all(
                    isinstance(v, np.ndarray) for v in value.values()):
                part["array_dicts"][f.name] = [str(k) for k in value]
                for key, v in value.items():
                    self.arrays[f"{prefix}{_ARRAY_DICT_PREFIX}{f.name}/{key}"] = v
            else:
                part["scalars"][f.name] = self.json(value, f.name)
        return part

    def json(self, value: Any, where: str) -> Any:
        """``value`` as JSON; ``where`` names it in errors (``parameters['activation']``)."""
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, (np.floating, np.integer, np.bool_)):
            return value.item()
        if isinstance(value, Result):
            prefix = f"{_NESTED_PREFIX}{self._nested}/"
            self._nested += 1
            return {"__record__": {"class": value._registry_name, "prefix": prefix,
                                   **self.record(value, prefix)}}
        if isinstance(value, Mapping):
            return {str(k): self.json(v, f"{where}[{k!r}]") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.json(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, np.ndarray):
            if np.iscomplexobj(value) or value.dtype.kind not in "biuf":
                raise ArgumentTypeError(f"{where}: a {value.dtype} array nested in a field "
                                        "cannot be saved (only real numeric ones)")
            return value.tolist()
        from .models import network
        if isinstance(value, network.Layer):
            try:
                return {"__layer__": network.spec_string(value)}
            except ArgumentTypeError as exc:
                raise ArgumentTypeError(f"{where}: cannot be saved: {exc}") from None
        sympy = sys.modules.get("sympy")
        if sympy is not None and isinstance(value, sympy.Basic):
            return {"__sympy__": sympy.srepr(value)}
        raise ArgumentTypeError(f"{where}: a {type(value).__name__} has no file form (save "
                                "numbers, strings, arrays, layers, records, lists and dicts "
                                "of them)")


class _Decoder:
    """Rebuilds records from an open npz archive and its metadata."""

    def __init__(self, data):
        self.data = data

    def record(self, class_name: str, part: Mapping, prefix: str) -> "Result":
        cls = _record_class(class_name)
        kwargs: dict[str, Any] = {k: self.json(v) for k, v in part["scalars"].items()}
        for name, keys in part["array_dicts"].items():
            kwargs[name] = {k: self.data[f"{prefix}{_ARRAY_DICT_PREFIX}{name}/{k}"]
                            for k in keys}
        if "arrays" in part:
            names = part["arrays"]
        else:                                   # written before "arrays" was recorded
            names = [n for n in self.data.files if n != "__meta__"
                     and not n.startswith((_ARRAY_DICT_PREFIX, _NESTED_PREFIX))]
        for name in names:
            kwargs[name] = self.data[prefix + name]
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for name, value in kwargs.items():
            if name in fields and isinstance(value, list) and isinstance(
                    fields[name].default, tuple):
                kwargs[name] = _to_tuple(value)
        return cls(**{k: v for k, v in kwargs.items() if k in fields})

    def json(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (tag, content), = value.items()
            if tag == "__record__":
                return self.record(content["class"], content, content["prefix"])
            if tag == "__layer__":
                from .models import network
                return network.parse_spec(content).layers[0]
            if tag == "__sympy__":
                return _sympy_from_srepr(content)
        return {k: self.json(v) for k, v in value.items()}


def _record_class(name: str) -> type["Result"]:
    """The registered record class ``module.Qualname``, importing its module if it is part
    of nnphys (other modules are never imported on a file's say: import them first)."""
    cls = _REGISTRY.get(name)
    if cls is None and name.startswith("nnphys."):
        parts = name.split(".")
        for i in range(len(parts) - 1, 1, -1):
            try:
                importlib.import_module(".".join(parts[:i]))
                break
            except ImportError:
                continue
        cls = _REGISTRY.get(name)
    if cls is None:
        raise RecordFileError(f"unknown result class {name!r} (import the module that "
                              "defines it first)")
    return cls


def _sympy_from_srepr(text: str):
    """A sympy expression from its ``srepr``, built by walking the syntax tree: only calls
    of sympy classes on literals and other such calls are accepted, so a file cannot run
    code (``sympy.sympify`` would ``eval`` it)."""
    import ast
    import sympy

    def build(node):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            cls = getattr(sympy, node.func.id, None)
            if not (isinstance(cls, type) and issubclass(cls, sympy.Basic)):
                raise ValueError(f"{node.func.id} is not a sympy class")
            return cls(*(build(a) for a in node.args),
                       **{k.arg: build(k.value) for k in node.keywords})
        if isinstance(node, (ast.Tuple, ast.List)):
            return tuple(build(e) for e in node.elts)
        return ast.literal_eval(node)

    return build(ast.parse(text, mode="eval").body)


def write_atomically(path: str | os.PathLike, write: Callable[[Any], None], *,
                     clean: bool = True) -> None:
    """Create or replace the file ``path`` with what ``write(fh)`` writes to a binary file.

    The bytes go to a temporary file next to the target, named ``.NAME.nnphys-tmp-PID-N``;
    it is flushed and ``fsync``-ed, renamed over ``path`` (``os.replace``, atomic), and the
    directory is ``fsync``-ed, so a crash at any instant leaves the old file or the new one.
    A process killed mid-write leaves its temporary file; the next write of the same target
    removes the temporaries of processes that no longer run (``clean=False`` skips that
    directory listing, for a writer of many files that calls
    :func:`remove_stale_temporaries` once itself). The file's permissions follow the umask,
    like any file the user creates.
    """
    path = os.path.abspath(os.fspath(path))
    directory, name = os.path.split(path)
    if clean:
        remove_stale_temporaries(directory, name)
    tmp = os.path.join(directory, f".{name}{_TMP_MARK}{os.getpid()}-{next(_TMP_COUNTER)}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "cannot write: no such directory",
                                directory) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


_TMP_MARK = ".nnphys-tmp-"
_TMP_COUNTER = itertools.count()


def remove_stale_temporaries(directory: str, name: str | None = None) -> None:
    """Delete the temporary files ``.NAME.nnphys-tmp-PID-N`` of :func:`write_atomically`
    in ``directory`` (for the target ``name`` only, unless None) whose process ``PID`` no
    longer runs."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return                                  # the write itself will report the error
    stem = f".{name}{_TMP_MARK}" if name is not None else None
    for entry in entries:
        if stem is not None:
            tail = entry[len(stem):] if entry.startswith(stem) else ""
        else:
            tail = entry.rpartition(_TMP_MARK)[2] if (
                entry.startswith(".") and _TMP_MARK in entry) else ""
        pid = tail.partition("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            try:
                os.remove(os.path.join(directory, entry))
            except FileNotFoundError:
                pass                            # another writer removed it first


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return False                            # ours, from an earlier failed write
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True                             # another user's process
    return True


def _fsync_directory(directory: str) -> None:
    """Make a rename in ``directory`` durable (where the platform can open directories)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def load(path: str | os.PathLike) -> Result:
    """Load a record written by :meth:`Result.save`, rebuilding its class (importing the
    nnphys module that defines it if needed). Nothing is unpickled.

    Raises:
        RecordFileError: the file is empty, truncated, not an ``.npz``, an ``.npz`` not
            written by nnphys, or its metadata is damaged; the message names the file.
        OSError: the file cannot be opened (missing, a directory, no permission).
    """
    path = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
    except OSError as exc:
        if os.path.isfile(path) and not isinstance(exc, PermissionError):
            raise RecordFileError(f"{path}: not an .npz file ({exc})") from None
        raise
    except (EOFError, ValueError, zipfile.BadZipFile) as exc:
        if os.path.getsize(path) == 0:
            what = "an empty file"
        elif isinstance(exc, ValueError) and "pickle" in str(exc):
            what = "not an .npz file (numpy reads it as pickled data, which nnphys never loads)"
        else:
            what = f"truncated or not an .npz file ({type(exc).__name__}: {exc})"
        raise RecordFileError(f"{path}: {what}") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise RecordFileError(f"{path}: a single .npy array, not an nnphys record (.npz)")
    with data:
        if "__meta__" not in data.files:
            raise RecordFileError(f"{path}: an .npz file not written by nnphys (no __meta__ "
                                  "entry)")
        try:
            meta = json.loads(str(data["__meta__"][()]))
            return _Decoder(data).record(meta["class"], meta, "")
        except RecordFileError as exc:
            raise RecordFileError(f"{path}: {exc}") from None
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
            raise RecordFileError(f"{path}: truncated or damaged ({type(exc).__name__}: "
                                  f"{exc})") from None
        except (ValueError, KeyError, TypeError, AttributeError, SyntaxError) as exc:
            # JSONDecodeError is a ValueError; a record's own checks raise ParameterError
            raise RecordFileError(f"{path}: damaged or not a record nnphys wrote "
                                  f"({type(exc).__name__}: {exc})") from None


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

    def plot(self, ax=None):
        """The phase map with its boundaries (:func:`nnphys.plotting.phase_diagram`);
        returns the matplotlib Axes."""
        from .plotting import phase_diagram
        return phase_diagram(self, ax)

    def to_xarray(self):
        """An :class:`xarray.Dataset` on the named axes: every field, ``phase`` and
        ``status``; attributes: the parameters, the phase labels (JSON) and the nnphys
        version (needs the ``xarray`` extra)."""
        return xarray_dataset(self.axes, {**self.fields, "phase": self.phase,
                                     "status": self.status},
                         {**self.parameters, "labels": {str(k): v for k, v in
                                                         self.labels.items()}})


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
