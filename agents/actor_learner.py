"""DQN on both cores (``--workers 2``): an actor process steps the env(s) while this process learns.

A deterministic double-buffered pipeline, so that the same ``--seed`` still gives the same run on
the same machine, whatever the timing:

- the actor (a second process, started with ``spawn``) plays a *chunk*: env steps up to its first
  safe point at or past ``--sync-every`` of them, epsilon-greedy with a copy of the Q-network;
- meanwhile the learner (this process) takes the previous chunk into replay, step by step, with the
  gradient steps and target updates each step brings due (``agents/dqn_loop.learn_from``: the same
  schedule, so the same gradient steps per env step as ``--workers 1``), and counts its steps in
  the run's logger (periodic evaluations run there);
- at each chunk boundary the two meet: the actor hands over its chunk and takes the learner's new
  weights. The chunk the actor plays was chosen by the weights that had learned from every chunk but
  the one just before it: its weights lag the learner's by one chunk, no more.

Randomness: the actor's epsilon draws come from its own stream (``seeding.actor_rng``), the
learner's minibatches from the agent's; the envs' resets from the run's env seeds, as with one
process. A chunk boundary is the split's safe point: the resume state then holds the learner (the
agent's own resume state), the actor (its env(s), its stream, its counts) and the chunk played but
not yet learned from, so a stopped run resumes exactly. Periodic evaluation runs in the learner,
with its current weights, while the actor plays on: it pauses learning (not acting) for its length.

Ctrl-C reaches the whole process group from a terminal: the actor ignores SIGINT and SIGTERM, and
the learner stops it (then ends it, if it does not stop) when training ends for any reason. The
actor ends on its own when the learner is gone (its pipe closes). The process plumbing is
``agents/workers.Worker``'s, as for REINFORCE's learner.
"""

from __future__ import annotations

import dataclasses
import pickle
import traceback
import zlib

import numpy as np
import torch

from gymlab.agents import seeding
from gymlab.agents.dqn_loop import anneal_epsilon, learn_from, stepping, steps_per_s
from gymlab.agents.rollout import Transition
from gymlab.agents.workers import STOPS, Worker


def check_env(env, workers: int) -> None:
    """``--workers 2`` hands the env to another process, pickled: an env that does not pickle is one
    clear ValueError (``--workers 1`` then runs it)."""
    if workers < 2:
        return
    try:
        pickle.dumps(env)
    except Exception as err:  # (pickle raises TypeError, AttributeError, PicklingError, ...)
        raise ValueError(f"--workers {workers} steps the env in a second process, which needs an env that pickles; "
                         f"{env} does not ({type(err).__name__}: {err}): give --workers 1") from None


class _Counts:
    """What ``Steps.run`` needs of a logger, in the actor: the counts the budget is checked on, and a
    call at each safe point (where the chunk may end)."""

    def __init__(self, steps: int, episodes: int, at_safe_point):
        self.steps, self.episodes, self.at_safe_point = steps, episodes, at_safe_point

    def step(self, reward: float, done: bool, env: int = 0) -> None:
        self.steps += 1
        self.episodes += bool(done)

    def safe_point(self) -> None:
        self.at_safe_point()


class _Stop(Exception):
    pass


def _actor(conn, env_bytes: bytes, spaces: tuple, config, seed: int, budget, resumed) -> None:
    """The actor process (a ``Worker``'s ``serve``, SIGINT and SIGTERM ignored: the learner stops it):
    a DQN agent that only acts (no replay), its own random stream."""
    try:
        from gymlab.agents.dqn import DQN

        agent = DQN(*spaces, config=dataclasses.replace(config, workers=1), seed=seed)
        agent.rng = seeding.actor_rng(seed)
        agent.begin(pickle.loads(env_bytes))
        counts = _Counts(0, 0, lambda: None)
        if resumed is not None:
            agent.steps.load_state(resumed["steps"])
            agent.starts[:], agent.stacks = resumed["actor"]["starts"], resumed["stacks"]
            agent.rng.bit_generator.state = resumed["actor"]["rng"].bit_generator.state
            counts.steps, counts.episodes = resumed["actor"]["counts"]
        chunk, version = [], [None, None]  # the weights' version and checksum

        def state():
            return {"steps": agent.steps.state(), "stacks": agent.stacks,
                    "actor": {"starts": agent.starts.copy(), "rng": agent.rng,
                              "counts": (counts.steps, counts.episodes)}}

        def wait():  # at a boundary: answer the learner until it says go on (with weights) or stop
            while True:
                message = conn.recv()
                if message[0] == "go":
                    agent.q.load_state_dict({k: torch.as_tensor(v) for k, v in message[1].items()})
                    version[:] = message[2], crc(weights(agent))
                    return
                if message[0] == "state":
                    conn.send(("state", state()))
                else:  # (STOP)
                    raise _Stop

        def boundary():
            if sum(len(step) for step in chunk) >= config.sync_every:
                conn.send(("chunk", list(chunk), *version))
                chunk.clear()
                wait()

        wait()
        counts.at_safe_point = boundary
        for step in stepping(agent, budget, counts):
            for i, t in step:  # what act_to_learn knows of each env's next step (remember keeps it in one process)
                agent.starts[i] = t.terminated or t.truncated
            chunk.append(step)
        conn.send(("last", chunk, *version))
        conn.send(("state", state()))
        wait()
    except (_Stop, EOFError, BrokenPipeError, KeyboardInterrupt):
        pass
    except Exception as err:  # said by the learner, in its own words
        try:
            conn.send(("error", f"{type(err).__name__}: {err}", traceback.format_exc()))
        except (BrokenPipeError, OSError):
            pass


class Actor(Worker):
    """The learner's end of the actor process: a ``Worker`` (``agents/workers.py``: started and
    stopped there) that ignores SIGINT and SIGTERM, waited for 3 s at the end, then killed (mid-chunk,
    after a second Ctrl-C, it does not stop on its own)."""

    def __init__(self, agent, env, budget, resumed):
        check_env(env, 2)
        spaces = (agent.observation_space, agent.action_space)
        super().__init__(_actor, pickle.dumps(env), spaces, agent.config, agent.seed, budget, resumed,
                         name="gymlab-dqn-actor", ignore=STOPS, wait=3.0)
        self.last_state = None  # the actor's state once it has played its last chunk

    def go(self, weights: dict, version: int) -> None:
        self.send(("go", weights, version))

    def receive(self):
        try:
            message = self.recv()
        except (EOFError, ConnectionResetError):
            self.process.join(5)
            raise RuntimeError(f"the DQN actor process ended unexpectedly (exit code {self.process.exitcode})") \
                from None
        if message[0] == "error":
            raise RuntimeError(f"the DQN actor process failed: {message[1]}\n{message[2]}")
        return message

    def state(self) -> dict:
        if self.last_state is not None:
            return self.last_state
        self.send(("state",))
        return self.receive()[1]


def weights(agent) -> dict:
    return {k: v.detach().numpy().copy() for k, v in agent.q.state_dict().items()}


def crc(arrays: dict) -> int:
    """A checksum of weights: which weights acted, as the learner and the actor each see them."""
    return zlib.crc32(b"".join(np.ascontiguousarray(arrays[k]).tobytes() for k in sorted(arrays)))


def learn_split(agent, env, budget, logger):
    """``agent.learn`` with ``--workers 2`` (see the module docstring). ``agent.versions`` records,
    for each chunk, (the number of chunks the learner had learned from when the weights that played
    it were handed over, the number it had learned from when the chunk came back, whether the
    actor's weights were those the learner handed over)."""
    if agent.env is not env:  # else: going on where a resume state left off
        agent.begin(env)
    elif agent.resumed_split is None:  # a second learn(): the actor would start its envs afresh
        raise ValueError("learn() again with --workers 2 would restart the actor's envs beside the learner's "
                         "state: go on with train.py --resume RUN --steps MORE, or use --workers 1")
    resumed, agent.resumed_split = agent.resumed_split, None
    agent.pending = _chunk(resumed["pending"]) if resumed is not None else None
    actor = agent.actor = Actor(agent, env, budget, resumed)
    speed, last, learned, sent, agent.versions = steps_per_s(logger), False, 0, {}, []
    try:
        # --8<-- [start:pipeline]
        while True:
            if not last:
                handed = weights(agent)
                sent[learned] = crc(handed)
                actor.go(handed, learned)  # the actor plays the next chunk ...
            for step in agent.pending or []:  # ... while the learner learns from the one before
                anneal_epsilon(agent, budget, logger)
                learn_from(agent, step, budget, logger, speed)
                for i, t in step:
                    logger.step(t.reward, t.terminated or t.truncated, env=i)
                if budget.done_early:  # (--stop-at reached: here, where one process stops too)
                    break
            if agent.pending is not None:
                learned += 1
            if budget.done_early and not last:  # the chunk in play is not learned from: the work is done
                kind = actor.receive()[0]  # (its last chunk, should the budget end with it: its state follows)
                actor.last_state, last = actor.receive()[1] if kind == "last" else actor.state(), True
            if last:
                break
            kind, agent.pending, version, acted_crc = actor.receive()
            agent.versions.append((version, learned, acted_crc == sent[version]))
            if kind == "last":  # the budget is spent: the actor's final state, for a run trained on later
                actor.last_state, last = actor.receive()[1], True
            else:
                logger.safe_point()  # both at a boundary: the resume state is whole here
        # --8<-- [end:pipeline]
        agent.pending = None
    finally:
        actor.close()
    return agent


def _chunk_state(chunk):
    return None if chunk is None else [[(i, tuple(t)) for i, t in step] for step in chunk]


def _chunk(state):
    return None if state is None else [[(int(i), Transition(*t)) for i, t in step] for step in state]


def split_state(agent, loop: dict) -> dict:
    """The resume state's loop with ``--workers 2``: the env(s) and frame stacks as the actor has
    them, the actor's own stream, starts and counts, and the chunk it has played that the learner
    has not learned from yet."""
    state = agent.actor.state()
    return {**loop, "steps": state["steps"], "stacks": state["stacks"], "actor": state["actor"],
            "pending": _chunk_state(agent.pending)}
