"""`nnphys phase-diagram`: grid axes, saved PhaseDiagram equal to the API's, parallel
columns equal to the serial run, plots, one-line errors with exit status 2."""

import numpy as np
import pytest

from nnphys import cli
from nnphys.results import load
from nnphys.theory.hebbian import hopfield, multitask


def test_hopfield_phase_diagram_matches_api(tmp_path, capsys):
    out = tmp_path / "hd.npz"
    assert cli.main(["phase-diagram", "hopfield", "--alpha", "0:0.16:9", "--T", "0:1.1:7",
                     "--out", str(out), "--plot", str(tmp_path / "hd.png")]) == 0
    pd = load(out)
    ref = hopfield.phase_diagram(np.linspace(0, 0.16, 9), np.linspace(0, 1.1, 7))
    np.testing.assert_array_equal(pd.phase, ref.phase)
    np.testing.assert_array_equal(pd.fields["m"], ref.fields["m"])
    assert (tmp_path / "hd.png").stat().st_size > 0
    assert str(out) in capsys.readouterr().out


def test_parallel_columns_equal_serial(tmp_path):
    serial, parallel = tmp_path / "s.npz", tmp_path / "p.npz"
    argv = ["phase-diagram", "multitask", "--d", "0.1:0.9:4", "--T=0:1:3", "--param", "K=2"]
    assert cli.main(argv + ["--out", str(serial)]) == 0
    assert cli.main(argv + ["--out", str(parallel), "--workers", "2"]) == 0
    a, b = load(serial), load(parallel)
    np.testing.assert_array_equal(a.phase, b.phase)
    np.testing.assert_allclose(a.fields["m"], b.fields["m"], atol=0)
    np.testing.assert_allclose(np.unique(a.boundaries["T_c"], axis=0), b.boundaries["T_c"])
    ref = multitask.phase_diagram(np.linspace(0.1, 0.9, 4), np.linspace(0, 1, 3), K=2)
    np.testing.assert_array_equal(a.phase, ref.phase)


def test_model_parameters_are_passed(tmp_path):
    out = tmp_path / "d.npz"
    assert cli.main(["phase-diagram", "dense", "--alpha", "0.02:0.2:4", "--T", "0:0.3:3",
                     "--param", "P=4", "--param", "convention=all-index",
                     "--out", str(out)]) == 0
    pd = load(out)
    assert pd.parameters["P"] == 4 and pd.parameters["convention"] == "all-index"


@pytest.mark.parametrize("argv,match", [
    (["nope", "--alpha", "0:1:2", "--T", "0:1:2"], "model"),
    (["hopfield", "--alpha", "0:1", "--T", "0:1:2"], "START:STOP:NUM"),
    (["hopfield", "--alpha", "0:0.1:3"], "missing axis --T"),
    (["hopfield", "--alpha", "0:0.1:3", "--T", "0:1:2", "--d", "0:1:2"], "axes"),
    (["hopfield", "--alpha", "-1:0.1:3", "--T", "0:1:2"], "alpha"),
    (["dense", "--alpha", "0:0.1:3", "--T", "0:1:2", "--param", "P=1"], "P"),
    (["dense", "--alpha", "0:0.1:3", "--T", "0:1:2", "--param", "P"], "KEY=VALUE"),
])
def test_errors_one_line_exit_2(tmp_path, capsys, argv, match):
    assert cli.main(["phase-diagram", *argv, "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnphys: error:") and match in err and "\n" not in err
    assert not (tmp_path / "x.npz").exists()


def test_unknown_options_still_rejected_elsewhere():
    with pytest.raises(SystemExit):
        cli.main(["validate", "--bogus"])


def test_dask_scheduler_equals_serial(tmp_path):
    """--scheduler tcp://... on a LocalCluster started here gives the serial diagram."""
    distributed = pytest.importorskip("distributed")
    argv = ["phase-diagram", "edge-of-chaos", "--W_std", "0.7:1.7:6", "--b_std", "0:0.5:3",
            "--param", "activation=Erf()"]
    assert cli.main(argv + ["--out", str(tmp_path / "s.npz")]) == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        assert cli.main(argv + ["--out", str(tmp_path / "d.npz"),
                                "--scheduler", cluster.scheduler_address]) == 0
    a, b = load(tmp_path / "s.npz"), load(tmp_path / "d.npz")
    np.testing.assert_array_equal(a.phase, b.phase)
    np.testing.assert_allclose(a.fields["xi_c"], b.fields["xi_c"], rtol=1e-13)
