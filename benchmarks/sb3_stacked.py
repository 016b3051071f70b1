"""SB3's DQN as an SB3 user runs it on frames: ``VecFrameStack(n_stack)`` over ``n_envs`` copies of
the env (``DummyVecEnv``), its Q-network gymlab's ``CNN`` (``agents/networks.py``) as the features
extractor with ``net_arch`` after it, so ``benchmarks/dqn_speed.py`` and
``benchmarks/replay_memory.py`` can give it our network layer for layer:
``--agent benchmarks.sb3_stacked:SB3StackedDQN``.
"""

# (no "from __future__ import annotations": the Config is a dataclass, whose annotations must
# resolve in a module loaded without a sys.modules entry, as tests/benchmark_module.py loads one)
import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gymlab.agents.base import WIDTHS, param  # noqa: E402
from gymlab.agents.sb3_agents import SB3DQN, SB3DQNConfig, _SpacesOnly, replay_kwargs  # noqa: E402


@dataclass
class SB3StackedDQNConfig(SB3DQNConfig):
    net_arch: tuple[int, ...] = param((), "hidden layers between the features extractor and the Q-values",
                                      WIDTHS, empty=True, arch=True)
    cnn_hidden: tuple[int, ...] = param((256,), "the features extractor: gymlab's CNN (agents/networks.py) with "
                                        "these dense layers after its two convolutions", WIDTHS, arch=True)
    n_envs: int = param(1, "copies of the env stepped side by side (SB3's DummyVecEnv); SB3 counts train_freq in "
                           "steps of the vector env, n_envs transitions each", "[1, 1024]")
    n_stack: int = param(1, "VecFrameStack(n_stack): the last frames side by side (obs and next_obs stored whole in "
                            "SB3's replay)", "[1, 64]", arch=True)


def gymlab_cnn():
    """gymlab's ``CNN`` as an SB3 features extractor (SB3 is imported only when one is built)."""
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    from gymlab.agents.networks import CNN

    class GymlabCNN(BaseFeaturesExtractor):
        """The layers of gymlab's CNN, reading what SB3 hands an extractor: (B, C, H, W) frames
        already in [0, 1] (``VecTransposeImage``, ``normalize_images``), where ours reads (B, H, W, C)."""

        def __init__(self, observation_space, hidden=(256,)):
            c, h, w = observation_space.shape
            cnn = CNN((h, w, c), tuple(hidden))
            super().__init__(observation_space, cnn.out_dim)
            self.cnn = cnn

        def forward(self, x):
            return self.cnn.dense(self.cnn.convs(x))

    return GymlabCNN


class SB3StackedDQN(SB3DQN):
    """SB3's DQN on ``VecFrameStack(n_stack)`` over ``n_envs`` copies of the env, its Q-network
    gymlab's CNN (``net_arch`` after it): ``--agent benchmarks.sb3_stacked:SB3StackedDQN``."""

    name, Config = "sb3-dqn-stacked", SB3StackedDQNConfig

    def _build(self, env):
        import gymnasium as gym
        from stable_baselines3 import DQN
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.vec_env import VecFrameStack

        from gymlab.agents.frame_replay import stacked_space

        c = self.config
        if isinstance(env, _SpacesOnly):  # before learning: the spaces the model will see
            venv = _SpacesOnly(stacked_space(env.observation_space, c.n_stack), env.action_space)
        else:  # copies of the env as made for the run (its id, arguments and time limit)
            spec = dataclasses.replace(env.spec, kwargs={k: v for k, v in env.spec.kwargs.items()
                                                         if k != "render_mode"})
            venv = VecFrameStack(make_vec_env(lambda: gym.make(spec), n_envs=c.n_envs, seed=self.seed),
                                 n_stack=c.n_stack)
        kwargs = dataclasses.asdict(c)
        for key in ("threads", "n_envs", "n_stack"):
            kwargs.pop(key)
        policy_kwargs = {"net_arch": list(kwargs.pop("net_arch")), "features_extractor_class": gymlab_cnn(),
                         "features_extractor_kwargs": {"hidden": tuple(kwargs.pop("cnn_hidden"))}}
        if kwargs.pop("lr_anneal"):  # as SB3Agent: a schedule of the progress remaining (1 -> 0)
            from gymlab.agents.sb3_agents import Linear

            kwargs["learning_rate"] = Linear(kwargs["learning_rate"])
        return DQN("CnnPolicy", venv, seed=self.seed, verbose=0, device="cpu", policy_kwargs=policy_kwargs,
                   **replay_kwargs(kwargs))

    def learn(self, env, budget, logger):
        """``SB3Agent.learn``, each sub-env's step counted (a callback step is n_envs env steps)."""
        from stable_baselines3.common.callbacks import BaseCallback

        weights = self.model.policy.state_dict()
        self.model = self._build(env)
        self.model.policy.load_state_dict(weights)

        class FeedLogger(BaseCallback):
            def _on_step(self) -> bool:
                for i, (reward, done) in enumerate(zip(self.locals["rewards"], self.locals["dones"])):
                    logger.step(float(reward), bool(done), env=i)
                return not budget.spent(logger.steps, logger.episodes)

        total = budget.steps if budget.steps is not None else 10**12
        self.model.learn(total_timesteps=total, callback=FeedLogger())
        return self
