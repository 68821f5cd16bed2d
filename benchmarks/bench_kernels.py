"""NNGP+NTK of fully connected nets: nnphys vs neural-tangents, and vs the Gram floor.

    python -m nnphys.benchmarks.bench_kernels [--quick]

Cases: depth 3 and 10, Relu / Erf / Tanh, N = 1000, 2000 and 4000 inputs of dimension 784
(--quick: N = 1000, no peer tanh), float64, both kernels, x2 = None. For each case: our median time,
neural-tangents' (jit, CPU, float64; from the peer environment when installed, see
``peers/nt_import.py``), the ratio, and our time as a multiple of the floor set by the
N x N x d Gram product (one BLAS ``x @ x.T`` on this machine). Tanh in neural-tangents is
``ElementwiseNumerical(deg=25)`` (its docstring's suggestion; ~1e-2 accurate at these
variances, against ~1e-12 for ours). Also (first; ``--layers-only`` for just these) a
4-layer attention network on sequences of length 32 and a 2-layer graph network, N = 500
(``bench_layers``).

Memory of global pooling (``--pooling``; also after the timings): NNGP+NTK of a
Conv-Relu-Conv-Relu-GlobalAvgPool-Dense net on 32x32x3 images, whose layers need the full
spatial covariance, ``(HW)^2 = 2^20`` entries per pair of inputs. Peak traced memory
(tracemalloc, which sees numpy's buffers) for N = 8 and 16 images and two block sizes,
against one block's kernel array (``b^2 (HW)^2`` float64) and against the unblocked
``N^2 (HW)^2``: the peak stays a small multiple of the block, independent of N. Ends with
one JSON line.
"""

import argparse
import json
import time
import tracemalloc

import numpy as np

from nnphys.theory import kernels as nk

try:
    from ._peer import neural_tangents_times
    from .peers.nt_timing import median_time
except ImportError:                                   # run as a script
    from _peer import neural_tangents_times
    from peers.nt_timing import median_time

ACTIVATIONS = {"relu": nk.Relu, "erf": nk.Erf, "tanh": nk.Tanh}


def pooling_memory(sizes=(8, 16), blocks=(1, 2)) -> dict:
    """Peak traced memory of a global-pooling CNN kernel on 32x32x3 images (module doc)."""
    net = nk.serial(nk.Conv(8, (3, 3), padding="SAME", W_std=1.4, b_std=0.1), nk.Relu(),
                    nk.Conv(8, (3, 3), padding="SAME", W_std=1.4, b_std=0.1), nk.Relu(),
                    nk.GlobalAvgPool(), nk.Dense(1, W_std=1.2))
    pair_bytes = (32 * 32) ** 2 * 8
    report = {}
    for n in sizes:
        x = np.random.default_rng(1).standard_normal((n, 32, 32, 3))
        for b in blocks:
            tracemalloc.start()
            start = time.perf_counter()
            net.kernel(x, block_size=b)
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            block = b * b * pair_bytes
            key = f"N={n}/block={b}"
            report[key] = {"peak_MB": round(peak / 2 ** 20, 1),
                           "peak_over_block": round(peak / block, 2),
                           "unblocked_MB": round(n * n * pair_bytes / 2 ** 20, 1),
                           "seconds": round(seconds, 2)}
            print(f"global pool {key:14s} peak {peak / 2 ** 20:8.1f} MB = "
                  f"{peak / block:5.2f} x one block ({block / 2 ** 20:.0f} MB); unblocked "
                  f"N^2 (HW)^2 would be {n * n * pair_bytes / 2 ** 20:.0f} MB; {seconds:.1f} s",
                  flush=True)
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-peer", action="store_true", help="skip neural-tangents")
    parser.add_argument("--pooling", action="store_true",
                        help="only the global-pooling memory measurement")
    parser.add_argument("--layers-only", action="store_true",
                        help="only the attention and graph networks")
    args = parser.parse_args(argv)
    if args.pooling:
        print(json.dumps({"benchmark": "kernels", "global_pool_memory": pooling_memory()}))
        return
    layer_report = bench_layers(args.quick, args.no_peer)
    if args.layers_only:
        print(json.dumps({"benchmark": "kernels", "layers": layer_report}))
        return
    sizes = (1000,) if args.quick else (1000, 2000, 4000)
    cases = [(act, depth, n) for n in sizes for depth in (3, 10) for act in ACTIVATIONS]
    # neural-tangents' tanh quadrature costs 625 function evaluations per kernel entry
    # (~60 s at N = 1000, depth 10): timed at N = 1000 in the full run only.
    peer_cases = [c for c in cases if c[0] != "tanh" or (not args.quick and c[2] == 1000)]
    peer = None if args.no_peer else neural_tangents_times("kernels", peer_cases)
    report = {}
    for act, depth, n in cases:
        x = np.random.default_rng(0).standard_normal((n, 784))
        layers = []
        for _ in range(depth):
            layers += [nk.Dense(512, W_std=1.5, b_std=0.05), ACTIVATIONS[act]()]
        net = nk.serial(*layers, nk.Dense(1, W_std=1.5, b_std=0.05))
        ours = median_time(lambda: net.kernel(x))
        gram = median_time(lambda: x @ x.T)
        key = f"{act}/{depth}/{n}"
        theirs = (peer or {}).get(key)
        ratio = theirs / ours if isinstance(theirs, float) else None
        report[key] = {"nnphys_s": round(ours, 4), "neural_tangents_s": theirs,
                       "speedup": None if ratio is None else round(ratio, 2),
                       "gram_floor_multiple": round(ours / gram, 2)}
        print(f"{key:16s} nnphys {ours:8.3f} s   neural-tangents "
              f"{theirs if theirs is not None else 'n/a'!s:>10.10s}   "
              f"speedup {report[key]['speedup']!s:>6s}   x Gram floor {ours / gram:6.2f}",
              flush=True)
    memory = pooling_memory(sizes=(8,) if args.quick else (8, 16))
    print(json.dumps({"benchmark": "kernels", "cases": report, "layers": layer_report,
                      "global_pool_memory": memory}))


def _layer_network(case):
    """The attention / graph network of a case and its inputs (the same in the peer's
    ``peers/nt_timing.py``): 4 attention layers (softmax, 4 heads, Erf, Dense) on
    sequences, or 2 graph layers (Dense, Aggregate, Erf) on random graphs, then
    GlobalAvgPool and a Dense readout."""
    rng = np.random.default_rng(0)
    n, width = case["n"], 64
    if case["kind"] == "attention":
        body = [nk.Dense(width, W_std=1.3, b_std=0.1)]
        for _ in range(4):
            body += [nk.GlobalSelfAttention(width, width, width, 4, W_key_std=1.2, b_std=0.1),
                     nk.Erf(), nk.Dense(width, W_std=1.3, b_std=0.1)]
        return nk.serial(*body, nk.GlobalAvgPool(), nk.Dense(1)), \
            rng.standard_normal((n, case["length"], 8)), None
    body = []
    for _ in range(2):
        body += [nk.Dense(width, W_std=1.3, b_std=0.1), nk.Aggregate(), nk.Erf()]
    x = rng.standard_normal((n, case["vertices"], 8))
    adjacency = (rng.random((n,) + (case["vertices"],) * 2) < 0.3).astype(float)
    return nk.serial(*body, nk.GlobalAvgPool(), nk.Dense(1)), x, (adjacency, None)


def bench_layers(quick: bool, no_peer: bool) -> dict:
    """Attention (sequences of length 32) and graph (16 vertices) networks, N = 500 inputs
    (--quick: 100), NNGP + NTK with x2 = None: our time, neural-tangents' (jit; ``nt.batch``
    in blocks of 100 inputs above that, to bound its memory), the ratio, and the largest
    relative difference of the NTK's first row."""
    n = 100 if quick else 500
    cases = [{"kind": "attention", "n": n, "length": 32, "batch_size": 100},
             {"kind": "graph", "n": n, "vertices": 16, "batch_size": 100}]
    peer = None if no_peer else neural_tangents_times("layers", cases)
    report = {}
    for case in cases:
        net, x, pattern = _layer_network(case)
        result = {}

        def run():
            result["ntk"] = net.kernel(x, pattern=pattern, get="ntk")

        ours = median_time(run, repeats=1)
        key = f"{case['kind']}/{case['n']}"
        theirs = (peer or {}).get(key)
        seconds = theirs.get("seconds") if isinstance(theirs, dict) else None
        err = None
        if seconds is not None:
            row = np.asarray(theirs["ntk_row0"])
            err = float(np.max(np.abs(result["ntk"][0] - row)) / np.max(np.abs(row)))
        report[key] = {"nnphys_s": round(ours, 3), "neural_tangents_s": seconds,
                       "speedup": None if seconds is None else round(seconds / ours, 2),
                       "ntk_row0_rel_diff": err,
                       "peer_error": theirs if isinstance(theirs, str) else None}
        print(f"{key:16s} nnphys {ours:8.3f} s   neural-tangents {seconds!s:>10.10s}   "
              f"speedup {report[key]['speedup']!s:>6s}   NTK rel. diff {err!s:.9s}", flush=True)
    return report


if __name__ == "__main__":
    main()
