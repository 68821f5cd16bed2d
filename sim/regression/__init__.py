"""Gradient-descent and SGD training of solvable regression models: the linear random-feature
model of Bordelon, Atanasov & Pehlevan (full-batch GD), the power-law random features model
(one-pass SGD) and the Maloney-Roberts-Sully data model."""
from .gradient_descent import GDCurves, random_feature_gd  # noqa: F401
from .mrs import MRSRegression, mrs_regression  # noqa: F401
from .plrf import PLRFProblem, PLRFSpectrum, SGDCurves, sgd  # noqa: F401
from .kernel_ridge import GaussianDesign, gaussian_design, kernel_ridge  # noqa: F401
