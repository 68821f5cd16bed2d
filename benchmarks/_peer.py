"""Run a peer library's timing script in its own environment, if it is installed."""

import json
import os
import subprocess

PEER_PYTHON = os.environ.get("NNPHYS_PEER_PYTHON", "/work/ntenv/bin/python")
_SCRIPT = os.path.join(os.path.dirname(__file__), "peers", "nt_timing.py")


def neural_tangents_times(kind: str, arg, timeout: float = 1800) -> dict | None:
    """Times from ``peers/nt_timing.py`` (None when the peer environment is absent)."""
    if not os.path.exists(PEER_PYTHON):
        return None
    result = subprocess.run([PEER_PYTHON, _SCRIPT, kind, json.dumps(arg)], capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode != 0:
        return {"error": result.stderr.strip().splitlines()[-1:]}
    return json.loads(result.stdout.strip().splitlines()[-1])
