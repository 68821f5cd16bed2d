"""The fuzz census: run the harness of :mod:`nnphys.tests.fuzz` over every entry point and
count the outcomes by kind (issue 12, section 2).

    python -m nnphys.tests.fuzz_census [--per-case 12] [--timeout 10] [--seed 0] [-v]

For each case, ``--per-case`` fuzz calls are drawn (with a fixed seed) from all its
(argument, bad value) pairs, or all of them with ``--per-case 0``. A compiled loop cannot
be interrupted, so each call runs in a worker process that is killed after ``--timeout``
seconds: such a call counts as ``unbounded`` and a fresh worker takes over. The failures
are listed with their reproducers.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import sys

import numpy as np


def _worker(conn):
    from nnphys.tests import fuzz
    while True:
        job = conn.recv()
        if job is None:
            return
        try:
            conn.send(fuzz.run_one(*job))
        except BaseException as exc:          # noqa: BLE001 -- reported, never raised
            conn.send(("other", f"{job}", f"{type(exc).__name__} in the harness: {exc}"))


class _Pool:
    """One worker process, restarted when a call exceeds the time limit."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.ctx = mp.get_context("fork")
        self._start()

    def _start(self):
        self.conn, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_worker, args=(child,), daemon=True)
        self.proc.start()

    def call(self, key, index):
        self.conn.send((key, index))
        if self.conn.poll(self.timeout):
            try:
                return self.conn.recv()
            except EOFError:
                pass                           # the worker died (e.g. a segfault)
            outcome, detail = "other", "the worker process died"
        else:
            outcome, detail = "unbounded", f"no answer within {self.timeout} s"
        self.proc.kill()
        self.proc.join()
        self._start()
        from nnphys.tests import fuzz
        return outcome, f"{key} call #{index}: {fuzz.all_calls(key)[index][0]} = " \
                        f"{fuzz.short(fuzz.all_calls(key)[index][1])}", detail

    def close(self):
        self.conn.send(None)
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()


def census(per_case=12, timeout=10.0, seed=0, only=None, stream=None):
    """Run the census; return (counts by outcome, list of failures, number of cases)."""
    from nnphys.tests import fuzz
    rng = np.random.default_rng(seed)
    keys = sorted(k for k in fuzz.cases() if only is None or only in k)
    counts = collections.Counter()
    failures = []
    pool = _Pool(timeout)
    try:
        for key in keys:
            n = len(fuzz.all_calls(key))
            picks = range(n) if not per_case or per_case >= n else sorted(
                rng.choice(n, size=per_case, replace=False))
            for index in picks:
                outcome, repro, detail = pool.call(key, int(index))
                counts[outcome] += 1
                if outcome in fuzz.FAILURES:
                    failures.append((outcome, repro, detail))
                    if stream:
                        print(f"{outcome:9s} {repro}\n          {detail[:300]}",
                              file=stream, flush=True)
    finally:
        pool.close()
    return counts, failures, len(keys)


def main(argv=None):
    from nnphys.tests import fuzz
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-case", type=int, default=12)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default=None, help="cases whose name contains this")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    points = fuzz.entry_points()
    counts, failures, n_cases = census(args.per_case, args.timeout, args.seed, args.only,
                                       sys.stdout if args.verbose else None)
    total = sum(counts.values())
    print(f"entry points: {len(points)} public callables in scope, "
          f"{len(fuzz.EXCLUDED)} excluded with a reason; {n_cases} cases fuzzed")
    print(f"calls tried: {total}")
    for outcome in fuzz.OUTCOMES:
        mark = "  (failure)" if outcome in fuzz.FAILURES else ""
        print(f"  {outcome:10s} {counts[outcome]:6d}{mark}")
    print(f"failures: {len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
