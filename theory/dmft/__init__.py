"""Dynamical mean-field theory: random recurrent rate networks and gradient-descent
learning of random-feature models."""

from . import learning, rnn  # noqa: E402,F401
