"""Dynamical mean-field theory: random recurrent rate networks, gradient-descent
learning of random-feature models, and feature learning in wide networks."""

from . import deep_linear, feature_learning, learning, rnn  # noqa: E402,F401
