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
TIME_LIMIT = 60            # seconds per call (a compiled loop is bounded by checks.work)

FUZZ = settings(deadline=None, derandomize=True, database=None,
                phases=(Phase.explicit, Phase.generate),       # no shrinking
                suppress_health_check=list(HealthCheck))


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def _check(key, index):
    if fuzz.known(key):
        return                                  # a known offender (see fuzz.KNOWN)
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


_KEYS = sorted(k for k in fuzz.cases() if fuzz.all_calls(k))       # some take no arguments


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


def _issue_reproducers():
    """The offenders named in issue 12 (section 2): (argument named, call)."""
    import numpy as np
    from nnphys.models import network as nw
    from nnphys.sim import montecarlo, networks, preactivations, rnn
    from nnphys.sim.regression import gradient_descent
    from nnphys.theory.hebbian import dense, learning, multitask
    from nnphys.theory.scaling import plrf
    x = np.eye(3, 4)
    x_nan = x.copy()
    x_nan[1, 2] = np.nan
    net = nw.Serial((nw.Dense(8), nw.Relu(), nw.Dense(1)))
    return [
        ("P", lambda: dense.critical_capacity(10 ** 12)),
        ("P", lambda: dense.critical_capacity(float("inf"))),
        ("d", lambda: plrf.loss_curve(1.0, 0.3, 0)),
        ("renorm_every", lambda: rnn.lyapunov(1.5, 8.0, 0.5, N=8, renorm_every=0)),
        ("maxiter", lambda: multitask.solve(0.3, 0.2, 2, maxiter=-1)),
        ("input_shape", lambda: nw.Dense(4).init(0, np.array([]))),
        ("input_shape", lambda: nw.Dense(4).init(0, (10 ** 12, 10 ** 12))),
        ("g", lambda: rnn.coupling(50, float("nan"))),
        ("density", lambda: networks.draw_weights(0, (4, 3), law="sparse", density=0)),
        ("x", lambda: preactivations.full_ensemble(nw.Relu(), x_nan, 2, 8, 4, 1.4, 0.0)),
        ("a", lambda: gradient_descent.random_feature_gd(8, 16, [1.0], a=float("nan"),
                                                         M=50, n_replicas=2, seed=0)),
        ("lr", lambda: networks.train_mse(net, x, np.ones((3, 1)), x, lr=float("inf"),
                                          steps=5)),
        ("P", lambda: learning.phase_diagram([0.5], [10], P=2.5)),
        ("n_replicas", lambda: montecarlo.run(_hopfield(), 0.5, 3, n_replicas=10 ** 12)),
        ("filter_shape", lambda: nw.Conv(2, (1e300,))),
        ("steps", lambda: networks.train_mse(net, x, np.ones((3, 1)), x, lr=0.1,
                                             steps=10 ** 12)),
        ("seed", lambda: montecarlo.run(_hopfield(), 0.5, 3, seed=2.5)),
        ("readout", lambda: __import__("nnphys.sim.shallow", fromlist=["x"]).sample_outputs(
            nw.Erf(), 4, 8, readout="nonsense")),
    ]


def _hopfield():
    return fuzz.cases()["sim.montecarlo.run"][1][0]


@pytest.mark.parametrize("index", range(len(_issue_reproducers())))
def test_issue_reproducers_are_refused_by_name(index):
    from nnphys.errors import ArgumentTypeError, ParameterError
    name, call = _issue_reproducers()[index]
    with pytest.raises((ParameterError, ArgumentTypeError)) as info:
        call()
    assert fuzz.names(str(info.value), name), str(info.value)


def test_work_guard_states_the_amount_and_the_limit():
    from nnphys import checks
    from nnphys.errors import ParameterError
    assert checks.work("steps", 10) == 10
    with pytest.raises(ParameterError, match=r"steps: asks for 1e\+13 .* limit of 1e\+12"):
        checks.work("steps", 1e13)
    with pytest.raises(ParameterError, match="steps"):
        checks.work("steps", float("nan"))


def test_hierarchy_threshold_at_any_K():
    """d_K solves sum_{j<K} d^j = 1: (sqrt 5 - 1)/2 at K = 3 and 1/2 as K -> infinity
    (d_K - 1/2 ~ 2^-K: below the float64 resolution at K = 10^12); the root finder's
    xtol is 1e-15."""
    from nnphys.theory.hebbian import multitask
    assert multitask.hierarchy_threshold(3).d_K == pytest.approx((5 ** 0.5 - 1) / 2,
                                                                 abs=1e-14)
    assert multitask.hierarchy_threshold(10 ** 12).d_K == pytest.approx(0.5, abs=1e-14)


def test_mrs_loss_at_a_huge_ridge_is_the_target_power():
    """At ridge -> infinity the predictor is 0 and the test loss is E[y^2] = sum_I lambda_I
    w_I^2 = sum_{I <= M} I^-(1 + alpha) (w_I^2 = 1, no noise); the weights are O(1/ridge),
    so at ridge = 1e300 the loss equals that sum to rounding (1e-12 relative)."""
    import numpy as np
    from nnphys.theory.scaling import mrs
    power = float(np.sum(np.arange(1, 401, dtype=float) ** -2.0))
    loss = float(mrs.test_loss(50, 100, 1.0, M=400, ridge=1e300).loss)
    assert loss == pytest.approx(power, rel=1e-12)
