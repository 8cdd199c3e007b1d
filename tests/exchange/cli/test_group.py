"""The ``sendx`` command group itself (``exchange/cli/__init__.py``): how errors reach a user."""

from __future__ import annotations

import subprocess
import sys


def test_a_closed_pipe_ends_quietly_without_an_internal_error():
    """``sendx rules | head -1``: the reader leaves early; no traceback, no 'internal error'."""
    proc = subprocess.Popen([sys.executable, "-m", "exchange", "rules"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # every write now fails with EPIPE
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141, err
    assert err == ""
