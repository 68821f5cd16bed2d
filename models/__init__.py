"""Specs: every system nnphys studies described once, as frozen dataclasses that validate
their arguments, in a neutral package that :mod:`nnphys.theory` and :mod:`nnphys.sim` both
read (they never import each other).

One small module per family:

* :mod:`.network` -- the layer algebra of neural networks (Dense, Conv, activations as layer
  objects, ``serial``), in the conventions of neural-tangents' ``stax``.
* :mod:`.hebbian` -- Hopfield (AGS), dense P-body memories, learning from examples,
  multitasking on diluted patterns: the RS theory solves them, the Monte Carlo simulates them.
* :mod:`.shallow` -- the single-hidden-layer network of Antognini's Edgeworth density, with
  its symmetric weight laws.
* :mod:`.rnn` -- the Sompolinsky-Crisanti-Sommers random rate network (``g``, activation,
  noise, input, ``N``).
* :mod:`.regression` -- the solvable regression models of scaling laws (Bordelon-Atanasov-
  Pehlevan, Maloney-Roberts-Sully, power-law random features): spectra, default steps.

A validation check is "one spec, handed to the theory and to the simulation".
"""
