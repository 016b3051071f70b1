"""CartPole, partially observed: two classic POMDP benchmarks for recurrent policies.

Both are Gymnasium's ``CartPoleEnv`` (its physics, rewards, termination and
pictures, untouched) with a narrower view, so a seed gives the same cart as
``CartPole-v1``. They are subclasses rather than ``gym.Wrapper``s so that
``gym.make(id).unwrapped`` is the partially observed env itself, which is what
the env checkers and the registry tests then check.
"""

from __future__ import annotations

import numbers
import typing

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

# Indices of the cart position x and the pole angle theta in CartPole's observation
# (x, x_dot, theta, theta_dot).
POSITIONS = [0, 2]


class CartPoleNoVelEnv(CartPoleEnv):
    """
    ## Description

    CartPole with the velocities hidden: the agent sees where the cart and the
    pole are, never how fast they move. One observation cannot tell a pole
    falling left from one swinging back right, so a memoryless policy is
    handicapped; a policy that remembers the last observation or two can
    recover the velocities by differencing (a frame stack of 2 already helps),
    which makes this the gentle first test of a recurrent policy.

    The name is rl-baselines3-zoo's ``CartPoleNoVel-v1``; the zoo's wrapper
    (``MaskVelocityWrapper``) sets the velocities to 0 and keeps 4 numbers,
    this one drops them.

    ## Action Space

    `Discrete(2)`, as CartPole: 0 pushes the cart left, 1 right.

    ## Observation Space

    `Box((-4.8, -0.419), (4.8, 0.419), (2,), float32)`: CartPole's bounds for
    the two entries kept.

    | Num | Observation           | Min                 | Max               |
    |-----|-----------------------|---------------------|-------------------|
    | 0   | Cart Position         | -4.8                | 4.8               |
    | 1   | Pole Angle            | ~ -0.418 rad (-24°) | ~ 0.418 rad (24°) |

    Hidden: the cart velocity and the pole's angular velocity (CartPole's
    entries 1 and 3).

    ## Rewards

    As CartPole: +1 for every step, the terminating one included.

    ## Starting State

    As CartPole: all four state variables uniform in (-0.05, 0.05), drawn from
    ``self.np_random``; the same seed gives the same start as ``CartPole-v1``.

    ## Episode End

    - Termination: the pole angle leaves ±12°, or the cart position ±2.4.
    - Truncation: 500 steps (``max_episode_steps``, as ``CartPole-v1``).

    ## Arguments

    - ``render_mode``: ``None``, ``"human"`` or ``"rgb_array"``: CartPole's own
      pictures, which show the whole state.

    >>> import gymnasium as gym
    >>> import gymlab
    >>> env = gym.make("gymlab/CartPoleNoVel-v1")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape  # x and theta only
    (2,)
    >>> full, info = gym.make("CartPole-v1").reset(seed=0)  # the same seed, the same cart
    >>> bool((obs == full[[0, 2]]).all())
    True

    ## Version History

    - v1: first version (v1 as ``CartPole-v1``, whose dynamics and 500-step
      limit it keeps).
    """

    def __init__(self, render_mode: str | None = None):
        super().__init__(render_mode=render_mode)
        high = typing.cast(spaces.Box, self.observation_space).high[POSITIONS]  # CartPole's: a Box
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)

    # --8<-- [start:novel]
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        return obs[POSITIONS], info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs[POSITIONS], reward, terminated, truncated, info
    # --8<-- [end:novel]


class CartPoleFlickerEnv(CartPoleEnv):
    """
    ## Description

    CartPole seen through a flickering screen: each observation is either the
    full state or, with probability ``p``, all zeros, independently at every
    step. This is the "flickering" POMDP of Hausknecht & Stone (2015), "Deep
    Recurrent Q-Learning for Partially Observable MDPs" (flickering Atari:
    every frame obscured with probability 0.5), on CartPole. A memoryless
    policy must act blind on a blanked step; a recurrent one can carry the
    state over the gaps and integrate it forward.

    Every observation is a candidate, the first (from ``reset``) included, as
    in the paper, where any frame may be obscured. A blanked first observation
    costs little: the start is near the all-zero state anyway.

    ## Action Space

    `Discrete(2)`, as CartPole: 0 pushes the cart left, 1 right.

    ## Observation Space

    CartPole-v1's, exactly: `Box(-high, high, (4,), float32)` with
    ``high = (4.8, inf, 0.419, inf)``, so a policy trained on ``CartPole-v1``
    loads here and can be evaluated under flicker, as in the paper.

    | Num | Observation           | Min                 | Max               |
    |-----|-----------------------|---------------------|-------------------|
    | 0   | Cart Position         | -4.8                | 4.8               |
    | 1   | Cart Velocity         | -Inf                | Inf               |
    | 2   | Pole Angle            | ~ -0.418 rad (-24°) | ~ 0.418 rad (24°) |
    | 3   | Pole Angular Velocity | -Inf                | Inf               |

    Hidden, with probability ``p`` at each step: everything (all four are 0).
    A real state is never exactly all zeros, so a blank is recognisable.

    ## Rewards

    As CartPole: +1 for every step, the terminating one included.

    ## Starting State

    As CartPole: all four state variables uniform in (-0.05, 0.05), drawn from
    ``self.np_random``, which then draws the blanks too, so a seed fixes both
    the start (the same as ``CartPole-v1``'s) and the blanking sequence.

    ## Episode End

    - Termination: the pole angle leaves ±12°, or the cart position ±2.4.
    - Truncation: 500 steps (``max_episode_steps``, as ``CartPole-v1``).

    ## Arguments

    - ``p``: the chance that an observation is blanked, in [0, 1) (default
      0.5, the paper's). At 1 nothing would ever be seen.
    - ``render_mode``: ``None``, ``"human"`` or ``"rgb_array"``: CartPole's own
      pictures, which never flicker.

    >>> import gymnasium as gym
    >>> import gymlab
    >>> env = gym.make("gymlab/CartPoleFlicker-v1", p=0.5)
    >>> obs, info = env.reset(seed=0)
    >>> seen = []
    >>> for t in range(8):
    ...     obs, reward, terminated, truncated, info = env.step(t % 2)
    ...     seen.append("state" if obs.any() else "blank")
    >>> seen
    ['state', 'state', 'state', 'state', 'state', 'state', 'blank', 'state']
    >>> gym.make("gymlab/CartPoleFlicker-v1", p=1.0)
    Traceback (most recent call last):
        ...
    ValueError: p (the chance an observation is blanked) must be a number in [0, 1), got 1.0

    ## Version History

    - v1: first version (v1 as ``CartPole-v1``, whose dynamics and 500-step
      limit it keeps).
    """

    p: float  # the chance an observation is blanked

    def __init__(self, p: float = 0.5, render_mode: str | None = None):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p < 1.0:
            raise ValueError(f"p (the chance an observation is blanked) must be a number in [0, 1), got {p!r}")
        super().__init__(render_mode=render_mode)
        self.p = float(p)

    def _flicker(self, obs: np.ndarray) -> np.ndarray:
        # Drawn after CartPole's own draws, from the same seeded generator.
        return np.zeros_like(obs) if self.np_random.random() < self.p else obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        return self._flicker(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return self._flicker(obs), reward, terminated, truncated, info
