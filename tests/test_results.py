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
    with np.load(tmp_path / "new.npz") as data:
        old = {k: data[k] for k in data.files if k != "status"}
    np.savez(tmp_path / "old.npz", **old)
    back = load(tmp_path / "old.npz")
    assert back.n_failed == 0 and back.status.shape == (3,)


def test_phase_diagram_status_is_checked():
    with pytest.raises(ValueError, match="status: codes"):
        PhaseDiagram(axes={"a": np.arange(2.0)}, status=np.array([0, 7]))
    with pytest.raises(ValueError, match="status: shape"):
        PhaseDiagram(axes={"a": np.arange(2.0)}, status=np.zeros(3))
