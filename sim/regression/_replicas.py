"""The estimate of a mean over independent replicas, shared by the records of this package.

Each simulation keeps its per-replica curves (``per_replica``, replicas first) and derives
the mean with its standard error from them through :func:`nnphys.stats.sample_mean`; a single
replica has no measurable spread, so its standard error is ``nan`` (unknown, not zero).
"""

from __future__ import annotations

import numpy as np

from ...stats import Estimate, sample_mean


def replica_estimate(per_replica: np.ndarray) -> Estimate:
    """Mean over axis 0 of ``per_replica`` with its standard error."""
    per_replica = np.asarray(per_replica, dtype=float)
    if per_replica.shape[0] >= 2:
        return sample_mean(per_replica)
    mean = per_replica[0]
    return Estimate(mean=mean, stderr=np.full_like(mean, np.nan), n_eff=np.ones_like(mean),
                    tau=np.ones_like(mean))
