"""The registered exponential-memory checks (the fast ones in the default run) and figures."""

import pytest

from nnphys import figures, validation


@pytest.mark.parametrize("name", ["exponential.metastable_onset",
                                  "exponential.polynomial_capacity",
                                  "exponential.demircigil_bound",
                                  "exponential.finite_temperature_overlap"])
def test_fast_quick_checks_pass(name):
    results = validation.run([name], quick=True)
    assert results and all(c.passed for c in results)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["exponential.binary_threshold",
                                  "exponential.softmax_threshold"])
def test_slow_quick_checks_pass(name):
    assert all(c.passed for c in validation.run([name], quick=True))


def test_exponential_figures_registered():
    names = figures.figures()
    for name in ("exponential-phase-diagram", "exponential-fss", "exponential-capacity"):
        assert name in names


@pytest.mark.slow
def test_capacity_figure_builds(tmp_path):
    assert len(figures.make("exponential-capacity", str(tmp_path), quick=True)) == 3
