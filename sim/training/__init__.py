"""Training finite networks by gradient descent in any abc-parametrization
(:mod:`.mlp`: the network, the update, the recorded kernels and coordinate check)."""

from .mlp import DIVERGED, TrainingRun, train

__all__ = ["DIVERGED", "TrainingRun", "train"]
