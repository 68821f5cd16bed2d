"""Result records: save/load round trip, PhaseDiagram shape checks, atomic writes."""

import dataclasses
import os

import numpy as np
import pytest

from nnphys import PhaseDiagram, Result, load


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
