"""Hopfield Monte Carlo: spin-update attempts per second against the machine's bound.

    python -m nnphys.benchmarks.bench_montecarlo [--quick]

Hopfield network, N = 10,000 spins, K = 500 patterns, Glauber dynamics at T = 0.3 from a
pattern (alpha = 0.05: retrieval, few flips). One attempt costs K multiply-adds for its
local field, plus K more when the spin flips (the pattern sums are updated), and streams
the same (N, K) float64 pattern table as a matrix-vector product does. The bound is the
multiply-add rate of a tight numpy loop of ``patterns @ vector`` (BLAS dgemv over the
same 40 MB table) on this machine, so

    bound (attempts/s) = dgemv multiply-adds per second / (K (1 + flips per attempt)).

Sites are visited in systematic-scan order (the default of ``sim.montecarlo.run``); the
random-permutation order is printed too (random rows defeat the hardware prefetcher).
Prints one chain on one thread as a fraction of the bound, the two-chain speed-up on two
threads, and a final JSON line with "fraction_of_bound".
"""

import argparse
import json
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")     # the bound is one core's dgemv
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from nnphys.sim import montecarlo as mc  # noqa: E402


def _best(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 2000, K = 100")
    args = parser.parse_args(argv)
    n, k, sweeps, repeats = (2000, 100, 10, 3) if args.quick else (10_000, 500, 20, 3)
    rng = np.random.default_rng(0)
    xi = rng.choice([-1.0, 1.0], size=(k, n))
    net = mc.hopfield(xi)
    table, vec = np.ascontiguousarray(xi.T), rng.standard_normal(k)
    table @ vec
    t_dot = _best(lambda: [table @ vec for _ in range(20)], repeats) / 20
    mac_rate = n * k / t_dot
    mc.run(net, 0.3, 1, n_replicas=2, seed=0)                      # compile both kernels
    numba.set_num_threads(1)
    one = None

    def single():
        nonlocal one
        one = mc.run(net, 0.3, sweeps, n_replicas=1, seed=1, record_every=sweeps)
    t1 = _best(single, repeats)
    flips_per_attempt = one.flips.sum() / (sweeps * n)
    rate1 = sweeps * n / t1
    t_random = _best(lambda: mc.run(net, 0.3, sweeps, n_replicas=1, seed=1,
                                    record_every=sweeps, site_order="random"), repeats)
    rate_random = sweeps * n / t_random
    bound = mac_rate / (k * (1 + flips_per_attempt))
    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
    saved = mc._PARALLEL_WORK
    mc._PARALLEL_WORK = 0
    cpu0 = time.process_time()
    t2 = _best(lambda: mc.run(net, 0.3, sweeps, n_replicas=2, seed=1, record_every=sweeps),
               repeats)
    busy = (time.process_time() - cpu0) / (repeats * t2)     # ~2 if both threads got a core
    mc._PARALLEL_WORK = saved
    rate2 = 2 * sweeps * n / t2
    print(f"bound: numpy dgemv {mac_rate / 1e9:.2f} G multiply-adds/s -> "
          f"{bound / 1e6:.2f} M attempts/s (flips/attempt {flips_per_attempt:.4f})")
    print(f"1 chain, 1 thread : {rate1 / 1e6:.2f} M attempts/s = {rate1 / bound:.2f} of bound"
          f" (systematic scan); random site order {rate_random / 1e6:.2f} M/s = "
          f"{rate_random / bound:.2f}")
    print(f"2 chains, 2 threads: {rate2 / 1e6:.2f} M attempts/s, speed-up {rate2 / rate1:.2f} "
          f"(CPU time / wall time {busy:.2f}: below ~1.8 the machine did not give us 2 cores)")
    print(json.dumps({"N": n, "K": k, "attempts_per_s": round(rate1),
                      "bound_attempts_per_s": round(bound),
                      "fraction_of_bound": round(rate1 / bound, 3),
                      "fraction_of_bound_random_order": round(rate_random / bound, 3),
                      "two_chain_speedup": round(rate2 / rate1, 3),
                      "two_chain_cpu_per_wall": round(busy, 2)}))


if __name__ == "__main__":
    main()
