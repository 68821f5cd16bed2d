"""DMFT solver speed: stationary SCS state, the 1000 x 1000 time-domain grid, BAP loss curves.

    python -m nnphys.benchmarks.bench_dmft [--quick]

Targets (issue 5): the stationary solution for one g well under a second; the two-time
solver on a 1000 x 1000 grid in seconds. The time-domain cost is dominated by the Gaussian
two-point functions (two per grid entry with the PECE corrector), so the benchmark also
prints nanoseconds per entry-evaluation and per quadrature node. Ends with one JSON line.
"""

import argparse
import json
import time

import numpy as np

from nnphys.theory.dmft import learning, rnn


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    report = {}
    rnn.solve(2.0, 1.0, 0.1)                                   # compile the numba rows
    for g in (1.5, 2.0, 3.0):
        r, sec = _timed(lambda: rnn.stationary(g))
        report[f"stationary/g={g}"] = round(sec, 4)
        print(f"stationary g={g}: {sec:.3f} s (Delta0 = {r.delta0:.7f}, lambda = {r.lyapunov:.5f})")
    n = 300 if args.quick else 1000
    for g in (1.5, 2.0):
        r, sec = _timed(lambda: rnn.solve(g, n * 0.1, 0.1, x0_variance=1.0))
        entries = (n + 1) * (n + 2) / 2 * 2                       # PECE: two rows per step
        report[f"solve/{n}x{n}/g={g}"] = round(sec, 3)
        print(f"time-domain DMFT {n + 1}x{n + 1}, g={g}: {sec:.2f} s, "
              f"{sec / entries * 1e9:.0f} ns per two-point function")
    times = np.geomspace(1.0, 1e4, 20)
    for N, P in ((200, np.inf), (200, 400)):
        _, sec = _timed(lambda: learning.loss(times, N=N, P=P, M=4000))
        report[f"learning/N={N},P={P:g}/20 times"] = round(sec, 3)
        print(f"BAP loss, M=4000, N={N}, P={P:g}: {sec:.2f} s for 20 times")
    print(json.dumps({"benchmark": "dmft", "seconds": report}))


if __name__ == "__main__":
    main()
