"""gymlab's environments, registered with Gymnasium under the ``gymlab/`` namespace.

    import gymnasium as gym
    from gymlab import envs                      # registers every gymlab env
    env = gym.make("gymlab/Rooms-v0")

or, without the import, ``gym.make("envs:gymlab/Rooms-v0")``.

Short names for the command line (``train.py --env rooms``) live here too, in
``ALIASES``, and ``resolve`` turns a name into ``(env_id, kwargs)``.
"""

from __future__ import annotations

import difflib

import gymnasium as gym

NAMESPACE = "gymlab"

# id -> registration arguments. Entry points are strings, so nothing is imported
# until an env is made.
_ENVS = {
    "gymlab/Rooms-v0": dict(
        entry_point="gymlab.envs.rooms:RoomsEnv",
        max_episode_steps=100,
        reward_threshold=100.0,  # optimum: every episode ends by entering room 5 (+100)
    ),
    "gymlab/Pong-v0": dict(
        entry_point="gymlab.envs.pong:PongEnv",
        vector_entry_point="gymlab.envs.pong_vector:PongVectorEnv",
        max_episode_steps=10_000,
        reward_threshold=21.0,  # optimum: win 21-0
    ),
    "gymlab/Recall-v0": dict(
        entry_point="gymlab.envs.recall:RecallEnv",
        max_episode_steps=1000,
        reward_threshold=1.0,  # optimum: always name the symbol
    ),
    "gymlab/SinePredict-v0": dict(
        entry_point="gymlab.envs.sine_predict:SinePredictEnv",
        max_episode_steps=1000,
    ),
    "gymlab/CharPredict-v0": dict(
        entry_point="gymlab.envs.char_predict:CharPredictEnv",
        max_episode_steps=1000,
    ),
}

# Short name -> (registered id, keyword arguments for gym.make).
ALIASES: dict[str, tuple[str, dict]] = {
    "rooms": ("gymlab/Rooms-v0", {}),
    "pong": ("gymlab/Pong-v0", {}),
    "pong-pixels": ("gymlab/Pong-v0", {"obs_type": "pixels"}),
    "recall": ("gymlab/Recall-v0", {}),
    "sine": ("gymlab/SinePredict-v0", {}),
    "chars": ("gymlab/CharPredict-v0", {}),
}


def _register_all() -> None:
    for env_id, kwargs in _ENVS.items():
        if env_id not in gym.envs.registry:
            gym.register(id=env_id, **kwargs)


_register_all()


def gymlab_ids() -> list[str]:
    """Every env id this package registers."""
    return list(_ENVS)


class UnknownEnvError(KeyError):
    """Raised by ``resolve`` for a name that is neither an alias nor a registered id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def resolve(name: str) -> tuple[str, dict]:
    """Map an alias (``rooms``) or any registered Gymnasium id to ``(env_id, kwargs)``."""
    if name in ALIASES:
        env_id, kwargs = ALIASES[name]
        return env_id, dict(kwargs)
    if name in gym.envs.registry:
        return name, {}
    known = sorted(ALIASES) + gymlab_ids()
    close = difflib.get_close_matches(name, known + sorted(gym.envs.registry), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownEnvError(
        f"unknown env {name!r}.{hint}\n"
        f"  aliases: {', '.join(sorted(ALIASES))}\n"
        f"  gymlab ids: {', '.join(gymlab_ids())}\n"
        f"  or any registered Gymnasium id, e.g. CartPole-v1, FrozenLake-v1, CliffWalking-v1"
    )
