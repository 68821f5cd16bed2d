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
Timings are the best of three, in CPU time of the process (one thread: immune to the waits
of a shared machine) except the two-thread run (wall time). Prints one chain on one thread
as a fraction of the bound, the two-chain speed-up on two
threads, and a final JSON line with "fraction_of_bound".

+-1 patterns run on an int8 table (rows padded with zeros to a multiple of 64 entries) with
exact int16 pattern sums (``sim.montecarlo`` picks it for Hopfield networks; the field is an
exact int8 x int16 dot product, ``vpmaddwd``): ``speedup_over_float64`` is its attempts/s over
the float64 kernel (the same chain, forced by dropping the int8 table) measured in this run,
and ``int8_fraction_of_bound`` its fraction of the new bound, a tight numba loop of the same
compiled dot product (``sim._montecarlo.field_dot``) over the same table. Last, the exponential memory (``sim.exponential``):
K = 10^6 patterns, N = 40, T = 0 from a pattern; one attempt streams a bit-plane row (K/8
bytes) and the K float32 weights, and ``exp_fraction_of_bandwidth`` is its byte rate over
the streaming rate (a vectorised numba XOR over a buffer of the same 9 MB size) measured here.
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

from nnphys.models.hebbian import ExponentialMemory  # noqa: E402
from nnphys.sim import exponential as se  # noqa: E402
from nnphys.sim import _montecarlo as _k  # noqa: E402
from nnphys.sim import montecarlo as mc  # noqa: E402


@numba.njit(fastmath={"reassoc", "contract", "nsz"})
def _int_dots(table, s, repeats):
    """``repeats`` passes of ``table[i] . s`` over every row: the int8 x int16 dot products
    of the +-1 kernel (its own compiled ``field_dot``)."""
    total = 0
    for _ in range(repeats):
        for i in range(table.shape[0]):
            total += _k.field_dot(table[i], s)
    return total


def _exponential(quick, repeats):
    """Attempts/s of the K = 10^6, N = 40 exponential memory at T = 0 from a pattern, and
    the streaming bandwidth of its table's size."""
    N, K = (40, 10 ** 5) if quick else (40, 10 ** 6)
    planes = se.random_planes(N, K, seed=0)
    cue = se.pattern_spins(planes, 0)
    lam = 0.15          # alpha = ln(10^6)/40 = 0.345 > alpha_1 = 0.256: runs to a fixed point
    se.run_binary(planes, K, lam, 0.0, cue, n_sweeps=2)
    best, sweeps = None, 0
    for _ in range(repeats):
        start = time.process_time()
        _, done, _ = se.run_binary(planes, K, lam, 0.0, cue, n_sweeps=5)
        t = time.process_time() - start
        if best is None or t / done < best:
            best, sweeps = t / done, done
    rate = N / best
    bytes_per_attempt = K / 8 + 4 * K                # a plane row and the float32 weights
    buf = np.ones((N * K // 8 + 4 * K) // 8, np.uint64)
    _stream(buf)
    t_stream = _best(lambda: _stream(buf), repeats * 3)
    return rate, bytes_per_attempt, buf.nbytes / t_stream, K


@numba.njit
def _stream(words):
    """XOR of every word: one vectorised pass reading the buffer (the streaming rate)."""
    acc = np.uint64(0)
    for i in range(words.size):
        acc ^= words[i]
    return acc


def _best(fn, repeats, clock=time.process_time):
    """Best of ``repeats`` timings; CPU time of the process by default (one thread: immune
    to the waits of a shared machine), ``clock=time.perf_counter`` for wall time."""
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 2000, K = 100")
    args = parser.parse_args(argv)
    n, k, sweeps, repeats = (2000, 100, 10, 3) if args.quick else (10_000, 500, 100, 3)
    rng = np.random.default_rng(0)
    xi = rng.choice([-1.0, 1.0], size=(k, n))
    net = mc.hopfield(xi)
    table, vec = np.ascontiguousarray(xi.T), rng.standard_normal(k)
    table @ vec
    t_dot = _best(lambda: [table @ vec for _ in range(20)], repeats) / 20
    mac_rate = n * k / t_dot
    mc.run(net, 0.3, 1, n_replicas=2, seed=0)                      # compile both kernels
    numba.set_num_threads(1)
    flt = mc.hopfield(xi)
    mc.run(flt, 0.3, 1, n_replicas=1, seed=0)
    del flt._cache["xt8"]                                          # the float64 kernel
    mc.run(flt, 0.3, 1, n_replicas=1, seed=0)
    t_float = _best(lambda: mc.run(flt, 0.3, sweeps, n_replicas=1, seed=1,
                                   record_every=sweeps), repeats)
    rate_float = sweeps * n / t_float
    table8 = mc._tables(net)["xt8"]
    s16 = np.ones(table8.shape[1], np.int16)
    _int_dots(table8, s16, 1)
    t_int = _best(lambda: _int_dots(table8, s16, 3), 3 * repeats) / 3
    int_rate = n * k / t_int
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
               repeats, clock=time.perf_counter)
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
    exp_rate, exp_bytes, bandwidth, exp_k = _exponential(args.quick, repeats)
    int_bound = int_rate / (k * (1 + flips_per_attempt))
    print(f"float64 kernel (today's): {rate_float / 1e6:.2f} M attempts/s = "
          f"{rate_float / bound:.2f} of the dgemv bound")
    print(f"int8 kernel: {rate1 / 1e6:.2f} M attempts/s = {rate1 / rate_float:.2f}x float64; "
          f"int8 x int16 dot bound {int_rate / 1e9:.2f} G multiply-adds/s -> {int_bound / 1e6:.2f} M "
          f"attempts/s, fraction {rate1 / int_bound:.2f}")
    print(f"exponential memory K = {exp_k}, N = 40, T = 0: {exp_rate / 1e3:.1f} k attempts/s, "
          f"{exp_rate * exp_bytes / 1e9:.2f} GB/s streamed of {bandwidth / 1e9:.2f} GB/s = "
          f"{exp_rate * exp_bytes / bandwidth:.2f}")
    print(json.dumps({"N": n, "K": k, "attempts_per_s": round(rate1),
                      "float64_attempts_per_s": round(rate_float),
                      "speedup_over_float64": round(rate1 / rate_float, 3),
                      "int8_bound_attempts_per_s": round(int_bound),
                      "int8_fraction_of_bound": round(rate1 / int_bound, 3),
                      "exp_attempts_per_s": round(exp_rate),
                      "exp_fraction_of_bandwidth": round(exp_rate * exp_bytes / bandwidth, 3),
                      "bound_attempts_per_s": round(bound),
                      "fraction_of_bound": round(rate1 / bound, 3),
                      "fraction_of_bound_random_order": round(rate_random / bound, 3),
                      "two_chain_speedup": round(rate2 / rate1, 3),
                      "two_chain_cpu_per_wall": round(busy, 2)}))


if __name__ == "__main__":
    main()
