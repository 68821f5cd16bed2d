"""Empirical NNGP+NTK of sampled networks: nnphys vs neural-tangents' Monte Carlo kernels.

    python -m nnphys.benchmarks.bench_ensembles [--quick]

Width-512 depth-3 ReLU MLPs (``Dense(512) -> Relu`` three times, ``Dense(1)``) on N = 500
inputs of dimension 784, float64: seconds per sampled network for 1 and 16 networks.
neural-tangents' ``monte_carlo_kernel_fn`` (default JACOBIAN_CONTRACTION, and
STRUCTURED_DERIVATIVES where this jax supports it) is timed in the peer environment when
installed (full run only: its default takes tens of seconds per network). nnphys computes
the NTK analytically per layer (two BLAS Gram products per layer). Ends with one JSON line.
"""

import argparse
import json
import time

import numpy as np

from nnphys.sim import networks
from nnphys.theory import kernels as nk

try:
    from ._peer import neural_tangents_times
except ImportError:                                   # run as a script
    from _peer import neural_tangents_times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args(argv)
    x = np.random.default_rng(0).standard_normal((500, 784))
    net = nk.serial(nk.Dense(512), nk.Relu(), nk.Dense(512), nk.Relu(), nk.Dense(512),
                    nk.Relu(), nk.Dense(1))
    networks.empirical_kernels(net, x[:10], n_replicas=2, seed=0)        # compile
    report = {}
    for count in (2, 16):
        start = time.perf_counter()
        networks.empirical_kernels(net, x, n_replicas=count, seed=1)
        seconds = time.perf_counter() - start
        report[f"nnphys/{count}"] = round(seconds / count, 4)
        print(f"nnphys: {seconds / count:.4f} s per network ({count} networks, {seconds:.2f} s)")
    if not (args.quick or args.no_peer):
        for count in (1, 16):
            peer = neural_tangents_times("ensembles", {"n": 500, "networks": count})
            for impl, value in (peer or {}).items():
                per = value / count if isinstance(value, float) else value
                report[f"neural_tangents/{impl}/{count}"] = per
                ratio = f"{per / report['nnphys/16']:.1f}x" if isinstance(per, float) else "n/a"
                print(f"neural-tangents {impl}: {per} s per network ({count}); nnphys faster by {ratio}")
    print(json.dumps({"benchmark": "ensembles", "seconds_per_network": report}))


if __name__ == "__main__":
    main()
