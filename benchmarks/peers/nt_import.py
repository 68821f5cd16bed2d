"""Import neural-tangents 0.6.5 without TensorFlow, in float64 on the CPU.

neural-tangents' ``__init__`` imports ``neural_tangents.experimental``, whose TF port
needs ``tensorflow``, ``tf2jax`` and ``jax2tf``; an empty stub module stands in for
``neural_tangents.experimental`` (the kernels never use it). Run with the peer environment's interpreter, set up once (any directory will do) with::

    python -m venv ~/ntenv
    ~/ntenv/bin/pip install jax==0.5.3 jaxlib==0.5.3 "numpy<2.3" frozendict scipy
    ~/ntenv/bin/pip install --no-deps neural-tangents==0.6.5
    export NNPHYS_PEER_PYTHON=~/ntenv/bin/python     # read by benchmarks/_peer.py
"""

import os
import sys
import types


def import_neural_tangents():
    """Return the ``neural_tangents`` module (x64 enabled, CPU platform)."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    sys.modules.setdefault("neural_tangents.experimental",
                           types.ModuleType("neural_tangents.experimental"))
    import jax
    jax.config.update("jax_enable_x64", True)
    import neural_tangents
    return neural_tangents
