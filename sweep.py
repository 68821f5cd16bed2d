"""Parameter sweeps: a function over a grid, serially, on local processes or on Dask.

    >>> from nnphys import sweep
    >>> def energy(alpha, T, seed):
    ...     return alpha * T
    >>> res = sweep.run(energy, {"alpha": [0.1, 0.2], "T": [0.0, 0.5, 1.0]}, progress=False)
    >>> res.fields["value"].shape
    (2, 3)

* Points are the Cartesian product of the axes in C order (last axis fastest); ``fn`` is
  called as ``fn(**point, seed=s)``.
* Per-point seeds come from one ``seed``: point ``i`` gets
  ``SeedSequence(seed, spawn_key=(i,)).generate_state(1)[0]``, the same whatever the
  backend, the order of completion or a resumption.
* ``checkpoint=DIR`` writes every finished point as its own file, atomically (temporary file,
  ``fsync``, ``os.replace``), so a sweep killed at any instant loses no finished point and
  restarts without recomputing them. The directory records the grid and the seed; resuming
  with others is refused. A point file that cannot be read (truncated by a full disk, say)
  is reported with a :class:`CheckpointWarning` naming it and its point computed again.
* A point whose ``fn`` raises is recorded with its error (type, message, traceback) and
  appears as NaN in the fields; it is retried on resume only with ``retry_failed=True``.
* Backends: ``"serial"``, ``"processes"`` (``concurrent.futures`` with the spawn start
  method; the workers exit with the driver however it ends, SIGKILL included, and an
  interrupted driver terminates them) and ``"dask"`` (``scheduler="tcp://host:port"`` or a
  ``distributed.Client``; needs the ``distributed`` extra).
* The :class:`SweepResult` is a :class:`~nnphys.results.Result`: ``res.save(path)`` writes
  it atomically, :func:`nnphys.load` reads it back.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import signal
import threading
import traceback
import warnings
from typing import Any, Callable, Mapping

import numpy as np

from . import checks
from .errors import ArgumentTypeError, ParameterError, RecordFileError
from .results import Result, remove_stale_temporaries, write_atomically

__all__ = ["SweepResult", "run", "point_seed", "CheckpointWarning"]

BACKENDS = ("serial", "processes", "dask")
_META = "sweep.json"


@dataclasses.dataclass(frozen=True)
class SweepResult(Result):
    """Results of a sweep, assembled into arrays (a record of outcomes, not of a solver:
    ``converged``, ``iterations`` and ``residual`` stay ``None``).

    Attributes:
        axes: name -> 1-D grid.
        fields: name -> array of shape ``grid_shape + value_shape`` (NaN at failed points).
        seeds: the seed passed to each point, grid-shaped.
        errors: flat index -> ``{"point", "type", "message", "traceback"}`` of failed points.
        complete: every point finished (successfully or not).
        parameters: ``{"seed": master seed}``.
    """

    axes: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    fields: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    seeds: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    errors: Mapping[int, dict] = dataclasses.field(default_factory=dict)
    complete: bool = False

    def __post_init__(self):
        # JSON turns the int keys of ``errors`` into strings; normalise back to int.
        object.__setattr__(self, "errors", {int(k): v for k, v in self.errors.items()})

    @property
    def n_failed(self) -> int:
        return len(self.errors)

    @property
    def shape(self) -> tuple:
        return self.seeds.shape

    def to_xarray(self):
        """An :class:`xarray.Dataset` on the named axes: every field and the per-point
        ``seeds``; attributes: the parameters (master seed), ``complete``, ``n_failed``
        and the nnphys version (needs the ``xarray`` extra)."""
        from .results import xarray_dataset
        return xarray_dataset(self.axes, {**self.fields, "seeds": self.seeds},
                         {**self.parameters, "complete": int(self.complete),
                          "n_failed": self.n_failed})


_CONNECT_TIMEOUT = "10s"     # to reach an existing Dask scheduler

def point_seed(seed: int, index: int) -> int:
    """The seed of point ``index`` of a sweep with master ``seed`` (both integers >= 0)."""
    seed = checks.integer("seed", seed, low=0)
    index = checks.integer("index", index, low=0)
    return int(np.random.SeedSequence(seed, spawn_key=(index,)).generate_state(1)[0])


def _call(fn: Callable, kwargs: dict) -> tuple:
    """Run one point; never raises (errors are returned as data)."""
    try:
        return ("ok", _normalise(fn(**kwargs)))
    except Exception as exc:          # recorded, not dropped: the sweep goes on
        return ("error", {"type": type(exc).__name__, "message": str(exc),
                          "traceback": traceback.format_exc()})


def _normalise(value) -> dict:
    if isinstance(value, Mapping):
        return {str(k): np.asarray(v, dtype=float) for k, v in value.items()}
    return {"value": np.asarray(value, dtype=float)}


class _Checkpoint:
    """One file per finished point in a directory, written atomically."""

    def __init__(self, path: str, axes: dict, seed: int):
        if not isinstance(path, (str, os.PathLike)):
            raise ArgumentTypeError(f"checkpoint: must be a directory path (str or "
                                    f"os.PathLike), got {type(path).__name__}")
        self.path = os.fspath(path)
        if not self.path:
            raise ParameterError("checkpoint: must be a directory path, got ''")
        try:
            os.makedirs(self.path, exist_ok=True)
        except OSError as exc:
            raise ParameterError(f"checkpoint: cannot create the directory {self.path!r} "
                                 f"({exc.strerror or exc})") from None
        remove_stale_temporaries(self.path)     # left by a sweep killed mid-write
        meta = {"axes": {k: v.tolist() for k, v in axes.items()}, "seed": int(seed)}
        meta_path = os.path.join(self.path, _META)
        if os.path.exists(meta_path):
            try:
                with open(meta_path) as fh:
                    stored = json.load(fh)
                if not (isinstance(stored, dict) and {"seed", "axes"} <= stored.keys()):
                    raise ValueError("no seed and axes entries")
            except ValueError as exc:           # JSONDecodeError, UnicodeDecodeError too
                raise RecordFileError(f"checkpoint: {meta_path} is unreadable ({exc}); it "
                                      "records the grid and the seed of the sweep, so the "
                                      "checkpoint cannot be resumed: remove the directory "
                                      "to start again") from None
            if stored["seed"] != meta["seed"]:
                raise ParameterError(f"checkpoint: {self.path} was written with seed "
                                 f"{stored['seed']}, not {seed}")
            if stored["axes"] != meta["axes"]:
                raise ParameterError(f"checkpoint: {self.path} holds a sweep over a different "
                                     "grid")
        else:
            self._atomic_write(meta_path, json.dumps(meta).encode())

    @staticmethod
    def _atomic_write(path: str, data: bytes) -> None:
        # one directory listing per point would cost O(points^2): cleaned once in __init__
        write_atomically(path, lambda fh: fh.write(data), clean=False)

    def _file(self, index: int) -> str:
        return os.path.join(self.path, f"point-{index:09d}.json")

    def write(self, index: int, outcome: tuple) -> None:
        status, payload = outcome
        record = {"status": status}
        if status == "ok":
            record["values"] = {k: {"shape": list(v.shape), "data": v.ravel().tolist()}
                                for k, v in payload.items()}
        else:
            record["error"] = payload
        self._atomic_write(self._file(index), json.dumps(record).encode())

    def read(self) -> dict[int, tuple]:
        """The finished points; an unreadable point file (truncated, damaged) is skipped
        with a :class:`CheckpointWarning` naming it, so that its point is computed again."""
        done = {}
        for name in sorted(os.listdir(self.path)):
            if not (name.startswith("point-") and name.endswith(".json")):
                continue
            path = os.path.join(self.path, name)
            try:
                index = int(name[6:15])
                with open(path) as fh:
                    record = json.load(fh)
                if record["status"] == "ok":
                    done[index] = ("ok", {k: np.array(v["data"], dtype=float).reshape(
                        v["shape"]) for k, v in record["values"].items()})
                else:
                    done[index] = ("error", dict(record["error"]))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                # JSONDecodeError and UnicodeDecodeError are ValueErrors
                warnings.warn(f"checkpoint: {path} is unreadable ({type(exc).__name__}: "
                              f"{exc}); its point will be computed again", CheckpointWarning,
                              stacklevel=3)
        return done


class CheckpointWarning(UserWarning):
    """A checkpoint file could not be read; its point is computed again."""


def _check_grid(grid) -> dict[str, np.ndarray]:
    if not isinstance(grid, Mapping):
        raise ArgumentTypeError(f"grid: must be a mapping name -> 1-D sequence of values, "
                                f"got {type(grid).__name__}")
    if not grid:
        raise ParameterError("grid: must have at least one axis")
    axes = {}
    for name, values in grid.items():
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.size == 0:
            raise ParameterError(f"grid: axis {name!r} must be a non-empty 1-D sequence, "
                             f"got shape {arr.shape}")
        axes[str(name)] = arr
    return axes


def _progress(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, disable=not enabled, desc="sweep", unit="pt")


def run(fn: Callable, grid: Mapping[str, Any], *, seed: int = 0, backend: str = "serial",
        n_workers: int | None = None, scheduler=None, checkpoint: str | None = None,
        progress: bool = True, pass_seed: bool = True,
        retry_failed: bool = False) -> SweepResult:
    """Evaluate ``fn`` at every point of ``grid`` (see the module docstring).

    Args:
        fn: called as ``fn(**point, seed=int)`` (without ``seed`` if ``pass_seed=False``);
            returns a number, an array or a dict of them. Must be picklable for the
            process and Dask backends (a module-level function).
        grid: name -> 1-D values.
        seed: master seed of the per-point seeds.
        backend: ``"serial"``, ``"processes"`` or ``"dask"``.
        n_workers: worker processes (default: the number of CPUs).
        scheduler: Dask scheduler address or ``distributed.Client`` (backend "dask").
        checkpoint: directory recording finished points; resumed if it exists.
        progress: show a tqdm progress bar.
        pass_seed: pass each point's seed to ``fn`` as ``seed=``.
        retry_failed: on resume, recompute the points that failed before.
    """
    axes = _check_grid(grid)
    checks.one_of("backend", backend, BACKENDS)
    seed = checks.integer("seed", seed, low=0)
    if n_workers is not None:
        checks.integer("n_workers", n_workers, low=1)
    if backend == "dask" and scheduler is None:
        raise ParameterError("scheduler: the dask backend needs a scheduler address or Client")
    shape = tuple(a.size for a in axes.values())
    n_points = int(np.prod(shape))
    seeds = np.array([point_seed(seed, i) for i in range(n_points)], dtype=np.int64)
    store = _Checkpoint(checkpoint, axes, seed) if checkpoint is not None else None
    done = store.read() if store is not None else {}
    if retry_failed:
        done = {i: o for i, o in done.items() if o[0] == "ok"}
    names = list(axes)
    points = [dict(zip(names, (v.item() for v in values)))
              for values in itertools.product(*axes.values())]
    todo = [i for i in range(n_points) if i not in done]

    def kwargs(i):
        return {**points[i], "seed": int(seeds[i])} if pass_seed else dict(points[i])

    def finish(i, outcome):
        done[i] = outcome
        if store is not None:
            store.write(i, outcome)

    bar = _progress(n_points, n_points - len(todo), progress)
    try:
        if backend == "serial":
            for i in todo:
                finish(i, _call(fn, kwargs(i)))
                bar.update()
        elif backend == "processes":
            _run_processes(fn, todo, kwargs, finish, bar, n_workers)
        else:
            _run_dask(fn, todo, kwargs, finish, bar, scheduler)
    finally:
        bar.close()
    return _assemble(axes, shape, seeds, done, points, seed)


def _run_processes(fn, todo, kwargs, finish, bar, n_workers, call=_call):
    """Run the points on spawned worker processes that never outlive the driver: each
    watches its parent (:func:`_watch_parent`) and ignores SIGINT; on any exception in
    the driver (KeyboardInterrupt included) the workers are terminated, not waited for."""
    import concurrent.futures as cf
    import multiprocessing
    context = multiprocessing.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=n_workers or os.cpu_count(), mp_context=context,
                                  initializer=_watch_parent)
    try:
        futures = {pool.submit(call, fn, kwargs(i)): i for i in todo}
        for future in cf.as_completed(futures):
            finish(futures[future], future.result())
            bar.update()
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown()


def _watch_parent() -> None:
    """Worker initializer: exit as soon as the driver process ends, however it ends (its
    end of the spawn pipe closes, which wakes :func:`multiprocessing.connection.wait`),
    and leave Ctrl-C to the driver, which stops the workers itself."""
    import multiprocessing
    import multiprocessing.connection
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="nnphys-watch-parent", daemon=True).start()


def _terminate(pool) -> None:
    """Stop a ProcessPoolExecutor now: cancel what has not started, terminate the workers
    (``_processes`` is the executor's own table of them) and reap them."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)


def _run_dask(fn, todo, kwargs, finish, bar, scheduler, call=_call):
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ImportError('the dask backend needs dask.distributed: '
                          'pip install "nnphys[distributed]"') from None
    own = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout=_CONNECT_TIMEOUT) if own else scheduler
    except OSError as exc:
        raise ConnectionError(f"scheduler: cannot reach the Dask scheduler {scheduler!r} "
                              f"({exc})") from None
    try:
        futures = {client.submit(call, fn, kwargs(i), pure=False): i for i in todo}
        try:
            for future in as_completed(list(futures)):
                finish(futures[future], future.result())
                bar.update()
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        if own:
            client.close()


def _assemble(axes, shape, seeds, done, points, seed) -> SweepResult:
    fields: dict[str, np.ndarray] = {}
    errors: dict[int, dict] = {}
    for i, (status, payload) in sorted(done.items()):
        if status != "ok":
            errors[i] = {"point": points[i], **payload}
            continue
        for name, value in payload.items():
            if name not in fields:
                fields[name] = np.full(shape + value.shape, np.nan)
            fields[name][np.unravel_index(i, shape)] = value
    return SweepResult(parameters={"seed": int(seed)}, axes=axes, fields=fields,
                       seeds=seeds.reshape(shape), errors=errors,
                       complete=len(done) == seeds.size)
