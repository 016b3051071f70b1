"""Play gymlab's Pong with the keyboard, or save screenshots of it.

    gymlab play                                   # you (right, orange) against the scripted opponent
    gymlab play --difficulty 0.8 --points 5       # a harder, shorter game
    gymlab play --against runs/X/checkpoint.npz   # you (left, blue) against a trained agent
    gymlab play --screenshot shots/               # save a human-mode frame and a pixel observation

(``python -m gymlab play ...`` from a source checkout.) Arrow keys move your
paddle (up, down); Esc or closing the window quits. A new game starts when one
ends. Without a display it says so and stops; ``--screenshot`` needs none.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gymlab.cli import (EXIT_OK, EXIT_USAGE, Parser, UsageError, command, display_problem, guarded, number,
                        path_arg)


def load_opponent(path: Path):
    """The agent in a checkpoint, and which of Pong's observation types it was trained on."""
    import gymnasium as gym

    from gymlab import agents
    from gymlab.agents import checkpoint
    from gymlab.envs.pong import observation_space

    meta = checkpoint.read_meta(path, {})  # a module:Class agent in it is not imported
    try:
        agent_cls = agents.get(meta.get("agent", "?"))
    except agents.UnknownAgentError as err:
        raise checkpoint.CheckpointError(f"{path}: {err}", path, corrupt=True) from err
    for obs_type in ("features", "pixels"):
        if checkpoint.describe_space(observation_space(obs_type)) == meta.get("observation_space"):
            return agent_cls.load(path, observation_space(obs_type), gym.spaces.Discrete(3)), obs_type
    raise checkpoint.CheckpointError(
        f"{path} was trained on observations {meta.get('observation_space', {}).get('repr')}, which are not "
        f"Pong's", path)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog=command("gymlab play"), description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--against", type=path_arg, metavar="CKPT", help="play the left paddle against this trained agent")
    p.add_argument("--difficulty", type=number(float, lo=0, hi=1), default=0.5, help="the scripted opponent, 0 to 1 (default 0.5)")
    p.add_argument("--points", type=number(int, lo=1, hi=10_000), default=21, help="points to win a game (default 21)")
    p.add_argument("--zoom", type=number(float, lo=0.1, hi=10), default=1.0, help="window scale, 0.1 to 10 (default 1)")
    p.add_argument("--max-steps", type=number(int, lo=1), help="quit after this many steps (for demos and tests)")
    p.add_argument("--screenshot", type=path_arg, metavar="DIR",
                   help="save pong_human.png (the window, at --zoom) and pong_pixels.png, then quit; with --against, "
                        "the agent plays the right paddle in them")
    return p


def play(args) -> int:
    import gymnasium as gym

    from gymlab.agents import CheckpointError
    from gymlab.envs import pong_play

    agent = obs_type = None
    if args.against is not None:  # (for screenshots too: the agent plays the right paddle in them)
        try:
            agent, obs_type = load_opponent(args.against)
        except CheckpointError as err:
            print(f"{command('gymlab play')}: checkpoint error: {err}", file=sys.stderr)
            return EXIT_USAGE
    if args.screenshot is not None:
        if args.screenshot.exists() and not args.screenshot.is_dir():
            raise UsageError(f"--screenshot {args.screenshot} is a file, not a directory")
        try:
            paths = pong_play.save_screenshots(args.screenshot, zoom=args.zoom, agent=agent, obs_type=obs_type,
                                               difficulty=args.difficulty, points_to_win=args.points)
        except OSError as err:
            raise UsageError(f"--screenshot {args.screenshot}: cannot write there ({err.strerror or err})") from err
        for path in paths:
            print(path)
        return EXIT_OK
    if agent is not None:
        env = pong_play.AgainstAgent(agent, obs_type, args.points)
    else:
        env = gym.make("gymlab/Pong-v0", render_mode="rgb_array", difficulty=args.difficulty,
                       points_to_win=args.points)
    problem = display_problem()
    if problem:
        raise UsageError(f"no display to show the game in ({problem}); run it on a desktop, or save frames with "
                         f"--screenshot DIR")
    pong_play.play_keyboard(env, zoom=args.zoom, max_steps=args.max_steps)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    return guarded(command("gymlab play"), lambda: play(build_parser().parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
