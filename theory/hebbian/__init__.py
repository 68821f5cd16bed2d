"""Replica-symmetric theory of Hebbian networks: Hopfield, dense (P-body), learning from
examples, multitasking on diluted patterns."""
