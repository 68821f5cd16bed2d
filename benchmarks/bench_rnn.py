"""Rate-network simulation speed against the memory-bandwidth bound of the N x N mat-vec.

    python -m nnphys.benchmarks.bench_rnn [--quick]

A step of ``dx/dt = -x + J tanh(x)`` for K trajectories is dominated by ``J @ tanh(X)``
(``X`` is N x K), which must stream all of ``J`` (``N^2 * itemsize`` bytes) from memory.
The bound is ``N^2 * itemsize / B`` per product, with ``B`` the machine's read bandwidth,
measured here as the best of 5 timed parallel reductions (numba, all cores) of a 1 GB
array; BLAS uses all cores too. Printed:
seconds per product and per full RK4/Euler step (K = 1 and K = 4), and the fraction of the
bound reached (1.0 = at the bound). Ends with one JSON line.
"""

import argparse
import json
import time

import numpy as np

from nnphys.sim import _rnn, rnn


def _best(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bandwidth(n_bytes=2 ** 30):
    a = np.ones(n_bytes // 8)
    _rnn.stream_sum(a)
    return n_bytes / _best(lambda: _rnn.stream_sum(a), 5)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    bw = bandwidth(2 ** 28 if args.quick else 2 ** 30)
    print(f"read bandwidth: {bw / 1e9:.1f} GB/s")
    sizes = (1000, 4000) if args.quick else (1000, 4000, 10000, 20000)
    report = {"bandwidth_GBps": round(bw / 1e9, 2)}
    for dtype in (np.float64, np.float32):
        for n in sizes:
            J = rnn.coupling(n, 2.0, seed=0, dtype=dtype)
            bound = n * n * J.itemsize / bw
            for k in (1, 4):
                x = np.random.default_rng(1).standard_normal((n, k)).astype(dtype)
                out = np.empty_like(x)
                mv = _best(lambda: np.matmul(J, np.tanh(x), out=out), 5 if n < 10000 else 3)
                steps = 40 if n <= 4000 else 8
                for method, products in (("rk4", 4), ("euler", 1)):
                    step = _best(lambda: rnn.simulate(2.0, steps * 0.05, 0.05, method=method,
                                                      n_replicas=k, transient=0.0, J=J,
                                                      dtype=dtype, n_record=1), 3) / steps
                    key = f"{np.dtype(dtype).name}/N={n}/K={k}/{method}"
                    report[key] = {"s_per_step": round(step, 6),
                                   "fraction_of_bound": round(products * bound / step, 3)}
                    print(f"{key:28s} matvec {mv * 1e3:8.3f} ms (bound {bound * 1e3:7.3f} ms, "
                          f"fraction {bound / mv:5.2f}); step {step * 1e3:8.3f} ms, "
                          f"fraction of bound {products * bound / step:5.2f}")
            del J
    print(json.dumps({"benchmark": "rnn", "results": report}))


if __name__ == "__main__":
    main()
