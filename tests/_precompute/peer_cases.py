"""What the ``nt_*_reference.py`` scripts of this folder share: the peer's import, the
finite-width ``apply/<name>`` cases on fixed parameters, and the file they write (the
arrays plus a ``meta`` entry with the versions and the cases that failed in the peer)."""

import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "peers"))
from nt_import import import_neural_tangents  # noqa: E402,F401  (re-exported)
from nt_reference import record_kernels  # noqa: E402,F401  (re-exported)


def output_path(filename: str) -> str:
    return os.path.join(ROOT, "tests", "data", filename)


def record_apply(namespace: dict, cases: dict, shapes: dict, rng, params, data: dict,
                 failures: dict) -> None:
    """``apply/<name>``: one layer's finite-width output on ``x ~ N(0, 1)`` of shape
    ``(2, *spatial, 3)``; ``params(spec, x, rng) -> (ours, theirs)`` draws its parameters in
    nnphys' layout (stored as ``W``, ``b``) and in the peer's."""
    for name, (kind, spec) in cases.items():
        key = f"apply/{name}"
        x = rng.standard_normal((2,) + shapes[kind][:-1] + (3,))
        try:
            ours, theirs = params(spec, x, rng)
            _, apply_fn, _ = eval(spec, namespace)
            data[f"{key}/out"] = np.asarray(apply_fn(theirs, x), dtype=np.float64)
            data[f"{key}/x"] = x
            if ours:
                data[f"{key}/W"] = ours[0]
                if ours[1] is not None:
                    data[f"{key}/b"] = ours[1]
            data[f"{key}/spec"] = np.array(spec)
        except Exception as exc:
            failures[key] = f"{type(exc).__name__}: {exc}"


def save(path: str, nt, data: dict, failures: dict, n_cases: int) -> None:
    """Write the arrays and the ``meta`` entry; print how many cases the peer computed."""
    import jax
    data["meta"] = np.array(json.dumps({"neural_tangents": nt.__version__, "jax": jax.__version__,
                                        "failures": failures}))
    np.savez_compressed(path, **data)
    print(f"wrote {os.path.normpath(path)}: {n_cases - len(failures)} of {n_cases} cases; "
          f"failures: {json.dumps(failures, indent=1)}")
