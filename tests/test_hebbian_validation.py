"""Quick Hebbian validation checks (theory vs Monte Carlo) pass, and the figures build."""

import pytest

from nnphys import figures, validation


@pytest.mark.parametrize("name", ["hebbian.hopfield_overlap", "hebbian.learning_overlap",
                                  "hebbian.multitask_amplitudes"])
def test_quick_checks_pass(name):
    results = validation.run([name], quick=True)
    assert results and all(c.passed for c in results), [c for c in results if not c.passed]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["hebbian.capacity_finite_size", "hebbian.dense_equilibrium"])
def test_slow_quick_checks_pass(name):
    assert all(c.passed for c in validation.run([name], quick=True))


def test_hebbian_figures_registered():
    names = figures.figures()
    for name in ("hopfield-phase-diagram", "hopfield-m-zero-temperature",
                 "dense-learning-phase-diagram", "multitask-amplitudes"):
        assert name in names


@pytest.mark.slow
def test_phase_diagram_figure_builds(tmp_path):
    paths = figures.make("hopfield-phase-diagram", str(tmp_path), quick=True)
    assert len(paths) == 3
