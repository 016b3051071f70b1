"""Play gymlab's Pong with the keyboard, or save screenshots of it.

    python -m envs.pong                                   # you (right, orange) against the scripted opponent
    python -m envs.pong --difficulty 0.8 --points 5       # a harder, shorter game
    python -m envs.pong --against runs/X/checkpoint.npz   # you (left, blue) against a trained agent
    python -m envs.pong --screenshot shots/               # save a human-mode frame and a pixel observation

Arrow keys move your paddle (up, down); Esc or closing the window quits. A new
game starts when one ends. The window is Gymnasium's ``utils.play``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers gymlab/*)
from envs import pong_engine as engine
from envs.pong import PongEnv


class AgainstAgent(gym.Env):
    """Pong from the left paddle's side: your action moves the left paddle, a trained
    agent plays the right one through its usual observations, and the reward is yours."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": PongEnv.metadata["render_fps"]}

    def __init__(self, agent, obs_type: str, points_to_win: int = 21):
        self.agent = agent
        self.game = PongEnv(render_mode="rgb_array", obs_type=obs_type, points_to_win=points_to_win,
                            opponent="external")
        self.render_mode = "rgb_array"
        self.action_space = gym.spaces.Discrete(3)
        self.observation_space = self.game.observation_space

    def reset(self, *, seed=None, options=None):
        self._obs, info = self.game.reset(seed=seed)
        self._state, self._start = None, True
        return self._obs, info

    def step(self, action):
        agent_action, self._state = self.agent.predict(self._obs, self._state, episode_start=np.array([self._start]),
                                                       deterministic=True)
        self._start = False
        self.game.opponent_action = int(action)
        self._obs, reward, terminated, truncated, info = self.game.step(int(agent_action))
        return self._obs, -reward, terminated, truncated, info

    def render(self):
        return self.game.render()


def load_opponent(path: Path):
    """The agent in a checkpoint, and which of Pong's observation types it was trained on."""
    import agents
    from agents import checkpoint
    from envs.pong import observation_space

    meta, _ = checkpoint.load(path)
    agent_cls = agents.get(meta["agent"])
    for obs_type in ("features", "pixels"):
        if checkpoint.describe_space(observation_space(obs_type)) == meta["observation_space"]:
            return agent_cls.load(path, observation_space(obs_type), gym.spaces.Discrete(3)), obs_type
    raise checkpoint.CheckpointError(
        f"{path} was trained on observations {meta['observation_space']['repr']}, which are not Pong's", path)


def save_screenshots(out_dir: Path, seed: int = 0, steps: int = 60) -> list[Path]:
    """Play a few steps (the agent following the ball), then save what the human-mode window
    shows and the 80x80 pixel observation at that moment (scaled up 4x to be seen)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no screen: draw the window off-screen
    import pygame

    out_dir.mkdir(parents=True, exist_ok=True)
    env = PongEnv(render_mode="human", obs_type="pixels")
    env.metadata = {**env.metadata, "render_fps": 1000}  # no need to wait between frames here
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        gap = env._s[0, engine.BY] - env._s[0, engine.AY]
        obs, *_ = env.step(0 if abs(gap) < 0.02 else (engine.DOWN if gap > 0 else engine.UP))
    human, pixels = out_dir / "pong_human.png", out_dir / "pong_pixels.png"
    pygame.image.save(pygame.display.get_surface(), str(human))
    big = np.kron(obs[:, :, 0], np.ones((4, 4), dtype=np.uint8))
    pygame.image.save(pygame.surfarray.make_surface(np.stack([big.T] * 3, axis=-1)), str(pixels))
    env.close()
    return [human, pixels]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m envs.pong", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against", type=Path, metavar="CKPT", help="play the left paddle against this trained agent")
    p.add_argument("--difficulty", type=float, default=0.5, help="the scripted opponent, 0 to 1 (default 0.5)")
    p.add_argument("--points", type=int, default=21, help="points to win a game (default 21)")
    p.add_argument("--zoom", type=float, default=1.0, help="window scale (default 1)")
    p.add_argument("--max-steps", type=int, help="quit after this many steps (for demos and tests)")
    p.add_argument("--screenshot", type=Path, metavar="DIR", help="save pong_human.png and pong_pixels.png, then quit")
    args = p.parse_args(argv)

    if args.screenshot:
        for path in save_screenshots(args.screenshot):
            print(path)
        return 0
    if args.against:
        from agents import CheckpointError

        try:
            agent, obs_type = load_opponent(args.against)
        except CheckpointError as err:
            print(f"python -m envs.pong: {err}", file=sys.stderr)
            return 1 if err.corrupt else 2
        env = AgainstAgent(agent, obs_type, args.points)
    else:
        env = gym.make("gymlab/Pong-v0", render_mode="rgb_array", difficulty=args.difficulty,
                       points_to_win=args.points)

    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame
    from gymnasium.utils.play import play

    steps = [0]

    def count(*_):
        steps[0] += 1
        if args.max_steps is not None and steps[0] >= args.max_steps:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))

    pygame.display.init()
    play(env, keys_to_action={(pygame.K_UP,): engine.UP, (pygame.K_DOWN,): engine.DOWN}, noop=engine.STAY,
         zoom=args.zoom, callback=count)
    return 0


if __name__ == "__main__":
    sys.exit(main())
