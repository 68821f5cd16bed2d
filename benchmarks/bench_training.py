"""Training finite networks against the machine's dgemm rate.

    python -m nnphys.benchmarks.bench_training [--quick]

**SGD step** (``nnphys.sim.training``): one minibatch step of a width-``n = 4096`` MLP with
depth 3 (three hidden layers, ``d = n`` inputs, scalar output, ``tanh``), batch ``B = 256``,
float64, one replica, in muP. Its flops are eight ``B x n x n`` products: three forward
(``x^{l-1} w^l``), three weight gradients (``x^{l-1 T} dL/dh^l``) and two back-propagations
(``dL/dh^l w^{l T}``), ``16 B n^2`` flops. The bound is the time of the same eight products,
same shapes and transposes, done by numpy ``matmul`` into preallocated outputs (best of 3):
the dgemm rate of this machine at these shapes. Printed: the step's time, the bound, and
their ratio (1.0 = at the bound; the rest is the elementwise ``phi``/``phi'`` passes and the
in-place updates, which stream the ``3 n^2`` weights once). ``--quick`` uses ``n = 2048``.

**DMFT solve** (``theory.dmft.feature_learning.solve``): ``P = 10`` Gaussian inputs in
``D = 4`` (targets of :func:`nnphys.validation.feature_learning.task`), ``tanh``, depth 3,
``gamma0 = 1``, 200 time steps on ``[0, 2]``, ``n_replicas = 2000`` (``--quick``: 50 steps,
400 replicas). A converged solve is out of reach of a benchmark run: one iteration takes
~27 s CPU here (the ``(T P)^2 = 2010^2`` kernels, eigendecompositions ``O((T P)^3)``), and at
depth 3 the sampled Stein responses keep the relative change per iteration at ~1e-2 (50
steps, 400 replicas: residual 1.0e-2 after 100 iterations). So the solve is capped at 3
iterations (``strict=False``) and the time per iteration is the measured number. Printed:
CPU seconds per iteration (``time.process_time``: load-independent), the residual after
the cap, and the reported sampling error of ``f(t_end)`` (largest over the points) and of
the final NTK (largest entry, relative to the largest NTK entry).

Prints, never asserts; the last line is a JSON object.
"""

import argparse
import json
import os
import time

import numba
import numpy as np

from nnphys.models.parametrization import named, realise
from nnphys.sim import _activations
from nnphys.sim.networks import mlp_layers
from nnphys.sim.training import mlp
from nnphys.theory import kernels as nk
from nnphys.theory.dmft import feature_learning
from nnphys.validation.feature_learning import mlp as tanh_mlp, task


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def gemm_bound(n, batch, repeat=3):
    """Seconds of the eight ``B x n x n`` products of one step, done by numpy matmul."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, n))
    w = rng.standard_normal((n, n))
    out_h, out_w = np.empty((batch, n)), np.empty((n, n))

    def products():
        for _ in range(3):
            np.matmul(x, w, out=out_h)                 # forward
            np.matmul(x.T, out_h, out=out_w)           # weight gradient
        for _ in range(2):
            np.matmul(out_h, w.T, out=x)               # back-propagation
    products()
    return _best(products, repeat)


def sgd_step(n, batch, repeat=3):
    """Seconds of one ``sim.training`` SGD step (the trainer's own step, after set-up)."""
    depth = 3
    net = nk.serial(*[layer for _ in range(depth) for layer in (nk.Dense(n), nk.Tanh())],
                    nk.Dense(1))
    layers = mlp_layers(net, n)
    acts = mlp._chain(layers)
    real = realise(layers, n, named("mup", depth), n, 256, 0.1)
    rng = np.random.default_rng(0)
    fan_in = list(real.fan_in)
    weights = [s * rng.standard_normal((1, fi, fo)) for s, fi, fo in
               zip(real.init_std, fan_in, fan_in[1:] + [1])]
    model = mlp._Net(acts, real, weights)
    x = rng.standard_normal((1, batch, n))
    y = rng.standard_normal((1, batch))
    model.step(x, y)                                  # compile / warm up
    return _best(lambda: model.step(x, y), repeat)


def dmft_solve(steps, n_replicas, P=10, depth=3, iterations=3):
    """CPU seconds and the record of a feature-learning DMFT solve capped at ``iterations``
    (module docstring)."""
    x, y = task(P, 4)
    start = time.process_time()
    r = feature_learning.solve(tanh_mlp(depth), x, y, 1.0, np.linspace(0.0, 2.0, steps + 1),
                               n_replicas=n_replicas, tol=1e-6, strict=False,
                               max_iterations=iterations)
    return time.process_time() - start, r


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n, batch = (2048 if args.quick else 4096), 256
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} cores (shared); numba threads "
          f"{numba.get_num_threads()}")
    bound = gemm_bound(n, batch)
    step = sgd_step(n, batch)
    bound = min(bound, gemm_bound(n, batch))          # the bound moves with the load
    flops = 16.0 * batch * n * n
    fraction = bound / step
    print(f"SGD step, width {n}, depth 3, batch {batch}, float64: {step * 1e3:.1f} ms "
          f"({flops / step / 1e9:.1f} GFLOP/s); dgemm bound {bound * 1e3:.1f} ms "
          f"({flops / bound / 1e9:.1f} GFLOP/s): fraction {fraction:.2f} (target >= 0.5)")
    report = {"width": n, "depth": 3, "batch": batch, "load_average": round(load, 2),
              "sgd_step_s": round(step, 4), "dgemm_bound_s": round(bound, 4),
              "fraction_of_dgemm": round(fraction, 3)}
    steps, replicas = (50, 400) if args.quick else (200, 2000)
    seconds, r = dmft_solve(steps, replicas)
    f_err = float(np.max(r.f_train_stderr[-1]))
    ntk_err = float(np.max(r.ntk_stderr[-1]) / np.max(np.abs(r.ntk[-1])))
    per = seconds / r.iterations
    print(f"DMFT solve, P 10, depth 3, {steps} steps, {replicas} replicas: {per:.1f} s CPU per "
          f"iteration ({r.iterations} iterations, residual {r.residual:.1e}); "
          f"sampling error of f(t_end) <= {f_err:.2e}, of the NTK <= {ntk_err:.2e} relative")
    report.update({"dmft_P": 10, "dmft_steps": steps, "dmft_replicas": replicas,
                   "dmft_cpu_s_per_iteration": round(per, 2),
                   "dmft_iterations": r.iterations, "dmft_residual": float(f"{r.residual:.3g}"),
                   "dmft_f_stderr": float(f"{f_err:.3g}"),
                   "dmft_ntk_rel_stderr": float(f"{ntk_err:.3g}")})
    print(json.dumps(report))


if __name__ == "__main__":
    main()
