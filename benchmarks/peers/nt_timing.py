"""Time neural-tangents 0.6.5 on the benchmark cases (run in the peer environment).

    $NNPHYS_PEER_PYTHON benchmarks/peers/nt_timing.py kernels '[["relu", 3, 2000], ...]'
    $NNPHYS_PEER_PYTHON benchmarks/peers/nt_timing.py ensembles '{"n": 500, "networks": 4}'
    $NNPHYS_PEER_PYTHON benchmarks/peers/nt_timing.py layers '[{"kind": "graph", "n": 500, ...}]'

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


def layers(spec):
    """Attention and graph networks of ``bench_kernels.py`` (branch layers, issue 15):
    median time and the first row of the NTK (to print the agreement next to the time)."""
    import warnings
    nt = import_neural_tangents()
    import jax
    stax = nt.stax
    warnings.simplefilter("ignore")
    out = {}
    for case in spec:
        kind, n = case["kind"], case["n"]
        rng = np.random.default_rng(0)
        width = 64
        if kind == "attention":
            body = [stax.Dense(width, W_std=1.3, b_std=0.1)]
            for _ in range(4):
                body += [stax.GlobalSelfAttention(width, width, width, 4, W_key_std=1.2,
                                                  b_std=0.1), stax.Erf(),
                         stax.Dense(width, W_std=1.3, b_std=0.1)]
            x = rng.standard_normal((n, case["length"], 8))
            kw = {}
        else:
            body = []
            for _ in range(2):
                body += [stax.Dense(width, W_std=1.3, b_std=0.1), stax.Aggregate(), stax.Erf()]
            x = rng.standard_normal((n, case["vertices"], 8))
            adjacency = (rng.random((n,) + (case["vertices"],) * 2) < 0.3).astype(float)
            kw = {"pattern": (adjacency, adjacency)}
        _, _, kernel_fn = stax.serial(*body, stax.GlobalAvgPool(), stax.Dense(1))
        kernel_fn = jax.jit(kernel_fn, static_argnames="get")
        if n > case["batch_size"]:
            kernel_fn = nt.batch(kernel_fn, batch_size=case["batch_size"],
                                 store_on_device=False)
        key = f"{kind}/{n}"
        try:
            result = {}

            def run():
                result["k"] = jax.block_until_ready(kernel_fn(x, None, ("nngp", "ntk"), **kw))

            out[key] = {"seconds": median_time(run, repeats=1),
                        "ntk_row0": np.asarray(result["k"].ntk)[0].tolist()}
        except Exception as exc:
            out[key] = f"{type(exc).__name__}: {str(exc)[:120]}"
    return out


if __name__ == "__main__":
    what, arg = sys.argv[1], json.loads(sys.argv[2])
    print(json.dumps({"kernels": kernels, "layers": layers}.get(what, ensembles)(arg)))
