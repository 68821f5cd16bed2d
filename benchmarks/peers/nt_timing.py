"""Time neural-tangents 0.6.5 on the benchmark cases (run in the peer environment).

    $NNPHYS_PEER_PYTHON benchmarks/peers/nt_timing.py kernels '[["relu", 3, 2000], ...]'
    $NNPHYS_PEER_PYTHON benchmarks/peers/nt_timing.py ensembles '{"n": 500, "networks": 4}'

Prints one JSON line: case -> median seconds of 3 runs after a compile run (or an error
string). Inputs are float64 on the CPU, as in ``bench_kernels.py``.
"""

import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from nt_import import import_neural_tangents  # noqa: E402


def median_time(fn, repeats=3):
    """Median wall time of ``fn()`` over ``repeats`` runs after one warm-up run."""
    fn()                                   # compile / warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def kernels(cases):
    nt = import_neural_tangents()
    import jax
    from jax import numpy as jnp
    stax = nt.stax
    acts = {"relu": stax.Relu, "erf": stax.Erf,
            "tanh": lambda: stax.ElementwiseNumerical(jnp.tanh, deg=25,
                                                      df=lambda x: 1 - jnp.tanh(x) ** 2)}
    out = {}
    for act, depth, n in cases:
        layers = []
        for _ in range(depth):
            layers += [stax.Dense(512, W_std=1.5, b_std=0.05), acts[act]()]
        _, _, kernel_fn = stax.serial(*layers, stax.Dense(1, W_std=1.5, b_std=0.05))
        kernel_fn = jax.jit(kernel_fn, static_argnames="get")
        x = np.random.default_rng(0).standard_normal((n, 784))
        try:
            out[f"{act}/{depth}/{n}"] = median_time(
                lambda: jax.block_until_ready(kernel_fn(x, None, ("nngp", "ntk"))))
        except Exception as exc:          # e.g. out of memory: report, don't hide
            out[f"{act}/{depth}/{n}"] = f"{type(exc).__name__}: {str(exc)[:120]}"
    return out


def ensembles(spec):
    nt = import_neural_tangents()
    import jax
    stax = nt.stax
    n, networks = spec["n"], spec["networks"]
    init_fn, apply_fn, _ = stax.serial(stax.Dense(512), stax.Relu(), stax.Dense(512),
                                       stax.Relu(), stax.Dense(512), stax.Relu(), stax.Dense(1))
    x = np.random.default_rng(0).standard_normal((n, 784))
    out = {}
    for impl in ("JACOBIAN_CONTRACTION", "STRUCTURED_DERIVATIVES"):
        try:
            fn = nt.monte_carlo_kernel_fn(init_fn, apply_fn, jax.random.PRNGKey(1), networks,
                                          implementation=getattr(nt.NtkImplementation, impl),
                                          trace_axes=(-1,))
            out[impl] = median_time(
                lambda: jax.block_until_ready(fn(x, None, ("nngp", "ntk"))), repeats=1)
        except Exception as exc:
            out[impl] = f"{type(exc).__name__}: {str(exc)[:120]}"
    return out


if __name__ == "__main__":
    what, arg = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps(kernels(arg) if what == "kernels" else ensembles(arg)))
