"""The ``nnphys`` command line (also ``python -m nnphys``).

Subcommands::

    nnphys kernel SPEC --x1 X1.npy [--x2 X2.npy] [--get nngp,ntk] --out OUT
    nnphys validate [NAME ...] [--quick] [--list] [--seed S] [--size default|large]
                    [--workers W | --scheduler tcp://host:port] [--no-progress]
                    [--report DIR]
    nnphys figures NAME ... | --all  --out DIR [--quick] [--recompute] [--list]
    nnphys sweep MODULE:FUNCTION --grid NAME=GRID ... --out RESULT.npz
                 [--workers W | --scheduler tcp://host:port | --backend ...]
    nnphys phase-diagram MODEL --AXIS1 GRID --AXIS2 GRID --out PD.npz [--plot PD.png]
                         [--param KEY=VALUE ...] [--workers W | --scheduler tcp://host:port]
    nnphys phase-diagram --list

One grid syntax everywhere (:func:`parse_grid`): ``START:STOP:NUM`` (``NUM`` evenly spaced
values, ends included), ``log:START:STOP:NUM`` (geometrically spaced) or ``V1,V2,...``.
A grid has at most ``MAX_GRID_POINTS`` points (10^6; an axis or a product of axes
beyond it is refused before anything is allocated) and finite values. The phase-diagram
models are those registered with :func:`nnphys.results.register_phase_diagram`; a NaN in
a field of their records means "this state does not exist at this point", as in the API.
``phase-diagram`` records grid points whose solver did not converge (status 1, NaN fields
in the saved :class:`~nnphys.results.PhaseDiagram`) and prints how many.

Outputs (``--out``, ``--plot``): missing parent directories are created. Inputs
(``--x1``, ``--x2``): a real numeric ``.npy`` array; complex, string or object arrays and
``.npz`` archives are refused (nothing is cast silently). ``--workers W`` asks for ``W >= 1``
local processes; without it the work runs serially (``validate``: on one process per
core), and ``--workers 0`` is an error. ``kernel`` prints, per kernel written, a line
``NAME N1 x N2 -> PATH``.

Exit status: 0 done; 1 done with failures (failed sweep points, failed checks, a phase
diagram whose every point failed); 2 the
request cannot be carried out: a bad argument or input, any error of the package
(:class:`nnphys.errors.NNPhysError`), an unreadable or unwritable file, too little
memory; printed as one line ``nnphys: error: ...`` on stderr. 130: interrupted (Ctrl-C).
Any other exception is a bug in nnphys: one line ``nnphys: internal error: ...`` and
status 3, or its full traceback with ``NNPHYS_DEBUG=1`` in the environment.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import inspect
import os
import re
import sys
import time
import warnings

import numpy as np

from .errors import NNPhysError

__all__ = ["main", "parse_grid", "MAX_GRID_POINTS"]

MAX_GRID_POINTS = 10 ** 6


class _CliError(Exception):
    """An error to report in one line with exit status 2."""


def _kernel(args) -> int:
    from .theory import kernels as nk
    gets = tuple(g.strip() for g in args.get.split(",") if g.strip())
    x1 = _read_array("--x1", args.x1)
    x2 = None if args.x2 is None else _read_array("--x2", args.x2)
    net = nk.from_spec(args.spec)
    k = net.kernel(x1, x2, get=gets, block_size=args.block_size)
    if len(gets) == 1:
        outputs = {args.out: (gets[0], getattr(k, gets[0]))}
    else:
        stem = args.out[:-4] if args.out.endswith(".npy") else args.out
        outputs = {f"{stem}.{g}.npy": (g, getattr(k, g)) for g in gets}
    from .results import write_atomically
    for path, (get, value) in outputs.items():
        path = path if path.endswith(".npy") else path + ".npy"      # as numpy.save names it
        write_atomically(_output_path("--out", path), lambda fh, v=value: np.save(fh, v))
        shape = " x ".join(str(n) for n in np.shape(value))
        print(f"{get} {shape} -> {path}")
    return 0


def _read_array(option: str, path: str) -> np.ndarray:
    """The real numeric array of the ``.npy`` file ``path`` given for ``option``."""
    try:
        x = np.load(path, allow_pickle=False)
    except OSError as exc:
        raise _CliError(f"{option}: cannot read inputs: {exc}") from None
    except (ValueError, EOFError) as exc:        # pickled, empty or damaged
        raise _CliError(f"{option}: {path} is not a readable .npy array ({exc})") from None
    if not isinstance(x, np.ndarray):
        x.close()
        raise _CliError(f"{option}: {path} is an .npz archive; give one .npy array")
    if np.iscomplexobj(x):
        raise _CliError(f"{option}: {path} holds complex values ({x.dtype}); the kernels "
                        "take real inputs (save x.real, or stack real and imaginary parts)")
    if x.dtype.kind not in "biuf":
        raise _CliError(f"{option}: {path} holds {x.dtype} values, not real numbers")
    return x


def _output_path(option: str, path: str) -> str:
    """``path``, after creating its missing parent directories (one-line errors if that
    or the path itself is impossible)."""
    if os.path.isdir(path):
        raise _CliError(f"{option}: {path} is a directory; give a file name")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        reason = ("a file is in the way" if exc.errno in (errno.EEXIST, errno.ENOTDIR)
                  else exc.strerror)
        raise _CliError(f"{option}: cannot create the directory {directory} "
                        f"({reason})") from None
    return path


def _validate(args) -> int:
    from . import validation
    if args.list:
        for name, fn in validation.checks().items():
            doc = (fn.__doc__ or "").strip().splitlines()
            print(f"{name:40s} {doc[0] if doc else ''}")
        return 0
    if args.workers is not None and args.workers < 1:
        raise _CliError(f"--workers: must be >= 1, got {args.workers}")
    header = f"{'check':34s} {'quantity':30s} {'theory':>12s} {'simulation':>12s} " \
             f"{'stderr':>10s} {'tolerance':>10s}  result"
    print(header)
    print("-" * len(header), flush=True)

    from tqdm.auto import tqdm

    def print_rows(name, comparisons, seconds):
        rows = [f"{c.name:34s} {c.quantity[:30]:30s} {c.theory:12.6g} {c.simulation:12.6g} "
                f"{c.stderr:10.3g} {c.tolerance:10.3g}  {'PASS' if c.passed else 'FAIL'}"
                + (f"\n{'':34s} {c.error}" if c.error else "") for c in comparisons]
        rows.append(f"{'':34s} ({name}: {seconds:.1f} s CPU)")
        tqdm.write("\n".join(rows), file=sys.stdout)     # above the progress bar (stderr)
        sys.stdout.flush()

    runs = []
    if args.report:        # refuse an impossible directory before the run, not after it
        _output_path("--report", os.path.join(args.report, "index.html"))

    def on_check(name, comparisons, seconds):
        print_rows(name, comparisons, seconds)
        runs.append((name, comparisons, seconds))

    start = time.perf_counter()
    results = validation.run(args.names, quick=args.quick, seed=args.seed, on_check=on_check,
                             workers=args.workers, scheduler=args.scheduler, size=args.size,
                             progress=not args.no_progress)
    seconds = time.perf_counter() - start
    failed = sum(not c.passed for c in results)
    print(f"\n{len(results) - failed} passed, {failed} failed ({seconds:.0f} s wall)")
    if args.report:
        from .validation import report
        print(report.write(args.report, [report.CheckRun(*r) for r in runs], metadata={
            "checks": " ".join(args.names) or "all", "seed": args.seed,
            "size": "quick" if args.quick else args.size, "seconds": seconds,
            "workers": (args.workers or os.cpu_count()) if args.scheduler is None
            else args.scheduler}))
    return 1 if failed else 0


def _figures(args) -> int:
    from . import figures
    available = figures.figures()
    if args.list:
        for name, fig in available.items():
            print(f"{name:32s} {fig.description}")
        return 0
    names = list(available) if args.all else args.names
    if not names:
        raise _CliError("figures: give figure names or --all (see --list)")
    for name in names:
        for path in figures.make(name, args.out, quick=args.quick, recompute=args.recompute):
            print(path)
    return 0


GRID_SYNTAX = "START:STOP:NUM, log:START:STOP:NUM or V1,V2,..."


def parse_grid(option: str, text: str) -> np.ndarray:
    """The values of a grid axis given on the command line for ``option``.

    ``START:STOP:NUM`` -> ``numpy.linspace(START, STOP, NUM)``; ``log:START:STOP:NUM`` ->
    ``numpy.geomspace`` (START, STOP > 0); ``V1,V2,...`` (or one value) -> those values.

    >>> parse_grid("--alpha", "0:1:3")
    array([0. , 0.5, 1. ])
    >>> parse_grid("--T", "log:0.01:1:3")
    array([0.01, 0.1 , 1.  ])
    >>> parse_grid("--T", "0.5,2")
    array([0.5, 2. ])
    """
    parts = text.split(":")
    try:
        if len(parts) == 4 and parts[0] == "log":
            start, stop, num = float(parts[1]), float(parts[2]), int(parts[3])
            if not (start > 0 and stop > 0):
                raise ValueError
        elif len(parts) == 3:
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        elif len(parts) == 1:
            values = np.array([float(v) for v in text.split(",")])
            if not np.all(np.isfinite(values)):
                raise ValueError
            return values
        else:
            raise ValueError
    except ValueError:
        raise _CliError(f"{option}: expected {GRID_SYNTAX} (finite numbers; log needs "
                        f"START, STOP > 0), got {text!r}") from None
    if num < 1 or not (np.isfinite(start) and np.isfinite(stop)):
        raise _CliError(f"{option}: NUM must be >= 1 and START, STOP finite, got {text!r}")
    if num > MAX_GRID_POINTS:
        raise _CliError(f"{option}: {num} values asked for, more than the limit of "
                        f"{MAX_GRID_POINTS} grid points")
    with np.errstate(over="ignore", invalid="ignore"):
        values = (np.geomspace if parts[0] == "log" else np.linspace)(start, stop, num)
    if not np.all(np.isfinite(values)):
        raise _CliError(f"{option}: the grid {text!r} is not representable in float64 "
                        "(STOP - START overflows)")
    return values


def _check_grid_size(sizes: dict[str, int]) -> None:
    """Refuse a grid of more than ``MAX_GRID_POINTS`` points, naming its size."""
    total = int(np.prod([float(n) for n in sizes.values()]))
    if total > MAX_GRID_POINTS:
        shape = " x ".join(f"{n} ({name})" for name, n in sizes.items())
        raise _CliError(f"grid: {shape} = {total} points, more than the limit of "
                        f"{MAX_GRID_POINTS}")


def _sweep(args) -> int:
    from . import sweep
    module_name, _, func_name = args.function.partition(":")
    if not func_name:
        raise _CliError("function: expected MODULE:FUNCTION, e.g. mypkg.model:energy")
    try:
        fn = getattr(importlib.import_module(module_name), func_name)
    except Exception as exc:       # the user's module may fail in any way while importing
        raise _CliError(f"function: cannot import {args.function}: "
                        f"{type(exc).__name__}: {exc}") from None
    grid = {}
    for item in args.grid:
        name, sep, values = item.partition("=")
        if not sep or not name:
            raise _CliError(f"--grid: expected NAME=GRID, got {item!r}")
        grid[name] = parse_grid(f"--grid {name}", values)
    _check_grid_size({k: v.size for k, v in grid.items()})
    backend = _backend(args)
    _output_path("--out", args.out)
    result = sweep.run(fn, grid, seed=args.seed, backend=backend, n_workers=args.workers,
                       scheduler=args.scheduler, checkpoint=args.checkpoint,
                       pass_seed=not args.no_seed)
    result.save(args.out)
    print(f"{args.out}: {result.seeds.size} points, {result.n_failed} failed")
    return 1 if result.n_failed else 0


def _backend(args) -> str:
    """The sweep backend: ``--workers`` means local processes, ``--scheduler`` Dask."""
    if args.workers is not None and args.workers < 1:
        raise _CliError(f"--workers: must be >= 1, got {args.workers}")
    if args.workers is not None and args.scheduler:
        raise _CliError("--workers: give --workers (local processes) or --scheduler (Dask), "
                        "not both")
    implied = "dask" if args.scheduler else "processes" if args.workers is not None else None
    backend = getattr(args, "backend", None)
    if backend is not None and implied is not None and backend != implied:
        option = "--scheduler" if args.scheduler else "--workers"
        raise _CliError(f"{option}: needs --backend {implied}, got --backend {backend}")
    return backend or implied or "serial"


_LAYER_CALL = re.compile(r"^[A-Za-z_]\w*\(.*\)$")


def _parse_param(item: str):
    """``KEY=VALUE``: a bool, int, float, a layer of :mod:`nnphys.models.network` written as
    a call (``activation=Erf(b=0.886)``), or else the string."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise _CliError(f"--param: expected KEY=VALUE, got {item!r}")
    lowered = text.lower()
    if lowered in ("true", "false"):
        return key, lowered == "true"
    for cast in (int, float):
        try:
            return key, cast(text)
        except ValueError:
            pass
    if _LAYER_CALL.match(text.strip()):
        from .models import network
        layers = network.parse_spec(text).layers
        if len(layers) == 1:
            return key, layers[0]
    return key, text


def _phase_slice(j, *, name, first, second, param_items, n_bound):
    """Column ``j`` of the second axis as fixed-shape arrays (for nnphys.sweep workers);
    boundary points are padded with NaN to ``n_bound`` rows. The worker looks the model
    up by name and parses the ``KEY=VALUE`` items itself: a layer (``Tanh()``) need not
    pickle."""
    from .errors import ConvergenceWarning
    from .results import phase_diagrams
    params = dict(_parse_param(p) for p in param_items)
    with warnings.catch_warnings():      # failed points travel in "status"
        warnings.simplefilter("ignore", ConvergenceWarning)
        pd = phase_diagrams()[name](first, second[int(j):int(j) + 1], **params)
    out = {f"field:{k}": np.asarray(v)[:, 0] for k, v in pd.fields.items()}
    out["phase"] = pd.phase[:, 0]
    out["status"] = pd.status[:, 0]
    for k, v in pd.boundaries.items():
        padded = np.full((n_bound, 2), np.nan)
        padded[:min(len(v), n_bound)] = np.asarray(v)[:n_bound]
        out[f"boundary:{k}"] = padded
    return out


def _phase_diagram_parallel(model, first, second, args):
    """One column of the second axis per task; fields and phases are stacked, boundary
    points merged (sorted, duplicates removed)."""
    import functools
    from . import sweep
    from .results import FAILED_PHASE, PhaseDiagram
    if model.serial_only:
        option = "--scheduler" if args.scheduler else "--workers"
        raise _CliError(f"{option}: {model.name} cannot be split into columns "
                        f"({model.serial_only}); run it without {option}")
    probe = model(first, second[:1], **dict(_parse_param(p) for p in args.param))
    fn = functools.partial(_phase_slice, name=model.name, first=first, second=second,
                           param_items=tuple(args.param), n_bound=first.size + 2)
    res = sweep.run(fn, {"j": np.arange(second.size)}, backend=_backend(args),
                    n_workers=args.workers, scheduler=args.scheduler, pass_seed=False,
                    progress=False)
    if res.n_failed:
        first_error = next(iter(res.errors.values()))
        raise _CliError(f"{res.n_failed} columns failed: {first_error['message']}")
    fields = {k[6:]: np.moveaxis(v, 0, 1) for k, v in res.fields.items()
              if k.startswith("field:")}
    boundaries = {}
    for k, v in res.fields.items():
        if k.startswith("boundary:"):
            pts = v.reshape(-1, 2)
            pts = pts[np.all(np.isfinite(pts), axis=1)]
            boundaries[k[9:]] = np.unique(pts, axis=0)
    status = np.rint(res.fields["status"].T).astype(np.int8)
    labels = {k: v for k, v in probe.labels.items() if k != FAILED_PHASE}
    return PhaseDiagram(converged=False if status.any() else None,
                        parameters=dict(probe.parameters), axes=dict(
        zip(probe.axes, (first, second))), fields=fields,
        phase=np.rint(res.fields["phase"].T).astype(int), labels=labels,
        boundaries=boundaries, status=status)


def _plot_phase_diagram(pd, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = pd.plot()
    ax.figure.tight_layout()
    ax.figure.savefig(path, dpi=150)
    plt.close(ax.figure)


def _phase_diagram(args, extra) -> int:
    from .results import phase_diagrams
    models = phase_diagrams()
    if args.list:
        for name, model in models.items():
            axes = " ".join(f"--{a}" for a in model.axes)
            print(f"{name:16s} {axes:22s} {model.description}")
        return 0
    if args.model is None:
        raise _CliError("model: give a model name (see --list)")
    if args.model not in models:
        raise _CliError(f"model: one of {', '.join(models)}, got {args.model!r}")
    if args.out is None:
        raise _CliError("--out: required (the PhaseDiagram .npz to write)")
    model = models[args.model]
    names = model.axes
    given = {}
    it = iter(extra)
    for token in it:
        if not token.startswith("--"):
            raise _CliError(f"unexpected argument {token!r}")
        name, sep, value = token[2:].partition("=")
        if not sep:
            value = next(it, None)
            if value is None:
                raise _CliError(f"--{name}: missing {GRID_SYNTAX}")
        if name not in names:
            raise _CliError(f"--{name}: {args.model} has axes {', '.join('--' + n for n in names)}")
        given[name] = parse_grid(f"--{name}", value)
    missing = [n for n in names if n not in given]
    if missing:
        raise _CliError(f"missing axis --{missing[0]} ({GRID_SYNTAX})")
    _check_grid_size({n: given[n].size for n in names})
    params = dict(_parse_param(p) for p in args.param)
    accepted = inspect.signature(model.function).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    for key in params:
        if key in names or not (key in accepted or takes_any):
            others = [n for n in accepted if n not in names]
            raise _CliError(f"--param: {args.model} has no parameter {key!r} (its "
                            f"parameters: {', '.join(others) or 'none'})")
    first, second = given[names[0]], given[names[1]]
    _output_path("--out", args.out)
    if args.plot:
        _output_path("--plot", args.plot)
    from .errors import ConvergenceWarning
    with warnings.catch_warnings():      # the failed points are counted below instead
        warnings.simplefilter("ignore", ConvergenceWarning)
        if args.workers is not None or args.scheduler:
            _backend(args)                       # refuse --workers 0 before any work
            pd = _phase_diagram_parallel(model, first, second, args)
        else:
            pd = model(first, second, **params)
    pd.save(args.out)
    print(args.out)
    if pd.n_failed:
        print(f"{pd.n_failed} of {pd.status.size} grid points did not converge "
              "(status 1, NaN fields)")
    if args.plot:
        _plot_phase_diagram(pd, args.plot)
        print(args.plot)
    return 1 if pd.n_failed == pd.status.size else 0


def _learning_curve(args) -> int:
    from .theory import kernels as nk
    from .theory.generalization import learning_curve
    net = nk.from_spec(args.spec)
    text = args.target.strip()
    if text.startswith("teacher:"):
        target = nk.from_spec(text[len("teacher:"):])
    else:
        try:
            target = np.array([float(v) for v in text.split(",")])
        except ValueError:
            raise _CliError("--target: per-degree powers V0,V1,... or teacher:SPEC, "
                            f"got {args.target!r}") from None
    _output_path("--out", args.out)
    if args.plot:
        _output_path("--plot", args.plot)
    lc = learning_curve(net, args.sphere, target, P=parse_grid("--P", args.P),
                        ridge=args.ridge, noise=args.noise, get=args.get, k_max=args.k_max)
    lc.save(args.out)
    print(args.out)
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig = lc.plot().figure
        fig.tight_layout()
        fig.savefig(args.plot, dpi=150)
        plt.close(fig)
        print(args.plot)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nnphys", description="Statistical physics of "
                                     "neural networks: theory, simulation, validation.")
    from . import __version__
    parser.add_argument("--version", action="version", version=f"nnphys {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("kernel", help="NNGP/NTK of an architecture on inputs from .npy files",
                       description="Compute the infinite-width NNGP/NTK. SPEC is a layer list, "
                       "e.g. \"Dense(512, W_std=1.5, b_std=0.05), Relu(), Dense(1)\" or "
                       "\"(Dense(512), Erf()) * 10, Dense(1)\".")
    p.add_argument("spec", help="architecture spec string")
    p.add_argument("--x1", required=True, help=".npy file of inputs (N1, features)")
    p.add_argument("--x2", help=".npy file of inputs (N2, features); default: x1")
    p.add_argument("--get", default="nngp,ntk", help="nngp, ntk or nngp,ntk (default)")
    p.add_argument("--out", required=True, help="output .npy (one kernel) or prefix "
                   "(writes PREFIX.nngp.npy and PREFIX.ntk.npy)")
    p.add_argument("--block-size", type=int, help="inputs per block (bounds memory)")
    p.set_defaults(run=_kernel)

    p = sub.add_parser("validate", help="compare theory with simulation",
                       description="Run theory-vs-simulation checks and print a table; "
                       "exit status 1 if one fails.")
    p.add_argument("names", nargs="*", help="checks or families (default: all)")
    p.add_argument("--quick", action="store_true", help="reduced sizes, seconds per check")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.add_argument("--seed", type=int, default=0,
                   help="run seed; each check's seed is derived from it and its name")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    p.add_argument("--scheduler", help="run on a Dask cluster: scheduler tcp://host:port")
    p.add_argument("--size", choices=("default", "large"), default="default",
                   help="large: 4x the samples of every check (for a cluster)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--report", metavar="DIR", help="also write an HTML report (DIR/index.html, "
                   "plots, DIR/report.json)")
    p.set_defaults(run=_validate)

    p = sub.add_parser("figures", help="regenerate paper figures",
                       description="Compute (cached as .npz) and plot figures to PNG and PDF.")
    p.add_argument("names", nargs="*", help="figure names")
    p.add_argument("--all", action="store_true", help="every registered figure")
    p.add_argument("--out", default="figures-out", help="output directory")
    p.add_argument("--quick", action="store_true", help="reduced sizes")
    p.add_argument("--recompute", action="store_true", help="ignore cached data")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.set_defaults(run=_figures)

    p = sub.add_parser("sweep", help="run a function over a parameter grid",
                       description="Call MODULE:FUNCTION(**point, seed=...) on a grid, "
                       "serially, on local processes or on a Dask cluster; resumable.")
    p.add_argument("function", help="MODULE:FUNCTION")
    p.add_argument("--grid", action="append", default=[], required=True,
                   help=f"NAME=GRID, GRID one of {GRID_SYNTAX} (repeatable)")
    p.add_argument("--out", required=True, help="result .npz (a SweepResult; nnphys.load)")
    p.add_argument("--backend", choices=("serial", "processes", "dask"),
                   help="default: processes with --workers, dask with --scheduler, else serial")
    p.add_argument("--workers", type=int, help="local worker processes")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port")
    p.add_argument("--checkpoint", help="checkpoint path (resumes if present)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-seed", action="store_true", help="do not pass seed= to FUNCTION")
    p.set_defaults(run=_sweep)

    p = sub.add_parser("learning-curve", help="kernel-regression learning curve on the sphere",
                       description="Test error of NNGP/NTK regression from P samples uniform "
                       "on the unit sphere of R^d (theory.generalization.learning_curve); saves "
                       "a LearningCurve .npz.")
    p.add_argument("spec", help="architecture spec string")
    p.add_argument("--sphere", type=int, required=True, metavar="d", help="input dimension")
    p.add_argument("--target", required=True, help="target power per degree V0,V1,... or "
                   "teacher:SPEC (a GP teacher network)")
    p.add_argument("--P", required=True, help=f"sample sizes, {GRID_SYNTAX} "
                   "(e.g. log:10:10000:30)")
    p.add_argument("--ridge", type=float, default=0.0)
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance")
    p.add_argument("--get", default="ntk", help="ntk (default) or nngp")
    p.add_argument("--k-max", type=int, help="largest degree of the spectrum")
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--plot", help="also write a PNG of the error vs P")
    p.set_defaults(run=_learning_curve)

    p = sub.add_parser("phase-diagram", help="replica phase diagram of a model on a grid",
                       description="Compute a model's phase diagram on a grid and save it "
                       f"(PhaseDiagram .npz). Axes as --NAME GRID, GRID one of {GRID_SYNTAX}; "
                       "the models and their axes: --list.")
    p.add_argument("model", nargs="?", help="a registered model (see --list)")
    p.add_argument("--list", action="store_true", help="list the models and their axes")
    p.add_argument("--out", help="output .npz (required unless --list)")
    p.add_argument("--plot", help="also write a PNG of the phase map")
    p.add_argument("--param", action="append", default=[],
                   help="model parameter KEY=VALUE (e.g. P=3, convention=all-index)")
    p.add_argument("--workers", type=int, help="local processes, one column of the second "
                   "axis per task (models that cannot be split say so)")
    p.add_argument("--scheduler", help="Dask scheduler address tcp://host:port")
    p.set_defaults(run=_phase_diagram, takes_extra=True)
    return parser


def main(argv=None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "takes_extra", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return args.run(args, extra) if getattr(args, "takes_extra", False) else args.run(args)
    except (_CliError, NNPhysError, OSError, MemoryError, ImportError,
            NotImplementedError) as exc:
        # ImportError: a missing optional extra (dask); NotImplementedError: a feature the
        # package states it lacks; OSError: files, and ConnectionError to a scheduler
        print(f"nnphys: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnphys: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("NNPHYS_DEBUG"):
            raise
        print(f"nnphys: internal error: {type(exc).__name__}: {_one_line(exc)} (a bug in "
              "nnphys: please report it; NNPHYS_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 3


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, MemoryError):
        return f"out of memory{': ' + text if text else ''}"
    return text or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
