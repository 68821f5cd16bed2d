"""Solvable scaling-law models: power-law random features (4+3 phases), Maloney-Roberts-Sully,
and the Bordelon-Atanasov-Pehlevan dynamical model."""
