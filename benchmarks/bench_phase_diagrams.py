"""Replica-symmetric phase diagrams: wall time of a full grid against a 10 s target.

    python -m nnphys.benchmarks.bench_phase_diagrams [--quick]

The AGS Hopfield (alpha, T) diagram on a 200 x 200 grid (alpha in [0, 0.16], T in
[0, 1.1]): every grid point gets its retrieval and spin-glass solutions, free energies and
AT eigenvalue (vectorised root finding, see ``theory.hebbian.hopfield``). Prints the time,
the ratio to the target, and one JSON line.
"""

import argparse
import json
import time

import numpy as np

from nnphys.theory.hebbian import hopfield

TARGET_SECONDS = 10.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 x 50 grid")
    args = parser.parse_args(argv)
    n = 50 if args.quick else 200
    hopfield.critical_capacity(0.0)                       # cached constants
    start = time.perf_counter()
    pd = hopfield.phase_diagram(np.linspace(0, 0.16, n), np.linspace(0, 1.1, n))
    seconds = time.perf_counter() - start
    counts = {pd.labels[k]: int(v) for k, v in enumerate(np.bincount(pd.phase.ravel()))}
    print(f"hopfield {n} x {n}: {seconds:.2f} s (target {TARGET_SECONDS:.0f} s, "
          f"ratio {seconds / TARGET_SECONDS:.2f}); phases {counts}")
    print(json.dumps({"hopfield_grid": n, "hopfield_seconds": round(seconds, 3),
                      "ratio_to_target": round(seconds / TARGET_SECONDS, 3)}))


if __name__ == "__main__":
    main()
