"""The validation registry and `nnphys validate` / `nnphys figures` plumbing."""

import numpy as np
import pytest

from nnphys import cli, figures, load, validation
from nnphys.stats import Estimate
from nnphys.validation import registry


def test_compare_derives_the_tolerance_from_the_estimate():
    est = Estimate(mean=1.05, stderr=0.01, n_eff=100)
    c = validation.compare("a.b", "q", 1.0, est, sigmas=4, bias=0.005)
    assert c.tolerance == pytest.approx(4 * 0.01 + 0.005) and not c.passed   # 0.05 > 0.045
    assert validation.compare("a.b", "q", 1.0, est, sigmas=4, bias=0.011).passed
    assert c.pull == pytest.approx(5.0)
    assert not validation.compare("a.b", "q", 1.0, 1.2, bias=0.1).passed
    assert not validation.compare("a.b", "q", 1.0, float("nan"), bias=10.0).passed
    with pytest.raises(ValueError, match="bias"):
        validation.compare("a.b", "q", 1.0, 1.0, bias=-1.0)


def test_comparison_saves_and_loads(tmp_path):
    c = validation.compare("a.b", "q", 1.0, Estimate(mean=1.01, stderr=0.01, n_eff=10))
    c.save(tmp_path / "c.npz")
    assert load(tmp_path / "c.npz") == c


def test_quick_kernel_checks_pass():
    results = validation.run(["kernels.ntk_vs_ensemble", "kernels.trained_vs_ntk"], quick=True)
    assert results and all(c.passed for c in results)


def test_quick_finite_width_and_criticality_checks_pass():
    results = validation.run(["finite_width.relu_kurtosis_all_orders",
                              "criticality.correlation_map"], quick=True)
    assert len(results) == 12 and all(c.passed for c in results)


def test_cli_lists_and_fails_on_a_failing_check(monkeypatch, capsys):
    assert cli.main(["validate", "--list"]) == 0
    assert "kernels.ntk_vs_ensemble" in capsys.readouterr().out
    checks = dict(registry.checks())
    checks["fake.fails"] = lambda quick, seed: validation.compare("fake.fails", "x", 0, 1, bias=0.5)
    monkeypatch.setattr(registry, "checks", lambda: checks)
    assert cli.main(["validate", "fake"]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert cli.main(["validate", "nothing.here"]) == 2


def test_registry_rejects_bad_names():
    with pytest.raises(ValueError, match="name"):
        registry.register("nodot")


def test_figures_cache_and_plot(tmp_path):
    paths = figures.make("ntk-error-vs-width", str(tmp_path), quick=True)
    assert {p.rsplit(".", 1)[1] for p in paths} == {"npz", "png", "pdf"}
    with np.load(paths[0]) as data:
        # error falls ~sqrt(8) from width 32 to 256; 6 networks per width: ~30% noise
        assert data["rms"][0] > 1.5 * data["rms"][-1]
    mtime = (tmp_path / "ntk-error-vs-width-quick.npz").stat().st_mtime_ns
    figures.make("ntk-error-vs-width", str(tmp_path), quick=True)       # cached: not rewritten
    assert (tmp_path / "ntk-error-vs-width-quick.npz").stat().st_mtime_ns == mtime
