"""Ctrl-C, as the suite's children meet it (issue 22, "Interrupts and threads")."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from children import Children

ROOT = Path(__file__).resolve().parent.parent
READY = "import signal, sys, time; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler, flush=True); " \
        "time.sleep(60)"


def test_spawn_gives_the_child_sigints_default_even_under_a_parent_that_ignores_it(spawn):
    """The test runner as a background job (SIGINT ignored): a plain child inherits the ignore and
    a Ctrl-C does nothing; ``spawn``'s child quits on it (Python's KeyboardInterrupt)."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child = spawn([sys.executable, "-c", READY])
        plain = subprocess.Popen([sys.executable, "-c", READY], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True, start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, old)
    try:
        assert child.stdout.readline().strip() == "True"
        assert plain.stdout.readline().strip() == "False"  # the reference: the ignore is inherited
        child.send_signal(signal.SIGINT)
        plain.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=30)
        assert child.returncode != 0 and "KeyboardInterrupt" in err
        time.sleep(0.5)
        assert plain.poll() is None  # still sleeping: the Ctrl-C was ignored
    finally:
        plain.kill()
        plain.communicate()


def test_the_childs_group_is_killed_on_leaving_even_after_a_failure():
    """A child the test forgot, and the child's own child, do not outlive the test."""
    with pytest.raises(AssertionError):
        with Children() as start:
            proc = start([sys.executable, "-c", "import subprocess, sys, time; "
                          "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
                          "print(p.pid, flush=True); time.sleep(60)"])
            grandchild = int(proc.stdout.readline())
            assert os.getpgid(grandchild) == proc.pid
            raise AssertionError("the test failed")
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while _running(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(grandchild)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("delay", [0.05, 0.2])
def test_python_m_gymlab_interrupted_while_starting(spawn, delay):
    """``python -m gymlab play`` (the README's spelling) Ctrl-C'd in its first tenths of a second:
    exit 130, no traceback, as the installed commands. Timed from the end of the interpreter's own
    start-up (its import of ``runpy``, which ``-X importtime`` reports on stderr): a Ctrl-C before
    Python runs a line of the program is the interpreter's, and on a loaded machine start-up takes
    anywhere from 20 ms to a second."""
    proc = spawn([sys.executable, "-X", "importtime", "-m", "gymlab", "play"], cwd=ROOT,
                 env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
    for line in proc.stderr:
        if line.rstrip().endswith("| runpy"):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = "\n".join(line for line in err.splitlines() if not line.startswith("import time:"))
    assert proc.returncode == 130, err
    assert "Traceback" not in err, err
