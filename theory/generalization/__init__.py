"""What the kernels predict: generalisation of kernel regression from the spectrum."""

from .eigenlearning import LearningCurve, spectral_learning_curve
from .risk import kernel_alignment_risk

__all__ = ["LearningCurve", "spectral_learning_curve", "kernel_alignment_risk"]
