"""Result records: save/load round trips (PhaseDiagram, SweepResult, Comparison, Kernel), shape
checks, atomic writes."""

import dataclasses
import os

import numpy as np
import pytest

from nnphys import PhaseDiagram, Result, load
from nnphys.errors import ConvergenceWarning


@dataclasses.dataclass(frozen=True)
class _Solution(Result):
    m: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    energy: float = 0.0


def test_result_round_trip(tmp_path):
    r = _Solution(converged=False, iterations=17, residual=3e-9,
                  parameters={"alpha": 0.1, "T": 0.0, "branch": "retrieval"},
                  m=np.linspace(0, 1, 5), energy=-0.5)
    r.save(tmp_path / "sol.npz")
    back = load(tmp_path / "sol.npz")
    assert type(back) is _Solution
    assert back.converged is False and back.iterations == 17 and back.residual == 3e-9
    assert back.parameters == r.parameters
    np.testing.assert_array_equal(back.m, r.m)
    assert back.energy == -0.5


def test_phase_diagram_round_trip(tmp_path):
    alpha = np.linspace(0, 0.2, 4)
    temp = np.linspace(0, 1, 3)
    phase = np.array([[0, 0, 1], [0, 1, 1], [2, 1, 1], [2, 2, 1]])
    pd = PhaseDiagram(axes={"alpha": alpha, "T": temp},
                      fields={"m": np.random.default_rng(0).random((4, 3))},
                      phase=phase, labels={0: "retrieval", 1: "paramagnet", 2: "spin glass"},
                      boundaries={"T_g": np.column_stack([alpha, 1 + np.sqrt(alpha)])})
    path = tmp_path / "pd.npz"
    pd.save(path)
    back = load(path)
    assert isinstance(back, PhaseDiagram)
    assert back.labels == pd.labels
    assert back.phase_name(2, 0) == "spin glass"
    np.testing.assert_array_equal(back.phase, phase)
    np.testing.assert_array_equal(back.boundaries["T_g"], pd.boundaries["T_g"])
    assert list(back.axes) == ["alpha", "T"]
    assert not [p for p in os.listdir(tmp_path) if p != "pd.npz"]   # no temp files left


def test_phase_diagram_shape_mismatch():
    with pytest.raises(ValueError, match="phase"):
        PhaseDiagram(axes={"a": np.arange(3)}, phase=np.zeros(4, dtype=int))
    with pytest.raises(ValueError, match="fields"):
        PhaseDiagram(axes={"a": np.arange(3)}, fields={"m": np.zeros(2)})


def test_sweep_result_round_trip(tmp_path):
    from nnphys import sweep
    from nnphys.tests.sweep_points import fails_at_half
    res = sweep.run(fails_at_half, {"alpha": [0.1, 0.5], "T": [0.0, 1.0]}, seed=5,
                    progress=False)
    res.save(tmp_path / "sweep.npz")
    back = load(tmp_path / "sweep.npz")
    assert isinstance(back, sweep.SweepResult)
    assert back.complete and back.n_failed == 2 and back.parameters == {"seed": 5}
    assert back.converged is None and back.iterations is None and back.residual is None
    assert list(back.axes) == ["alpha", "T"]
    np.testing.assert_array_equal(back.seeds, res.seeds)
    np.testing.assert_array_equal(back.fields["value"], res.fields["value"])   # NaN too
    assert back.errors == res.errors and all(isinstance(k, int) for k in back.errors)


def test_comparison_round_trip(tmp_path):
    from nnphys.stats import Estimate
    from nnphys.validation import Comparison, compare
    c = compare("family.check", "m at alpha = 0.1", 0.5, Estimate(0.51, 0.01, 100, 1.0),
                sigmas=4.0, bias=0.002)
    c.save(tmp_path / "c.npz")
    back = load(tmp_path / "c.npz")
    assert isinstance(back, Comparison) and back == c


@pytest.mark.parametrize("spec, x2", [
    ("Dense(8, W_std=1.5, b_std=0.1), Relu(), Dense(1)", False),
    ("Dense(8), Erf(), Dense(1)", True),
    ("Conv(4, (2,), padding='SAME'), Relu()", False)])   # spatial_shape = (5,)
def test_kernel_round_trip(tmp_path, spec, x2):
    from nnphys.theory import kernels as nk
    rng = np.random.default_rng(0)
    shape = (3, 5, 2) if "Conv" in spec else (3, 4)
    x1 = rng.standard_normal(shape)
    k = nk.from_spec(spec).kernel(x1, rng.standard_normal(shape) if x2 else None,
                                  get=("nngp",) if x2 else ("nngp", "ntk"))
    k.save(tmp_path / "k.npz")
    back = load(tmp_path / "k.npz")
    assert type(back) is type(k)
    for f in dataclasses.fields(k):
        a, b = getattr(k, f.name), getattr(back, f.name)
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b and type(a) is type(b), f.name
    assert back.spatial_shape == k.spatial_shape == (() if "Conv" not in spec else (5,))


def test_phase_diagram_registry_checks_its_entries():
    from nnphys.errors import ParameterError
    from nnphys.results import register_phase_diagram, phase_diagrams

    def model(x, y, scale=1.0):
        """A toy diagram. More text."""
        return PhaseDiagram(axes={"x": np.asarray(x), "y": np.asarray(y)},
                            phase=np.zeros((len(x), len(y)), dtype=int), labels={0: "one"})

    with pytest.raises(ParameterError, match="axes"):
        register_phase_diagram("toy", axes=("x", "z"))(model)
    with pytest.raises(ParameterError, match="axes"):
        register_phase_diagram("toy", axes=("x",))
    phase_diagrams()                          # imports the theory modules: hopfield registered
    with pytest.raises(ParameterError, match="already registered"):
        register_phase_diagram("hopfield", axes=("x", "y"))(model)
    assert "toy" not in phase_diagrams()
    entry = phase_diagrams()["hopfield"]
    assert entry.axes == ("alpha", "T") and entry.description.startswith("AGS")


def _diagram_with_a_failed_point():
    status = np.zeros((3, 2), dtype=np.int8)
    status[1, 0] = 1
    return PhaseDiagram(converged=False, axes={"a": np.arange(3.0), "b": np.array([0.5, 1.5])},
                        fields={"m": np.ones((3, 2, 2)), "n": np.arange(6).reshape(3, 2)},
                        phase=np.ones((3, 2), dtype=int), labels={0: "x", 1: "y"},
                        status=status)


def test_phase_diagram_failed_points_are_nan_with_their_own_phase(tmp_path):
    pd = _diagram_with_a_failed_point()
    assert pd.n_failed == 1
    assert np.all(np.isnan(pd.fields["m"][1, 0])) and np.isnan(pd.fields["n"][1, 0])
    assert np.count_nonzero(np.isnan(pd.fields["m"])) == 2       # only that point
    assert pd.phase[1, 0] == -1 and pd.phase_name(1, 0) == "not converged"
    assert np.all(np.delete(pd.phase.ravel(), 2) == 1)
    with pytest.warns(ConvergenceWarning, match=r"1 of 6 grid points .* a=1, b=0\.5"):
        assert pd.warn_failures() is pd
    pd.save(tmp_path / "pd.npz")
    back = load(tmp_path / "pd.npz")
    np.testing.assert_array_equal(back.status, pd.status)
    np.testing.assert_array_equal(back.phase, pd.phase)
    np.testing.assert_array_equal(back.fields["m"], pd.fields["m"])
    assert back.n_failed == 1 and back.labels == pd.labels and back.converged is False


def test_phase_diagram_without_status_is_all_ok(tmp_path, recwarn):
    """A record built (or a file written) before the status field: every point ok."""
    pd = PhaseDiagram(axes={"a": np.arange(3.0)}, fields={"m": np.ones(3)},
                      phase=np.zeros(3, dtype=int), labels={0: "x"})
    assert pd.n_failed == 0 and pd.status.shape == (3,) and pd.warn_failures() is pd
    assert not recwarn.list
    pd.save(tmp_path / "new.npz")
    import json
    with np.load(tmp_path / "new.npz") as data:
        old = {k: data[k] for k in data.files if k != "status"}
    meta = json.loads(str(old["__meta__"][()]))
    meta["arrays"].remove("status")                  # as written before the status field
    old["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "old.npz", **old)
    back = load(tmp_path / "old.npz")
    assert back.n_failed == 0 and back.status.shape == (3,)


def test_phase_diagram_status_is_checked():
    with pytest.raises(ValueError, match="status: codes"):
        PhaseDiagram(axes={"a": np.arange(2.0)}, status=np.array([0, 7]))
    with pytest.raises(ValueError, match="status: shape"):
        PhaseDiagram(axes={"a": np.arange(2.0)}, status=np.zeros(3))
# --- every record saves and loads back, in a fresh interpreter (issue 12, section 3) ---

def test_every_record_class_round_trips_in_a_fresh_interpreter(tmp_path):
    """Each Result subclass of the package (from a real call where one is cheap, else from
    its defaults) is saved here, loaded in a new interpreter that imports nothing but
    ``nnphys`` (so ``load`` must import the record's module itself, at least for the
    records whose module no earlier load brought in) and saved again there;
    the copy equals the original field by field."""
    import json
    import subprocess
    import sys

    from nnphys.tests._record_factories import all_record_classes, factories, same
    classes = all_record_classes()
    FACTORIES = factories()
    assert set(FACTORIES) <= set(classes)
    originals = {}
    for i, (name, cls) in enumerate(sorted(classes.items())):
        record = FACTORIES[name]() if name in FACTORIES else cls()
        assert type(record) is cls
        record.save(tmp_path / f"{i}.npz")
        originals[name] = (record, str(tmp_path / f"{i}.npz"))
    script = (
        "import json, sys\n"
        "import nnphys\n"
        "records = json.loads(sys.argv[1])\n"
        "early = [n for n in records if n.rsplit('.', 1)[0] in sys.modules]\n"
        "assert early == ['nnphys.results.PhaseDiagram'], early\n"
        "for name, path in records.items():\n"
        "    record = nnphys.load(path)\n"
        "    assert type(record)._registry_name == name, (name, type(record))\n"
        "    record.save(path[:-4] + '.again.npz')\n")
    run = subprocess.run([sys.executable, "-c", script,
                          json.dumps({n: p for n, (_, p) in originals.items()})],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    for name, (record, path) in originals.items():
        same(record, load(path[:-4] + ".again.npz"), name)


def test_layers_and_nested_records_keep_their_types(tmp_path):
    from nnphys.stats import Estimate
    from nnphys.theory import kernels as nk
    from nnphys.tests._record_factories import same
    r = _Solution(parameters={"activation": nk.Erf(a=2.0), "net": nk.from_spec(
        "(Dense(4, b_std=0.1), Tanh()) * 2, Dense(1)").spec,
        "fits": [Estimate(mean=np.ones(2), stderr=np.full(2, 0.1), n_eff=10.0, tau=1.0), None]})
    r.save(tmp_path / "r.npz")
    back = load(tmp_path / "r.npz")
    same(r, back)
    assert type(back.parameters["fits"][0].mean) is np.ndarray


def test_an_unsaveable_field_is_named(tmp_path):
    from nnphys.errors import ArgumentTypeError
    from nnphys.theory import kernels as nk
    with pytest.raises(ArgumentTypeError, match=r"parameters\['phi'\]"):
        _Solution(parameters={"phi": nk.Elementwise(np.sin)}).save(tmp_path / "r.npz")
    with pytest.raises(ArgumentTypeError, match=r"parameters\['f'\]"):
        _Solution(parameters={"f": print}).save(tmp_path / "r.npz")
    assert not os.listdir(tmp_path)                   # nothing left behind


def test_sympy_is_read_without_evaluating_code(tmp_path):
    """A file whose srepr names a non-sympy callable is refused, not evaluated."""
    import json

    from nnphys.errors import RecordFileError
    meta = {"class": _Solution._registry_name, "nnphys_version": "0", "arrays": [],
            "array_dicts": {},
            "scalars": {"parameters": {"x": {"__sympy__": "print('pwned')"}}}}
    np.savez(tmp_path / "evil.npz", __meta__=np.array(json.dumps(meta)))
    with pytest.raises(RecordFileError, match="not a sympy class"):
        load(tmp_path / "evil.npz")


# --- bad files get the package's error, naming the file ---

def _bad_files(tmp_path):
    good = tmp_path / "good.npz"
    _Solution(m=np.arange(10000.0)).save(good)
    data = good.read_bytes()
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "truncated.npz").write_bytes(data[:len(data) // 2])
    (tmp_path / "cut_tail.npz").write_bytes(data[:-30])
    np.savez(tmp_path / "foreign.npz", x=np.ones(3))
    np.save(tmp_path / "array.npy", np.ones(3))
    (tmp_path / "text.npz").write_text("hello, not a zip file\n")
    import pickle
    (tmp_path / "pickle.npz").write_bytes(pickle.dumps({"a": 1}))
    np.savez(tmp_path / "badjson.npz", __meta__=np.array("{not json"))
    np.savez(tmp_path / "badclass.npz", __meta__=np.array('{"class": "nowhere.X"}'))
    np.savez(tmp_path / "nometa_keys.npz", __meta__=np.array('{"class": "%s"}'
                                                             % _Solution._registry_name))
    import json
    meta = {"class": _Solution._registry_name, "nnphys_version": "0", "arrays": ["m"],
            "array_dicts": {}, "scalars": {}}
    np.savez(tmp_path / "object_entry.npz", __meta__=np.array(json.dumps(meta)),
             m=np.array([{"a": 1}], dtype=object))          # would need unpickling
    return ["empty", "truncated", "cut_tail", "foreign", "array", "text", "pickle", "badjson",
            "badclass", "nometa_keys", "object_entry"]


def test_bad_files_raise_record_file_error_naming_the_file(tmp_path):
    from nnphys.errors import RecordFileError
    for name in _bad_files(tmp_path):
        path = tmp_path / (name + (".npy" if name == "array" else ".npz"))
        with pytest.raises(RecordFileError) as info:
            load(path)
        assert str(path) in str(info.value), name
        assert isinstance(info.value, ValueError)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


# --- atomic saves: a kill leaves a temporary that the next save removes; umask ---

def test_save_killed_midway_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    """The child process blocks inside its fsync (after the bytes are written, before the
    rename) and is killed there with SIGKILL: deterministic, whatever the machine speed."""
    import signal
    import subprocess
    import sys
    import textwrap
    import time
    target, flag = tmp_path / "big.npz", tmp_path / "in-fsync"
    script = textwrap.dedent(f"""
        import os, time
        import numpy as np
        from nnphys.tests.test_results import _Solution
        def stuck(fd):
            open({str(flag)!r}, "w").close()
            time.sleep(120)
        os.fsync = stuck
        _Solution(m=np.zeros(10 ** 6)).save({str(target)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 120
        while not flag.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert flag.exists(), "the child never reached fsync"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = [p for p in os.listdir(tmp_path) if p not in ("in-fsync",)]
    assert len(left) == 1 and left[0].startswith(".big.npz.nnphys-tmp-"), left
    assert (tmp_path / left[0]).stat().st_size > 8 * 10 ** 6         # the 8 MB were written
    _Solution(m=np.ones(3)).save(target)
    assert sorted(os.listdir(tmp_path)) == ["big.npz", "in-fsync"]
    np.testing.assert_array_equal(load(target).m, np.ones(3))


def test_a_running_writers_temporary_is_not_removed(tmp_path):
    own = tmp_path / f".r.npz.nnphys-tmp-{os.getppid()}-0"    # the parent process: alive
    own.write_bytes(b"partial")
    _Solution().save(tmp_path / "r.npz")
    assert own.exists()


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_saved_files_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        _Solution().save(tmp_path / "r.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "r.npz").stat().st_mode & 0o777 == mode


def test_files_of_the_earlier_layout_still_load(tmp_path):
    """Before nested records, "__meta__" had no "arrays" list: the array entries were
    every entry outside the dict prefix (figure caches and saved results of 0.1.0)."""
    import json
    meta = {"class": _Solution._registry_name, "nnphys_version": "0.1.0",
            "scalars": {"energy": -0.5, "parameters": {"T": 0.1}}, "array_dicts": {}}
    np.savez(tmp_path / "old.npz", __meta__=np.array(json.dumps(meta)), m=np.arange(3.0))
    back = load(tmp_path / "old.npz")
    assert back.energy == -0.5 and back.parameters == {"T": 0.1}
    np.testing.assert_array_equal(back.m, np.arange(3.0))


def test_save_into_a_missing_directory_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory") as info:
        _Solution().save(tmp_path / "nope" / "r.npz")
    assert info.value.filename == str(tmp_path / "nope")


def _json_values():
    from hypothesis import strategies as st
    scalars = (st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70)
               | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
    keys = st.text(max_size=6).filter(lambda k: not k.startswith("__"))
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(keys, inner, max_size=3), max_leaves=12)


def test_random_records_round_trip(tmp_path):
    """Property: any record of JSON values, arrays of any real or complex dtype, layers and
    nested records saves and loads back equal (hypothesis, derandomized)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    from nnphys.stats import Estimate
    from nnphys.tests._record_factories import same
    from nnphys.theory import kernels as nk
    layers = st.sampled_from([nk.Relu(), nk.Erf(a=0.5), nk.Tanh(), nk.Dense(3, b_std=0.0),
                              nk.Monomial(2), nk.from_spec("(Dense(2), Gelu()) * 2").spec])
    dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.int8, np.bool_,
                              np.complex128])
    arrays = dtypes.flatmap(lambda d: hnp.arrays(d, hnp.array_shapes(min_dims=0, max_dims=3,
                                                                      min_side=0, max_side=3)))

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(params=st.dictionaries(st.text(max_size=6).filter(lambda k: not k.startswith("__")),
                                  _json_values() | layers, max_size=4),
           m=arrays, energy=st.floats(), nested=st.none() | hnp.arrays(
               np.float64, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3),
               elements=st.floats(-1e6, 1e6)).map(
               lambda a: Estimate(mean=a, stderr=np.abs(a), n_eff=3.0)))
    def check(params, m, energy, nested):
        if nested is not None:
            params = {**params, "estimate": nested}
        record = _Solution(parameters=params, m=m, energy=energy)
        record.save(tmp_path / "r.npz")
        same(record, load(tmp_path / "r.npz"))

    check()
