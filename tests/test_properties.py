"""Input validation at the API edge, by property testing (hypothesis).

For every public constructor and solver listed in :data:`CASES` (a valid call with small
sizes), hypothesis replaces one argument at a time (a given one, or a parameter left at its
default) by a random or extreme value of the same kind -- NaN, +-inf, negative, zero,
sub-normal, non-integer where an integer is expected, a stray string where a name is
expected -- and the call must end in one of two ways:

* an answer without a NaN anywhere in it (a NaN is never an answer; an infinite value
  can be, e.g. a divergent susceptibility at T = 0), or
* a :class:`~nnphys.errors.ParameterError` / :class:`~nnphys.errors.ArgumentTypeError`
  whose message names the argument that was changed, or
* for a finite number the solver cannot handle (an extreme but admissible value), a
  :class:`~nnphys.errors.ConvergenceError` / :class:`~nnphys.errors.NumericalError`: the
  honest failure of the method, never the answer to a NaN, an inf or a wrong type;

never another exception type, and never a hang (each call gets :data:`TIME_LIMIT` seconds).
The parameter changed is found from the signature, so the harness follows renames. The run
is kept short: :data:`EXAMPLES` examples per case, derandomised (the same examples on every
run), no shrinking, no example database.

A failure prints the reproducer: the function, the argument changed and its value.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import re
import signal

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import Phase, given, settings, strategies as st  # noqa: E402

from nnphys.errors import (ArgumentTypeError, ConvergenceError, NumericalError,  # noqa: E402
                           ParameterError)

EXAMPLES = 12
TIME_LIMIT = 15            # seconds per call: a call that takes longer counts as a hang


# (module, callable, positional args of a valid call, keyword args[, arguments not varied,
# with the reason in a comment]): small sizes only.
# Activations are given as layer objects; arguments not given keep their defaults and are
# perturbed like the given ones.
def _cases():
    from nnphys.models import network as nw
    return [
        # models: the specs
        ("nnphys.models.network", "Dense", (4,), {}),
        ("nnphys.models.network", "Conv", (2, (2,)), {}),
        ("nnphys.models.network", "Erf", (), {}),
        ("nnphys.models.network", "LeakyRelu", (0.1,), {}),
        ("nnphys.models.network", "Monomial", (2,), {}),
        ("nnphys.models.network", "RectifiedMonomial", (1,), {}),
        ("nnphys.models.network", "AvgPool", ((2,),), {}),
        ("nnphys.models.network", "LayerNorm", (), {}),
        # statistics
        ("nnphys.stats", "sample_mean", ([1.0, 2.0, 4.0],), {}),
        ("nnphys.stats", "batch_means", (np.sin(np.arange(256.0)),), {"n_batches": 8}),
        ("nnphys.stats", "extrapolate", ([8, 16, 32], [1.1, 1.05, 1.025]), {}),
        # theory: signal propagation, finite width
        ("nnphys.theory.criticality", "fixed_point_q", (nw.Tanh(), 1.5, 0.1), {}),
        ("nnphys.theory.criticality", "signal_propagation", (nw.Erf(), 1.5, 0.1), {}),
        ("nnphys.theory.criticality", "critical_line", (nw.Erf(), 0.1), {}),
        ("nnphys.theory.finite_width", "recursion", (nw.Relu(), 3, 2.0, 0.0), {}),
        ("nnphys.theory.edgeworth", "output_cumulants", (nw.Erf(), 8), {}),
        ("nnphys.theory.ntk_fluctuations", "normalized_variance", (16, 3), {}),
        # theory: Hebbian models
        ("nnphys.theory.hebbian.hopfield", "solve", (0.05, 0.2), {}),
        ("nnphys.theory.hebbian.hopfield", "critical_capacity", (0.1,), {}),
        ("nnphys.theory.hebbian.dense", "solve", (0.02, 0.1, 3), {}),
        ("nnphys.theory.hebbian.dense", "critical_capacity", (3,), {}),
        ("nnphys.theory.hebbian.learning", "solve", (0.0, 0.0, 3, 0.2), {}),
        ("nnphys.theory.hebbian.multitask", "solve", (0.3, 0.2, 2), {}),
        # theory: DMFT, scaling laws
        ("nnphys.theory.dmft.rnn", "stationary", (1.5,), {}),
        ("nnphys.models.regression", "BAPModel", (2.0, 1.5), {"M": 200}),
        ("nnphys.models.regression", "PLRFModel", (0.8, 0.6, 100), {}),
        ("nnphys.theory.scaling.plrf", "loss_curve", (0.8, 0.6, 50), {"steps": 100,
                                                                     "points": 16}),
        ("nnphys.theory.scaling.mrs", "test_loss", (50, 100, 1.0), {"M": 400}),
        # simulations
        ("nnphys.sim.shallow", "sample_outputs", (nw.Erf(), 4, 8), {}),
        ("nnphys.sim.networks", "empirical_kernels",
         (nw.Serial((nw.Dense(8), nw.Relu(), nw.Dense(1))), np.eye(3, 4)),
         {"n_replicas": 2, "width": 8}),
        ("nnphys.sim.montecarlo", "run", (_hopfield_network(), 0.5, 3), {}),
        ("nnphys.sim.rnn", "coupling", (8, 1.5), {}),
        ("nnphys.sim.rnn", "simulate", (1.5, 8.0, 0.5), {"N": 8, "transient": 1.0}),
        ("nnphys.sweep", "point_seed", (3, 2), {}),
        # a NaN simulation is recorded as a failed comparison (the table shows it): by design
        ("nnphys.validation", "compare", ("family.check", "m", 0.5, 0.5), {"bias": 0.01},
         ("theory", "simulation")),
    ]


def _hopfield_network():
    from nnphys.sim import montecarlo
    patterns = np.random.default_rng(0).choice([-1, 1], size=(2, 32)).astype(np.int8)
    return montecarlo.hopfield(patterns)


CASES = {f"{case[0].removeprefix('nnphys.')}.{case[1]}": (case + ((),))[:5] for case in _cases()}

_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, -0.0, 5e-324, -5e-324,
                           1e-12]) | st.floats(-1e3, 1e3, allow_nan=False)
_INTS = st.sampled_from([-1, 0, -(2 ** 40)]) | st.integers(-20, 20) | st.sampled_from(
    [0.5, 2.5, math.nan, math.inf])
_STRINGS = st.sampled_from(["", "nonsense", "GAUSSIAN ", "0"])


def _strategy(value):
    """Values of the same kind as ``value`` (the argument of the valid call)."""
    if isinstance(value, bool):
        return st.sampled_from([0.5, "yes", None])
    if isinstance(value, (int, np.integer)):
        return _INTS
    if isinstance(value, (float, np.floating)) or value is None:
        return _FLOATS
    if isinstance(value, str):
        return _STRINGS
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) and all(
            isinstance(v, (int, float, np.number)) for v in np.ravel(value)):
        arr = np.asarray(value)
        return _FLOATS.map(lambda v, arr=arr: _with_one(arr, v))
    return None


def _with_one(arr, v):
    """``arr`` with one entry (the middle one) replaced by ``v``, keeping a list a list."""
    out = np.array(arr, dtype=float if isinstance(v, float) else arr.dtype)
    out.flat[out.size // 2] = v
    return out


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def _call(fn, args, kwargs):
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIME_LIMIT)
    try:
        return fn(*args, **kwargs)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _non_finite(value, path="result"):
    """The first place holding a NaN in an answer, or None (an infinite value can be the
    right answer, e.g. a divergent susceptibility at T = 0)."""
    if isinstance(value, (bool, np.bool_, str, type(None))):
        return None
    if isinstance(value, (int, float, complex, np.number)):
        return f"{path} = {value!r}" if np.isnan(value) else None
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc" and np.any(np.isnan(value)):
            return f"{path} has {np.sum(np.isnan(value))} NaN entries"
        return None
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name != "parameters":        # the inputs, echoed
                found = _non_finite(getattr(value, f.name), f"{path}.{f.name}")
                if found:
                    return found
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _non_finite(v, f"{path}[{k!r}]")
            if found:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found = _non_finite(v, f"{path}[{i}]")
            if found:
                return found
    return None


def _perturbable(fn, args, kwargs, keep=()):
    """parameter name -> strategy, for every argument that can vary."""
    sig = inspect.signature(fn)
    bound = sig.bind_partial(*args, **kwargs)
    out = {}
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name in keep:
            continue
        given = name in bound.arguments
        value = bound.arguments[name] if given else p.default
        if not given and value is inspect.Parameter.empty:
            continue
        if value is None and not _numeric_annotation(p.annotation):
            continue                      # an optional array, spec or callable: not a number
        strategy = _strategy(value)
        if strategy is not None:
            out[name] = strategy
    return out


def _numeric_annotation(annotation) -> bool:
    """``float | None``, ``int | None`` (or no annotation, like ``seed=None``)."""
    if annotation is inspect.Parameter.empty:
        return True
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return bool(re.search(r"\b(float|int)\b", str(text))) and "ndarray" not in str(text)


def _place(fn, args, kwargs, name, value):
    bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    bound.arguments[name] = value
    return bound.args, bound.kwargs


def _names(message: str, name: str) -> bool:
    """The message names the argument (as a word, or its plural: ``widths`` for ``width``)."""
    return re.search(rf"(?<![\w.]){re.escape(name)}s?(?!\w)", message) is not None


def _target(case):
    module, name, args, kwargs, keep = CASES[case]
    return getattr(importlib.import_module(module), name), args, kwargs, keep


def _short(value) -> str:
    """A compact repr for the reproducer (arrays and objects by their kind)."""
    if isinstance(value, np.ndarray):
        return repr(value) if value.size <= 6 else f"<array {value.shape} {value.dtype}>"
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_short(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_short(v)}" for k, v in value.items()) + "}"
    text = repr(value)
    return text if len(text) <= 60 else f"<{type(value).__name__}>"


@pytest.mark.parametrize("case", sorted(CASES))
def test_valid_call_gives_an_answer(case):
    fn, args, kwargs, _ = _target(case)
    where = _non_finite(_call(fn, args, kwargs))
    assert where is None, f"{case}(*{_short(args)}, **{_short(kwargs)}): {where}"


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate))       # no shrinking: one call per example
@given(data=st.data())
def test_bad_arguments_are_refused_by_name(case, data):
    fn, args, kwargs, keep = _target(case)
    options = _perturbable(fn, args, kwargs, keep)
    assert options, f"{case}: nothing to vary"
    name = data.draw(st.sampled_from(sorted(options)), label="argument")
    value = data.draw(options[name], label="value")
    call_args, call_kwargs = _place(fn, args, kwargs, name, value)
    reproducer = f"{case}(*{_short(call_args)}, **{_short(call_kwargs)})  [{name} = {value!r}]"
    try:
        result = _call(fn, call_args, call_kwargs)
    except (ParameterError, ArgumentTypeError) as exc:
        assert _names(str(exc), name), f"{reproducer}: the error does not name {name!r}: {exc}"
        return
    except (ConvergenceError, NumericalError) as exc:
        finite = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) \
            and np.isfinite(value)
        assert finite, f"{reproducer}: {type(exc).__name__} for a non-finite or mistyped " \
                       f"argument (expected a ParameterError/ArgumentTypeError): {exc}"
        return
    except _Hang:
        pytest.fail(f"{reproducer}: no answer within {TIME_LIMIT} s")
    except Exception as exc:              # noqa: BLE001 -- the property under test
        pytest.fail(f"{reproducer}: {type(exc).__name__}: {exc}")
    where = _non_finite(result)
    assert where is None, f"{reproducer}: {where}"
