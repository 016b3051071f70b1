"""Issue 10: hill climbing saves only its champion, whole, however a run is interrupted, and keeps
to its budget. (Tuned defaults, SB3 in Box spaces, rebuilt checkpoint spaces and held-out
prediction scores: tests/test_small_fixes_defaults.py.)"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from gymlab.agents.base import Budget
from gymlab.agents.hill_climbing import HillClimbing, HillConfig
from gymlab.agents.logger import RunLogger
from gymlab.agents.rollout import evaluate
from tiny_envs import CORRIDOR_ID


# ------------------------------------------------------------------ hill climbing: only the champion leaves a trial
# The champion is tracked by the test, not taken from the agent: the Referee watches the agent's
# random draws (each trial's seeds, then its mutation noise), replays the lecture's rule on an env
# of its own -- champion 0; champion <- (1 - alpha) champion + alpha mutant when the mutant does
# strictly better on the same seeded episodes -- and so knows, for every env step of the run, which
# champion the agent must hold, and how many steps the logger must have counted.
def short_cartpole():  # seed-sensitive: where the pole starts, hence the returns, depend on the seed
    return gym.make("CartPole-v1", max_episode_steps=40)


def hill(alpha=1.0, seed=0, make_env=lambda: gym.make(CORRIDOR_ID), hidden=()):
    env = make_env()
    return HillClimbing(env.observation_space, env.action_space,
                        HillConfig(sigma=1.0, alpha=alpha, hidden=hidden), seed=seed), env


def weights(agent) -> torch.Tensor:
    return parameters_to_vector(agent.net.parameters()).detach().clone()


class _Count:  # a logger for run_episode that only counts steps
    steps = 0

    def step(self, reward, done):
        self.steps += 1


class Referee:
    def __init__(self, agent, make_env, logger, budget):
        from gymlab.agents.rollout import run_episode

        self.agent, self.logger, self.budget, self.run_episode = agent, logger, budget, run_episode
        self.env = make_env()
        self.player = HillClimbing(agent.observation_space, agent.action_space, agent.config, seed=1)
        self.champion = torch.zeros_like(weights(agent))  # the lecture: from 0
        self.windows = []  # (first step, last step, the champion while they are played)
        self.end, self.episodes_end = 0, 0  # where the logger must stand when the trial ends
        self.trials, self.improved = 0, 0
        rng, last_seeds, referee = agent.rng, [], self

        class Watched:  # the agent's rng, seen through: the draws are the agent's own
            def __getattr__(self, name):
                return getattr(rng, name)

            def integers(self, *args, **kwargs):
                out = rng.integers(*args, **kwargs)
                last_seeds.append(out)
                return out

            def standard_normal(self, *args, **kwargs):
                out = rng.standard_normal(*args, **kwargs)
                referee.trial(last_seeds[-1], out)
                return out

        agent.rng = Watched()

    def play(self, vector, seeds):
        """Mean return of ``vector``'s greedy policy over ``seeds``, and the steps it took."""
        vector_to_parameters(vector, self.player.net.parameters())
        count, total = _Count(), 0.0
        for seed in seeds:
            memory = None

            def act(obs, info):
                nonlocal memory
                action, memory = self.player.predict(obs, memory)
                return action

            total += self.run_episode(self.env, act, int(seed), count)
        return total / len(seeds), count.steps

    def trial(self, seeds, noise):
        """A trial begins: check the last one ended where it should, and work this one out."""
        assert (self.logger.steps, self.logger.episodes) == (self.end, self.episodes_end), \
            "the previous trial's steps were not all counted, or more were"
        self.trials += 1
        alpha, n = self.agent.config.alpha, len(seeds)
        mutant = self.champion + self.agent.config.sigma * torch.as_tensor(noise, dtype=self.champion.dtype)
        champion_score, champion_steps = self.play(self.champion, seeds)
        mutant_score, mutant_steps = self.play(mutant, seeds)
        first, steps, episodes = self.end + 1, self.end + champion_steps + mutant_steps, self.episodes_end + 2 * n
        self.windows.append((first, steps, self.champion))
        if mutant_score > champion_score:
            self.improved += 1
            self.champion = (1.0 - alpha) * self.champion + alpha * mutant
        self.end, self.episodes_end = steps, episodes

    def champion_at(self, step):
        """The champion while the run's env step ``step`` is played."""
        for first, last, champion in self.windows:
            if first <= step <= last:
                return champion
        raise AssertionError(f"step {step} is in no trial the referee worked out")

    def finish(self):
        """After learn returns: the last trial too was counted, and the agent holds the champion."""
        assert (self.logger.steps, self.logger.episodes) == (self.end, self.episodes_end)
        assert torch.allclose(weights(self.agent), self.champion, atol=1e-6)


def greedy_return(agent, env):  # what train.py's periodic evaluation measures
    return tuple(np.concatenate(evaluate(agent, env, 2, seed=0)))


def acting_as(agent, vector):
    other = HillClimbing(agent.observation_space, agent.action_space, agent.config)
    vector_to_parameters(vector, other.net.parameters())
    return other


@pytest.mark.parametrize("alpha, make_env", [(1.0, lambda: gym.make(CORRIDOR_ID)), (0.5, short_cartpole)],
                         ids=["corridor-alpha1", "cartpole-alpha0.5"])
def test_every_checkpoint_written_during_a_run_holds_the_champion(alpha, make_env, tmp_path):
    agent, env = hill(alpha, make_env=make_env)
    logger, budget = RunLogger(progress=False), Budget(steps=3000)
    referee = Referee(agent, make_env, logger, budget)
    path, eval_env, checks, evals = tmp_path / "checkpoint.npz", make_env(), [], []

    def evaluate_and_checkpoint():  # what train.py hangs on logger.every
        champion = referee.champion_at(logger.steps)
        evals.append(greedy_return(agent, eval_env) == greedy_return(acting_as(agent, champion), eval_env))
        agent.save(path)
        saved = weights(HillClimbing.load(path, env.observation_space, env.action_space))
        checks.append(torch.allclose(saved, champion, atol=1e-6))

    logger.every(23, evaluate_and_checkpoint)  # 130 checks; 23 is prime, so they fall all over the trials
    agent.learn(env, budget, logger)
    referee.finish()
    assert len(checks) > 100 and referee.improved > 0  # the champion moved: the case under test happened
    assert all(checks), f"{checks.count(False)} of {len(checks)} checkpoints held something other than the champion"
    assert all(evals), f"{evals.count(False)} of {len(evals)} evaluations scored something other than the champion"


@pytest.mark.parametrize("stop_at", [160, 200, 250, 290])  # the first trial's mutant plays steps 151-300
def test_the_checkpoint_saved_on_ctrl_c_holds_the_champion(stop_at, tmp_path):
    agent, env = hill()
    logger, budget = RunLogger(progress=False), Budget(steps=3000)
    referee = Referee(agent, lambda: gym.make(CORRIDOR_ID), logger, budget)
    eval_env, seen = gym.make(CORRIDOR_ID), {}

    def ctrl_c():
        if logger.steps == stop_at:
            champion = referee.champion_at(stop_at)
            seen["eval"] = greedy_return(agent, eval_env) == greedy_return(acting_as(agent, champion), eval_env)
            raise KeyboardInterrupt

    logger.every(1, ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        agent.learn(env, budget, logger)
    agent.save(tmp_path / "checkpoint.npz")  # what train.py does on Ctrl-C
    loaded = HillClimbing.load(tmp_path / "checkpoint.npz", env.observation_space, env.action_space)
    assert 150 < stop_at <= referee.windows[0][1]  # it did land in the first mutant's play
    assert torch.equal(weights(loaded), referee.champion_at(stop_at))
    assert seen["eval"], "an evaluation at the Ctrl-C scored something other than the champion"


def test_a_ctrl_c_during_the_champion_update_leaves_a_whole_champion(tmp_path, monkeypatch):
    import gymlab.agents.hill_climbing as module

    agent, env = hill(alpha=0.5, make_env=short_cartpole, hidden=(4,))
    logger, budget = RunLogger(progress=False), Budget(steps=20000)
    referee = Referee(agent, short_cartpole, logger, budget)
    write = module.vector_to_parameters

    def torn_write(vector, parameters):  # a Ctrl-C after the first tensor of a champion's update
        parameters = list(parameters)
        if not any(p is q for p in parameters for q in agent.mutant_net.parameters()):
            write(vector[:parameters[0].numel()], parameters[:1])
            raise KeyboardInterrupt
        write(vector, parameters)

    monkeypatch.setattr(module, "vector_to_parameters", torn_write)
    with pytest.raises(KeyboardInterrupt):
        agent.learn(env, budget, logger)
    monkeypatch.undo()
    assert referee.improved == 1
    saved = tmp_path / "checkpoint.npz"
    agent.save(saved)
    loaded = weights(HillClimbing.load(saved, env.observation_space, env.action_space))
    old, new = torch.zeros_like(loaded), referee.champion  # before and after the first update, interrupted
    assert torch.equal(loaded, old) or torch.allclose(loaded, new, atol=1e-6), "a half-updated net was saved"


class Counted(gym.Wrapper):
    """Counts the env steps, and the seed of each reset."""

    def __init__(self, env):
        super().__init__(env)
        self.steps, self.seeds = 0, []

    def reset(self, *, seed=None, options=None):
        self.seeds.append(seed)
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        self.steps += 1
        return self.env.step(action)


def test_a_trial_with_alpha_below_one_spends_only_its_candidates_episodes():
    """The lecture's hill climbing plays the champion and the mutant on the trial's episodes, and
    nothing else: a better mutant's blend (alpha < 1) is not replayed on them (issue 22: it was, to
    compute a champion_score that nothing read). Each trial's seeds are reset twice, no more."""
    agent, env = hill(alpha=0.5, make_env=lambda: Counted(short_cartpole()))
    logger, budget = RunLogger(progress=False), Budget(steps=6000)
    referee = Referee(agent, short_cartpole, logger, budget)
    agent.learn(env, budget, logger)
    referee.finish()
    assert referee.improved > 1 and referee.trials > 20  # blends happened: the case under test
    k = agent.config.episodes_per_trial
    trials = [env.seeds[i:i + 2 * k] for i in range(0, len(env.seeds), 2 * k)]
    assert len(env.seeds) == 2 * k * referee.trials and all(t[:k] == t[k:] for t in trials), \
        f"{len(env.seeds)} episodes in {referee.trials} trials of 2 x {k}"
    assert env.steps == logger.steps == referee.end


def test_a_hill_resume_state_with_a_champion_score_is_refused(tmp_path, capsys):
    """Resume states written before the blend's re-score was dropped hold a champion_score (and
    maybe a re-score under way): refused in one line, exit 2."""
    import train
    from gymlab import resume

    run = tmp_path / "run"
    assert train.main(["--env", "CartPole-v1", "--agent", "hill", "--steps", "300", "--eval-episodes", "1",
                       "--no-progress", "--run-dir", str(run)]) == 0
    meta, tree = resume.read(run / resume.FILE)
    tree["agent"]["champion_score"] = 9.0
    resume.write(run / resume.FILE, meta, tree)
    capsys.readouterr()
    assert train.main(["--resume", str(run), "--steps", "600", "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert "champion_score" in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("budget", [Budget(episodes=1), Budget(steps=1)], ids=["episodes", "steps"])
@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_a_run_overshoots_its_budget_by_at_most_one_trial(budget, alpha):
    for seed in range(8):
        agent, env = hill(alpha, seed=seed, make_env=short_cartpole)
        logger = RunLogger(progress=False)
        agent.learn(env, budget, logger)
        assert logger.episodes == 2 * agent.config.episodes_per_trial  # one trial: champion and mutant


def test_an_interrupted_judgement_does_not_blend_the_mutant_in_twice(monkeypatch):
    """Hill climbing, alpha 0.5: a KeyboardInterrupt while a winning trial is judged, then learn
    called again, ends with the champion of the run never interrupted (it used to crown the blend,
    then, judging the same trial again, blend the same mutant in a second time)."""
    import torch

    from gymlab.agents.hill_climbing import HillClimbing

    def champion(interrupt: bool):
        env = gym.make("CartPole-v1", max_episode_steps=30)
        agent = HillClimbing(env.observation_space, env.action_space,
                             HillClimbing.Config(alpha=0.5, episodes_per_trial=2), seed=3)
        logger = RunLogger(progress=False)
        original, armed, last = logger.log, [interrupt], {}

        def log(key, value, step=None):
            original(key, value, step)
            last[key] = value
            if key == "charts/mutant_return" and value > last["charts/champion_return"] and armed[0]:
                armed[0] = False  # the first trial the mutant wins
                raise KeyboardInterrupt

        logger.log = log
        budget = Budget(episodes=40)
        try:
            agent.learn(env, budget, logger)
        except KeyboardInterrupt:
            agent.learn(env, budget, logger)
        assert not armed[0]  # the interrupt did come
        return torch.nn.utils.parameters_to_vector(agent.net.parameters()).detach()

    assert torch.equal(champion(True), champion(False))
