"""gymlab's environments, registered with Gymnasium under the ``gymlab/`` namespace.

    import gymnasium as gym
    from gymlab import envs                      # registers every gymlab env
    env = gym.make("gymlab/Rooms-v0")

or, without the import, ``gym.make("envs:gymlab/Rooms-v0")``.

Short names for the command line (``train.py --env rooms``) live here too, in
``ALIASES``, and ``resolve`` turns a name (an alias, a registered id, or
Gymnasium's ``module:id``, which imports the module first) into
``(env_id, kwargs)``.
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
    # CartPole, partially observed (its dynamics, rewards and 500-step limit, as CartPole-v1).
    "gymlab/CartPoleNoVel-v1": dict(
        entry_point="gymlab.envs.cartpole_po:CartPoleNoVelEnv",
        max_episode_steps=500,
        reward_threshold=475.0,  # CartPole-v1's; optimum: 500, balanced to the time limit
    ),
    "gymlab/CartPoleFlicker-v1": dict(
        entry_point="gymlab.envs.cartpole_po:CartPoleFlickerEnv",
        max_episode_steps=500,
        reward_threshold=475.0,  # CartPole-v1's; optimum: 500, balanced to the time limit
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
    "recall-50": ("gymlab/Recall-v0", {"delay": 50}),
    "cartpole-novel": ("gymlab/CartPoleNoVel-v1", {}),
    "cartpole-flicker": ("gymlab/CartPoleFlicker-v1", {}),
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
    """Map an alias (``rooms``), any registered Gymnasium id, or ``module:id`` (the module is
    imported, as ``gym.make`` does, and must register the id) to ``(env_id, kwargs)``.
    An unknown name raises ``UnknownEnvError`` with a one-line message."""
    if name in ALIASES:
        env_id, kwargs = ALIASES[name]
        return env_id, dict(kwargs)
    if ":" in name:
        module, _, env_id = name.partition(":")
        if not module or not env_id:
            raise UnknownEnvError(f"--env {name!r}: expected module:EnvId, e.g. my_package:MyEnv-v0")
        before = set(gym.envs.registry)
        from gymlab.cli import import_named  # from the working directory too

        try:
            import_named(module)
        except ModuleNotFoundError as err:
            raise UnknownEnvError(f"--env {name!r}: cannot import module {module!r} ({err})") from err
        except Exception as err:  # the user's module failed to import: their error, said in one line
            raise UnknownEnvError(f"--env {name!r}: importing {module!r} failed: {type(err).__name__}: {err}") from err
        if env_id not in gym.envs.registry:
            added = sorted(set(gym.envs.registry) - before)
            raise UnknownEnvError(f"--env {name!r}: module {module!r} registers no env {env_id!r}"
                                  + (f" (it registers {', '.join(added)})" if added else ""))
        return env_id, {}
    if name in gym.envs.registry:
        return name, {}
    known = sorted(ALIASES) + gymlab_ids()
    close = difflib.get_close_matches(name, known + sorted(gym.envs.registry), n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise UnknownEnvError(
        f"unknown env {name!r}.{hint} Give an alias ({', '.join(sorted(ALIASES))}), a gymlab id "
        f"(gymlab/Rooms-v0, ...), any registered Gymnasium id (CartPole-v1, FrozenLake-v1, ...) or module:EnvId"
    )
