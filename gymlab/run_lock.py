"""One run at a time in a run directory, and no trace of a run that failed at its start.

- ``lock(path)``: an OS file lock (``flock`` on ``path/.gymlab-lock``) held by the process of the
  run going on there, until ``release`` (``held(path)``: at the end of a block) or the process
  ends, however it ends: a crash or ``kill -9`` leaves no stale lock. A second run into the
  directory, or ``--resume`` of it, meanwhile is refused in one line (``RunDirError``).
- ``undone_on_failure(run_dir)``: a run that fails before it kept anything (no checkpoint, resume
  state, summary or logged episode) removes what it wrote (its manifest's files: ``runs.claim``),
  and the directory itself if it made it, so the corrected rerun is not refused as "an earlier run".

``gymlab.runs`` re-exports these; they import it only when called.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

LOCK_FILE = ".gymlab-lock"
_held: dict[str, int] = {}  # this process's locked run directories (resolved) -> the lock file's descriptor
made: set[str] = set()  # run directories (resolved) this process made


def lock(path, flag: str = "--run-dir", create: bool = True) -> None:
    """Lock the run directory ``path`` for this process; a ``RunDirError`` if another process
    holds it. A directory nobody may write in is not locked (no run can write there either);
    nor, unless ``create``, one without a lock file yet."""
    import fcntl

    from gymlab import runs

    key = str(Path(path).resolve())
    release(path)  # this process's own earlier run there is over
    runs._manifests.pop(key, None)  # read again: another process may have written it meanwhile
    try:
        fd = os.open(Path(path) / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC | (os.O_CREAT if create else 0),
                     runs.FILE_MODE)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise runs.RunDirError(f"{flag} {path} is in use by a run still going there; wait for it to end, or "
                               f"choose another directory") from None
    except OSError:  # a file system without locks
        os.close(fd)
        return
    _held[key] = fd


def release(path) -> None:
    """Unlock a run directory this process locked (nothing if it holds no lock there)."""
    fd = _held.pop(str(Path(path).resolve()), None)
    if fd is not None:
        os.close(fd)


@contextlib.contextmanager
def held(path):
    """The lock of run directory ``path`` (taken by ``prepare_run_dir`` or ``lock``), released at the end."""
    try:
        yield path
    finally:
        release(path)


def kept_anything(run_dir: Path) -> bool:
    """Whether a run wrote something worth keeping: a checkpoint, resume state, summary or an episode."""
    if any((run_dir / n).exists() for n in ("checkpoint.npz", "resume.npz", "summary.json", "weights.npz")):
        return True
    try:
        with open(run_dir / "episodes.csv", "rb") as f:
            return len(f.read(1 << 16).splitlines()) > 1  # more than its header
    except OSError:
        return False


@contextlib.contextmanager
def undone_on_failure(run_dir):
    """Around a run's start and training: an error, Ctrl-C or SIGTERM raised before it kept anything
    removes what it wrote (and the directory, if this process made it and it is then empty), then
    goes on up."""
    try:
        yield run_dir
    except (Exception, KeyboardInterrupt):
        run_dir = Path(run_dir)
        if run_dir.is_dir() and not kept_anything(run_dir):
            discard(run_dir)
        raise


def discard(run_dir: Path) -> None:
    from gymlab import runs

    try:
        runs.clear_run(run_dir)
        if str(run_dir.resolve()) in _held:
            (run_dir / LOCK_FILE).unlink(missing_ok=True)
        release(run_dir)
        if str(run_dir.resolve()) in made and not any(run_dir.iterdir()):
            run_dir.rmdir()
            made.discard(str(run_dir.resolve()))
            if runs.current_run_dir is not None and Path(runs.current_run_dir) == run_dir:
                runs.current_run_dir = None
    except OSError:
        pass  # (the error being raised is the one to report)
