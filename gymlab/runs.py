"""Run directories and the files in them, for every command of the suite.

``train.py`` (the RL side) and ``sequence_tasks`` (the supervised side) both
write runs through this module, so neither imports the other:

- ``prepare_run_dir(path, force)``: check a ``--run-dir`` (or make the
  default ``runs/<part>__...__<time>/``) before anything is written, and
  refuse, with a ``RunDirError`` that reads as one line, an existing file, an
  impossible or unwritable path, a directory that already holds a run (unless
  ``force``, which clears that earlier run's files first, and only them) or one
  a run still going holds (``gymlab/run_lock.py``: one run at a time);
- ``claim(path)`` / ``clear_run(run_dir)``: ``.gymlab-manifest``, every file a run writes,
  noted before it is written (``atomic_write`` does so), and what ``--force`` removes;
- ``atomic_write`` / ``write_json``: a temporary file moved over the target
  in one step, so an interrupted run never leaves half a file, with the same
  permission mode as every other file the run writes;
- ``write_identity`` / ``check_identity``: ``run.json``, what a run is (its own id, agent, env,
  arguments, seed, resolved config), written at its start; a resume state that is not this
  run's is refused;
- ``pyplot()``: matplotlib for files only, imported when a figure is drawn;
- ``save_crash(run_dir)``: the traceback of an error nobody foresaw.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import traceback
from pathlib import Path

# The files the old layout wrote (a run from before the manifest): what --force clears there.
RUN_FILES = ("summary.json", "checkpoint.npz", "episodes.csv", "metrics.csv", "learning_curve.png",
             "crash.txt", "resume.npz", "q_table.png", "training.png", "predictions.png", "best_and_worst.png")  # (and the sequence experiments')

from gymlab.run_lock import (LOCK_FILE, _held, discard, held, lock, made, release,  # noqa: F401 (re-exported)
                             undone_on_failure)

_UMASK = os.umask(0)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK  # what open() gives a new file; mkstemp's 0600 is changed to this


current_run_dir: Path | None = None  # the run being written, where a crash report goes


class RunDirError(ValueError):
    """A run directory that cannot be used, said in one line."""


def default_run_dir(*parts) -> Path:
    """A new directory name ``runs/<part>__<part>__...__<time>/`` (``-1``, ``-2``, ... if taken)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / "__".join([str(p).replace("/", "-").replace(":", "-") for p in parts] + [stamp])
    run_dir, k = base, 1
    while run_dir.exists():
        run_dir, k = Path(f"{base}-{k}"), k + 1
    return run_dir


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` holds what an earlier gymlab run wrote."""
    return any((path / name).is_file() for name in ("summary.json", "checkpoint.npz", "episodes.csv", IDENTITY_FILE,
                                                    MANIFEST))


def check_run_dir(path: Path, force: bool = False, flag: str = "--run-dir") -> Path:
    """Refuse a path that cannot become this run's directory, writing nothing."""
    try:
        return _check_run_dir(Path(path), force, flag)
    except OSError as err:  # e.g. a name too long for the file system, a directory we may not read
        raise RunDirError(f"{flag} {path}: {err.strerror or err}") from err


def _check_run_dir(path: Path, force: bool, flag: str) -> Path:
    if str(path).strip() == "":
        raise RunDirError(f"{flag} is empty")
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{flag} {path} is a file, not a directory")
    nearest = path
    while not nearest.exists() and nearest != nearest.parent:
        nearest = nearest.parent  # the nearest existing ancestor must be a writable directory
    if path.is_dir():
        entries = [p for p in path.iterdir() if p.name != LOCK_FILE]
        if entries and not is_run_dir(path):  # the user's own folder: --force (which replaces a run) is no advice
            raise RunDirError(f"{flag} {path} holds {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} and no "
                              f"gymlab run; choose a new or empty directory")
        if entries and not force:
            raise RunDirError(f"{flag} {path} already holds an earlier run; choose a new directory, or pass --force "
                              f"to replace that run (only the files it wrote)")
        probe_dir = path
    else:
        probe_dir = nearest
        if not nearest.is_dir():
            raise RunDirError(f"{flag} {path}: {nearest} is a file, not a directory")
    if not os.access(probe_dir, os.W_OK | os.X_OK) or _read_only_fs(probe_dir):
        raise RunDirError(f"{flag} {path}: {probe_dir} is not writable")
    return path


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return True


def prepare_run_dir(path: Path | None, default_parts=(), force: bool = False, flag: str = "--run-dir") -> Path:
    """Check ``path`` (or a new default one), make it, lock it for this run's life (``lock``),
    clear an earlier run there if ``force``."""
    path = path if path is not None else default_run_dir(*default_parts)
    if Path(path).is_dir():  # a run still going there is said first, whatever else the directory holds
        lock(path, flag, create=False)  # (writing nothing yet: the directory may be refused)
    try:
        path = check_run_dir(path, force, flag)
        try:
            if not path.is_dir():
                path.mkdir(parents=True)
                made.add(str(path.resolve()))  # a run that fails at its start removes it again
        except FileExistsError:
            pass  # made meanwhile (by another run: the lock below says so)
        except OSError as err:
            raise RunDirError(f"{flag} {path}: cannot write there ({err.strerror or err})") from err
        if str(Path(path).resolve()) not in _held:
            lock(path, flag)
            check_run_dir(path, force, flag)  # again, under the lock: a run may have begun there meanwhile
        _clear_and_probe(path, force, flag)
    except BaseException:
        release(path)
        raise
    global current_run_dir
    current_run_dir = path
    return path


def _clear_and_probe(path: Path, force: bool, flag: str) -> None:
    try:
        if force and path.is_dir():
            removed = clear_run(path)
            if removed:
                shown = ", ".join(removed[:12]) + (f", ... ({len(removed)} in all)" if len(removed) > 12 else "")
                print(f"gymlab: --force removed the earlier run's files from {path}: {shown}")
        probe = path / ".gymlab-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise RunDirError(f"{flag} {path}: cannot write there ({err.strerror or err})") from err


MANIFEST = ".gymlab-manifest"  # every file a run wrote, relative to its directory: what --force may remove
_manifests: dict[str, set] = {}  # run directory (resolved) -> its manifest as this process knows it


def legacy_files(run_dir: Path) -> list[str]:
    """What a run from before the manifest wrote, by the names the old layout gave it (top level
    and ``videos/eval-episode-*``); never a sub-folder's other files."""
    found = [n for n in RUN_FILES if (run_dir / n).is_file()]
    found += [p.name for p in run_dir.glob("events.out.tfevents.*") if p.is_file()]
    return found + [f"videos/{p.name}" for p in run_dir.glob("videos/eval-episode-*") if p.is_file()]


def _manifest(run_dir: Path) -> set:
    key = str(run_dir.resolve())
    if key not in _manifests:
        listed = read_json_list(run_dir / MANIFEST)
        _manifests[key] = set(listed if listed is not None else legacy_files(run_dir) if is_run_dir(run_dir) else [])
    return _manifests[key]


def claim(path, run_dir=None) -> None:
    """Note ``path`` in the manifest of ``run_dir`` (the run being written, by default) before the
    file is written, so that ``--force`` later removes it and nothing else; a file outside it is
    not noted."""
    run_dir = current_run_dir if run_dir is None else run_dir
    if run_dir is None:
        return
    run_dir = Path(run_dir)
    try:
        rel = Path(path).resolve().relative_to(run_dir.resolve()).as_posix()
    except ValueError:
        return
    listed = _manifest(run_dir)
    if rel in listed or rel == MANIFEST:
        return
    listed.add(rel)
    fd, tmp = tempfile.mkstemp(prefix=f"{MANIFEST}.", suffix=".tmp", dir=run_dir)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(sorted(listed), indent=1) + "\n")
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, run_dir / MANIFEST)


def clear_run(run_dir: Path) -> list[str]:
    """Remove the files the earlier run in ``run_dir`` wrote (its manifest's, or the old layout's
    names), the temporary files of its interrupted writes, and the folders it made that are then
    empty; the user's own files, anywhere in it, stay. Returns what was removed."""
    run_dir = Path(run_dir)
    listed = _manifest(run_dir)
    removed = []
    for rel in sorted(listed):
        target = run_dir / rel
        for p in [target, *target.parent.glob(f".{target.name}.*.tmp")]:
            if p.is_file() or p.is_symlink():
                p.unlink()
                removed.append(p.relative_to(run_dir).as_posix())
    for folder in sorted({(run_dir / rel).parent for rel in listed}, key=lambda p: -len(p.parts)):
        if folder != run_dir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
    for p in [run_dir / MANIFEST, *run_dir.glob(f"{MANIFEST}.*.tmp")]:
        p.unlink(missing_ok=True)
    listed.clear()
    return removed


def atomic_write(path, write) -> None:
    """Call ``write(file)`` on a temporary file, then move it to ``path`` in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    claim(path)  # in the run's manifest, when it is the run's
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path, obj) -> None:
    """``obj`` as indented JSON at ``path``, written atomically."""
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2).encode() + b"\n"))


IDENTITY_FILE = "run.json"
IDENTITY = ("run_id", "agent", "env_id", "env_kwargs", "seed", "config")  # what makes a run this run


def identity(spec: dict) -> dict:
    """A run's identity out of its spec (what ``--resume`` rebuilds it from), as JSON reads it back."""
    return json.loads(json.dumps({k: spec.get(k) for k in IDENTITY}, default=str))


def new_run_id() -> str:
    import uuid

    return uuid.uuid4().hex


def write_identity(run_dir: Path, spec: dict) -> None:
    """``run.json``: the run's identity, written (atomically) when it starts."""
    write_json(Path(run_dir) / IDENTITY_FILE, identity(spec))


def check_identity(run_dir: Path, spec: dict) -> dict:
    """Refuse (``RunDirError``) a resume state whose run ``spec`` is not the run of ``run_dir``:
    its identity must be ``run.json``'s, field for field. A run directory from before
    ``run.json`` (neither it nor the state has a run id) is checked against its ``summary.json``,
    where there is one, and then adopted: the spec returned has a new run id, for the caller's
    ``write_identity`` once the run is rebuilt."""
    path = Path(run_dir) / IDENTITY_FILE
    if path.is_file():
        fields, described_by, ours = IDENTITY, IDENTITY_FILE, identity(spec)
        try:
            theirs = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise RunDirError(f"its {IDENTITY_FILE} cannot be read ({err})") from err
    elif spec.get("run_id") is not None:
        raise RunDirError(f"it has no {IDENTITY_FILE}, so its resume.npz (of run {spec['run_id']}) is not "
                          f"known to be its own")
    else:  # a run from before run.json: its summary, if it wrote one, must agree
        fields, described_by = ("agent", "env", "env_kwargs", "seed", "config"), "summary.json"
        summary = read_json(Path(run_dir) / described_by)
        ours = json.loads(json.dumps({k: spec.get(k) for k in fields}, default=str))
        theirs = {k: summary.get(k, ours[k]) for k in fields}
    differ = [k for k in fields if ours.get(k) != theirs.get(k)]
    if differ:
        raise RunDirError(f"its resume.npz is another run's (agent {spec['agent']!r} on {spec['env_id']}, seed "
                          f"{spec['seed']}) than the one its {described_by} describes (agent {theirs.get('agent')!r}"
                          f", seed {theirs.get('seed')}; {', '.join(differ)} differ)")
    return spec if path.is_file() else {**spec, "run_id": new_run_id()}


ENV_SHAPE = {"frame_stack": 1, "max_episode_steps": None}  # what shapes the env beyond its id and kwargs


def env_shape(spec: dict) -> dict:
    """The settings of a run (``spec``) that shape its env's observations and episodes, with
    their defaults: recorded in its summary and checkpoint, so ``--load`` rebuilds the same env."""
    return {k: spec.get(k, default) for k, default in ENV_SHAPE.items()}


def read_json_list(path) -> list | None:
    """The JSON list at ``path``; None if there is none or it cannot be read."""
    try:
        got = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return got if isinstance(got, list) else None


def read_json(path) -> dict:
    """The JSON object at ``path``; ``{}`` if it cannot be read."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}


def pyplot():
    """matplotlib's pyplot on the Agg backend: files only, never a window."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_crash(run_dir: Path | None) -> Path | None:
    """Write the traceback being handled to ``run_dir/crash.txt`` (or a temporary file when
    there is no run directory yet); returns where it went, or None if nowhere could take it."""
    text = traceback.format_exc()
    for target in ([Path(run_dir) / "crash.txt"] if run_dir is not None and Path(run_dir).is_dir() else []):
        try:
            atomic_write(target, lambda f: f.write(text.encode()))
            return target
        except OSError:
            pass
    try:
        fd, tmp = tempfile.mkstemp(prefix="gymlab-crash-", suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return Path(tmp)
    except OSError:
        return None
