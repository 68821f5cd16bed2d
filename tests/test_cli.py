"""The command line: kernel output files, one-line errors with exit status 2, help."""

import subprocess
import sys

import numpy as np
import pytest

from nnphys import cli, load, sweep
from nnphys.theory import kernels as nk


def test_kernel_command_writes_npy(tmp_path):
    x = np.random.default_rng(0).standard_normal((6, 4))
    np.save(tmp_path / "x.npy", x)
    spec = "(Dense(16, W_std=1.5, b_std=0.05), Relu()) * 2, Dense(1, W_std=1.5)"
    assert cli.main(["kernel", spec, "--x1", str(tmp_path / "x.npy"),
                     "--out", str(tmp_path / "k")]) == 0
    expected = nk.from_spec(spec).kernel(x)
    np.testing.assert_array_equal(np.load(tmp_path / "k.nngp.npy"), expected.nngp)
    np.testing.assert_array_equal(np.load(tmp_path / "k.ntk.npy"), expected.ntk)
    assert cli.main(["kernel", spec, "--x1", str(tmp_path / "x.npy"), "--get", "ntk",
                     "--out", str(tmp_path / "only.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "only.npy"), expected.ntk)


@pytest.mark.parametrize("argv,match", [
    (["kernel", "Dense(3), Bogus()", "--x1", "{x}", "--out", "{o}"], "Bogus"),
    (["kernel", "Dense(3, W_std=-2)", "--x1", "{x}", "--out", "{o}"], "W_std"),
    (["kernel", "Dense(3)", "--x1", "{missing}", "--out", "{o}"], "cannot read"),
])
def test_errors_are_one_line_exit_2(tmp_path, capsys, argv, match):
    np.save(tmp_path / "x.npy", np.ones((2, 3)))
    paths = dict(x=tmp_path / "x.npy", o=tmp_path / "o", missing=tmp_path / "nope.npy")
    argv = [a.format(**paths) for a in argv]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnphys: error:") and match in err and "\n" not in err


def test_module_entry_point_help():
    out = subprocess.run([sys.executable, "-m", "nnphys", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for command in ("kernel", "validate", "figures", "sweep", "phase-diagram"):
        assert command in out
    for command in ("kernel", "validate", "figures", "sweep", "phase-diagram"):
        sub = subprocess.run([sys.executable, "-m", "nnphys", command, "--help"],
                             capture_output=True, text=True)
        assert sub.returncode == 0 and "usage" in sub.stdout


def test_sweep_command(tmp_path, capsys):
    out = tmp_path / "res.npz"
    code = cli.main(["sweep", "nnphys.tests.sweep_points:noisy_energy", "--grid", "alpha=0:1:3",
                     "--grid", "T=0.5,1.5", "--out", str(out), "--seed", "4"])
    assert code == 0
    res = load(out)                       # a SweepResult, saved like every other record
    assert isinstance(res, sweep.SweepResult) and res.complete
    assert res.fields["energy"].shape == (3, 2)
    np.testing.assert_allclose(res.axes["alpha"], [0, 0.5, 1])
    code = cli.main(["sweep", "nnphys.tests.sweep_points:fails_at_half", "--grid",
                     "alpha=0.1,0.5", "--grid", "T=0,1", "--out", str(out)])
    assert code == 1 and "2 failed" in capsys.readouterr().out
