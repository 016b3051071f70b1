"""Where a sweep's trials run: a Ray of the sweep's own, or the cluster the user names, checked in
seconds.

- Without ``--ray-address`` or ``RAY_ADDRESS``, the sweep starts a local Ray of its own
  (``address="local"``): never the cluster Ray's ``ray_current_cluster`` file names, which an
  earlier sweep killed mid-way may have left pointing at a dead one.
- A named ``HOST:PORT`` that does not answer is refused in one line (exit 2) within seconds, before
  Ray's own client would retry it for minutes.
- A trial that no node of the cluster can hold (``--cpus-per-trial`` above every node's CPUs) is
  refused in one line that says what the cluster has, rather than waiting for ever.
"""

from __future__ import annotations

import os
import socket

from gymlab import signals
from gymlab.cli import UsageError

PROBE_SECONDS = 5.0


def address_of(given: str | None) -> str:
    """The Ray address a sweep uses: ``--ray-address``, else ``RAY_ADDRESS``, else ``"local"``."""
    return given or os.environ.get("RAY_ADDRESS") or "local"


def probe(address: str) -> None:
    """Refuse (``UsageError``) a ``[ray://]HOST:PORT`` where nothing answers."""
    if address in ("local", "auto"):
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    if not host or not port.isdigit():
        return  # not HOST:PORT: Ray's own message says what is wrong with it
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_SECONDS).close()
    except OSError as err:
        raise UsageError(f"no Ray cluster answers at {address} ({err.strerror or err}); start one there "
                         f"(ray start --head), or leave out --ray-address and RAY_ADDRESS for a local Ray of the "
                         f"sweep's own") from err


def connect(given: str | None, cpus_per_trial: int, restore: bool = False) -> None:
    """``ray.init`` for a sweep (see the module docstring); ``UsageError`` if it cannot run there
    (``restore``: a sweep made earlier, which ``--resume`` cannot change)."""
    import ray

    address = address_of(given)
    probe(address)
    try:
        with signals.interrupt_kept():
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except KeyboardInterrupt:
        if ray.is_initialized():  # the interrupt came through a fork hook: the start went on, undo it
            ray.shutdown()
        raise
    except (ConnectionError, RuntimeError, ValueError) as err:
        shown = "" if address == "local" else f" at {address}"
        raise UsageError(f"cannot start the sweep on Ray{shown}: "
                         f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__} (a "
                         f"cluster with token authentication needs its token here: RAY_AUTH_MODE=token and "
                         f"RAY_AUTH_TOKEN, or the token file; see the README)") from err
    cpus = sorted((int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), reverse=True)
    if cpus and cpus_per_trial > cpus[0]:
        ray.shutdown()
        where = "this machine's Ray has" if address == "local" else f"the Ray cluster at {address} has"
        nodes = f"{len(cpus)} node{'s' * (len(cpus) > 1)} of at most {cpus[0]} CPUs" if len(cpus) > 1 else \
            f"{cpus[0]} CPUs"
        advice = "run the sweep anew with" if restore else "give"
        raise UsageError(f"--cpus-per-trial {cpus_per_trial}: no node can hold such a trial ({where} {nodes}); "
                         f"{advice} --cpus-per-trial {cpus[0]} or less")
