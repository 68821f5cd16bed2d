"""Every public entry point refuses bad input by name (issue 12, section 2), by fuzzing.

The harness is :mod:`nnphys.tests.fuzz`: one valid call per entry point, one argument at a
time replaced by a bad value of its kind (NaN, +-inf, 0, negative, 1e-300, 1e300, 10**12,
a non-integer, str, None, complex, a list, empty arrays, wrong shapes). Each call must
give a finite answer, a ParameterError/ArgumentTypeError/ValueError/TypeError naming the
changed argument, or (for an admissible finite number) the method's honest
ConvergenceError/NumericalError -- never a NaN, another exception type or a hang.

The default run draws :data:`EXAMPLES` calls over all cases (derandomised: the same calls
on every run); the ``slow`` variant fuzzes each case. ``python -m nnphys.tests.fuzz_census``
counts the outcomes over all entry points.
"""

from __future__ import annotations

import signal

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, Phase, given, settings, strategies as st  # noqa: E402

from nnphys.tests import fuzz  # noqa: E402

EXAMPLES = 80              # default run: calls drawn over all cases
SLOW_EXAMPLES = 12         # slow run: calls per case
TIME_LIMIT = 20            # seconds per call (a compiled loop is bounded by checks.work)

FUZZ = settings(deadline=None, derandomize=True, database=None,
                phases=(Phase.explicit, Phase.generate),       # no shrinking
                suppress_health_check=list(HealthCheck))


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def _check(key, index):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT)
    try:
        outcome, repro, detail = fuzz.run_one(key, index)
    except _Hang:
        outcome, repro, detail = "unbounded", f"{key} call #{index}", f"> {TIME_LIMIT} s"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert outcome not in fuzz.FAILURES, f"{outcome}: {repro}: {detail}"


def test_every_entry_point_is_fuzzed():
    points = fuzz.entry_points()
    missing = sorted(set(points) - set(fuzz.cases()) - set(fuzz.EXCLUDED))
    assert not missing, f"public callables with no valid call in tests/fuzz.py: {missing}"
    stale = sorted(set(fuzz.EXCLUDED) - set(points))
    assert not stale, f"excluded names that are no longer public: {stale}"


def test_the_harness_sees_each_failure_kind():
    """The classifier itself: a NaN answer, an unnamed error and a foreign exception are
    failures; a named refusal is not."""
    import math

    def f(x):
        if x == "nan":
            return math.nan
        if x == "unnamed":
            raise ValueError("could not convert string to float: 'x'")
        if x == "other":
            return 1 / 0
        raise ValueError(f"x: must be a real number, got {x!r}")

    seen = [fuzz.classify("t.f", f, (v,), {}, "x", v, lambda v=v: f(v))[0]
            for v in ("nan", "unnamed", "other", "named")]
    assert seen == ["nonfinite", "unnamed", "other", "refused"]


_KEYS = sorted(fuzz.cases())


@settings(FUZZ, max_examples=EXAMPLES)
@given(data=st.data())
def test_bad_arguments_are_refused_by_name(data):
    key = data.draw(st.sampled_from(_KEYS), label="case")
    index = data.draw(st.integers(0, len(fuzz.all_calls(key)) - 1), label="call")
    _check(key, index)


@pytest.mark.slow
@pytest.mark.parametrize("key", _KEYS)
@settings(FUZZ, max_examples=SLOW_EXAMPLES)
@given(data=st.data())
def test_bad_arguments_are_refused_by_name_everywhere(key, data):
    _check(key, data.draw(st.integers(0, len(fuzz.all_calls(key)) - 1), label="call"))
