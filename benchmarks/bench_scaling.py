"""Speed of the deterministic PLRF loss curve (theory.scaling.plrf).

    python -m nnphys.benchmarks.bench_scaling [--quick]

Target (issue 6): the deterministic curve for 10^6 SGD steps in under a second. The curve
is not iterated: the deterministic-equivalent spectrum (exact contour integrals over
log-spaced bins) and the secular roots of the Volterra equation cost O(bins x j-terms) and
O(bins^2) once; then every requested time costs O(bins). The peer is the direct
iteration of the Volterra recursion on the same spectrum (numpy, one step at a time,
O(bins) per step), timed on 10^4 steps and scaled to 10^6. Ends with one JSON line.
"""

import argparse
import json
import time

import numpy as np

from nnphys.theory.scaling import plrf, spectrum
from nnphys.theory.scaling.volterra import sgd_rate


def _iterate(meas, lr, steps):
    """The peer: P(t) = F(t) + sum_i k_i S_i(t), S_i(t+1) = g_i S_i(t) + P(t), step by step."""
    g = 1.0 - sgd_rate(meas.nodes, lr, 1)
    f = 0.5 * meas.forcing_mass
    k = lr ** 2 * meas.nodes ** 2 * meas.kernel_mass
    s = np.zeros_like(g)
    gt = np.ones_like(g)
    out = np.empty(steps)
    for t in range(steps):
        out[t] = 0.5 * meas.zero_mass + f @ gt + k @ s
        s = g * s + out[t]
        gt = gt * g
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    report = {}
    cases = [(1.0, 0.3, 1000), (1.0, 1.5, 1000)] + ([] if args.quick else [(0.4, 0.8, 4000),
                                                                           (1.5, 1.0, 10_000)])
    for alpha, beta, d in cases:
        spectrum._deterministic_measure.cache_clear()
        start = time.perf_counter()
        curve = plrf.loss_curve(alpha, beta, d, steps=10**6, points=1000)
        sec = time.perf_counter() - start
        label = f"alpha={alpha},beta={beta},d={d}"
        report[label] = round(sec, 3)
        meas = spectrum.deterministic_measure(alpha, beta, d, 4 * d, spectrum.BINS_PER_EFOLD)
        start = time.perf_counter()
        ref = _iterate(meas, curve.parameters["lr"], 10**4)
        peer = (time.perf_counter() - start) * 100
        t = curve.t[curve.t < 10**4].astype(int)
        err = float(np.max(np.abs(curve.loss[:t.size] / ref[t] - 1)))
        print(f"PLRF {label} ({plrf.phase(alpha, beta)}): 10^6 steps in {sec:.3f} s "
              f"({meas.nodes.size} spectral nodes, {curve.t.size} times); direct iteration "
              f"{peer:.1f} s (x{peer / sec:.0f}); max rel. difference to it {err:.1e}")
    print(json.dumps({"benchmark": "scaling", "seconds": report}))


if __name__ == "__main__":
    main()
