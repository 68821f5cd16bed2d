"""Finite-width ensembles: 10^5 networks of width 256 and depth 10, one input.

    python -m nnphys.benchmarks.bench_finite_width [--quick]

The exact reduced sampler (:func:`nnphys.sim.preactivations.conditional_kernels`) draws,
per network and layer, ``n`` Gaussian preactivations and sums ``phi^2``: O(n) work where an
explicit network does an ``n x n`` matrix-vector product. Printed:

* networks per second and preactivation samples per second (target: 10^5 networks in
  under a minute on two cores);
* the *equivalent* matrix-vector rate: ``2 n^2 (depth - 1)`` flops per network (what the
  same ensemble costs with explicit weight matrices, not counting drawing them), as a
  fraction of the machine's floating-point bound measured here with a float64 matrix
  product (numpy/BLAS, all cores). A fraction above 1 means the reduction beats any
  explicit simulation at the hardware's peak;
* for comparison, the explicit-matrix sampler (:func:`full_ensemble`) on a smaller ensemble.

Ends with one JSON line.
"""

import argparse
import json
import math
import time

import numpy as np

from nnphys.models import network as arch
from nnphys.sim import preactivations as pa


def flop_bound(size: int = 2048, repeats: int = 3) -> float:
    """Float64 flop/s of a BLAS matrix product of ``size x size`` matrices (best of a few)."""
    a = np.random.default_rng(0).standard_normal((size, size))
    a @ a
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    width, depth = 256, 10
    n_replicas = 10_000 if args.quick else 100_000
    pa.conditional_kernels(arch.Tanh(), 2, 4, 8, 1.0, 0.0)                    # compile
    report = {"width": width, "depth": depth, "n_replicas": n_replicas}
    for name, act, W_std in (("tanh", arch.Tanh(), 1.0), ("relu", arch.Relu(), math.sqrt(2.0))):
        start = time.perf_counter()
        pa.conditional_kernels(act, depth, width, n_replicas, W_std, 0.0, 1.0, seed=1)
        seconds = time.perf_counter() - start
        report[f"{name}_seconds"] = seconds
        report[f"{name}_networks_per_s"] = n_replicas / seconds
        report[f"{name}_samples_per_s"] = n_replicas * width * (depth - 1) / seconds
        report[f"{name}_equivalent_flops"] = n_replicas * 2 * width ** 2 * (depth - 1) / seconds
    bound = flop_bound()
    report["flop_bound"] = bound
    for name in ("tanh", "relu"):
        report[f"{name}_fraction_of_bound"] = report[f"{name}_equivalent_flops"] / bound
    n_full = 200 if args.quick else 1000
    start = time.perf_counter()
    pa.full_ensemble(arch.Tanh(), np.ones((1, width)), depth, width, n_full, 1.0, 0.0, seed=2)
    full = time.perf_counter() - start
    report["explicit_networks_per_s"] = n_full / full
    report["explicit_fraction_of_bound"] = n_full * 2 * width ** 2 * depth / full / bound
    print(f"reduced sampler, {n_replicas} networks, width {width}, depth {depth}:")
    for name in ("tanh", "relu"):
        print(f"  {name}: {report[name + '_seconds']:.2f} s, "
              f"{report[name + '_networks_per_s']:.0f} networks/s, "
              f"{report[name + '_samples_per_s'] / 1e6:.0f} M samples/s, "
              f"equivalent mat-vec rate {report[name + '_equivalent_flops'] / 1e9:.1f} GFLOP/s "
              f"= {report[name + '_fraction_of_bound']:.2f} x the float64 bound "
              f"({bound / 1e9:.1f} GFLOP/s)")
    print(f"explicit matrices: {report['explicit_networks_per_s']:.0f} networks/s "
          f"({report['explicit_fraction_of_bound']:.3f} of the bound; drawing the weights dominates)")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
