"""Helpers shared by the kernel tests that compare with neural-tangents' stored numbers
(``tests/data/*.npz``, written by ``tests/_precompute/``) and with sampled networks."""

from __future__ import annotations

import math
import os

import numpy as np

from nnphys.sim.spatial import sample_features
from nnphys.theory import kernels as nk

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


def load(filename: str):
    """The stored reference ``tests/data/<filename>``, or None where it is absent."""
    path = os.path.join(DATA_DIR, filename)
    return np.load(path) if os.path.exists(path) else None


def case_keys(data, prefix: str = "") -> list:
    """The cases (keys holding a ``/spec``) of a reference file whose name starts with
    ``prefix``; none for an absent file."""
    if data is None:
        return []
    return sorted({k.rsplit("/", 1)[0] for k in data.files
                   if k.endswith("/spec") and k.startswith(prefix)})


def rel_err(ours, ref, mask=None) -> float:
    """Largest absolute difference (over ``mask``) relative to the largest reference entry."""
    diff = np.abs(ours - ref)
    if mask is not None:
        diff = diff[mask]
    return np.max(diff, initial=0.0) / np.max(np.abs(ref))


def kernel_errors(data, key: str, x1, x2, kinked: bool, spec: str | None = None) -> dict:
    """Max relative errors of the NNGP and NTK of the network ``spec`` (default: the case's
    own spec string; read by :func:`nnphys.theory.kernels.from_spec`) against case ``key``
    for ``(x1, x1)`` and ``(x1, x2)``; for a ``kinked`` network (ReLU-like) the
    self-entries of the NTK are reported apart, since the peer takes their arc-cosine angle
    from a roundoff-level difference."""
    net = nk.from_spec(str(data[f"{key}/spec"]) if spec is None else spec)
    errors = {}
    for tag, other in (("11", None), ("12", x2)):
        k = net.kernel(x1, other)
        for name in ("nngp", "ntk"):
            ours, ref = getattr(k, name), data[f"{key}/{name}_{tag}"]
            assert ours.shape == ref.shape
            if kinked and tag == "11" and name == "ntk":
                off = ~np.eye(len(ref), dtype=bool)
                errors["ntk_11 off-diagonal"] = rel_err(ours, ref, off)
                errors["ntk_11 self-entries"] = rel_err(ours, ref, ~off)
            else:
                errors[f"{name}_{tag}"] = rel_err(ours, ref)
    return errors


def assert_kernels_match_sampled_networks(net, x, n_samples: int, seed: int,
                                          z_max: float = 4.5) -> None:
    """NNGP = E[y y'] and NTK = E[t t'] (``t = J v``, :func:`nnphys.sim.spatial.
    sample_features`) over ``n_samples`` independent networks: every entry within ``z_max``
    standard errors, and the standard errors below 5% of the largest entry (the check has
    power)."""
    theory = net.kernel(x)
    rng = np.random.default_rng(seed)
    n = len(x)
    nngp = np.empty((n_samples, n, n))
    ntk = np.empty((n_samples, n, n))
    for s in range(n_samples):
        y, t = sample_features(net, x, rng)
        nngp[s] = y @ y.T / y.shape[1]
        ntk[s] = t @ t.T / t.shape[1]
    for est, ref in ((nngp, theory.nngp), (ntk, theory.ntk)):
        mean = est.mean(axis=0)
        se = est.std(axis=0, ddof=1) / math.sqrt(n_samples)
        assert np.all(se < 0.05 * np.abs(ref).max())
        z = np.abs(mean - ref) / se
        assert np.all(z <= z_max), f"z-scores {z.round(2)}"
