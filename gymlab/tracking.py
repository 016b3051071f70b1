"""``--track mlflow``: a run (or every trial of a sweep) logged to an MLflow tracking store.

What is logged, into the MLflow run named after the run directory (experiment
``$MLFLOW_EXPERIMENT_NAME``, else ``gymlab``):

- params: the resolved config (every field of the agent's Config, by its name), ``env``,
  ``env_id``, ``agent``, ``seed``, the budget, and each env argument as ``env_kwargs.<name>``;
- metrics: every scalar TensorBoard gets, by the same names (CleanRL's and SB3's:
  ``agents/logger.py``), at the run's env step, sent in batches;
- artifacts: ``summary.json``, ``checkpoint.npz``, ``learning_curve.png`` and the agent's other
  figures, and ``videos/`` with ``--record-video``;
- tags: ``gymlab.run_dir`` and, for a sweep's trial, ``gymlab.sweep`` (the sweep's directory).
- status: FINISHED when the run ends, KILLED when Ctrl-C or SIGTERM stopped it, FAILED when it
  raised (``tracked``): never left RUNNING.

Where: ``$MLFLOW_TRACKING_URI`` (a server, ``http://HOST:PORT``, or any store MLflow takes); else
MLflow's own default, made absolute where the run starts: ``sqlite:///<cwd>/mlflow.db``, with the
artifacts in ``<cwd>/mlruns/`` (``mlflow ui`` run in that directory shows them). The address is
resolved once and kept in the run's spec, so ``--resume`` and a sweep's trials (whose working
directory Ray changes) log to the same store; a resumed run goes on in its own MLflow run
(``tracking.json`` in the run directory names it). mlflow is imported only by a run that asks.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

from gymlab.cli import UsageError

TRACKERS = ("mlflow",)
INSTALL = 'pip install mlflow  (or: pip install -e ".[track]")'
RUN_FILE = "tracking.json"  # the MLflow run a run directory logs to (for --resume)
BATCH = 1000  # MLflow's limit of metrics in one log_batch
FLUSH_SECONDS = 10.0


def default_uri(cwd: Path | None = None) -> str:
    """MLflow's default store, absolute: ``sqlite:///<cwd>/mlflow.db``."""
    return f"sqlite:///{Path(cwd or Path.cwd()).resolve() / 'mlflow.db'}"


def target(kind: str | None) -> dict | None:
    """``--track KIND`` resolved here and now (``None``: not tracked); ``UsageError`` if mlflow is
    not installed."""
    if kind is None:
        return None
    if kind not in TRACKERS:
        raise UsageError(f"--track {kind}: expected one of {', '.join(TRACKERS)}")
    if not installed("mlflow"):  # (not imported here: a run imports it as it starts)
        raise UsageError(f"--track mlflow needs MLflow, which is not installed: {INSTALL}")
    uri = os.environ.get("MLFLOW_TRACKING_URI") or default_uri()
    return {"to": kind, "uri": uri, "experiment": os.environ.get("MLFLOW_EXPERIMENT_NAME") or "gymlab"}


def installed(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:  # (sys.modules[module] is None: made unimportable)
        return False


def _artifact_root(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: ``<cwd>/mlruns`` beside our default sqlite file
    (MLflow's own layout), the server's choice otherwise."""
    if uri.startswith("sqlite:///") and uri.endswith("/mlflow.db"):
        return (Path(uri[len("sqlite:///"):]).parent / "mlruns").as_uri()
    return None


def experiment_id(client, track: dict) -> str:
    """The experiment's id, made if it is not there yet (by another process meanwhile: found)."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(track["experiment"])
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(track["experiment"], artifact_location=_artifact_root(track["uri"]))
    except MlflowException:
        found = client.get_experiment_by_name(track["experiment"])
        if found is None:
            raise
        return found.experiment_id


def prepare(track: dict | None) -> None:
    """Before a sweep's trials start: the store and experiment made once, here (``UsageError`` if
    the store cannot be reached), rather than by trials racing each other."""
    if track is not None:
        _client(track)


def _client(track: dict):
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")  # a dead server: refused in seconds
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(track["uri"])
        return client, experiment_id(client, track)
    except Exception as err:  # noqa: BLE001  (whatever the store raises: one line)
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        raise UsageError(f"--track mlflow: cannot use the tracking store at {track['uri']}: {first}") from err


def start(spec: dict, run_dir: Path):
    """The tracker of a run about to train (``None`` if it is not tracked): its MLflow run made (or,
    resuming, found again) and its params logged."""
    track = spec.get("track")
    if not track:
        return None
    client, exp = _client(track)
    from gymlab import runs

    known = runs.read_json(run_dir / RUN_FILE).get("run_id")
    if known:  # --resume: the same MLflow run goes on
        client.update_run(known, status="RUNNING")
        return Tracker(client, known)
    tags = {"gymlab.run_dir": str(Path(run_dir).resolve())}
    if Path(run_dir).parent.name == "trials":
        tags["gymlab.sweep"] = str(Path(run_dir).resolve().parent.parent)
    for old in client.search_runs([exp], filter_string=f"tags.`gymlab.run_dir` = '{_quoted(tags['gymlab.run_dir'])}'"):
        if old.info.status != "FINISHED":  # this directory's run stopped before it kept anything, started afresh
            client.delete_run(old.info.run_id)
    run = client.create_run(exp, run_name=Path(run_dir).name, tags=tags)
    runs.write_json(run_dir / RUN_FILE, {"run_id": run.info.run_id, "uri": track["uri"],
                                         "experiment": track["experiment"]})
    tracker = Tracker(client, run.info.run_id)
    tracker.params(params_of(spec))
    return tracker


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def params_of(spec: dict) -> dict[str, str]:
    """The resolved config as MLflow params (strings)."""
    out = {"env": spec["env"], "env_id": spec["env_id"], "agent": spec["agent"], "seed": spec["seed"],
           **{f"budget.{unit}": total for unit, total in (spec.get("budget") or {}).items()},
           **{f"env_kwargs.{k}": v for k, v in spec.get("env_kwargs", {}).items()}, **spec["config"]}
    return {k: json.dumps(v) if isinstance(v, (list, tuple, dict)) else str(v) for k, v in out.items()}


class Tracker:
    """One MLflow run: ``metric`` buffers, ``flush`` sends; ``finish`` logs the artifacts and ends it.
    A store that fails during the run (a server gone away) stops the tracking, said in one warning;
    the training goes on and keeps its run directory."""

    def __init__(self, client, run_id: str):
        self.client, self.run_id = client, run_id
        self._metrics, self._sent, self.failed = [], time.monotonic(), False

    def _send(self, call, *args, **kwargs) -> None:
        if self.failed:
            return
        try:
            call(self.run_id, *args, **kwargs)
        except Exception as err:  # noqa: BLE001  (whatever the store raises: one line, and tracking stops)
            self.failed = True
            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
            print(f"train.py: warning: --track mlflow: the tracking store failed ({first}): tracking stops, "
                  f"the training goes on", file=sys.stderr)

    def params(self, params: dict[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow's limit of params in one batch
            self._send(self.client.log_batch, params=items[i:i + 100])

    def metric(self, key: str, value: float, step: int) -> None:
        from mlflow.entities import Metric

        if self.failed:
            return
        self._metrics.append(Metric(key, float(value), int(time.time() * 1000), int(step)))
        if len(self._metrics) >= BATCH or time.monotonic() - self._sent > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        while self._metrics and not self.failed:
            batch, self._metrics = self._metrics[:BATCH], self._metrics[BATCH:]
            self._send(self.client.log_batch, metrics=batch)
        self._sent = time.monotonic()

    def finish(self, run_dir: Path, summary: dict) -> None:
        self.flush()
        for name in ["summary.json", summary.get("checkpoint") or "checkpoint.npz",
                     *sorted(p.name for p in Path(run_dir).glob("*.png"))]:
            if (Path(run_dir) / name).is_file():
                self._send(self.client.log_artifact, str(Path(run_dir) / name))
        if (Path(run_dir) / "videos").is_dir():
            self._send(self.client.log_artifacts, str(Path(run_dir) / "videos"), "videos")
        self.end("KILLED" if summary["interrupted"] else "FINISHED")

    def end(self, status: str) -> None:
        """The MLflow run ended with ``status`` (MLflow's ``RunStatus``: FINISHED, FAILED, KILLED), the
        metrics still buffered sent first."""
        self.flush()
        self._send(self.client.set_terminated, status)


@contextlib.contextmanager
def tracked(spec: dict, run_dir: Path):
    """Around a run: its tracker (``start``; ``None`` if it is not tracked); if the run raises, its MLflow
    run ends FAILED (a bug) or KILLED (a Ctrl-C or SIGTERM it did not catch), not left RUNNING. A run
    that reaches its end ends it in ``finish`` (FINISHED, or KILLED when it was interrupted)."""
    tracker = start(spec, run_dir)
    try:
        yield tracker
    except BaseException as err:
        if tracker is not None:
            tracker.end("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
        raise


def finish(tracker: Tracker | None, run_dir: Path, summary: dict) -> None:
    """The run's end, in its tracker (if any)."""
    if tracker is not None:
        tracker.finish(run_dir, summary)
