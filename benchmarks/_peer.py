"""Run a peer library's timing script in its own environment, if it is installed.

The peer's interpreter is the one named by the environment variable ``NNPHYS_PEER_PYTHON``
(e.g. ``export NNPHYS_PEER_PYTHON=$HOME/ntenv/bin/python``; how to build that environment
is in ``peers/nt_import.py``). Without it, the peer columns of the benchmarks are empty.
"""

import json
import os
import subprocess

PEER_ENV = "NNPHYS_PEER_PYTHON"
_SCRIPT = os.path.join(os.path.dirname(__file__), "peers", "nt_timing.py")


def neural_tangents_times(kind: str, arg, timeout: float = 1800) -> dict | None:
    """Times from ``peers/nt_timing.py`` (None when ``$NNPHYS_PEER_PYTHON`` is unset or
    names no file)."""
    peer_python = os.environ.get(PEER_ENV)
    if not peer_python or not os.path.exists(peer_python):
        return None
    result = subprocess.run([peer_python, _SCRIPT, kind, json.dumps(arg)], capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(result.stdout.strip().splitlines()[-1])
