"""How big a resume state is, and what writing and reading it costs, for DQN with a full replay buffer.

    python benchmarks/resume_state.py                 # about a minute; needs ~3 GB of memory
    python benchmarks/resume_state.py --only cartpole

For each case a DQN agent's replay buffer is filled to capacity with real transitions
(random actions), and its resume state (what ``train.py`` writes as ``resume.npz``:
weights, Adam, the buffer, random streams, the env, the logger) is written and read
back into a fresh agent, as ``--resume`` does. Each phase runs in a child process of
its own, so "peak extra" is that phase's own peak resident memory above the memory the
agent and its full buffer already take (``ru_maxrss``, on Linux).

The reference row of each case, measured in the same run, is the obvious way: read
the arrays with ``np.load`` and copy them into the new buffer, which holds the
frames twice for a moment. gymlab reads them straight into the buffer's memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks._common import provenance, table, write_json  # noqa: E402

CASES = {  # name -> (env id, env kwargs, DQN config)
    "cartpole": ("CartPole-v1", {}, {"buffer_size": 100_000}),
    "pong-pixels": ("gymlab/Pong-v0", {"obs_type": "pixels"}, {"buffer_size": 100_000, "policy": "cnn",
                                                                 "hidden": (256,)}),
}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def current_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def build(case: str):
    import gymnasium as gym
    import numpy as np

    import gymlab  # noqa: F401  (registers the envs)
    from gymlab.agents.dqn import DQN
    from gymlab.agents.logger import RunLogger
    from gymlab.agents.replay import NStep
    from gymlab.agents.rollout import Steps

    env_id, kwargs, config = CASES[case]
    env = gym.make(env_id, **kwargs)
    agent = DQN(env.observation_space, env.action_space, DQN.Config(**config), seed=0)
    agent.n_step = NStep(agent.config.n_step, agent.config.gamma)
    return env, agent, np, Steps, RunLogger


def phase(case: str, what: str, path: str) -> dict:
    """One phase in this (child) process: 'write' fills a buffer and writes the state; 'read' and
    'naive' read it back into a fresh agent."""
    from gymlab import resume

    env, agent, np, Steps, RunLogger = build(case)
    logger = RunLogger(progress=False)
    capacity = agent.config.buffer_size
    agent.steps = Steps(env, 0)
    agent.buffer = agent.make_buffer(env.observation_space, masks=False)
    if what == "write":
        rng = np.random.default_rng(0)
        obs, _ = env.reset(seed=0)
        for _ in range(capacity):  # real transitions, random actions
            action = int(rng.integers(env.action_space.n))
            next_obs, reward, terminated, truncated, _ = env.step(action)
            agent.buffer.add(obs, action, reward, next_obs, 0.0 if terminated else 0.99)
            obs = env.reset()[0] if terminated or truncated else next_obs
        agent.steps.obs, agent.steps.info = obs, {}
        base, start = current_mb(), time.perf_counter()
        size = resume.write(path, {"run": {}}, {"agent": agent.resume_state(), "logger": logger.state()})
        return {"seconds": time.perf_counter() - start, "bytes": size, "base_mb": base, "peak_mb": peak_mb(),
                "items": len(agent.buffer)}
    # Reading: the fresh agent's buffer is allocated (empty) first, as --resume's is.
    agent.buffer.obs[:] = 0
    agent.buffer.next_obs[:] = 0  # touch the pages: the buffer's own memory is counted in base
    base, start = current_mb(), time.perf_counter()
    if what == "read":
        _, tree = resume.read(path)
        agent.load_resume_state(tree["agent"])
        agent.resume_in(env)
    else:  # the reference: np.load every array, then copy into the buffer
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        big = sorted((a for a in arrays.values() if a.ndim and len(a) == capacity), key=lambda a: -a.nbytes)[:2]
        agent.buffer.obs[:] = big[0].reshape(agent.buffer.obs.shape)
        agent.buffer.next_obs[:] = big[1].reshape(agent.buffer.next_obs.shape)
    return {"seconds": time.perf_counter() - start, "base_mb": base, "peak_mb": peak_mb()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=sorted(CASES))
    p.add_argument("--json", type=Path)
    p.add_argument("--phase", nargs=3, help=argparse.SUPPRESS)  # internal: case, phase, path
    args = p.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(*args.phase)))
        return 0
    rows, results = [], []
    for case in [args.only] if args.only else list(CASES):
        stamp = provenance()  # as the case's measurement begins
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "resume.npz")
            out = {}
            for what in ("write", "read", "naive"):
                proc = subprocess.run([sys.executable, __file__, "--phase", case, what, path], capture_output=True,
                                      text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
                if proc.returncode:
                    sys.exit(f"{case} {what} failed: {proc.stderr.strip().splitlines()[-1]}")
                out[what] = json.loads(proc.stdout.strip().splitlines()[-1])
        results.append({"case": case, **out, **stamp})
        w = out["write"]
        for what, label in (("write", "write (gymlab)"), ("read", "read (gymlab)"), ("naive", "read (np.load + copy)")):
            r = out[what]
            rows.append([case, w["items"], round(w["bytes"] / 2**20, 1), label, round(r["seconds"], 2),
                         round(r["base_mb"]), round(r["peak_mb"] - r["base_mb"])])
    print(table(["case", "buffer items", "resume.npz MB", "phase", "seconds", "memory before MB",
                 "peak extra MB"], rows))
    path = write_json("resume_state", {"rows": results}, args.json)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
