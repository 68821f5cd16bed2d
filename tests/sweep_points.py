"""Module-level functions for the sweep tests (picklable by worker processes)."""

import os
import time

import numpy as np


def noisy_energy(alpha, T, seed):
    """A deterministic function of the point and its seed."""
    rng = np.random.default_rng(seed)
    return {"energy": alpha * T + rng.standard_normal(), "vector": np.array([alpha, T, seed % 7])}


def fails_at_half(alpha, T, seed):
    if alpha == 0.5:
        raise ValueError(f"no solution at alpha={alpha}")
    return alpha + T


def slow_logged(alpha, T, seed):
    """Sleeps, and logs each call so a test can see which points were computed."""
    time.sleep(0.2)
    with open(os.environ["NNPHYS_SWEEP_LOG"], "a") as fh:
        fh.write(f"{alpha},{T}\n")
    return alpha * 10 + T + np.random.default_rng(seed).random()


def sleeps_long(alpha, T, seed):
    """Records its worker's pid in NNPHYS_SWEEP_LOG's directory, then sleeps a minute (a
    point still running when the test kills the driver)."""
    directory = os.environ["NNPHYS_SWEEP_LOG"]
    with open(os.path.join(directory, f"worker-{os.getpid()}"), "w"):
        pass
    time.sleep(60)
    return alpha + T
