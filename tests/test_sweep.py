"""Sweeps: identical numbers on every backend, errors recorded, kill -9 and resume."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from nnphys import sweep
from nnphys.errors import ArgumentTypeError, ParameterError

from nnphys.tests.sweep_points import fails_at_half, noisy_energy   # importable by workers

GRID = {"alpha": [0.1, 0.5, 0.9], "T": [0.0, 1.0]}


def _same(a, b):
    assert a.fields.keys() == b.fields.keys()
    for name in a.fields:
        np.testing.assert_array_equal(a.fields[name], b.fields[name])
    np.testing.assert_array_equal(a.seeds, b.seeds)


def test_serial_result_shapes_and_seeds():
    res = sweep.run(noisy_energy, GRID, seed=3, progress=False)
    assert res.fields["energy"].shape == (3, 2)
    assert res.fields["vector"].shape == (3, 2, 3)
    assert res.complete and res.n_failed == 0
    assert res.seeds[1, 0] == sweep.point_seed(3, 2)
    assert len(set(res.seeds.ravel())) == 6


def test_processes_and_dask_match_serial():
    distributed = pytest.importorskip("distributed")
    serial = sweep.run(noisy_energy, GRID, seed=1, progress=False)
    procs = sweep.run(noisy_energy, GRID, seed=1, backend="processes", n_workers=2,
                      progress=False)
    _same(serial, procs)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            _same(serial, sweep.run(noisy_energy, GRID, seed=1, backend="dask",
                                    scheduler=client, progress=False))
        _same(serial, sweep.run(noisy_energy, GRID, seed=1, backend="dask",
                                scheduler=cluster.scheduler_address, progress=False))


def test_failing_points_are_recorded():
    res = sweep.run(fails_at_half, GRID, progress=False)
    assert res.n_failed == 2 and res.complete
    assert np.all(np.isnan(res.fields["value"][1]))
    np.testing.assert_allclose(res.fields["value"][0], [0.1, 1.1])
    (err,) = [e for e in res.errors.values() if e["point"]["T"] == 1.0]
    assert err["type"] == "ValueError" and "alpha=0.5" in err["message"]
    assert "Traceback" in err["traceback"]


def test_kill_and_resume(tmp_path):
    """SIGKILL a checkpointed sweep mid-way; resuming recomputes nothing that had finished
    and ends equal to an uninterrupted run."""
    log = tmp_path / "calls.log"
    ckpt = tmp_path / "ckpt"
    grid = {"alpha": [0.0, 1.0, 2.0, 3.0], "T": [0.0, 0.5, 1.0]}
    script = textwrap.dedent(f"""
        from nnphys import sweep
        from nnphys.tests.sweep_points import slow_logged
        sweep.run(slow_logged, {grid!r}, seed=5, checkpoint={str(ckpt)!r}, progress=False)
    """)
    env = dict(os.environ, NNPHYS_SWEEP_LOG=str(log))
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        finished = [f for f in os.listdir(ckpt)] if ckpt.exists() else []
        if sum(f.startswith("point-") for f in finished) >= 4:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = {f for f in os.listdir(ckpt) if f.startswith("point-")}
    assert 4 <= len(before) < 12
    calls_before = log.read_text().splitlines()
    os.environ["NNPHYS_SWEEP_LOG"] = str(log)
    try:
        from nnphys.tests.sweep_points import slow_logged
        resumed = sweep.run(slow_logged, grid, seed=5, checkpoint=str(ckpt), progress=False)
    finally:
        del os.environ["NNPHYS_SWEEP_LOG"]
    calls_after = log.read_text().splitlines()[len(calls_before):]
    finished_points = set()
    for name in before:
        index = int(name[6:15])
        finished_points.add(f"{grid['alpha'][index // 3]},{grid['T'][index % 3]}")
    assert not finished_points & set(calls_after), "a finished point was recomputed"
    assert resumed.complete and resumed.n_failed == 0
    fresh_log = tmp_path / "fresh.log"
    os.environ["NNPHYS_SWEEP_LOG"] = str(fresh_log)
    try:
        reference = sweep.run(slow_logged, grid, seed=5, progress=False)
    finally:
        del os.environ["NNPHYS_SWEEP_LOG"]
    _same(resumed, reference)


def test_checkpoint_must_be_a_usable_path(tmp_path):
    with pytest.raises(ArgumentTypeError, match="checkpoint"):
        sweep.run(noisy_energy, GRID, checkpoint=1e300, progress=False)
    with pytest.raises(ParameterError, match="checkpoint"):
        sweep.run(noisy_energy, GRID, checkpoint="", progress=False)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ParameterError, match="checkpoint: cannot create"):
        sweep.run(noisy_energy, GRID, checkpoint=str(blocker / "sub"), progress=False)


def test_checkpoint_mismatch_is_refused(tmp_path):
    sweep.run(noisy_energy, GRID, seed=1, checkpoint=str(tmp_path / "c"), progress=False)
    with pytest.raises(ValueError, match="grid"):
        sweep.run(noisy_energy, {"alpha": [0.1], "T": [0.0]}, seed=1,
                  checkpoint=str(tmp_path / "c"), progress=False)
    with pytest.raises(ValueError, match="seed"):
        sweep.run(noisy_energy, GRID, seed=2, checkpoint=str(tmp_path / "c"), progress=False)


def test_retry_failed_on_resume(tmp_path):
    first = sweep.run(fails_at_half, GRID, checkpoint=str(tmp_path / "c"), progress=False)
    again = sweep.run(fails_at_half, GRID, checkpoint=str(tmp_path / "c"), progress=False)
    assert first.n_failed == again.n_failed == 2
    retried = sweep.run(fails_at_half, GRID, checkpoint=str(tmp_path / "c"), progress=False,
                        retry_failed=True)
    assert retried.n_failed == 2      # still failing, but recomputed


@pytest.mark.parametrize("kwargs,match", [
    (dict(grid={}), "grid"),
    (dict(grid={"a": [[1, 2]]}), "grid"),
    (dict(grid={"a": [1]}, backend="mpi"), "backend"),
    (dict(grid={"a": [1]}, backend="processes", n_workers=0), "n_workers"),
    (dict(grid={"a": [1]}, backend="dask"), "scheduler"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        sweep.run(lambda a, seed: a, progress=False, **kwargs)


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(grid=[1, 2]), ArgumentTypeError, "grid"),
    (dict(grid={"a": [1]}, seed=-1), ParameterError, "seed"),
    (dict(grid={"a": [1]}, seed=1.5), ArgumentTypeError, "seed"),
    (dict(grid={"a": [1]}, backend="processes", n_workers=2.0), ArgumentTypeError, "n_workers"),
])
def test_bad_argument_types(kwargs, error, match):
    with pytest.raises(error, match=match):
        sweep.run(lambda a, seed: a, progress=False, **kwargs)


def _children(pid: int) -> set[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"     # a zombie has exited
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT],
                         ids=["SIGKILL", "SIGTERM", "SIGINT"])
def test_workers_exit_with_their_driver(tmp_path, sig):
    """A driver running a process sweep is killed (or interrupted) while both workers are
    inside a point that sleeps a minute; its workers and the multiprocessing resource
    tracker must be gone within 15 s, far less than the minute they would otherwise run."""
    script = textwrap.dedent("""
        from nnphys import sweep
        from nnphys.tests.sweep_points import sleeps_long
        sweep.run(sleeps_long, {"alpha": [0.0, 1.0, 2.0], "T": [0.0]}, backend="processes",
                  n_workers=2, progress=False)
    """)
    env = dict(os.environ, NNPHYS_SWEEP_LOG=str(tmp_path))
    driver = subprocess.Popen([sys.executable, "-c", script], env=env,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(list(tmp_path.glob("worker-*"))) < 2:
            assert driver.poll() is None, "the driver ended early"
            time.sleep(0.1)
        workers = {int(p.name[7:]) for p in tmp_path.glob("worker-*")}
        children = _children(driver.pid)
        assert len(workers) == 2 and workers <= children
        assert len(children) >= 3          # the two workers and the resource tracker
        driver.send_signal(sig)
        driver.wait(timeout=30)
        deadline = time.time() + 15
        while time.time() < deadline and any(_alive(p) for p in children):
            time.sleep(0.1)
        assert not [p for p in children if _alive(p)], "a child outlived the driver"
    finally:
        if driver.poll() is None:
            driver.kill()
        for p in _children(driver.pid) | {int(p.name[7:]) for p in tmp_path.glob("worker-*")}:
            if _alive(p):
                os.kill(p, signal.SIGKILL)


def test_truncated_point_file_is_recomputed_with_a_warning(tmp_path):
    ckpt = tmp_path / "c"
    reference = sweep.run(noisy_energy, GRID, seed=2, checkpoint=str(ckpt), progress=False)
    point = ckpt / "point-000000003.json"
    point.write_bytes(point.read_bytes()[:17])                      # a torn write
    (ckpt / "point-000000004.json").write_bytes(b"\xff\xfe garbage")
    with pytest.warns(sweep.CheckpointWarning) as record:
        resumed = sweep.run(noisy_energy, GRID, seed=2, checkpoint=str(ckpt), progress=False)
    messages = sorted(str(w.message) for w in record)
    assert len(messages) == 2
    assert "point-000000003.json" in messages[0] and "point-000000004.json" in messages[1]
    _same(resumed, reference)
    assert resumed.complete and resumed.n_failed == 0
    again = sweep.run(noisy_energy, GRID, seed=2, checkpoint=str(ckpt), progress=False)
    _same(again, reference)                       # the rewritten files read back cleanly


def test_unreadable_checkpoint_metadata_is_a_clear_error(tmp_path):
    from nnphys.errors import RecordFileError
    ckpt = tmp_path / "c"
    sweep.run(noisy_energy, GRID, seed=2, checkpoint=str(ckpt), progress=False)
    (ckpt / "sweep.json").write_text('{"axes": ')
    with pytest.raises(RecordFileError, match="sweep.json"):
        sweep.run(noisy_energy, GRID, seed=2, checkpoint=str(ckpt), progress=False)


def test_resume_removes_the_temporaries_of_dead_writers(tmp_path):
    ckpt = tmp_path / "c"
    sweep.run(noisy_energy, GRID, seed=2, checkpoint=str(ckpt), progress=False)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()                                         # a pid that no longer runs
    stale = ckpt / f".point-000000001.json.nnphys-tmp-{dead.pid}-0"
    live = ckpt / f".point-000000002.json.nnphys-tmp-{os.getppid()}-0"
    stale.write_bytes(b"{")
    live.write_bytes(b"{")
    sweep.run(noisy_energy, GRID, seed=2, checkpoint=str(ckpt), progress=False)
    assert not stale.exists() and live.exists()
