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


def test_shell_completion_script_and_answers():
    """The README's `_SENDX_COMPLETE=bash_source sendx`: a bash script, and completions that come back."""
    import os

    env = {**os.environ, "_SENDX_COMPLETE": "bash_source"}
    script = subprocess.run([sys.executable, "-m", "sendx.exchange"], env=env, capture_output=True, timeout=60)
    assert script.returncode == 0 and b"complete -o nosort -F _sendx_completion sendx" in script.stdout
    env = {**os.environ, "_SENDX_COMPLETE": "bash_complete", "COMP_WORDS": "sendx gen", "COMP_CWORD": "1"}
    answer = subprocess.run([sys.executable, "-m", "sendx.exchange"], env=env, capture_output=True, timeout=60)
    assert answer.stdout.decode().split() == ["plain,generate"]
