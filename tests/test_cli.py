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


# --- issue 12, section 4: no tracebacks, one line and exit 2, or works as documented ---

def _one_line_error(capsys, match):
    err = capsys.readouterr().err.strip()
    assert err.startswith("nnphys: error:") and match in err and "\n" not in err, err
    return err


def test_outputs_into_missing_directories_are_created(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.ones((2, 3)))
    out = tmp_path / "a" / "b" / "k"
    assert cli.main(["kernel", "Dense(1)", "--x1", str(tmp_path / "x.npy"),
                     "--out", str(out)]) == 0
    assert (tmp_path / "a" / "b" / "k.nngp.npy").exists()
    res = tmp_path / "s" / "t" / "res.npz"
    assert cli.main(["sweep", "nnphys.tests.sweep_points:noisy_energy", "--grid",
                     "alpha=0,1", "--grid", "T=0", "--out", str(res)]) == 0
    assert load(res).complete
    capsys.readouterr()                                   # the sweep's progress bar
    pd, png = tmp_path / "p" / "pd.npz", tmp_path / "q" / "pd.png"
    assert cli.main(["phase-diagram", "hopfield", "--alpha", "0:0.1:2", "--T", "0:1:2",
                     "--out", str(pd), "--plot", str(png)]) == 0
    assert load(pd).phase.shape == (2, 2) and png.stat().st_size > 0
    (tmp_path / "file").write_text("")
    assert cli.main(["phase-diagram", "hopfield", "--alpha", "0:0.1:2", "--T", "0:1:2",
                     "--out", str(tmp_path / "file" / "pd.npz")]) == 2
    _one_line_error(capsys, "a file is in the way")
    assert cli.main(["phase-diagram", "hopfield", "--alpha", "0:0.1:2", "--T", "0:1:2",
                     "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "is a directory")


@pytest.mark.parametrize("make, match", [
    (lambda p: np.save(p, np.ones((2, 3)) * (1 + 2j)), "complex"),
    (lambda p: np.save(p, np.array([["a", "b"]])), "not real numbers"),
    (lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
     "not a readable .npy"),
    (lambda p: p.write_bytes(b""), "not a readable .npy"),
    (lambda p: np.savez(open(p, "wb"), x=np.ones(3)), ".npz archive"),
])
def test_inputs_that_are_not_real_arrays_are_refused(tmp_path, capsys, make, match):
    path = tmp_path / "x.npy"
    make(path)
    assert cli.main(["kernel", "Dense(1)", "--x1", str(path), "--out",
                     str(tmp_path / "k")]) == 2
    _one_line_error(capsys, "--x1: ")
    assert not list(tmp_path.glob("k*"))


@pytest.mark.parametrize("axes, match", [
    (["--alpha", "0:0.1:100000000000", "--T", "0:1:2"],
     "--alpha: 100000000000 values asked for, more than the limit of 1000000"),
    (["--alpha", "0:0.1:1001", "--T", "0:1:1000"],
     "1001 (alpha) x 1000 (T) = 1001000 points, more than the limit of 1000000"),
    (["--alpha", "-1.7e308:1.7e308:3", "--T", "0:1:2"], "--alpha: the grid"),
])
def test_grids_too_large_or_overflowing_are_refused(tmp_path, capsys, axes, match):
    assert cli.main(["phase-diagram", "hopfield", *axes, "--out", str(tmp_path / "x.npz")]) == 2
    _one_line_error(capsys, match)
    assert cli.main(["sweep", "nnphys.tests.sweep_points:noisy_energy", "--grid",
                     "alpha=" + axes[1], "--grid", "T=" + axes[3], "--out",
                     str(tmp_path / "x.npz")]) == 2
    _one_line_error(capsys, "limit" if "limit" in match else "the grid")
    assert not (tmp_path / "x.npz").exists()


# hopfield evaluates both branches of an np.where; the discarded one overflows at 1e300
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_grid_reaching_1e300_is_the_apis_diagram(tmp_path):
    """Far out on the alpha axis the AGS diagram is the spin glass, whose fields are finite
    there; the NaN of the other states' fields means "no such state", as in the API."""
    from nnphys.theory.hebbian import hopfield
    out = tmp_path / "pd.npz"
    assert cli.main(["phase-diagram", "hopfield", "--alpha", "0,0.05,1e300", "--T", "0,0.5",
                     "--out", str(out)]) == 0
    pd = load(out)
    ref = hopfield.phase_diagram(np.array([0, 0.05, 1e300]), np.array([0, 0.5]))
    np.testing.assert_array_equal(pd.phase, ref.phase)
    assert [pd.phase_name(2, j) for j in range(2)] == ["spin glass"] * 2
    assert np.all(np.isfinite(pd.fields["f_sg"][2])) and np.all(pd.fields["q_sg"][2] > 0.99)


@pytest.mark.parametrize("workers", ["0", "-2"])
def test_workers_below_one_is_an_error(tmp_path, capsys, workers):
    assert cli.main(["phase-diagram", "multitask", "--d", "0.1:0.9:2", "--T", "0:1:2",
                     "--out", str(tmp_path / "x.npz"), "--workers", workers]) == 2
    _one_line_error(capsys, f"--workers: must be >= 1, got {workers}")
    assert cli.main(["sweep", "nnphys.tests.sweep_points:noisy_energy", "--grid", "alpha=0",
                     "--grid", "T=0", "--out", str(tmp_path / "x.npz"),
                     "--workers", workers]) == 2
    _one_line_error(capsys, "--workers")


def test_package_errors_in_any_subcommand_are_one_line(tmp_path, capsys):
    assert cli.main(["validate", "no.such-check"]) == 2
    _one_line_error(capsys, "names: unknown check")
    assert cli.main(["figures", "no-such-figure", "--out", str(tmp_path)]) == 2
    _one_line_error(capsys, "unknown figure")
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "sweep.json").write_text("{")                     # a damaged checkpoint
    assert cli.main(["sweep", "nnphys.tests.sweep_points:noisy_energy", "--grid", "alpha=0",
                     "--grid", "T=0", "--out", str(tmp_path / "x.npz"), "--checkpoint",
                     str(ckpt)]) == 2
    _one_line_error(capsys, "sweep.json is unreadable")
    assert cli.main(["phase-diagram", "hopfield", "--alpha", "0:0.1:2", "--T", "0:1:2",
                     "--param", "foo=1", "--out", str(tmp_path / "x.npz")]) == 2
    _one_line_error(capsys, "--param: hopfield has no parameter 'foo'")
    assert cli.main(["sweep", "nnphys.tests.no_such_module:f", "--grid", "a=0",
                     "--out", str(tmp_path / "x.npz")]) == 2
    _one_line_error(capsys, "function: cannot import")


def test_bugs_are_reported_as_internal_errors(monkeypatch, capsys):
    """An exception that is not the package's (a bug) is one line with exit status 3 and a
    hint; NNPHYS_DEBUG=1 lets its traceback through; Ctrl-C is status 130."""
    from nnphys import validation

    def bug(*args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(validation, "run", bug)
    assert cli.main(["validate"]) == 3
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("nnphys: internal error: TypeError: unsupported operand")
    assert "NNPHYS_DEBUG=1" in err
    monkeypatch.setenv("NNPHYS_DEBUG", "1")
    with pytest.raises(TypeError):
        cli.main(["validate"])
    monkeypatch.delenv("NNPHYS_DEBUG")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(validation, "run", interrupted)
    assert cli.main(["validate"]) == 130
    assert capsys.readouterr().err.strip().endswith("nnphys: interrupted")


def test_no_traceback_from_the_installed_command(tmp_path):
    """End to end (a fresh `python -m nnphys`): a complex input is one line on stderr."""
    np.save(tmp_path / "c.npy", np.ones((2, 2), dtype=complex))
    run = subprocess.run([sys.executable, "-m", "nnphys", "kernel", "Dense(1)", "--x1",
                          str(tmp_path / "c.npy"), "--out", str(tmp_path / "k")],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
