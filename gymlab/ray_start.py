"""Where a sweep's trials run.

- A trial that no node of the cluster can hold (``--cpus-per-trial`` above every node's CPUs) is
  refused in one line that says what the cluster has, rather than waiting for ever.
"""

from __future__ import annotations

import os

from gymlab.cli import UsageError


def address_of(given: str | None) -> str | None:
    """The Ray address a sweep uses: ``--ray-address``, else ``RAY_ADDRESS``, else None."""
    return given or os.environ.get("RAY_ADDRESS")


def connect(given: str | None, cpus_per_trial: int, restore: bool = False) -> None:
    """``ray.init`` for a sweep (see the module docstring); ``UsageError`` if it cannot run there
    (``restore``: a sweep made earlier, which ``--resume`` cannot change)."""
    import ray

    address = address_of(given)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as err:
        shown = f" at {address}" if address else ""
        raise UsageError(f"cannot start the sweep on Ray{shown}: "
                         f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__} (a "
                         f"cluster with token authentication needs its token here: RAY_AUTH_MODE=token and "
                         f"RAY_AUTH_TOKEN, or the token file; see the README)") from err
    cpus = sorted((int(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), reverse=True)
    if cpus and cpus_per_trial > cpus[0]:
        ray.shutdown()
        where = "this machine's Ray has" if not address else f"the Ray cluster at {address} has"
        nodes = f"{len(cpus)} node{'s' * (len(cpus) > 1)} of at most {cpus[0]} CPUs" if len(cpus) > 1 else \
            f"{cpus[0]} CPUs"
        advice = "run the sweep anew with" if restore else "give"
        raise UsageError(f"--cpus-per-trial {cpus_per_trial}: no node can hold such a trial ({where} {nodes}); "
                         f"{advice} --cpus-per-trial {cpus[0]} or less")
