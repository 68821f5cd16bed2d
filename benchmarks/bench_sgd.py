"""One-pass SGD on the PLRF model against the machine's bounds.

    python -m nnphys.benchmarks.bench_sgd [--quick]

Raw SGD (``nnphys.sim.regression.sgd(method="raw")``, d = 2000, v = 20000, B = 1): a step of
``S`` seeds is one product ``Phi = X W`` (``X`` is ``S x v``) that streams ``W`` from memory
once, ``8 v d`` bytes, and costs ``2 S v d`` flops; the bound is
``max(8 v d / bandwidth, 2 S v d / dgemm rate)``. The read bandwidth is the larger of the best
of 5 parallel reductions of a 1 GB array (as in ``bench_rnn``) and the best of 5 BLAS
``A^T x`` over 1 GB; the dgemm rate is the best of 5 square 2000 x 2000 products (all cores).
Printed per ``S``: time per step, bytes of ``W`` per step, achieved GB/s and GFLOP/s, and the
fraction of each bound (1.0 = at the bound).

Spectral SGD (``method="spectral"``, d = 10^4, 10^6 steps): ``O(d)`` per sample, bounded by
drawing ``d + 1`` normal variates per sample; printed: CPU seconds per seed (process CPU time
/ seeds, robust to other load) and the fraction of the normal-generation bound
(single-thread ns per variate measured here). The set-up
(``K = W^T D W`` and its eigen-decomposition, ``O(v d^2 + d^3)``) is timed at d = 2000 and
v = 20000; the d = 10^4 kernel runs on a synthetic power-law spectrum, since its speed does
not depend on the spectrum. The bounds are measured at the start and at the end and the best
is used (other processes on a shared machine move them). Prints, never asserts; ends with one
JSON line.
"""

import argparse
import json
import os
import time

import numba
import numpy as np

from nnphys.benchmarks.bench_rnn import bandwidth
from nnphys.sim import _xoshiro
from nnphys.sim.regression import PLRFProblem, _plrf, sgd


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def _best(fn, repeat):
    return min(_timed(fn)[1] for _ in range(repeat))


def gemv_bandwidth(n_bytes):
    """Read bandwidth seen by BLAS: best of 5 ``A^T x`` with a C-contiguous ``A`` of
    ``n_bytes`` (the access pattern of the one-seed SGD step)."""
    rows = n_bytes // 8 // 2000
    A = np.ones((rows, 2000))
    x = np.ones(rows)
    A.T @ x
    return A.nbytes / _best(lambda: A.T @ x, 5)


def dgemm_rate(n=2000):
    a = np.random.default_rng(0).standard_normal((n, n))
    out = np.empty_like(a)
    np.matmul(a, a, out=out)
    return 2.0 * n ** 3 / _best(lambda: np.matmul(a, a, out=out), 5)


def normal_rate(n=10_000_000):
    out = np.empty(n)
    state = _xoshiro.seed_state(1, 0)
    _xoshiro.fill_normal(state, out)
    return _best(lambda: _xoshiro.fill_normal(state, out), 3) / n


def _bounds(size):
    bw_sum, bw_gemv = bandwidth(size), gemv_bandwidth(size)
    return bw_sum, bw_gemv, dgemm_rate()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    threads = numba.get_num_threads()
    load = os.getloadavg()[0]
    size = 2 ** 28 if args.quick else 2 ** 30
    first = _bounds(size)
    t_normal = normal_rate()
    print(f"load average {load:.2f} on {os.cpu_count()} cores (other processes share the "
          f"cores and the memory bus); numba threads {threads}")
    print(f"normal variates: {t_normal * 1e9:.2f} ns each (one thread, ziggurat)")
    report = {"load_average": round(load, 2), "ns_per_normal": round(t_normal * 1e9, 3)}

    v, d = (20000, 2000)
    problem, sec = _timed(lambda: PLRFProblem(1.0, 0.7, v, d, seed=0))
    w_bytes = 8.0 * v * d
    steps = 40 if args.quick else 100
    sgd(problem, 2, n_replicas=1, record=np.array([0, 2]))                 # compile
    raw = {}
    for seeds in ((1, 16) if args.quick else (1, 4, 16, 64)):
        base = _best(lambda: sgd(problem, 0, n_replicas=seeds, record=np.array([0])), 3)
        total = _best(lambda: sgd(problem, steps, n_replicas=seeds,
                                  record=np.array([0, steps])), 3)
        raw[seeds] = (total - base) / steps

    spec_problem = PLRFProblem(1.0, 0.7, v, d, seed=0, W=problem.W)
    _, setup = _timed(spec_problem.spectral)
    del problem, spec_problem

    ds, steps_s = 10_000, (10 ** 5 if args.quick else 10 ** 6)
    k = np.arange(1, ds + 1, dtype=float)
    lam = k ** -2.0
    e0 = -k ** -0.7
    lr = 0.5 / lam.sum()
    n_seeds = threads
    record = np.unique(np.round(np.geomspace(1, steps_s, 99))).astype(np.int64)
    record = np.concatenate([[0], record])
    tiny = np.array([0, 10], dtype=np.int64)
    out = np.empty((n_seeds, tiny.size))
    flag = np.empty(n_seeds, dtype=np.int64)
    _plrf.spectral_sgd(_xoshiro.seed_states(0, n_seeds), e0, lam, 0.01, lr, 1, tiny, 1e30, out,
                       flag)                                              # compile
    out = np.empty((n_seeds, record.size))
    cpu = time.process_time()
    _, wall = _timed(lambda: _plrf.spectral_sgd(_xoshiro.seed_states(1, n_seeds), e0, lam, 0.01,
                                                lr, 1, record, 1e30, out, flag))
    cpu = time.process_time() - cpu

    last = _bounds(size)
    bw = max(first[0], first[1], last[0], last[1])
    peak = max(first[2], last[2])
    print(f"read bandwidth {bw / 1e9:.1f} GB/s (best of: parallel reduction "
          f"{first[0] / 1e9:.1f} / {last[0] / 1e9:.1f}, BLAS gemv {first[1] / 1e9:.1f} / "
          f"{last[1] / 1e9:.1f}, at start / end); dgemm {peak / 1e9:.1f} GFLOP/s "
          f"({first[2] / 1e9:.1f} / {last[2] / 1e9:.1f})")
    report.update({"bandwidth_GBps": round(bw / 1e9, 2), "dgemm_GFLOPs": round(peak / 1e9, 1)})

    print(f"\nraw SGD, d = {d}, v = {v}, B = 1 (drawing W: {sec:.1f} s); "
          f"W is {w_bytes / 1e6:.0f} MB, read once per step")
    for seeds, step in raw.items():
        flops = 2.0 * seeds * v * d
        mem_bound, flop_bound = w_bytes / bw, flops / peak
        key = f"raw/d={d}/v={v}/seeds={seeds}"
        report[key] = {"s_per_step": round(step, 5), "GBps": round(w_bytes / step / 1e9, 2),
                       "fraction_bandwidth_bound": round(mem_bound / step, 3),
                       "fraction_dgemm_bound": round(flop_bound / step, 3)}
        bound = "memory" if mem_bound >= flop_bound else "compute"
        print(f"  seeds {seeds:3d}: {step * 1e3:8.2f} ms/step ({step / seeds * 1e3:7.2f} ms per "
              f"seed-step): {w_bytes / step / 1e9:5.2f} GB/s, {flops / step / 1e9:5.1f} GFLOP/s;"
              f" fraction of bandwidth bound {mem_bound / step:4.2f}, of dgemm bound "
              f"{flop_bound / step:4.2f} ({bound}-bound)")

    report[f"spectral_setup/d={d}/v={v}"] = round(setup, 2)
    print(f"\nspectral set-up (K = W^T D W, eigh) at d = {d}, v = {v}: {setup:.1f} s "
          f"(scales as v d^2 + d^3)")
    per_seed = cpu / n_seeds
    rng_bound = steps_s * (ds + 1) * t_normal
    report[f"spectral/d={ds}/steps={steps_s}"] = {
        "cpu_s_per_seed": round(per_seed, 2), "wall_s": round(wall, 2), "seeds": n_seeds,
        "fraction_rng_bound": round(rng_bound / per_seed, 3)}
    print(f"spectral SGD, d = {ds}, {steps_s:.0e} steps, B = 1: {n_seeds} seeds on {threads} "
          f"threads, wall {wall:.1f} s, CPU {per_seed:.1f} s per seed "
          f"({per_seed / steps_s / ds * 1e9:.2f} ns per coordinate-sample); the {ds + 1} "
          f"normals per sample alone take {rng_bound:.1f} s: fraction of that bound "
          f"{rng_bound / per_seed:.2f}")
    print(json.dumps({"benchmark": "sgd", "results": report}))


if __name__ == "__main__":
    main()
