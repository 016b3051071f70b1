"""DQN's schedule (``agents/dqn.py``, the recurrent DQN's too): how its env steps, replay, gradient
steps and target updates interleave, in one place for both ways of running it: in turns in one
process (``learning_loop``), or with the stepping in a second process (``--workers 2``:
``agents/actor_learner.py``, which calls ``stepping`` there and ``learn_from`` here)."""

from __future__ import annotations

import time

import numpy as np

from gymlab.agents.rollout import sub_info
from gymlab.agents.schedules import linear


def learning_loop(agent, env, budget, logger):
    """DQN's schedule, shared by :class:`DQN` and the recurrent DQN: step the env(s) with
    ``agent.act_to_learn`` (epsilon annealed linearly over the first ``exploration_fraction`` of the
    budget), put each transition into replay (``agent.remember``), and every ``train_freq`` env steps
    after ``learning_starts`` take ``gradient_steps`` updates on sampled batches (the learning rate
    annealed to 0 with --lr-anneal, PER's beta to 1); copy the target every
    ``target_update_interval`` steps. Env steps count the steps of every env. (``--workers 2``:
    the same schedule, the stepping in another process: ``agents/actor_learner.py``.)"""
    if agent.env is not env:  # else: going on where a resume state left off
        agent.begin(env)
    speed = steps_per_s(logger)
    for transitions in stepping(agent, budget, logger):  # a step of the env(s): a transition from each that stepped
        learn_from(agent, transitions, budget, logger, speed)
    return agent


def progress_of(budget, logger):
    """How far the run is, in its budget's unit: what the schedules that span the budget follow."""
    return (lambda: logger.steps) if budget.steps is not None else (lambda: logger.episodes)


def steps_per_s(logger):
    start, steps_before = time.perf_counter(), logger.steps
    return lambda: (logger.steps - steps_before) / (time.perf_counter() - start)


def anneal_epsilon(agent, budget, logger) -> None:
    c = agent.config
    agent.epsilon = linear(c.epsilon_start, c.epsilon_end, c.exploration_fraction * budget.total,
                           progress_of(budget, logger)())


def stepping(agent, budget, logger):
    """The env(s) stepped with epsilon-greedy ``agent.act_to_learn`` until ``budget`` is spent: for
    each step, the list of ``(env index, transition)`` it made (one env: a list of one)."""
    def policy(obs, masks):  # obs: a batch, one row per env
        anneal_epsilon(agent, budget, logger)
        return agent.act_to_learn(obs, masks)

    if agent.config.num_envs > 1:
        def act_in_all(obs, starts, info):
            return policy(obs, [sub_info(info, i).get("action_mask") for i in range(len(obs))])

        return agent.steps.run(act_in_all, budget, logger)

    def act_in_one(obs, info):  # one env: each of its steps as the vector env's are
        return int(policy(np.asarray(obs)[None], [info.get("action_mask")])[0])

    return ([(0, t)] for t in agent.steps.run(act_in_one, budget, logger))


def learn_from(agent, transitions, budget, logger, speed) -> None:
    """One step of the env(s), ``transitions`` (``(env index, transition)`` each), into replay, and the
    gradient steps and target updates it brings due (``speed()``: env steps/s, logged)."""
    c, total, progress = agent.config, budget.total, progress_of(budget, logger)
    for j, (i, t) in enumerate(transitions):
        agent.remember(i, t)
        step = logger.steps + j + 1  # this transition's number, counting the steps of every env
        # len(buffer): n-step transitions reach the buffer n - 1 steps late, even with --learning-starts 0
        if step > c.learning_starts and step % c.train_freq == 0 and len(agent.buffer):
            frac = min(1.0, progress() / total)
            if c.lr_anneal:
                for group in agent.optimizer.param_groups:
                    group["lr"] = c.learning_rate * (1.0 - frac)
            beta = c.per_beta + (1.0 - c.per_beta) * frac
            for _ in range(c.gradient_steps):
                loss = agent.update(agent.buffer.sample(c.batch_size, beta), agent.buffer)
                agent.updates += 1
            if agent.updates % 100 < c.gradient_steps:
                logger.log("losses/td_loss", loss.item())
                logger.log("losses/q_values", agent.last_q_mean.mean().item())
                logger.log("charts/epsilon", agent.epsilon)
                logger.log("charts/SPS", speed())
        if step % c.target_update_interval == 0:
            agent.update_target()
